#include "core/network.hpp"

#include <algorithm>
#include <cmath>
#include <functional>
#include <sstream>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "core/tolerances.hpp"

namespace tessera {

std::int64_t Shape::size() const {
  std::int64_t n = 1;
  for (int d : dims) n = mul_or_neg(n, d);
  return dims.empty() ? 0 : n;
}

std::string Shape::str() const {
  std::ostringstream s;
  for (size_t i = 0; i < dims.size(); ++i) s << (i ? "x" : "") << dims[i];
  return s.str();
}

const char* op_name(OpKind kind) {
  switch (kind) {
    case OpKind::Input: return "Input";
    case OpKind::Dense: return "Dense";
    case OpKind::Conv2d: return "Conv2d";
    case OpKind::AvgPool2d: return "AvgPool2d";
    case OpKind::MaxPool2d: return "MaxPool2d";
    case OpKind::Relu: return "ReLU";
    case OpKind::LeakyRelu: return "LeakyReLU";
    case OpKind::Add: return "Add";
    case OpKind::ElementwiseAffine: return "ElementwiseAffine";
    case OpKind::Reshape: return "Reshape";
    case OpKind::Permute: return "Permute";
    case OpKind::Piecewise: return "Piecewise";
  }
  return "?";
}

std::int64_t Node::parameter_count() const {
  switch (kind) {
    case OpKind::Dense:
    case OpKind::Conv2d: return weight.size() + bias.size();
    case OpKind::ElementwiseAffine: return scale.size() + shift.size();
    case OpKind::Piecewise: return knots.size() + piece_slopes.size() + piece_offsets.size();
    case OpKind::LeakyRelu: return 0;
    default: return 0;
  }
}

std::int64_t Network::parameter_count() const {
  std::int64_t n = 0;
  for (const Node& node : nodes) n += node.parameter_count();
  return n;
}

std::int64_t Network::memory_bytes() const {
  std::int64_t bytes = 0;
  for (const Node& n : nodes) {
    bytes = add_or_neg(bytes, mul_or_neg(16, n.weight.size()));
    bytes = add_or_neg(bytes, mul_or_neg(8, n.bias.size() + n.scale.size() + n.shift.size() + n.shape.size()));
    bytes = add_or_neg(bytes, mul_or_neg(8, n.knots.size() + n.piece_slopes.size() + n.piece_offsets.size()));
    bytes = add_or_neg(bytes, mul_or_neg(4, static_cast<std::int64_t>(n.index.size() + n.gather.size())));
    bytes = add_or_neg(bytes, mul_or_neg(12, n.pool.nonZeros()));
  }
  return bytes;
}

std::vector<int> Network::piecewise_nodes() const {
  std::vector<int> out;
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i)
    if (nodes[i].is_piecewise()) out.push_back(i);
  return out;
}

PiecewiseForm piecewise_form(const Node& n) {
  if (n.kind != OpKind::Piecewise) return PiecewiseForm::General;
  const Eigen::Index rows = std::max({n.knots.rows(), n.piece_slopes.rows(), n.piece_offsets.rows()});
  auto all = [&](auto pred) {
    for (Eigen::Index i = 0; i < rows; ++i)
      if (!pred(i)) return false;
    return true;
  };
  auto slopes = [&](Eigen::Index i, std::initializer_list<double> s) {
    int k = 0;
    for (double v : s)
      if (n.piece_slope(i, k++) != v) return false;
    return true;
  };
  if (n.pieces() == 3 && n.knots.rows() == 1 && all([&](Eigen::Index i) {
        return slopes(i, {0, 1, 0}) && n.piece_offset(i, 0) == n.knot(i, 0) && n.piece_offset(i, 1) == 0 &&
               n.piece_offset(i, 2) == n.knot(i, 1);
      }))
    return PiecewiseForm::Clip;
  if (n.pieces() != 2) return PiecewiseForm::General;
  if (all([&](Eigen::Index i) {
        return n.knot(i, 0) == 0 && slopes(i, {-1, 1}) && n.piece_offset(i, 0) == 0 && n.piece_offset(i, 1) == 0;
      }))
    return PiecewiseForm::Abs;
  if (all([&](Eigen::Index i) {
        return slopes(i, {0, 1}) && n.piece_offset(i, 0) == n.knot(i, 0) && n.piece_offset(i, 1) == 0;
      }))
    return PiecewiseForm::MaxConstant;
  if (all([&](Eigen::Index i) {
        return slopes(i, {1, 0}) && n.piece_offset(i, 0) == 0 && n.piece_offset(i, 1) == n.knot(i, 0);
      }))
    return PiecewiseForm::MinConstant;
  if (all([&](Eigen::Index i) {
        return n.knot(i, 0) == 0 && n.piece_offset(i, 0) == 0 && n.piece_offset(i, 1) == 0 &&
               n.piece_slope(i, 1) == 1;
      }))
    return PiecewiseForm::PRelu;
  return PiecewiseForm::General;
}

