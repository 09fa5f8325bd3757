#include "regions/incremental_line.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/linear_ops.hpp"
#include "regions/line_rule.hpp"

namespace tessera::detail {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();

// A dense or convolution layer whose input changed in more than this
// fraction of its rows is updated by one product with the whole change.
constexpr int kDenseFraction = 8;
}  // namespace

void MinTree::resize(int leaves) {
  size_ = 1;
  while (size_ < std::max(leaves, 1)) size_ *= 2;
  a_.assign(2 * static_cast<size_t>(size_), kInf);
}

void MinTree::set(int leaf, double v) {
  size_t i = static_cast<size_t>(size_) + leaf;
  a_[i] = v;
  for (i /= 2; i >= 1; i /= 2) {
    const double m = std::min(a_[2 * i], a_[2 * i + 1]);
    if (a_[i] == m) break;
    a_[i] = m;
  }
}

void MinTree::rebuild(int first, int last) {
  if (first >= last) return;
  size_t lo = (static_cast<size_t>(size_) + first) / 2, hi = (static_cast<size_t>(size_) + last - 1) / 2;
  while (lo >= 1) {
    for (size_t i = lo; i <= hi; ++i) a_[i] = std::min(a_[2 * i], a_[2 * i + 1]);
    if (lo == 1) break;
    lo /= 2;
    hi /= 2;
  }
}

void MinTree::collect(int node, double x, std::vector<int>* out) const {
  if (!(a_[node] <= x)) return;
  if (node >= size_) {
    out->push_back(node - size_);
    return;
  }
  collect(2 * node, x, out);
  collect(2 * node + 1, x, out);
}

void MinTree::collect_at_most(double x, std::vector<int>* out) const { collect(1, x, out); }

IncrementalLine::IncrementalLine(const WalkPlan& plan, const Vector& x0, const Vector& d)
    : plan_(plan), net_(*plan.net), x0_(x0), d_(d) {
  const int N = static_cast<int>(net_.nodes.size());
  keep_all_.assign(N, 1);
  int leaves = 0;
  for (int k = 0; k < N; ++k) {
    const Node& n = net_.nodes[k];
    if (!n.is_piecewise()) continue;
    if (layers_.empty()) first_piecewise_ = k;
    layers_.push_back(Layer{k, n.inputs[0], leaves});
    leaves += static_cast<int>(n.shape.size());
  }
  roots_.resize(leaves);
  triggers_.resize(leaves);
  candidates_.resize(layers_.size());
  inverse_start_.resize(N);
  inverse_items_.resize(N);
  pool_columns_.resize(N);
  delta_.resize(N);
  touched_.resize(N);
  marked_.resize(N);
  for (int k = 0; k < N; ++k) {
    const Node& n = net_.nodes[k];
    const auto rows = n.shape.size();
    delta_[k] = Matrix::Zero(rows, 2);
    marked_[k].assign(static_cast<size_t>(rows), 0);
    if (k == 0) continue;
    const auto in_size = net_.nodes[n.inputs[0]].shape.size();
    // The gather table of a convolution or max-pool, or a permutation's
    // index, inverted: for every input, what reads it.
    const std::vector<int>* table = nullptr;
    int stride = 1;
    if (n.kind == OpKind::Conv2d) {
      table = &n.gather;
    } else if (n.kind == OpKind::MaxPool2d) {
      table = &n.gather;
      stride = n.window.kernel_h * n.window.kernel_w;
    } else if (n.kind == OpKind::Permute) {
      table = &n.index;
    } else if (n.kind == OpKind::AvgPool2d) {
      pool_columns_[k] = Eigen::SparseMatrix<double>(n.pool);
    }
    if (!table) continue;
    std::vector<int>& start = inverse_start_[k];
    std::vector<int>& items = inverse_items_[k];
    start.assign(static_cast<size_t>(in_size) + 1, 0);
    for (int j : *table)
      if (j >= 0) ++start[static_cast<size_t>(j) + 1];
    for (size_t j = 0; j < static_cast<size_t>(in_size); ++j) start[j + 1] += start[j];
    items.resize(start.back());
    std::vector<int> fill(start.begin(), start.end() - 1);
    for (size_t e = 0; e < table->size(); ++e) {
      const int j = (*table)[e];
      if (j >= 0) items[fill[j]++] = n.kind == OpKind::Conv2d ? static_cast<int>(e) : static_cast<int>(e) / stride;
    }
  }
}

