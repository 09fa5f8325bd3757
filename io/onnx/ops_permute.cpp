// Handlers: operators that move values around (Gather, Concat, Transpose,
// Pad): folded on constants, a Permute node on activations.
#include <algorithm>
#include <cmath>
#include <optional>
#include <set>

#include "core/limits.hpp"
#include "io/onnx/importer.hpp"

namespace tessera::onnx_import {

namespace {

// [1, n] activation concatenated with constants along axis 1: a gather
// (constants read index -1, i.e. 0) plus a shift holding the constants.
void concat_with_constants(const NodeContext& ctx, int dynamic, std::int64_t axis) {
  const Value& x = ctx.input(dynamic);
  if (x.dims.size() != 2 || (axis != 1 && axis != -1))
    ctx.fail("concatenation with activations is supported only along axis 1 of [1, n] tensors");
  std::vector<int> gather;
  std::vector<double> shift;
  for (int k = 0; k < ctx.n.input_size(); ++k) {
    const Value& v = ctx.input(k);
    if (k == dynamic) {
      for (std::int64_t i = 0; i < x.dims[1]; ++i) {
        gather.push_back(static_cast<int>(i));
        shift.push_back(0.0);
      }
    } else {
      if (v.c.dims.size() != 2 || v.c.dims[0] != 1) ctx.fail("constant parts must be [1, m]");
      for (double c : v.c.data) {
        gather.push_back(-1);
        shift.push_back(c);
      }
    }
  }
  const Dims out{1, static_cast<std::int64_t>(gather.size())};
  return ctx.checked([&] {
    int node = ctx.builder().permute(x.node, gather, ctx.to_shape(out), ctx.name());
    const Vector t = Eigen::Map<const Vector>(shift.data(), static_cast<Eigen::Index>(shift.size()));
    if (!t.isZero(0.0)) node = ctx.builder().elementwise_affine(node, Vector::Ones(t.size()), t, ctx.name() + "_const");
    return ctx.out_node(node, out);
  });
}

}  // namespace

void op_gather(const NodeContext& ctx) {
  const Value& data = ctx.input(0);
  const ConstTensor& idx = ctx.constant(1, "indices");
  if (!data.is_const) {
    // Selecting entries of a [1, n] activation (Tessera's own export of
    // Permute) is a gather of rows.
    if (data.dims.size() != 2 || (ctx.attr_int("axis", 0) != 1 && ctx.attr_int("axis", 0) != -1) ||
        idx.dims.size() != 1)
      ctx.fail("gathering from activations is supported only along axis 1 of a [1, n] tensor");
    std::vector<int> gather;
    for (double iv : idx.data) {
      auto k = to_int(iv);
      if (k < 0) k += data.dims[1];
      if (k < 0 || k >= data.dims[1]) ctx.fail("index out of range");
      gather.push_back(static_cast<int>(k));
    }
    const Dims out{1, static_cast<std::int64_t>(gather.size())};
    return ctx.checked([&] {
      return ctx.out_node(ctx.builder().permute(data.node, gather, ctx.to_shape(out), ctx.name()), out);
    });
  }
  const auto r = static_cast<std::int64_t>(data.c.dims.size());
  std::int64_t axis = ctx.attr_int("axis", 0);
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) ctx.fail("axis out of range");
  std::int64_t outer = 1, inner = 1;
  for (std::int64_t i = 0; i < axis; ++i) outer *= data.c.dims[i];
  for (std::int64_t i = axis + 1; i < r; ++i) inner *= data.c.dims[i];
  const std::int64_t len = data.c.dims[axis];
  if (numel(idx.dims) < 0 || (len > 0 && numel(idx.dims) > 0 && outer * inner > (std::int64_t{1} << 28) / std::max<std::int64_t>(numel(idx.dims), 1)))
    ctx.fail("the gathered constant would be too large");
  ctx.reserve(outer * inner * numel(idx.dims), 8, "the gathered constant");
  ConstTensor c;
  c.integer = data.c.integer;
  c.dims.assign(data.c.dims.begin(), data.c.dims.begin() + axis);
  c.dims.insert(c.dims.end(), idx.dims.begin(), idx.dims.end());
  c.dims.insert(c.dims.end(), data.c.dims.begin() + axis + 1, data.c.dims.end());
  for (std::int64_t o = 0; o < outer; ++o)
    for (double iv : idx.data) {
      auto k = to_int(iv);
      if (k < 0) k += len;
      if (k < 0 || k >= len) ctx.fail("index " + std::to_string(static_cast<long long>(iv)) + " out of range");
      for (std::int64_t i = 0; i < inner; ++i) c.data.push_back(data.c.data[(o * len + k) * inner + i]);
    }
  return ctx.out_const(std::move(c));
}

