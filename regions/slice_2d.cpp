#include "regions/slice_2d.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <map>
#include <mutex>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "core/linear_ops.hpp"
#include "core/tolerances.hpp"
#include "regions/segment_confidence.hpp"

namespace tessera {

namespace {

constexpr double kCutTol = tol::kBreakpointRelTol;

Eigen::Vector3d row3(const Matrix& m, Eigen::Index i) { return m.row(i).transpose(); }

// One polygon on its way through the network: the values of the nodes still
// needed, as (n x 3) affine maps of (u, v, 1), and the pattern so far.
struct Piece {
  ConvexPolygon poly;
  std::vector<Matrix> values;
  ActivationPattern pattern;
};

class Slicer {
 public:
  Slicer(const Network& net, const SliceOptions& o) : net_(net), o_(o) {
    const int N = static_cast<int>(net.nodes.size());
    last_use_.assign(N, -1);
    for (int k = 0; k < N; ++k)
      for (int in : net.nodes[k].inputs) last_use_[in] = std::max(last_use_[in], k);
    last_use_[N - 1] = N;
    for (int i : net.piecewise_nodes()) layer_of_[i] = static_cast<int>(layer_of_.size());
  }

  // Runs the piece through nodes k.. and appends its final polygons to out.
  void process(Piece piece, int k, std::vector<SlicePolygon>& out, bool parallel) {
    const int N = static_cast<int>(net_.nodes.size());
    for (; k < N; ++k) {
      if (stop_.load()) return;
      const Node& n = net_.nodes[k];
      if (n.kind == OpKind::Add) {
        piece.values[k] = piece.values[n.inputs[0]] + piece.values[n.inputs[1]];
      } else if (!n.is_piecewise()) {
        piece.values[k] = apply_linear(n, nullptr, piece.values[n.inputs[0]]);
        Matrix c = piece.values[k].col(2);
        add_offset(n, c);
        piece.values[k].col(2) = c;
      } else {
        std::vector<ConvexPolygon> parts = cut(piece, k);
        if (parts.size() == 1) {
          piece.poly = std::move(parts.front());
          decide(piece, k);
        } else {
          std::vector<std::vector<SlicePolygon>> results(parts.size());
          std::exception_ptr error;
          std::mutex mutex;
#pragma omp parallel for schedule(dynamic) if (parallel)
          for (size_t i = 0; i < parts.size(); ++i) {
            try {
              Piece sub;
              sub.poly = std::move(parts[i]);
              sub.values = piece.values;
              sub.pattern = piece.pattern;
              decide(sub, k);
              release(sub, k);
              process(std::move(sub), k + 1, results[i], false);
            } catch (...) {
              std::lock_guard<std::mutex> lock(mutex);
              if (!error) error = std::current_exception();
            }
          }
          if (error) std::rethrow_exception(error);
          for (auto& r : results)
            for (auto& p : r) out.push_back(std::move(p));
          return;
        }
      }
      release(piece, k);
    }
    emit(piece, out);
  }

  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> emitted_{0};

 private:
  // Frees values no later node reads.
  void release(Piece& piece, int k) {
    for (int in : net_.nodes[k].inputs)
      if (last_use_[in] == k) piece.values[in] = Matrix();
  }

  // Cuts the piece's polygon by every line of piecewise node k.
  std::vector<ConvexPolygon> cut(const Piece& piece, int k) const {
    const Node& n = net_.nodes[k];
    const Matrix& in = piece.values[n.inputs[0]];
    std::vector<ConvexPolygon> parts{piece.poly};
    const long layer = layer_of_.at(k);
    auto cut_by = [&](const Eigen::Vector3d& line, long unit) {
      if (line.head<2>().isZero(0.0)) return;  // constant on the plane: no line
      std::vector<ConvexPolygon> next;
      next.reserve(parts.size() + 1);
      for (ConvexPolygon& p : parts) {
        ConvexPolygon pos, neg;
        int side = 0;
        if (split_polygon(p, line, (layer << 32) | unit, &pos, &neg, &side, kCutTol)) {
          next.push_back(std::move(pos));
          next.push_back(std::move(neg));
        } else {
          next.push_back(std::move(p));
        }
      }
      parts = std::move(next);
    };
    if (n.kind == OpKind::MaxPool2d) {
      const int K = n.window.kernel_h * n.window.kernel_w;
      for (int o = 0; o < n.shape.size(); ++o) {
        const int* w = &n.gather[static_cast<size_t>(o) * K];
        for (int a = 0; a < K; ++a)
          for (int b = a + 1; b < K; ++b)
            if (w[a] >= 0 && w[b] >= 0) cut_by(row3(in, w[a]) - row3(in, w[b]), o);
      }
    } else {
      for (Eigen::Index i = 0; i < in.rows(); ++i) cut_by(row3(in, i), i);
    }
    return parts;
  }