LineState IncrementalLine::fresh_state(double t) {
  if (prefix_.empty()) {
    LineState s = line_state(plan_, x0_, d_, t, Side::Right, &keep_all_);
    prefix_.assign(s.cw.begin(), s.cw.begin() + first_piecewise_);
    return s;
  }
  GraphWalk walk(plan_, prefix_[0], 0, 1, &keep_all_);
  for (int k = 1; k < first_piecewise_; ++k) walk.values[k] = prefix_[k];
  walk.start_at(first_piecewise_);
  LineRule rule;
  rule.t = t;
  rule.mode = LineRule::Mode::Right;
  walk.run(rule);
  LineState s;
  s.t = t;
  s.pattern = std::move(walk.pattern);
  s.cw = std::move(walk.values);
  s.zero_units = rule.ties;
  return s;
}

std::size_t IncrementalLine::reset(double t) {
  s_ = fresh_state(t);
  rebuild_leaves();
  return s_.zero_units;
}

bool IncrementalLine::refresh() {
  LineState fresh = fresh_state(s_.t);
  drift_ = 0;
  for (size_t k = 0; k < fresh.cw.size(); ++k) {
    if (fresh.cw[k].size() == 0 || s_.cw[k].size() != fresh.cw[k].size()) continue;
    const double scale = fresh.cw[k].cwiseAbs().maxCoeff();
    if (scale > 0) drift_ = std::max(drift_, (s_.cw[k] - fresh.cw[k]).cwiseAbs().maxCoeff() / scale);
  }
  const bool same = fresh.pattern == s_.pattern;
  s_ = std::move(fresh);
  rebuild_leaves();
  return same;
}

void IncrementalLine::rebuild_leaves() {
  int leaves = 0;
  for (size_t l = 0; l < layers_.size(); ++l) {
    const int units = s_.pattern.layers[l].size;
    for (int u = 0; u < units; ++u) update_leaf(static_cast<int>(l), u, true);
    leaves += units;
  }
  roots_.rebuild(0, leaves);
  triggers_.rebuild(0, leaves);
}

// The nearest crossing ahead of the unit's (window's) walls, and the
// earliest t at which one of them is within the breakpoint tolerance of
// zero (where a fresh walk would already decide it by its slope).
void IncrementalLine::update_leaf(int layer, int unit, bool quiet) {
  const Layer& L = layers_[layer];
  const Node& n = net_.nodes[L.node];
  const Matrix& cw = s_.cw[L.input];
  const double t = s_.t;
  double root = kInf, trigger = kInf;
  if (n.kind == OpKind::Relu || n.kind == OpKind::LeakyRelu) {
    // The one wall of a ReLU unit, written out (the common case).
    const double sign = s_.pattern.layers[layer].active(unit) ? 1.0 : -1.0;
    const double c = cw(unit, 0), w = cw(unit, 1);
    if (sign * w < 0) {
      const double r = -(sign * c) / (sign * w);
      if (r > t) {
        root = r;
        trigger = r - 2 * tol::kBreakpointRelTol * (std::abs(c) + std::abs(r * w)) / std::abs(w);
      }
    }
  } else
  for_each_unit_wall(n, s_.pattern.layers[layer], unit, [&](const Wall& g) {
    double gc, gw;
    wall_on_line(g, cw, &gc, &gw);
    if (!(gw < 0)) return;
    const double r = -gc / gw;
    if (!(r > t)) return;
    root = std::min(root, r);
    // The magnitudes the tie test compares with (line_rule.hpp).
    double scale = std::abs(cw(g.a, 0) - g.level) + std::abs(r * cw(g.a, 1));
    if (g.b >= 0) scale = scale_at(cw(g.a, 0), cw(g.a, 1), r) + scale_at(cw(g.b, 0), cw(g.b, 1), r);
    trigger = std::min(trigger, r - 2 * tol::kBreakpointRelTol * scale / -gw);
  });
  if (quiet) {
    roots_.assign(L.first_leaf + unit, root);
    triggers_.assign(L.first_leaf + unit, trigger);
  } else {
    roots_.set(L.first_leaf + unit, root);
    triggers_.set(L.first_leaf + unit, trigger);
  }
}

void IncrementalLine::touch(int node, int row) {
  if (!marked_[node][row]) {
    marked_[node][row] = 1;
    touched_[node].push_back(row);
  }
}

