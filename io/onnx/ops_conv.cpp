// Handlers: convolution and pooling (Conv, MaxPool, AveragePool,
// GlobalMaxPool, GlobalAveragePool).
#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "core/limits.hpp"
#include "io/onnx/importer.hpp"

namespace tessera::onnx_import {

namespace {

Window2d window_from(const NodeContext& ctx, const Dims& in, std::int64_t kh, std::int64_t kw,
                     bool ceil_ok) {
  Window2d w;
  const auto strides = ctx.attr_ints("strides", {1, 1});
  const auto dil = ctx.attr_ints("dilations", {1, 1});
  auto pads = ctx.attr_ints("pads", {0, 0, 0, 0});
  if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4)
    ctx.fail("only 2-D windows are supported (strides/dilations/pads of the wrong length)");
  constexpr std::int64_t kMaxWindow = 1 << 16;
  for (auto v : {kh, kw, strides[0], strides[1], dil[0], dil[1]})
    if (v < 1 || v > kMaxWindow) ctx.fail("kernel sizes, strides and dilations must be between 1 and 65536");
  for (auto v : pads)
    if (v < 0 || v > kMaxWindow) ctx.fail("pads must be between 0 and 65536");
  w.kernel_h = static_cast<int>(kh);
  w.kernel_w = static_cast<int>(kw);
  w.stride_h = static_cast<int>(strides[0]);
  w.stride_w = static_cast<int>(strides[1]);
  w.dilation_h = static_cast<int>(dil[0]);
  w.dilation_w = static_cast<int>(dil[1]);
  const std::string auto_pad = ctx.attr_string("auto_pad", "NOTSET");
  const std::int64_t H = in[2], W = in[3];
  if (auto_pad == "VALID") {
    pads = {0, 0, 0, 0};
  } else if (auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER") {
    const std::int64_t sizes[2] = {H, W}, k[2] = {kh, kw}, st[2] = {strides[0], strides[1]}, dl[2] = {dil[0], dil[1]};
    for (int a = 0; a < 2; ++a) {
      const std::int64_t out = (sizes[a] + st[a] - 1) / st[a];
      const std::int64_t total = std::max<std::int64_t>(0, (out - 1) * st[a] + dl[a] * (k[a] - 1) + 1 - sizes[a]);
      const std::int64_t small = total / 2;
      pads[a] = auto_pad == "SAME_UPPER" ? small : total - small;
      pads[a + 2] = total - pads[a];
    }
  } else if (auto_pad != "NOTSET") {
    ctx.fail("auto_pad '" + auto_pad + "' is not supported");
  }
  w.pad_top = static_cast<int>(pads[0]);
  w.pad_left = static_cast<int>(pads[1]);
  w.pad_bottom = static_cast<int>(pads[2]);
  w.pad_right = static_cast<int>(pads[3]);
  if (ctx.attr_int("ceil_mode", 0)) {
    // Extend the end padding so that floor division gives the ceil size;
    // the extra cells behave like padding (ignored by max and, without
    // count_include_pad, by average pooling).
    auto extend = [&](std::int64_t size, int k, int s, int d, int pb, int& pe) {
      const std::int64_t span = std::int64_t{d} * (k - 1) + 1;
      const std::int64_t avail = size + pb + pe - span;
      if (avail < 0) return;
      std::int64_t out = (avail + s - 1) / s + 1;
      if ((out - 1) * s >= size + pb) --out;
      const std::int64_t extra = (out - 1) * s + span - (size + pb + pe);
      if (extra > 0) {
        if (!ceil_ok) ctx.fail("ceil_mode=1 with count_include_pad=1 is not supported");
        pe += static_cast<int>(extra);
      }
    };
    extend(H, w.kernel_h, w.stride_h, w.dilation_h, w.pad_top, w.pad_bottom);
    extend(W, w.kernel_w, w.stride_w, w.dilation_w, w.pad_left, w.pad_right);
  }
  return w;
}

Dims image_dims(const NodeContext& ctx, const Value& x) {
  if (x.dims.size() != 4) ctx.fail("expects an [N, C, H, W] input, got " + dims_str(x.dims));
  return x.dims;
}

}  // namespace

void op_conv(const NodeContext& ctx) {
  const Value& x = ctx.dynamic(0);
  const Dims in = image_dims(ctx, x);
  const ConstTensor& Wt = ctx.weight(1, "W (the filters)");
  if (Wt.dims.size() != 4) ctx.fail("only 2-D convolutions are supported (W is " + dims_str(Wt.dims) + ")");
  const auto group = ctx.attr_int("group", 1);
  if (group != 1) ctx.fail("grouped convolution (group=" + std::to_string(group) + ") is not supported");
  if (Wt.dims[1] != in[1])
    ctx.fail("W " + dims_str(Wt.dims) + " expects " + std::to_string(Wt.dims[1]) + " input channels, got " +
                       std::to_string(in[1]));
  const auto ks = ctx.attr_ints("kernel_shape", {Wt.dims[2], Wt.dims[3]});
  if (ks.size() != 2 || ks[0] != Wt.dims[2] || ks[1] != Wt.dims[3]) ctx.fail("kernel_shape does not match W");
  const Window2d w = window_from(ctx, in, Wt.dims[2], Wt.dims[3], true);
  const std::int64_t cols = Wt.dims[1] * Wt.dims[2] * Wt.dims[3];
  Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> Wm(Wt.data.data(),
                                                                                               Wt.dims[0], cols);
  Vector b = Vector::Zero(Wt.dims[0]);
  if (ctx.has_input(2)) {
    const ConstTensor& B = ctx.weight(2, "B (the bias)");
    if (numel(B.dims) != Wt.dims[0]) ctx.fail("bias must have one value per output channel");
    b = Eigen::Map<const Vector>(B.data.data(), Wt.dims[0]);
  }
  return ctx.checked([&] {
    const int node = ctx.builder().conv2d(x.node, Matrix(Wm), b, w, ctx.name());
    const Shape& s = ctx.builder().node(node).shape;
    return ctx.out_node(node, Dims{1, s.dims[0], s.dims[1], s.dims[2]});
  });
}

void op_pool(const NodeContext& ctx) {
  const std::string& op = ctx.type();
  ctx.check_extra_outputs_unused();
  const Value& x = ctx.dynamic(0);
  const Dims in = image_dims(ctx, x);
  const bool global = op.rfind("Global", 0) == 0;
  const bool include_pad = ctx.attr_int("count_include_pad", 0) != 0;
  Window2d w;
  if (global) {
    w.kernel_h = static_cast<int>(in[2]);
    w.kernel_w = static_cast<int>(in[3]);
  } else {
    const auto ks = ctx.attr_ints("kernel_shape");
    if (ks.size() != 2) ctx.fail("only 2-D pooling is supported");
    w = window_from(ctx, in, ks[0], ks[1], !(op == "AveragePool" && include_pad));
  }
  return ctx.checked([&] {
    const bool is_max = op == "MaxPool" || op == "GlobalMaxPool";
    const int node = is_max ? ctx.builder().max_pool2d(x.node, w, ctx.name())
                            : ctx.builder().avg_pool2d(x.node, w, include_pad, ctx.name());
    const Shape& s = ctx.builder().node(node).shape;
    return ctx.out_node(node, Dims{1, s.dims[0], s.dims[1], s.dims[2]});
  });
}

}  // namespace tessera::onnx_import
