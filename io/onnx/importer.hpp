// The ONNX importer's internals, shared by its parts (not installed):
//   tensor.cpp     decoding initializers and Constant tensors;
//   folding.cpp    shape arithmetic on constants (broadcasting, transposes)
//                  and folding of normalisation into Dense/Conv nodes;
//   importer.cpp   the graph walk: inputs, values, the dispatch through the
//                  operator table, the output;
//   operators.cpp  the operator table: name, what it becomes, the
//                  attributes it understands, its handler;
//   ops_*.cpp      the handlers, one group of operators a file.
// A handler reads its node through NodeContext and binds output 0.
#pragma once

#include <onnx/onnx_pb.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/network.hpp"
#include "io/onnx_io.hpp"

namespace tessera::onnx_import {

using Dims = std::vector<std::int64_t>;

// Number of values, or -1 when a dimension is negative or the product
// exceeds kMaxValues.
std::int64_t numel(const Dims& d);
// An integer read from a constant tensor (stored as a double): clamped to
// ±2^62 so that converting it is defined and later range checks refuse it
// (NaN becomes -2^62).
std::int64_t to_int(double v);
std::vector<std::int64_t> to_ints(const std::vector<double>& values);
std::string dims_str(const Dims& d);

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
std::vector<std::int64_t> transpose_index(const Dims& in, const std::vector<std::int64_t>& perm);
// numpy broadcasting of c to `dims` (c's rank may be lower); false when the
// shapes do not broadcast.
bool broadcast_to(const ConstTensor& c, const Dims& dims, Vector& out);
// The broadcast shape of a and b; empty when they do not broadcast.
Dims broadcast_dims(const Dims& a, const Dims& b);
// f applied elementwise to a and b broadcast to `out`; empty dims when they
// do not broadcast.
ConstTensor elementwise_const(const ConstTensor& a, const ConstTensor& b, const Dims& out,
                              const std::function<double(double, double)>& f);
// Applies y = s ⊙ z + t to the output of node p in place, when exact: into a
// Dense node's rows, an ElementwiseAffine node, or a Conv2d node when s and t
// are constant within each channel.
bool fold_into(Node& p, const Vector& s, const Vector& t);

// Decodes a tensor, counting its bytes against the parameter limit and the
// memory budget (running totals in `bytes_read` and `memory`).
struct TensorBudget {
  std::int64_t max_parameter_bytes;
  std::int64_t bytes_read = 0;
  std::int64_t memory = 0;
};
ConstTensor read_tensor(const onnx::TensorProto& t, const std::string& what, const std::string& source,
                        TensorBudget& budget);

class Importer;

// An error already naming its node (NodeContext::checked passes it on).
struct NodeError : Error {
  using Error::Error;
};

// "a, b, c".
std::string join(const std::vector<std::string>& names);

// One node being imported: its inputs, attributes and outputs, and the
// errors that name it ("SOURCE: node 'NAME' (OP): reason").
class NodeContext {
 public:
  NodeContext(Importer& importer, const onnx::NodeProto& node, int index) : n(node), im_(importer), index_(index) {}

  const onnx::NodeProto& n;

  const std::string& type() const { return n.op_type(); }
  // The node's name, or OP_INDEX when it has none (names built nodes).
  std::string name() const;
  [[noreturn]] void fail(const std::string& why) const;
  std::int64_t opset() const;  // 0 when the model declares none

  // Inputs.
  const Value& input(int k) const;
  bool has_input(int k) const { return k < n.input_size() && !n.input(k).empty(); }
  const ConstTensor& constant(int k, const char* role) const;
  // A weight or bias: a constant floating-point tensor with values.
  const ConstTensor& weight(int k, const char* role) const;
  // An input that depends on the network input.
  const Value& dynamic(int k) const;
  // The axes of Squeeze/Unsqueeze: input 1 (opset 13) or the attribute.
  std::vector<std::int64_t> axes() const;
  // How many times output 0 is read (by nodes and graph outputs).
  int output_uses() const;
  bool output_is_graph_output() const;

  // Attributes.
  const onnx::AttributeProto* attr(const char* name) const;
  std::int64_t attr_int(const char* name, std::int64_t def) const;
  double attr_float(const char* name, double def) const;
  std::vector<std::int64_t> attr_ints(const char* name, std::vector<std::int64_t> def = {}) const;
  std::string attr_string(const char* name, const std::string& def) const;

