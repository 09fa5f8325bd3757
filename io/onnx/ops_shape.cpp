// Handlers: constants and shapes (Constant, Identity, Dropout, Cast, Shape,
// Squeeze, Unsqueeze, Reshape, Flatten).
#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "core/limits.hpp"
#include "io/onnx/importer.hpp"

namespace tessera::onnx_import {

void op_constant(const NodeContext& ctx) {
  const auto* a = ctx.attr("value");
  if (a && a->has_t()) return ctx.out_const(ctx.read_tensor(a->t(), "Constant '" + ctx.name() + "'"));
  ConstTensor c;
  if ((a = ctx.attr("value_float"))) {
    c.data = {a->f()};
  } else if ((a = ctx.attr("value_floats"))) {
    c.dims = {a->floats_size()};
    c.data.assign(a->floats().begin(), a->floats().end());
  } else if ((a = ctx.attr("value_int"))) {
    c.integer = true;
    c.data = {static_cast<double>(a->i())};
  } else if ((a = ctx.attr("value_ints"))) {
    c.integer = true;
    c.dims = {a->ints_size()};
    for (auto v : a->ints()) c.data.push_back(static_cast<double>(v));
  } else {
    ctx.fail("has no supported value attribute");
  }
  return ctx.out_const(std::move(c));
}

void op_identity(const NodeContext& ctx) {
  ctx.check_extra_outputs_unused();
  Value v = ctx.input(0);
  return ctx.out_value(std::move(v));
}

void op_cast(const NodeContext& ctx) {
  Value v = ctx.input(0);
  const auto to = ctx.attr_int("to", onnx::TensorProto::FLOAT);
  const bool to_float = to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::DOUBLE;
  if (v.is_const) {
    if (to == onnx::TensorProto::BOOL)
      for (double& x : v.c.data) x = x != 0.0;
    else if (!to_float)
      for (double& x : v.c.data) x = std::trunc(x);
    v.c.integer = !to_float;
  } else if (!to_float) {
    ctx.fail("casting activations to a non-float type is not piecewise affine");
  }
  return ctx.out_value(std::move(v));
}

void op_shape(const NodeContext& ctx) {
  const Value& x = ctx.input(0);
  const Dims d = x.is_const ? x.c.dims : x.dims;
  std::int64_t start = ctx.attr_int("start", 0), end = ctx.attr_int("end", static_cast<std::int64_t>(d.size()));
  const auto r = static_cast<std::int64_t>(d.size());
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<std::int64_t>(start, 0, r);
  end = std::clamp<std::int64_t>(end, start, r);
  ConstTensor c;
  c.integer = true;
  c.dims = {end - start};
  for (auto i = start; i < end; ++i) c.data.push_back(static_cast<double>(d[i]));
  return ctx.out_const(std::move(c));
}

void op_squeeze(const NodeContext& ctx) {
  const std::string& op = ctx.type();
  const Value& x = ctx.input(0);
  auto axes = ctx.axes();
  Dims d = x.is_const ? x.c.dims : x.dims;
  if (op == "Unsqueeze") {
    const auto r = static_cast<std::int64_t>(d.size() + axes.size());
    for (auto& a : axes) a = a < 0 ? a + r : a;
    std::sort(axes.begin(), axes.end());
    for (auto a : axes) {
      if (a < 0 || a > static_cast<std::int64_t>(d.size())) ctx.fail("axis out of range");
      d.insert(d.begin() + a, 1);
    }
  } else {
    const auto r = static_cast<std::int64_t>(d.size());
    std::set<std::int64_t> drop;
    for (auto a : axes) drop.insert(a < 0 ? a + r : a);
    Dims nd;
    for (std::int64_t i = 0; i < r; ++i) {
      const bool squeeze = axes.empty() ? d[i] == 1 : drop.count(i) > 0;
      if (squeeze && d[i] != 1) ctx.fail("cannot squeeze a dimension of size " + std::to_string(d[i]));
      if (!squeeze) nd.push_back(d[i]);
    }
    d = nd;
  }
  return ctx.reshape(x, d);
}

void op_reshape(const NodeContext& ctx) {
  const Value& x = ctx.input(0);
  const ConstTensor& s = ctx.constant(1, "shape");
  const Dims in = x.is_const ? x.c.dims : x.dims;
  Dims d;
  std::int64_t infer = -1, known = 1;
  for (size_t i = 0; i < s.data.size(); ++i) {
    auto v = to_int(s.data[i]);
    if (v == 0 && !ctx.attr_int("allowzero", 0)) {
      if (i >= in.size()) ctx.fail("shape entry 0 copies a dimension that does not exist");
      v = in[i];
    }
    if (v == -1) {
      if (infer >= 0) ctx.fail("more than one -1 in the target shape");
      infer = static_cast<std::int64_t>(i);
      v = 1;
    } else if (v < 0) {
      ctx.fail("negative dimension in the target shape");
    }
    d.push_back(v);
    known = mul_or_neg(known, v);
    if (known < 0) ctx.fail("the target shape " + dims_str(d) + "... is too large");
  }
  if (infer >= 0) {
    if (known == 0 || numel(in) % known != 0) ctx.fail("cannot infer -1 for " + dims_str(in));
    d[infer] = numel(in) / known;
  }
  if (numel(d) != numel(in)) ctx.fail("cannot reshape " + dims_str(in) + " to " + dims_str(d));
  return ctx.reshape(x, d);
}

void op_flatten(const NodeContext& ctx) {
  const Value& x = ctx.input(0);
  const Dims in = x.is_const ? x.c.dims : x.dims;
  std::int64_t axis = ctx.attr_int("axis", 1);
  if (axis < 0) axis += static_cast<std::int64_t>(in.size());
  std::int64_t a = 1, b = 1;
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(in.size()); ++i) (i < axis ? a : b) *= in[i];
  return ctx.reshape(x, Dims{a, b});
}

}  // namespace tessera::onnx_import
