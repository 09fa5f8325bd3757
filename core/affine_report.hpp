// Everything `tessera affine` (and the Python module's `affine`) reports for
// one input: the forward pass, the local affine map of the logits, the
// softmax, the predicted class, how well V x + a reproduces the logits, and
// optionally the map of every hidden pre-activation.
#pragma once

#include <string>
#include <vector>

#include "core/affine_map.hpp"
#include "core/forward.hpp"

namespace tessera {

struct AffineReport {
  ForwardPass pass;
  AffineMap map;                          // the logits' map on x's region
  Vector softmax;
  int predicted_class = 0;
  double confidence = 0;                  // softmax[predicted_class]
  double max_relative_residual = 0;       // |V x + a - f(x)|_inf / max(1, |f(x)|_inf)
  std::vector<NodeAffineMap> hidden_maps;  // with layers = true: pre_activation_nodes(net), in order
};

// `what` names x in error messages. With `layers`, the memory of the hidden
// maps is checked against the budget first (core/limits.hpp).
AffineReport affine_report(const Network& net, const Vector& x, const std::string& what = "input", bool layers = false);

}  // namespace tessera