void op_concat(const NodeContext& ctx) {
  std::int64_t axis = ctx.attr_int("axis", 0);
  std::vector<const ConstTensor*> parts;
  int dynamic = -1;
  for (int k = 0; k < ctx.n.input_size(); ++k) {
    const Value& v = ctx.input(k);
    if (!v.is_const) {
      if (dynamic >= 0) ctx.fail("concatenating two activations is not supported");
      dynamic = k;
    }
  }
  if (dynamic >= 0) return concat_with_constants(ctx, dynamic, axis);
  for (int k = 0; k < ctx.n.input_size(); ++k) parts.push_back(&ctx.input(k).c);
  if (parts.empty()) ctx.fail("has no inputs");
  const Dims d0 = parts[0]->dims;
  const auto r = static_cast<std::int64_t>(d0.size());
  if (axis < 0) axis += r;
  if (axis < 0 || axis >= r) ctx.fail("axis out of range");
  std::int64_t outer = 1;
  for (std::int64_t i = 0; i < axis; ++i) outer *= d0[i];
  ConstTensor c;
  c.integer = true;
  c.dims = d0;
  c.dims[axis] = 0;
  for (const auto* p : parts) {
    if (p->dims.size() != d0.size()) ctx.fail("inputs of different ranks");
    for (size_t i = 0; i < d0.size(); ++i)
      if (static_cast<std::int64_t>(i) != axis && p->dims[i] != d0[i])
        ctx.fail("inputs " + dims_str(d0) + " and " + dims_str(p->dims) + " differ off the concatenation axis");
    c.dims[axis] += p->dims[axis];
    c.integer = c.integer && p->integer;
  }
  if (numel(c.dims) < 0) ctx.fail("the concatenation " + dims_str(c.dims) + " has more than 2^31 - 1 values");
  ctx.reserve(numel(c.dims), 8, "the constant " + dims_str(c.dims));
  for (std::int64_t o = 0; o < outer; ++o)
    for (const auto* p : parts) {
      const std::int64_t chunk = numel(p->dims) / std::max<std::int64_t>(outer, 1);
      c.data.insert(c.data.end(), p->data.begin() + o * chunk, p->data.begin() + (o + 1) * chunk);
    }
  return ctx.out_const(std::move(c));
}

void op_transpose(const NodeContext& ctx) {
  const Value& x = ctx.input(0);
  const Dims in = x.is_const ? x.c.dims : x.dims;
  std::vector<std::int64_t> perm = ctx.attr_ints("perm");
  if (perm.empty())
    for (auto i = static_cast<std::int64_t>(in.size()); i-- > 0;) perm.push_back(i);
  if (perm.size() != in.size()) ctx.fail("perm has the wrong length");
  {
    std::vector<std::int64_t> sorted = perm;
    std::sort(sorted.begin(), sorted.end());
    for (size_t i = 0; i < sorted.size(); ++i)
      if (sorted[i] != static_cast<std::int64_t>(i)) ctx.fail("perm is not a permutation");
  }
  Dims out(in.size());
  for (size_t i = 0; i < in.size(); ++i) out[i] = in[perm[i]];
  const auto idx = transpose_index(in, perm);
  if (x.is_const) {
    ctx.reserve(numel(in), 8, "the transposed constant");
    ConstTensor c = x.c;
    c.dims = out;
    for (size_t i = 0; i < idx.size(); ++i) c.data[i] = x.c.data[idx[i]];
    return ctx.out_const(std::move(c));
  }
  bool identity = true;
  for (size_t i = 0; i < idx.size(); ++i) identity = identity && idx[i] == static_cast<std::int64_t>(i);
  if (identity) return ctx.reshape(x, out);  // e.g. NHWC -> NCHW with one channel
  std::vector<int> index32(idx.begin(), idx.end());
  return ctx.checked([&] {
    return ctx.out_node(ctx.builder().permute(x.node, index32, ctx.to_shape(out), ctx.name()), out);
  });
}

