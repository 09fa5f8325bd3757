#include "regions/box_bounds.hpp"

#include "core/bytes.hpp"

#include <omp.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <mutex>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <queue>

#include "core/affine_map.hpp"
#include "core/error.hpp"
#include "core/forward.hpp"
#include "core/limits.hpp"
#include "core/linear_ops.hpp"
#include "regions/linear_program.hpp"

namespace tessera {

const char* bound_method_name(BoundMethod m) {
  switch (m) {
    case BoundMethod::Ibp: return "ibp";
    case BoundMethod::Crown: return "crown";
    case BoundMethod::Exact: return "exact";
  }
  return "?";
}

std::optional<BoundMethod> parse_bound_method(const std::string& text) {
  if (text == "ibp") return BoundMethod::Ibp;
  if (text == "crown") return BoundMethod::Crown;
  if (text == "exact") return BoundMethod::Exact;
  return std::nullopt;
}

std::string BoxBoundOptions::validate() const {
  if (!(tolerance > 0) || !std::isfinite(tolerance) || tolerance >= 1)
    return "bound: tolerance must be in (0, 1), got " + std::to_string(tolerance);
  if (max_branches < 1) return "bound: max_branches must be at least 1";
  if (attack_steps < 0) return "bound: attack_steps must be >= 0";
  if (columns < 0) return "bound: columns must be >= 0";
  if (!(time_limit >= 0) || !std::isfinite(time_limit)) return "bound: time_limit must be >= 0 seconds";
  return "";
}

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
using Clock = std::chrono::steady_clock;

// ---------------------------------------------------------------------------
// One unit of a Relu / LeakyRelu / Piecewise node on an input interval.

double unit_value(const Node& n, Eigen::Index i, double t) {
  switch (n.kind) {
    case OpKind::Relu: return t > 0 ? t : 0.0;
    case OpKind::LeakyRelu: return t > 0 ? t : n.slope * t;
    default: {
      const int k = n.piece_at(i, t);
      return n.piece_slope(i, k) * t + n.piece_offset(i, k);
    }
  }
}

// The unit's slope on the piece that contains t.
double unit_slope_at(const Node& n, Eigen::Index i, double t) {
  switch (n.kind) {
    case OpKind::Relu: return t > 0 ? 1.0 : 0.0;
    case OpKind::LeakyRelu: return t > 0 ? 1.0 : n.slope;
    default: return n.piece_slope(i, n.piece_at(i, t));
  }
}

// Calls f(knot) for every knot strictly inside (l, u).
template <class F>
void for_each_knot_inside(const Node& n, Eigen::Index i, double l, double u, F&& f) {
  if (n.kind == OpKind::Relu || n.kind == OpKind::LeakyRelu) {
    if (l < 0 && 0 < u) f(0.0);
    return;
  }
  for (int j = 0; j + 1 < n.pieces(); ++j) {
    const double k = n.knot(i, j);
    if (l < k && k < u) f(k);
  }
}

// Two lines enclosing the unit on [l, u]: aL t + bL <= f(t) <= aU t + bU,
// and the largest distance between them on [l, u] (0: the unit is affine
// there).
struct UnitRelax {
  double aL = 0, bL = 0, aU = 0, bU = 0, gap = 0;
  double lo = 0, hi = 0;  // the exact range of f on [l, u]
};

UnitRelax relax_unit(const Node& n, Eigen::Index i, double l, double u) {
  UnitRelax r;
  double pts[kMaxPieces + 2];
  int np = 0;
  pts[np++] = l;
  for_each_knot_inside(n, i, l, u, [&](double k) { pts[np++] = k; });
  pts[np++] = u;
  double fv[kMaxPieces + 2];
  r.lo = kInf;
  r.hi = -kInf;
  for (int p = 0; p < np; ++p) {
    fv[p] = unit_value(n, i, pts[p]);
    r.lo = std::min(r.lo, fv[p]);
    r.hi = std::max(r.hi, fv[p]);
  }
  const double m = 0.5 * (l + u);
  if (np == 2) {  // one piece: exact
    const double s = unit_slope_at(n, i, m);
    const double o = unit_value(n, i, m) - s * m;
    r.aL = r.aU = s;
    r.bL = r.bU = o;
    return r;
  }
  // Candidate slopes: the chord and the slope of every piece met; for each,
  // the tightest offsets above and below (extremes of f(t) - s t are at the
  // knots or the ends). The upper line with the smallest value at the
  // middle (the least area) and the lower line with the largest.
  double cand[kMaxPieces + 2];
  int nc = 0;
  cand[nc++] = (fv[np - 1] - fv[0]) / (u - l);
  for (int p = 0; p + 1 < np; ++p) cand[nc++] = unit_slope_at(n, i, 0.5 * (pts[p] + pts[p + 1]));
  double best_up = kInf, best_low = -kInf;
  for (int c = 0; c < nc; ++c) {
    const double s = cand[c];
    double omax = -kInf, omin = kInf;
    for (int p = 0; p < np; ++p) {
      omax = std::max(omax, fv[p] - s * pts[p]);
      omin = std::min(omin, fv[p] - s * pts[p]);
    }
    if (s * m + omax < best_up) {
      best_up = s * m + omax;
      r.aU = s;
      r.bU = omax;
    }
    if (s * m + omin > best_low) {
      best_low = s * m + omin;
      r.aL = s;
      r.bL = omin;
    }
  }
  for (int p = 0; p < np; ++p) r.gap = std::max(r.gap, (r.aU - r.aL) * pts[p] + (r.bU - r.bL));
  return r;
}

// A max-pool window on its inputs' intervals.
struct PoolInfo {
  int winner = -1;      // input index whose lower bound is >= every other's upper bound, or -1
  int best_lower = -1;  // input index with the largest lower bound
  double max_upper = -kInf;
};

// Where a subproblem cuts: unit `unit` of node `node` (a pre-activation)
// lies above (or below) `knot`.
struct Split {
  int node = 0;
  int unit = 0;
  double knot = 0;
  bool above = true;
};

// Everything known about a box (and its splits): every node's interval and
// the relaxation of every piecewise unit.
struct State {
  std::vector<Vector> lo, hi;
  std::vector<std::vector<UnitRelax>> relax;  // per Relu/LeakyRelu/Piecewise node
  std::vector<std::vector<PoolInfo>> pool;    // per MaxPool2d node
  bool empty = false;                         // the splits contradict each other
  std::size_t unstable = 0;                   // units with gap > 0 and undecided windows
  std::size_t undecided_windows = 0;
};

class Bounder {
 public:
  Bounder(const Network& net, const BoxBoundOptions& o, Clock::time_point deadline)
      : net_(net), o_(o), deadline_(deadline) {
    const std::size_t N = net.nodes.size();
    abs_.resize(N);
    refine_.assign(N, 0);
    consumers_.assign(N, {});
    exact_.assign(N, 0);
    exact_[0] = 1;
    std::int64_t max_size = 1;
    for (std::size_t v = 0; v < N; ++v) {
      const Node& n = net.nodes[v];
      max_size = std::max<std::int64_t>(max_size, n.shape.size());
      switch (n.kind) {
        case OpKind::Dense:
        case OpKind::Conv2d:
        case OpKind::ElementwiseAffine: {
          Node& a = abs_[v];
          a = n;
          a.weight = a.weight.cwiseAbs();
          if (a.weight_t.size()) a.weight_t = a.weight_t.cwiseAbs();
          a.scale = a.scale.cwiseAbs();
          break;
        }
        default: break;
      }
      // Interval arithmetic is exact for one linear map of the box.
      if (v > 0) {
        const int in = n.inputs.empty() ? -1 : n.inputs[0];
        const bool linear = n.kind == OpKind::Dense || n.kind == OpKind::Conv2d || n.kind == OpKind::AvgPool2d ||
                            n.kind == OpKind::ElementwiseAffine || n.kind == OpKind::Permute;
        if (n.kind == OpKind::Reshape && exact_[in]) exact_[v] = exact_[in];
        if (linear && in == 0) exact_[v] = 2;
        if (linear && in > 0 && exact_[in] == 1) exact_[v] = 2;
      }
      if (n.kind == OpKind::Relu || n.kind == OpKind::LeakyRelu || n.kind == OpKind::Piecewise ||
          n.kind == OpKind::MaxPool2d) {
        refine_[n.inputs[0]] = 1;
        consumers_[n.inputs[0]].push_back(static_cast<int>(v));
      }
    }
    max_size_ = max_size;
    columns_ = o.columns > 0 ? o.columns
                             : static_cast<int>(std::clamp<std::int64_t>(
                                   memory_budget() / 8 / (8 * std::max<std::int64_t>(max_size, 1)), 2, 512));
  }