const char* piecewise_form_name(PiecewiseForm form) {
  switch (form) {
    case PiecewiseForm::Clip: return "Clip";
    case PiecewiseForm::Abs: return "Abs";
    case PiecewiseForm::PRelu: return "PRelu";
    case PiecewiseForm::MaxConstant: return "Max";
    case PiecewiseForm::MinConstant: return "Min";
    case PiecewiseForm::General: break;
  }
  return "Piecewise";
}

int window_output_size(int in, int kernel, int stride, int pad_begin, int pad_end, int dilation) {
  if (kernel < 1 || stride < 1 || dilation < 1 || pad_begin < 0 || pad_end < 0)
    throw Error("invalid window: kernel " + std::to_string(kernel) + ", stride " + std::to_string(stride) +
                ", dilation " + std::to_string(dilation) + ", padding " + std::to_string(pad_begin) + "/" +
                std::to_string(pad_end));
  // 64-bit: a dilation and a kernel of 65 536 each span 2^32 cells.
  const std::int64_t span = std::int64_t{dilation} * (kernel - 1) + 1;
  const std::int64_t padded = std::int64_t{in} + pad_begin + pad_end;
  if (padded < span)
    throw Error("window of size " + std::to_string(span) + " does not fit an input of size " + std::to_string(in) +
                " with padding " + std::to_string(pad_begin) + "/" + std::to_string(pad_end));
  const std::int64_t out = (padded - span) / stride + 1;
  if (out > kMaxDimension)
    throw Error("the output would have " + std::to_string(out) + " positions along one axis (input " +
                std::to_string(in) + ", padding " + std::to_string(pad_begin) + "/" + std::to_string(pad_end) +
                "); more than " + std::to_string(kMaxDimension) + " are not supported");
  return static_cast<int>(out);
}

