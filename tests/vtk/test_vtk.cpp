// The VTK library without a window: slices as polydata (cells, areas from
// the points themselves, the palette's colours, the arrays of the files),
// the logit surface, and .vtp files written by VTK and read back by VTK.
#include <gtest/gtest.h>

#include <vtkCellArray.h>
#include <vtkCellData.h>
#include <vtkDataArray.h>
#include <vtkIdList.h>
#include <vtkPoints.h>
#include <vtkPolyData.h>
#include <vtkSmartPointer.h>
#include <vtkUnsignedCharArray.h>
#include <vtkXMLPolyDataReader.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "core/example_networks.hpp"
#include "io/onnx_io.hpp"
#include "regions/slice_2d.hpp"
#include "regions/slice_3d.hpp"
#include "vtk/slice_polydata.hpp"
#include "vtk/vtp_writer.hpp"
#include "tests/support/planes.hpp"

namespace tessera {
namespace {

std::vector<Eigen::Vector3d> cell_points(vtkPolyData* pd, vtkIdType cell) {
  auto ids = vtkSmartPointer<vtkIdList>::New();
  pd->GetCellPoints(cell, ids);
  std::vector<Eigen::Vector3d> out;
  for (vtkIdType i = 0; i < ids->GetNumberOfIds(); ++i) {
    double x[3];
    pd->GetPoint(ids->GetId(i), x);
    out.emplace_back(x[0], x[1], x[2]);
  }
  return out;
}

// Signed area of a polygon in the (u, v) plane (shoelace), from the points.
double shoelace(const std::vector<Eigen::Vector3d>& v) {
  double a = 0;
  for (std::size_t i = 0; i < v.size(); ++i) {
    const auto& p = v[i];
    const auto& q = v[(i + 1) % v.size()];
    a += p.x() * q.y() - q.x() * p.y();
  }
  return a / 2;
}

// Area of a planar polygon in 3-D (half the norm of the summed cross products).
double area_3d(const std::vector<Eigen::Vector3d>& v) {
  Eigen::Vector3d n = Eigen::Vector3d::Zero();
  for (std::size_t i = 0; i < v.size(); ++i) n += v[i].cross(v[(i + 1) % v.size()]);
  return n.norm() / 2;
}

double value(vtkPolyData* pd, const char* name, vtkIdType cell, int component = 0) {
  vtkDataArray* a = pd->GetCellData()->GetArray(name);
  EXPECT_NE(a, nullptr) << name;
  return a ? a->GetComponent(cell, component) : std::nan("");
}

Rgb colour(vtkPolyData* pd, vtkIdType cell) {
  return Rgb{static_cast<unsigned char>(value(pd, "colour", cell, 0)),
             static_cast<unsigned char>(value(pd, "colour", cell, 1)),
             static_cast<unsigned char>(value(pd, "colour", cell, 2))};
}

std::set<std::string> array_names(vtkPolyData* pd) {
  std::set<std::string> out;
  vtkCellData* cd = pd->GetCellData();
  for (int i = 0; i < cd->GetNumberOfArrays(); ++i) out.insert(cd->GetArrayName(i));
  return out;
}

// Writes `text` to a temporary file and reads it with VTK's XML reader.
vtkSmartPointer<vtkPolyData> read_back(const std::string& text, const std::string& name) {
  const auto path = std::filesystem::temp_directory_path() / ("tessera_vtk_test_" + name + ".vtp");
  {
    std::ofstream out(path, std::ios::binary);
    out << text;
  }
  auto reader = vtkSmartPointer<vtkXMLPolyDataReader>::New();
  reader->SetFileName(path.string().c_str());
  reader->Update();
  EXPECT_EQ(reader->GetErrorCode(), 0);
  std::filesystem::remove(path);
  vtkSmartPointer<vtkPolyData> pd = reader->GetOutput();
  return pd;
}

// Same cells (points in order, exactly) and same cell arrays (names, types,
// components and values, exactly).
void expect_same(vtkPolyData* a, vtkPolyData* b) {
  ASSERT_EQ(a->GetNumberOfCells(), b->GetNumberOfCells());
  for (vtkIdType c = 0; c < a->GetNumberOfCells(); ++c) EXPECT_EQ(cell_points(a, c), cell_points(b, c)) << "cell " << c;
  EXPECT_EQ(array_names(a), array_names(b));
  for (const std::string& name : array_names(a)) {
    vtkDataArray* x = a->GetCellData()->GetArray(name.c_str());
    vtkDataArray* y = b->GetCellData()->GetArray(name.c_str());
    ASSERT_NE(y, nullptr) << name;
    EXPECT_EQ(x->GetDataType(), y->GetDataType()) << name;
    ASSERT_EQ(x->GetNumberOfComponents(), y->GetNumberOfComponents()) << name;
    ASSERT_EQ(x->GetNumberOfTuples(), y->GetNumberOfTuples()) << name;
    for (vtkIdType t = 0; t < x->GetNumberOfTuples(); ++t)
      for (int k = 0; k < x->GetNumberOfComponents(); ++k)
        ASSERT_EQ(x->GetComponent(t, k), y->GetComponent(t, k)) << name << " tuple " << t;
  }
  ASSERT_NE(b->GetCellData()->GetScalars(), nullptr);
  EXPECT_STREQ(b->GetCellData()->GetScalars()->GetName(), "colour");
}

Slice2d toy_slice(SliceWindow w) {
  const Network net = load_onnx(std::string(TESSERA_SOURCE_DIR) + "/data/models/toy2d.onnx");
  return slice_regions_2d(net, input_plane(), w);
}

TEST(VtkColours, RegionColourFollowsThePalette) {
  EXPECT_EQ(slice_region_colour(Colouring::Class, 0x1234, 2, 1.0, 3), class_colour(2));
  EXPECT_EQ(slice_region_colour(Colouring::Region, 0x1234, 2, 1.0, 3), region_colour(0x1234));
  EXPECT_EQ(slice_region_colour(Colouring::Confidence, 0x1234, 2, 1.0, 3), viridis(1));
  EXPECT_EQ(slice_region_colour(Colouring::Confidence, 0x1234, 2, 1.0 / 3, 3), viridis(0));
  EXPECT_EQ(slice_region_colour(Colouring::Confidence, 0x1234, 2, 0.7, 3), confidence_colour(0.7, 3));
}

// One cell per polygon with the polygon's own vertices; areas from the
// points equal the polygons' areas and add up to the window; the arrays
// carry each polygon's values and the palette's colour.
TEST(VtkSlicePolydata, OneCellPerPolygonWithItsAreaValuesAndColour) {
  struct Case {
    std::string name;
    Slice2d slice;
  };
  const SliceWindow w{-3, 3, -2, 2.5};
  std::vector<Case> cases;
  cases.push_back({"toy2d", toy_slice(w)});
  cases.push_back({"random mlp", slice_regions_2d(random_mlp(2, {12, 10}, 3, 7), input_plane(), w)});
  cases.push_back({"leaky mlp", slice_regions_2d(random_mlp(2, {10, 8}, 4, 8, 0.1), input_plane(), w)});
  const double window_area = (w.u1 - w.u0) * (w.v1 - w.v0);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const Slice2d& s = c.slice;
    ASSERT_TRUE(s.complete);
    ASSERT_GT(s.polygons.size(), 3u);
    const int K = slice_classes(s);
    for (Colouring colouring : {Colouring::Region, Colouring::Class, Colouring::Confidence}) {
      vtkSmartPointer<vtkPolyData> pd = slice_polydata(s, colouring);
      ASSERT_EQ(pd->GetNumberOfCells(), static_cast<vtkIdType>(s.polygons.size()));
      EXPECT_EQ(pd->GetNumberOfPolys(), pd->GetNumberOfCells());
      EXPECT_EQ(array_names(pd), (std::set<std::string>{"region_id", "pattern_hash_hi", "pattern_hash_lo", "class",
                                                         "confidence_min", "confidence_max", "area", "region",
                                                         "colour"}));
      EXPECT_STREQ(pd->GetCellData()->GetScalars()->GetName(), "colour");
      double total = 0;
      for (vtkIdType i = 0; i < pd->GetNumberOfCells(); ++i) {
        const SlicePolygon& p = s.polygons[i];
        const auto pts = cell_points(pd, i);
        ASSERT_EQ(pts.size(), p.polygon.vertices.size());
        for (std::size_t k = 0; k < pts.size(); ++k)
          EXPECT_EQ(pts[k], Eigen::Vector3d(p.polygon.vertices[k].x(), p.polygon.vertices[k].y(), 0));
        const double a = shoelace(pts);  // counter-clockwise: positive
        EXPECT_GT(a, 0);
        EXPECT_NEAR(a, p.area, 1e-12 * window_area);
        EXPECT_EQ(value(pd, "area", i), p.area);
        total += a;
        EXPECT_EQ(value(pd, "region_id", i), i);
        EXPECT_EQ(value(pd, "region", i), i);
        const std::uint64_t hi = static_cast<std::uint64_t>(value(pd, "pattern_hash_hi", i));
        const std::uint64_t lo = static_cast<std::uint64_t>(value(pd, "pattern_hash_lo", i));
        EXPECT_EQ((hi << 32) | lo, p.pattern_hash);
        EXPECT_EQ(value(pd, "class", i), p.predicted_class);
        EXPECT_EQ(value(pd, "confidence_min", i), p.min_confidence);
        EXPECT_EQ(value(pd, "confidence_max", i), p.max_confidence);
        const Rgb expected = colouring == Colouring::Region  ? region_colour(p.pattern_hash)
                             : colouring == Colouring::Class ? class_colour(p.predicted_class)
                                                             : confidence_colour(p.max_confidence, K);
        EXPECT_EQ(colour(pd, i), expected) << "cell " << i;
      }
      EXPECT_NEAR(total, window_area, 1e-9 * window_area);
    }
  }
}

TEST(VtkSlicePolydata, EmptySliceGivesEmptyPolydata) {
  const Slice2d empty;
  vtkSmartPointer<vtkPolyData> pd = slice_polydata(empty);
  EXPECT_EQ(pd->GetNumberOfCells(), 0);
  EXPECT_EQ(read_back(slice_to_vtp(empty), "empty")->GetNumberOfCells(), 0);
}

// A .vtp written by VTK's writer reads back, through VTK's reader, with the
// same cells and the same arrays (ASCII keeps every double exactly).
TEST(VtkVtpWriter, TwoDimensionalFileReadsBackIdentically) {
  const Slice2d s = toy_slice({-3, 3, -3, 3});
  for (Colouring colouring : {Colouring::Region, Colouring::Confidence}) {
    const std::string text = slice_to_vtp(s, colouring);
    EXPECT_NE(text.find("format=\"ascii\""), std::string::npos);
    EXPECT_NE(text.find("NumberOfPolys=\"" + std::to_string(s.polygons.size()) + "\""), std::string::npos);
    vtkSmartPointer<vtkPolyData> back = read_back(text, "2d");
    vtkSmartPointer<vtkPolyData> original = slice_polydata(s, colouring);
    expect_same(original, back);
    double total = 0;
    for (vtkIdType i = 0; i < back->GetNumberOfCells(); ++i) total += shoelace(cell_points(back, i));
    EXPECT_NEAR(total, 36.0, 36.0 * 1e-9);
  }
}

// 3-D: every face of every polyhedron is a cell carrying its polyhedron's
// values; the faces' areas from the points are the polyhedra's surfaces,
// the volumes add up to the box, and the file reads back identically.
TEST(VtkSlicePolydata, ThreeDimensionalSliceHasACellPerFace) {
  const Network net = random_mlp(3, {6, 5}, 3, 11);
  SliceBox box;
  box.lo = Eigen::Vector3d(-2, -1, -1.5);
  box.hi = Eigen::Vector3d(2, 1.5, 1);
  const Slice3d s = slice_regions_3d(net, input_space(), box);
  ASSERT_TRUE(s.complete);
  ASSERT_GT(s.polyhedra.size(), 3u);
  std::size_t faces = 0;
  for (const auto& p : s.polyhedra) faces += p.cell.faces.size();
  vtkSmartPointer<vtkPolyData> pd = slice_polydata(s, Colouring::Region);
  ASSERT_EQ(pd->GetNumberOfCells(), static_cast<vtkIdType>(faces));
  EXPECT_EQ(array_names(pd), (std::set<std::string>{"region_id", "pattern_hash_hi", "pattern_hash_lo", "class",
                                                     "volume", "region", "colour"}));
  vtkIdType cell = 0;
  double volume = 0;
  for (std::size_t i = 0; i < s.polyhedra.size(); ++i) {
    const SlicePolyhedron& p = s.polyhedra[i];
    volume += p.volume;
    double surface = 0;
    for (const auto& f : p.cell.faces) {
      const auto pts = cell_points(pd, cell);
      EXPECT_EQ(pts, f.vertices);
      surface += area_3d(pts);
      EXPECT_EQ(value(pd, "region_id", cell), i);
      EXPECT_EQ(value(pd, "region", cell), i);
      const std::uint64_t hi = static_cast<std::uint64_t>(value(pd, "pattern_hash_hi", cell));
      const std::uint64_t lo = static_cast<std::uint64_t>(value(pd, "pattern_hash_lo", cell));
      EXPECT_EQ((hi << 32) | lo, p.pattern_hash);
      EXPECT_EQ(value(pd, "class", cell), p.predicted_class);
      EXPECT_EQ(value(pd, "volume", cell), p.volume);
      EXPECT_EQ(colour(pd, cell), region_colour(p.pattern_hash));
      ++cell;
    }
    EXPECT_NEAR(surface, p.cell.surface_area(), 1e-12 * 100);
  }
  EXPECT_NEAR(volume, (box.hi - box.lo).prod(), 1e-9 * 24);
  // Class and (no confidence in 3-D) confidence colour by class.
  for (Colouring colouring : {Colouring::Class, Colouring::Confidence}) {
    vtkSmartPointer<vtkPolyData> by_class = slice_polydata(s, colouring);
    for (vtkIdType c = 0; c < by_class->GetNumberOfCells(); ++c)
      EXPECT_EQ(colour(by_class, c), class_colour(static_cast<int>(value(by_class, "class", c))));
  }
  expect_same(pd, read_back(slice_to_vtp(s, Colouring::Region), "3d"));
}

// The logit surface: a flat facet per class cell at height max_k f_k, whose
// projection tiles the window; coloured like the region map.
TEST(VtkLogitSurface, OneFacetPerClassCellOnTheLargestLogit) {
  const SliceWindow w{-3, 3, -3, 3};
  const Slice2d s = toy_slice(w);
  const double z_scale = 0.25;
  vtkSmartPointer<vtkPolyData> pd = logit_surface(s, Colouring::Class, 0, z_scale);
  std::size_t facets = 0;
  for (const auto& p : s.polygons) facets += p.class_cells.empty() ? 1 : p.class_cells.size();
  ASSERT_EQ(pd->GetNumberOfCells(), static_cast<vtkIdType>(facets));
  double projected = 0;
  for (vtkIdType c = 0; c < pd->GetNumberOfCells(); ++c) {
    const int i = static_cast<int>(value(pd, "region", c));
    const int k = static_cast<int>(value(pd, "class", c));
    const SlicePolygon& p = s.polygons.at(i);
    EXPECT_EQ(colour(pd, c), class_colour(k));
    const auto pts = cell_points(pd, c);
    projected += shoelace(pts);
    for (const auto& v : pts) {
      const Eigen::Vector3d uv1(v.x(), v.y(), 1);
      const Eigen::VectorXd logits = p.logits * uv1;
      EXPECT_NEAR(v.z(), z_scale * logits[k], 1e-9 * std::max(1.0, std::abs(v.z())));
      EXPECT_NEAR(logits[k], logits.maxCoeff(), 1e-9 * std::max(1.0, logits.cwiseAbs().maxCoeff()));
    }
  }
  EXPECT_NEAR(projected, 36.0, 36.0 * 1e-9);
}

}  // namespace
}  // namespace tessera
