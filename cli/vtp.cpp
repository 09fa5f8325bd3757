#include "cli/vtp.hpp"

#include <dlfcn.h>

#include <filesystem>

#include "core/error.hpp"
#include "vtk/vtp_plugin.hpp"

namespace tessera::cli {

namespace {

VtpPluginFunction load() {
  static VtpPluginFunction fn = nullptr;
  if (fn) return fn;
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  const std::string path = (ec ? std::filesystem::path(".") : exe.parent_path()) / kVtpPluginFile;
  if (!std::filesystem::exists(path))
    throw Error(std::string("this build of tessera has no VTK plugin for .vtp files (") + path +
                " is missing; configure with -DTESSERA_BUILD_VTK=ON and build the target tessera_vtp)");
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) throw Error(path + ": cannot load the VTK plugin: " + dlerror());
  fn = reinterpret_cast<VtpPluginFunction>(dlsym(handle, kVtpPluginSymbol));
  if (!fn) throw Error(path + ": not Tessera's VTK plugin (no " + kVtpPluginSymbol + ")");
  return fn;
}

std::string call(const VtpRequest& request) {
  std::string out, error;
  if (load()(&request, &out, &error) != 0) throw Error(".vtp: " + error);
  return out;
}

}  // namespace

void require_vtp_plugin() { load(); }

std::string slice_to_vtp(const Slice2d& slice, Colouring colouring) {
  VtpRequest r;
  r.slice2d = &slice;
  r.colouring = colouring;
  return call(r);
}

std::string slice_to_vtp(const Slice3d& slice) {
  VtpRequest r;
  r.slice3d = &slice;
  return call(r);
}

}  // namespace tessera::cli
