// .vtp files for `tessera slice --vtp`, through the VTK plugin
// libtessera_vtp.so next to the executable (vtk/vtp_plugin.hpp), loaded on
// first use so that no other command loads VTK.
#pragma once

#include <string>

#include "export/palette.hpp"
#include "regions/slice_2d.hpp"
#include "regions/slice_3d.hpp"

namespace tessera::cli {

// Loads the plugin now; throws tessera::Error in one line when this build
// has none or it cannot be loaded (called before any work is done).
void require_vtp_plugin();
std::string slice_to_vtp(const Slice2d& slice, Colouring colouring = Colouring::Class);
std::string slice_to_vtp(const Slice3d& slice);

}  // namespace tessera::cli
