// ONNX -> Network: the graph walk. Each node is dispatched through the
// operator table (operators.cpp) to its handler (ops_*.cpp); see onnx_io.hpp
// for what is supported.
#include <algorithm>
#include <cstdlib>

#include "core/limits.hpp"
#include "io/file_util.hpp"
#include "io/onnx/importer.hpp"

namespace tessera {
namespace onnx_import {

Network Importer::run(const std::string& bytes) {
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
    v.c = read_tensor(t, "initializer '" + t.name() + "'", source_, budget_);
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
    net.class_names = class_names(model, net.output_size());
    if (read_laplace_) net.laplace = read_laplace_posterior(model, values_, net, source_);
    return net;
  } catch (const Error& e) {
    // build() names the source itself in some messages (the memory check): once is enough.
    const std::string what = e.what();
    throw Error(what.rfind(source_ + ": ", 0) == 0 ? what : source_ + ": " + what);
  }
}

std::vector<std::string> Importer::class_names(const onnx::ModelProto& model, int outputs) const {
  std::vector<std::string> names;
  for (const auto& kv : model.metadata_props()) {
    if (kv.key() != "class_names") continue;
    try {
      names = parse_class_names(kv.value());
    } catch (const Error& e) {
      throw Error(source_ + ": metadata class_names: " + e.what());
    }
    if (static_cast<int>(names.size()) != outputs)
      throw Error(source_ + ": metadata class_names lists " + std::to_string(names.size()) + " names for " +
                  std::to_string(outputs) + " outputs");
  }
  return names;
}

void Importer::add_graph_input(const onnx::GraphProto& g) {
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
  v.node = builder_.input(sample_shape(dims), name);
  bind(name, std::move(v));
}

// The sample shape of a value: {C, H, W} for [1, C, H, W], else the flat
// vector of its values (the batch is 1, so every layout of one sample is its
// values in row-major order).
Shape Importer::sample_shape(const Dims& dims) const {
  if (numel(dims) < 0 || numel(dims) == 0)
    throw Error(source_ + ": activation shape " + dims_str(dims) + " is empty or too large");
  if (dims.size() == 4 && dims[0] == 1)
    return Shape{static_cast<int>(dims[1]), static_cast<int>(dims[2]), static_cast<int>(dims[3])};
  return Shape{static_cast<int>(numel(dims))};
}

void Importer::bind(const std::string& name, Value v) {
  if (values_.count(name) && name != "")
    throw Error(source_ + ": value '" + name + "' is defined twice (not a valid ONNX graph)");
  if (!v.is_const) node_uses_[v.node] += uses_[name];
  values_[name] = std::move(v);
}

// True when node `node` has no readers yet and exactly one ONNX use.
bool Importer::foldable(int node) const {
  auto it = node_uses_.find(node);
  const NetworkBuilder& b = builder_;
  return node > 0 && it != node_uses_.end() && it->second == 1 && b.consumer_count(node) == 0;
}

void Importer::import_node(const onnx::NodeProto& n, int index) {
  const NodeContext ctx(*this, n, index);
  if (!n.domain().empty() && n.domain() != "ai.onnx") ctx.fail("operator domain '" + n.domain() + "' is not supported");
  const OperatorEntry* entry = find_operator(n.op_type());
  if (!entry) ctx.fail("unsupported operator '" + n.op_type() + "'");
  if (n.output_size() < 1) ctx.fail("has no outputs");
  // An attribute the handler does not read could change what the node
  // computes: refuse it rather than answer for a different network.
  for (const auto& a : n.attribute())
    if (std::find(entry->attributes.begin(), entry->attributes.end(), a.name()) == entry->attributes.end())
      ctx.fail("attribute '" + a.name() + "' is not supported" +
               (entry->attributes.empty() ? std::string(" (this operator takes none)")
                                          : " (supported: " + join(entry->attributes) + ")"));
  entry->handle(ctx);
}

std::string join(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& x : names) s += (s.empty() ? "" : ", ") + x;
  return s;
}

}  // namespace onnx_import

std::vector<std::string> parse_class_names(const std::string& text) {
  std::vector<std::string> names;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = text.find(',', start);
    std::string name = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const auto first = name.find_first_not_of(" \t"), last = name.find_last_not_of(" \t");
    name = first == std::string::npos ? "" : name.substr(first, last - first + 1);
    if (name.empty()) throw Error("class name " + std::to_string(names.size() + 1) + " is empty in '" + text + "'");
    names.push_back(name);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return names;
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

Network parse_onnx(const std::string& bytes, const std::string& source, const OnnxLoadOptions& options) {
  return onnx_import::Importer(source, options).run(bytes);
}

Network load_onnx(const std::string& path, const OnnxLoadOptions& options) {
  return parse_onnx(read_file(path), path, options);
}

}  // namespace tessera
