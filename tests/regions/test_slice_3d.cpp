// Exact 3-D slices: plane arrangements and random networks.
#include <gtest/gtest.h>

#include <omp.h>

#include <cmath>
#include <cstring>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "regions/slice_3d.hpp"
#include "tests/support/random_networks.hpp"
#include "tests/support/planes.hpp"

namespace tessera {
namespace {

TEST(ConvexPolyhedron, CubeVolumeCentroidAndASplit) {
  const ConvexPolyhedron cube = ConvexPolyhedron::box(Eigen::Vector3d(0, 0, 0), Eigen::Vector3d(2, 1, 1));
  EXPECT_NEAR(cube.volume(), 2.0, 1e-15);
  EXPECT_NEAR((cube.centroid() - Eigen::Vector3d(1, 0.5, 0.5)).norm(), 0, 1e-15);
  // x + y + z = 1 cuts off the corner tetrahedron of volume 1/6.
  ConvexPolyhedron pos, neg;
  int side = 0;
  ASSERT_TRUE(split_polyhedron(cube, Eigen::Vector4d(1, 1, 1, -1), 7, &pos, &neg, &side, 1e-12));
  EXPECT_NEAR(neg.volume(), 1.0 / 6, 1e-14);
  EXPECT_NEAR(pos.volume(), 2.0 - 1.0 / 6, 1e-14);
  EXPECT_NEAR((neg.centroid() - Eigen::Vector3d(0.25, 0.25, 0.25)).norm(), 0, 1e-14);
  EXPECT_FALSE(split_polyhedron(cube, Eigen::Vector4d(1, 0, 0, 5), 7, &pos, &neg, &side, 1e-12));
  EXPECT_EQ(side, 1);
}

bool same_bits(const ConvexPolyhedron& a, const ConvexPolyhedron& b) {
  if (a.faces.size() != b.faces.size()) return false;
  for (size_t f = 0; f < a.faces.size(); ++f) {
    const auto &x = a.faces[f], &y = b.faces[f];
    if (x.label != y.label || x.vertices.size() != y.vertices.size()) return false;
    if (!x.vertices.empty() &&
        std::memcmp(x.vertices.data(), y.vertices.data(), x.vertices.size() * sizeof(Eigen::Vector3d)) != 0)
      return false;
  }
  return true;
}

// split_polyhedron_taking (the slicer's split, which takes the faces of the
// part it cuts) gives the copying split's parts bit for bit, and leaves the
// polyhedron as it was when it does not cut: for random planes, planes
// through vertices and along faces, and planes that touch the polyhedron.
TEST(ConvexPolyhedron, TakingSplitMatchesTheCopyingOneAndGivesBackANoCut) {
  SeededRandom rng(21);
  std::vector<ConvexPolyhedron> cells{ConvexPolyhedron::box(Eigen::Vector3d(-1, -1, -1), Eigen::Vector3d(1, 1, 1))};
  int cuts = 0, no_cuts = 0;
  for (int step = 0; step < 400; ++step) {
    const size_t at = static_cast<size_t>(rng.uniform(0, 1) * cells.size()) % cells.size();
    const ConvexPolyhedron p = cells[at];
    const auto vs = p.vertices();
    Eigen::Vector4d a;
    a.head<3>() = Eigen::Vector3d(rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1));
    switch (step % 4) {
      case 0: a[3] = rng.uniform(-1, 1); break;  // anywhere
      case 1: {  // through a vertex
        const Eigen::Vector3d& v = vs[static_cast<size_t>(step) % vs.size()];
        a[3] = -a.head<3>().dot(v);
        break;
      }
      case 2: {  // along a face: the plane of its first three vertices
        const auto& f = p.faces[static_cast<size_t>(step) % p.faces.size()].vertices;
        const Eigen::Vector3d n = (f[1] - f[0]).cross(f[2] - f[0]);
        a << n, -n.dot(f[0]);
        break;
      }
      default: {  // touching at the vertex farthest along the normal
        double best = -1e300;
        for (const auto& v : vs) best = std::max(best, a.head<3>().dot(v));
        a[3] = -best;
      }
    }
    ConvexPolyhedron pos1, neg1, pos2, neg2, q = p;
    int side1 = 7, side2 = 7;
    const bool cut1 = split_polyhedron(p, a, step, &pos1, &neg1, &side1, 1e-10);
    const bool cut2 = split_polyhedron_taking(q, a, step, &pos2, &neg2, &side2, 1e-10);
    ASSERT_EQ(cut1, cut2) << step;
    if (cut1) {
      ++cuts;
      EXPECT_TRUE(same_bits(pos1, pos2)) << step;
      EXPECT_TRUE(same_bits(neg1, neg2)) << step;
      cells[at] = std::move(pos2);
      cells.push_back(std::move(neg2));
    } else {
      ++no_cuts;
      EXPECT_EQ(side1, side2) << step;
      EXPECT_TRUE(same_bits(p, q)) << step;
    }
  }
  EXPECT_GT(cuts, 50);
  EXPECT_GT(no_cuts, 50);
}

// k planes in general position cut space into 1 + k + C(k,2) + C(k,3)
// regions; all their vertices lie inside the box used.
TEST(Slice3d, PlanesInGeneralPositionGiveTheArrangementCount) {
  for (int k : {1, 2, 3, 4, 6}) {
    SeededRandom rng(10 + k);
    Matrix W(k, 3);
    Vector b(k);
    for (int i = 0; i < k; ++i) {
      W.row(i) = Eigen::Vector3d(rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-1, 1)).normalized().transpose();
      b[i] = rng.uniform(-1, 1);
    }
    // Precondition: every triple meets inside the box.
    const double half = 1000;
    for (int i = 0; i < k; ++i)
      for (int j = i + 1; j < k; ++j)
        for (int l = j + 1; l < k; ++l) {
          Eigen::Matrix3d M;
          M << W.row(i), W.row(j), W.row(l);
          const Eigen::Vector3d p = M.fullPivLu().solve(-Eigen::Vector3d(b[i], b[j], b[l]));
          ASSERT_LT(p.cwiseAbs().maxCoeff(), half / 2) << "pick another seed: planes nearly degenerate";
        }
    NetworkBuilder nb;
    int x = nb.relu(nb.dense(nb.input(Shape{3}), W, b));
    const Network net = nb.build(nb.dense(x, Matrix::Ones(2, k), Vector::Zero(2)));
    SliceBox box;
    box.lo = Eigen::Vector3d::Constant(-half);
    box.hi = Eigen::Vector3d::Constant(half);
    const Slice3d s = slice_regions_3d(net, input_space(), box);
    EXPECT_EQ(s.polyhedra.size(), static_cast<size_t>(1 + k + k * (k - 1) / 2 + k * (k - 1) * (k - 2) / 6)) << k;
  }
}

