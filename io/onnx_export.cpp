// Network -> ONNX. Every node maps to standard operators (opset 13 by
// default) so that other tools, including PyTorch-based ones, can read it.
#include <onnx/onnx_pb.h>

#include <cstring>
#include <set>

#include "core/error.hpp"
#include "io/file_util.hpp"
#include "io/laplace_io.hpp"
#include "io/onnx_io.hpp"

namespace tessera {

namespace {

class Exporter {
 public:
  Exporter(const Network& net, const OnnxSaveOptions& options) : net_(net), options_(options) {}

  std::string run() {
    onnx::ModelProto model;
    model.set_ir_version(7);
    model.set_producer_name("tessera");
    model.set_producer_version("0.1.0");
    auto* opset = model.add_opset_import();
    opset->set_domain("");
    opset->set_version(options_.opset);
    if (!net_.class_names.empty()) {
      std::string joined;
      for (const std::string& n : net_.class_names) joined += (joined.empty() ? "" : ",") + n;
      auto* meta = model.add_metadata_props();
      meta->set_key("class_names");
      meta->set_value(joined);
    }
    g_ = model.mutable_graph();
    g_->set_name("tessera_network");

    names_.resize(net_.nodes.size());
    for (size_t k = 0; k < net_.nodes.size(); ++k) emit(static_cast<int>(k));

    std::string out = names_.back();
    if (net_.softmax_output) {
      const std::string probabilities = unique("probabilities");
      add_int(node("Softmax", {out}, probabilities), "axis", 1);
      out = probabilities;
    }
    value_info(g_->add_output(), out, net_.output_shape().dims);
    std::string bytes;
    if (!model.SerializeToString(&bytes)) throw Error("cannot serialise the ONNX model");
    // The posterior of the last layer goes with it.
    if (net_.laplace) bytes = add_laplace_head(bytes, *net_.laplace, net_.source);
    return bytes;
  }

 private:
  std::vector<std::int64_t> batch_dims(const Shape& s) const {
    std::vector<std::int64_t> d{1};
    for (int v : s.dims) d.push_back(v);
    return d;
  }

  void value_info(onnx::ValueInfoProto* vi, const std::string& name, const std::vector<int>& dims) {
    vi->set_name(name);
    auto* tt = vi->mutable_type()->mutable_tensor_type();
    tt->set_elem_type(onnx::TensorProto::FLOAT);
    auto* shape = tt->mutable_shape();
    shape->add_dim()->set_dim_param("batch");
    for (int v : dims) shape->add_dim()->set_dim_value(v);
  }

  onnx::NodeProto* node(const std::string& op, const std::vector<std::string>& inputs, const std::string& output) {
    auto* n = g_->add_node();
    n->set_op_type(op);
    n->set_name(output);
    for (const auto& i : inputs) n->add_input(i);
    n->add_output(output);
    return n;
  }
  static void add_int(onnx::NodeProto* n, const char* name, std::int64_t v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(v);
  }
  static void add_float(onnx::NodeProto* n, const char* name, double v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(static_cast<float>(v));
  }
  static void add_ints(onnx::NodeProto* n, const char* name, const std::vector<std::int64_t>& v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  }

  // Adds an initializer with the given dims and row-major values.
  std::string weights(const std::string& base, const std::vector<std::int64_t>& dims, const double* data,
                      std::int64_t n) {
    const std::string name = unique(base);
    auto* t = g_->add_initializer();
    t->set_name(name);
    for (auto d : dims) t->add_dims(d);
    std::string raw;
    if (options_.float64) {
      t->set_data_type(onnx::TensorProto::DOUBLE);
      raw.resize(8 * n);
      std::memcpy(raw.data(), data, 8 * n);
    } else {
      t->set_data_type(onnx::TensorProto::FLOAT);
      raw.resize(4 * n);
      for (std::int64_t i = 0; i < n; ++i) {
        const float f = static_cast<float>(data[i]);
        std::memcpy(raw.data() + 4 * i, &f, 4);
      }
    }
    t->set_raw_data(raw);
    return name;
  }
  std::string int_weights(const std::string& base, const std::vector<std::int64_t>& values) {
    const std::string name = unique(base);
    auto* t = g_->add_initializer();
    t->set_name(name);
    t->add_dims(static_cast<std::int64_t>(values.size()));
    t->set_data_type(onnx::TensorProto::INT64);
    for (auto v : values) t->add_int64_data(v);
    return name;
  }

