// ONNX -> Network. See onnx_io.hpp for what is supported.
#include <onnx/onnx_pb.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <cstdlib>
#include <limits>
#include <map>
#include <numeric>
#include <optional>
#include <set>

#include "core/error.hpp"
#include "core/file_util.hpp"
#include "core/limits.hpp"
#include "core/onnx_io.hpp"

namespace tessera {

namespace {

using Dims = std::vector<std::int64_t>;

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

// A constant tensor (initializer, Constant, or folded shape arithmetic).
struct ConstTensor {
  Dims dims;
  std::vector<double> data;  // row-major
  bool integer = false;
};

// What an ONNX value name refers to: a constant, or the output of a node of
// the network being built (dims include the batch dimension, which is 1).
struct Value {
  bool is_const = false;
  ConstTensor c;
  int node = -1;
  Dims dims;
};

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

class Importer {
 public:
  Importer(const std::string& source, const OnnxLoadOptions& options) : source_(source), options_(options) {}

  Network run(const std::string& bytes) {
    onnx::ModelProto model;
    if (bytes.empty()) throw Error(source_ + ": the file is empty, not an ONNX model");
    if (!model.ParseFromString(bytes))
      throw Error(source_ + ": not a valid ONNX model (the protobuf could not be parsed; truncated or corrupt?)");
    if (!model.has_graph()) throw Error(source_ + ": the ONNX model has no graph");
    for (const auto& op : model.opset_import())
      if (op.domain().empty() || op.domain() == "ai.onnx") opset_ = op.version();
    if (opset_ != 0 && (opset_ < 7 || opset_ > 21))
      throw Error(source_ + ": ONNX opset " + std::to_string(opset_) + " is not supported (7-21)");
    const onnx::GraphProto& g = model.graph();

    for (const auto& t : g.initializer()) {
      Value v;
      v.is_const = true;
      v.c = read_tensor(t, "initializer '" + t.name() + "'");
      if (values_.count(t.name())) throw Error(source_ + ": initializer '" + t.name() + "' is defined twice");
      values_[t.name()] = std::move(v);
    }

    // Uses of every value name (node inputs and graph outputs).
    for (const auto& n : g.node())
      for (const auto& in : n.input()) ++uses_[in];
    for (const auto& o : g.output()) ++uses_[o.name()];

    if (g.output_size() > 0) graph_output_ = g.output(0).name();
    add_graph_input(g);
    if (g.node_size() == 0) throw Error(source_ + ": the network is empty: the graph has no nodes");
    for (int i = 0; i < g.node_size(); ++i) import_node(g.node(i), i);

    if (g.output_size() != 1)
      throw Error(source_ + ": the graph has " + std::to_string(g.output_size()) +
                  " outputs; Tessera analyses classifiers with exactly one output");
    const std::string& out_name = g.output(0).name();
    auto it = values_.find(out_name);
    if (it == values_.end()) throw Error(source_ + ": graph output '" + out_name + "' is not produced by any node");
    if (it->second.is_const) throw Error(source_ + ": graph output '" + out_name + "' does not depend on the input");
    if (it->second.node == 0) throw Error(source_ + ": the network is empty: its output is its input");
    try {
      Network net = builder_.build(it->second.node, softmax_output_, source_);
      net.declared_input_dims = declared_input_;
      return net;
    } catch (const Error& e) {
      throw Error(source_ + ": " + e.what());
    }
  }

 private:
  [[noreturn]] void fail(const onnx::NodeProto& n, int index, const std::string& why) const {
    const std::string name = n.name().empty() ? "#" + std::to_string(index) : n.name();
    // A NetworkBuilder error names its node again ("node 'x' (Conv2d): ..."):
    // keep only what it says.
    std::string what = why;
    if (what.rfind("node '", 0) == 0 && what.find("): ") != std::string::npos) what = what.substr(what.find("): ") + 3);
    throw Error(source_ + ": node '" + name + "' (" + n.op_type() + "): " + what);
  }

  // Counts `values` more values of `bytes_each` bytes that the model will
  // hold (folded constants, gather tables, activations) and refuses them,
  // naming the node, before they are allocated when the total would exceed
  // the memory budget.
  void reserve(const onnx::NodeProto& n, int index, std::int64_t values, int bytes_each, const std::string& what) {
    memory_ = add_or_neg(memory_, mul_or_neg(values, bytes_each));
    try {
      check_memory(memory_, what + " (with the model so far)");
    } catch (const Error& e) {
      fail(n, index, e.what());
    }
  }

  static const char* type_name(int type) {
    switch (type) {
      case onnx::TensorProto::FLOAT16: return "float16";
      case onnx::TensorProto::BFLOAT16: return "bfloat16";
      case onnx::TensorProto::STRING: return "string";
      case onnx::TensorProto::COMPLEX64: return "complex64";
      case onnx::TensorProto::COMPLEX128: return "complex128";
      case onnx::TensorProto::UINT16: return "uint16";
      case onnx::TensorProto::UINT32: return "uint32";
      case onnx::TensorProto::UINT64: return "uint64";
      case onnx::TensorProto::INT16: return "int16";
      case onnx::TensorProto::UNDEFINED: return "undefined";
      default: return nullptr;
    }
  }

  ConstTensor read_tensor(const onnx::TensorProto& t, const std::string& what) {
    // What cannot be read is "not supported", before sizes are compared
    // (a float16 tensor is not a truncated float tensor).
    switch (t.data_type()) {
      case onnx::TensorProto::FLOAT: case onnx::TensorProto::DOUBLE: case onnx::TensorProto::INT64:
      case onnx::TensorProto::INT32: case onnx::TensorProto::INT8: case onnx::TensorProto::UINT8:
      case onnx::TensorProto::BOOL:
        break;
      default: {
        const char* name = type_name(t.data_type());
        throw Error(source_ + ": " + what + " has element type " +
                    (name ? std::string(name) : std::to_string(t.data_type())) +
                    ", which is not supported (only float, double and integer tensors are; export in float32)");
      }
    }
    if (t.data_location() == onnx::TensorProto::EXTERNAL)
      throw Error(source_ + ": " + what + " uses external data files, which are not supported (save the model with "
                  "its weights inside: onnx.save(model, path, save_as_external_data=False))");
    ConstTensor c;
    c.dims.assign(t.dims().begin(), t.dims().end());
    const std::int64_t n = numel(c.dims);
    if (n < 0) throw Error(source_ + ": " + what + " has a negative or too large shape " + dims_str(c.dims));
    budget_ += 8 * n;
    if (budget_ > options_.max_parameter_bytes)
      throw Error(source_ + ": the model's tensors need more than the limit of " +
                  std::to_string(static_cast<double>(options_.max_parameter_bytes) / (1024 * 1024)).substr(0, 8) +
                  " MiB (set TESSERA_MAX_MODEL_MB to change it); refused before allocating them");
    memory_ = add_or_neg(memory_, mul_or_neg(8, n));
    check_memory(memory_, source_ + ": " + what + " of shape " + dims_str(c.dims) + " (with the model so far)");
    {
      // The stored data must be there before anything is allocated for it.
      const std::int64_t stored = !t.raw_data().empty() ? static_cast<std::int64_t>(t.raw_data().size())
                                  : t.float_data_size() + t.double_data_size() + t.int64_data_size() + t.int32_data_size();
      const std::int64_t min_bytes = t.raw_data().empty() ? 1 : (t.data_type() == onnx::TensorProto::INT8 ||
                                                                  t.data_type() == onnx::TensorProto::UINT8 ||
                                                                  t.data_type() == onnx::TensorProto::BOOL) ? 1 : 4;
      if (stored < n * min_bytes && !(n == 0))
        throw Error(source_ + ": " + what + " holds fewer values than its shape " + dims_str(c.dims) +
                    " needs (truncated or corrupt)");
    }
    c.data.resize(n);
    const std::string& raw = t.raw_data();
    auto need = [&](std::int64_t have, std::int64_t elem) {
      if (have != n * elem)
        throw Error(source_ + ": " + what + " has " + std::to_string(have / std::max<std::int64_t>(elem, 1)) +
                    " values for shape " + dims_str(c.dims) + " (truncated or corrupt)");
    };
    switch (t.data_type()) {
      case onnx::TensorProto::FLOAT:
        if (!raw.empty()) {
          need(raw.size(), 4);
          for (std::int64_t i = 0; i < n; ++i) {
            float f;
            std::memcpy(&f, raw.data() + 4 * i, 4);
            c.data[i] = f;
          }
        } else {
          need(t.float_data_size(), 1);
          for (std::int64_t i = 0; i < n; ++i) c.data[i] = t.float_data(i);
        }
        break;
      case onnx::TensorProto::DOUBLE:
        if (!raw.empty()) {
          need(raw.size(), 8);
          std::memcpy(c.data.data(), raw.data(), 8 * n);
        } else {
          need(t.double_data_size(), 1);
          for (std::int64_t i = 0; i < n; ++i) c.data[i] = t.double_data(i);
        }
        break;
      case onnx::TensorProto::INT64:
        c.integer = true;
        if (!raw.empty()) {
          need(raw.size(), 8);
          for (std::int64_t i = 0; i < n; ++i) {
            std::int64_t v;
            std::memcpy(&v, raw.data() + 8 * i, 8);
            c.data[i] = static_cast<double>(v);
          }
        } else {
          need(t.int64_data_size(), 1);
          for (std::int64_t i = 0; i < n; ++i) c.data[i] = static_cast<double>(t.int64_data(i));
        }
        break;
      case onnx::TensorProto::INT32:
      case onnx::TensorProto::INT8:
      case onnx::TensorProto::UINT8:
      case onnx::TensorProto::BOOL: {
        c.integer = true;
        const int elem = t.data_type() == onnx::TensorProto::INT32 ? 4 : 1;
        if (!raw.empty()) {
          need(raw.size(), elem);
          for (std::int64_t i = 0; i < n; ++i) {
            if (elem == 4) {
              std::int32_t v;
              std::memcpy(&v, raw.data() + 4 * i, 4);
              c.data[i] = v;
            } else if (t.data_type() == onnx::TensorProto::INT8) {
              c.data[i] = static_cast<std::int8_t>(raw[i]);
            } else {
              c.data[i] = static_cast<std::uint8_t>(raw[i]);
            }
          }
        } else {
          need(t.int32_data_size(), 1);
          for (std::int64_t i = 0; i < n; ++i) c.data[i] = t.int32_data(i);
        }
        break;
      }
      default:
        throw Error(source_ + ": " + what + " has element type " + std::to_string(t.data_type()) +
                    " (only float, double and integer tensors are supported)");
    }
    for (std::int64_t i = 0; i < n; ++i)
      if (!std::isfinite(c.data[i]))
        throw Error(source_ + ": " + what + " contains " + (std::isnan(c.data[i]) ? "NaN" : "Inf") + " at index " +
                    std::to_string(i));
    return c;
  }

