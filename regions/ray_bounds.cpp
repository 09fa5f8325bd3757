#include "regions/ray_bounds.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "core/linear_ops.hpp"

namespace tessera {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// Enclosure of a node's values on the piece: columns (c, w) of the middle
// and of the radius.
struct Enclosure {
  Matrix m, r;
  bool exact = true;  // r == 0
};

inline double at(double c, double w, double t) { return c + t * w; }
inline double min_on(double c, double w, double a, double b) { return std::min(at(c, w, a), at(c, w, b)); }
inline double max_on(double c, double w, double a, double b) { return std::max(at(c, w, a), at(c, w, b)); }
// ReLU (s = 0) or leaky ReLU with slope s in [0, 1]: convex.
inline double act(double z, double s) { return z > 0 ? z : s * z; }

// (W M, |W| R) for a dense layer in one pass over the columns of W that
// meet a non-zero row of M or R (W is read from memory once; |W| is not
// stored).
void dense_enclosure(const Matrix& W, const Matrix& m, const Matrix& r, Matrix& om, Matrix& orad) {
  om = Matrix::Zero(W.rows(), 2);
  orad = Matrix::Zero(W.rows(), 2);
  for (Eigen::Index i = 0; i < W.cols(); ++i) {
    const double m0 = m(i, 0), m1 = m(i, 1), r0 = r(i, 0), r1 = r(i, 1);
    if (m0 == 0 && m1 == 0 && r0 == 0 && r1 == 0) continue;
    const auto w = W.col(i);
    if (m0 != 0) om.col(0) += m0 * w;
    if (m1 != 0) om.col(1) += m1 * w;
    if (r0 != 0 || r1 != 0) {
      const auto a = w.cwiseAbs();
      if (r0 != 0) orad.col(0) += r0 * a;
      if (r1 != 0) orad.col(1) += r1 * a;
    }
  }
}

// A line c + t·w.
struct Line {
  double c = 0, w = 0;
};

// For a Piecewise unit i and an affine input z(t) = zc + t·zw on [a, b]: a
// line above (upper) or below (!upper) g(t) = f(z(t)) on [a, b]. g is
// piecewise linear with breakpoints where z(t) meets a knot; the chord
// through its ends is moved out by the largest gap at a breakpoint, which
// bounds g because g minus the chord is linear between breakpoints.
Line chord_bound(const Node& n, Eigen::Index i, double zc, double zw, double a, double b, bool upper) {
  auto g = [&](double t) {
    const double z = at(zc, zw, t);
    const int k = n.piece_at(i, z);
    return n.piece_slope(i, k) * z + n.piece_offset(i, k);
  };
  const double ga = g(a), gb = g(b);
  Line line;
  line.w = (gb - ga) / (b - a);
  line.c = ga - a * line.w;
  double gap = 0;
  if (zw != 0)
    for (int j = 0; j + 1 < n.pieces(); ++j) {
      const double t = (n.knot(i, j) - zc) / zw;
      if (!(t > a && t < b)) continue;
      const double d = g(t) - at(line.c, line.w, t);
      gap = std::max(gap, upper ? d : -d);
    }
  line.c += upper ? gap : -gap;
  return line;
}

}  // namespace

RayBounder::RayBounder(const Network& net) : net_(net) {
  // |W| for the linear nodes other than dense ones (those use
  // dense_enclosure); the dense weights, the bulk of a network, are not copied.
  abs_.nodes.resize(net.nodes.size());
  for (std::size_t k = 0; k < net.nodes.size(); ++k) {
    const Node& n = net.nodes[k];
    if (n.kind == OpKind::Dense || n.kind == OpKind::Relu || n.kind == OpKind::LeakyRelu || n.kind == OpKind::MaxPool2d ||
        n.kind == OpKind::Piecewise || n.kind == OpKind::Add || n.kind == OpKind::Input)
      continue;
    Node& a = abs_.nodes[k];
    a = n;
    if (a.kind == OpKind::Conv2d) {
      a.weight = a.weight.cwiseAbs();
      if (a.weight_t.size()) a.weight_t = a.weight_t.cwiseAbs();
    }
    if (a.kind == OpKind::ElementwiseAffine) a.scale = a.scale.cwiseAbs();
  }
}