  void window_attrs(onnx::NodeProto* n, const Window2d& w, bool with_dilations) {
    add_ints(n, "kernel_shape", {w.kernel_h, w.kernel_w});
    add_ints(n, "strides", {w.stride_h, w.stride_w});
    add_ints(n, "pads", {w.pad_top, w.pad_left, w.pad_bottom, w.pad_right});
    if (with_dilations) add_ints(n, "dilations", {w.dilation_h, w.dilation_w});
  }

  void emit(int k) {
    const Node& n = net_.nodes[k];
    // The node's own name, made unique, names its output tensor (and so
    // the node when the file is read back).
    const std::string out = unique(sanitize(n.name.empty() ? "node" + std::to_string(k) : n.name));
    names_[k] = out;
    if (n.kind == OpKind::Input) {
      names_[k] = out;
      value_info(g_->add_input(), names_[k], n.shape.dims);
      return;
    }
    const std::string in = names_[n.inputs[0]];
    switch (n.kind) {
      case OpKind::Dense: {
        std::string x = in;
        if (net_.nodes[n.inputs[0]].shape.dims.size() != 1) {
          x = unique(out + "_flat");
          add_int(node("Flatten", {in}, x), "axis", 1);
        }
        const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> W = n.weight;
        node("Gemm",
             {x, weights(out + "_W", {W.rows(), W.cols()}, W.data(), W.size()),
              weights(out + "_b", {n.bias.size()}, n.bias.data(), n.bias.size())},
             out);
        add_int(&g_->mutable_node()->at(g_->node_size() - 1), "transB", 1);
        break;
      }
      case OpKind::Conv2d: {
        const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> W = n.weight;
        const int c_in = net_.nodes[n.inputs[0]].shape.channels();
        auto* c = node("Conv",
                       {in,
                        weights(out + "_W", {W.rows(), c_in, n.window.kernel_h, n.window.kernel_w}, W.data(),
                                W.size()),
                        weights(out + "_b", {n.bias.size()}, n.bias.data(), n.bias.size())},
                       out);
        window_attrs(c, n.window, true);
        break;
      }
      case OpKind::AvgPool2d: {
        auto* p = node("AveragePool", {in}, out);
        window_attrs(p, n.window, false);
        add_int(p, "count_include_pad", n.count_include_pad ? 1 : 0);
        if (n.window.dilation_h != 1 || n.window.dilation_w != 1)
          throw Error("cannot export node '" + n.name + "': ONNX AveragePool has no dilations before opset 19");
        break;
      }
      case OpKind::MaxPool2d: {
        auto* p = node("MaxPool", {in}, out);
        window_attrs(p, n.window, true);
        break;
      }
      case OpKind::Relu: node("Relu", {in}, out); break;
      case OpKind::LeakyRelu: add_float(node("LeakyRelu", {in}, out), "alpha", n.slope); break;
      case OpKind::Piecewise: emit_piecewise(n, in, out); break;
      case OpKind::Add: node("Add", {in, names_[n.inputs[1]]}, out); break;
      case OpKind::ElementwiseAffine: {
        const auto dims = batch_dims(n.shape);
        const std::string scaled = unique(out + "_scaled");
        node("Mul", {in, weights(out + "_scale", dims, n.scale.data(), n.scale.size())}, scaled);
        node("Add", {scaled, weights(out + "_shift", dims, n.shift.data(), n.shift.size())}, out);
        break;
      }
      case OpKind::Reshape: node("Reshape", {in, int_weights(out + "_shape", batch_dims(n.shape))}, out); break;
      case OpKind::Permute: {
        // Flatten, append one zero (read by index -1), gather, reshape.
        const std::int64_t size = net_.nodes[n.inputs[0]].shape.size();
        const std::string flat = unique(out + "_flat"), padded = unique(out + "_padded"),
                          gathered = unique(out + "_gathered");
        node("Reshape", {in, int_weights(out + "_flat_shape", {1, size})}, flat);
        const double zero = 0.0;
        add_int(node("Concat", {flat, weights(out + "_zero", {1, 1}, &zero, 1)}, padded), "axis", 1);
        std::vector<std::int64_t> index(n.index.begin(), n.index.end());
        for (auto& i : index)
          if (i < 0) i = size;
        add_int(node("Gather", {padded, int_weights(out + "_index", index)}, gathered), "axis", 1);
        node("Reshape", {gathered, int_weights(out + "_shape", batch_dims(n.shape))}, out);
        break;
      }
      case OpKind::Input: break;
    }
  }

