// libtessera_vtp.so: slice_to_vtp behind a C entry point (vtk/vtp_plugin.hpp).
#include "vtk/vtp_plugin.hpp"

#include <exception>

#include "core/error.hpp"
#include "vtk/vtp_writer.hpp"

extern "C" __attribute__((visibility("default"))) int tessera_vtp_plugin_v1(const tessera::VtpRequest* request,
                                                                            std::string* out, std::string* error) {
  try {
    if (request->slice2d)
      *out = tessera::slice_to_vtp(*request->slice2d, request->colouring, request->classes);
    else if (request->slice3d)
      *out = tessera::slice_to_vtp(*request->slice3d, request->colouring, request->classes);
    else
      throw tessera::Error("internal: an empty .vtp request");
    return 0;
  } catch (const std::exception& e) {
    *error = e.what();
    return 1;
  }
}