  bool cancelled() const {
    if (o_.cancel && o_.cancel->load(std::memory_order_relaxed)) return true;
    return deadline_ != Clock::time_point::max() && Clock::now() >= deadline_;
  }
  std::string stop_reason() const {
    if (o_.cancel && o_.cancel->load(std::memory_order_relaxed)) return "cancelled";
    return "time limit reached";
  }

  // Intervals and relaxations for the box [lo, hi] with the splits; false
  // when cancelled (the state is then unusable).
  bool compute(const Vector& lo, const Vector& hi, const std::vector<Split>& splits, bool crown, State& s) const {
    const std::size_t N = net_.nodes.size();
    s.lo.assign(N, Vector());
    s.hi.assign(N, Vector());
    s.relax.assign(N, {});
    s.pool.assign(N, {});
    s.empty = false;
    s.unstable = 0;
    s.undecided_windows = 0;
    for (std::size_t v = 0; v < N; ++v) {
      if (cancelled()) return false;
      const Node& n = net_.nodes[v];
      if (v == 0) {
        s.lo[0] = lo;
        s.hi[0] = hi;
      } else {
        step(static_cast<int>(v), s);
      }
      if (crown && refine_[v] && !exact_[v] && !tighten(static_cast<int>(v), s)) return false;
      for (const Split& sp : splits) {
        if (sp.node != static_cast<int>(v)) continue;
        if (sp.above)
          s.lo[v][sp.unit] = std::max(s.lo[v][sp.unit], sp.knot);
        else
          s.hi[v][sp.unit] = std::min(s.hi[v][sp.unit], sp.knot);
        if (s.lo[v][sp.unit] > s.hi[v][sp.unit]) {
          s.empty = true;
          return true;
        }
      }
      (void)n;
    }
    return true;
  }

  // Upper bounds of the columns of C (n_v x m) dotted with node v's values
  // over the state's box. When `input_coeffs` is given it receives the
  // coefficients at the input (d x m); `out_coeffs[w]`, when given, the
  // coefficients at every piecewise node w's output.
  // `constant`, when given, receives the constant term (without the
  // allowance): where every unit on the way is affine, C^T z_v =
  // input_coeffs^T x + constant exactly.
  Vector backsub(const State& s, int v, Matrix C, Matrix* input_coeffs = nullptr,
                 std::vector<Matrix>* out_coeffs = nullptr, Vector* constant = nullptr) const {
    const Eigen::Index m = C.cols();
    std::vector<Matrix> G(static_cast<std::size_t>(v) + 1);
    G[v] = std::move(C);
    Vector cst = Vector::Zero(m), cst_abs = Vector::Zero(m);
    auto accumulate = [&](int in, Matrix&& g) {
      if (G[in].size() == 0)
        G[in] = std::move(g);
      else
        G[in] += g;
    };
    for (int w = v; w >= 1; --w) {
      if (G[w].size() == 0) continue;
      const Node& n = net_.nodes[w];
      Matrix g = std::move(G[w]);
      G[w] = Matrix();
      if (out_coeffs && n.is_piecewise()) (*out_coeffs)[w] = g;
      const int in = n.inputs.empty() ? 0 : n.inputs[0];
      switch (n.kind) {
        case OpKind::Add:
          for (std::size_t t = 0; t < n.inputs.size(); ++t) accumulate(n.inputs[t], t + 1 < n.inputs.size() ? Matrix(g) : std::move(g));
          break;
        case OpKind::Relu:
        case OpKind::LeakyRelu:
        case OpKind::Piecewise: {
          const auto& R = s.relax[w];
          Matrix gin(g.rows(), m);
          for (Eigen::Index c = 0; c < m; ++c)
            for (Eigen::Index i = 0; i < g.rows(); ++i) {
              const double x = g(i, c);
              const UnitRelax& r = R[static_cast<std::size_t>(i)];
              const double b = x >= 0 ? r.bU : r.bL;
              gin(i, c) = x * (x >= 0 ? r.aU : r.aL);
              cst[c] += x * b;
              cst_abs[c] += std::abs(x * b);
            }
          accumulate(in, std::move(gin));
          break;
        }
        case OpKind::MaxPool2d: {
          const auto& P = s.pool[w];
          Matrix gin = Matrix::Zero(net_.nodes[in].shape.size(), m);
          for (Eigen::Index c = 0; c < m; ++c)
            for (Eigen::Index o = 0; o < g.rows(); ++o) {
              const double x = g(o, c);
              if (x == 0) continue;
              const PoolInfo& p = P[static_cast<std::size_t>(o)];
              if (p.winner >= 0) {
                gin(p.winner, c) += x;
              } else if (x > 0) {
                cst[c] += x * p.max_upper;
                cst_abs[c] += std::abs(x * p.max_upper);
              } else {
                gin(p.best_lower, c) += x;
              }
            }
          accumulate(in, std::move(gin));
          break;
        }
        default: {
          const Vector off = offset_adjoint(n, g);
          cst += off;
          cst_abs += off.cwiseAbs();
          accumulate(in, apply_linear_transpose(n, nullptr, g, net_.nodes[in].shape.size()));
          break;
        }
      }
    }
    const Vector c0 = 0.5 * (s.lo[0] + s.hi[0]), r0 = 0.5 * (s.hi[0] - s.lo[0]);
    if (constant) *constant = cst;
    Vector ub = cst;
    Vector magnitude = cst_abs;
    if (G[0].size()) {
      ub += G[0].transpose() * c0 + G[0].cwiseAbs().transpose() * r0;
      magnitude += G[0].cwiseAbs().transpose() * (c0.cwiseAbs() + r0);
      if (input_coeffs) *input_coeffs = std::move(G[0]);
    } else if (input_coeffs) {
      *input_coeffs = Matrix::Zero(s.lo[0].size(), m);
    }
    // Rounding allowance: each value above carries a relative error of a
    // few ulps of the magnitudes summed; 1e-9 of them is far more.
    return ub + 1e-9 * (magnitude.array() + 1.0).matrix();
  }

  int columns() const { return columns_; }
  Clock::time_point deadline() const { return deadline_; }
  const Network& net() const { return net_; }