TEST(Slice3d, PolyhedraTileTheBoxAndMatchTheNetwork) {
  std::vector<std::pair<std::string, std::pair<Network, Plane3d>>> cases;
  cases.push_back({"mlp3d", {random_mlp(3, {8, 6}, 3, 5), input_space()}});
  {
    // Piecewise units with two knots (clip) and |x|.
    SeededRandom r(4);
    NetworkBuilder b;
    int x = b.clip(b.dense(b.input(Shape{3}), r.he_uniform(5, 3, 3), r.uniform_vector(5, -0.2, 0.2)), -0.25, 0.5);
    x = b.abs(b.dense(x, r.he_uniform(4, 5, 5), r.uniform_vector(4, -0.2, 0.2)));
    cases.push_back({"clip_abs3d", {b.build(b.dense(x, r.he_uniform(3, 4, 4), Vector::Zero(3))), input_space()}});
  }
  SeededRandom rng(3);
  for (auto& [name, net] : test::random_networks_of_every_kind(77)) {
    if (name != "cnn_residual" && name != "mlp_leaky") continue;
    Plane3d p;
    p.origin = test::random_input(net, rng);
    p.e1 = test::random_input(net, rng);
    p.e2 = test::random_input(net, rng);
    p.e3 = test::random_input(net, rng);
    cases.push_back({name, {std::move(net), p}});
  }
  for (const auto& [name, np] : cases) {
    SCOPED_TRACE(name);
    const auto& [net, slice] = np;
    SliceBox box;
    box.lo = Eigen::Vector3d(-1, -0.5, -0.75);
    box.hi = Eigen::Vector3d(1, 1, 0.5);
    const Slice3d s = slice_regions_3d(net, slice, box);
    ASSERT_TRUE(s.complete);
    ASSERT_GT(s.polyhedra.size(), 1u);
    double volume = 0;
    for (const SlicePolyhedron& p : s.polyhedra) {
      EXPECT_GT(p.volume, 0);
      volume += p.volume;
      const Eigen::Vector3d c = p.cell.centroid();
      const Vector x = slice.origin + c[0] * slice.e1 + c[1] * slice.e2 + c[2] * slice.e3;
      const ForwardPass fp = forward_pass(net, x);
      EXPECT_EQ(fp.pattern.hash(), p.pattern_hash);
      EXPECT_LT(test::relative_error(p.logits.leftCols<3>() * c + p.logits.col(3), fp.logits()), 1e-9);
    }
    EXPECT_NEAR(volume / s.box_volume, 1.0, 1e-9);
  }
}

