// Internal: layer-by-layer cutting shared by the 2-D and 3-D slices.
#pragma once

#include <omp.h>

#include <algorithm>
#include <atomic>
#include <exception>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "core/activation_pattern.hpp"
#include "core/graph_walker.hpp"
#include "core/limits.hpp"
#include "core/linear_ops.hpp"
#include "core/tolerances.hpp"
#include "regions/slice_2d.hpp"

namespace tessera::detail {

constexpr double kCutTol = tol::kBreakpointRelTol;

// Double precision resolves a slice only down to about
//   rho = 1000 · 2^-52 · (largest |coordinate| of the window):
// cut points are interpolated between vertices that far out, with a
// rounding error of a few ulps of their coordinates at every cut. A window
// narrower than 1000 rho, or a result whose smallest cell is not wider
// than rho, cannot be trusted to hold every region (toy2d in a window of
// ±1e14 loses regions near its centre). Returns a warning, or "" when the
// slice is well within precision. `smallest_width` is the smallest cell's
// size measure (area / perimeter for polygons, volume / surface for
// polyhedra, times two: the width of a strip).
inline std::string precision_warning(double max_abs_coordinate, double min_extent, double smallest_width) {
  const double rho = 1000 * 2.220446049250313e-16 * max_abs_coordinate;
  char buf[320];
  if (min_extent < 1000 * rho) {
    std::snprintf(buf, sizeof buf,
                  "the window is too narrow for its distance from the slice origin (%.3g wide at %.3g): double "
                  "precision resolves only about %.2g there; centre the slice nearer the window",
                  min_extent, max_abs_coordinate, rho);
    return buf;
  }
  if (smallest_width <= rho) {
    std::snprintf(buf, sizeof buf,
                  "the window (coordinates up to %.3g) is too large for double precision to resolve every region: "
                  "cells narrower than about %.2g may be merged or lost; use a smaller window",
                  max_abs_coordinate, rho);
    return buf;
  }
  return "";
}

// One cell on its way through the network: its walk holds the values of the
// nodes still needed, as (n x (D+1)) affine maps of (slice coordinates, 1),
// and the pattern so far.
template <class Geometry>
struct Piece {
  typename Geometry::Cell poly;
  GraphWalk walk;
};

// A finished cell: its pattern and the logits as an affine map (K x (D+1)).
template <class Geometry>
struct SlicedCell {
  typename Geometry::Cell cell;
  std::uint64_t pattern_hash = 0;
  ActivationPattern pattern;
  Matrix logits;
  int predicted_class = -1;
};

// Layer-by-layer cutting of cells by the zero sets of the units' affine
// functions. Geometry provides Cell, Point, D, split(cell, a, label, pos,
// neg, side, tol) (which may take the cell's contents when it returns
// true: the cell is discarded then), bounds(cell, lo, hi) (its bounding
// box) and centroid(cell).
template <class Geometry>
class LayerSlicer {
 public:
  using Cell = typename Geometry::Cell;
  using Point = typename Geometry::Point;
  static constexpr int D = Geometry::D;
  using Affine = Eigen::Matrix<double, D + 1, 1>;

  LayerSlicer(const Network& net, const SliceOptions& o) : net_(net), o_(o), plan_(net) {
    const int N = static_cast<int>(net.nodes.size());
    units_after_.assign(N + 1, 0);
    for (int j = N - 1; j >= 0; --j)
      units_after_[j] = units_after_[j + 1] + (net.nodes[j].is_piecewise() ? net.nodes[j].shape.size() : 0);
  }

  // What the cutting holds at once, at most: every node's values as affine
  // maps of the slice coordinates (8 (D+1) bytes a value) for the pieces on
  // the recursion stack of each thread (one per piecewise layer, plus one).
  // With the model itself, checked against the memory budget before the
  // slice starts.
  static std::int64_t estimated_bytes(const Network& net, int threads) {
    std::int64_t values = 0;
    for (const Node& n : net.nodes) values = add_or_neg(values, n.shape.size());
    const std::int64_t piece = mul_or_neg(values, 8 * (D + 1));
    const std::int64_t depth = static_cast<std::int64_t>(net.piecewise_nodes().size()) + 2;
    return add_or_neg(net.memory_bytes(), mul_or_neg(mul_or_neg(piece, depth), std::max(threads, 1)));
  }