 private:
  // Interval arithmetic for node v from its inputs' intervals.
  void step(int v, State& s) const {
    const Node& n = net_.nodes[v];
    const int in = n.inputs.empty() ? 0 : n.inputs[0];
    switch (n.kind) {
      case OpKind::Add: {
        s.lo[v] = s.lo[n.inputs[0]];
        s.hi[v] = s.hi[n.inputs[0]];
        Vector magnitude = s.lo[v].cwiseAbs().cwiseMax(s.hi[v].cwiseAbs());
        for (std::size_t t = 1; t < n.inputs.size(); ++t) {
          s.lo[v] += s.lo[n.inputs[t]];
          s.hi[v] += s.hi[n.inputs[t]];
          magnitude += s.lo[n.inputs[t]].cwiseAbs().cwiseMax(s.hi[n.inputs[t]].cwiseAbs());
        }
        s.lo[v] -= 1e-15 * magnitude;
        s.hi[v] += 1e-15 * magnitude;
        break;
      }
      case OpKind::Relu:
      case OpKind::LeakyRelu:
      case OpKind::Piecewise: {
        const Vector& l = s.lo[in];
        const Vector& u = s.hi[in];
        auto& R = s.relax[v];
        R.resize(static_cast<std::size_t>(l.size()));
        s.lo[v].resize(l.size());
        s.hi[v].resize(l.size());
        for (Eigen::Index i = 0; i < l.size(); ++i) {
          R[static_cast<std::size_t>(i)] = relax_unit(n, i, l[i], u[i]);
          s.lo[v][i] = R[static_cast<std::size_t>(i)].lo;
          s.hi[v][i] = R[static_cast<std::size_t>(i)].hi;
          if (R[static_cast<std::size_t>(i)].gap > 0) ++s.unstable;
        }
        break;
      }
      case OpKind::MaxPool2d: {
        const Vector& l = s.lo[in];
        const Vector& u = s.hi[in];
        const int K = n.window.kernel_h * n.window.kernel_w;
        const Eigen::Index out = n.shape.size();
        auto& P = s.pool[v];
        P.assign(static_cast<std::size_t>(out), PoolInfo());
        s.lo[v].resize(out);
        s.hi[v].resize(out);
        for (Eigen::Index o = 0; o < out; ++o) {
          PoolInfo& p = P[static_cast<std::size_t>(o)];
          double best = -kInf;
          for (int k = 0; k < K; ++k) {
            const int q = n.gather[static_cast<std::size_t>(o) * K + k];
            if (q < 0) continue;
            if (l[q] > best) {
              best = l[q];
              p.best_lower = q;
            }
            p.max_upper = std::max(p.max_upper, u[q]);
          }
          double others = -kInf;
          for (int k = 0; k < K; ++k) {
            const int q = n.gather[static_cast<std::size_t>(o) * K + k];
            if (q >= 0 && q != p.best_lower) others = std::max(others, u[q]);
          }
          if (best >= others) {
            p.winner = p.best_lower;
          } else {
            ++s.unstable;
            ++s.undecided_windows;
          }
          s.lo[v][o] = best;
          s.hi[v][o] = p.winner >= 0 ? u[p.winner] : p.max_upper;
        }
        break;
      }
      default: {
        const Vector c = 0.5 * (s.lo[in] + s.hi[in]);
        const Vector r = 0.5 * (s.hi[in] - s.lo[in]);
        Matrix mid = apply_linear(n, nullptr, c);
        add_offset(n, mid);
        const Node& a = (n.kind == OpKind::Dense || n.kind == OpKind::Conv2d || n.kind == OpKind::ElementwiseAffine) ? abs_[v] : n;
        const Matrix rad = apply_linear(a, nullptr, r);
        // Rounding allowance, relative to the magnitudes of the terms
        // (|W| |c| + |b|, not |W c + b|, which cancellation can make tiny).
        Matrix terms = apply_linear(a, nullptr, c.cwiseAbs());
        Matrix offsets = Matrix::Zero(terms.rows(), 1);
        add_offset(n, offsets);
        const Vector slack = 1e-12 * (terms.col(0) + offsets.col(0).cwiseAbs() + rad.col(0)).array() + 1e-300;
        s.lo[v] = mid.col(0) - rad.col(0) - slack;
        s.hi[v] = mid.col(0) + rad.col(0) + slack;
        break;
      }
    }
  }

  // Tightens node v's interval by back-substitution, for the units whose
  // interval crosses a knot of a consumer. False when cancelled.
  bool tighten(int v, State& s) const {
    // The consumers' knots: a unit needs a bound if any consumer could
    // change piece on it.
    const Eigen::Index n_v = s.lo[v].size();
    std::vector<char> need(static_cast<std::size_t>(n_v), 0);
    for (const int w : consumers_[v]) {
      const Node& c = net_.nodes[w];
      if (c.kind == OpKind::MaxPool2d) {
        // Every entry of a window without a clear winner.
        const int K = c.window.kernel_h * c.window.kernel_w;
        for (Eigen::Index o = 0; o < c.shape.size(); ++o) {
          double best = -kInf;
          int arg = -1;
          for (int k = 0; k < K; ++k) {
            const int q = c.gather[static_cast<std::size_t>(o) * K + k];
            if (q >= 0 && s.lo[v][q] > best) {
              best = s.lo[v][q];
              arg = q;
            }
          }
          bool decided = true;
          for (int k = 0; k < K; ++k) {
            const int q = c.gather[static_cast<std::size_t>(o) * K + k];
            if (q >= 0 && q != arg && s.hi[v][q] > best) decided = false;
          }
          if (!decided)
            for (int k = 0; k < K; ++k) {
              const int q = c.gather[static_cast<std::size_t>(o) * K + k];
              if (q >= 0) need[static_cast<std::size_t>(q)] = 1;
            }
        }
        continue;
      }
      for (Eigen::Index i = 0; i < n_v; ++i)
        for_each_knot_inside(c, i, s.lo[v][i], s.hi[v][i], [&](double) { need[static_cast<std::size_t>(i)] = 1; });
    }
    std::vector<int> rows;
    for (Eigen::Index i = 0; i < n_v; ++i)
      if (need[static_cast<std::size_t>(i)]) rows.push_back(static_cast<int>(i));
    const int chunk = std::max(1, columns_ / 2);
    for (std::size_t first = 0; first < rows.size(); first += chunk) {
      if (cancelled()) return false;
      const std::size_t count = std::min<std::size_t>(chunk, rows.size() - first);
      Matrix C = Matrix::Zero(n_v, 2 * static_cast<Eigen::Index>(count));
      for (std::size_t t = 0; t < count; ++t) {
        C(rows[first + t], 2 * t) = 1.0;
        C(rows[first + t], 2 * t + 1) = -1.0;
      }
      const Vector ub = backsub(s, v, std::move(C));
      for (std::size_t t = 0; t < count; ++t) {
        const int i = rows[first + t];
        s.hi[v][i] = std::min(s.hi[v][i], ub[2 * t]);
        s.lo[v][i] = std::max(s.lo[v][i], -ub[2 * t + 1]);
      }
    }
    return true;
  }

  const Network& net_;
  const BoxBoundOptions& o_;
  Clock::time_point deadline_;
  std::vector<Node> abs_;       // |W| of dense, convolution and elementwise nodes
  std::vector<char> refine_;    // node feeds a Relu/LeakyRelu/Piecewise node
  std::vector<std::vector<int>> consumers_;  // those nodes
  std::vector<char> exact_;     // interval arithmetic is exact (one linear map of the box)
  std::int64_t max_size_ = 1;
  int columns_ = 64;
};

// p_k <= 1 / (1 + Σ_j exp(-ub_j)) for upper bounds ub_j of z_k - z_j.
double confidence_from_differences(const Vector& ub_k) {
  double sum = 1;
  for (Eigen::Index j = 0; j < ub_k.size(); ++j) sum += std::exp(-ub_k[j]);
  return std::min(1.0, 1.0 / sum);
}

// The columns e_k - e_j (j != k) of the output, K x (K - 1).
Matrix difference_columns(int K, int k) {
  Matrix C = Matrix::Zero(K, K - 1);
  for (int j = 0, c = 0; j < K; ++j) {
    if (j == k) continue;
    C(k, c) = 1.0;
    C(j, c) = -1.0;
    ++c;
  }
  return C;
}

// The best inputs found so far: the largest confidence of each class and
// the largest overall, with its input.
struct Witness {
  Vector class_lower;
  double best = -1;
  int best_class = -1;
  Vector best_input;

