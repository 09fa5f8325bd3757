// Internal: the incremental state of a line x0 + t·d (traverse_line's
// default walk).
//
// Every node keeps its values (c, w) along the line under the current
// pattern. Nodes before the first piecewise node never change. When units
// change at a breakpoint, only what they feed is updated: a dense layer by
// the changed columns of W, a convolution over the receptive fields of the
// changed inputs, pooling, permutations and sums on the rows they touch,
// piecewise nodes on the changed units (re-decided by the same rule as a
// fresh walk). The next breakpoint comes from a tournament tree over the
// walls of every unit and window, updated only where values changed.
//
// Dense and convolution updates accumulate rounding; refresh() recomputes
// everything from x0 and d (the caller does so at a fixed interval and
// before it claims a last region) and reports whether the fresh pattern
// agrees, so that the caller can redo the stretch since the last refresh.
#pragma once

#include <Eigen/Sparse>
#include <vector>

#include "core/graph_walker.hpp"
#include "regions/line_traversal.hpp"

namespace tessera::detail {

// A min-tree over leaves (one per unit or window), with the query "every
// leaf at most x".
class MinTree {
 public:
  void resize(int leaves);
  void set(int leaf, double v);
  // Sets a leaf without updating the tree; rebuild() then updates the
  // ancestors of leaves [first, last).
  void assign(int leaf, double v) { a_[static_cast<size_t>(size_) + leaf] = v; }
  void rebuild(int first, int last);
  double min() const { return a_[1]; }
  double at(int leaf) const { return a_[size_ + leaf]; }
  // Appends every leaf whose value is <= x.
  void collect_at_most(double x, std::vector<int>* out) const;

 private:
  void collect(int node, double x, std::vector<int>* out) const;
  int size_ = 1;
  std::vector<double> a_{std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
};

class IncrementalLine {
 public:
  IncrementalLine(const WalkPlan& plan, const Vector& x0, const Vector& d);

  // The fresh state just right of t: every node recomputed from x0 and d.
  // Returns the number of units and windows decided by a tie at t.
  std::size_t reset(double t);
  // Recomputes every value at state().t from x0 and d. Returns false when
  // the fresh pattern differs from the incremental one (the state is then
  // the fresh one). drift() is then the largest difference found, relative
  // to the magnitude of the values of its node.
  bool refresh();
  double drift() const { return drift_; }

  const LineState& state() const { return s_; }
  // The smallest t > state().t at which a unit or window changes (+inf if
  // none).
  double next() const { return roots_.min(); }
  // Moves to t = next(): the state just right of t, by incremental updates.
  // Returns true when the pattern at the point t itself differs from the
  // new state (units decided by a tie there); *point then holds it.
  bool step(double t, ActivationPattern* point);

 private:
  struct Layer {
    int node = -1, input = -1, first_leaf = 0;
  };
  LineState fresh_state(double t);
  void rebuild_leaves();
  // quiet: leave the trees' inner nodes to a later MinTree::rebuild.
  void update_leaf(int layer, int unit, bool quiet = false);
  void touch(int node, int row);
  void propagate(int k);
  void redecide(int layer, const std::vector<int>& units, std::vector<std::pair<int, int>>* tied);

  const WalkPlan& plan_;
  const Network& net_;
  Vector x0_, d_;
  std::vector<char> keep_all_;
  // Values of the nodes before the first piecewise node: they do not
  // depend on the pattern, so they are computed once per line.
  int first_piecewise_ = 1;
  std::vector<Matrix> prefix_;
  LineState s_;
  std::vector<Layer> layers_;
  MinTree roots_, triggers_;
  // Inverse tables (input index -> what reads it) in CSR form: Conv2d
  // (p * R + r), MaxPool2d (window), Permute (output).
  std::vector<std::vector<int>> inverse_start_, inverse_items_;
  std::vector<Eigen::SparseMatrix<double>> pool_columns_;  // AvgPool2d: column-major copy
  // Changes of the current step: per node, delta (new - old, n x 2), the
  // rows with a change, and a mark per row.
  std::vector<Matrix> delta_;
  std::vector<std::vector<int>> touched_;
  std::vector<std::vector<char>> marked_;
  std::vector<std::vector<int>> candidates_;  // per layer, this step
  std::vector<int> scratch_;
  double drift_ = 0;
};

}  // namespace tessera::detail