  void add_graph_input(const onnx::GraphProto& g) {
    const onnx::ValueInfoProto* input = nullptr;
    int count = 0;
    for (const auto& vi : g.input())
      if (!values_.count(vi.name())) {
        input = &vi;
        ++count;
      }
    if (count != 1)
      throw Error(source_ + ": the graph has " + std::to_string(count) +
                  " non-constant inputs; Tessera needs exactly one");
    const std::string& name = input->name();
    if (!input->type().has_tensor_type() || !input->type().tensor_type().has_shape())
      throw Error(source_ + ": input '" + name + "' has no tensor shape");
    const int et = input->type().tensor_type().elem_type();
    if (et != onnx::TensorProto::FLOAT && et != onnx::TensorProto::DOUBLE)
      throw Error(source_ + ": input '" + name + "' is not a float tensor (element type " + std::to_string(et) + ")");
    const auto& shape = input->type().tensor_type().shape();
    Dims dims;
    declared_input_.clear();
    bool symbolic_first = false;
    for (int i = 0; i < shape.dim_size(); ++i) {
      const auto& d = shape.dim(i);
      if (d.has_dim_value() && d.dim_value() > 0) {
        dims.push_back(d.dim_value());
        declared_input_.push_back(d.dim_value());
      } else if (i == 0) {
        symbolic_first = true;  // a symbolic (or 0) batch dimension
        dims.push_back(1);
        declared_input_.push_back(0);
      } else {
        throw Error(source_ + ": input '" + name + "' has a symbolic or empty dimension " + std::to_string(i) +
                    "; Tessera needs a fixed sample shape");
      }
    }
    // Supported: [N, C, H, W] images (N the batch: 1 or symbolic), and
    // vectors of d values in any layout with at most one dimension larger
    // than 1 besides a leading batch: [N, d], [d], [1, d, 1], [1, 1, d],
    // [d, 1]. Values keep the declared layout; Tessera analyses one sample.
    const std::string supported =
        "; supported are [N, C, H, W] images and vectors [N, d], [d], [N, d, 1], [N, 1, d], [d, 1] (N: 1 or symbolic)";
    if (dims.empty()) throw Error(source_ + ": input '" + name + "' is a scalar" + supported);
    const bool batch = dims.size() >= 2 && (symbolic_first || dims[0] == 1);
    if (dims.size() == 4) {
      if (!batch)
        throw Error(source_ + ": input '" + name + "' has batch dimension " + std::to_string(dims[0]) +
                    "; the first dimension must be the batch (1 or symbolic)");
    } else {
      int large = 0;
      for (size_t i = batch ? 1 : 0; i < dims.size(); ++i) large += dims[i] > 1;
      if (large > 1)
        throw Error(source_ + ": input '" + name + "' has shape " + dims_str(dims) + supported);
    }
    Value v;
    v.dims = dims;
    v.node = builder_.input(to_shape(dims), name);
    bind(name, std::move(v));
  }

  // The sample shape of a value: {C, H, W} for [1, C, H, W], else the flat
  // vector of its values (the batch is 1, so every layout of one sample is
  // its values in row-major order).
  Shape to_shape(const Dims& dims) const {
    if (numel(dims) < 0 || numel(dims) == 0)
      throw Error(source_ + ": activation shape " + dims_str(dims) + " is empty or too large");
    if (dims.size() == 4 && dims[0] == 1)
      return Shape{static_cast<int>(dims[1]), static_cast<int>(dims[2]), static_cast<int>(dims[3])};
    return Shape{static_cast<int>(numel(dims))};
  }

  void bind(const std::string& name, Value v) {
    if (values_.count(name) && name != "")
      throw Error(source_ + ": value '" + name + "' is defined twice (not a valid ONNX graph)");
    if (!v.is_const) node_uses_[v.node] += uses_[name];
    values_[name] = std::move(v);
  }

  const Value& get(const onnx::NodeProto& n, int index, int k) {
    if (k >= n.input_size() || n.input(k).empty()) fail(n, index, "missing input " + std::to_string(k));
    auto it = values_.find(n.input(k));
    if (it == values_.end()) fail(n, index, "input '" + n.input(k) + "' is not defined by an earlier node");
    return it->second;
  }
  bool has_input(const onnx::NodeProto& n, int k) const { return k < n.input_size() && !n.input(k).empty(); }
  // A weight or bias read as a model parameter must be a floating-point
  // tensor: an integer one is almost always a broken export.
  const ConstTensor& get_weight(const onnx::NodeProto& n, int index, int k, const char* role) {
    const ConstTensor& c = get_const(n, index, k, role);
    if (c.integer)
      fail(n, index, std::string(role) + " is an integer tensor; weights and biases must be float or double");
    // An empty weight of a huge declared shape (0 x 2^34) would make every
    // copy loop over its empty columns.
    if (numel(c.dims) == 0) fail(n, index, std::string(role) + " " + dims_str(c.dims) + " is empty");
    return c;
  }
  const ConstTensor& get_const(const onnx::NodeProto& n, int index, int k, const char* role) {
    const Value& v = get(n, index, k);
    if (!v.is_const) fail(n, index, std::string(role) + " (input " + std::to_string(k) + ") must be a constant");
    return v.c;
  }
  const Value& get_dynamic(const onnx::NodeProto& n, int index, int k) {
    const Value& v = get(n, index, k);
    if (v.is_const) fail(n, index, "input " + std::to_string(k) + " was expected to depend on the network input");
    return v;
  }