// The cells are the same, bit for bit and in the same order, on one thread
// and on several (the parts of the first cut then go to the threads), and
// planes that only touch a cell or lie on its faces (which the slicer's
// bounding-box test rejects) do not cut it.
TEST(Slice3d, ThreadsAndTouchingPlanesDoNotChangeTheCells) {
  {
    const Network net = random_mlp(3, {24, 16}, 2, 8);
    // Its first layer alone (the same weights) cuts the box into enough
    // parts for the threads (they get the parts from 16384 / 17 on).
    ASSERT_GT(slice_regions_3d(random_mlp(3, {24}, 2, 8), input_space(), SliceBox{}).polyhedra.size(), 1000u);
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const Slice3d one = slice_regions_3d(net, input_space(), SliceBox{});
    omp_set_num_threads(4);
    const Slice3d four = slice_regions_3d(net, input_space(), SliceBox{});
    omp_set_num_threads(threads);
    ASSERT_GT(one.polyhedra.size(), 300u);
    ASSERT_EQ(one.polyhedra.size(), four.polyhedra.size());
    for (size_t i = 0; i < one.polyhedra.size(); ++i) {
      EXPECT_EQ(one.polyhedra[i].pattern_hash, four.polyhedra[i].pattern_hash) << i;
      EXPECT_TRUE(same_bits(one.polyhedra[i].cell, four.polyhedra[i].cell)) << i;
    }
  }
  // Units x - 1 (the box's face), x + y + z - 3 (its corner), x + 1 (the
  // opposite face) and z (a cut): two cells.
  Matrix W(4, 3);
  W << 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 1;
  NetworkBuilder nb;
  const int x = nb.relu(nb.dense(nb.input(Shape{3}), W, Eigen::Vector4d(-1, -3, 1, 0)));
  const Network net = nb.build(nb.dense(x, Matrix::Ones(2, 4), Vector::Zero(2)));
  const Slice3d s = slice_regions_3d(net, input_space(), SliceBox{});
  ASSERT_EQ(s.polyhedra.size(), 2u);
  EXPECT_NEAR(s.polyhedra[0].volume + s.polyhedra[1].volume, 8, 1e-12);
}

// A per-coordinate input box clips the 3-D window: with the input space as
// the slice, the cells tile the intersection of the two boxes.
TEST(Slice3d, InputBoxClipsTheWindow) {
  const Network net = random_mlp(3, {8, 6}, 3, 5);
  SliceBox box;  // [-1, 1]^3
  SliceOptions o;
  o.box_lower = Eigen::Vector3d(-0.5, -2, 0.25);
  o.box_upper = Eigen::Vector3d(0.75, 0.5, 3);
  const Slice3d s = slice_regions_3d(net, input_space(), box, o);
  ASSERT_TRUE(s.complete);
  const double expected = 1.25 * 1.5 * 0.75;  // [-0.5, 0.75] x [-1, 0.5] x [0.25, 1]
  EXPECT_NEAR(s.box_volume, expected, 1e-12);
  double volume = 0;
  for (const SlicePolyhedron& p : s.polyhedra) {
    volume += p.volume;
    for (const auto& v : p.cell.vertices()) {
      EXPECT_GE(v[0], -0.5 - 1e-12);
      EXPECT_LE(v[1], 0.5 + 1e-12);
      EXPECT_GE(v[2], 0.25 - 1e-12);
    }
  }
  EXPECT_NEAR(volume, expected, 1e-9);
  o.box_lower = Eigen::Vector3d(2, 2, 2);  // beyond the window
  o.box_upper = Eigen::Vector3d(3, 3, 3);
  EXPECT_THROW(slice_regions_3d(net, input_space(), box, o), Error);
}

TEST(Slice3d, BadInputs) {
  const Network net = random_mlp(3, {4}, 2, 1);
  Plane3d s = input_space();
  s.e3 = s.e1 + s.e2;
  EXPECT_THROW(slice_regions_3d(net, s, SliceBox{}), Error);
  SliceBox inverted;
  inverted.lo = Eigen::Vector3d(1, -1, -1);
  inverted.hi = Eigen::Vector3d(0, 1, 1);
  EXPECT_THROW(slice_regions_3d(net, input_space(), inverted), Error);
  SliceOptions o;
  o.max_regions = 2;
  const Slice3d partial = slice_regions_3d(random_mlp(3, {10}, 2, 2), input_space(), SliceBox{}, o);
  EXPECT_FALSE(partial.complete);
  EXPECT_EQ(partial.polyhedra.size(), 2u);
}

}  // namespace
}  // namespace tessera