  // Evaluates the network at x (in the box) and records what it shows.
  // Returns the softmax.
  Vector offer(const Network& net, const Vector& x) {
    const Vector p = softmax(logits(net, x));
    for (Eigen::Index k = 0; k < p.size(); ++k) class_lower[k] = std::max(class_lower[k], p[k]);
    Eigen::Index top = 0;
    p.maxCoeff(&top);
    if (p[top] > best) {
      best = p[top];
      best_class = static_cast<int>(top);
      best_input = x;
    }
    return p;
  }
};

// Projected sign-gradient ascent of log p_k from x inside [lo, hi].
void attack(const Network& net, int k, Vector x, const Vector& lo, const Vector& hi, int steps, Witness& w,
            const Bounder& b) {
  const Vector width = hi - lo;
  for (int t = 0; t < steps; ++t) {
    if (b.cancelled()) return;
    const ForwardPass fp = forward_pass(net, x);
    const Vector p = softmax(fp.logits());
    Vector ignored = w.offer(net, x);
    (void)ignored;
    Matrix G = -p;
    G(k, 0) += 1.0;
    const Vector grad = backpropagate_fixed(net, fp.pattern, G).col(0);
    const double step = 0.25 * (1.0 - static_cast<double>(t) / steps) + 0.01;
    for (Eigen::Index i = 0; i < x.size(); ++i)
      x[i] = std::clamp(x[i] + step * width[i] * (grad[i] > 0 ? 1.0 : grad[i] < 0 ? -1.0 : 0.0), lo[i], hi[i]);
  }
  w.offer(net, x);
}

// The corner of the box where sum_j weight_j (coefficients_j . x) is largest.
Vector best_corner(const Matrix& coeffs, const Vector& weight, const Vector& lo, const Vector& hi) {
  const Vector g = coeffs * weight;
  Vector x(lo.size());
  for (Eigen::Index i = 0; i < x.size(); ++i) x[i] = g[i] > 0 ? hi[i] : lo[i];
  return x;
}

// Weights of the terms of 1 + Σ exp(-ub_j): which differences bind.
Vector binding_weights(const Vector& ub) {
  Vector w(ub.size());
  const double m = ub.size() ? ub.minCoeff() : 0.0;
  for (Eigen::Index j = 0; j < ub.size(); ++j) w[j] = std::exp(-(ub[j] - m));
  return w / w.sum();
}

// ---------------------------------------------------------------------------
// One linear region intersected with the box: maximise p_k = exp(-F(x)),
// F(x) = log(1 + Σ_j exp(d_j(x))), d = D x + e, over Q = {lo <= x <= hi,
// A x <= b}.

double lse0(const Vector& y) {
  const double m = std::max(0.0, y.size() ? y.maxCoeff() : 0.0);
  double s = std::exp(-m);
  for (Eigen::Index j = 0; j < y.size(); ++j) s += std::exp(y[j] - m);
  return m + std::log(s);
}

// The gradient of lse0 at y.
Vector lse0_grad(const Vector& y) {
  const double f = lse0(y);
  return (y.array() - f).exp().matrix();
}

// min over the simplex of lse0(Y w), warm-started at w (pairwise
// Frank-Wolfe with exact line search).
void solve_master(const Matrix& Y, Vector& w) {
  const Eigen::Index m = Y.cols();
  for (int it = 0; it < 2000; ++it) {
    const Vector y = Y * w;
    const Vector gy = lse0_grad(y);
    const Vector gw = Y.transpose() * gy;
    Eigen::Index s = 0, v = -1;
    gw.minCoeff(&s);
    double worst = -kInf;
    for (Eigen::Index i = 0; i < m; ++i)
      if (w[i] > 0 && gw[i] > worst) {
        worst = gw[i];
        v = i;
      }
    if (v < 0 || v == s || worst - gw[s] <= 1e-15 * (1.0 + std::abs(worst))) return;
    const Vector dy = Y.col(s) - Y.col(v);
    // phi(g) = lse0(y + g dy) is convex; find where phi' = 0 in [0, w_v].
    double a = 0, b = w[v];
    if (lse0_grad(y + b * dy).dot(dy) <= 0) {
      a = b;
    } else {
      for (int t = 0; t < 60; ++t) {
        const double c = 0.5 * (a + b);
        if (lse0_grad(y + c * dy).dot(dy) <= 0)
          a = c;
        else
          b = c;
      }
    }
    if (a <= 0) return;
    w[s] += a;
    w[v] -= a;
    if (w[v] < 1e-300) w[v] = 0;
  }
}

struct LeafResult {
  bool empty = false;
  bool cancelled = false;
  double upper = 1;  // >= p_k on Q
  double lower = 0;  // p_k at an input of Q (by the region's map)
  std::size_t lps = 0;
  bool converged = false;
};

// Minimises c.x over Q: a rigorous lower bound of the minimum, and the
// minimiser (an LP vertex). status false: Q is empty or the LP failed.
struct LpStep {
  bool ok = false;
  bool empty = false;
  bool cancelled = false;
  double bound = 0;
  Vector x;
};

// Clp's scaling breaks down on coefficients 1e-19 next to 0.1 (it then
// stops at a vertex it calls optimal that is not): entries below 1e-11 of
// their row's largest are dropped for the solve. Every bound is computed
// with the exact rows, so it stays rigorous.
Matrix cleaned_rows(const Matrix& A) {
  Matrix out = A;
  for (Eigen::Index i = 0; i < A.rows(); ++i) {
    const double cut = 1e-11 * A.row(i).cwiseAbs().maxCoeff();
    for (Eigen::Index j = 0; j < A.cols(); ++j)
      if (std::abs(out(i, j)) < cut) out(i, j) = 0.0;
  }
  return out;
}

// The settings of every LP here: a minimisation, small and dense (no
// presolve), with a tight tolerance on reduced costs (with hundreds of
// columns of tiny cost, Clp's default of 1e-7 per column leaves the vertex
// short of optimal by about 1e-6), stopping at the cancel flag or deadline.
void minimise_small(LinearProgram& lp, const std::atomic<bool>* cancel, Clock::time_point deadline) {
  lp.maximise = false;
  lp.presolve = false;
  lp.dual_tolerance = 1e-10;
  lp.cancel = cancel;
  lp.deadline = deadline;
}

// Clp said infeasible; that verdict depends on its tolerances. Proof: the
// phase-one program min t s.t. A x - t <= b, lo <= x <= hi, 0 <= t <= T
// has a rigorous lower bound (its duals, through safe_lp_bound) above 0.
// Returns 1 when proven empty, 0 when not, -1 when stopped.
int prove_empty(const Matrix& A, const Vector& b, const Vector& lo, const Vector& hi, const std::atomic<bool>* cancel,
                Clock::time_point deadline) {
  const Eigen::Index m = A.rows(), d = A.cols();
  // T: the largest violation of any row anywhere in the box.
  const Vector c0 = 0.5 * (lo + hi), r0 = 0.5 * (hi - lo);
  const Vector worst = A * c0 + A.cwiseAbs() * r0 - b;
  const double T = std::max(1.0, 2.0 * worst.maxCoeff());
  LinearProgram lp;
  lp.A.resize(m, d + 1);
  lp.A.leftCols(d) = cleaned_rows(A);
  lp.A.col(d).setConstant(-1.0);
  lp.b = b;
  lp.c = Vector::Zero(d + 1);
  lp.c[d] = 1.0;
  lp.lower.resize(d + 1);
  lp.upper.resize(d + 1);
  lp.lower << lo, 0.0;
  lp.upper << hi, T;
  minimise_small(lp, cancel, deadline);
  const LpSolution s = solve_lp(lp);
  if (s.status == LpSolution::Status::Cancelled) return -1;
  if (s.status != LpSolution::Status::Optimal) {
    return 0;
  }
  lp.A.leftCols(d) = A;
  return safe_lp_bound(lp, s.duals) > 0 ? 1 : 0;
}

LpStep lp_min(const Vector& c, const Vector& lo, const Vector& hi, const Matrix& A, const Vector& b,
              const std::atomic<bool>* cancel, Clock::time_point deadline) {
  LpStep r;
  if (A.rows() == 0) {
    r.x.resize(c.size());
    double v = 0, mag = 0;
    for (Eigen::Index i = 0; i < c.size(); ++i) {
      r.x[i] = c[i] > 0 ? lo[i] : hi[i];
      v += c[i] * r.x[i];
      mag += std::abs(c[i] * r.x[i]);
    }
    r.bound = v - 1e-12 * (1.0 + mag);
    r.ok = true;
    return r;
  }
  LinearProgram lp;
  lp.A = cleaned_rows(A);
  lp.b = b;
  // Costs scaled to a largest of 1 (the reduced-cost tolerance is absolute).
  const double scale = c.cwiseAbs().maxCoeff() > 0 ? c.cwiseAbs().maxCoeff() : 1.0;
  lp.c = c / scale;
  lp.lower = lo;
  lp.upper = hi;
  minimise_small(lp, cancel, deadline);
  const LpSolution s = solve_lp(lp);
  if (s.status == LpSolution::Status::Cancelled) {
    r.cancelled = true;
    return r;
  }
  if (s.status == LpSolution::Status::Infeasible) {
    const int proven = prove_empty(A, b, lo, hi, cancel, deadline);
    if (proven < 0) r.cancelled = true;
    r.empty = proven > 0;  // not proven: neither empty nor ok (nothing is claimed)
    return r;
  }
  if (s.status != LpSolution::Status::Optimal) {
    return r;
  }
  r.x = s.z.cwiseMax(lo).cwiseMin(hi);
  lp.A = A;
  lp.c = c;
  r.bound = safe_lp_bound(lp, scale * s.duals);
  r.ok = true;
  return r;
}

// min over Q of F(x) = log(1 + Σ_j exp(d_j)), d = D x + e, enclosed from
// both sides by column generation: the primal point is the best convex
// combination of LP vertices (a small master problem), the dual bound the
// convexity cut at it minimised by an LP with a safe bound. Stops when
// exp(-lb) <= stop_at (the caller cannot gain), when exp(-lb) - exp(-F)
// <= tol, after max_lps LPs, or when no new vertex appears. `on_point` sees
// every primal point (in the box).
struct LseMin {
  bool empty = false, cancelled = false, converged = false;
  double lb = 0;              // <= min F over Q (rigorous)
  double F = kInf;            // F at the best primal point found
  std::size_t lps = 0;
  double upper() const { return std::min(1.0, std::exp(-lb)); }
};

LseMin lse_min(const Matrix& D, const Vector& e, const Vector& lo, const Vector& hi, const Matrix& A, const Vector& b,
               double tol, double stop_at, int max_lps, const std::function<void(const Vector&)>& on_point,
               const Bounder& bounder, const std::atomic<bool>* cancel) {
  LseMin r;
  const Eigen::Index m = D.rows();
  // First atom: the vertex that makes every difference small on average.
  LpStep first = lp_min(D.transpose() * Vector::Constant(m, 1.0 / std::max<Eigen::Index>(m, 1)), lo, hi, A, b, cancel, bounder.deadline());
  ++r.lps;
  if (first.cancelled) {
    r.cancelled = true;
    return r;
  }
  if (first.empty) {
    r.empty = true;
    r.lb = kInf;
    return r;
  }
  if (!first.ok) return r;  // lb stays 0: nothing proven
  Matrix X(lo.size(), 1), Y(m, 1);
  X.col(0) = first.x;
  Y.col(0) = D * first.x + e;
  Vector w = Vector::Ones(1);
  while (true) {
    if (bounder.cancelled()) {
      r.cancelled = true;
      break;
    }
    solve_master(Y, w);
    const Vector y = Y * w;
    const double F = lse0(y);
    const Vector gy = lse0_grad(y);
    r.F = std::min(r.F, F);
    if (on_point) on_point((X * w).cwiseMax(lo).cwiseMin(hi));
    if (static_cast<int>(r.lps) >= max_lps) break;
    const LpStep step = lp_min(D.transpose() * gy, lo, hi, A, b, cancel, bounder.deadline());
    ++r.lps;
    if (step.cancelled) {
      r.cancelled = true;
      break;
    }
    if (!step.ok) break;
    // F(y') >= F(y) + gy.(y' - y) for every y' = D x' + e, x' in Q.
    const double lb = F + step.bound + gy.dot(e) - gy.dot(y);
    const double magnitude = 1.0 + std::abs(F) + std::abs(step.bound) + gy.cwiseAbs().dot(e.cwiseAbs() + y.cwiseAbs());
    // Rounding allowance: the sums above have a few hundred terms, each
    // exact to an ulp; 1e-11 of their magnitude is far more than they lose.
    r.lb = std::max(r.lb, lb - 1e-11 * magnitude);
    if (r.upper() <= stop_at || r.upper() - std::exp(-r.F) <= tol) {
      r.converged = true;
      break;
    }
    const Vector ynew = D * step.x + e;
    if ((Y.colwise() - ynew).colwise().squaredNorm().minCoeff() <= 1e-24 * (1.0 + ynew.squaredNorm())) break;  // no progress
    X.conservativeResize(Eigen::NoChange, X.cols() + 1);
    Y.conservativeResize(Eigen::NoChange, Y.cols() + 1);
    w.conservativeResize(w.size() + 1);
    X.col(X.cols() - 1) = step.x;
    Y.col(Y.cols() - 1) = ynew;
    w[w.size() - 1] = 0;
  }
  return r;
}

// One region (every unit on one piece) intersected with the box and the
// split constraints: the largest p_k there, to within tol, by lse_min on the
// region's exact affine map. `stop_at`: it may stop once its upper bound is
// at most this (it cannot beat what is known).
LeafResult solve_leaf(const Network& net, const AffineMap& map, int k, const Vector& lo, const Vector& hi,
                      const Matrix& A, const Vector& b, double tol, double stop_at, Witness& witness,
                      const Bounder& bounder, const std::atomic<bool>* cancel) {
  LeafResult r;
  const int K = static_cast<int>(map.V.rows());
  Matrix D(K - 1, map.V.cols());
  Vector e(K - 1);
  for (int j = 0, c = 0; j < K; ++j) {
    if (j == k) continue;
    D.row(c) = map.V.row(j) - map.V.row(k);
    e[c] = map.a[j] - map.a[k];
    ++c;
  }
  const LseMin m = lse_min(D, e, lo, hi, A, b, tol, stop_at, 200,
                           [&](const Vector& x) { r.lower = std::max(r.lower, witness.offer(net, x)[k]); }, bounder, cancel);
  r.lps = m.lps;
  r.empty = m.empty;
  r.cancelled = m.cancelled;
  r.converged = m.converged;
  r.upper = m.empty ? 0.0 : m.upper();
  return r;
}

// ---------------------------------------------------------------------------

struct Subproblem {
  double bound = 1;
  int cls = 0;
  std::vector<Split> splits;
  bool leaf = false;
  bool unsplittable = false;
  Split next;  // where to split it (when not a leaf)
  bool operator<(const Subproblem& o) const { return bound < o.bound; }
};

// The activation pattern the state fixes: every unit on the piece of its
// interval's middle, every decided window's winner (undecided ones: the
// largest lower bound). Exact for the layers before the first undecided
// one; arbitrary after it.
ActivationPattern state_pattern(const Network& net, const State& s) {
  ActivationPattern pat = empty_pattern(net);
  for (LayerPattern& l : pat.layers) {
    const Node& n = net.nodes[l.node];
    const int q = n.inputs[0];
    for (int i = 0; i < l.size; ++i) {
      const double mid = 0.5 * (s.lo[q][i] + s.hi[q][i]);
      if (n.kind == OpKind::Relu || n.kind == OpKind::LeakyRelu) {
        if (mid > 0) l.set_active(i);
      } else if (n.kind == OpKind::Piecewise) {
        l.pieces[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n.piece_at(i, mid));
      } else if (n.kind == OpKind::MaxPool2d) {
        const PoolInfo& p = s.pool[l.node][static_cast<std::size_t>(i)];
        l.selection[static_cast<std::size_t>(i)] = p.winner >= 0 ? p.winner : p.best_lower;
      }
    }
  }
  return pat;
}

// The first piecewise node with a unit on more than one piece or an
// undecided window (nodes.size() when none): every node before it is one
// affine function of the input on the subproblem.
std::size_t first_undecided(const Network& net, const State& s) {
  for (std::size_t w = 0; w < net.nodes.size(); ++w) {
    for (const UnitRelax& r : s.relax[w])
      if (r.gap > 0) return w;
    for (const PoolInfo& p : s.pool[w])
      if (p.winner < 0) return w;
  }
  return net.nodes.size();
}

// The split constraints that are affine in the input on the subproblem
// (those on nodes before the first undecided one), as rows of A x <= b.
void split_constraints(const Bounder& bounder, const State& s, const std::vector<Split>& splits, Matrix& A, Vector& b) {
  const Network& net = bounder.net();
  const std::size_t limit = first_undecided(net, s);
  std::vector<const Split*> used;
  for (const Split& sp : splits)
    if (static_cast<std::size_t>(sp.node) < limit) used.push_back(&sp);
  A.resize(static_cast<Eigen::Index>(used.size()), net.input_size());
  b.resize(static_cast<Eigen::Index>(used.size()));
  // Every unit before `limit` is on one piece: back-substitution through
  // them is the exact affine map of the split units.
  for (std::size_t t = 0; t < used.size(); ++t) {
    const Split& sp = *used[t];
    Matrix C = Matrix::Zero(net.nodes[sp.node].shape.size(), 1);
    C(sp.unit, 0) = 1.0;
    Matrix g;
    Vector c;
    const Vector ub = bounder.backsub(s, sp.node, std::move(C), &g, nullptr, &c);
    // The map's rounding allowance widens the row, so that no input of the
    // subproblem is cut off.
    const Vector& l0 = s.lo[0];
    const Vector& h0 = s.hi[0];
    const double exact_max = g.col(0).dot(0.5 * (l0 + h0)) + g.col(0).cwiseAbs().dot(0.5 * (h0 - l0)) + c[0];
    const double allowance = std::max(0.0, ub[0] - exact_max);
    const double sign = sp.above ? -1.0 : 1.0;  // above: knot - z <= 0; below: z - knot <= 0
    A.row(static_cast<Eigen::Index>(t)) = sign * g.col(0).transpose();
    b[static_cast<Eigen::Index>(t)] = sign * (sp.knot - c[0]) + allowance;
  }
}

// Bounds class k on the subproblem (the state's box and splits) and
// chooses where to split it: the unstable unit of the first undecided
// layer with the largest |coefficient| x relaxation gap. With split
// constraints that are affine in the input, an LP checks that the
// subproblem is not empty and gives an input inside it (a lower bound
// candidate). Returns false when the subproblem is empty.
// The bound on p_k from the linear upper bounds u_j(x) = g_j.x + c_j of
// z_k - z_j (columns of g0, entries of c; `ub` their maxima over the box,
// with the rounding allowance): not only 1 / (1 + Σ_j exp(-ub_j)), each
// difference at its own worst input, but min over x in Q of
// log(1 + Σ_j exp(-u_j(x))) enclosed by lse_min: the differences at one
// input. Q is the box, cut by the split constraints A x <= rhs when there
// are some. Returns -1 when Q is empty.
double joint_bound(const Bounder& b, const State& s, const Matrix& g0, const Vector& c, const Vector& ub, const Matrix& A,
                   const Vector& rhs, double tol, double stop_at, int max_lps, Witness& witness, std::size_t& lps,
                   const std::atomic<bool>* cancel) {
  const Vector& lo = s.lo[0];
  const Vector& hi = s.hi[0];
  const Vector c0 = 0.5 * (lo + hi), r0 = 0.5 * (hi - lo);
  // The allowance the back-substitution added, kept in the constant.
  const Vector exact_max = g0.transpose() * c0 + g0.cwiseAbs().transpose() * r0 + c;
  const Vector allowance = (ub - exact_max).cwiseMax(0.0);
  const Matrix D = -g0.transpose();
  const Vector e = -(c + allowance);
  const LseMin m = lse_min(D, e, lo, hi, A, rhs, tol, stop_at, max_lps,
                           [&](const Vector& x) { witness.offer(b.net(), x); }, b, cancel);
  lps += m.lps;
  if (m.empty) return -1;
  return std::min(confidence_from_differences(ub), m.upper());
}

bool bound_class(const Bounder& b, const State& s, int k, Subproblem& sub, Witness& witness, double tol,
                 const std::atomic<bool>* cancel, std::size_t& lps) {
  const Network& net = b.net();
  const int K = net.output_size();
  Matrix g0;
  Vector cst;
  std::vector<Matrix> outs(net.nodes.size());
  const Vector ub = b.backsub(s, net.output_node(), difference_columns(K, k), &g0, &outs, &cst);
  const Vector weight = binding_weights(ub);
  Matrix A;
  Vector rhs;
  split_constraints(b, s, sub.splits, A, rhs);
  witness.offer(net, best_corner(g0, weight, s.lo[0], s.hi[0]));
  const double bound =
      joint_bound(b, s, g0, cst, ub, A, rhs, tol, witness.best + tol, A.rows() ? 4 : 20, witness, lps, cancel);
  if (bound < 0) return false;
  double best_score = -1;
  bool any = false;
  const std::size_t first = first_undecided(net, s);
  // The first layer with a unit to split (undecided max-pool windows are
  // skipped: they cannot be split on a knot).
  for (std::size_t layer = first; layer < net.nodes.size() && !any; ++layer) {
    const Node& n = net.nodes[layer];
    if (n.kind == OpKind::Relu || n.kind == OpKind::LeakyRelu || n.kind == OpKind::Piecewise) {
      const auto& R = s.relax[layer];
      const int q = n.inputs[0];
      const Vector coeff = outs[layer].size() ? Vector(outs[layer] * weight) : Vector::Zero(static_cast<Eigen::Index>(R.size()));
      for (std::size_t i = 0; i < R.size(); ++i) {
        if (R[i].gap <= 0) continue;
        const double score = std::abs(coeff[static_cast<Eigen::Index>(i)]) * R[i].gap + 1e-300 * R[i].gap;
        if (score <= best_score) continue;
        best_score = score;
        any = true;
        const double l = s.lo[q][static_cast<Eigen::Index>(i)], u = s.hi[q][static_cast<Eigen::Index>(i)];
        double knot = 0, dist = kInf;
        for_each_knot_inside(n, static_cast<Eigen::Index>(i), l, u, [&](double kk) {
          if (std::abs(kk - 0.5 * (l + u)) < dist) {
            dist = std::abs(kk - 0.5 * (l + u));
            knot = kk;
          }
        });
        sub.next = Split{q, static_cast<int>(i), knot, true};
      }
    }
  }
  sub.leaf = first == net.nodes.size();
  // A max-pool window without a clear winner cannot be split on a knot.
  sub.unsplittable = !sub.leaf && !any;
  sub.bound = bound;
  sub.cls = k;
  return true;
}

}  // namespace