  // A table column as a tensor: a scalar when shared by all units, else of
  // the node's shape (with the batch dimension).
  std::string column(const std::string& base, const Node& n, const Matrix& table, int col) {
    const Vector v = table.col(col);
    if (table.rows() == 1) return weights(base, {1}, v.data(), 1);
    return weights(base, batch_dims(n.shape), v.data(), v.size());
  }

  // Clip, Abs, PRelu, Max and Min as themselves (so a model read back has
  // the same layers); any other piecewise-linear unit as its exact sum
  // s_0 x + o_0 + Σ_j (s_{j+1} - s_j) relu(x - b_j) (continuity makes the
  // offsets match).
  void emit_piecewise(const Node& n, const std::string& in, const std::string& out) {
    switch (piecewise_form(n)) {
      case PiecewiseForm::Clip: {
        const double lo = n.knot(0, 0), hi = n.knot(0, 1);
        if (options_.opset >= 11) {
          node("Clip", {in, weights(out + "_min", {}, &lo, 1), weights(out + "_max", {}, &hi, 1)}, out);
        } else {
          auto* c = node("Clip", {in}, out);
          add_float(c, "min", lo);
          add_float(c, "max", hi);
        }
        return;
      }
      case PiecewiseForm::Abs: node("Abs", {in}, out); return;
      case PiecewiseForm::PRelu: node("PRelu", {in, column(out + "_slope", n, n.piece_slopes, 0)}, out); return;
      case PiecewiseForm::MaxConstant: node("Max", {in, column(out + "_c", n, n.knots, 0)}, out); return;
      case PiecewiseForm::MinConstant: node("Min", {in, column(out + "_c", n, n.knots, 0)}, out); return;
      case PiecewiseForm::General: break;
    }
    std::string sum = unique(out + "_linear");
    node("Add", {unique_node_mul(in, column(out + "_s0", n, n.piece_slopes, 0), out + "_s0x"),
                 column(out + "_o0", n, n.piece_offsets, 0)},
         sum);
    for (int j = 0; j + 1 < n.pieces(); ++j) {
      const std::string tag = out + "_k" + std::to_string(j);
      Matrix step = n.piece_slopes.col(j + 1) - n.piece_slopes.col(j);
      const std::string shifted = unique(tag + "_shifted"), relu = unique(tag + "_relu");
      node("Sub", {in, column(tag + "_knot", n, n.knots, j)}, shifted);
      node("Relu", {shifted}, relu);
      const std::string term = unique_node_mul(relu, column(tag + "_step", n, step, 0), tag + "_term");
      const std::string next = j + 2 < n.pieces() ? unique(tag + "_sum") : out;
      node("Add", {sum, term}, next);
      sum = next;
    }
  }
  std::string unique_node_mul(const std::string& a, const std::string& b, const std::string& base) {
    const std::string name = unique(base);
    node("Mul", {a, b}, name);
    return name;
  }

  // A tensor name not used before in this graph (base, or base_2, base_3...).
  std::string unique(const std::string& base) {
    std::string name = base;
    for (int i = 2; !used_.insert(name).second; ++i) name = base + "_" + std::to_string(i);
    return name;
  }

  static std::string sanitize(const std::string& s) {
    std::string r;
    for (char c : s) r += (std::isalnum(static_cast<unsigned char>(c)) || c == '_') ? c : '_';
    return r;
  }

  const Network& net_;
  OnnxSaveOptions options_;
  onnx::GraphProto* g_ = nullptr;
  std::vector<std::string> names_;
  std::set<std::string> used_;
};

}  // namespace

std::string serialize_onnx(const Network& net, const OnnxSaveOptions& options) {
  return Exporter(net, options).run();
}

void save_onnx(const Network& net, const std::string& path, const OnnxSaveOptions& options) {
  write_file_atomically(path, serialize_onnx(net, options));
}

}  // namespace tessera