RayBounder::Bound RayBounder::confidence_bound(const Vector& x0, const Vector& d, double a, double b) const {
  const Network& net = net_;
  const int N = static_cast<int>(net.nodes.size());
  std::vector<int> last_use(N, -1);
  for (int k = 0; k < N; ++k)
    for (int in : net.nodes[k].inputs) last_use[in] = std::max(last_use[in], k);
  // The output's dense layer, if any: its input is kept for the
  // differences of logits.
  const Node& out_node = net.nodes[N - 1];
  const int diff_input = out_node.kind == OpKind::Dense ? out_node.inputs[0] : -1;

  Bound bound;
  std::vector<Enclosure> v(N);
  v[0].m.resize(x0.size(), 2);
  v[0].m.col(0) = x0;
  v[0].m.col(1) = d;
  v[0].r = Matrix::Zero(x0.size(), 2);
  Enclosure kept;  // the input of the output's dense layer
  for (int k = 1; k < N; ++k) {
    const Node& n = net.nodes[k];
    const Enclosure& in = v[n.inputs[0]];
    Enclosure& o = v[k];
    if (n.kind == OpKind::Add) {
      const Enclosure& in2 = v[n.inputs[1]];
      o.m = in.m + in2.m;
      o.r = in.r + in2.r;
      o.exact = in.exact && in2.exact;
    } else if (n.kind == OpKind::Relu || n.kind == OpKind::LeakyRelu) {
      const double s = n.kind == OpKind::LeakyRelu ? n.slope : 0.0;
      o.m = in.m;
      o.r = in.r;
      o.exact = in.exact;
      for (Eigen::Index i = 0; i < in.m.rows(); ++i) {
        const double lc = in.m(i, 0) - in.r(i, 0), lw = in.m(i, 1) - in.r(i, 1);
        const double uc = in.m(i, 0) + in.r(i, 0), uw = in.m(i, 1) + in.r(i, 1);
        const double l = min_on(lc, lw, a, b), u = max_on(uc, uw, a, b);
        if (l >= 0) continue;  // active on the whole piece
        if (u <= 0) {          // inactive on the whole piece
          o.m.row(i) *= s;
          o.r.row(i) *= std::abs(s);
          continue;
        }
        ++bound.relaxed;
        o.exact = false;
        if (!(s >= 0 && s <= 1)) {
          // Not convex (slope above 1 or negative): the constant range of
          // the unit over [l, u], which holds its values at l, 0 and u.
          const double lo = std::min({act(l, s), act(u, s), 0.0}), hi = std::max({act(l, s), act(u, s), 0.0});
          o.m.row(i) << 0.5 * (lo + hi), 0.0;
          o.r.row(i) << 0.5 * (hi - lo), 0.0;
          continue;
        }
        // Upper: relu(z(t)) <= relu(U(t)), which is convex in t, so below
        // its chord over [a, b]. Lower: L(t) or s L(t), whichever keeps more.
        const double ua = act(at(uc, uw, a), s), ub = act(at(uc, uw, b), s);
        const double nuw = (ub - ua) / (b - a), nuc = ua - a * nuw;
        const double keep = at(lc, lw, 0.5 * (a + b)) > 0 ? 1.0 : s;  // the larger mean over [a, b]
        const double nlc = keep * lc, nlw = keep * lw;
        o.m(i, 0) = 0.5 * (nuc + nlc);
        o.m(i, 1) = 0.5 * (nuw + nlw);
        o.r(i, 0) = 0.5 * (nuc - nlc);
        o.r(i, 1) = 0.5 * (nuw - nlw);
      }
    } else if (n.kind == OpKind::Piecewise) {
      o.m = in.m;
      o.r = in.r;
      o.exact = in.exact;
      const int P = n.pieces();
      for (Eigen::Index i = 0; i < in.m.rows(); ++i) {
        const double l = min_on(in.m(i, 0) - in.r(i, 0), in.m(i, 1) - in.r(i, 1), a, b);
        const double u = max_on(in.m(i, 0) + in.r(i, 0), in.m(i, 1) + in.r(i, 1), a, b);
        const int kl = n.piece_at(i, l), ku = n.piece_at(i, u);
        if (kl == ku) {  // one piece on the whole piece of the ray: affine
          const double sl = n.piece_slope(i, kl);
          o.m.row(i) *= sl;
          o.m(i, 0) += n.piece_offset(i, kl);
          o.r.row(i) *= std::abs(sl);
          continue;
        }
        ++bound.relaxed;
        o.exact = false;
        auto f = [&](double z, int k) { return n.piece_slope(i, k) * z + n.piece_offset(i, k); };
        bool monotone = true;
        for (int k = 0; k < P; ++k) monotone = monotone && n.piece_slope(i, k) >= 0;
        if (monotone) {
          // Non-decreasing (Clip, max/min with a constant, PRelu with
          // slopes >= 0): f(L(t)) <= f(z(t)) <= f(U(t)). Each side is
          // piecewise linear in t; its chord over [a, b], moved out by the
          // largest gap at its breakpoints, bounds it by a line.
          const Line up = chord_bound(n, i, in.m(i, 0) + in.r(i, 0), in.m(i, 1) + in.r(i, 1), a, b, true);
          const Line down = chord_bound(n, i, in.m(i, 0) - in.r(i, 0), in.m(i, 1) - in.r(i, 1), a, b, false);
          o.m(i, 0) = 0.5 * (up.c + down.c);
          o.m(i, 1) = 0.5 * (up.w + down.w);
          o.r(i, 0) = 0.5 * (up.c - down.c);
          o.r(i, 1) = 0.5 * (up.w - down.w);
          continue;
        }
        // Otherwise (|x|, negative slopes) the unit's range over [l, u]: its
        // values at l, u and the knots between them (it is linear in
        // between), held as a constant.
        double lo = std::min(f(l, kl), f(u, ku)), hi = std::max(f(l, kl), f(u, ku));
        for (int j = kl; j < ku && j + 1 < P; ++j) {
          const double v = f(n.knot(i, j), j);
          lo = std::min(lo, v);
          hi = std::max(hi, v);
        }
        o.m.row(i) << 0.5 * (lo + hi), 0.0;
        o.r.row(i) << 0.5 * (hi - lo), 0.0;
      }
    } else if (n.kind == OpKind::MaxPool2d) {
      const int K = n.window.kernel_h * n.window.kernel_w;
      const Eigen::Index size = n.shape.size();
      o.m.resize(size, 2);
      o.r.resize(size, 2);
      o.exact = in.exact;
      for (Eigen::Index p = 0; p < size; ++p) {
        const int* window = &n.gather[static_cast<size_t>(p) * K];
        // A winner on the whole piece: an entry whose lower function is
        // above every other upper function at both ends (both are affine).
        // Only the entries largest at a or at b can be one.
        int best_a = -1, best_b = -1, lower_pick = -1;
        double la_max = -kInf, lb_max = -kInf, best_mean = -kInf, max_ua = -kInf, max_ub = -kInf;
        for (int q = 0; q < K; ++q) {
          const int j = window[q];
          if (j < 0) continue;
          const double la = at(in.m(j, 0) - in.r(j, 0), in.m(j, 1) - in.r(j, 1), a);
          const double lb = at(in.m(j, 0) - in.r(j, 0), in.m(j, 1) - in.r(j, 1), b);
          if (la > la_max) la_max = la, best_a = j;
          if (lb > lb_max) lb_max = lb, best_b = j;
          if (la + lb > best_mean) best_mean = la + lb, lower_pick = j;
          max_ua = std::max(max_ua, at(in.m(j, 0) + in.r(j, 0), in.m(j, 1) + in.r(j, 1), a));
          max_ub = std::max(max_ub, at(in.m(j, 0) + in.r(j, 0), in.m(j, 1) + in.r(j, 1), b));
        }
        auto wins = [&](int c) {
          const double la = at(in.m(c, 0) - in.r(c, 0), in.m(c, 1) - in.r(c, 1), a);
          const double lb = at(in.m(c, 0) - in.r(c, 0), in.m(c, 1) - in.r(c, 1), b);
          for (int q = 0; q < K; ++q) {
            const int j = window[q];
            if (j < 0 || j == c) continue;
            if (at(in.m(j, 0) + in.r(j, 0), in.m(j, 1) + in.r(j, 1), a) > la ||
                at(in.m(j, 0) + in.r(j, 0), in.m(j, 1) + in.r(j, 1), b) > lb)
              return false;
          }
          return true;
        };
        const int winner = wins(best_a) ? best_a : best_b != best_a && wins(best_b) ? best_b : -1;
        if (winner >= 0) {  // one winner on the whole piece
          o.m.row(p) = in.m.row(winner);
          o.r.row(p) = in.r.row(winner);
          continue;
        }
        ++bound.relaxed;
        o.exact = false;
        // Upper: the max of the upper functions is convex in t, so below its
        // chord over [a, b]. Lower: the entry whose lower function keeps most.
        const double uw = (max_ub - max_ua) / (b - a), uc = max_ua - a * uw;
        const double lc = in.m(lower_pick, 0) - in.r(lower_pick, 0), lw = in.m(lower_pick, 1) - in.r(lower_pick, 1);
        o.m(p, 0) = 0.5 * (uc + lc);
        o.m(p, 1) = 0.5 * (uw + lw);
        o.r(p, 0) = 0.5 * (uc - lc);
        o.r(p, 1) = 0.5 * (uw - lw);
      }
    } else if (n.kind == OpKind::Dense) {
      dense_enclosure(n.weight, in.m, in.r, o.m, o.r);
      o.m.col(0) += n.bias;
      o.exact = in.exact;
    } else {
      o.m = apply_linear(n, nullptr, in.m);
      Matrix c = o.m.col(0);
      add_offset(n, c);
      o.m.col(0) = c;
      o.exact = in.exact;
      o.r = in.exact ? Matrix::Zero(o.m.rows(), 2) : apply_linear(abs_.nodes[k], nullptr, in.r);
    }
    if (k == diff_input) kept = v[k];
    for (size_t j = 0; j < n.inputs.size(); ++j) {
      const int in_node = n.inputs[j];
      if (j > 0 && in_node == n.inputs[0]) continue;
      if (last_use[in_node] == k) v[in_node] = Enclosure();
    }
  }

  // Lower bounds of z_j - z_k on [a, b], as a K x K matrix low(j, k).
  const Enclosure& z = v[N - 1];
  const Eigen::Index K = z.m.rows();
  Matrix low(K, K);
  double scale = 0;  // magnitude of the logits, for the rounding allowance
  for (Eigen::Index j = 0; j < K; ++j)
    scale = std::max({scale, std::abs(at(z.m(j, 0), z.m(j, 1), a)) + std::abs(at(z.r(j, 0), z.r(j, 1), a)),
                      std::abs(at(z.m(j, 0), z.m(j, 1), b)) + std::abs(at(z.r(j, 0), z.r(j, 1), b))});
  if (diff_input >= 0 && !kept.exact) {
    const Matrix& W = out_node.weight;
    for (Eigen::Index k = 0; k < K; ++k) {
      const Matrix D = W.rowwise() - W.row(k);                       // rows W_j - W_k
      const Matrix mid = D * kept.m;                                 // (K x 2)
      const Matrix rad = D.cwiseAbs() * kept.r;                      // (K x 2)
      for (Eigen::Index j = 0; j < K; ++j) {
        const double db = out_node.bias[j] - out_node.bias[k];
        low(j, k) = min_on(mid(j, 0) + db - rad(j, 0), mid(j, 1) - rad(j, 1), a, b);
      }
    }
  } else {
    for (Eigen::Index k = 0; k < K; ++k)
      for (Eigen::Index j = 0; j < K; ++j)
        low(j, k) = j == k ? 0.0
                           : min_on((z.m(j, 0) - z.r(j, 0)) - (z.m(k, 0) + z.r(k, 0)),
                                    (z.m(j, 1) - z.r(j, 1)) - (z.m(k, 1) + z.r(k, 1)), a, b);
  }
  // Rounding allowance: every value above carries a relative error of a
  // few ulps of the magnitudes involved; 1e-9 of them is far more.
  const double allowance = 1e-9 * (1.0 + scale);
  double best = 0;
  for (Eigen::Index k = 0; k < K; ++k) {
    double sum = 1;
    for (Eigen::Index j = 0; j < K; ++j)
      if (j != k) sum += std::exp(low(j, k) - allowance);
    best = std::max(best, 1.0 / sum);
  }
  bound.confidence = std::min(1.0, best);
  return bound;
}

}  // namespace tessera
