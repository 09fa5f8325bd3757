#include "training/noise.hpp"

#include <cmath>

#include "core/error.hpp"

namespace tessera::training {

torch::Tensor permute_pixels(const torch::Tensor& images) {
  const std::int64_t n = images.size(0);
  const torch::Tensor flat = images.reshape({n, -1});
  // One random permutation per row: argsort of uniform keys.
  const torch::Tensor order = torch::rand(flat.sizes(), flat.options()).argsort(/*dim=*/static_cast<std::int64_t>(1), /*descending=*/false);
  return flat.gather(1, order).reshape(images.sizes());
}

torch::Tensor gaussian_blur(const torch::Tensor& images, double sigma) {
  if (!(sigma > 0)) return images;
  const std::int64_t c = images.size(1), h = images.size(2), w = images.size(3);
  int radius = static_cast<int>(std::ceil(3.0 * sigma));
  radius = std::min<int>(radius, static_cast<int>(std::min(h, w)) - 1);  // reflect padding needs pad < size
  const torch::Tensor t = torch::arange(-radius, radius + 1, images.options());
  torch::Tensor kernel = torch::exp(-(t * t) / (2.0 * sigma * sigma));
  kernel = kernel / kernel.sum();
  namespace F = torch::nn::functional;
  const torch::Tensor kh = kernel.view({1, 1, -1, 1}).repeat({c, 1, 1, 1});
  const torch::Tensor kw = kernel.view({1, 1, 1, -1}).repeat({c, 1, 1, 1});
  torch::Tensor x = F::pad(images, F::PadFuncOptions({radius, radius, radius, radius}).mode(torch::kReflect));
  x = F::conv2d(x, kh, F::Conv2dFuncOptions().groups(c));
  x = F::conv2d(x, kw, F::Conv2dFuncOptions().groups(c));
  return x;
}

torch::Tensor rescale_per_image(const torch::Tensor& images) {
  const std::int64_t n = images.size(0);
  const torch::Tensor flat = images.reshape({n, -1});
  const torch::Tensor lo = std::get<0>(flat.min(1, true));
  const torch::Tensor hi = std::get<0>(flat.max(1, true));
  const torch::Tensor range = hi - lo;
  const torch::Tensor scaled = torch::where(range > 0, (flat - lo) / range.clamp_min(1e-12), torch::zeros_like(flat));
  return scaled.reshape(images.sizes());
}

torch::Tensor make_noise(const Dataset& data, const torch::Tensor& pool, std::int64_t count, const NoiseOptions& o) {
  if (count < 1) throw Error("noise: the batch must hold at least one sample");
  if (!(o.permuted_fraction >= 0 && o.permuted_fraction <= 1)) throw Error("noise: the permuted fraction must lie in [0, 1]");
  if (!(o.sigma_min > 0 && o.sigma_min <= o.sigma_max)) throw Error("noise: need 0 < sigma_min <= sigma_max");
  std::vector<std::int64_t> sample_shape(data.train_x.sizes().begin() + 1, data.train_x.sizes().end());
  std::vector<std::int64_t> shape{count};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());
  const torch::TensorOptions opts = torch::TensorOptions().dtype(torch::kFloat32).device(pool.device());

  if (!data.is_image()) {
    return torch::rand(shape, opts) * (data.hi - data.lo) + data.lo;
  }
  const std::int64_t permuted = static_cast<std::int64_t>(std::llround(o.permuted_fraction * count));
  std::vector<torch::Tensor> parts;
  if (permuted > 0) {
    const torch::Tensor pick = torch::randint(0, pool.size(0), {permuted}, torch::TensorOptions().dtype(torch::kInt64).device(pool.device()));
    parts.push_back(permute_pixels(pool.index_select(0, pick)));
  }
  if (count - permuted > 0) {
    shape[0] = count - permuted;
    parts.push_back(torch::rand(shape, opts));
  }
  torch::Tensor noise = torch::cat(parts, 0);
  if (o.blur) {
    const double sigma = o.sigma_min + (o.sigma_max - o.sigma_min) * torch::rand({1}, torch::kFloat64).item<double>();
    noise = gaussian_blur(noise, sigma);
  }
  if (o.rescale) noise = rescale_per_image(noise);
  return noise.clamp(0.0, 1.0);
}

}  // namespace tessera::training
