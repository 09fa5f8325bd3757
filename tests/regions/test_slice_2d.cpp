// Exact 2-D slices: hand-counted arrangements and random networks checked
// against areas, centroids, neighbours, grid sampling and ray traversal.
#include <gtest/gtest.h>

#include <mutex>
#include <set>
#include <tuple>

#include <omp.h>

#include <cmath>
#include <cstring>
#include <set>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "regions/line_traversal.hpp"
#include "regions/slice_2d.hpp"
#include "tests/support/random_networks.hpp"
#include "tests/support/planes.hpp"

namespace tessera {
namespace {

Vector point_of(const Plane2d& p, const Eigen::Vector2d& uv) { return p.origin + uv[0] * p.e1 + uv[1] * p.e2; }

// k lines in general position cut the plane into 1 + k + k(k-1)/2 regions:
// one ReLU layer whose units are those lines (angles spread out, so that all
// crossings lie well inside the window).
TEST(Slice2d, LinesInGeneralPositionGiveTheArrangementCount) {
  for (int k : {1, 2, 5, 8}) {
    SeededRandom rng(k);
    Matrix W(k, 2);
    Vector b(k);
    for (int i = 0; i < k; ++i) {
      const double angle = M_PI * (i + 0.3 * rng.uniform()) / k;
      W(i, 0) = std::cos(angle);
      W(i, 1) = std::sin(angle);
      b[i] = rng.uniform(-1, 1);
    }
    NetworkBuilder nb;
    int x = nb.relu(nb.dense(nb.input(Shape{2}), W, b));
    const Network net = nb.build(nb.dense(x, Matrix::Ones(2, k), Vector::Zero(2)));
    SliceWindow w{-100, 100, -100, 100};
    const Slice2d s = slice_regions_2d(net, input_plane(), w);
    EXPECT_EQ(s.polygons.size(), static_cast<size_t>(1 + k + k * (k - 1) / 2)) << k << " lines";
  }
}

double total_area(const Slice2d& s) {
  double a = 0;
  for (const auto& p : s.polygons) a += p.area;
  return a;
}

std::vector<std::pair<std::string, std::pair<Network, Plane2d>>> cases(std::uint64_t seed) {
  std::vector<std::pair<std::string, std::pair<Network, Plane2d>>> out;
  out.push_back({"mlp2d", {random_mlp(2, {12, 10}, 3, seed), input_plane()}});
  out.push_back({"leaky2d", {random_mlp(2, {10, 10, 8}, 4, seed + 1, 0.1), input_plane()}});
  SeededRandom rng(seed);
  for (auto& [name, net] : test::random_networks_of_every_kind(seed + 2)) {
    if (name == "mlp_relu" || name == "mlp_leaky") continue;
    Plane2d p;
    p.origin = test::random_input(net, rng);
    p.e1 = test::random_input(net, rng);
    p.e2 = test::random_input(net, rng);
    out.push_back({name, {std::move(net), p}});
  }
  return out;
}

class RandomSlices : public ::testing::TestWithParam<int> {};

TEST_P(RandomSlices, PolygonsTileTheWindowAndMatchTheNetwork) {
  for (const auto& [name, np] : cases(900 + GetParam())) {
    SCOPED_TRACE(name);
    const auto& [net, plane] = np;
    SliceWindow w{-1, 1.5, -0.5, 1};
    SliceOptions o;
    o.keep_patterns = true;
    const Slice2d s = slice_regions_2d(net, plane, w, o);
    ASSERT_TRUE(s.complete);
    EXPECT_NEAR(total_area(s) / s.window_area, 1.0, 1e-9);
    for (const SlicePolygon& p : s.polygons) {
      EXPECT_GT(p.area, 0);
      const Eigen::Vector2d c = p.polygon.centroid();
      const ForwardPass fp = forward_pass(net, point_of(plane, c));
      EXPECT_EQ(fp.pattern.hash(), p.pattern_hash);
      const Vector z = p.logits.leftCols<2>() * c + p.logits.col(2);
      EXPECT_LT(test::relative_error(z, fp.logits()), 1e-9);
      // Confidence range: brackets the confidence at the vertices and centroid.
      for (const auto& v : p.polygon.vertices) {
        const double cv = softmax(logits(net, point_of(plane, v))).maxCoeff();
        EXPECT_GE(cv, p.min_confidence - 1e-9);
        EXPECT_LE(cv, p.max_confidence + 1e-9);
      }
    }
  }
}

// region_found reports every region once, as it is finished (for maps that
// grow on screen): the same polygons and classes as the result.
TEST_P(RandomSlices, RegionFoundReportsEachRegionOnce) {
  for (const auto& [name, np] : cases(950 + GetParam())) {
    SCOPED_TRACE(name);
    const auto& [net, plane] = np;
    std::mutex m;
    std::multiset<std::tuple<double, double, int>> seen;  // centroid, class
    SliceOptions o;
    o.region_found = [&](const ConvexPolygon& p, int k) {
      const Eigen::Vector2d c = p.centroid();
      std::lock_guard<std::mutex> lock(m);
      seen.emplace(c.x(), c.y(), k);
    };
    const Slice2d s = slice_regions_2d(net, plane, SliceWindow{-1, 1.5, -0.5, 1}, o);
    std::multiset<std::tuple<double, double, int>> result;
    for (const SlicePolygon& p : s.polygons) {
      const Eigen::Vector2d c = p.polygon.centroid();
      result.emplace(c.x(), c.y(), p.predicted_class);
    }
    EXPECT_EQ(seen, result);
  }
}

// A per-coordinate input box clips the window: every polygon lies in the
// box and they tile the clipped window; on the input plane of a 2-D
// network that is the intersection of two rectangles.
TEST_P(RandomSlices, InputBoxClipsTheWindow) {
  for (const auto& [name, np] : cases(300 + GetParam())) {
    SCOPED_TRACE(name);
    const auto& [net, plane] = np;
    SeededRandom rng(GetParam());
    SliceOptions o;
    o.box_lower = test::random_input(net, rng, -3.0, -0.5);
    o.box_upper = test::random_input(net, rng, 0.5, 3.0);
    // The plane through a point inside the box.
    Plane2d pl = plane;
    pl.origin = 0.5 * (o.box_lower + o.box_upper);
    const Slice2d s = slice_regions_2d(net, pl, SliceWindow{-1, 1.5, -0.5, 1}, o);
    ASSERT_TRUE(s.complete);
    EXPECT_LE(s.window_area, 2.5 * 1.5 + 1e-12);
    EXPECT_NEAR(total_area(s) / s.window_area, 1.0, 1e-9);
    for (const SlicePolygon& p : s.polygons)
      for (const auto& v : p.polygon.vertices) {
        const Vector x = point_of(pl, v);
        const double scale = 1 + x.cwiseAbs().maxCoeff();
        EXPECT_TRUE((x.array() >= o.box_lower.array() - 1e-9 * scale).all() &&
                    (x.array() <= o.box_upper.array() + 1e-9 * scale).all());
      }
    if (net.input_size() == 2 && pl.e1 == Eigen::Vector2d(1, 0) && pl.e2 == Eigen::Vector2d(0, 1)) {
      const double du = std::min(1.5, o.box_upper[0] - pl.origin[0]) - std::max(-1.0, o.box_lower[0] - pl.origin[0]);
      const double dv = std::min(1.0, o.box_upper[1] - pl.origin[1]) - std::max(-0.5, o.box_lower[1] - pl.origin[1]);
      EXPECT_NEAR(s.window_area, du * dv, 1e-12);
    }
  }
}

TEST_P(RandomSlices, GridSamplingFindsNoMorePatternsThanRegions) {
  // A small network and a fine grid: every region is hit, so the counts agree.
  const Network net = random_mlp(2, {6, 5}, 2, 40 + GetParam());
  const SliceWindow w{-2, 2, -2, 2};
  SliceOptions o;
  o.keep_patterns = true;
  const Slice2d s = slice_regions_2d(net, input_plane(), w, o);
  std::set<std::uint64_t> regions;
  for (const auto& p : s.polygons) regions.insert(p.pattern_hash);
  EXPECT_EQ(regions.size(), s.polygons.size()) << "two polygons with one pattern";
  std::set<std::uint64_t> sampled;
  const int n = 1500;
  for (int i = 0; i <= n; ++i)
    for (int j = 0; j <= n; ++j)
      sampled.insert(activation_pattern(net, Eigen::Vector2d(-2 + 4.0 * i / n, -2 + 4.0 * j / n)).hash());
  for (auto h : sampled) EXPECT_TRUE(regions.count(h)) << "sampled pattern missing from the slice";
  // Tiny slivers can escape a grid; this network has none below the grid's reach.
  double smallest = 1e300;
  for (const auto& p : s.polygons) smallest = std::min(smallest, p.area);
  if (smallest > 4.0 * 16 / (n * n)) {
    EXPECT_EQ(sampled.size(), regions.size());
  }
}

TEST_P(RandomSlices, NeighboursDifferInTheUnitsOfTheirSharedEdge) {
  const Network net = random_mlp(2, {8, 6}, 3, 60 + GetParam());
  SliceOptions o;
  o.keep_patterns = true;
  const Slice2d s = slice_regions_2d(net, input_plane(), SliceWindow{-2, 2, -2, 2}, o);
  // Two polygons share an edge when both contain the edge's midpoint on
  // their boundary; across it exactly one unit changes (general position).
  int shared = 0;
  for (size_t a = 0; a < s.polygons.size(); ++a) {
    const auto& P = s.polygons[a].polygon;
    for (size_t e = 0; e < P.vertices.size(); ++e) {
      if (P.labels[e] < 0) continue;  // window border
      const Eigen::Vector2d mid = 0.5 * (P.vertices[e] + P.vertices[(e + 1) % P.vertices.size()]);
      const Eigen::Vector2d out_dir = Eigen::Vector2d(P.vertices[(e + 1) % P.vertices.size()][1] - P.vertices[e][1],
                                                      P.vertices[e][0] - P.vertices[(e + 1) % P.vertices.size()][0]);
      const Eigen::Vector2d probe = mid + 1e-7 * out_dir.normalized();
      const ActivationPattern across = activation_pattern(net, probe);
      const ActivationPattern& here = s.polygons[a].pattern;
      int differ = 0;
      for (size_t l = 0; l < here.layers.size(); ++l)
        for (int u = 0; u < here.layers[l].size; ++u) differ += here.layers[l].active(u) != across.layers[l].active(u);
      EXPECT_EQ(differ, 1) << "edge " << e << " of polygon " << a;
      ++shared;
    }
  }
  EXPECT_GT(shared, 0);
}

TEST_P(RandomSlices, ALineThroughTheSliceAgreesWithTheRayTraversal) {
  const Network net = random_mlp(2, {10, 10}, 3, 80 + GetParam());
  const SliceWindow w{-2, 2, -2, 2};
  const Slice2d s = slice_regions_2d(net, input_plane(), w);
  const double v = 0.3141;  // a generic horizontal line
  TraversalOptions o;
  o.point_segments = false;
  const LineTraversal tr = traverse_line(net, Eigen::Vector2d(0, v), Eigen::Vector2d(1, 0), w.u0, w.u1, o);
  std::set<std::uint64_t> crossed;
  for (const auto& p : s.polygons) {
    double lo = 1e300, hi = -1e300;
    for (const auto& q : p.polygon.vertices) {
      lo = std::min(lo, q[1]);
      hi = std::max(hi, q[1]);
    }
    if (lo < v && v < hi) crossed.insert(p.pattern_hash);
  }
  std::set<std::uint64_t> traversed;
  for (const auto& seg : tr.segments) traversed.insert(seg.pattern_hash);
  EXPECT_EQ(crossed, traversed);
  EXPECT_EQ(crossed.size(), tr.segments.size());
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomSlices, ::testing::Values(1, 2));

bool same_bits(const ConvexPolygon& a, const ConvexPolygon& b) {
  return a.vertices.size() == b.vertices.size() && a.labels == b.labels &&
         (a.vertices.empty() ||
          std::memcmp(a.vertices.data(), b.vertices.data(), a.vertices.size() * sizeof(Eigen::Vector2d)) == 0);
}

// split_polygon builds both sides in one pass: they are the clips by a and
// by -a, bit for bit, also for lines through vertices and along edges.
TEST(ConvexPolygon, SplitIsTheClipsOfBothSides) {
  SeededRandom rng(12);
  std::vector<ConvexPolygon> cells{ConvexPolygon::rectangle(-1, 1, -1, 1)};
  int cuts = 0;
  for (int step = 0; step < 300; ++step) {
    const size_t at = static_cast<size_t>(rng.uniform(0, 1) * cells.size()) % cells.size();
    const ConvexPolygon p = cells[at];
    Eigen::Vector3d a(rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1));
    const auto& v = p.vertices;
    if (step % 3 == 1) a[2] = -(a[0] * v[step % v.size()][0] + a[1] * v[step % v.size()][1]);  // through a vertex
    if (step % 3 == 2) {  // along an edge
      const Eigen::Vector2d &x = v[step % v.size()], &y = v[(step + 1) % v.size()];
      a = Eigen::Vector3d(y[1] - x[1], x[0] - y[0], 0);
      a[2] = -(a[0] * x[0] + a[1] * x[1]);
    }
    ConvexPolygon pos, neg;
    int side = 0;
    if (!split_polygon(p, a, step, &pos, &neg, &side, 1e-10)) continue;
    ++cuts;
    EXPECT_TRUE(same_bits(pos, clip_polygon(p, a, step, 1e-10))) << step;
    EXPECT_TRUE(same_bits(neg, clip_polygon(p, -a, step, 1e-10))) << step;
    cells[at] = pos;
    cells.push_back(neg);
  }
  EXPECT_GT(cuts, 50);
}

// The same polygons, bit for bit and in order, on one thread and on
// several; lines along the window's border or through its corner do not cut.
TEST(Slice2d, ThreadsAndTouchingLinesDoNotChangeThePolygons) {
  {
    const Network net = random_mlp(2, {48, 32}, 3, 9);
    SliceOptions o;
    o.decision_boundary = false;
    // Its first layer alone (the same weights) cuts the window into enough
    // parts for the threads (they get the parts from 16384 / 33 on).
    ASSERT_GT(slice_regions_2d(random_mlp(2, {48}, 3, 9), input_plane(), SliceWindow{}, o).polygons.size(), 500u);
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const Slice2d one = slice_regions_2d(net, input_plane(), SliceWindow{}, o);
    omp_set_num_threads(4);
    const Slice2d four = slice_regions_2d(net, input_plane(), SliceWindow{}, o);
    omp_set_num_threads(threads);
    ASSERT_GT(one.polygons.size(), 300u);
    ASSERT_EQ(one.polygons.size(), four.polygons.size());
    for (size_t i = 0; i < one.polygons.size(); ++i) {
      EXPECT_EQ(one.polygons[i].pattern_hash, four.polygons[i].pattern_hash) << i;
      EXPECT_TRUE(same_bits(one.polygons[i].polygon, four.polygons[i].polygon)) << i;
    }
  }
  // Units u - 1 (the border), u + v - 2 (the corner), v + 1 (the opposite
  // border) and u - v (a cut): two polygons.
  Matrix W(4, 2);
  W << 1, 0, 1, 1, 0, 1, 1, -1;
  NetworkBuilder nb;
  const int x = nb.relu(nb.dense(nb.input(Shape{2}), W, Eigen::Vector4d(-1, -2, 1, 0)));
  const Network net = nb.build(nb.dense(x, Matrix::Ones(2, 4), Vector::Zero(2)));
  const Slice2d s = slice_regions_2d(net, input_plane(), SliceWindow{});
  ASSERT_EQ(s.polygons.size(), 2u);
  EXPECT_NEAR(s.polygons[0].area + s.polygons[1].area, 4, 1e-12);
}

TEST(Slice2d, BadInputsAndLimits) {
  const Network net = random_mlp(2, {8}, 2, 1);
  Plane2d p = input_plane();
  auto error_of = [&](const Plane2d& plane, const SliceWindow& w) {
    try {
      slice_regions_2d(net, plane, w);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  Plane2d parallel = p;
  parallel.e2 = Eigen::Vector2d(2, 0);
  EXPECT_EQ(error_of(parallel, SliceWindow{}), "slice: e1 and e2 are parallel, so they span no plane");
  Plane2d zero = p;
  zero.e1 = Eigen::Vector2d(0, 0);
  EXPECT_EQ(error_of(zero, SliceWindow{}), "slice: a direction (e1 or e2) is zero");
  EXPECT_EQ(error_of(p, SliceWindow{1, -1, -1, 1}), "slice: the window is empty or inverted (need u0 < u1 and v0 < v1)");
  SliceOptions o;
  o.max_regions = 3;
  const Slice2d s = slice_regions_2d(net, p, SliceWindow{-5, 5, -5, 5}, o);
  EXPECT_FALSE(s.complete);
  EXPECT_EQ(s.polygons.size(), 3u);
  EXPECT_NE(s.stop_reason.find("regions"), std::string::npos);
}

}  // namespace
}  // namespace tessera
