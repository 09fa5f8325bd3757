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

// Pillow's resampling coefficients for one axis (precompute_coeffs and
// normalize_coeffs_8bpc of its Resample.c, with the bilinear filter): for
// each output index, the first source index and the fixed-point weights.
constexpr int kPrecisionBits = 32 - 8 - 2;

struct PilTaps {
  std::vector<int> first;
  std::vector<std::vector<std::int32_t>> weights;
};

PilTaps pil_taps(int n_in, int n_out) {
  PilTaps t;
  const double scale = static_cast<double>(n_in) / n_out;
  const double filterscale = std::max(scale, 1.0);
  const double support = 1.0 * filterscale;  // the bilinear filter's support is 1
  for (int d = 0; d < n_out; ++d) {
    const double center = (d + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);  // C's truncation, as Pillow
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > n_in) xmax = n_in;
    xmax -= xmin;
    std::vector<double> k(xmax);
    double ww = 0;
    for (int x = 0; x < xmax; ++x) {
      double arg = (x + xmin - center + 0.5) * ss;
      if (arg < 0) arg = -arg;
      k[x] = arg < 1.0 ? 1.0 - arg : 0.0;
      ww += k[x];
    }
    std::vector<std::int32_t> fixed(xmax);
    for (int x = 0; x < xmax; ++x) {
      const double w = ww != 0.0 ? k[x] / ww : k[x];
      fixed[x] = static_cast<std::int32_t>(w < 0 ? -0.5 + w * (1 << kPrecisionBits) : 0.5 + w * (1 << kPrecisionBits));
    }
    t.first.push_back(xmin);
    t.weights.push_back(std::move(fixed));
  }
  return t;
}

std::uint8_t clip8(std::int64_t v) {
  if (v >= (static_cast<std::int64_t>(1) << kPrecisionBits << 8)) return 255;
  if (v <= 0) return 0;
  return static_cast<std::uint8_t>(v >> kPrecisionBits);
}

// One byte plane resized as Pillow's Image.resize(..., BILINEAR) does.
void pil_resize_plane(const std::uint8_t* in, int in_h, int in_w, int out_h, int out_w, std::uint8_t* out) {
  const PilTaps tx = pil_taps(in_w, out_w), ty = pil_taps(in_h, out_h);
  std::vector<std::uint8_t> mid(static_cast<std::size_t>(in_h) * out_w);  // horizontal pass, every row
  for (int y = 0; y < in_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      std::int64_t ss = static_cast<std::int64_t>(1) << (kPrecisionBits - 1);
      for (std::size_t k = 0; k < tx.weights[x].size(); ++k)
        ss += static_cast<std::int64_t>(in[static_cast<std::size_t>(y) * in_w + tx.first[x] + k]) * tx.weights[x][k];
      mid[static_cast<std::size_t>(y) * out_w + x] = clip8(ss);
    }
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      std::int64_t ss = static_cast<std::int64_t>(1) << (kPrecisionBits - 1);
      for (std::size_t k = 0; k < ty.weights[y].size(); ++k)
        ss += static_cast<std::int64_t>(mid[(ty.first[y] + k) * out_w + x]) * ty.weights[y][k];
      out[static_cast<std::size_t>(y) * out_w + x] = clip8(ss);
    }
}

}  // namespace

const char* resize_method_name(ResizeMethod method) {
  if (method == ResizeMethod::kPil) return "pil";
  return method == ResizeMethod::kBilinearHalfPixel ? "bilinear" : "legacy";
}

ResizeMethod parse_resize_method(const std::string& name) {
  if (name == "pil") return ResizeMethod::kPil;
  if (name == "bilinear") return ResizeMethod::kBilinearHalfPixel;
  if (name == "legacy") return ResizeMethod::kBilinearLegacy;
  throw Error("resize method '" + name +
              "': expected pil (the paper's: Pillow's antialiased bilinear per colour, then the mean of R, G, B), bilinear "
              "(half-pixel centres) or legacy (TF1, src = dst * in/out)");
}

void gray_resize(const std::uint8_t* rgb, int in_h, int in_w, int out_h, int out_w, ResizeMethod method,
                 std::uint8_t* out) {
  if (in_h < 1 || in_w < 1 || out_h < 1 || out_w < 1) throw Error("gray_resize: sizes must be >= 1");
  const std::size_t plane = static_cast<std::size_t>(in_h) * in_w;
  if (method == ResizeMethod::kPil) {
    const std::size_t out_plane = static_cast<std::size_t>(out_h) * out_w;
    std::vector<std::uint8_t> colour(3 * out_plane);
    for (int c = 0; c < 3; ++c) pil_resize_plane(rgb + c * plane, in_h, in_w, out_h, out_w, colour.data() + c * out_plane);
    for (std::size_t i = 0; i < out_plane; ++i) {
      const int sum = colour[i] + colour[out_plane + i] + colour[2 * out_plane + i];
      out[i] = static_cast<std::uint8_t>((sum + 1) / 3);  // nearest: sum / 3 is never a half
    }
    return;
  }
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
