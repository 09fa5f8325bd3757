#include "io/gray_resize.hpp"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/error.hpp"

namespace tessera {

namespace {

// One axis' sampling: for each output index, the two source indices and the
// weight of the second.
struct Taps {
  std::vector<int> lo, hi;
  std::vector<double> t;
};

Taps taps(int n_in, int n_out, ResizeMethod method) {
  Taps k;
  const double scale = static_cast<double>(n_in) / n_out;
  for (int d = 0; d < n_out; ++d) {
    double s = method == ResizeMethod::kBilinearHalfPixel ? (d + 0.5) * scale - 0.5 : d * scale;
    s = std::max(s, 0.0);
    const int lo = std::min(static_cast<int>(std::floor(s)), n_in - 1);
    k.lo.push_back(lo);
    k.hi.push_back(std::min(lo + 1, n_in - 1));
    k.t.push_back(s - lo);
  }
  return k;
}

}  // namespace

const char* resize_method_name(ResizeMethod method) {
  return method == ResizeMethod::kBilinearHalfPixel ? "bilinear" : "legacy";
}

ResizeMethod parse_resize_method(const std::string& name) {
  if (name == "bilinear") return ResizeMethod::kBilinearHalfPixel;
  if (name == "legacy") return ResizeMethod::kBilinearLegacy;
  throw Error("resize method '" + name + "': expected bilinear (half-pixel centres) or legacy (TF1, src = dst * in/out)");
}

void gray_resize(const std::uint8_t* rgb, int in_h, int in_w, int out_h, int out_w, ResizeMethod method,
                 std::uint8_t* out) {
  if (in_h < 1 || in_w < 1 || out_h < 1 || out_w < 1) throw Error("gray_resize: sizes must be >= 1");
  const std::size_t plane = static_cast<std::size_t>(in_h) * in_w;
  std::vector<double> gray(plane);
  for (std::size_t i = 0; i < plane; ++i)
    gray[i] = (kGrayR * rgb[i] + kGrayG * rgb[plane + i] + kGrayB * rgb[2 * plane + i]) / 255.0;
  const Taps ty = taps(in_h, out_h, method), tx = taps(in_w, out_w, method);
  for (int y = 0; y < out_h; ++y) {
    const double* top = gray.data() + static_cast<std::size_t>(ty.lo[y]) * in_w;
    const double* bottom = gray.data() + static_cast<std::size_t>(ty.hi[y]) * in_w;
    for (int x = 0; x < out_w; ++x) {
      const double t = top[tx.lo[x]] + (top[tx.hi[x]] - top[tx.lo[x]]) * tx.t[x];
      const double b = bottom[tx.lo[x]] + (bottom[tx.hi[x]] - bottom[tx.lo[x]]) * tx.t[x];
      const double v = t + (b - t) * ty.t[y];
      out[static_cast<std::size_t>(y) * out_w + x] = static_cast<std::uint8_t>(std::clamp(std::lround(v * 255.0), 0L, 255L));
    }
  }
}

}  // namespace tessera