  static const onnx::AttributeProto* attr(const onnx::NodeProto& n, const char* name) {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  static std::int64_t attr_int(const onnx::NodeProto& n, const char* name, std::int64_t def) {
    const auto* a = attr(n, name);
    return a ? a->i() : def;
  }
  static double attr_float(const onnx::NodeProto& n, const char* name, double def) {
    const auto* a = attr(n, name);
    return a ? a->f() : def;
  }
  static std::vector<std::int64_t> attr_ints(const onnx::NodeProto& n, const char* name,
                                             std::vector<std::int64_t> def = {}) {
    const auto* a = attr(n, name);
    return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : def;
  }
  static std::string attr_string(const onnx::NodeProto& n, const char* name, const std::string& def) {
    const auto* a = attr(n, name);
    return a ? a->s() : def;
  }

  void out_const(const onnx::NodeProto& n, ConstTensor c) {
    Value v;
    v.is_const = true;
    v.c = std::move(c);
    bind(n.output(0), std::move(v));
  }
  void out_node(const onnx::NodeProto& n, int node, const Dims& dims) {
    Value v;
    v.node = node;
    v.dims = dims;
    bind(n.output(0), std::move(v));
  }
  // Only output 0 of a node may be used (Dropout's mask, MaxPool's indices).
  void check_extra_outputs_unused(const onnx::NodeProto& n, int index) {
    for (int k = 1; k < n.output_size(); ++k)
      if (!n.output(k).empty() && uses_[n.output(k)] > 0)
        fail(n, index, "output " + std::to_string(k) + " ('" + n.output(k) + "') is used, which is not supported");
  }

  // True when node `node` has no readers yet and exactly one ONNX use.
  bool foldable(int node) const {
    auto it = node_uses_.find(node);
    return node > 0 && it != node_uses_.end() && it->second == 1 && builder_const().consumer_count(node) == 0;
  }
  const NetworkBuilder& builder_const() const { return builder_; }

  // Applies y = s ⊙ z + t to the output of node p in place, when exact:
  // into a Dense node's rows, an ElementwiseAffine node, or a Conv2d node
  // when s and t are constant within each channel.
  static bool fold_into(Node& p, const Vector& s, const Vector& t) {
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
  int elementwise(const onnx::NodeProto& n, int index, const Value& x, const Vector& s, const Vector& t) {
    if (foldable(x.node) && fold_into(builder_.node(x.node), s, t)) {
      --node_uses_[x.node];  // this node's use of x is absorbed
      return x.node;
    }
    try {
      return builder_.elementwise_affine(x.node, s, t, node_name(n, index));
    } catch (const Error& e) {
      fail(n, index, e.what());
    }
  }

  static std::string node_name(const onnx::NodeProto& n, int index) {
    return n.name().empty() ? n.op_type() + "_" + std::to_string(index) : n.name();
  }

  // Dense node on x, absorbing a preceding single-use ElementwiseAffine
  // (input normalisation): W (s ⊙ z + t) + b = (W diag s) z + (W t + b).
  int dense(const onnx::NodeProto& n, int index, const Value& x, Matrix W, Vector b) {
    int in = x.node;
    if (foldable(in) && builder_.node(in).kind == OpKind::ElementwiseAffine && W.cols() == builder_.node(in).scale.size()) {
      const Node& p = builder_.node(in);
      b += W * p.shift;
      W = W * p.scale.asDiagonal();
      --node_uses_[in];  // the normalisation node is absorbed and pruned
      in = p.inputs[0];
    }
    try {
      return builder_.dense(in, std::move(W), std::move(b), node_name(n, index));
    } catch (const Error& e) {
      fail(n, index, e.what());
    }
  }

  Window2d window_from(const onnx::NodeProto& n, int index, const Dims& in, std::int64_t kh, std::int64_t kw,
                       bool ceil_ok) {
    Window2d w;
    const auto strides = attr_ints(n, "strides", {1, 1});
    const auto dil = attr_ints(n, "dilations", {1, 1});
    auto pads = attr_ints(n, "pads", {0, 0, 0, 0});
    if (strides.size() != 2 || dil.size() != 2 || pads.size() != 4)
      fail(n, index, "only 2-D windows are supported (strides/dilations/pads of the wrong length)");
    constexpr std::int64_t kMaxWindow = 1 << 16;
    for (auto v : {kh, kw, strides[0], strides[1], dil[0], dil[1]})
      if (v < 1 || v > kMaxWindow) fail(n, index, "kernel sizes, strides and dilations must be between 1 and 65536");
    for (auto v : pads)
      if (v < 0 || v > kMaxWindow) fail(n, index, "pads must be between 0 and 65536");
    w.kernel_h = static_cast<int>(kh);
    w.kernel_w = static_cast<int>(kw);
    w.stride_h = static_cast<int>(strides[0]);
    w.stride_w = static_cast<int>(strides[1]);
    w.dilation_h = static_cast<int>(dil[0]);
    w.dilation_w = static_cast<int>(dil[1]);
    const std::string auto_pad = attr_string(n, "auto_pad", "NOTSET");
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
      fail(n, index, "auto_pad '" + auto_pad + "' is not supported");
    }
    w.pad_top = static_cast<int>(pads[0]);
    w.pad_left = static_cast<int>(pads[1]);
    w.pad_bottom = static_cast<int>(pads[2]);
    w.pad_right = static_cast<int>(pads[3]);
    if (attr_int(n, "ceil_mode", 0)) {
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
          if (!ceil_ok) fail(n, index, "ceil_mode=1 with count_include_pad=1 is not supported");
          pe += static_cast<int>(extra);
        }
      };
      extend(H, w.kernel_h, w.stride_h, w.dilation_h, w.pad_top, w.pad_bottom);
      extend(W, w.kernel_w, w.stride_w, w.dilation_w, w.pad_left, w.pad_right);
    }
    return w;
  }

  Dims image_dims(const onnx::NodeProto& n, int index, const Value& x) {
    if (x.dims.size() != 4) fail(n, index, "expects an [N, C, H, W] input, got " + dims_str(x.dims));
    return x.dims;
  }

