#include "training/noise.hpp"

#include <cmath>
#include <limits>

#include "core/error.hpp"
#include "core/noise.hpp"

namespace tessera::training {
namespace {

// The seed for core's generator, from torch's default generator.
std::uint64_t draw_seed() {
  return static_cast<std::uint64_t>(
      torch::randint(std::numeric_limits<std::int64_t>::max(), {1}, torch::TensorOptions().dtype(torch::kInt64)).item<std::int64_t>());
}

}  // namespace

torch::Tensor uniform_noise(const std::vector<std::int64_t>& shape, double lo, double hi, const torch::Device& device) {
  if (shape.empty()) throw Error("noise: a shape is needed");
  const std::int64_t count = shape[0];
  std::int64_t d = 1;
  for (std::size_t i = 1; i < shape.size(); ++i) d *= shape[i];
  if (count < 0 || d < 1 || d > std::numeric_limits<int>::max() || count > std::numeric_limits<int>::max())
    throw Error("noise: invalid shape");
  // Column j of core's d x count matrix (column-major) is sample j: the
  // buffer is already count x d row-major.
  Matrix x = tessera::uniform_noise(static_cast<int>(d), static_cast<int>(count), draw_seed(), lo, hi);
  return torch::from_blob(x.data(), {count, d}, torch::kFloat64).to(torch::kFloat32).reshape(shape).to(device);
}

torch::Tensor permute_pixels(const torch::Tensor& images, bool positions) {
  const std::int64_t n = images.size(0);
  if (positions && images.dim() == 4 && images.size(1) > 1) {
    const std::int64_t c = images.size(1), m = images.size(2) * images.size(3);
    const torch::Tensor flat = images.reshape({n, c, m});
    std::vector<std::int64_t> perm = random_permutations(m, n, draw_seed());
    const torch::Tensor order =
        torch::from_blob(perm.data(), {n, 1, m}, torch::kInt64).to(flat.device()).expand({n, c, m});
    return flat.gather(2, order).reshape(images.sizes());
  }
  const torch::Tensor flat = images.reshape({n, -1});
  const std::int64_t m = flat.size(1);
  // One random permutation per row, from core's generator.
  std::vector<std::int64_t> perm = random_permutations(m, n, draw_seed());
  const torch::Tensor order = torch::from_blob(perm.data(), {n, m}, torch::kInt64).to(flat.device());
  return flat.gather(1, order).reshape(images.sizes());
}

torch::Tensor pad_symmetric(const torch::Tensor& images, int pad) {
  const auto indices = [&](std::int64_t size) {
    // Mirror with the edge repeated, folded as often as the pad needs.
    std::vector<std::int64_t> idx;
    for (std::int64_t i = -pad; i < size + pad; ++i) {
      std::int64_t m = ((i % (2 * size)) + 2 * size) % (2 * size);
      idx.push_back(m < size ? m : 2 * size - 1 - m);
    }
    return torch::tensor(idx, torch::TensorOptions().dtype(torch::kInt64)).to(images.device());
  };
  const std::int64_t d = images.dim();
  return images.index_select(d - 2, indices(images.size(d - 2))).index_select(d - 1, indices(images.size(d - 1)));
}

torch::Tensor gaussian_blur(const torch::Tensor& images, double sigma, const std::string& kernel_kind) {
  if (!(sigma > 0)) return images;
  const std::int64_t c = images.size(1), h = images.size(2), w = images.size(3);
  const bool paper = kernel_kind == "paper";
  if (!paper && kernel_kind != "adaptive") throw Error("noise: unknown kernel '" + kernel_kind + "' (known: adaptive, paper)");
  int radius = paper ? 7 : static_cast<int>(std::ceil(3.0 * sigma));
  if (!paper) radius = std::min<int>(radius, static_cast<int>(std::min(h, w)) - 1);  // reflect padding needs pad < size
  const torch::Tensor t = torch::arange(-radius, radius + 1, images.options());
  torch::Tensor kernel = torch::exp(-(t * t) / (2.0 * sigma * sigma));
  kernel = kernel / kernel.sum();
  namespace F = torch::nn::functional;
  const torch::Tensor kh = kernel.view({1, 1, -1, 1}).repeat({c, 1, 1, 1});
  const torch::Tensor kw = kernel.view({1, 1, 1, -1}).repeat({c, 1, 1, 1});
  torch::Tensor x = paper ? pad_symmetric(images, radius)
                          : F::pad(images, F::PadFuncOptions({radius, radius, radius, radius}).mode(torch::kReflect));
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

void check_noise_options(const NoiseOptions& o) {
  if (!(o.permuted_fraction >= 0 && o.permuted_fraction <= 1)) throw Error("noise: the permuted fraction must lie in [0, 1]");
  if (!(o.sigma_min > 0 && o.sigma_min <= o.sigma_max)) throw Error("noise: need 0 < sigma_min <= sigma_max");
  if (o.permute_source != "pool" && o.permute_source != "batch")
    throw Error("noise: unknown permutation source '" + o.permute_source + "' (known: pool, batch)");
  if (o.permute != "values" && o.permute != "positions")
    throw Error("noise: unknown permutation '" + o.permute + "' (known: values, positions)");
  if (o.kernel != "adaptive" && o.kernel != "paper") throw Error("noise: unknown kernel '" + o.kernel + "' (known: adaptive, paper)");
}

torch::Tensor make_noise(const Dataset& data, const torch::Tensor& pool, std::int64_t count, const NoiseOptions& o) {
  if (count < 1) throw Error("noise: the batch must hold at least one sample");
  check_noise_options(o);
  std::vector<std::int64_t> sample_shape(data.train_x.sizes().begin() + 1, data.train_x.sizes().end());
  std::vector<std::int64_t> shape{count};
  shape.insert(shape.end(), sample_shape.begin(), sample_shape.end());

  if (!data.is_image()) return uniform_noise(shape, data.lo, data.hi, pool.device());
  // Rounded down, as int(n * frac) in the paper's code.
  const std::int64_t permuted = static_cast<std::int64_t>(std::floor(o.permuted_fraction * count + 1e-9));
  std::vector<torch::Tensor> parts;
  if (permuted > 0) {
    torch::Tensor source;
    if (o.permute_source == "batch") {
      if (pool.size(0) < permuted)
        throw Error("noise: " + std::to_string(permuted) + " permuted images asked from a batch of " + std::to_string(pool.size(0)));
      source = pool.narrow(0, 0, permuted);
    } else {
      const torch::Tensor pick = torch::randint(0, pool.size(0), {permuted}, torch::TensorOptions().dtype(torch::kInt64).device(pool.device()));
      source = pool.index_select(0, pick);
    }
    parts.push_back(permute_pixels(source, o.permute == "positions"));
  }
  if (count - permuted > 0) {
    shape[0] = count - permuted;
    parts.push_back(uniform_noise(shape, 0.0, 1.0, pool.device()));
  }
  torch::Tensor noise = torch::cat(parts, 0);
  if (o.blur) {
    const double sigma = o.sigma_min + (o.sigma_max - o.sigma_min) * torch::rand({1}, torch::kFloat64).item<double>();
    noise = gaussian_blur(noise, sigma, o.kernel);
  }
  if (o.rescale) noise = rescale_per_image(noise);
  return noise.clamp(0.0, 1.0);
}

}  // namespace tessera::training
