#include "core/affine_report.hpp"

#include <algorithm>

#include "core/limits.hpp"

namespace tessera {

AffineReport affine_report(const Network& net, const Vector& x, const std::string& what, bool layers) {
  AffineReport r;
  r.pass = forward_pass(net, x, what);
  r.map = affine_map(net, r.pass.pattern);
  r.softmax = softmax(r.pass.logits());
  Eigen::Index cls = 0;
  r.softmax.maxCoeff(&cls);
  r.predicted_class = static_cast<int>(cls);
  r.confidence = r.softmax[cls];
  const Vector reproduced = r.map(x);
  r.max_relative_residual = (reproduced - r.pass.logits()).cwiseAbs().maxCoeff() /
                            std::max(1.0, r.pass.logits().cwiseAbs().maxCoeff());
  if (layers) {
    std::int64_t units = 0;
    for (int i : pre_activation_nodes(net)) units = add_or_neg(units, net.nodes[i].shape.size());
    check_memory(mul_or_neg(mul_or_neg(units, net.input_size()), 2 * 8),
                 "--layers: the maps of " + std::to_string(units) + " hidden units on " + std::to_string(net.input_size()) +
                     " inputs");
    r.hidden_maps = node_affine_maps(net, r.pass.pattern, pre_activation_nodes(net));
  }
  return r;
}

}  // namespace tessera