  static ConstTensor elementwise_const(const ConstTensor& a, const ConstTensor& b, const Dims& out,
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

  std::vector<std::int64_t> axes_of(const onnx::NodeProto& n, int index) {
    if (has_input(n, 1)) {
      const ConstTensor& c = get_const(n, index, 1, "axes");
      return to_ints(c.data);
    }
    return attr_ints(n, "axes");
  }

  void import_node(const onnx::NodeProto& n, int index) {
    const std::string& op = n.op_type();
    if (!n.domain().empty() && n.domain() != "ai.onnx")
      fail(n, index, "operator domain '" + n.domain() + "' is not supported");
    const auto& known = supported_onnx_operators();
    if (!std::binary_search(known.begin(), known.end(), op)) fail(n, index, "unsupported operator '" + op + "'");
    if (n.output_size() < 1) fail(n, index, "has no outputs");

    if (op == "Constant") {
      const auto* a = attr(n, "value");
      if (a && a->has_t()) return out_const(n, read_tensor(a->t(), "Constant '" + node_name(n, index) + "'"));
      ConstTensor c;
      if ((a = attr(n, "value_float"))) {
        c.data = {a->f()};
      } else if ((a = attr(n, "value_floats"))) {
        c.dims = {a->floats_size()};
        c.data.assign(a->floats().begin(), a->floats().end());
      } else if ((a = attr(n, "value_int"))) {
        c.integer = true;
        c.data = {static_cast<double>(a->i())};
      } else if ((a = attr(n, "value_ints"))) {
        c.integer = true;
        c.dims = {a->ints_size()};
        for (auto v : a->ints()) c.data.push_back(static_cast<double>(v));
      } else {
        fail(n, index, "has no supported value attribute");
      }
      return out_const(n, std::move(c));
    }
    if (op == "Identity" || op == "Dropout") {
      check_extra_outputs_unused(n, index);
      Value v = get(n, index, 0);
      return bind(n.output(0), std::move(v));
    }
    if (op == "Cast") {
      Value v = get(n, index, 0);
      const auto to = attr_int(n, "to", onnx::TensorProto::FLOAT);
      const bool to_float = to == onnx::TensorProto::FLOAT || to == onnx::TensorProto::DOUBLE;
      if (v.is_const) {
        if (to == onnx::TensorProto::BOOL)
          for (double& x : v.c.data) x = x != 0.0;
        else if (!to_float)
          for (double& x : v.c.data) x = std::trunc(x);
        v.c.integer = !to_float;
      } else if (!to_float) {
        fail(n, index, "casting activations to a non-float type is not piecewise affine");
      }
      return bind(n.output(0), std::move(v));
    }
    if (op == "Shape") {
      const Value& x = get(n, index, 0);
      const Dims d = x.is_const ? x.c.dims : x.dims;
      std::int64_t start = attr_int(n, "start", 0), end = attr_int(n, "end", static_cast<std::int64_t>(d.size()));
      const auto r = static_cast<std::int64_t>(d.size());
      if (start < 0) start += r;
      if (end < 0) end += r;
      start = std::clamp<std::int64_t>(start, 0, r);
      end = std::clamp<std::int64_t>(end, start, r);
      ConstTensor c;
      c.integer = true;
      c.dims = {end - start};
      for (auto i = start; i < end; ++i) c.data.push_back(static_cast<double>(d[i]));
      return out_const(n, std::move(c));
    }
    if (op == "Gather") {
      const Value& data = get(n, index, 0);
      const ConstTensor& idx = get_const(n, index, 1, "indices");
      if (!data.is_const) {
        // Selecting entries of a [1, n] activation (Tessera's own export of
        // Permute) is a gather of rows.
        if (data.dims.size() != 2 || (attr_int(n, "axis", 0) != 1 && attr_int(n, "axis", 0) != -1) ||
            idx.dims.size() != 1)
          fail(n, index, "gathering from activations is supported only along axis 1 of a [1, n] tensor");
        std::vector<int> gather;
        for (double iv : idx.data) {
          auto k = to_int(iv);
          if (k < 0) k += data.dims[1];
          if (k < 0 || k >= data.dims[1]) fail(n, index, "index out of range");
          gather.push_back(static_cast<int>(k));
        }
        const Dims out{1, static_cast<std::int64_t>(gather.size())};
        try {
          return out_node(n, builder_.permute(data.node, gather, to_shape(out), node_name(n, index)), out);
        } catch (const Error& e) {
          fail(n, index, e.what());
        }
      }
      const auto r = static_cast<std::int64_t>(data.c.dims.size());
      std::int64_t axis = attr_int(n, "axis", 0);
      if (axis < 0) axis += r;
      if (axis < 0 || axis >= r) fail(n, index, "axis out of range");
      std::int64_t outer = 1, inner = 1;
      for (std::int64_t i = 0; i < axis; ++i) outer *= data.c.dims[i];
      for (std::int64_t i = axis + 1; i < r; ++i) inner *= data.c.dims[i];
      const std::int64_t len = data.c.dims[axis];
      if (numel(idx.dims) < 0 || (len > 0 && numel(idx.dims) > 0 && outer * inner > (std::int64_t{1} << 28) / std::max<std::int64_t>(numel(idx.dims), 1)))
        fail(n, index, "the gathered constant would be too large");
      reserve(n, index, outer * inner * numel(idx.dims), 8, "the gathered constant");
      ConstTensor c;
      c.integer = data.c.integer;
      c.dims.assign(data.c.dims.begin(), data.c.dims.begin() + axis);
      c.dims.insert(c.dims.end(), idx.dims.begin(), idx.dims.end());
      c.dims.insert(c.dims.end(), data.c.dims.begin() + axis + 1, data.c.dims.end());
      for (std::int64_t o = 0; o < outer; ++o)
        for (double iv : idx.data) {
          auto k = to_int(iv);
          if (k < 0) k += len;
          if (k < 0 || k >= len) fail(n, index, "index " + std::to_string(static_cast<long long>(iv)) + " out of range");
          for (std::int64_t i = 0; i < inner; ++i) c.data.push_back(data.c.data[(o * len + k) * inner + i]);
        }
      return out_const(n, std::move(c));
    }
    if (op == "Unsqueeze" || op == "Squeeze") {
      const Value& x = get(n, index, 0);
      auto axes = axes_of(n, index);
      Dims d = x.is_const ? x.c.dims : x.dims;
      if (op == "Unsqueeze") {
        const auto r = static_cast<std::int64_t>(d.size() + axes.size());
        for (auto& a : axes) a = a < 0 ? a + r : a;
        std::sort(axes.begin(), axes.end());
        for (auto a : axes) {
          if (a < 0 || a > static_cast<std::int64_t>(d.size())) fail(n, index, "axis out of range");
          d.insert(d.begin() + a, 1);
        }
      } else {
        const auto r = static_cast<std::int64_t>(d.size());
        std::set<std::int64_t> drop;
        for (auto a : axes) drop.insert(a < 0 ? a + r : a);
        Dims nd;
        for (std::int64_t i = 0; i < r; ++i) {
          const bool squeeze = axes.empty() ? d[i] == 1 : drop.count(i) > 0;
          if (squeeze && d[i] != 1) fail(n, index, "cannot squeeze a dimension of size " + std::to_string(d[i]));
          if (!squeeze) nd.push_back(d[i]);
        }
        d = nd;
      }
      if (x.is_const) {
        ConstTensor c = x.c;
        c.dims = d;
        return out_const(n, std::move(c));
      }
      return reshape_dynamic(n, index, x, d);
    }
    if (op == "Concat") {
      std::int64_t axis = attr_int(n, "axis", 0);
      std::vector<const ConstTensor*> parts;
      int dynamic = -1;
      for (int k = 0; k < n.input_size(); ++k) {
        const Value& v = get(n, index, k);
        if (!v.is_const) {
          if (dynamic >= 0) fail(n, index, "concatenating two activations is not supported");
          dynamic = k;
        }
      }
      if (dynamic >= 0) return concat_with_constants(n, index, dynamic, axis);
      for (int k = 0; k < n.input_size(); ++k) parts.push_back(&get(n, index, k).c);
      if (parts.empty()) fail(n, index, "has no inputs");
      const Dims d0 = parts[0]->dims;
      const auto r = static_cast<std::int64_t>(d0.size());
      if (axis < 0) axis += r;
      if (axis < 0 || axis >= r) fail(n, index, "axis out of range");
      std::int64_t outer = 1;
      for (std::int64_t i = 0; i < axis; ++i) outer *= d0[i];
      ConstTensor c;
      c.integer = true;
      c.dims = d0;
      c.dims[axis] = 0;
      for (const auto* p : parts) {
        if (p->dims.size() != d0.size()) fail(n, index, "inputs of different ranks");
        for (size_t i = 0; i < d0.size(); ++i)
          if (static_cast<std::int64_t>(i) != axis && p->dims[i] != d0[i])
            fail(n, index, "inputs " + dims_str(d0) + " and " + dims_str(p->dims) + " differ off the concatenation axis");
        c.dims[axis] += p->dims[axis];
        c.integer = c.integer && p->integer;
      }
      if (numel(c.dims) < 0) fail(n, index, "the concatenation " + dims_str(c.dims) + " has more than 2^31 - 1 values");
      reserve(n, index, numel(c.dims), 8, "the constant " + dims_str(c.dims));
      for (std::int64_t o = 0; o < outer; ++o)
        for (const auto* p : parts) {
          const std::int64_t chunk = numel(p->dims) / std::max<std::int64_t>(outer, 1);
          c.data.insert(c.data.end(), p->data.begin() + o * chunk, p->data.begin() + (o + 1) * chunk);
        }
      return out_const(n, std::move(c));
    }
    if (op == "Reshape") {
      const Value& x = get(n, index, 0);
      const ConstTensor& s = get_const(n, index, 1, "shape");
      const Dims in = x.is_const ? x.c.dims : x.dims;
      Dims d;
      std::int64_t infer = -1, known = 1;
      for (size_t i = 0; i < s.data.size(); ++i) {
        auto v = to_int(s.data[i]);
        if (v == 0 && !attr_int(n, "allowzero", 0)) {
          if (i >= in.size()) fail(n, index, "shape entry 0 copies a dimension that does not exist");
          v = in[i];
        }
        if (v == -1) {
          if (infer >= 0) fail(n, index, "more than one -1 in the target shape");
          infer = static_cast<std::int64_t>(i);
          v = 1;
        } else if (v < 0) {
          fail(n, index, "negative dimension in the target shape");
        }
        d.push_back(v);
        known = mul_or_neg(known, v);
        if (known < 0) fail(n, index, "the target shape " + dims_str(d) + "... is too large");
      }
      if (infer >= 0) {
        if (known == 0 || numel(in) % known != 0) fail(n, index, "cannot infer -1 for " + dims_str(in));
        d[infer] = numel(in) / known;
      }
      if (numel(d) != numel(in)) fail(n, index, "cannot reshape " + dims_str(in) + " to " + dims_str(d));
      if (x.is_const) {
        ConstTensor c = x.c;
        c.dims = d;
        return out_const(n, std::move(c));
      }
      return reshape_dynamic(n, index, x, d);
    }
    if (op == "Flatten") {
      const Value& x = get(n, index, 0);
      const Dims in = x.is_const ? x.c.dims : x.dims;
      std::int64_t axis = attr_int(n, "axis", 1);
      if (axis < 0) axis += static_cast<std::int64_t>(in.size());
      std::int64_t a = 1, b = 1;
      for (std::int64_t i = 0; i < static_cast<std::int64_t>(in.size()); ++i) (i < axis ? a : b) *= in[i];
      if (x.is_const) {
        ConstTensor c = x.c;
        c.dims = {a, b};
        return out_const(n, std::move(c));
      }
      return reshape_dynamic(n, index, x, a == 1 ? Dims{1, b} : Dims{a, b});
    }
    if (op == "Transpose") {
      const Value& x = get(n, index, 0);
      const Dims in = x.is_const ? x.c.dims : x.dims;
      std::vector<std::int64_t> perm = attr_ints(n, "perm");
      if (perm.empty())
        for (auto i = static_cast<std::int64_t>(in.size()); i-- > 0;) perm.push_back(i);
      if (perm.size() != in.size()) fail(n, index, "perm has the wrong length");
      {
        std::vector<std::int64_t> sorted = perm;
        std::sort(sorted.begin(), sorted.end());
        for (size_t i = 0; i < sorted.size(); ++i)
          if (sorted[i] != static_cast<std::int64_t>(i)) fail(n, index, "perm is not a permutation");
      }
      Dims out(in.size());
      for (size_t i = 0; i < in.size(); ++i) out[i] = in[perm[i]];
      const auto idx = transpose_index(in, perm);
      if (x.is_const) {
        reserve(n, index, numel(in), 8, "the transposed constant");
        ConstTensor c = x.c;
        c.dims = out;
        for (size_t i = 0; i < idx.size(); ++i) c.data[i] = x.c.data[idx[i]];
        return out_const(n, std::move(c));
      }
      bool identity = true;
      for (size_t i = 0; i < idx.size(); ++i) identity = identity && idx[i] == static_cast<std::int64_t>(i);
      if (identity) return reshape_dynamic(n, index, x, out);  // e.g. NHWC -> NCHW with one channel
      std::vector<int> index32(idx.begin(), idx.end());
      try {
        return out_node(n, builder_.permute(x.node, index32, to_shape(out), node_name(n, index)), out);
      } catch (const Error& e) {
        fail(n, index, e.what());
      }
    }
    if (op == "Pad") {
      const Value& x = get_dynamic(n, index, 0);
      const std::string mode = attr_string(n, "mode", "constant");
      std::vector<std::int64_t> pads;
      double value = attr_float(n, "value", 0.0);
      if (has_input(n, 1)) {
        const ConstTensor& p = get_const(n, index, 1, "pads");
        pads = to_ints(p.data);
        if (has_input(n, 2)) {
          const ConstTensor& v = get_const(n, index, 2, "constant_value");
          value = v.data.empty() ? 0.0 : v.data[0];
        }
      } else {
        pads = attr_ints(n, "pads");
      }
      const auto r = static_cast<std::int64_t>(x.dims.size());
      if (has_input(n, 3)) {
        // opset 18: pads only for the listed axes.
        const ConstTensor& a = get_const(n, index, 3, "axes");
        std::vector<std::int64_t> full(2 * r, 0);
        const auto k = static_cast<std::int64_t>(a.data.size());
        if (static_cast<std::int64_t>(pads.size()) != 2 * k) fail(n, index, "pads do not match axes");
        for (std::int64_t i = 0; i < k; ++i) {
          auto ax = to_int(a.data[i]);
          if (ax < 0) ax += r;
          if (ax < 0 || ax >= r) fail(n, index, "axis out of range");
          full[ax] = pads[i];
          full[ax + r] = pads[i + k];
        }
        pads = full;
      }
      if (static_cast<std::int64_t>(pads.size()) != 2 * r) fail(n, index, "pads must have 2 x rank entries");
      if (pads[0] != 0 || pads[r] != 0) fail(n, index, "padding the batch dimension is not supported");
      if (mode == "constant" && value != 0.0) fail(n, index, "only zero constant padding is supported");
      if (mode != "constant" && mode != "edge" && mode != "reflect") fail(n, index, "mode '" + mode + "' is not supported");
      for (const auto p : pads)
        if (p < -kMaxDimension || p > kMaxDimension) fail(n, index, "pad " + std::to_string(p) + " is out of range");
      Dims out(r);
      bool identity = true;
      for (std::int64_t i = 0; i < r; ++i) {
        out[i] = x.dims[i] + pads[i] + pads[i + r];
        if (out[i] <= 0) fail(n, index, "padding leaves an empty dimension");
        identity = identity && pads[i] == 0 && pads[i + r] == 0;
      }
      if (identity) return out_node(n, x.node, out);
      Dims in_stride(r, 1);
      for (std::int64_t i = r - 1; i > 0; --i) in_stride[i - 1] = in_stride[i] * x.dims[i];
      if (numel(out) <= 0) fail(n, index, "padded shape " + dims_str(out) + " is empty or too large");
      reserve(n, index, numel(out), 4 + 8, "the padded output " + dims_str(out));
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
      try {
        return out_node(n, builder_.permute(x.node, gather, to_shape(out), node_name(n, index)), out);
      } catch (const Error& e) {
        fail(n, index, e.what());
      }
    }
    if (op == "Gemm") {
      const Value& a0 = get(n, index, 0);
      if (a0.is_const) return gemm_weight_first(n, index);
      if (a0.dims.size() != 2) fail(n, index, "input A must be 2-D [1, n], got " + dims_str(a0.dims));
      Value a = a0;
      if (attr_int(n, "transA", 0)) {
        // A column vector [n, 1] transposed is the row [1, n].
        if (a.dims[1] != 1) fail(n, index, "transA=1 is supported only on a column vector [n, 1], got " + dims_str(a.dims));
        a.dims = {1, a.dims[0]};
      }
      if (a.dims[0] != 1) fail(n, index, "input A must be a row [1, n], got " + dims_str(a.dims));
      const ConstTensor& B = get_weight(n, index, 1, "B (the weight)");
      if (B.dims.size() != 2) fail(n, index, "B must be 2-D, got " + dims_str(B.dims));
      const bool tb = attr_int(n, "transB", 0) != 0;
      const double alpha = attr_float(n, "alpha", 1.0), beta = attr_float(n, "beta", 1.0);
      const std::int64_t rows = B.dims[0], cols = B.dims[1];
      Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> Bm(B.data.data(), rows,
                                                                                                  cols);
      Matrix W = tb ? Matrix(Bm) : Matrix(Bm.transpose());
      W *= alpha;
      if (W.cols() != a.dims[1])
        fail(n, index, "weight " + dims_str(B.dims) + (tb ? " (transB=1)" : "") + " does not fit an input of " +
                           std::to_string(a.dims[1]) + " values");
      Vector b = Vector::Zero(W.rows());
      if (has_input(n, 2)) {
        const ConstTensor& C = get_weight(n, index, 2, "C (the bias)");
        Vector cb;
        if (!broadcast_to(C, Dims{1, W.rows()}, cb)) fail(n, index, "bias " + dims_str(C.dims) + " does not fit");
        b = beta * cb;
      }
      const Dims out{1, W.rows()};
      return out_node(n, dense(n, index, a, std::move(W), std::move(b)), out);
    }
    if (op == "MatMul") {
      const Value& a = get(n, index, 0);
      const Value& bv = get(n, index, 1);
      if (a.is_const == bv.is_const)
        fail(n, index, a.is_const ? "multiplies two constants (fold them before export)"
                                  : "multiplies two activations, which is not piecewise affine");
      auto only_ones_but = [](const Dims& d, size_t keep1, size_t keep2) {
        for (size_t i = 0; i < d.size(); ++i)
          if (i != keep1 && i != keep2 && d[i] != 1) return false;
        return true;
      };
      if (!a.is_const) {
        // x W: x is [..., 1, n] or [n] (every other dimension 1), W is [n, m].
        const ConstTensor& B = get_weight(n, index, 1, "B (the weight)");
        if (B.dims.size() != 2 || a.dims.empty() || !only_ones_but(a.dims, a.dims.size() - 1, a.dims.size() - 1))
          fail(n, index, "only x W with x a row vector ([1, n], [n], [1, 1, n]) and W a matrix are supported, got " +
                             dims_str(a.dims) + " x " + dims_str(B.dims));
        if (B.dims[0] != a.dims.back()) fail(n, index, "cannot multiply " + dims_str(a.dims) + " by " + dims_str(B.dims));
        Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> Bm(
            B.data.data(), B.dims[0], B.dims[1]);
        Matrix W = Bm.transpose();
        Vector b = Vector::Zero(W.rows());
        Dims out = a.dims;
        out.back() = W.rows();
        return out_node(n, dense(n, index, a, std::move(W), std::move(b)), out);
      }
      // W x: W is [m, n], x a column vector [n, 1], [1, n, 1] or [n].
      const ConstTensor& A = get_weight(n, index, 0, "A (the weight)");
      const Dims& x = bv.dims;
      const bool rank1 = x.size() == 1;
      if (A.dims.size() != 2 ||
          !(rank1 || (x.size() >= 2 && x.back() == 1 && only_ones_but(x, x.size() - 2, x.size() - 2))))
        fail(n, index, "only W x with W a matrix and x a column vector ([n, 1], [1, n, 1], [n]) is supported, got " +
                           dims_str(A.dims) + " x " + dims_str(x));
      const std::int64_t inner = rank1 ? x[0] : x[x.size() - 2];
      if (A.dims[1] != inner) fail(n, index, "cannot multiply " + dims_str(A.dims) + " by " + dims_str(x));
      Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> Am(
          A.data.data(), A.dims[0], A.dims[1]);
      Matrix W = Am;
      Vector b = Vector::Zero(W.rows());
      Dims out = x;
      out[rank1 ? 0 : x.size() - 2] = W.rows();
      return out_node(n, dense(n, index, bv, std::move(W), std::move(b)), out);
    }
    if (op == "Add" || op == "Sub" || op == "Mul" || op == "Div") {
      const Value& a = get(n, index, 0);
      const Value& b = get(n, index, 1);
      if (a.is_const && b.is_const) {
        const Dims out = broadcast_dims(a.c.dims, b.c.dims);
        if (out.empty() && !(a.c.dims.empty() && b.c.dims.empty()))
          fail(n, index, "shapes " + dims_str(a.c.dims) + " and " + dims_str(b.c.dims) + " do not broadcast");
        std::function<double(double, double)> f;
        const bool integer = a.c.integer && b.c.integer;
        if (op == "Add") f = [](double x, double y) { return x + y; };
        if (op == "Sub") f = [](double x, double y) { return x - y; };
        if (op == "Mul") f = [](double x, double y) { return x * y; };
        if (op == "Div") f = [integer](double x, double y) { return integer ? std::trunc(x / y) : x / y; };
        if (numel(out) > 0) reserve(n, index, numel(out), 8, "the constant " + dims_str(out));
        ConstTensor r = elementwise_const(a.c, b.c, out, f);
        if (r.dims.empty() && !out.empty()) fail(n, index, "constant shapes do not broadcast or are too large");
        return out_const(n, std::move(r));
      }
      if (!a.is_const && !b.is_const) {
        if (op != "Add" && op != "Sub")
          fail(n, index, op + " of two activations is not piecewise affine in Tessera's model");
        if (a.dims != b.dims)
          fail(n, index, "cannot " + std::string(op == "Add" ? "add " : "subtract ") + dims_str(b.dims) +
                             (op == "Add" ? " to " : " from ") + dims_str(a.dims));
        try {
          int rhs = b.node;
          if (op == "Sub") rhs = negate(b.node, node_name(n, index) + "_neg");
          return out_node(n, builder_.add(a.node, rhs, node_name(n, index)), a.dims);
        } catch (const Error& e) {
          fail(n, index, e.what());
        }
      }
      const bool x_first = !a.is_const;
      const Value& x = x_first ? a : b;
      const ConstTensor& c = x_first ? b.c : a.c;
      Vector cv;
      if (!broadcast_to(c, x.dims, cv))
        fail(n, index, "constant " + dims_str(c.dims) + " does not broadcast to the activation " + dims_str(x.dims));
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
        if (!x_first) fail(n, index, "dividing by an activation is not piecewise affine");
        if ((cv.array() == 0).any()) fail(n, index, "division by zero");
        s = cv.cwiseInverse();
      }
      const Dims out = broadcast_dims(x.dims, c.dims);
      if (numel(out) != numel(x.dims)) fail(n, index, "the constant would broadcast the activation to " + dims_str(out));
      return out_node(n, elementwise(n, index, x, s, t), out);
    }
    if (op == "BatchNormalization") {
      check_extra_outputs_unused(n, index);
      if (attr_int(n, "training_mode", 0)) fail(n, index, "training_mode=1 is not supported (export in eval mode)");
      const Value& x = get_dynamic(n, index, 0);
      const ConstTensor& gamma = get_const(n, index, 1, "scale");
      const ConstTensor& beta = get_const(n, index, 2, "bias");
      const ConstTensor& mean = get_const(n, index, 3, "mean");
      const ConstTensor& var = get_const(n, index, 4, "var");
      const double eps = attr_float(n, "epsilon", 1e-5);
      if (x.dims.size() < 2) fail(n, index, "input must have a channel dimension");
      const std::int64_t C = x.dims[1];
      for (const ConstTensor* p : {&gamma, &beta, &mean, &var})
        if (numel(p->dims) != C) fail(n, index, "parameters must have one value per channel (" + std::to_string(C) + ")");
      ConstTensor sc, sh;
      sc.dims = sh.dims = Dims{C};
      for (std::size_t k = 1; k + 1 < x.dims.size(); ++k) {
        sc.dims.push_back(1);
        sh.dims.push_back(1);
      }
      for (std::int64_t c = 0; c < C; ++c) {
        if (var.data[c] + eps <= 0) fail(n, index, "variance + epsilon is not positive for channel " + std::to_string(c));
        const double s = gamma.data[c] / std::sqrt(var.data[c] + eps);
        sc.data.push_back(s);
        sh.data.push_back(beta.data[c] - mean.data[c] * s);
      }
      Vector s, t;
      broadcast_to(sc, x.dims, s);
      broadcast_to(sh, x.dims, t);
      return out_node(n, elementwise(n, index, x, s, t), x.dims);
    }
    if (op == "Conv") {
      const Value& x = get_dynamic(n, index, 0);
      const Dims in = image_dims(n, index, x);
      const ConstTensor& Wt = get_weight(n, index, 1, "W (the filters)");
      if (Wt.dims.size() != 4) fail(n, index, "only 2-D convolutions are supported (W is " + dims_str(Wt.dims) + ")");
      const auto group = attr_int(n, "group", 1);
      if (group != 1) fail(n, index, "grouped convolution (group=" + std::to_string(group) + ") is not supported");
      if (Wt.dims[1] != in[1])
        fail(n, index, "W " + dims_str(Wt.dims) + " expects " + std::to_string(Wt.dims[1]) + " input channels, got " +
                           std::to_string(in[1]));
      const auto ks = attr_ints(n, "kernel_shape", {Wt.dims[2], Wt.dims[3]});
      if (ks.size() != 2 || ks[0] != Wt.dims[2] || ks[1] != Wt.dims[3]) fail(n, index, "kernel_shape does not match W");
      const Window2d w = window_from(n, index, in, Wt.dims[2], Wt.dims[3], true);
      const std::int64_t cols = Wt.dims[1] * Wt.dims[2] * Wt.dims[3];
      Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> Wm(Wt.data.data(),
                                                                                                   Wt.dims[0], cols);
      Vector b = Vector::Zero(Wt.dims[0]);
      if (has_input(n, 2)) {
        const ConstTensor& B = get_weight(n, index, 2, "B (the bias)");
        if (numel(B.dims) != Wt.dims[0]) fail(n, index, "bias must have one value per output channel");
        b = Eigen::Map<const Vector>(B.data.data(), Wt.dims[0]);
      }
      try {
        const int node = builder_.conv2d(x.node, Matrix(Wm), b, w, node_name(n, index));
        const Shape& s = builder_.node(node).shape;
        return out_node(n, node, Dims{1, s.dims[0], s.dims[1], s.dims[2]});
      } catch (const Error& e) {
        fail(n, index, e.what());
      }
    }
    if (op == "MaxPool" || op == "AveragePool" || op == "GlobalAveragePool" || op == "GlobalMaxPool") {
      check_extra_outputs_unused(n, index);
      const Value& x = get_dynamic(n, index, 0);
      const Dims in = image_dims(n, index, x);
      const bool global = op.rfind("Global", 0) == 0;
      const bool include_pad = attr_int(n, "count_include_pad", 0) != 0;
      Window2d w;
      if (global) {
        w.kernel_h = static_cast<int>(in[2]);
        w.kernel_w = static_cast<int>(in[3]);
      } else {
        const auto ks = attr_ints(n, "kernel_shape");
        if (ks.size() != 2) fail(n, index, "only 2-D pooling is supported");
        w = window_from(n, index, in, ks[0], ks[1], !(op == "AveragePool" && include_pad));
      }
      try {
        const bool is_max = op == "MaxPool" || op == "GlobalMaxPool";
        const int node = is_max ? builder_.max_pool2d(x.node, w, node_name(n, index))
                                : builder_.avg_pool2d(x.node, w, include_pad, node_name(n, index));
        const Shape& s = builder_.node(node).shape;
        return out_node(n, node, Dims{1, s.dims[0], s.dims[1], s.dims[2]});
      } catch (const Error& e) {
        fail(n, index, e.what());
      }
    }
    if (op == "Relu" || op == "LeakyRelu" || op == "Abs" || op == "Clip" || op == "PRelu" || op == "HardSigmoid" ||
        op == "Neg")
      return activation(n, index, op);
    if (op == "Max" || op == "Min") return max_min(n, index, op == "Max");
    if (op == "Softmax") {
      const Value& x = get_dynamic(n, index, 0);
      const std::int64_t axis = attr_int(n, "axis", opset_ >= 13 || opset_ == 0 ? -1 : 1);
      const auto r = static_cast<std::int64_t>(x.dims.size());
      // Over the one axis that holds all K classes ([1, K], [K], [1, K, 1]...).
      const std::int64_t a = axis < 0 ? axis + r : axis;
      const bool whole = a >= 0 && a < r && x.dims[a] == numel(x.dims);
      const bool old_2d = opset_ != 0 && opset_ < 13 && x.dims.size() == 2 && (a == 1);
      if (!whole && !old_2d) fail(n, index, "only a softmax over the classes of a [1, K] output is supported");
      // A softmax is recorded, not modelled: it must be the last operation.
      if (n.output(0) != graph_output_ || uses_[n.output(0)] != 1)
        fail(n, index, "Softmax is supported only as the last operation of the graph");
      softmax_output_ = true;
      Value v = x;
      return bind(n.output(0), std::move(v));
    }
    fail(n, index, "internal: operator '" + op + "' is listed as supported but not handled");
  }

