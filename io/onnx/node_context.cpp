// NodeContext: what a handler sees of its node (inputs, attributes,
// outputs) and the errors that name it.
#include "core/limits.hpp"
#include "io/onnx/importer.hpp"

namespace tessera::onnx_import {

std::string NodeContext::name() const {
  return n.name().empty() ? n.op_type() + "_" + std::to_string(index_) : n.name();
}

void NodeContext::fail(const std::string& why) const {
  const std::string name = n.name().empty() ? "#" + std::to_string(index_) : n.name();
  // A NetworkBuilder error names its node again ("node 'x' (Conv2d): ..."):
  // keep only what it says.
  std::string what = why;
  if (what.rfind("node '", 0) == 0 && what.find("): ") != std::string::npos) what = what.substr(what.find("): ") + 3);
  throw NodeError(im_.source_ + ": node '" + name + "' (" + n.op_type() + "): " + what);
}

std::int64_t NodeContext::opset() const { return im_.opset_; }

const Value& NodeContext::input(int k) const {
  if (!has_input(k)) fail("missing input " + std::to_string(k));
  auto it = im_.values_.find(n.input(k));
  if (it == im_.values_.end()) fail("input '" + n.input(k) + "' is not defined by an earlier node");
  return it->second;
}

const ConstTensor& NodeContext::constant(int k, const char* role) const {
  const Value& v = input(k);
  if (!v.is_const) fail(std::string(role) + " (input " + std::to_string(k) + ") must be a constant");
  return v.c;
}

// A weight or bias read as a model parameter must be a floating-point
// tensor: an integer one is almost always a broken export.
const ConstTensor& NodeContext::weight(int k, const char* role) const {
  const ConstTensor& c = constant(k, role);
  if (c.integer) fail(std::string(role) + " is an integer tensor; weights and biases must be float or double");
  // An empty weight of a huge declared shape (0 x 2^34) would make every
  // copy loop over its empty columns.
  if (numel(c.dims) == 0) fail(std::string(role) + " " + dims_str(c.dims) + " is empty");
  return c;
}

const Value& NodeContext::dynamic(int k) const {
  const Value& v = input(k);
  if (v.is_const) fail("input " + std::to_string(k) + " was expected to depend on the network input");
  return v;
}

std::vector<std::int64_t> NodeContext::axes() const {
  if (has_input(1)) return to_ints(constant(1, "axes").data);
  return attr_ints("axes");
}

int NodeContext::output_uses() const { return im_.uses_[n.output(0)]; }
bool NodeContext::output_is_graph_output() const { return n.output(0) == im_.graph_output_; }

const onnx::AttributeProto* NodeContext::attr(const char* name) const {
  for (const auto& a : n.attribute())
    if (a.name() == name) return &a;
  return nullptr;
}
std::int64_t NodeContext::attr_int(const char* name, std::int64_t def) const {
  const auto* a = attr(name);
  return a ? a->i() : def;
}
double NodeContext::attr_float(const char* name, double def) const {
  const auto* a = attr(name);
  return a ? a->f() : def;
}
std::vector<std::int64_t> NodeContext::attr_ints(const char* name, std::vector<std::int64_t> def) const {
  const auto* a = attr(name);
  return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : def;
}
std::string NodeContext::attr_string(const char* name, const std::string& def) const {
  const auto* a = attr(name);
  return a ? a->s() : def;
}

void NodeContext::out_const(ConstTensor c) const {
  Value v;
  v.is_const = true;
  v.c = std::move(c);
  im_.bind(n.output(0), std::move(v));
}
void NodeContext::out_node(int node, const Dims& dims) const {
  Value v;
  v.node = node;
  v.dims = dims;
  im_.bind(n.output(0), std::move(v));
}
void NodeContext::out_value(Value v) const { im_.bind(n.output(0), std::move(v)); }

void NodeContext::check_extra_outputs_unused() const {
  for (int k = 1; k < n.output_size(); ++k)
    if (!n.output(k).empty() && im_.uses_[n.output(k)] > 0)
      fail("output " + std::to_string(k) + " ('" + n.output(k) + "') is used, which is not supported");
}

NetworkBuilder& NodeContext::builder() const { return im_.builder_; }
Shape NodeContext::to_shape(const Dims& dims) const { return im_.sample_shape(dims); }

void NodeContext::reserve(std::int64_t values, int bytes_each, const std::string& what) const {
  im_.budget_.memory = add_or_neg(im_.budget_.memory, mul_or_neg(values, bytes_each));
  checked([&] { check_memory(im_.budget_.memory, what + " (with the model so far)"); });
}

ConstTensor NodeContext::read_tensor(const onnx::TensorProto& t, const std::string& what) const {
  return onnx_import::read_tensor(t, what, im_.source_, im_.budget_);
}

int NodeContext::negate(int node, const std::string& name) const {
  const Eigen::Index size = builder().node(node).shape.size();
  return builder().elementwise_affine(node, -Vector::Ones(size), Vector::Zero(size), name);
}

void NodeContext::reshape(const Value& x, const Dims& d) const {
  if (x.is_const) {  // a constant is relabelled
    ConstTensor c = x.c;
    c.dims = d;
    return out_const(std::move(c));
  }
  if (numel(d) != numel(x.dims)) fail("cannot reshape " + dims_str(x.dims) + " to " + dims_str(d));
  if (d == x.dims) return out_node(x.node, d);
  const Shape s = to_shape(d);
  if (builder().node(x.node).shape == s) return out_node(x.node, d);
  out_node(checked([&] { return builder().reshape(x.node, s, name()); }), d);
}

void NodeContext::set_softmax_output() const { im_.softmax_output_ = true; }

}  // namespace tessera::onnx_import