// Re-decides the given units of a piecewise layer just right of t, updates
// the node's output rows and the units' leaves, and records the changes.
void IncrementalLine::redecide(int layer, const std::vector<int>& units, std::vector<std::pair<int, int>>* tied) {
  const Layer& L = layers_[layer];
  const Node& n = net_.nodes[L.node];
  const Matrix& in = s_.cw[L.input];
  Matrix& out = s_.cw[L.node];
  LayerPattern& l = s_.pattern.layers[layer];
  LineRule rule;
  rule.t = s_.t;
  rule.mode = LineRule::Mode::Right;
  // Many units: set their leaves, then update the trees once.
  const bool bulk = units.size() * 4 > static_cast<size_t>(l.size);
  for (int u : units) {
    const std::size_t ties = rule.ties;
    decide_unit(n, in, rule, l, u);
    if (rule.ties != ties) tied->emplace_back(layer, u);
    double c, w;
    if (n.kind == OpKind::MaxPool2d) {
      c = in(l.selection[u], 0);
      w = in(l.selection[u], 1);
    } else {
      double slope, offset = 0;
      if (n.kind == OpKind::Piecewise) {
        slope = n.piece_slope(u, l.pieces[u]);
        offset = n.piece_offset(u, l.pieces[u]);
      } else {
        slope = l.active(u) ? 1.0 : n.kind == OpKind::LeakyRelu ? n.slope : 0.0;
      }
      c = slope * in(u, 0) + offset;
      w = slope * in(u, 1);
    }
    if (c != out(u, 0) || w != out(u, 1)) {
      delta_[L.node](u, 0) += c - out(u, 0);
      delta_[L.node](u, 1) += w - out(u, 1);
      out(u, 0) = c;
      out(u, 1) = w;
      touch(L.node, u);
    }
    update_leaf(layer, u, bulk);
  }
  if (bulk) {
    roots_.rebuild(L.first_leaf, L.first_leaf + l.size);
    triggers_.rebuild(L.first_leaf, L.first_leaf + l.size);
  }
}

// Carries the changes of node k's inputs through node k (not piecewise).
void IncrementalLine::propagate(int k) {
  const Node& n = net_.nodes[k];
  const int in = n.inputs[0];
  const std::vector<int>& rows = touched_[in];
  const Matrix& din = delta_[in];
  Matrix& out = s_.cw[k];
  Matrix& dout = delta_[k];
  switch (n.kind) {
    case OpKind::Dense: {
      if (rows.empty()) return;
      if (rows.size() * kDenseFraction > static_cast<size_t>(din.rows())) {
        dout.col(0).noalias() += n.weight * din.col(0);
        dout.col(1).noalias() += n.weight * din.col(1);
      } else {
        for (int r : rows) {
          dout.col(0).noalias() += din(r, 0) * n.weight.col(r);
          dout.col(1).noalias() += din(r, 1) * n.weight.col(r);
        }
      }
      out += dout;
      for (int r = 0; r < out.rows(); ++r) touch(k, r);
      return;
    }
    case OpKind::Conv2d: {
      if (rows.empty()) return;
      const int P = n.shape.height() * n.shape.width();
      const int R = static_cast<int>(n.weight.cols());
      const int C = static_cast<int>(n.weight.rows());
      if (rows.size() * kDenseFraction > static_cast<size_t>(din.rows())) {
        dout.noalias() += apply_linear(n, nullptr, din);
        out += dout;
        for (int r = 0; r < out.rows(); ++r) touch(k, r);
        return;
      }
      const std::vector<int>& start = inverse_start_[k];
      const std::vector<int>& items = inverse_items_[k];
      for (int j : rows) {
        const double a = din(j, 0), b = din(j, 1);
        for (int e = start[j]; e < start[j + 1]; ++e) {
          const int p = items[e] / R, r = items[e] % R;
          const double* wcol = n.weight.col(r).data();
          for (int c = 0; c < C; ++c) {
            const int o = c * P + p;
            dout(o, 0) += wcol[c] * a;
            dout(o, 1) += wcol[c] * b;
            touch(k, o);
          }
        }
      }
      break;
    }
    case OpKind::AvgPool2d: {
      const Eigen::SparseMatrix<double>& pc = pool_columns_[k];
      for (int j : rows)
        for (Eigen::SparseMatrix<double>::InnerIterator it(pc, j); it; ++it) {
          dout(it.row(), 0) += it.value() * din(j, 0);
          dout(it.row(), 1) += it.value() * din(j, 1);
          touch(k, static_cast<int>(it.row()));
        }
      break;
    }
    case OpKind::ElementwiseAffine:
    case OpKind::Reshape: {
      for (int r : rows) {
        // As apply_linear and add_offset compute them (a reshape copies).
        const bool copy = n.kind == OpKind::Reshape;
        const double c = copy ? s_.cw[in](r, 0) : n.scale[r] * s_.cw[in](r, 0) + n.shift[r];
        const double w = copy ? s_.cw[in](r, 1) : n.scale[r] * s_.cw[in](r, 1);
        dout(r, 0) += c - out(r, 0);
        dout(r, 1) += w - out(r, 1);
        out(r, 0) = c;
        out(r, 1) = w;
        touch(k, r);
      }
      return;
    }
    case OpKind::Permute: {
      const std::vector<int>& start = inverse_start_[k];
      const std::vector<int>& items = inverse_items_[k];
      for (int j : rows)
        for (int e = start[j]; e < start[j + 1]; ++e) {
          const int o = items[e];
          dout.row(o) += s_.cw[in].row(j) - out.row(o);
          out.row(o) = s_.cw[in].row(j);
          touch(k, o);
        }
      return;
    }
    case OpKind::Add: {
      const int b = n.inputs[1];
      auto redo = [&](int r) {
        const double c = s_.cw[in](r, 0) + s_.cw[b](r, 0), w = s_.cw[in](r, 1) + s_.cw[b](r, 1);
        dout(r, 0) += c - out(r, 0);
        dout(r, 1) += w - out(r, 1);
        out(r, 0) = c;
        out(r, 1) = w;
        touch(k, r);
      };
      for (int r : rows) redo(r);
      if (b != in)
        for (int r : touched_[b]) redo(r);
      return;
    }
    default: return;
  }
  // Dense-like updates of a few rows (convolution, average pooling).
  for (int r : touched_[k]) {
    out(r, 0) += dout(r, 0);
    out(r, 1) += dout(r, 1);
  }
}

