// The .vtp writer as a plugin: `tessera` loads libtessera_vtp.so (built next
// to it) only when --vtp is given. Linking VTK into the command itself would
// load 18 more shared libraries at every start, doubling the start-up time
// of every command (8 ms -> 16 ms) for a rarely used output. This header has
// no VTK in it: the command includes it to call the plugin.
#pragma once

#include <string>

#include "export/palette.hpp"
#include "regions/slice_2d.hpp"
#include "regions/slice_3d.hpp"

namespace tessera {

// One of slice2d / slice3d is set.
struct VtpRequest {
  const Slice2d* slice2d = nullptr;
  const Slice3d* slice3d = nullptr;
  Colouring colouring = Colouring::Class;
  int classes = 0;
};

// The plugin's one entry point: writes the file's bytes to *out and returns
// 0, or writes a one-line message to *error and returns 1.
using VtpPluginFunction = int (*)(const VtpRequest* request, std::string* out, std::string* error);
constexpr const char* kVtpPluginFile = "libtessera_vtp.so";
constexpr const char* kVtpPluginSymbol = "tessera_vtp_plugin_v1";

}  // namespace tessera