  // Gemm with the weight first: Y = alpha A' x + beta C, x a column [n, 1]
  // (transB = 0) or a row [1, n] (transB = 1), A' = A or A^T.
  void gemm_weight_first(const onnx::NodeProto& n, int index) {
    const ConstTensor& A = get_weight(n, index, 0, "A (the weight)");
    const Value& x = get_dynamic(n, index, 1);
    if (A.dims.size() != 2 || x.dims.size() != 2) fail(n, index, "A and B must be 2-D");
    const bool ta = attr_int(n, "transA", 0) != 0, tb = attr_int(n, "transB", 0) != 0;
    if ((tb ? x.dims[0] : x.dims[1]) != 1)
      fail(n, index, "B must be a column vector [n, 1] (or a row with transB=1), got " + dims_str(x.dims));
    Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>> Am(A.data.data(), A.dims[0],
                                                                                                A.dims[1]);
    Matrix W = ta ? Matrix(Am.transpose()) : Matrix(Am);
    W *= attr_float(n, "alpha", 1.0);
    const std::int64_t inner = tb ? x.dims[1] : x.dims[0];
    if (W.cols() != inner) fail(n, index, "cannot multiply " + dims_str(A.dims) + " by " + dims_str(x.dims));
    Vector b = Vector::Zero(W.rows());
    const Dims out{W.rows(), 1};
    if (has_input(n, 2)) {
      const ConstTensor& C = get_weight(n, index, 2, "C (the bias)");
      Vector cb;
      if (!broadcast_to(C, out, cb)) fail(n, index, "bias " + dims_str(C.dims) + " does not fit");
      b = attr_float(n, "beta", 1.0) * cb;
    }
    return out_node(n, dense(n, index, x, std::move(W), std::move(b)), out);
  }