bool IncrementalLine::step(double t, ActivationPattern* point) {
  s_.t = t;
  // Units and windows with a wall at t (up to the tie tolerance): the
  // units a fresh walk would decide differently from before.
  scratch_.clear();
  triggers_.collect_at_most(t, &scratch_);
  for (auto& c : candidates_) c.clear();
  {
    size_t l = 0;
    for (int leaf : scratch_) {
      while (l + 1 < layers_.size() && leaf >= layers_[l + 1].first_leaf) ++l;
      candidates_[l].push_back(leaf - layers_[l].first_leaf);
    }
  }
  std::vector<std::pair<int, int>> tied;
  const int N = static_cast<int>(net_.nodes.size());
  size_t layer = 0;
  std::vector<int> units;
  for (int k = 1; k < N; ++k) {
    const Node& n = net_.nodes[k];
    if (!n.is_piecewise()) {
      propagate(k);
      continue;
    }
    // Units to re-decide: this step's candidates and the units whose input
    // changed (for a max-pool, the windows that read a changed input).
    const int in = n.inputs[0];
    units = candidates_[layer];
    for (int u : units) marked_[k][u] = 2;
    auto add = [&](int u) {
      if (!marked_[k][u]) {
        marked_[k][u] = 2;
        units.push_back(u);
      }
    };
    if (n.kind == OpKind::MaxPool2d) {
      for (int j : touched_[in])
        for (int e = inverse_start_[k][j]; e < inverse_start_[k][j + 1]; ++e) add(inverse_items_[k][e]);
    } else {
      for (int j : touched_[in]) add(j);
    }
    for (int u : units) marked_[k][u] = 0;
    redecide(static_cast<int>(layer), units, &tied);
    ++layer;
  }
  // Clear the step's changes.
  for (int k = 0; k < N; ++k) {
    for (int r : touched_[k]) {
      delta_[k](r, 0) = 0;
      delta_[k](r, 1) = 0;
      marked_[k][r] = 0;
    }
    touched_[k].clear();
  }
  // The pattern at the point t itself differs from the new one only in
  // units decided by a tie: decide those at t, and keep the point's
  // pattern when one of them differs.
  if (tied.empty()) return false;
  LineRule at;
  at.t = t;
  at.mode = LineRule::Mode::At;
  bool differs = false;
  for (const auto& [l, u] : tied) {
    const Node& n = net_.nodes[layers_[l].node];
    LayerPattern& p = s_.pattern.layers[l];
    const bool active = n.kind == OpKind::Relu || n.kind == OpKind::LeakyRelu ? p.active(u) : false;
    const int piece = n.kind == OpKind::Piecewise ? p.pieces[u] : 0;
    const int selection = n.kind == OpKind::MaxPool2d ? p.selection[u] : 0;
    decide_unit(n, s_.cw[layers_[l].input], at, p, u);
    switch (n.kind) {
      case OpKind::Piecewise: differs |= p.pieces[u] != piece; p.pieces[u] = static_cast<std::uint8_t>(piece); break;
      case OpKind::MaxPool2d: differs |= p.selection[u] != selection; p.selection[u] = selection; break;
      default:
        differs |= p.active(u) != active;
        if (active) p.set_active(u);
        else p.bits[static_cast<size_t>(u) >> 6] &= ~(std::uint64_t{1} << (u & 63));
    }
  }
  if (!differs) return false;
  *point = s_.pattern;
  for (const auto& [l, u] : tied) {
    const Layer& L = layers_[l];
    decide_unit(net_.nodes[L.node], s_.cw[L.input], at, point->layers[l], u);
  }
  return true;
}

}  // namespace tessera::detail