NodeIntervals node_intervals(const Network& net, const Vector& lo, const Vector& hi, bool crown) {
  BoxBoundOptions o;
  Bounder b(net, o, Clock::time_point::max());
  State s;
  b.compute(lo, hi, {}, crown, s);
  return NodeIntervals{std::move(s.lo), std::move(s.hi)};
}

BoxBound bound_confidence(const Network& net, const Vector& lo, const Vector& hi, const BoxBoundOptions& o) {
  if (const std::string why = o.validate(); !why.empty()) throw Error(why);
  const int d = net.input_size();
  if (lo.size() != d || hi.size() != d)
    throw Error("bound: the box has " + std::to_string(lo.size()) + " lower and " + std::to_string(hi.size()) +
                " upper bounds; the network takes " + std::to_string(d) + " inputs");
  for (Eigen::Index i = 0; i < d; ++i)
    if (!std::isfinite(lo[i]) || !std::isfinite(hi[i]) || lo[i] > hi[i])
      throw Error("bound: the box's coordinate " + std::to_string(i) + " is [" + std::to_string(lo[i]) + ", " +
                  std::to_string(hi[i]) + "]: bounds must be finite with lower <= upper");
  const auto start = Clock::now();
  const Clock::time_point deadline =
      o.time_limit > 0 ? start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.time_limit))
                       : Clock::time_point::max();
  const int K = net.output_size();
  BoxBound r;
  r.method = o.method;
  r.class_upper = Vector::Ones(K);
  Witness witness;
  witness.class_lower = Vector::Zero(K);
  // The bounder keeps |W| of every dense and convolution node (a copy of
  // the weights), and every node's interval.
  check_memory(add_or_neg(net.memory_bytes(), net.memory_bytes()), "the bounds' copy of the weights of " +
                                                                      (net.source.empty() ? std::string("the model") : net.source));
  const Bounder b(net, o, deadline);
  auto finish = [&]() -> BoxBound {
    r.lower_bound = witness.best;
    r.argmax_input = witness.best_input;
    r.argmax_class = witness.best_class;
    r.class_lower = witness.class_lower;
    r.upper_bound = std::max(r.upper_bound, r.lower_bound);
    for (int k = 0; k < K; ++k) r.class_upper[k] = std::max(r.class_upper[k], r.class_lower[k]);
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    return r;
  };
  const Vector centre = 0.5 * (lo + hi);
  witness.offer(net, centre);
  if (K == 1) {  // one logit: the softmax is 1 everywhere
    r.upper_bound = 1;
    return finish();
  }
  auto stopped = [&](const std::string& why) {
    r.complete = false;
    r.stop_reason = why;
    r.upper_bound = 1;
    r.class_upper = Vector::Ones(K);
    return finish();
  };

  // Interval arithmetic.
  State s;
  if (!b.compute(lo, hi, {}, o.method != BoundMethod::Ibp, s)) return stopped(b.stop_reason());
  r.unstable = s.unstable;
  Matrix ub_all(K - 1, K);  // column k: upper bounds of z_k - z_j
  std::vector<Matrix> corner_coeffs;  // crown: each class's coefficients and constants at the input
  std::vector<Vector> corner_constants;
  const double tol = o.tolerance;
  if (o.method == BoundMethod::Ibp) {
    const Node& out = net.nodes.back();
    const int in = out.inputs.empty() ? 0 : out.inputs[0];
    double scale = 0;
    for (int k = 0; k < K; ++k)
      scale = std::max({scale, std::abs(s.lo.back()[k]), std::abs(s.hi.back()[k])});
    for (int k = 0; k < K; ++k) {
      for (int j = 0, c = 0; j < K; ++j) {
        if (j == k) continue;
        double u;
        if (out.kind == OpKind::Dense) {  // through the last layer's rows W_k - W_j
          const Vector c0 = 0.5 * (s.lo[in] + s.hi[in]), r0 = 0.5 * (s.hi[in] - s.lo[in]);
          const Eigen::RowVectorXd row = out.weight.row(k) - out.weight.row(j);
          u = row.dot(c0) + row.cwiseAbs().dot(r0) + out.bias[k] - out.bias[j];
        } else {
          u = s.hi.back()[k] - s.lo.back()[j];
        }
        ub_all(c++, k) = u + 1e-9 * (1.0 + 2 * scale);
      }
    }
  } else {
    // Many pairs at once (K - 1 columns per class), as many classes per
    // pass as the memory budget's column count allows.
    const int per_pass = std::max(1, b.columns() / std::max(1, K - 1));
    for (int first = 0; first < K; first += per_pass) {
      if (b.cancelled()) return stopped(b.stop_reason());
      const int count = std::min(per_pass, K - first);
      Matrix C(K, count * (K - 1));
      for (int t = 0; t < count; ++t) C.middleCols(t * (K - 1), K - 1) = difference_columns(K, first + t);
      Matrix g0;
      Vector cst;
      const Vector ub = b.backsub(s, net.output_node(), std::move(C), &g0, nullptr, &cst);
      for (int t = 0; t < count; ++t) {
        ub_all.col(first + t) = ub.segment(t * (K - 1), K - 1);
        corner_coeffs.push_back(g0.middleCols(t * (K - 1), K - 1));
        corner_constants.push_back(cst.segment(t * (K - 1), K - 1));
      }
    }
  }
  for (int k = 0; k < K; ++k) {
    r.class_upper[k] = confidence_from_differences(ub_all.col(k));
    if (!corner_coeffs.empty()) {
      // The differences at one input of the box (closed-form LPs).
      std::size_t ignored = 0;
      const double joint = joint_bound(b, s, corner_coeffs[k], corner_constants[k], ub_all.col(k), Matrix(0, d), Vector(0),
                                       o.tolerance, 0.0, 20, witness, ignored, o.cancel);
      if (joint >= 0) r.class_upper[k] = std::min(r.class_upper[k], joint);
    }
  }
  r.upper_bound = r.class_upper.maxCoeff();
  // Lower bounds: the relaxation's best corners, then projected gradient
  // ascent for the classes that could still be the largest.
  for (int k = 0; k < K && !corner_coeffs.empty(); ++k)
    witness.offer(net, best_corner(corner_coeffs[k], binding_weights(ub_all.col(k)), lo, hi));
  std::vector<int> order(K);
  for (int k = 0; k < K; ++k) order[k] = k;
  std::sort(order.begin(), order.end(), [&](int a, int c) { return r.class_upper[a] > r.class_upper[c]; });
  if (o.attack_steps > 0)
    for (int k : order) {
      if (r.class_upper[k] <= witness.best) continue;
      attack(net, k, centre, lo, hi, o.attack_steps, witness, b);
      if (!corner_coeffs.empty())
        attack(net, k, best_corner(corner_coeffs[k], binding_weights(ub_all.col(k)), lo, hi), lo, hi, o.attack_steps,
               witness, b);
      if (b.cancelled()) break;
    }
  if (o.method != BoundMethod::Exact) {
    if (b.cancelled()) {
      // The upper bound holds; the search for a lower bound was cut short.
      r.complete = false;
      r.stop_reason = b.stop_reason();
    }
    return finish();
  }

  // Branch and bound.
  std::priority_queue<Subproblem> queue;
  Vector pruned_max = Vector::Zero(K);  // largest bound of a subproblem dropped as no better than the best input
  Vector leaf_max = Vector::Zero(K);    // largest upper bound of a leaf or unsplittable subproblem left unresolved
  for (int k : order) {
    Subproblem sub;
    bound_class(b, s, k, sub, witness, tol, o.cancel, r.lps);
    sub.bound = std::min(sub.bound, r.class_upper[k]);
    ++r.branches;
    queue.push(std::move(sub));
  }
  bool complete = true;
  std::size_t unsolved = 0;  // regions whose maximum was not enclosed to the tolerance
  std::string why;
  auto last_report = Clock::now();
  while (!queue.empty()) {
    if (queue.top().bound <= witness.best + tol) break;  // nothing left can beat the best input by more than tol
    if (o.progress && Clock::now() - last_report > std::chrono::milliseconds(200)) {
      last_report = Clock::now();
      BoxBoundOptions::Progress p;
      p.branches = r.branches;
      p.open = queue.size();
      p.leaves = r.leaves;
      p.lower = witness.best;
      p.upper = std::max({queue.top().bound, leaf_max.maxCoeff(), pruned_max.maxCoeff(), witness.best});
      o.progress(p);
    }
    if (b.cancelled()) {
      complete = false;
      why = b.stop_reason();
      break;
    }
    if (r.branches >= o.max_branches) {
      complete = false;
      why = "branch limit of " + std::to_string(o.max_branches) + " subproblems reached";
      break;
    }
    Subproblem sub = queue.top();
    queue.pop();
    const int k = sub.cls;
    if (sub.unsplittable) {
      leaf_max[k] = std::max(leaf_max[k], sub.bound);
      ++r.unsplittable;
      continue;
    }
    if (sub.leaf) {
      State ls;
      if (!b.compute(lo, hi, sub.splits, true, ls)) {
        queue.push(std::move(sub));
        complete = false;
        why = b.stop_reason();
        break;
      }
      if (ls.empty) continue;
      const AffineMap map = affine_map(net, state_pattern(net, ls));
      Matrix A;
      Vector bb;
      split_constraints(b, ls, sub.splits, A, bb);
      ++r.leaves;
      const LeafResult lr = solve_leaf(net, map, k, lo, hi, A, bb, tol, witness.best + tol, witness, b, o.cancel);
      r.lps += lr.lps;
      if (lr.empty) continue;
      const double leaf_upper = std::min(sub.bound, lr.upper);
      if (lr.cancelled) {
        sub.bound = leaf_upper;
        queue.push(std::move(sub));
        complete = false;
        why = b.stop_reason();
        break;
      }
      if (leaf_upper > witness.best + tol) {
        leaf_max[k] = std::max(leaf_max[k], leaf_upper);
        ++unsolved;
      }
      else pruned_max[k] = std::max(pruned_max[k], leaf_upper);
      continue;
    }
    // Split into the two sides of the chosen knot.
    for (const bool above : {true, false}) {
      Subproblem child;
      child.splits = sub.splits;
      Split sp = sub.next;
      sp.above = above;
      child.splits.push_back(sp);
      State cs;
      if (!b.compute(lo, hi, child.splits, true, cs)) {
        complete = false;
        why = b.stop_reason();
        break;
      }
      ++r.branches;
      if (cs.empty) continue;
      if (!bound_class(b, cs, k, child, witness, tol, o.cancel, r.lps)) continue;
      child.bound = std::min(child.bound, sub.bound);
      if (child.bound <= witness.best + tol)
        pruned_max[k] = std::max(pruned_max[k], child.bound);
      else
        queue.push(std::move(child));
    }
    if (!complete) {
      queue.push(std::move(sub));  // its children are not all bounded: it stays open
      break;
    }
  }
  // Per class: the largest of its open, pruned and unresolved bounds.
  Vector open_max = Vector::Zero(K);
  r.open = complete ? 0 : queue.size();
  while (!queue.empty()) {
    const Subproblem& t = queue.top();
    open_max[t.cls] = std::max(open_max[t.cls], t.bound);
    queue.pop();
  }
  for (int k = 0; k < K; ++k) r.class_upper[k] = std::min(r.class_upper[k], std::max({open_max[k], pruned_max[k], leaf_max[k]}));
  r.upper_bound = r.class_upper.maxCoeff();
  r.upper_bound = std::max(r.upper_bound, witness.best);
  r.complete = complete && r.upper_bound - witness.best <= tol;
  if (!r.complete) {
    if (!why.empty())
      r.stop_reason = why;
    else if (r.unsplittable)
      r.stop_reason = std::to_string(r.unsplittable) +
                      " subproblems have max-pool windows without a clear winner, which branch and bound cannot split";
    else if (unsolved)
      r.stop_reason = std::to_string(unsolved) + " regions could not be solved to the tolerance";
    else
      r.stop_reason = "the gap is above the tolerance";
  }
  return finish();
}

