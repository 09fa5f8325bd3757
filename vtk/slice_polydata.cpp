#include "vtk/slice_polydata.hpp"

#include <vtkCellArray.h>
#include <vtkCellData.h>
#include <vtkDoubleArray.h>
#include <vtkIdTypeArray.h>
#include <vtkIntArray.h>
#include <vtkPoints.h>
#include <vtkTypeUInt32Array.h>
#include <vtkUnsignedCharArray.h>

#include <algorithm>
#include <vector>

namespace tessera {

namespace {

template <class Array>
vtkSmartPointer<Array> named(const char* name, int components = 1) {
  auto a = vtkSmartPointer<Array>::New();
  a->SetName(name);
  a->SetNumberOfComponents(components);
  return a;
}

// Points and polygon cells, each polygon with its own points.
struct Builder {
  vtkSmartPointer<vtkPoints> points = vtkSmartPointer<vtkPoints>::New();
  vtkSmartPointer<vtkCellArray> polys = vtkSmartPointer<vtkCellArray>::New();
  std::vector<vtkIdType> ids;

  Builder() { points->SetDataTypeToDouble(); }
  template <class Vertices, class Point>
  void add(const Vertices& vertices, Point point) {
    ids.clear();
    for (const auto& v : vertices) {
      const Eigen::Vector3d p = point(v);
      ids.push_back(points->InsertNextPoint(p.x(), p.y(), p.z()));
    }
    polys->InsertNextCell(static_cast<vtkIdType>(ids.size()), ids.data());
  }
  vtkSmartPointer<vtkPolyData> finish() {
    auto pd = vtkSmartPointer<vtkPolyData>::New();
    pd->SetPoints(points);
    pd->SetPolys(polys);
    return pd;
  }
};

// The arrays every region cell carries (2-D and 3-D).
struct RegionArrays {
  vtkSmartPointer<vtkIdTypeArray> region_id = named<vtkIdTypeArray>("region_id");
  vtkSmartPointer<vtkTypeUInt32Array> hash_hi = named<vtkTypeUInt32Array>("pattern_hash_hi");
  vtkSmartPointer<vtkTypeUInt32Array> hash_lo = named<vtkTypeUInt32Array>("pattern_hash_lo");
  vtkSmartPointer<vtkIntArray> cls = named<vtkIntArray>("class");
  vtkSmartPointer<vtkIntArray> region = named<vtkIntArray>("region");
  vtkSmartPointer<vtkUnsignedCharArray> colour = named<vtkUnsignedCharArray>("colour", 3);