  // Fixes node k's pattern on the piece (decided at its centroid, an
  // interior point) and computes the node's values.
  void decide(Piece& piece, int k) const {
    const Node& n = net_.nodes[k];
    const Matrix& in = piece.values[n.inputs[0]];
    const Eigen::Vector2d c = piece.poly.centroid();
    LayerPattern& l = piece.pattern.layers[layer_of_.at(k)];
    if (n.kind == OpKind::MaxPool2d) {
      const int K = n.window.kernel_h * n.window.kernel_w;
      for (int o = 0; o < l.size; ++o) {
        const int* w = &n.gather[static_cast<size_t>(o) * K];
        int best = -1;
        double best_v = 0;
        for (int a = 0; a < K; ++a) {
          if (w[a] < 0) continue;
          const double v = affine_at(row3(in, w[a]), c);
          if (best < 0 || v > best_v) {
            best = w[a];
            best_v = v;
          }
        }
        l.selection[o] = best;
      }
    } else {
      std::fill(l.bits.begin(), l.bits.end(), 0);
      for (int i = 0; i < l.size; ++i)
        if (affine_at(row3(in, i), c) > tol::kActiveThreshold) l.set_active(i);
    }
    piece.values[k] = apply_linear(n, &l, in);
  }

  void emit(Piece& piece, std::vector<SlicePolygon>& out) {
    if (emitted_.fetch_add(1) >= o_.max_regions) {
      stop_.store(true);
      return;
    }
    if (o_.cancel && o_.cancel->load()) {
      stop_.store(true);
      return;
    }
    const std::size_t done = emitted_.load();
    if (o_.progress && done % 1024 == 0) {
      std::lock_guard<std::mutex> lock(progress_mutex_);
      o_.progress(done);
    }
    SlicePolygon s;
    s.logits = std::move(piece.values.back());
    s.pattern_hash = piece.pattern.hash();
    if (o_.keep_patterns) s.pattern = piece.pattern;
    s.area = piece.poly.area();
    const Eigen::Vector2d c = piece.poly.centroid();
    const Vector z = s.logits.leftCols<2>() * c + s.logits.col(2);
    Eigen::Index cls;
    z.maxCoeff(&cls);
    s.predicted_class = static_cast<int>(cls);
    s.polygon = std::move(piece.poly);
    out.push_back(std::move(s));
  }

