// Handlers: piecewise-linear activations (Relu, LeakyRelu, PRelu, Clip, Abs,
// HardSigmoid, Neg, Max, Min) and the final Softmax.
#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "core/limits.hpp"
#include "io/onnx/importer.hpp"

namespace tessera::onnx_import {

// Elementwise piecewise-linear activations.
void op_activation(const NodeContext& ctx) {
  const std::string& op = ctx.type();
  const Value& x = ctx.dynamic(0);
  const std::string name = ctx.name();
  const Eigen::Index size = numel(x.dims);
  return ctx.checked([&] {
    if (op == "Relu") return ctx.out_node(ctx.builder().relu(x.node, name), x.dims);
    if (op == "LeakyRelu") return ctx.out_node(ctx.builder().leaky_relu(x.node, ctx.attr_float("alpha", 0.01), name), x.dims);
    if (op == "Abs") return ctx.out_node(ctx.builder().abs(x.node, name), x.dims);
    if (op == "Neg") return ctx.out_node(ctx.elementwise(x, -Vector::Ones(size), Vector::Zero(size)), x.dims);
    if (op == "PRelu") {
      const ConstTensor& slope = ctx.weight(1, "slope");
      Vector sv;
      if (!broadcast_to(slope, x.dims, sv))
        ctx.fail("slope " + dims_str(slope.dims) + " does not broadcast to the input " + dims_str(x.dims));
      // One slope for every unit is a LeakyRelu.
      if ((sv.array() == sv[0]).all()) return ctx.out_node(ctx.builder().leaky_relu(x.node, sv[0], name), x.dims);
      return ctx.out_node(ctx.builder().prelu(x.node, sv, name), x.dims);
    }
    if (op == "HardSigmoid") {
      // max(0, min(1, alpha x + beta)).
      const double alpha = ctx.attr_float("alpha", 0.2), beta = ctx.attr_float("beta", 0.5);
      const int scaled = ctx.elementwise(x, Vector::Constant(size, alpha), Vector::Constant(size, beta));
      return ctx.out_node(ctx.builder().clip(scaled, 0.0, 1.0, name), x.dims);
    }
    // Clip: bounds from attributes (opset < 11) or optional scalar inputs.
    std::optional<double> lo, hi;
    auto bound = [&](int k, const char* attribute, const char* role) -> std::optional<double> {
      if (ctx.opset() != 0 && ctx.opset() < 11) {
        const auto* a = ctx.attr(attribute);
        // Float's largest magnitude is opset 6's "no bound".
        if (!a || std::abs(a->f()) >= 3.4e38) return std::nullopt;
        return a->f();
      }
      if (!ctx.has_input(k)) return std::nullopt;
      const ConstTensor& c = ctx.constant(k, role);
      if (c.data.size() != 1) ctx.fail(std::string(role) + " must be a scalar, got " + dims_str(c.dims));
      return c.data[0];
    };
    lo = bound(1, "min", "min");
    hi = bound(2, "max", "max");
    if (lo && hi && !(*lo <= *hi))
      ctx.fail("min " + std::to_string(*lo) + " is larger than max " + std::to_string(*hi));
    if (lo && hi) return ctx.out_node(ctx.builder().clip(x.node, *lo, *hi, name), x.dims);
    if (lo) return ctx.out_node(ctx.builder().max_constant(x.node, Vector::Constant(1, *lo), name), x.dims);
    if (hi) return ctx.out_node(ctx.builder().min_constant(x.node, Vector::Constant(1, *hi), name), x.dims);
    Value v = x;  // no bounds: the identity
    return ctx.out_value(std::move(v));
  });
}

// Max / Min of any number of inputs: constants are folded into one; two
// activations a, b become max(a, b) = b + relu(a - b) and min(a, b) =
// a - relu(a - b) (exact, with the same regions); an activation and a
// constant c become one Piecewise node max(x, c) / min(x, c).
void op_max_min(const NodeContext& ctx) {
  const bool is_max = ctx.type() == "Max";
  if (ctx.n.input_size() < 1) ctx.fail("has no inputs");
  const std::string name = ctx.name();
  std::optional<ConstTensor> constant;
  std::vector<const Value*> dynamic;
  for (int k = 0; k < ctx.n.input_size(); ++k) {
    const Value& v = ctx.input(k);
    if (!v.is_const) {
      dynamic.push_back(&v);
      continue;
    }
    if (!constant) {
      constant = v.c;
      continue;
    }
    const Dims out = broadcast_dims(constant->dims, v.c.dims);
    ConstTensor r = elementwise_const(*constant, v.c, out, [is_max](double p, double q) {
      return is_max ? std::max(p, q) : std::min(p, q);
    });
    if (r.dims.empty() && !out.empty()) ctx.fail("constant shapes do not broadcast");
    constant = std::move(r);
  }
  if (dynamic.empty()) return ctx.out_const(std::move(*constant));
  const Dims dims = dynamic.front()->dims;
  for (const Value* v : dynamic)
    if (v->dims != dims)
      ctx.fail("inputs of shapes " + dims_str(dims) + " and " + dims_str(v->dims) + " are not supported together");
  return ctx.checked([&] {
    int node = dynamic.front()->node;
    for (size_t k = 1; k < dynamic.size(); ++k) {
      const int b = dynamic[k]->node;
      const std::string part = name + (dynamic.size() > 2 ? "_" + std::to_string(k) : "");
      const int diff = ctx.builder().add(node, ctx.negate(b, part + "_neg"), part + "_diff");
      const int r = ctx.builder().relu(diff, part + "_relu");
      node = is_max ? ctx.builder().add(r, b, part) : ctx.builder().add(node, ctx.negate(r, part + "_negrelu"), part);
    }
    if (constant) {
      Vector cv;
      if (!broadcast_to(*constant, dims, cv))
        ctx.fail("constant " + dims_str(constant->dims) + " does not broadcast to the activation " + dims_str(dims));
      if (broadcast_dims(dims, constant->dims) != dims)
        ctx.fail("the constant would broadcast the activation to a larger shape");
      if ((cv.array() == cv[0]).all()) cv = Vector::Constant(1, cv[0]);
      node = is_max ? ctx.builder().max_constant(node, cv, name) : ctx.builder().min_constant(node, cv, name);
    }
    return ctx.out_node(node, dims);
  });
}

void op_softmax(const NodeContext& ctx) {
  const Value& x = ctx.dynamic(0);
  const std::int64_t axis = ctx.attr_int("axis", ctx.opset() >= 13 || ctx.opset() == 0 ? -1 : 1);
  const auto r = static_cast<std::int64_t>(x.dims.size());
  // Over the one axis that holds all K classes ([1, K], [K], [1, K, 1]...).
  const std::int64_t a = axis < 0 ? axis + r : axis;
  const bool whole = a >= 0 && a < r && x.dims[a] == numel(x.dims);
  const bool old_2d = ctx.opset() != 0 && ctx.opset() < 13 && x.dims.size() == 2 && (a == 1);
  if (!whole && !old_2d) ctx.fail("only a softmax over the classes of a [1, K] output is supported");
  // A softmax is recorded, not modelled: it must be the last operation.
  if (!ctx.output_is_graph_output() || ctx.output_uses() != 1)
    ctx.fail("Softmax is supported only as the last operation of the graph");
  ctx.set_softmax_output();
  Value v = x;
  return ctx.out_value(std::move(v));
}
}  // namespace tessera::onnx_import
