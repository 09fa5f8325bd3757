// The forward pass and the activation pattern of one input, and the softmax.
#pragma once

#include <vector>

#include "core/activation_pattern.hpp"
#include "core/network.hpp"

namespace tessera {

struct ForwardPass {
  std::vector<Vector> values;  // values[i]: output of node i (values[0] = x)
  ActivationPattern pattern;   // Σ(x) of every piecewise node
  const Vector& logits() const { return values.back(); }
};

// Checks that x has the network's input size and is finite (tessera::Error
// otherwise), then evaluates every node. `what` names the input in errors.
ForwardPass forward_pass(const Network& net, const Vector& x, const std::string& what = "input");

// Only the logits / only the pattern (same checks).
Vector logits(const Network& net, const Vector& x);
ActivationPattern activation_pattern(const Network& net, const Vector& x);

// Softmax computed from logit differences with log-sum-exp: finite for any
// finite logits, however large.
Vector softmax(const Vector& logits);
// log of the largest softmax probability (<= 0), stable for huge logits.
double log_max_confidence(const Vector& logits);

// Throws tessera::Error unless x has `size` finite entries.
void check_input(const Vector& x, int size, const std::string& what);

}  // namespace tessera
