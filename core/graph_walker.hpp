// The one graph walk through a network, with a pluggable decision rule.
//
// Every computation that follows values through the network under an
// activation pattern is this walk: the forward pass (one column, the
// pattern decided at the point), the traversal of a line (columns c and w of
// c + t·w, decided just right or left of t, or at t -> infinity), the slicers
// (columns: the slice coordinates and a constant, decided at a cell's
// centroid) and the fixed-pattern propagations behind local affine maps and
// polytope rows (the pattern given). Values are matrices whose rows are a
// node's units and whose columns are points or directions; point columns
// receive each node's constant term (bias, shift, piece offsets), direction
// columns do not.
//
// What a piecewise node kind means is written down here once:
//   - decide_layer(): how a rule fixes its pattern (ReLU and LeakyReLU: the
//     unit's value above 0; Piecewise: how many knots lie below the value;
//     MaxPool2d: which window entry beats the others);
//   - for_each_wall(): the walls of the region of a given pattern, as affine
//     functions of the node's input that must stay >= 0 (traversal roots,
//     polytope rows);
//   - for_each_cut(): every function whose zero set can cut a region (the
//     slicers cut cells by all of them).
// A new piecewise kind adds a case to those three functions, to
// apply_linear/add_offset (core/linear_ops.cpp) and to LayerPattern.
#pragma once

#include <vector>

#include "core/activation_pattern.hpp"
#include "core/linear_ops.hpp"
#include "core/network.hpp"

namespace tessera {

// A decision rule answers two questions about the rows of a piecewise
// node's input `in` (any number of columns; the rule knows what they mean):
//   bool above(const Matrix& in, Eigen::Index i, double level, bool* tie)
//     whether unit i's value lies above `level` (on the rule's side);
//   bool beats(const Matrix& in, Eigen::Index j, Eigen::Index best, bool* tie)
//     whether window entry j beats the current winner `best` (strictly;
//     the first of equal entries wins).
// Either may set *tie when the decision was a tie broken by the rule's
// convention (a unit exactly on its wall); decide_layer then calls
// rule.tied() once for that unit or window.

// The forward pass's rule: the values of column `col` at face value.
// Σ: active iff the pre-activation is > 0 (core/tolerances.hpp).
struct AtColumn {
  Eigen::Index col = 0;
  bool above(const Matrix& in, Eigen::Index i, double level, bool*) const { return in(i, col) > level; }
  bool beats(const Matrix& in, Eigen::Index j, Eigen::Index best, bool*) const { return in(j, col) > in(best, col); }
  void tied() {}
};

// Fixes unit i (for MaxPool2d: window i) of piecewise node `n` from its
// input values by `rule`.
template <class Rule>
void decide_unit(const Node& n, const Matrix& in, Rule& rule, LayerPattern& l, int i) {
  bool tie = false;
  switch (n.kind) {
    case OpKind::Relu:
    case OpKind::LeakyRelu: {
      std::uint64_t& word = l.bits[static_cast<size_t>(i) >> 6];
      const std::uint64_t bit = std::uint64_t{1} << (i & 63);
      word = rule.above(in, i, 0.0, &tie) ? word | bit : word & ~bit;
      break;
    }
    case OpKind::Piecewise: {
      // Unit i is on piece k when exactly k of its (ascending) knots lie
      // below its value.
      int piece = 0;
      for (int j = 0; j + 1 < n.pieces(); ++j) piece += rule.above(in, i, n.knot(i, j), &tie);
      l.pieces[i] = static_cast<std::uint8_t>(piece);
      break;
    }
    case OpKind::MaxPool2d: {
      const int K = n.window.kernel_h * n.window.kernel_w;
      const int* window = &n.gather[static_cast<size_t>(i) * K];
      int best = -1;
      for (int k = 0; k < K; ++k) {
        const int j = window[k];
        if (j < 0) continue;
        if (best < 0 || rule.beats(in, j, best, &tie)) best = j;
      }
      l.selection[i] = best;
      break;
    }
    default: return;
  }
  if (tie) rule.tied();
}

// Fixes the whole pattern of piecewise node `n` by `rule`.
template <class Rule>
void decide_layer(const Node& n, const Matrix& in, Rule& rule, LayerPattern& l) {
  for (int i = 0; i < l.size; ++i) decide_unit(n, in, rule, l, i);
}

// One wall of a region: the affine function g = sign·(in[a] - in[b] - level)
// of the node's input (in[b] absent when b = -1) is >= 0 on the region.
struct Wall {
  int unit = 0;    // the unit (ReLU, Piecewise) or window (MaxPool2d) it belongs to
  int a = 0, b = -1;
  double level = 0;
  double sign = 1;
  int knot = -1;   // Piecewise: the knot
};

// The walls of the region of pattern `l` at node `n` that belong to unit
// (for MaxPool2d: window) i: for a ReLU unit its hyperplane with the side it
// is on; for a Piecewise unit the knots just below and just above its
// piece; for a max-pool window, the winner against every other entry.
template <class F>
void for_each_unit_wall(const Node& n, const LayerPattern& l, int i, F&& f) {
  switch (n.kind) {
    case OpKind::Relu:
    case OpKind::LeakyRelu: f(Wall{i, i, -1, 0.0, l.active(i) ? 1.0 : -1.0, -1}); break;
    case OpKind::Piecewise: {
      const int k = l.pieces[i];
      if (k > 0) f(Wall{i, i, -1, n.knot(i, k - 1), 1.0, k - 1});
      if (k + 1 < n.pieces()) f(Wall{i, i, -1, n.knot(i, k), -1.0, k});
      break;
    }
    case OpKind::MaxPool2d: {
      const int K = n.window.kernel_h * n.window.kernel_w;
      const int j = l.selection[i];
      for (int k = 0; k < K; ++k) {
        const int q = n.gather[static_cast<size_t>(i) * K + k];
        if (q >= 0 && q != j) f(Wall{i, j, q, 0.0, 1.0, -1});
      }
      break;
    }
    default: break;
  }
}

// All walls of the region of pattern `l` at node `n`.
template <class F>
void for_each_wall(const Node& n, const LayerPattern& l, F&& f) {
  for (int i = 0; i < l.size; ++i) for_each_unit_wall(n, l, i, f);
}

// Every function of node n's input whose zero set separates two patterns:
// each unit against 0, each unit against each of its knots, each pair of
// entries of a max-pool window. (Wall::sign is +1.)
template <class F>
void for_each_cut(const Node& n, F&& f) {
  switch (n.kind) {
    case OpKind::Relu:
    case OpKind::LeakyRelu: {
      const auto units = n.shape.size();
      for (int i = 0; i < units; ++i) f(Wall{i, i, -1, 0.0, 1.0, -1});
      break;
    }
    case OpKind::Piecewise: {
      const auto units = n.shape.size();
      for (int i = 0; i < units; ++i)
        for (int j = 0; j + 1 < n.pieces(); ++j) f(Wall{i, i, -1, n.knot(i, j), 1.0, j});
      break;
    }
    case OpKind::MaxPool2d: {
      const int K = n.window.kernel_h * n.window.kernel_w;
      const auto outputs = n.shape.size();
      for (int o = 0; o < outputs; ++o) {
        const int* w = &n.gather[static_cast<size_t>(o) * K];
        for (int a = 0; a < K; ++a)
          for (int b = a + 1; b < K; ++b)
            if (w[a] >= 0 && w[b] >= 0) f(Wall{o, w[a], w[b], 0.0, 1.0, -1});
      }
      break;
    }
    default: break;
  }
}

// What a walk needs to know about a network, computed once per network.
struct WalkPlan {
  explicit WalkPlan(const Network& net);
  const Network* net = nullptr;
  std::vector<int> layer_of;  // node -> its index in ActivationPattern::layers, or -1
  std::vector<int> last_use;  // the last node reading each node (N for the output)
};

// One walk through the network. Copyable: a slicer copies a walk when it
// cuts a cell in two.
class GraphWalk {
 public:
  // `input` holds the input node's columns; columns [points_begin,
  // points_end) are points, the others directions. `keep` (may be null)
  // marks nodes whose values stay in `values` after their last reader; the
  // output always stays. With `fixed` the pattern is given (not decided).
  GraphWalk(const WalkPlan& plan, Matrix input, Eigen::Index points_begin, Eigen::Index points_end,
            const std::vector<char>* keep = nullptr, const ActivationPattern* fixed = nullptr);