void BoxBoundSummary::add(const BoxBound& b, double threshold) {
  ++count;
  if (b.complete) ++complete;
  if (b.upper_bound < threshold) ++certified;
  if (b.lower_bound >= threshold) ++refuted;
  upper_bound.add(b.upper_bound);
  lower_bound.add(b.lower_bound);
  gap.add(b.upper_bound - b.lower_bound);
  unstable.add(static_cast<double>(b.unstable));
  seconds.add(b.seconds);
}

void BoxBoundSummary::merge(const BoxBoundSummary& o) {
  count += o.count;
  complete += o.complete;
  certified += o.certified;
  refuted += o.refuted;
  upper_bound.merge(o.upper_bound);
  lower_bound.merge(o.lower_bound);
  gap.merge(o.gap);
  unstable.merge(o.unstable);
  seconds.merge(o.seconds);
}

void BoxBoundSummary::write(ByteWriter& w) const {
  for (std::size_t v : {count, complete, certified, refuted}) w.put<std::uint64_t>(v);
  for (const Distribution* d : {&upper_bound, &lower_bound, &gap, &unstable, &seconds}) d->write(w);
}

BoxBoundSummary BoxBoundSummary::read(ByteReader& in) {
  BoxBoundSummary s;
  for (std::size_t* v : {&s.count, &s.complete, &s.certified, &s.refuted}) *v = in.get<std::uint64_t>();
  for (Distribution* d : {&s.upper_bound, &s.lower_bound, &s.gap, &s.unstable, &s.seconds}) *d = Distribution::read(in);
  return s;
}

