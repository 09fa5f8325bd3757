// The network model shared by every module: a small directed acyclic graph of
// piecewise-affine operations in double precision.
//
// Values are single samples (no batch dimension). A value of shape {C, H, W} is
// stored as a flat vector in C-H-W order (PyTorch's NCHW flattening), a value
// of shape {n} as itself. Every node produces one value; nodes are stored in
// topological order, node 0 is the input and the last node is the output
// (the logits, before any softmax).
#pragma once

#include <Eigen/Dense>
#include <Eigen/Sparse>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace tessera {

struct LaplaceHead;  // core/laplace.hpp

using Vector = Eigen::VectorXd;
using Matrix = Eigen::MatrixXd;
using SparseRowMatrix = Eigen::SparseMatrix<double, Eigen::RowMajor>;

// Largest number of pieces of one Piecewise unit.
constexpr int kMaxPieces = 16;

// Largest number of values in one tensor, activation or lookup table
// (2^31 - 1, so that indices fit an int), and along one axis.
constexpr std::int64_t kMaxValues = 2147483647;
constexpr std::int64_t kMaxDimension = 2147483647;

// Shape of one sample, batch dimension excluded: {n} or {C, H, W}.
struct Shape {
  std::vector<int> dims;

  Shape() = default;
  Shape(std::initializer_list<int> d) : dims(d) {}
  explicit Shape(std::vector<int> d) : dims(std::move(d)) {}

  std::int64_t size() const;  // product of dims; 0 when empty, -1 when it overflows
  bool is_image() const { return dims.size() == 3; }
  int channels() const { return dims.at(0); }
  int height() const { return dims.at(1); }
  int width() const { return dims.at(2); }
  std::string str() const;  // "3x28x28"
  bool operator==(const Shape& o) const { return dims == o.dims; }
  bool operator!=(const Shape& o) const { return dims != o.dims; }
};

enum class OpKind {
  Input,              // the network input
  Dense,              // y = W x + b
  Conv2d,             // 2-D cross-correlation (PyTorch Conv2d, groups = 1)
  AvgPool2d,          // average pooling
  MaxPool2d,          // max pooling (piecewise: selects one input per window)
  Relu,               // y = max(x, 0) (piecewise)
  LeakyRelu,          // y = x if x > 0 else slope·x (piecewise)
  Add,                // y = x1 + x2 (residual connections)
  ElementwiseAffine,  // y = scale ⊙ x + shift (normalisation that could not be folded)
  Reshape,            // same numbers, new shape (Flatten, Reshape)
  Permute,            // y_j = x_{index_j}, 0 where index_j = -1 (transposes, zero padding, crops)
  Piecewise           // y_i = s_ik x_i + o_ik on piece k of unit i (Clip, Abs, PRelu, Max/Min with a constant)
};

const char* op_name(OpKind kind);

// Sliding-window geometry for Conv2d, AvgPool2d and MaxPool2d.
struct Window2d {
  int kernel_h = 1, kernel_w = 1;
  int stride_h = 1, stride_w = 1;
  int pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  int dilation_h = 1, dilation_w = 1;
};

struct Node {
  OpKind kind = OpKind::Input;
  std::string name;         // name in the model file, or generated
  std::vector<int> inputs;  // indices of earlier nodes
  Shape shape;              // shape of this node's output

  // Parameters; which ones a kind uses:
  //   Dense:             weight (n_out x n_in), bias (n_out)
  //   Conv2d:            weight (C_out x C_in*kh*kw, rows in PyTorch OIHW order),
  //                      bias (C_out), window
  //   AvgPool2d:         window, count_include_pad
  //   MaxPool2d:         window
  //   LeakyRelu:         slope
  //   ElementwiseAffine: scale, shift (both of the node's size)
  //   Permute:           index (output j takes input index[j], or 0 if it is -1)
  //   Piecewise:         knots (rows x (P-1)), piece_slopes and piece_offsets
  //                      (rows x P), where rows is 1 (shared by every unit)
  //                      or the node's size. Unit i is on piece k when
  //                      exactly k of its knots lie strictly below its
  //                      input z; there y = piece_slope(i, k) z +
  //                      piece_offset(i, k). Knots ascend, the function is
  //                      continuous, and P is between 2 and kMaxPieces.
  Matrix weight;
  Vector bias;
  Window2d window;
  bool count_include_pad = false;
  double slope = 0.0;
  Vector scale, shift;
  std::vector<int> index;
  Matrix knots, piece_slopes, piece_offsets;

  // Derived by Network::finalize():
  //   Conv2d:    gather[p * R + r] = input index read by im2col row r at output
  //              position p (R = C_in*kh*kw), or -1 for padding.
  //   MaxPool2d: gather[o * K + k] = input index of the k-th window element of
  //              output o (K = kh*kw), or -1 for padding.
  //   AvgPool2d: pool, the sparse averaging matrix (n_out x n_in).
  //   Dense, Conv2d: weight_t, the transpose of weight (contiguous rows of
  //              W for reverse accumulation).
  std::vector<int> gather;
  SparseRowMatrix pool;
  Matrix weight_t;

  // True for Relu, LeakyRelu, Piecewise and MaxPool2d: the nodes that carry
  // a pattern.
  bool is_piecewise() const {
    return kind == OpKind::Relu || kind == OpKind::LeakyRelu || kind == OpKind::MaxPool2d ||
           kind == OpKind::Piecewise;
  }