  // -x as an ElementwiseAffine node.
  int negate(int node, const std::string& name) {
    const Eigen::Index size = builder_.node(node).shape.size();
    return builder_.elementwise_affine(node, -Vector::Ones(size), Vector::Zero(size), name);
  }

  // Elementwise piecewise-linear activations.
  void activation(const onnx::NodeProto& n, int index, const std::string& op) {
    const Value& x = get_dynamic(n, index, 0);
    const std::string name = node_name(n, index);
    const Eigen::Index size = numel(x.dims);
    try {
      if (op == "Relu") return out_node(n, builder_.relu(x.node, name), x.dims);
      if (op == "LeakyRelu") return out_node(n, builder_.leaky_relu(x.node, attr_float(n, "alpha", 0.01), name), x.dims);
      if (op == "Abs") return out_node(n, builder_.abs(x.node, name), x.dims);
      if (op == "Neg") return out_node(n, elementwise(n, index, x, -Vector::Ones(size), Vector::Zero(size)), x.dims);
      if (op == "PRelu") {
        const ConstTensor& slope = get_weight(n, index, 1, "slope");
        Vector sv;
        if (!broadcast_to(slope, x.dims, sv))
          fail(n, index, "slope " + dims_str(slope.dims) + " does not broadcast to the input " + dims_str(x.dims));
        // One slope for every unit is a LeakyRelu.
        if ((sv.array() == sv[0]).all()) return out_node(n, builder_.leaky_relu(x.node, sv[0], name), x.dims);
        return out_node(n, builder_.prelu(x.node, sv, name), x.dims);
      }
      if (op == "HardSigmoid") {
        // max(0, min(1, alpha x + beta)).
        const double alpha = attr_float(n, "alpha", 0.2), beta = attr_float(n, "beta", 0.5);
        const int scaled = elementwise(n, index, x, Vector::Constant(size, alpha), Vector::Constant(size, beta));
        return out_node(n, builder_.clip(scaled, 0.0, 1.0, name), x.dims);
      }
      // Clip: bounds from attributes (opset < 11) or optional scalar inputs.
      std::optional<double> lo, hi;
      auto bound = [&](int k, const char* attribute, const char* role) -> std::optional<double> {
        if (opset_ != 0 && opset_ < 11) {
          const auto* a = attr(n, attribute);
          // Float's largest magnitude is opset 6's "no bound".
          if (!a || std::abs(a->f()) >= 3.4e38) return std::nullopt;
          return a->f();
        }
        if (!has_input(n, k)) return std::nullopt;
        const ConstTensor& c = get_const(n, index, k, role);
        if (c.data.size() != 1) fail(n, index, std::string(role) + " must be a scalar, got " + dims_str(c.dims));
        return c.data[0];
      };
      lo = bound(1, "min", "min");
      hi = bound(2, "max", "max");
      if (lo && hi && !(*lo <= *hi))
        fail(n, index, "min " + std::to_string(*lo) + " is larger than max " + std::to_string(*hi));
      if (lo && hi) return out_node(n, builder_.clip(x.node, *lo, *hi, name), x.dims);
      if (lo) return out_node(n, builder_.max_constant(x.node, Vector::Constant(1, *lo), name), x.dims);
      if (hi) return out_node(n, builder_.min_constant(x.node, Vector::Constant(1, *hi), name), x.dims);
      Value v = x;  // no bounds: the identity
      return bind(n.output(0), std::move(v));
    } catch (const Error& e) {
      fail(n, index, e.what());
    }
  }