  void add(std::size_t i, std::uint64_t hash, int predicted_class, const Rgb& c) {
    region_id->InsertNextValue(static_cast<vtkIdType>(i));
    hash_hi->InsertNextValue(static_cast<vtkTypeUInt32>(hash >> 32));
    hash_lo->InsertNextValue(static_cast<vtkTypeUInt32>(hash & 0xffffffffu));
    cls->InsertNextValue(predicted_class);
    region->InsertNextValue(static_cast<int>(i));
    colour->InsertNextTypedTuple(c.data());
  }
  // Adds the arrays in the files' order, the extra ones (3-D volume, 2-D
  // confidences and area) after class, then region; colour is the scalars.
  void attach(vtkPolyData* pd, std::initializer_list<vtkDataArray*> extra) {
    vtkCellData* cd = pd->GetCellData();
    cd->AddArray(region_id);
    cd->AddArray(hash_hi);
    cd->AddArray(hash_lo);
    cd->AddArray(cls);
    for (vtkDataArray* a : extra) cd->AddArray(a);
    cd->AddArray(region);
    cd->SetScalars(colour);
  }
};

}  // namespace

vtkSmartPointer<vtkPolyData> slice_polydata(const Slice2d& slice, Colouring colouring, int classes) {
  if (classes <= 0) classes = slice_classes(slice);
  Builder b;
  RegionArrays a;
  auto conf_min = named<vtkDoubleArray>("confidence_min");
  auto conf_max = named<vtkDoubleArray>("confidence_max");
  auto area = named<vtkDoubleArray>("area");
  const std::vector<Rgb> colours = polygon_colours(slice, colouring, classes);
  for (std::size_t i = 0; i < slice.polygons.size(); ++i) {
    const SlicePolygon& p = slice.polygons[i];
    b.add(p.polygon.vertices, [](const Eigen::Vector2d& v) { return Eigen::Vector3d(v.x(), v.y(), 0); });
    a.add(i, p.pattern_hash, p.predicted_class, colours[i]);
    conf_min->InsertNextValue(p.min_confidence);
    conf_max->InsertNextValue(p.max_confidence);
    area->InsertNextValue(p.area);
  }
  auto pd = b.finish();
  a.attach(pd, {conf_min, conf_max, area});
  return pd;
}

vtkSmartPointer<vtkPolyData> slice_polydata(const Slice3d& slice, Colouring colouring, int classes) {
  if (classes <= 0) classes = slice_classes(slice);
  if (colouring == Colouring::Confidence || colouring == Colouring::Shaded) colouring = Colouring::Class;
  Builder b;
  RegionArrays a;
  auto volume = named<vtkDoubleArray>("volume");
  for (std::size_t i = 0; i < slice.polyhedra.size(); ++i) {
    const SlicePolyhedron& p = slice.polyhedra[i];
    const Rgb c = slice_region_colour(colouring, p.pattern_hash, p.predicted_class, 0, classes);
    for (const auto& f : p.cell.faces) {
      b.add(f.vertices, [](const Eigen::Vector3d& v) { return v; });
      a.add(i, p.pattern_hash, p.predicted_class, c);
      volume->InsertNextValue(p.volume);
    }
  }
  auto pd = b.finish();
  a.attach(pd, {volume});
  return pd;
}

vtkSmartPointer<vtkPolyData> logit_surface(const Slice2d& slice, Colouring colouring, int classes, double z_scale) {
  if (classes <= 0) classes = slice_classes(slice);
  Builder b;
  auto region = named<vtkIntArray>("region");
  auto cls = named<vtkIntArray>("class");
  auto colour = named<vtkUnsignedCharArray>("colour", 3);
  const ShadeScale scale = colouring == Colouring::Shaded ? shade_scale(slice) : ShadeScale{};
  for (std::size_t i = 0; i < slice.polygons.size(); ++i) {
    const SlicePolygon& p = slice.polygons[i];
    std::vector<std::pair<int, const ConvexPolygon*>> cells;
    for (const auto& [k, cell] : p.class_cells) cells.emplace_back(k, &cell);
    if (cells.empty()) cells.emplace_back(p.predicted_class, &p.polygon);
    for (const auto& [k, cell] : cells) {
      if (cell->vertices.size() < 3 || k < 0 || k >= p.logits.rows()) continue;
      b.add(cell->vertices, [&, k = k](const Eigen::Vector2d& v) {
        const double z = p.logits(k, 0) * v.x() + p.logits(k, 1) * v.y() + p.logits(k, 2);
        return Eigen::Vector3d(v.x(), v.y(), z_scale * z);
      });
      region->InsertNextValue(static_cast<int>(i));
      cls->InsertNextValue(k);
      const double shade = colouring == Colouring::Shaded ? scale.shade(centroid_nines(p)) : 1.0;
      const Rgb c = slice_region_colour(colouring, p.pattern_hash, k, p.max_confidence, classes, shade);
      colour->InsertNextTypedTuple(c.data());
    }
  }
  auto pd = b.finish();
  pd->GetCellData()->AddArray(region);
  pd->GetCellData()->AddArray(cls);
  pd->GetCellData()->SetScalars(colour);
  return pd;
}

}  // namespace tessera