  // Applies the affine nodes from the current one up to the next piecewise
  // node. Returns true when it stopped at one (node() is it, and its
  // pattern must now be decided, or is fixed), false at the end.
  bool advance();
  int node() const { return k_; }
  const Node& current() const { return plan_->net->nodes[k_]; }
  // The input values of the piecewise node node().
  const Matrix& piecewise_input() const { return values[current().inputs[0]]; }
  // Its pattern (to be decided, unless the walk is fixed).
  LayerPattern& layer() { return pattern.layers[plan_->layer_of[k_]]; }
  const LayerPattern& layer_pattern() const {
    const auto l = plan_->layer_of[k_];
    return fixed_ ? fixed_->layers[l] : pattern.layers[l];
  }
  // Applies node node() with its pattern and moves past it.
  void apply_piecewise();

  // Decides node() by `rule` and applies it.
  template <class Rule>
  void decide(Rule& rule) {
    decide_layer(current(), piecewise_input(), rule, layer());
    apply_piecewise();
  }
  // The whole walk, deciding every piecewise node by `rule`.
  template <class Rule>
  void run(Rule& rule) {
    while (advance()) decide(rule);
  }
  // The whole walk under the fixed pattern.
  void run_fixed() {
    while (advance()) apply_piecewise();
  }

  const Matrix& output() const { return values.back(); }

  // Continues from node k instead of node 1: the caller has filled
  // `values` of every node before k that a later node reads (a prefix that
  // does not depend on the pattern, computed once).
  void start_at(int k) { k_ = k; }

  ActivationPattern pattern;   // decided so far (empty for fixed walks)
  std::vector<Matrix> values;  // each node's values while needed, and the kept ones

 private:
  void finish_node();  // releases values no later node reads
  const WalkPlan* plan_;
  const std::vector<char>* keep_;
  const ActivationPattern* fixed_;
  Eigen::Index points_begin_, points_end_;
  int k_ = 1;
};

}  // namespace tessera