namespace {

std::string where(const Node& n, int index) {
  return "node '" + (n.name.empty() ? std::to_string(index) : n.name) + "' (" + op_name(n.kind) + ")";
}

void check_finite(const Node& n, int index, const char* what, const double* data, std::int64_t size) {
  for (std::int64_t i = 0; i < size; ++i) {
    if (!std::isfinite(data[i]))
      throw Error(where(n, index) + ": " + what + " contains " + (std::isnan(data[i]) ? "NaN" : "Inf") +
                  " at index " + std::to_string(i));
    if (std::abs(data[i]) > tol::kMaxAbsParameter)
      throw Error(where(n, index) + ": " + what + " value " + std::to_string(data[i]) + " at index " +
                  std::to_string(i) + " is too large");
  }
}

// Builds gather tables for windowed operations.
//   Conv2d:   im2col row r = c*kh*kw + i*kw + j, entries gather[p*R + r].
//   Pooling:  gather[o*K + k] for output o = c*P + p and window element k.
void build_window_tables(Node& n, int index, const Shape& in, std::int64_t* model_bytes) {
  const Window2d& w = n.window;
  const int C = in.channels(), H = in.height(), W = in.width();
  const int Ho = n.shape.height(), Wo = n.shape.width();
  const int P = Ho * Wo, K = w.kernel_h * w.kernel_w;  // both fit: the output and the weight exist
  const std::int64_t entries = mul_or_neg(mul_or_neg(C, K), P);
  const std::int64_t table_bytes = mul_or_neg(entries, n.kind == OpKind::AvgPool2d ? 16 : 4);
  *model_bytes = add_or_neg(*model_bytes, table_bytes);
  check_memory(*model_bytes, where(n, index) + ": the model with this node's lookup table");
  if (entries > kMaxValues)
    throw Error(where(n, index) + ": the lookup table would have " + std::to_string(entries) +
                " entries; more than 2^31 - 1 are not supported");
  auto input_index = [&](int c, int oy, int ox, int i, int j) -> int {
    const std::int64_t y = std::int64_t{oy} * w.stride_h - w.pad_top + std::int64_t{i} * w.dilation_h;
    const std::int64_t x = std::int64_t{ox} * w.stride_w - w.pad_left + std::int64_t{j} * w.dilation_w;
    if (y < 0 || y >= H || x < 0 || x >= W) return -1;
    return static_cast<int>((std::int64_t{c} * H + y) * W + x);
  };
  if (n.kind == OpKind::Conv2d) {
    const int R = C * K;  // the weight's columns
    n.gather.assign(static_cast<size_t>(R) * P, -1);
    for (int c = 0; c < C; ++c)
      for (int i = 0; i < w.kernel_h; ++i)
        for (int j = 0; j < w.kernel_w; ++j) {
          const int r = (c * w.kernel_h + i) * w.kernel_w + j;
          for (int oy = 0; oy < Ho; ++oy)
            for (int ox = 0; ox < Wo; ++ox)
              n.gather[static_cast<size_t>(oy * Wo + ox) * R + r] = input_index(c, oy, ox, i, j);
        }
    return;
  }
  n.gather.assign(static_cast<size_t>(C) * P * K, -1);
  std::vector<Eigen::Triplet<double>> triplets;
  for (int c = 0; c < C; ++c)
    for (int oy = 0; oy < Ho; ++oy)
      for (int ox = 0; ox < Wo; ++ox) {
        const int o = c * P + oy * Wo + ox;
        int real = 0, counted = 0;
        for (int i = 0; i < w.kernel_h; ++i)
          for (int j = 0; j < w.kernel_w; ++j) {
            const int idx = input_index(c, oy, ox, i, j);
            n.gather[static_cast<size_t>(o) * K + i * w.kernel_w + j] = idx;
            if (idx >= 0) ++real;
            // count_include_pad counts padding cells inside the padded input
            // (as ONNX / PyTorch do), not cells beyond it.
            const std::int64_t y = std::int64_t{oy} * w.stride_h - w.pad_top + std::int64_t{i} * w.dilation_h;
            const std::int64_t x = std::int64_t{ox} * w.stride_w - w.pad_left + std::int64_t{j} * w.dilation_w;
            if (y < H + w.pad_bottom && x < W + w.pad_right) ++counted;
          }
        if (real == 0) throw Error(where(n, index) + ": a pooling window covers only padding");
        if (n.kind == OpKind::AvgPool2d) {
          const double divisor = n.count_include_pad ? counted : real;
          for (int k = 0; k < K; ++k) {
            const int idx = n.gather[static_cast<size_t>(o) * K + k];
            if (idx >= 0) triplets.emplace_back(o, idx, 1.0 / divisor);
          }
        }
      }
  if (n.kind == OpKind::AvgPool2d) {
    n.pool.resize(n.shape.size(), in.size());
    n.pool.setFromTriplets(triplets.begin(), triplets.end());
    n.gather.clear();
  }
}

// A Piecewise node's tables: shapes, finite values, ascending knots and
// continuity at every knot.
void check_piecewise(const Node& n, int index) {
  const int P = static_cast<int>(n.piece_slopes.cols());
  const std::int64_t size = n.shape.size();
  if (P < 2 || P > kMaxPieces)
    throw Error(where(n, index) + ": has " + std::to_string(P) + " pieces; between 2 and " +
                std::to_string(kMaxPieces) + " are supported");
  auto rows_ok = [&](const Matrix& m, int cols) { return m.cols() == cols && (m.rows() == 1 || m.rows() == size); };
  if (!rows_ok(n.knots, P - 1) || !rows_ok(n.piece_slopes, P) || !rows_ok(n.piece_offsets, P))
    throw Error(where(n, index) + ": knots " + std::to_string(n.knots.rows()) + "x" + std::to_string(n.knots.cols()) +
                ", slopes " + std::to_string(n.piece_slopes.rows()) + "x" + std::to_string(n.piece_slopes.cols()) +
                " and offsets " + std::to_string(n.piece_offsets.rows()) + "x" +
                std::to_string(n.piece_offsets.cols()) + " do not fit " + std::to_string(P) +
                " pieces of 1 or " + std::to_string(size) + " units");
  check_finite(n, index, "knots", n.knots.data(), n.knots.size());
  check_finite(n, index, "slopes", n.piece_slopes.data(), n.piece_slopes.size());
  check_finite(n, index, "offsets", n.piece_offsets.data(), n.piece_offsets.size());
  const std::int64_t rows = std::max({n.knots.rows(), n.piece_slopes.rows(), n.piece_offsets.rows()});
  for (std::int64_t i = 0; i < rows; ++i)
    for (int j = 0; j + 1 < P; ++j) {
      const double b = n.knot(i, j);
      if (j > 0 && !(n.knot(i, j - 1) <= b))
        throw Error(where(n, index) + ": the knots of unit " + std::to_string(i) + " do not ascend");
      const double left = n.piece_slope(i, j) * b + n.piece_offset(i, j);
      const double right = n.piece_slope(i, j + 1) * b + n.piece_offset(i, j + 1);
      const double scale = std::abs(n.piece_slope(i, j) * b) + std::abs(n.piece_offset(i, j)) +
                           std::abs(n.piece_slope(i, j + 1) * b) + std::abs(n.piece_offset(i, j + 1));
      if (std::abs(left - right) > 1e-12 * scale)
        throw Error(where(n, index) + ": unit " + std::to_string(i) + " is not continuous at its knot " +
                    std::to_string(b) + " (" + std::to_string(left) + " from the left, " + std::to_string(right) +
                    " from the right)");
    }
}

}  // namespace