  // Max / Min of any number of inputs: constants are folded into one; two
  // activations a, b become max(a, b) = b + relu(a - b) and min(a, b) =
  // a - relu(a - b) (exact, with the same regions); an activation and a
  // constant c become one Piecewise node max(x, c) / min(x, c).
  void max_min(const onnx::NodeProto& n, int index, bool is_max) {
    if (n.input_size() < 1) fail(n, index, "has no inputs");
    const std::string name = node_name(n, index);
    std::optional<ConstTensor> constant;
    std::vector<const Value*> dynamic;
    for (int k = 0; k < n.input_size(); ++k) {
      const Value& v = get(n, index, k);
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
      if (r.dims.empty() && !out.empty()) fail(n, index, "constant shapes do not broadcast");
      constant = std::move(r);
    }
    if (dynamic.empty()) return out_const(n, std::move(*constant));
    const Dims dims = dynamic.front()->dims;
    for (const Value* v : dynamic)
      if (v->dims != dims)
        fail(n, index, "inputs of shapes " + dims_str(dims) + " and " + dims_str(v->dims) + " are not supported together");
    try {
      int node = dynamic.front()->node;
      for (size_t k = 1; k < dynamic.size(); ++k) {
        const int b = dynamic[k]->node;
        const std::string part = name + (dynamic.size() > 2 ? "_" + std::to_string(k) : "");
        const int diff = builder_.add(node, negate(b, part + "_neg"), part + "_diff");
        const int r = builder_.relu(diff, part + "_relu");
        node = is_max ? builder_.add(r, b, part) : builder_.add(node, negate(r, part + "_negrelu"), part);
      }
      if (constant) {
        Vector cv;
        if (!broadcast_to(*constant, dims, cv))
          fail(n, index, "constant " + dims_str(constant->dims) + " does not broadcast to the activation " + dims_str(dims));
        if (broadcast_dims(dims, constant->dims) != dims)
          fail(n, index, "the constant would broadcast the activation to a larger shape");
        if ((cv.array() == cv[0]).all()) cv = Vector::Constant(1, cv[0]);
        node = is_max ? builder_.max_constant(node, cv, name) : builder_.min_constant(node, cv, name);
      }
      return out_node(n, node, dims);
    } catch (const Error& e) {
      fail(n, index, e.what());
    }
  }

