// The one mechanism by which every node acts on values: for a fixed activation
// pattern each node is affine, x -> L x + c, and these functions apply L, its
// transpose, and c to many columns at once (columns are samples, directions
// or columns of a Jacobian).
//
// Shapes: X is (n_in x B) for a node with one input of n_in values; the
// result is (n_out x B). Transposes map (n_out x B) back to (n_in x B).
#pragma once

#include <vector>

#include "core/activation_pattern.hpp"
#include "core/network.hpp"

namespace tessera {

// L X for the linear part of node (any kind except Input and Add; piecewise
// nodes need `layer`, their fixed pattern, and ignore it otherwise).
Matrix apply_linear(const Node& node, const LayerPattern* layer, const Matrix& X);

// L^T G: the adjoint of apply_linear.
// n_in is the size of the node's input.
Matrix apply_linear_transpose(const Node& node, const LayerPattern* layer, const Matrix& G, std::int64_t n_in);

// Y += c, the node's constant term (bias, shift; for a Piecewise node the
// offsets of its units' pieces under `layer`), added to every column.
void add_offset(const Node& node, Eigen::Ref<Matrix> Y, const LayerPattern* layer = nullptr);

// Propagates the columns of X (input_size x B) through the network with the
// activation pattern held fixed. With with_offsets = false this applies the
// Jacobian of the region (directions); with true, the region's affine map
// (points). Returns the output (output_size x B); if `keep` is not null,
// (*keep)[i] receives node i's values for every node with keep_mask[i] set.
Matrix propagate_fixed(const Network& net, const ActivationPattern& pattern, const Matrix& X, bool with_offsets,
                       const std::vector<char>* keep_mask = nullptr, std::vector<Matrix>* keep = nullptr);

// Reverse accumulation: G (output_size x K) -> J^T G (input_size x K), where
// J is the Jacobian of the output on the region of `pattern`. If `offsets`
// is given it receives G^T a (K), where a is the region's constant term: the
// sum over nodes of (adjoint at the node)^T (the node's offset).
Matrix backpropagate_fixed(const Network& net, const ActivationPattern& pattern, const Matrix& G,
                           Vector* offsets = nullptr);

// adjoint^T c for a node's constant term c (zero for nodes without one).
Vector offset_adjoint(const Node& node, const Matrix& adjoint, const LayerPattern* layer = nullptr);

}  // namespace tessera
