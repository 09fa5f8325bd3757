#include "core/graph_walker.hpp"

#include <algorithm>

namespace tessera {

WalkPlan::WalkPlan(const Network& n) : net(&n) {
  const int N = static_cast<int>(n.nodes.size());
  layer_of.assign(N, -1);
  last_use.assign(N, -1);
  int layer = 0;
  for (int k = 0; k < N; ++k) {
    if (n.nodes[k].is_piecewise()) layer_of[k] = layer++;
    for (int in : n.nodes[k].inputs) last_use[in] = std::max(last_use[in], k);
  }
  last_use[N - 1] = N;
}

GraphWalk::GraphWalk(const WalkPlan& plan, Matrix input, Eigen::Index points_begin, Eigen::Index points_end,
                     const std::vector<char>* keep, const ActivationPattern* fixed)
    : plan_(&plan), keep_(keep), fixed_(fixed), points_begin_(points_begin), points_end_(points_end) {
  if (!fixed) pattern = empty_pattern(*plan.net);
  values.resize(plan.net->nodes.size());
  values[0] = std::move(input);
}

bool GraphWalk::advance() {
  const auto& nodes = plan_->net->nodes;
  const int N = static_cast<int>(nodes.size());
  for (; k_ < N; ++k_) {
    const Node& n = nodes[k_];
    if (n.is_piecewise()) return true;
    if (n.kind == OpKind::Add) {
      values[k_] = values[n.inputs[0]] + values[n.inputs[1]];
    } else {
      values[k_] = apply_linear(n, nullptr, values[n.inputs[0]]);
      if (points_end_ > points_begin_)
        add_offset(n, values[k_].middleCols(points_begin_, points_end_ - points_begin_));
    }
    finish_node();
  }
  return false;
}

void GraphWalk::apply_piecewise() {
  const Node& n = current();
  const LayerPattern& l = layer_pattern();
  const int in = n.inputs[0];
  if (n.kind == OpKind::Relu || n.kind == OpKind::LeakyRelu) {
    // In place: the input's rows, inactive ones times the slope (0 or the
    // leak; the same numbers as apply_linear's diagonal product). The input
    // is taken when no later node reads it.
    Matrix& out = values[k_];
    if (plan_->last_use[in] == k_ && !(keep_ && (*keep_)[in]))
      out = std::move(values[in]);
    else
      out = values[in];
    const double slope = n.kind == OpKind::LeakyRelu ? n.slope : 0.0;
    for (int i = 0; i < l.size; ++i)
      if (!l.active(i)) out.row(i) *= slope;
    finish_node();
    ++k_;
    return;
  }
  values[k_] = apply_linear(n, &l, values[in]);
  if (n.kind == OpKind::Piecewise && points_end_ > points_begin_)
    add_offset(n, values[k_].middleCols(points_begin_, points_end_ - points_begin_), &l);
  finish_node();
  ++k_;
}

void GraphWalk::finish_node() {
  const Node& n = plan_->net->nodes[k_];
  for (size_t j = 0; j < n.inputs.size(); ++j) {
    const int in = n.inputs[j];
    if (j > 0 && in == n.inputs[0]) continue;  // x + x: release once
    if (plan_->last_use[in] == k_ && !(keep_ && (*keep_)[in])) values[in] = Matrix();
  }
}

}  // namespace tessera