  const Network& net_;
  const SliceOptions& o_;
  std::vector<int> last_use_;
  std::map<int, int> layer_of_;
  std::mutex progress_mutex_;
};

// log p_k at (u, v) and its gradient / Hessian, for interior maxima.
bool interior_maximum(const Matrix& L, int k, const ConvexPolygon& poly, double* best) {
  const Eigen::Index K = L.rows();
  Eigen::Vector2d x = poly.centroid();
  for (int it = 0; it < 60; ++it) {
    const Vector z = L.leftCols<2>() * x + L.col(2);
    const Vector p = softmax(z);
    const Eigen::Vector2d mean = L.leftCols<2>().transpose() * p;
    const Eigen::Vector2d g = L.row(k).head<2>().transpose() - mean;
    Eigen::Matrix2d H = Eigen::Matrix2d::Zero();
    for (Eigen::Index j = 0; j < K; ++j) {
      const Eigen::Vector2d d = L.row(j).head<2>().transpose() - mean;
      H -= p[j] * d * d.transpose();
    }
    if (H.determinant() <= 1e-300 || !(H.trace() < 0)) return false;
    const Eigen::Vector2d step = -H.ldlt().solve(g);
    x += step;
    if (!x.allFinite()) return false;
    if (step.norm() <= 1e-13 * (1 + x.norm())) break;
  }
  // Inside the polygon?
  const size_t n = poly.vertices.size();
  for (size_t i = 0; i < n; ++i) {
    const Eigen::Vector2d e = poly.vertices[(i + 1) % n] - poly.vertices[i];
    const Eigen::Vector2d r = x - poly.vertices[i];
    if (e[0] * r[1] - e[1] * r[0] < 0) return false;
  }
  *best = std::max(*best, confidence_at(L.leftCols<2>() * x + L.col(2), Vector::Zero(K), 0.0));
  return true;
}

// Exact confidence range over the polygon and the decision-boundary edges.
void confidence_and_boundary(SlicePolygon& s, std::vector<std::array<Eigen::Vector2d, 2>>& boundary) {
  const Matrix& L = s.logits;
  const int K = static_cast<int>(L.rows());
  const Eigen::Index zero = 0;
  (void)zero;
  auto conf_at = [&](const Eigen::Vector2d& p) {
    return confidence_at(L.leftCols<2>() * p + L.col(2), Vector::Zero(K), 0.0);
  };
  double lo = 1.0, hi = 0.0;
  // The maximum: on an edge (1-D, exact) or at an interior stationary point.
  const size_t n = s.polygon.vertices.size();
  for (size_t i = 0; i < n; ++i) {
    const Eigen::Vector2d& a = s.polygon.vertices[i];
    const Eigen::Vector2d& b = s.polygon.vertices[(i + 1) % n];
    const Vector c = L.leftCols<2>() * a + L.col(2), w = L.leftCols<2>() * (b - a);
    hi = std::max(hi, confidence_range(c, w, 0.0, 1.0).max);
  }
  for (int k = 0; k < K; ++k) interior_maximum(L, k, s.polygon, &hi);
  // The minimum: at a vertex of some class cell (where one class is the
  // arg-max, the confidence is that class's log-concave probability).
  for (int k = 0; k < K; ++k) {
    ConvexPolygon cell = s.polygon;
    for (int j = 0; j < K && !cell.empty(); ++j)
      // Decision lines are labelled -2 - j, apart from the window border (-1)
      // and the units' lines (>= 0).
      if (j != k) cell = clip_polygon(cell, (L.row(k) - L.row(j)).transpose(), -2 - j, kCutTol);
    if (cell.empty()) continue;
    s.class_cells.emplace_back(k, cell);
    for (size_t i = 0; i < cell.vertices.size(); ++i) {
      lo = std::min(lo, conf_at(cell.vertices[i]));
      const long j = -2 - cell.labels[i];
      if (j > k) boundary.push_back({cell.vertices[i], cell.vertices[(i + 1) % cell.vertices.size()]});
    }
  }
  s.min_confidence = std::min(lo, hi);
  s.max_confidence = hi;
}

}  // namespace

Slice2d slice_regions_2d(const Network& net, const Plane2d& plane, const SliceWindow& w, const SliceOptions& o) {
  check_input(plane.origin, net.input_size(), "slice origin");
  check_input(plane.e1, net.input_size(), "slice direction e1");
  check_input(plane.e2, net.input_size(), "slice direction e2");
  if (plane.e1.isZero(0.0) || plane.e2.isZero(0.0)) throw Error("slice: a direction (e1 or e2) is zero");
  {
    const double c = std::abs(plane.e1.dot(plane.e2)) / (plane.e1.norm() * plane.e2.norm());
    if (c > 1 - 1e-12) throw Error("slice: e1 and e2 are parallel, so they span no plane");
  }
  for (double v : {w.u0, w.u1, w.v0, w.v1})
    if (!std::isfinite(v)) throw Error("slice: the window bounds must be finite");
  if (!(w.u0 < w.u1) || !(w.v0 < w.v1)) throw Error("slice: the window is empty or inverted (need u0 < u1 and v0 < v1)");
  if (o.max_regions == 0) throw Error("slice: the region limit must be positive");

  Slicer slicer(net, o);
  Piece start;
  start.poly = ConvexPolygon::rectangle(w.u0, w.u1, w.v0, w.v1);
  start.values.resize(net.nodes.size());
  start.values[0].resize(net.input_size(), 3);
  start.values[0].col(0) = plane.e1;
  start.values[0].col(1) = plane.e2;
  start.values[0].col(2) = plane.origin;
  start.pattern = empty_pattern(net);
  Slice2d out;
  out.window_area = (w.u1 - w.u0) * (w.v1 - w.v0);
  slicer.process(std::move(start), 1, out.polygons, true);
  out.complete = !slicer.stop_.load();
  if (!out.complete) {
    if (o.cancel && o.cancel->load())
      out.stop_reason = "cancelled";
    else
      out.stop_reason = "stopped at " + std::to_string(o.max_regions) + " regions (--max-regions)";
    if (out.polygons.size() > o.max_regions) out.polygons.resize(o.max_regions);
  }
  if (o.decision_boundary) {
    std::vector<std::vector<std::array<Eigen::Vector2d, 2>>> parts(out.polygons.size());
#pragma omp parallel for schedule(dynamic)
    for (size_t i = 0; i < out.polygons.size(); ++i) confidence_and_boundary(out.polygons[i], parts[i]);
    for (auto& p : parts) out.decision_boundary.insert(out.decision_boundary.end(), p.begin(), p.end());
  }
  return out;
}

}  // namespace tessera