  // Outputs (output 0 only; check_extra_outputs_unused refuses uses of the
  // others, e.g. Dropout's mask or MaxPool's indices).
  void out_const(ConstTensor c) const;
  void out_node(int node, const Dims& dims) const;
  void out_value(Value v) const;
  void check_extra_outputs_unused() const;

  // Building. `checked` runs f and turns a NetworkBuilder error into this
  // node's error.
  NetworkBuilder& builder() const;
  template <class F>
  auto checked(F&& f) const -> decltype(f()) {
    try {
      return f();
    } catch (const NodeError&) {
      throw;
    } catch (const Error& e) {
      fail(e.what());
    }
  }
  // Sample shape of a value: {C, H, W} for [1, C, H, W], else flat.
  Shape to_shape(const Dims& dims) const;
  // Counts `values` more values of `bytes_each` bytes that the model will
  // hold (folded constants, gather tables) against the memory budget, and
  // refuses them before they are allocated.
  void reserve(std::int64_t values, int bytes_each, const std::string& what) const;
  ConstTensor read_tensor(const onnx::TensorProto& t, const std::string& what) const;
  // y = s ⊙ x + t, folded into x's producer when exact.
  int elementwise(const Value& x, const Vector& s, const Vector& t) const;
  // W x + b, absorbing a preceding single-use normalisation.
  int dense(const Value& x, Matrix W, Vector b) const;
  // -x as an ElementwiseAffine node named `name`.
  int negate(int node, const std::string& name) const;
  // Binds output 0 to x reshaped to d (a constant is relabelled; no node
  // when the shape is the same).
  void reshape(const Value& x, const Dims& d) const;
  void set_softmax_output() const;

 private:
  Importer& im_;
  int index_;
};

using Handler = void (*)(const NodeContext&);

// One row of the operator table.
struct OperatorEntry {
  const char* name;
  const char* becomes;                  // for `tessera info --operators` and the user guide
  std::vector<std::string> attributes;  // every attribute the handler understands; others are refused
  Handler handle;
};
// In the user guide's order.
const std::vector<OperatorEntry>& operator_entries();
// The entry named `op_type`, or nullptr.
const OperatorEntry* find_operator(const std::string& op_type);

// Handlers (ops_*.cpp).
void op_constant(const NodeContext&);
void op_identity(const NodeContext&);
void op_cast(const NodeContext&);
void op_shape(const NodeContext&);
void op_squeeze(const NodeContext&);
void op_reshape(const NodeContext&);
void op_flatten(const NodeContext&);
void op_gather(const NodeContext&);
void op_concat(const NodeContext&);
void op_transpose(const NodeContext&);
void op_pad(const NodeContext&);
void op_gemm(const NodeContext&);
void op_matmul(const NodeContext&);
void op_arithmetic(const NodeContext&);
void op_batch_norm(const NodeContext&);
void op_conv(const NodeContext&);
void op_pool(const NodeContext&);
void op_activation(const NodeContext&);
void op_max_min(const NodeContext&);
void op_softmax(const NodeContext&);

// The last-layer Laplace posterior stored in the model's metadata and
// initializers (io/laplace_io.hpp), checked against net's last layer; null
// when the model has none. `initializers` are the decoded initializers by
// name. Throws tessera::Error "SOURCE: Laplace posterior: ..." for a
// malformed one.
std::shared_ptr<const LaplaceHead> read_laplace_posterior(const onnx::ModelProto& model,
                                                          const std::map<std::string, Value>& initializers,
                                                          const Network& net, const std::string& source);

// The graph walk.
class Importer {
 public:
  Importer(const std::string& source, const OnnxLoadOptions& options)
      : source_(source), budget_{options.max_parameter_bytes}, read_laplace_(options.read_laplace) {}
  Network run(const std::string& bytes);

 private:
  friend class NodeContext;
  std::vector<std::string> class_names(const onnx::ModelProto& model, int outputs) const;
  void add_graph_input(const onnx::GraphProto& g);
  void import_node(const onnx::NodeProto& n, int index);
  void bind(const std::string& name, Value v);
  bool foldable(int node) const;
  Shape sample_shape(const Dims& dims) const;

  std::string source_;
  TensorBudget budget_;
  bool read_laplace_ = true;
  std::int64_t opset_ = 0;
  NetworkBuilder builder_;
  std::map<std::string, Value> values_;
  std::map<std::string, int> uses_;
  std::map<int, int> node_uses_;
  std::string graph_output_;
  bool softmax_output_ = false;
  Dims declared_input_;
};

}  // namespace tessera::onnx_import