void op_pad(const NodeContext& ctx) {
  const Value& x = ctx.dynamic(0);
  const std::string mode = ctx.attr_string("mode", "constant");
  std::vector<std::int64_t> pads;
  double value = ctx.attr_float("value", 0.0);
  if (ctx.has_input(1)) {
    const ConstTensor& p = ctx.constant(1, "pads");
    pads = to_ints(p.data);
    if (ctx.has_input(2)) {
      const ConstTensor& v = ctx.constant(2, "constant_value");
      value = v.data.empty() ? 0.0 : v.data[0];
    }
  } else {
    pads = ctx.attr_ints("pads");
  }
  const auto r = static_cast<std::int64_t>(x.dims.size());
  if (ctx.has_input(3)) {
    // opset 18: pads only for the listed axes.
    const ConstTensor& a = ctx.constant(3, "axes");
    std::vector<std::int64_t> full(2 * r, 0);
    const auto k = static_cast<std::int64_t>(a.data.size());
    if (static_cast<std::int64_t>(pads.size()) != 2 * k) ctx.fail("pads do not match axes");
    for (std::int64_t i = 0; i < k; ++i) {
      auto ax = to_int(a.data[i]);
      if (ax < 0) ax += r;
      if (ax < 0 || ax >= r) ctx.fail("axis out of range");
      full[ax] = pads[i];
      full[ax + r] = pads[i + k];
    }
    pads = full;
  }
  if (static_cast<std::int64_t>(pads.size()) != 2 * r) ctx.fail("pads must have 2 x rank entries");
  if (pads[0] != 0 || pads[r] != 0) ctx.fail("padding the batch dimension is not supported");
  if (mode == "constant" && value != 0.0) ctx.fail("only zero constant padding is supported");
  if (mode != "constant" && mode != "edge" && mode != "reflect") ctx.fail("mode '" + mode + "' is not supported");
  for (const auto p : pads)
    if (p < -kMaxDimension || p > kMaxDimension) ctx.fail("pad " + std::to_string(p) + " is out of range");
  Dims out(r);
  bool identity = true;
  for (std::int64_t i = 0; i < r; ++i) {
    out[i] = x.dims[i] + pads[i] + pads[i + r];
    if (out[i] <= 0) ctx.fail("padding leaves an empty dimension");
    identity = identity && pads[i] == 0 && pads[i + r] == 0;
  }
  if (identity) return ctx.out_node(x.node, out);
  Dims in_stride(r, 1);
  for (std::int64_t i = r - 1; i > 0; --i) in_stride[i - 1] = in_stride[i] * x.dims[i];
  if (numel(out) <= 0) ctx.fail("padded shape " + dims_str(out) + " is empty or too large");
  ctx.reserve(numel(out), 4 + 8, "the padded output " + dims_str(out));
  std::vector<int> gather(static_cast<size_t>(numel(out)));
  const bool edge = mode == "edge", reflect = mode == "reflect";
  Dims pos(r, 0);
  for (auto& g : gather) {
    std::int64_t src = 0;
    bool inside = true;
    for (std::int64_t i = 0; i < r; ++i) {
      std::int64_t c = pos[i] - pads[i];
      const std::int64_t d = x.dims[i];
      if (c < 0 || c >= d) {
        if (edge) {
          c = std::clamp<std::int64_t>(c, 0, d - 1);
        } else if (reflect && d > 1) {
          const std::int64_t period = 2 * (d - 1);
          c = ((c % period) + period) % period;
          if (c >= d) c = period - c;
        } else if (reflect) {
          c = 0;
        } else {
          inside = false;
        }
      }
      src += c * in_stride[i];
    }
    g = inside ? static_cast<int>(src) : -1;
    for (std::int64_t i = r - 1; i >= 0; --i) {
      if (++pos[i] < out[i]) break;
      pos[i] = 0;
    }
  }
  return ctx.checked([&] {
    return ctx.out_node(ctx.builder().permute(x.node, gather, ctx.to_shape(out), ctx.name()), out);
  });
}

}  // namespace tessera::onnx_import