  // Piecewise nodes: the number of pieces, and unit i's knots, slopes and
  // offsets (rows shared by all units when the tables have one row).
  int pieces() const { return static_cast<int>(piece_slopes.cols()); }
  double knot(Eigen::Index i, int j) const { return knots(knots.rows() == 1 ? 0 : i, j); }
  double piece_slope(Eigen::Index i, int k) const { return piece_slopes(piece_slopes.rows() == 1 ? 0 : i, k); }
  double piece_offset(Eigen::Index i, int k) const { return piece_offsets(piece_offsets.rows() == 1 ? 0 : i, k); }
  // The piece of unit i at input z: the number of knots strictly below z.
  int piece_at(Eigen::Index i, double z) const {
    int k = 0;
    while (k + 1 < pieces() && z > knot(i, k)) ++k;
    return k;
  }
  std::int64_t parameter_count() const;
};

class Network {
 public:
  std::vector<Node> nodes;      // topological order; nodes[0] is the input
  bool softmax_output = false;  // the model file ended in Softmax (recorded, not a layer)
  std::string source;           // where it was loaded from, for messages
  // The input's shape as the model file declares it, batch included (0 for
  // a symbolic batch), e.g. {0, 784, 1}; empty for networks built in code.
  // Informational: the network reads the sample's values in that layout's
  // row-major order.
  std::vector<std::int64_t> declared_input_dims;
  // The classes' names: one per output, from the model file's metadata
  // (key "class_names", comma-separated), or empty.
  std::vector<std::string> class_names;
  // A last-layer Laplace posterior stored with the model (core/laplace.hpp,
  // io/laplace_io.hpp), checked against the last layer when loaded; null
  // when the model has none. Networks derived from this one (a different
  // last layer) must reset it.
  std::shared_ptr<const LaplaceHead> laplace;
  // Class k's name, or "class k" when the model names none.
  std::string class_name(int k) const;

  const Shape& input_shape() const { return nodes.front().shape; }
  const Shape& output_shape() const { return nodes.back().shape; }
  int input_size() const { return static_cast<int>(input_shape().size()); }
  int output_size() const { return static_cast<int>(output_shape().size()); }
  int output_node() const { return static_cast<int>(nodes.size()) - 1; }
  std::int64_t parameter_count() const;
  // Bytes the model occupies in memory: weights (W and W^T), biases, lookup
  // tables, and one value per node (what a forward pass holds).
  std::int64_t memory_bytes() const;

  // Indices of the Relu / LeakyRelu / Piecewise / MaxPool2d nodes, in order.
  std::vector<int> piecewise_nodes() const;

  // Checks every node (shapes, finite parameters, topological inputs) and
  // builds the derived tables. Throws tessera::Error naming the node.
  void finalize();
};

// Builds a Network node by node, checking and inferring shapes as it goes.
// Every method returns the new node's index; errors throw tessera::Error
// naming the node.
class NetworkBuilder {
 public:
  int input(const Shape& shape, const std::string& name = "input");
  int dense(int in, Matrix weight, Vector bias, const std::string& name = "");
  // weight: C_out x (C_in*kernel_h*kernel_w); window.kernel_* must match.
  int conv2d(int in, Matrix weight, Vector bias, const Window2d& window, const std::string& name = "");
  int avg_pool2d(int in, const Window2d& window, bool count_include_pad, const std::string& name = "");
  int max_pool2d(int in, const Window2d& window, const std::string& name = "");
  int relu(int in, const std::string& name = "");
  int leaky_relu(int in, double slope, const std::string& name = "");
  // A general elementwise piecewise-linear node (see Node): tables with one
  // row (shared) or one row per unit. Checks that the knots ascend, that the
  // function is continuous at every knot, and that everything is finite.
  int piecewise(int in, Matrix knots, Matrix slopes, Matrix offsets, const std::string& name = "");
  // Common cases: clip(x, lo, hi) (ReLU6, Hardtanh); |x|; x > 0 ? x : a_i x
  // with one slope per unit; max(x, c_i) and min(x, c_i).
  int clip(int in, double lo, double hi, const std::string& name = "");
  int abs(int in, const std::string& name = "");
  int prelu(int in, const Vector& slopes, const std::string& name = "");
  int max_constant(int in, const Vector& c, const std::string& name = "");
  int min_constant(int in, const Vector& c, const std::string& name = "");
  int add(int a, int b, const std::string& name = "");
  int elementwise_affine(int in, Vector scale, Vector shift, const std::string& name = "");
  int reshape(int in, const Shape& shape, const std::string& name = "");
  int permute(int in, std::vector<int> index, const Shape& shape, const std::string& name = "");

  // Access while building (used by the ONNX importer to fold constants).
  Node& node(int i) { return net_.nodes.at(i); }
  int size() const { return static_cast<int>(net_.nodes.size()); }
  // Number of nodes that read node i so far.
  int consumer_count(int i) const;

  // Keeps only what the output depends on, renumbers, finalises.
  Network build(int output, bool softmax_output = false, const std::string& source = "");

 private:
  int push(Node n);
  Network net_;
  std::vector<int> consumers_;  // readers of each node so far
};

// Which standard operator a Piecewise node is, when it is one: clip(x, lo,
// hi) with shared bounds, |x|, PRelu (x > 0 ? x : a_i x), max(x, c_i),
// min(x, c_i); General otherwise.
enum class PiecewiseForm { Clip, Abs, PRelu, MaxConstant, MinConstant, General };
PiecewiseForm piecewise_form(const Node& node);
// "Clip", "Abs", "PRelu", "Max", "Min" or "Piecewise".
const char* piecewise_form_name(PiecewiseForm form);

// Output size of a sliding window along one axis; throws if not positive.
int window_output_size(int in, int kernel, int stride, int pad_begin, int pad_end, int dilation);

}  // namespace tessera