void Network::finalize() {
  if (nodes.empty() || nodes.front().kind != OpKind::Input) throw Error("the network has no input");
  if (nodes.size() < 2) throw Error("the network is empty: it has an input but no layers");
  // What the model occupies once loaded (weights twice: W and W^T; one value
  // per node), checked against the memory budget before each table is built.
  std::int64_t bytes = 0;
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    const Node& n = nodes[i];
    bytes = add_or_neg(bytes, mul_or_neg(16, n.weight.size()));
    bytes = add_or_neg(bytes, mul_or_neg(8, n.bias.size() + n.scale.size() + n.shift.size() + n.shape.size()));
    bytes = add_or_neg(bytes, mul_or_neg(8, n.knots.size() + n.piece_slopes.size() + n.piece_offsets.size()));
    bytes = add_or_neg(bytes, mul_or_neg(4, static_cast<std::int64_t>(n.index.size())));
  }
  check_memory(bytes, (source.empty() ? std::string("the model") : source) + ": its weights and one value per node");
  for (int i = 0; i < static_cast<int>(nodes.size()); ++i) {
    Node& n = nodes[i];
    for (int in : n.inputs)
      if (in < 0 || in >= i) throw Error(where(n, i) + ": input " + std::to_string(in) + " is not an earlier node");
    if (n.shape.size() <= 0 || n.shape.size() > kMaxValues)
      throw Error(where(n, i) + ": output shape " + n.shape.str() + " is empty or has more than 2^31 - 1 values");
    check_finite(n, i, "weight", n.weight.data(), n.weight.size());
    check_finite(n, i, "bias", n.bias.data(), n.bias.size());
    check_finite(n, i, "scale", n.scale.data(), n.scale.size());
    check_finite(n, i, "shift", n.shift.data(), n.shift.size());
    if (!std::isfinite(n.slope)) throw Error(where(n, i) + ": slope is not finite");
    if (n.kind == OpKind::Piecewise) check_piecewise(n, i);
    if (n.kind == OpKind::Dense || n.kind == OpKind::Conv2d) n.weight_t = n.weight.transpose();
    if (n.kind == OpKind::Conv2d || n.kind == OpKind::AvgPool2d || n.kind == OpKind::MaxPool2d)
      build_window_tables(n, i, nodes[n.inputs.at(0)].shape, &bytes);
  }
}