  // Runs the piece through the rest of the network and appends its final
  // cells to out.
  void process(Piece<Geometry> piece, std::vector<SlicedCell<Geometry>>& out, bool parallel) {
    while (piece.walk.advance()) {
      if (should_stop()) return;
      const int k = piece.walk.node();
      std::vector<Cell> parts = cut(piece);
      if (should_stop()) return;
      if (parts.size() == 1) {
        piece.poly = std::move(parts.front());
        decide(piece);
        continue;
      }
      // With threads, each part's cells go to a list of their own, joined in
      // order after; on one thread straight to `out` (the same order), and
      // the last part takes the piece's walk.
      const bool threads = parallel && worth_threads(parts.size(), k);
      std::vector<std::vector<SlicedCell<Geometry>>> results(threads ? parts.size() : 0);
      std::exception_ptr error;
      std::mutex mutex;
      auto run_part = [&](size_t i) {
        if (should_stop()) return;
        try {
          Piece<Geometry> sub{std::move(parts[i]),
                              !threads && i + 1 == parts.size() ? std::move(piece.walk) : piece.walk};
          decide(sub);
          process(std::move(sub), threads ? results[i] : out, false);
        } catch (...) {
          std::lock_guard<std::mutex> lock(mutex);
          if (!error) error = std::current_exception();
        }
      };
      if (threads) {
#pragma omp parallel for schedule(dynamic)
        for (size_t i = 0; i < parts.size(); ++i) run_part(i);
      } else {
        for (size_t i = 0; i < parts.size(); ++i) run_part(i);  // no OpenMP bookkeeping a part
      }
      if (error) std::rethrow_exception(error);
      if (threads) {
        std::size_t total = out.size();
        for (const auto& r : results) total += r.size();
        out.reserve(total);
        for (auto& r : results)
          for (auto& p : r) out.push_back(std::move(p));
      }
      return;
    }
    if (should_stop()) return;
    emit(piece, out);
  }

  // Runs the whole slice from `start` and returns its cells; *stop_reason is
  // empty when complete, else why it stopped (the cells are then partial).
  // `input` holds the input's values as an affine map of the slice
  // coordinates: D direction columns, then the point.
  std::vector<SlicedCell<Geometry>> run(Cell cell, Matrix input, std::string* stop_reason) {
    std::vector<SlicedCell<Geometry>> cells;
    process(Piece<Geometry>{std::move(cell), GraphWalk(plan_, std::move(input), D, D + 1)}, cells, true);
    stop_reason->clear();
    if (stop_.load()) {
      *stop_reason = o_.cancel && o_.cancel->load()
                         ? "cancelled"
                         : "stopped at " + std::to_string(o_.max_regions) + " regions (--max-regions)" + limit_detail_;
      if (cells.empty() && last_cut_node_ >= 0 && limit_detail_.empty())
        *stop_reason += "; no region was finished: layer '" + net_.nodes[last_cut_node_].name + "' (" +
                        std::to_string(last_cut_.layer + 1) + " of " + std::to_string(last_cut_.layers) +
                        ") had cut one cell into " + std::to_string(last_cut_.pieces) + " pieces by unit " +
                        std::to_string(last_cut_.unit) + " of " + std::to_string(last_cut_.units) +
                        " (a smaller window or --max-regions shows how fast regions multiply)";
      // Cells of a cut piece that never reached the last layer are missing;
      // the partial result holds only finished cells.
      if (cells.size() > o_.max_regions) cells.resize(o_.max_regions);
    }
    return cells;
  }

  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> emitted_{0};

 private:
  // True once the slice must stop: cancelled, or the region limit reached.
  // Cheap (two atomic loads); called between units of every cut, so that a
  // layer cutting one polygon into many pieces stops within milliseconds.
  bool should_stop() {
    if (stop_.load(std::memory_order_relaxed)) return true;
    if (o_.cancel && o_.cancel->load(std::memory_order_relaxed)) {
      stop_.store(true);
      return true;
    }
    return false;
  }

  // Whether a cut's parts are worth the threads: below some ten thousand
  // units of work in all (parts times the units of the layers still to
  // cut them) a slice takes well under a millisecond on one thread, less
  // than starting the threads and waiting at their barrier (milliseconds
  // when the machine is busy). The result is the same either way.
  static constexpr std::int64_t kThreadedWork = 16384;
  bool worth_threads(std::size_t parts, int k) const {
    return static_cast<std::int64_t>(parts) * (units_after_[k + 1] + 1) >= kThreadedWork;
  }

