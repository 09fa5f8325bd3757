#include "vtk/vtp_writer.hpp"

#include <vtkXMLPolyDataWriter.h>

#include "core/error.hpp"
#include "vtk/slice_polydata.hpp"

namespace tessera {

std::string polydata_to_vtp(vtkPolyData* polydata) {
  auto writer = vtkSmartPointer<vtkXMLPolyDataWriter>::New();
  writer->SetInputData(polydata);
  writer->SetDataModeToAscii();
  writer->SetCompressorTypeToNone();
  writer->WriteToOutputStringOn();
  if (writer->Write() != 1 || writer->GetErrorCode() != 0)
    throw Error("VTK could not write the polydata as .vtp (error code " + std::to_string(writer->GetErrorCode()) + ")");
  return writer->GetOutputString();
}

std::string slice_to_vtp(const Slice2d& slice, Colouring colouring, int classes) {
  return polydata_to_vtp(slice_polydata(slice, colouring, classes));
}

std::string slice_to_vtp(const Slice3d& slice, Colouring colouring, int classes) {
  return polydata_to_vtp(slice_polydata(slice, colouring, classes));
}

}  // namespace tessera
