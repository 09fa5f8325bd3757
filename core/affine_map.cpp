#include "core/affine_map.hpp"

#include <exception>
#include <mutex>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "core/linear_ops.hpp"

namespace tessera {

AffineMap affine_map(const Network& net, const ActivationPattern& pattern) {
  AffineMap m;
  const Matrix identity = Matrix::Identity(net.output_size(), net.output_size());
  m.V = backpropagate_fixed(net, pattern, identity, &m.a).transpose();
  return m;
}

AffineMap affine_map_at(const Network& net, const Vector& x) { return affine_map(net, activation_pattern(net, x)); }

std::vector<int> pre_activation_nodes(const Network& net) {
  std::vector<int> out;
  for (int i : net.piecewise_nodes()) out.push_back(net.nodes[i].inputs[0]);
  return out;
}

std::vector<NodeAffineMap> node_affine_maps(const Network& net, const ActivationPattern& pattern,
                                            const std::vector<int>& nodes) {
  const int N = static_cast<int>(net.nodes.size());
  std::vector<char> mask(N, 0);
  for (int i : nodes) {
    if (i < 0 || i >= N) throw Error("node_affine_maps: node " + std::to_string(i) + " does not exist");
    mask[i] = 1;
  }
  // One pass for the linear parts (columns of the identity) and one for the
  // offsets (the point 0): both with the same fixed pattern.
  std::vector<Matrix> linear, offset;
  const int d = net.input_size();
  propagate_fixed(net, pattern, Matrix::Identity(d, d), false, &mask, &linear);
  propagate_fixed(net, pattern, Matrix::Zero(d, 1), true, &mask, &offset);
  std::vector<NodeAffineMap> out;
  for (int i : nodes) {
    NodeAffineMap m;
    m.node = i;
    m.map.V = linear[i];
    m.map.a = offset[i].col(0);
    out.push_back(std::move(m));
  }
  return out;
}

Vector directional_derivative(const Network& net, const ActivationPattern& pattern, const Vector& d) {
  check_input(d, net.input_size(), "direction");
  return propagate_fixed(net, pattern, d, false).col(0);
}

std::vector<Vector> node_directional_derivatives(const Network& net, const ActivationPattern& pattern,
                                                 const Vector& d) {
  check_input(d, net.input_size(), "direction");
  std::vector<char> mask(net.nodes.size(), 1);
  std::vector<Matrix> keep;
  propagate_fixed(net, pattern, d, false, &mask, &keep);
  std::vector<Vector> out(keep.size());
  for (size_t i = 0; i < keep.size(); ++i) out[i] = keep[i].col(0);
  return out;
}

namespace {
// Runs body(j) for every column in parallel; rethrows the first error.
template <typename Body>
void parallel_columns(Eigen::Index count, Body body) {
  std::exception_ptr error;
  std::mutex mutex;
#pragma omp parallel for schedule(dynamic)
  for (Eigen::Index j = 0; j < count; ++j) {
    try {
      body(j);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
    }
  }
  if (error) std::rethrow_exception(error);
}
}  // namespace

std::vector<AffineMap> affine_maps(const Network& net, const Matrix& X) {
  std::vector<AffineMap> out(X.cols());
  parallel_columns(X.cols(), [&](Eigen::Index j) { out[j] = affine_map_at(net, X.col(j)); });
  return out;
}

std::vector<ActivationPattern> activation_patterns(const Network& net, const Matrix& X) {
  std::vector<ActivationPattern> out(X.cols());
  parallel_columns(X.cols(), [&](Eigen::Index j) { out[j] = activation_pattern(net, X.col(j)); });
  return out;
}

}  // namespace tessera
