// Shape arithmetic on constants (numpy broadcasting, transposes, elementwise
// folding) and the folding of normalisation into Dense/Conv nodes.
#include <algorithm>

#include "core/limits.hpp"
#include "io/onnx/importer.hpp"

namespace tessera::onnx_import {

// Number of values, or -1 when a dimension is negative or the product
// exceeds kMaxValues.
std::int64_t numel(const Dims& d) {
  std::int64_t n = 1;
  for (auto v : d) {
    if (v < 0) return -1;
    if (v != 0 && n > kMaxValues / v) return -1;
    n *= v;
  }
  return n;
}

// An integer read from a constant tensor (stored as a double): clamped to
// ±2^62 so that converting it is defined and later range checks refuse it
// (NaN becomes -2^62).
std::int64_t to_int(double v) {
  constexpr double kLimit = 4611686018427387904.0;  // 2^62
  if (!(v > -kLimit)) return -(std::int64_t{1} << 62);
  if (!(v < kLimit)) return std::int64_t{1} << 62;
  return static_cast<std::int64_t>(v);
}

std::vector<std::int64_t> to_ints(const std::vector<double>& values) {
  std::vector<std::int64_t> out;
  out.reserve(values.size());
  for (double v : values) out.push_back(to_int(v));
  return out;
}

std::string dims_str(const Dims& d) {
  std::string s = "[";
  for (size_t i = 0; i < d.size(); ++i) s += (i ? "," : "") + std::to_string(d[i]);
  return s + "]";
}

// Flat input index for every output element of a transpose by `perm`.
std::vector<std::int64_t> transpose_index(const Dims& in, const std::vector<std::int64_t>& perm) {
  const size_t r = in.size();
  Dims out(r), in_stride(r, 1);
  for (size_t i = r; i-- > 1;) in_stride[i - 1] = in_stride[i] * in[i];
  for (size_t i = 0; i < r; ++i) out[i] = in[perm[i]];
  std::vector<std::int64_t> index(numel(in));
  Dims pos(r, 0);
  for (std::int64_t o = 0; o < static_cast<std::int64_t>(index.size()); ++o) {
    std::int64_t src = 0;
    for (size_t i = 0; i < r; ++i) src += pos[i] * in_stride[perm[i]];
    index[o] = src;
    for (size_t i = r; i-- > 0;) {
      if (++pos[i] < out[i]) break;
      pos[i] = 0;
    }
  }
  return index;
}

// numpy broadcasting of c to `dims` (c's rank may be lower).
bool broadcast_to(const ConstTensor& c, const Dims& dims, Vector& out) {
  if (c.dims.size() > dims.size()) {
    // Leading ones may be dropped.
    for (size_t i = 0; i + dims.size() < c.dims.size(); ++i)
      if (c.dims[i] != 1) return false;
  }
  const size_t r = dims.size();
  Dims cd(r, 1);
  for (size_t i = 0; i < std::min(r, c.dims.size()); ++i) cd[r - 1 - i] = c.dims[c.dims.size() - 1 - i];
  for (size_t i = 0; i < r; ++i)
    if (cd[i] != 1 && cd[i] != dims[i]) return false;
  Dims cstride(r, 1);
  for (size_t i = r; i-- > 1;) cstride[i - 1] = cstride[i] * cd[i];
  out.resize(numel(dims));
  Dims pos(r, 0);
  for (Eigen::Index o = 0; o < out.size(); ++o) {
    std::int64_t src = 0;
    for (size_t i = 0; i < r; ++i)
      if (cd[i] != 1) src += pos[i] * cstride[i];
    out[o] = c.data[src];
    for (size_t i = r; i-- > 0;) {
      if (++pos[i] < dims[i]) break;
      pos[i] = 0;
    }
  }
  return true;
}

Dims broadcast_dims(const Dims& a, const Dims& b) {
  const size_t r = std::max(a.size(), b.size());
  Dims out(r, 1);
  for (size_t i = 0; i < r; ++i) {
    const std::int64_t x = i < a.size() ? a[a.size() - 1 - i] : 1;
    const std::int64_t y = i < b.size() ? b[b.size() - 1 - i] : 1;
    if (x != y && x != 1 && y != 1) return {};
    out[r - 1 - i] = x == 1 ? y : x;
  }
  return out;
}

ConstTensor elementwise_const(const ConstTensor& a, const ConstTensor& b, const Dims& out,
                              const std::function<double(double, double)>& f) {
  Vector va, vb;
  ConstTensor c;
  if (numel(out) < 0 || !broadcast_to(a, out, va) || !broadcast_to(b, out, vb)) return c;
  c.dims = out;
  c.integer = a.integer && b.integer;
  c.data.resize(numel(out));
  for (size_t i = 0; i < c.data.size(); ++i) c.data[i] = f(va[i], vb[i]);
  return c;
}

// Applies y = s ⊙ z + t to the output of node p in place, when exact:
// into a Dense node's rows, an ElementwiseAffine node, or a Conv2d node
// when s and t are constant within each channel.
bool fold_into(Node& p, const Vector& s, const Vector& t) {
  if (p.kind == OpKind::Dense) {
    p.weight = s.asDiagonal() * p.weight;
    p.bias = s.cwiseProduct(p.bias) + t;
    return true;
  }
  if (p.kind == OpKind::ElementwiseAffine) {
    p.scale = s.cwiseProduct(p.scale);
    p.shift = s.cwiseProduct(p.shift) + t;
    return true;
  }
  if (p.kind != OpKind::Conv2d) return false;
  const Eigen::Index P = p.shape.height() * p.shape.width();
  for (Eigen::Index c = 0; c < p.weight.rows(); ++c) {
    const auto sc = s.segment(c * P, P), tc = t.segment(c * P, P);
    if (!(sc.array() == sc[0]).all() || !(tc.array() == tc[0]).all()) return false;
  }
  for (Eigen::Index c = 0; c < p.weight.rows(); ++c) {
    p.weight.row(c) *= s[c * P];
    p.bias[c] = s[c * P] * p.bias[c] + t[c * P];
  }
  return true;
}

// y = s ⊙ x + t on a dynamic value, folded into its producer when exact.
int NodeContext::elementwise(const Value& x, const Vector& s, const Vector& t) const {
  if (im_.foldable(x.node) && fold_into(builder().node(x.node), s, t)) {
    --im_.node_uses_[x.node];  // this node's use of x is absorbed
    return x.node;
  }
  return checked([&] { return builder().elementwise_affine(x.node, s, t, name()); });
}

// Dense node on x, absorbing a preceding single-use ElementwiseAffine (input
// normalisation): W (s ⊙ z + t) + b = (W diag s) z + (W t + b).
int NodeContext::dense(const Value& x, Matrix W, Vector b) const {
  int in = x.node;
  if (im_.foldable(in) && builder().node(in).kind == OpKind::ElementwiseAffine &&
      W.cols() == builder().node(in).scale.size()) {
    const Node& p = builder().node(in);
    b += W * p.shift;
    W = W * p.scale.asDiagonal();
    --im_.node_uses_[in];  // the normalisation node is absorbed and pruned
    in = p.inputs[0];
  }
  return checked([&] { return builder().dense(in, std::move(W), std::move(b), name()); });
}

}  // namespace tessera::onnx_import
