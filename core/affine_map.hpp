// Local affine maps: on the linear region of an activation pattern the
// network (and every node in it) is affine, f(z) = V z + a. These are the
// seed's V^(k), a^(k):
//   V^(k) = W^(k) Σ^(k-1) W^(k-1) ... Σ^(1) W^(1),
//   a^(k) = b^(k) + Σ_l W^(k) Σ^(k-1) ... W^(l+1) Σ^(l) b^(l),
// generalised to every node kind of core/network.hpp.
#pragma once

#include <vector>

#include "core/activation_pattern.hpp"
#include "core/network.hpp"

namespace tessera {

struct AffineMap {
  Matrix V;  // n_out x d
  Vector a;  // n_out
  Vector operator()(const Vector& z) const { return V * z + a; }
};

// The output's map on the region of `pattern`, by reverse accumulation
// (cost ~ output_size backward passes, skipping inactive units). a is
// accumulated from every node's bias weighted by its adjoint (the seed's sum
// formula for a^(k)), not computed as f(x) - V x, so it carries no
// cancellation.
AffineMap affine_map(const Network& net, const ActivationPattern& pattern);
// Same, for the region containing x.
AffineMap affine_map_at(const Network& net, const Vector& x);

// Maps of chosen nodes' outputs on the region of `pattern`, by forward
// accumulation (cost ~ input_size forward passes).
struct NodeAffineMap {
  int node = -1;
  AffineMap map;
};
std::vector<NodeAffineMap> node_affine_maps(const Network& net, const ActivationPattern& pattern,
                                            const std::vector<int>& nodes);

// The hidden layers' pre-activations: the input node of every Relu,
// LeakyRelu and MaxPool2d node, in order (the hyperplanes of the region).
std::vector<int> pre_activation_nodes(const Network& net);

// d/dt f(x + t d) for the fixed pattern (output_size), and of every node
// (values[i] for node i) — everything a traversal of a line needs.
Vector directional_derivative(const Network& net, const ActivationPattern& pattern, const Vector& d);
std::vector<Vector> node_directional_derivatives(const Network& net, const ActivationPattern& pattern,
                                                 const Vector& d);

// Batch versions: column j of X is one input. Parallel over inputs.
std::vector<AffineMap> affine_maps(const Network& net, const Matrix& X);
std::vector<ActivationPattern> activation_patterns(const Network& net, const Matrix& X);

}  // namespace tessera
