// read_svhn_mat: SVHN's cropped digits from MATLAB .mat files, with libmatio.
#include <matio.h>

#include <cmath>
#include <filesystem>
#include <memory>
#include <mutex>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "io/dataset_convert.hpp"

namespace tessera {

namespace {

// libmatio reports problems through a log function (by default to stderr);
// the last message is kept for our one-line error instead.
std::string& last_matio_message() {
  static std::string message;
  return message;
}

void keep_matio_message(int /*level*/, char* message) { last_matio_message() = message ? message : ""; }

void quiet_matio() {
  static std::once_flag once;
  std::call_once(once, [] { Mat_LogInitFunc("tessera", keep_matio_message); });
  last_matio_message().clear();
}

std::string matio_detail() {
  const std::string& m = last_matio_message();
  return m.empty() ? "" : " (libmatio: " + m + ")";
}

struct MatCloser {
  void operator()(mat_t* m) const { Mat_Close(m); }
};
struct VarFreer {
  void operator()(matvar_t* v) const { Mat_VarFree(v); }
};
using MatFile = std::unique_ptr<mat_t, MatCloser>;
using MatVar = std::unique_ptr<matvar_t, VarFreer>;

const char* class_name(matio_classes c) {
  switch (c) {
    case MAT_C_DOUBLE: return "double";
    case MAT_C_SINGLE: return "single";
    case MAT_C_INT8: return "int8";
    case MAT_C_UINT8: return "uint8";
    case MAT_C_INT16: return "int16";
    case MAT_C_UINT16: return "uint16";
    case MAT_C_INT32: return "int32";
    case MAT_C_UINT32: return "uint32";
    case MAT_C_INT64: return "int64";
    case MAT_C_UINT64: return "uint64";
    case MAT_C_CHAR: return "char";
    case MAT_C_CELL: return "cell";
    case MAT_C_STRUCT: return "struct";
    default: return "non-numeric";
  }
}

std::string size_text(const matvar_t* v) {
  std::string s;
  for (int i = 0; i < v->rank; ++i) s += (i ? "x" : "") + std::to_string(v->dims[i]);
  return s;
}

// Reads variable `name` fully after checking its header with `check`.
template <class Check>
MatVar read_variable(mat_t* mat, const std::string& path, const char* name, Check check) {
  MatVar info(Mat_VarReadInfo(mat, name));
  if (!info) throw Error(path + ": has no variable '" + name + "'" + matio_detail());
  check(info.get());
  last_matio_message().clear();
  MatVar var(Mat_VarRead(mat, name));
  // A short read is only logged (the variable comes back, partly filled).
  if (!var || !var->data || !last_matio_message().empty())
    throw Error(path + ": variable '" + name + "' cannot be read (truncated or damaged file?)" + matio_detail());
  return var;
}

}  // namespace

ImageSet read_svhn_mat(const std::string& path, const ConvertMonitor& monitor) {
  quiet_matio();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw Error(path + ": missing or not a file");
  MatFile mat(Mat_Open(path.c_str(), MAT_ACC_RDONLY));
  if (!mat) throw Error(path + ": not a MATLAB .mat file libmatio can read" + matio_detail());

  std::size_t n = 0;
  MatVar x = read_variable(mat.get(), path, "X", [&](const matvar_t* v) {
    if (v->class_type != MAT_C_UINT8 || v->isComplex || v->rank != 4 || v->dims[0] != 32 || v->dims[1] != 32 ||
        v->dims[2] != 3 || v->dims[3] == 0)
      throw Error(path + ": variable 'X' is " + class_name(v->class_type) + (v->isComplex ? " complex " : " ") +
                  size_text(v) + "; expected uint8 32x32x3xN (SVHN's cropped digits)");
    n = v->dims[3];
    if (n > (std::size_t{1} << 30)) throw Error(path + ": variable 'X' holds too many images");
    // matio's copy and ours.
    check_memory(mul_or_neg(static_cast<std::int64_t>(n), 2 * 3072), path + ": " + std::to_string(n) + " images");
  });
  // libmatio does not report a short read of uncompressed data: the file
  // must at least hold X's bytes.
  const auto file_bytes = std::filesystem::file_size(path, ec);
  if (x->compression == MAT_COMPRESSION_NONE && !ec && file_bytes < n * 3072)
    throw Error(path + ": truncated: variable 'X' (uint8 32x32x3x" + std::to_string(n) + ") needs " +
                std::to_string(n * 3072) + " bytes but the file has only " + std::to_string(file_bytes));
  if (x->nbytes < n * 3072)
    throw Error(path + ": variable 'X' holds " + std::to_string(x->nbytes) + " bytes; expected " +
                std::to_string(n * 3072) + " (truncated file?)");
  MatVar y = read_variable(mat.get(), path, "y", [&](const matvar_t* v) {
    std::size_t count = 1;
    for (int i = 0; i < v->rank; ++i) count *= v->dims[i];
    const bool column = v->rank == 2 && (v->dims[0] == 1 || v->dims[1] == 1);
    if ((v->class_type != MAT_C_DOUBLE && v->class_type != MAT_C_UINT8) || v->isComplex || !column || count != n)
      throw Error(path + ": variable 'y' is " + class_name(v->class_type) + " " + size_text(v) + "; expected double " +
                  std::to_string(n) + "x1 (one label per image of X)");
  });
  if (y->nbytes < n * static_cast<std::size_t>(y->class_type == MAT_C_DOUBLE ? 8 : 1))
    throw Error(path + ": variable 'y' is shorter than its size says (truncated file?)");

  ImageSet set;
  set.dims = {static_cast<int>(n), 3, 32, 32};
  set.images.resize(n * 3072);
  set.labels.resize(n);
  const auto* X = static_cast<const std::uint8_t*>(x->data);
  const std::string name = std::filesystem::path(path).filename().string();
  for (std::size_t i = 0; i < n; ++i) {
    if (i % 1000 == 0) monitor.poll(i, n, name);
    const double label = y->class_type == MAT_C_DOUBLE ? static_cast<const double*>(y->data)[i]
                                                       : static_cast<const std::uint8_t*>(y->data)[i];
    if (!(label >= 1 && label <= 10) || label != std::floor(label))
      throw Error(path + ": y(" + std::to_string(i + 1) + ") = " + std::to_string(label) +
                  " is not a label 1..10 (10 meaning the digit 0)");
    set.labels[i] = static_cast<std::uint8_t>(label == 10 ? 0 : label);
    // X(row, col, ch, i) sits at row + 32 col + 1024 ch + 3072 i (column-major).
    std::uint8_t* out = set.images.data() + i * 3072;
    const std::uint8_t* in = X + i * 3072;
    for (int ch = 0; ch < 3; ++ch)
      for (int row = 0; row < 32; ++row)
        for (int col = 0; col < 32; ++col) out[ch * 1024 + row * 32 + col] = in[row + 32 * col + 1024 * ch];
  }
  return set;
}

}  // namespace tessera