// ---------------------------------------------------------------- builder ---

int NetworkBuilder::push(Node n) {
  const int index = static_cast<int>(net_.nodes.size());
  if (n.name.empty()) n.name = std::string(op_name(n.kind)) + "_" + std::to_string(index);
  for (int in : n.inputs)
    if (in < 0 || in >= index) throw Error(where(n, index) + ": input " + std::to_string(in) + " does not exist");
  for (int in : n.inputs) ++consumers_[in];
  consumers_.push_back(0);
  net_.nodes.push_back(std::move(n));
  return index;
}

int NetworkBuilder::consumer_count(int i) const {
  return i >= 0 && i < static_cast<int>(consumers_.size()) ? consumers_[i] : 0;
}

int NetworkBuilder::input(const Shape& shape, const std::string& name) {
  if (!net_.nodes.empty()) throw Error("the network already has an input");
  if (shape.size() <= 0 || (shape.dims.size() != 1 && shape.dims.size() != 3))
    throw Error("input '" + name + "': shape " + shape.str() + " is not supported (use {n} or {C,H,W})");
  Node n;
  n.kind = OpKind::Input;
  n.name = name;
  n.shape = shape;
  return push(std::move(n));
}

int NetworkBuilder::dense(int in, Matrix weight, Vector bias, const std::string& name) {
  Node n;
  n.kind = OpKind::Dense;
  n.name = name;
  n.inputs = {in};
  const std::int64_t n_in = node(in).shape.size();
  if (weight.cols() != n_in)
    throw Error(where(n, size()) + ": weight has " + std::to_string(weight.cols()) + " columns but the input has " +
                std::to_string(n_in) + " values");
  if (bias.size() == 0) bias = Vector::Zero(weight.rows());
  if (bias.size() != weight.rows())
    throw Error(where(n, size()) + ": bias has " + std::to_string(bias.size()) + " entries, expected " +
                std::to_string(weight.rows()));
  n.shape = Shape{static_cast<int>(weight.rows())};
  n.weight = std::move(weight);
  n.bias = std::move(bias);
  return push(std::move(n));
}

namespace {
Shape window_shape(const Node& n, int index, const Shape& in, int channels_out) {
  if (!in.is_image())
    throw Error(where(n, index) + ": needs an image input {C,H,W}, got shape " + in.str());
  const Window2d& w = n.window;
  try {
    const int ho = window_output_size(in.height(), w.kernel_h, w.stride_h, w.pad_top, w.pad_bottom, w.dilation_h);
    const int wo = window_output_size(in.width(), w.kernel_w, w.stride_w, w.pad_left, w.pad_right, w.dilation_w);
    const Shape out{channels_out, ho, wo};
    if (out.size() < 0 || out.size() > kMaxValues)
      throw Error("the output " + std::to_string(channels_out) + "x" + std::to_string(ho) + "x" + std::to_string(wo) +
                  " would have more than 2^31 - 1 values");
    check_memory(mul_or_neg(8, out.size()), "its output of " + out.str() + " values");
    return out;
  } catch (const Error& e) {
    throw Error(where(n, index) + ": " + e.what());
  }
}
}  // namespace