  // [1, n] activation concatenated with constants along axis 1: a gather
  // (constants read index -1, i.e. 0) plus a shift holding the constants.
  void concat_with_constants(const onnx::NodeProto& n, int index, int dynamic, std::int64_t axis) {
    const Value& x = get(n, index, dynamic);
    if (x.dims.size() != 2 || (axis != 1 && axis != -1))
      fail(n, index, "concatenation with activations is supported only along axis 1 of [1, n] tensors");
    std::vector<int> gather;
    std::vector<double> shift;
    for (int k = 0; k < n.input_size(); ++k) {
      const Value& v = get(n, index, k);
      if (k == dynamic) {
        for (std::int64_t i = 0; i < x.dims[1]; ++i) {
          gather.push_back(static_cast<int>(i));
          shift.push_back(0.0);
        }
      } else {
        if (v.c.dims.size() != 2 || v.c.dims[0] != 1) fail(n, index, "constant parts must be [1, m]");
        for (double c : v.c.data) {
          gather.push_back(-1);
          shift.push_back(c);
        }
      }
    }
    const Dims out{1, static_cast<std::int64_t>(gather.size())};
    try {
      int node = builder_.permute(x.node, gather, to_shape(out), node_name(n, index));
      const Vector t = Eigen::Map<const Vector>(shift.data(), static_cast<Eigen::Index>(shift.size()));
      if (!t.isZero(0.0)) node = builder_.elementwise_affine(node, Vector::Ones(t.size()), t, node_name(n, index) + "_const");
      return out_node(n, node, out);
    } catch (const Error& e) {
      fail(n, index, e.what());
    }
  }

  void reshape_dynamic(const onnx::NodeProto& n, int index, const Value& x, const Dims& d) {
    if (numel(d) != numel(x.dims)) fail(n, index, "cannot reshape " + dims_str(x.dims) + " to " + dims_str(d));
    if (d == x.dims) return out_node(n, x.node, d);
    const Shape s = to_shape(d);
    if (builder_.node(x.node).shape == s) return out_node(n, x.node, d);
    try {
      return out_node(n, builder_.reshape(x.node, s, node_name(n, index)), d);
    } catch (const Error& e) {
      fail(n, index, e.what());
    }
  }

  std::string source_;
  OnnxLoadOptions options_;
  std::int64_t opset_ = 0;
  std::int64_t budget_ = 0;  // bytes of tensors read so far (double precision)
  std::int64_t memory_ = 0;  // bytes the model will hold: tensors, folded constants, tables
  NetworkBuilder builder_;
  std::map<std::string, Value> values_;
  std::map<std::string, int> uses_;
  std::map<int, int> node_uses_;
  std::string graph_output_;
  bool softmax_output_ = false;
  Dims declared_input_;
};

}  // namespace

const std::vector<OnnxOperator>& onnx_operator_table() {
  // What each operator becomes, in the order the user guide lists them
  // (docs/user-guide.md, "Supported models"; a test keeps the two equal).
  static const std::vector<OnnxOperator> table = {
      {"Gemm", "Dense (transA only on a column vector; the weight may also come first: `Gemm(W, x)`)"},
      {"MatMul", "Dense: `x W` with x a row vector, or `W x` with x a column vector (W constant)"},
      {"Conv", "Conv2d (2-D, groups = 1, strides, pads, dilations, auto_pad)"},
      {"MaxPool", "MaxPool2d (ceil_mode supported)"},
      {"GlobalMaxPool", "MaxPool2d over the whole image"},
      {"AveragePool", "AvgPool2d (count_include_pad)"},
      {"GlobalAveragePool", "AvgPool2d over the whole image"},
      {"Relu", "ReLU"},
      {"LeakyRelu", "LeakyReLU, any slope (also above 1 or negative)"},
      {"PRelu", "LeakyReLU when the slope is one number, else Piecewise (a slope per unit or channel)"},
      {"Clip", "Piecewise with three pieces (ReLU6, Hardtanh; constant bounds); with one bound, max(x, lo) or min(x, hi)"},
      {"Abs", "Piecewise: |x|"},
      {"Max", "with a constant: Piecewise max(x, c); of two activations: b + ReLU(a − b) (exact, same regions)"},
      {"Min", "with a constant: Piecewise min(x, c); of two activations: a − ReLU(a − b)"},
      {"HardSigmoid", "ElementwiseAffine, then Clip to [0, 1]"},
      {"Add", "Add of two activations (residual); with a constant, folded or ElementwiseAffine"},
      {"Sub", "of two activations: Add of the negated second; with a constant, folded or ElementwiseAffine"},
      {"Mul", "by a constant: folded into the previous Dense/Conv (or next Dense) when exact, else ElementwiseAffine"},
      {"Div", "by a constant: as Mul"},
      {"Neg", "ElementwiseAffine (−x)"},
      {"BatchNormalization", "inference mode: folded like Mul and Add"},
      {"Flatten", "Reshape"},
      {"Reshape", "Reshape (constant or constant-foldable target shape)"},
      {"Squeeze", "Reshape"},
      {"Unsqueeze", "Reshape (and folded on constants)"},
      {"Transpose", "Permute"},
      {"Pad", "Permute (constant 0, edge, reflect)"},
      {"Gather", "Permute along axis 1 of an activation; folded on constants"},
      {"Concat", "Permute with constants along axis 1; folded on constants"},
      {"Shape", "folded at load time"},
      {"Cast", "folded at load time (constants)"},
      {"Constant", "a constant"},
      {"Identity", "nothing"},
      {"Dropout", "nothing (inference)"},
      {"Softmax", "only as the last operation: recorded (`softmax_output`); Tessera reports logits"}};
  return table;
}

const std::vector<std::string>& supported_onnx_operators() {
  static const std::vector<std::string> ops = [] {
    std::vector<std::string> v;
    for (const OnnxOperator& o : onnx_operator_table()) v.push_back(o.name);
    std::sort(v.begin(), v.end());
    return v;
  }();
  return ops;
}

Network parse_onnx(const std::string& bytes, const std::string& source, const OnnxLoadOptions& options) {
  return Importer(source, options).run(bytes);
}

std::int64_t OnnxLoadOptions::default_max_parameter_bytes() {
  const char* env = std::getenv("TESSERA_MAX_MODEL_MB");
  if (!env || !*env) return std::int64_t{8} << 30;
  char* end = nullptr;
  const double mb = std::strtod(env, &end);
  if (end == env || *end != '\0' || !(mb > 0) || mb > 1e9)
    throw Error(std::string("TESSERA_MAX_MODEL_MB='") + env + "' is not a positive number of MiB");
  return static_cast<std::int64_t>(mb * 1024 * 1024);
}

Network load_onnx(const std::string& path, const OnnxLoadOptions& options) {
  return parse_onnx(read_file(path), path, options);
}

}  // namespace tessera
