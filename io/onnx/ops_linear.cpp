// Handlers: affine operators (Gemm, MatMul, Add, Sub, Mul, Div,
// BatchNormalization).
#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "core/limits.hpp"
#include "io/onnx/importer.hpp"

namespace tessera::onnx_import {

namespace {

// Gemm with the weight first: Y = alpha A' x + beta C, x a column [n, 1]
// (transB = 0) or a row [1, n] (transB = 1), A' = A or A^T.
void gemm_weight_first(const NodeContext& ctx) {
  const ConstTensor& A = ctx.weight(0, "A (the weight)");
  const Value& x = ctx.dynamic(1);
  if (A.dims.size() != 2 || x.dims.size() != 2) ctx.fail("A and B must be 2-D");
  const bool ta = ctx.attr_int("transA", 0) != 0, tb = ctx.attr_int("transB", 0) != 0;
  if ((tb ? x.dims[0] : x.dims[1]) != 1)
    ctx.fail("B must be a column vector [n, 1] (or a row with transB=1), got " + dims_str(x.dims));
  Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> Am(A.data.data(), A.dims[0],
                                                                                              A.dims[1]);
  Matrix W = ta ? Matrix(Am.transpose()) : Matrix(Am);
  W *= ctx.attr_float("alpha", 1.0);
  const std::int64_t inner = tb ? x.dims[1] : x.dims[0];
  if (W.cols() != inner) ctx.fail("cannot multiply " + dims_str(A.dims) + " by " + dims_str(x.dims));
  Vector b = Vector::Zero(W.rows());
  const Dims out{W.rows(), 1};
  if (ctx.has_input(2)) {
    const ConstTensor& C = ctx.weight(2, "C (the bias)");
    Vector cb;
    if (!broadcast_to(C, out, cb)) ctx.fail("bias " + dims_str(C.dims) + " does not fit");
    b = ctx.attr_float("beta", 1.0) * cb;
  }
  return ctx.out_node(ctx.dense(x, std::move(W), std::move(b)), out);
}

}  // namespace

void op_gemm(const NodeContext& ctx) {
  const Value& a0 = ctx.input(0);
  if (a0.is_const) return gemm_weight_first(ctx);
  if (a0.dims.size() != 2) ctx.fail("input A must be 2-D [1, n], got " + dims_str(a0.dims));
  Value a = a0;
  if (ctx.attr_int("transA", 0)) {
    // A column vector [n, 1] transposed is the row [1, n].
    if (a.dims[1] != 1) ctx.fail("transA=1 is supported only on a column vector [n, 1], got " + dims_str(a.dims));
    a.dims = {1, a.dims[0]};
  }
  if (a.dims[0] != 1) ctx.fail("input A must be a row [1, n], got " + dims_str(a.dims));
  const ConstTensor& B = ctx.weight(1, "B (the weight)");
  if (B.dims.size() != 2) ctx.fail("B must be 2-D, got " + dims_str(B.dims));
  const bool tb = ctx.attr_int("transB", 0) != 0;
  const double alpha = ctx.attr_float("alpha", 1.0), beta = ctx.attr_float("beta", 1.0);
  const std::int64_t rows = B.dims[0], cols = B.dims[1];
  Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> Bm(B.data.data(), rows,
                                                                                              cols);
  Matrix W = tb ? Matrix(Bm) : Matrix(Bm.transpose());
  W *= alpha;
  if (W.cols() != a.dims[1])
    ctx.fail("weight " + dims_str(B.dims) + (tb ? " (transB=1)" : "") + " does not fit an input of " +
                       std::to_string(a.dims[1]) + " values");
  Vector b = Vector::Zero(W.rows());
  if (ctx.has_input(2)) {
    const ConstTensor& C = ctx.weight(2, "C (the bias)");
    Vector cb;
    if (!broadcast_to(C, Dims{1, W.rows()}, cb)) ctx.fail("bias " + dims_str(C.dims) + " does not fit");
    b = beta * cb;
  }
  const Dims out{1, W.rows()};
  return ctx.out_node(ctx.dense(a, std::move(W), std::move(b)), out);
}

void op_matmul(const NodeContext& ctx) {
  const Value& a = ctx.input(0);
  const Value& bv = ctx.input(1);
  if (a.is_const == bv.is_const)
    ctx.fail(a.is_const ? "multiplies two constants (fold them before export)"
                              : "multiplies two activations, which is not piecewise affine");
  auto only_ones_but = [](const Dims& d, size_t keep1, size_t keep2) {
    for (size_t i = 0; i < d.size(); ++i)
      if (i != keep1 && i != keep2 && d[i] != 1) return false;
    return true;
  };
  if (!a.is_const) {
    // x W: x is [..., 1, n] or [n] (every other dimension 1), W is [n, m].
    const ConstTensor& B = ctx.weight(1, "B (the weight)");
    if (B.dims.size() != 2 || a.dims.empty() || !only_ones_but(a.dims, a.dims.size() - 1, a.dims.size() - 1))
      ctx.fail("only x W with x a row vector ([1, n], [n], [1, 1, n]) and W a matrix are supported, got " +
                         dims_str(a.dims) + " x " + dims_str(B.dims));
    if (B.dims[0] != a.dims.back()) ctx.fail("cannot multiply " + dims_str(a.dims) + " by " + dims_str(B.dims));
    Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> Bm(
        B.data.data(), B.dims[0], B.dims[1]);
    Matrix W = Bm.transpose();
    Vector b = Vector::Zero(W.rows());
    Dims out = a.dims;
    out.back() = W.rows();
    return ctx.out_node(ctx.dense(a, std::move(W), std::move(b)), out);
  }
  // W x: W is [m, n], x a column vector [n, 1], [1, n, 1] or [n].
  const ConstTensor& A = ctx.weight(0, "A (the weight)");
  const Dims& x = bv.dims;
  const bool rank1 = x.size() == 1;
  if (A.dims.size() != 2 ||
      !(rank1 || (x.size() >= 2 && x.back() == 1 && only_ones_but(x, x.size() - 2, x.size() - 2))))
    ctx.fail("only W x with W a matrix and x a column vector ([n, 1], [1, n, 1], [n]) is supported, got " +
                       dims_str(A.dims) + " x " + dims_str(x));
  const std::int64_t inner = rank1 ? x[0] : x[x.size() - 2];
  if (A.dims[1] != inner) ctx.fail("cannot multiply " + dims_str(A.dims) + " by " + dims_str(x));
  Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> Am(
      A.data.data(), A.dims[0], A.dims[1]);
  Matrix W = Am;
  Vector b = Vector::Zero(W.rows());
  Dims out = x;
  out[rank1 ? 0 : x.size() - 2] = W.rows();
  return ctx.out_node(ctx.dense(bv, std::move(W), std::move(b)), out);
}

void op_arithmetic(const NodeContext& ctx) {
  const std::string& op = ctx.type();
  const Value& a = ctx.input(0);
  const Value& b = ctx.input(1);
  if (a.is_const && b.is_const) {
    const Dims out = broadcast_dims(a.c.dims, b.c.dims);
    if (out.empty() && !(a.c.dims.empty() && b.c.dims.empty()))
      ctx.fail("shapes " + dims_str(a.c.dims) + " and " + dims_str(b.c.dims) + " do not broadcast");
    std::function<double(double, double)> f;
    const bool integer = a.c.integer && b.c.integer;
    if (op == "Add") f = [](double x, double y) { return x + y; };
    if (op == "Sub") f = [](double x, double y) { return x - y; };
    if (op == "Mul") f = [](double x, double y) { return x * y; };
    if (op == "Div") f = [integer](double x, double y) { return integer ? std::trunc(x / y) : x / y; };
    if (numel(out) > 0) ctx.reserve(numel(out), 8, "the constant " + dims_str(out));
    ConstTensor r = elementwise_const(a.c, b.c, out, f);
    if (r.dims.empty() && !out.empty()) ctx.fail("constant shapes do not broadcast or are too large");
    return ctx.out_const(std::move(r));
  }
  if (!a.is_const && !b.is_const) {
    if (op != "Add" && op != "Sub")
      ctx.fail(op + " of two activations is not piecewise affine in Tessera's model");
    if (a.dims != b.dims)
      ctx.fail("cannot " + std::string(op == "Add" ? "add " : "subtract ") + dims_str(b.dims) +
                         (op == "Add" ? " to " : " from ") + dims_str(a.dims));
    return ctx.checked([&] {
      int rhs = b.node;
      if (op == "Sub") rhs = ctx.negate(b.node, ctx.name() + "_neg");
      return ctx.out_node(ctx.builder().add(a.node, rhs, ctx.name()), a.dims);
    });
  }
  const bool x_first = !a.is_const;
  const Value& x = x_first ? a : b;
  const ConstTensor& c = x_first ? b.c : a.c;
  Vector cv;
  if (!broadcast_to(c, x.dims, cv))
    ctx.fail("constant " + dims_str(c.dims) + " does not broadcast to the activation " + dims_str(x.dims));
  const Eigen::Index size = cv.size();
  Vector s = Vector::Ones(size), t = Vector::Zero(size);
  if (op == "Add") t = cv;
  if (op == "Sub") {
    if (x_first) {
      t = -cv;
    } else {
      s = -s;
      t = cv;
    }
  }
  if (op == "Mul") s = cv;
  if (op == "Div") {
    if (!x_first) ctx.fail("dividing by an activation is not piecewise affine");
    if ((cv.array() == 0).any()) ctx.fail("division by zero");
    s = cv.cwiseInverse();
  }
  const Dims out = broadcast_dims(x.dims, c.dims);
  if (numel(out) != numel(x.dims)) ctx.fail("the constant would broadcast the activation to " + dims_str(out));
  return ctx.out_node(ctx.elementwise(x, s, t), out);
}

void op_batch_norm(const NodeContext& ctx) {
  ctx.check_extra_outputs_unused();
  if (ctx.attr_int("training_mode", 0)) ctx.fail("training_mode=1 is not supported (export in eval mode)");
  const Value& x = ctx.dynamic(0);
  const ConstTensor& gamma = ctx.constant(1, "scale");
  const ConstTensor& beta = ctx.constant(2, "bias");
  const ConstTensor& mean = ctx.constant(3, "mean");
  const ConstTensor& var = ctx.constant(4, "var");
  const double eps = ctx.attr_float("epsilon", 1e-5);
  if (x.dims.size() < 2) ctx.fail("input must have a channel dimension");
  const std::int64_t C = x.dims[1];
  for (const ConstTensor* p : {&gamma, &beta, &mean, &var})
    if (numel(p->dims) != C) ctx.fail("parameters must have one value per channel (" + std::to_string(C) + ")");
  ConstTensor sc, sh;
  sc.dims = sh.dims = Dims{C};
  for (std::size_t k = 1; k + 1 < x.dims.size(); ++k) {
    sc.dims.push_back(1);
    sh.dims.push_back(1);
  }
  for (std::int64_t c = 0; c < C; ++c) {
    if (var.data[c] + eps <= 0) ctx.fail("variance + epsilon is not positive for channel " + std::to_string(c));
    const double s = gamma.data[c] / std::sqrt(var.data[c] + eps);
    sc.data.push_back(s);
    sh.data.push_back(beta.data[c] - mean.data[c] * s);
  }
  Vector s, t;
  broadcast_to(sc, x.dims, s);
  broadcast_to(sh, x.dims, t);
  return ctx.out_node(ctx.elementwise(x, s, t), x.dims);
}

}  // namespace tessera::onnx_import