  // Cuts the piece's polygon by every line of piecewise node k.
  //
  // Every piece becomes at least one finished region, so once the pieces of
  // this cut together with the regions already emitted exceed max_regions
  // the slice cannot finish within its limit: it stops here instead of
  // cutting on (a cut of a CNN layer can make millions of slivers).
  // (Small cuts always finish, so that a small limit still returns its
  // first max_regions regions: the bound is at least kMinCutBound pieces.)
  static constexpr std::size_t kMinCutBound = 4096;

  // A part's bounding box as centre and half-widths: the range of a·(x, 1)
  // over the box is a·(c, 1) ± |a|·h. (Halved before adding, so that no
  // finite window overflows; an infinite margin below rejects nothing.)
  struct Bounds {
    Point c, h;
  };
  static Bounds bounds_of(const Cell& cell) {
    Point lo, hi;
    Geometry::bounds(cell, &lo, &hi);
    return Bounds{lo / 2 + hi / 2, hi / 2 - lo / 2};
  }
  // True when the line's zero set provably misses the box by more than the
  // split's tolerance: every vertex then has the same strict sign in
  // Geometry::split, so split would return false and leave the part as it
  // is. `margin` is (tol + 1e-12) (|a|·m + |a_D|) with m the largest
  // |coordinate| of the piece being cut: at least tol times the tolerance
  // scale |a|·|x| + |a_D| of every vertex x of its parts (which lie in the
  // piece's box up to rounding), plus a margin far above the rounding of
  // these sums. Only a shortcut: a false answer falls through to the exact
  // test.
  static bool misses(const Bounds& b, const Affine& a, const Point& abs_a, double margin) {
    const double mid = a.template head<D>().dot(b.c) + a[D];
    const double rad = abs_a.dot(b.h);
    return mid - rad > margin || mid + rad < -margin;
  }

  struct CutBuffers {
    std::vector<Cell> pool;
    std::vector<Bounds> boxes;
    std::vector<std::uint32_t> order, next;
  };

  // piece.poly is taken.
  std::vector<Cell> cut(Piece<Geometry>& piece) {
    const int k = piece.walk.node();
    const Node& n = net_.nodes[k];
    const Matrix& in = piece.walk.piecewise_input();
    // The parts live in `pool` (a split puts its positive part in the slot
    // of the part it cuts and appends the negative one); `order` lists
    // their slots in the order of the list a cut by cut rebuild would make
    // (each part replaced by its positive and negative parts), so that a
    // line moves slot numbers rather than cells.
    const Bounds piece_box = bounds_of(piece.poly);
    const Point piece_m = piece_box.c.cwiseAbs() + piece_box.h;
    // Buffers of this thread, reused from cut to cut (a cut returns before
    // the next one on its thread starts).
    thread_local CutBuffers buffers;
    std::vector<Cell>& pool = buffers.pool;
    std::vector<Bounds>& boxes = buffers.boxes;
    std::vector<std::uint32_t>& order = buffers.order;
    std::vector<std::uint32_t>& next = buffers.next;
    pool.clear();
    boxes.clear();
    order.clear();
    pool.push_back(std::move(piece.poly));
    boxes.push_back(piece_box);
    order.push_back(0);
    const long layer = plan_.layer_of[k];
    auto cut_by = [&](const Affine& line, long unit) {
      if (line.template head<D>().isZero(0.0)) return;  // constant on the slice: no cut
      if (should_stop()) return;
      if (order.size() + emitted_.load(std::memory_order_relaxed) > std::max<std::size_t>(o_.max_regions, kMinCutBound)) {
        std::lock_guard<std::mutex> lock(progress_mutex_);
        if (!stop_.exchange(true))
          limit_detail_ = ": layer '" + net_.nodes[k].name + "' alone cuts a cell into more pieces than that";
        return;
      }
      if (unit % 64 == 0) {
        std::lock_guard<std::mutex> lock(progress_mutex_);
        SliceOptions::CutProgress p;
        p.layer = static_cast<int>(layer);
        p.layers = static_cast<int>(piece.walk.pattern.layers.size());
        p.unit = unit;
        p.units = static_cast<long>(n.kind == OpKind::MaxPool2d ? n.shape.size() : in.rows());
        p.pieces = order.size();
        last_cut_ = p;
        last_cut_node_ = k;
        if (o_.cut_progress) o_.cut_progress(p);
      }
      const Point abs_a = line.template head<D>().cwiseAbs();
      const double margin = (kCutTol + 1e-12) * (abs_a.dot(piece_m) + std::abs(line[D]));
      // A line that misses the whole piece's box misses every part (their
      // vertices lie in it, up to rounding far below the test's margin).
      if (misses(piece_box, line, abs_a, margin)) return;
      // Most parts lie wholly on one side: test their boxes first and touch
      // nothing until some part is really cut.
      std::size_t first = 0;
      while (first < order.size() && misses(boxes[order[first]], line, abs_a, margin)) ++first;
      if (first == order.size()) return;
      const std::size_t m = order.size();
      next.clear();
      next.reserve(m + 1);
      next.insert(next.end(), order.begin(), order.begin() + first);
      const long label = (layer << 32) | unit;
      Cell pos, neg;
      for (std::size_t i = first; i < m; ++i) {
        if ((i + 1) % 4096 == 0 && should_stop()) return;
        const std::uint32_t j = order[i];
        next.push_back(j);
        int side = 0;
        if ((i == first || !misses(boxes[j], line, abs_a, margin)) &&
            Geometry::split(pool[j], line, label, &pos, &neg, &side, kCutTol)) {
          pool[j] = std::move(pos);
          boxes[j] = bounds_of(pool[j]);
          next.push_back(static_cast<std::uint32_t>(pool.size()));
          pool.push_back(std::move(neg));
          boxes.push_back(bounds_of(pool.back()));
        }
      }
      order.swap(next);
    };
    for_each_cut(n, [&](const Wall& g) {
      Affine line = row(in, g.a);
      if (g.b >= 0) line -= row(in, g.b);
      line[D] -= g.level;
      cut_by(line, g.unit);
    });
    std::vector<Cell> parts;
    parts.reserve(order.size());
    for (std::uint32_t j : order) parts.push_back(std::move(pool[j]));
    return parts;
  }