BoxBoundSetResult bound_confidence_set(const Network& net, const Matrix& lo, const Matrix& hi,
                                       const BoxBoundSetOptions& o) {
  if (o.threads < 0) throw Error("bound: threads must be 0 (all cores) or a positive number");
  if (const std::string why = o.bound.validate(); !why.empty()) throw Error(why);
  if (lo.rows() != net.input_size() || hi.rows() != net.input_size() || lo.cols() != hi.cols())
    throw Error("bound: the boxes have " + std::to_string(lo.rows()) + " values each; the network takes " +
                std::to_string(net.input_size()));
  const Eigen::Index N = lo.cols();
  std::vector<BoxBound> out(static_cast<std::size_t>(N));
  std::vector<char> started(static_cast<std::size_t>(N), 0);
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  std::mutex mutex;
  std::size_t done = 0;
  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  BoxBoundOptions bo = o.bound;
  if (o.cancel) bo.cancel = o.cancel;
  if (bo.columns == 0) {  // the memory budget is shared by the threads
    std::int64_t largest = 1;
    for (const Node& n : net.nodes) largest = std::max<std::int64_t>(largest, n.shape.size());
    bo.columns = static_cast<int>(std::clamp<std::int64_t>(memory_budget() / 8 / threads / (8 * largest), 2, 512));
  }
  auto cancelled = [&] { return o.cancel && o.cancel->load(std::memory_order_relaxed); };
  std::atomic<std::size_t> counter{0};
  const auto next = [&]() -> std::optional<std::size_t> {
    if (o.next_box) return o.next_box();
    const std::size_t j = counter.fetch_add(1);
    return j < static_cast<std::size_t>(N) ? std::optional<std::size_t>(j) : std::nullopt;
  };
#pragma omp parallel num_threads(threads)
  while (!cancelled() && !failed.load()) {
    std::optional<std::size_t> j;
    try {
      j = next();
      if (j && *j < static_cast<std::size_t>(N)) {
        started[*j] = 1;
        out[*j] = bound_confidence(net, lo.col(static_cast<Eigen::Index>(*j)), hi.col(static_cast<Eigen::Index>(*j)), bo);
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
    if (!j) break;
    std::lock_guard<std::mutex> lock(mutex);
    ++done;
    if (o.progress) o.progress(done, static_cast<std::size_t>(N));
  }
  if (error) std::rethrow_exception(error);
  BoxBoundSetResult r;
  r.requested = static_cast<std::size_t>(N);
  for (Eigen::Index j = 0; j < N; ++j) {
    if (!started[static_cast<std::size_t>(j)]) continue;
    r.bounds.push_back(std::move(out[static_cast<std::size_t>(j)]));
    r.box.push_back(j);
    r.summary.add(r.bounds.back(), o.threshold);
  }
  bool all_finished = o.next_box || r.bounds.size() == r.requested;
  for (const BoxBound& b : r.bounds) all_finished = all_finished && b.stop_reason != "cancelled";
  r.complete = all_finished;
  if (!r.complete)
    r.stop_reason = "cancelled: " + std::to_string(r.bounds.size()) + " of " + std::to_string(N) + " boxes started";
  return r;
}

}  // namespace tessera