int NetworkBuilder::conv2d(int in, Matrix weight, Vector bias, const Window2d& window, const std::string& name) {
  Node n;
  n.kind = OpKind::Conv2d;
  n.name = name;
  n.inputs = {in};
  n.window = window;
  const Shape& s = node(in).shape;
  if (!s.is_image()) throw Error(where(n, size()) + ": needs an image input {C,H,W}, got shape " + s.str());
  const std::int64_t expected_cols = static_cast<std::int64_t>(s.channels()) * window.kernel_h * window.kernel_w;
  if (weight.cols() != expected_cols)
    throw Error(where(n, size()) + ": weight has " + std::to_string(weight.cols()) + " columns per filter, expected " +
                std::to_string(s.channels()) + "x" + std::to_string(window.kernel_h) + "x" +
                std::to_string(window.kernel_w) + " for an input with " + std::to_string(s.channels()) + " channels");
  if (bias.size() == 0) bias = Vector::Zero(weight.rows());
  if (bias.size() != weight.rows())
    throw Error(where(n, size()) + ": bias has " + std::to_string(bias.size()) + " entries, expected " +
                std::to_string(weight.rows()));
  n.shape = window_shape(n, size(), s, static_cast<int>(weight.rows()));
  n.weight = std::move(weight);
  n.bias = std::move(bias);
  return push(std::move(n));
}

int NetworkBuilder::avg_pool2d(int in, const Window2d& window, bool count_include_pad, const std::string& name) {
  Node n;
  n.kind = OpKind::AvgPool2d;
  n.name = name;
  n.inputs = {in};
  n.window = window;
  n.count_include_pad = count_include_pad;
  const Shape& s = node(in).shape;
  n.shape = window_shape(n, size(), s, s.is_image() ? s.channels() : 0);
  return push(std::move(n));
}

int NetworkBuilder::max_pool2d(int in, const Window2d& window, const std::string& name) {
  Node n;
  n.kind = OpKind::MaxPool2d;
  n.name = name;
  n.inputs = {in};
  n.window = window;
  const Shape& s = node(in).shape;
  n.shape = window_shape(n, size(), s, s.is_image() ? s.channels() : 0);
  return push(std::move(n));
}

int NetworkBuilder::relu(int in, const std::string& name) {
  Node n;
  n.kind = OpKind::Relu;
  n.name = name;
  n.inputs = {in};
  n.shape = node(in).shape;
  return push(std::move(n));
}

int NetworkBuilder::leaky_relu(int in, double slope, const std::string& name) {
  Node n;
  n.kind = OpKind::LeakyRelu;
  n.name = name;
  n.inputs = {in};
  n.shape = node(in).shape;
  n.slope = slope;
  return push(std::move(n));
}

int NetworkBuilder::piecewise(int in, Matrix knots, Matrix slopes, Matrix offsets, const std::string& name) {
  Node n;
  n.kind = OpKind::Piecewise;
  n.name = name;
  n.inputs = {in};
  n.shape = node(in).shape;
  n.knots = std::move(knots);
  n.piece_slopes = std::move(slopes);
  n.piece_offsets = std::move(offsets);
  check_piecewise(n, size());
  return push(std::move(n));
}

int NetworkBuilder::clip(int in, double lo, double hi, const std::string& name) {
  if (!(lo <= hi)) throw Error("node '" + name + "' (Clip): the lower bound " + std::to_string(lo) +
                               " exceeds the upper bound " + std::to_string(hi));
  Matrix k(1, 2), s(1, 3), o(1, 3);
  k << lo, hi;
  s << 0, 1, 0;
  o << lo, 0, hi;
  return piecewise(in, k, s, o, name);
}

int NetworkBuilder::abs(int in, const std::string& name) {
  Matrix k = Matrix::Zero(1, 1), s(1, 2), o = Matrix::Zero(1, 2);
  s << -1, 1;
  return piecewise(in, k, s, o, name);
}

int NetworkBuilder::prelu(int in, const Vector& slopes, const std::string& name) {
  const Eigen::Index rows = slopes.size();
  Matrix s(rows, 2);
  s.col(0) = slopes;
  s.col(1).setOnes();
  return piecewise(in, Matrix::Zero(rows, 1), s, Matrix::Zero(rows, 2), name);
}