  // The slicers' decision rule: values at a point of the slice (a cell's
  // centroid, an interior point), the rows being affine maps of the slice
  // coordinates.
  struct AtPoint {
    Point p;
    bool above(const Matrix& in, Eigen::Index i, double level, bool*) const { return eval(row(in, i), p) > level; }
    bool beats(const Matrix& in, Eigen::Index j, Eigen::Index best, bool*) const {
      return eval(row(in, j), p) > eval(row(in, best), p);
    }
    void tied() {}
  };

  // Fixes the current node's pattern on the piece (decided at its
  // centroid) and applies the node.
  void decide(Piece<Geometry>& piece) const {
    AtPoint rule{Geometry::centroid(piece.poly)};
    piece.walk.decide(rule);
  }

  void emit(Piece<Geometry>& piece, std::vector<SlicedCell<Geometry>>& out) {
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
    SlicedCell<Geometry> s;
    s.logits = std::move(piece.walk.values.back());
    s.pattern_hash = piece.walk.pattern.hash();
    if (o_.keep_patterns) s.pattern = std::move(piece.walk.pattern);
    const Point c = Geometry::centroid(piece.poly);
    Vector z(s.logits.rows());
    for (Eigen::Index k2 = 0; k2 < z.size(); ++k2) z[k2] = eval(row(s.logits, k2), c);
    Eigen::Index cls;
    z.maxCoeff(&cls);
    s.predicted_class = static_cast<int>(cls);
    if constexpr (D == 2)
      if (o_.region_found) o_.region_found(piece.poly, s.predicted_class);
    s.cell = std::move(piece.poly);
    out.push_back(std::move(s));
  }

  static Affine row(const Matrix& m, Eigen::Index i) { return m.row(i).transpose(); }
  static double eval(const Affine& a, const Point& p) { return a.template head<D>().dot(p) + a[D]; }

  const Network& net_;
  const SliceOptions& o_;
  WalkPlan plan_;
  std::vector<std::int64_t> units_after_;  // units of the piecewise nodes after node k (k..N-1)
  std::mutex progress_mutex_;
  std::string limit_detail_;  // set once, under progress_mutex_
  SliceOptions::CutProgress last_cut_;  // the latest cut's progress, under progress_mutex_
  int last_cut_node_ = -1;
};


}  // namespace tessera::detail