int NetworkBuilder::max_constant(int in, const Vector& c, const std::string& name) {
  const Eigen::Index rows = c.size();
  Matrix s(rows, 2), o = Matrix::Zero(rows, 2);
  s.col(0).setZero();
  s.col(1).setOnes();
  o.col(0) = c;
  return piecewise(in, c, s, o, name);
}

int NetworkBuilder::min_constant(int in, const Vector& c, const std::string& name) {
  const Eigen::Index rows = c.size();
  Matrix s(rows, 2), o = Matrix::Zero(rows, 2);
  s.col(0).setOnes();
  s.col(1).setZero();
  o.col(1) = c;
  return piecewise(in, c, s, o, name);
}

int NetworkBuilder::add(int a, int b, const std::string& name) {
  Node n;
  n.kind = OpKind::Add;
  n.name = name;
  n.inputs = {a, b};
  if (node(a).shape != node(b).shape)
    throw Error(where(n, size()) + ": cannot add shapes " + node(a).shape.str() + " and " + node(b).shape.str());
  n.shape = node(a).shape;
  return push(std::move(n));
}

int NetworkBuilder::elementwise_affine(int in, Vector scale, Vector shift, const std::string& name) {
  Node n;
  n.kind = OpKind::ElementwiseAffine;
  n.name = name;
  n.inputs = {in};
  n.shape = node(in).shape;
  if (scale.size() != n.shape.size() || shift.size() != n.shape.size())
    throw Error(where(n, size()) + ": scale/shift sizes " + std::to_string(scale.size()) + "/" +
                std::to_string(shift.size()) + " do not match the input size " + std::to_string(n.shape.size()));
  n.scale = std::move(scale);
  n.shift = std::move(shift);
  return push(std::move(n));
}

int NetworkBuilder::reshape(int in, const Shape& shape, const std::string& name) {
  Node n;
  n.kind = OpKind::Reshape;
  n.name = name;
  n.inputs = {in};
  n.shape = shape;
  if (shape.size() != node(in).shape.size())
    throw Error(where(n, size()) + ": cannot reshape " + node(in).shape.str() + " to " + shape.str());
  return push(std::move(n));
}

int NetworkBuilder::permute(int in, std::vector<int> index, const Shape& shape, const std::string& name) {
  Node n;
  n.kind = OpKind::Permute;
  n.name = name;
  n.inputs = {in};
  n.shape = shape;
  const std::int64_t n_in = node(in).shape.size();
  if (static_cast<std::int64_t>(index.size()) != shape.size())
    throw Error(where(n, size()) + ": index has " + std::to_string(index.size()) + " entries for shape " + shape.str());
  for (int i : index)
    if (i < -1 || i >= n_in) throw Error(where(n, size()) + ": index " + std::to_string(i) + " out of range");
  n.index = std::move(index);
  return push(std::move(n));
}

Network NetworkBuilder::build(int output, bool softmax_output, const std::string& source) {
  if (net_.nodes.empty()) throw Error("the network is empty: no input");
  if (output < 0 || output >= size()) throw Error("output node " + std::to_string(output) + " does not exist");
  // Keep the nodes the output depends on (the input always).
  std::vector<char> keep(net_.nodes.size(), 0);
  keep[0] = 1;
  keep[output] = 1;
  for (int i = output; i >= 0; --i)
    if (keep[i])
      for (int in : net_.nodes[i].inputs) keep[in] = 1;
  std::vector<int> renumber(net_.nodes.size(), -1);
  Network net;
  for (int i = 0; i <= output; ++i) {
    if (!keep[i]) continue;
    Node n = std::move(net_.nodes[i]);
    for (int& in : n.inputs) in = renumber[in];
    renumber[i] = static_cast<int>(net.nodes.size());
    net.nodes.push_back(std::move(n));
  }
  net.softmax_output = softmax_output;
  net.source = source;
  net_ = Network();
  consumers_.clear();
  net.finalize();
  return net;
}

std::string Network::class_name(int k) const {
  if (k >= 0 && k < static_cast<int>(class_names.size())) return class_names[k];
  return "class " + std::to_string(k);
}

}  // namespace tessera
