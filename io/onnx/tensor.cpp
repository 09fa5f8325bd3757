// Decoding ONNX tensors (initializers, Constant values) into doubles, with
// the element types, sizes and stored data checked before anything is
// allocated.
#include <cmath>
#include <algorithm>
#include <cstring>
#include <string>

#include "core/limits.hpp"
#include "io/onnx/importer.hpp"

namespace tessera::onnx_import {

namespace {

const char* type_name(int type) {
  switch (type) {
    case onnx::TensorProto::FLOAT16: return "float16";
    case onnx::TensorProto::BFLOAT16: return "bfloat16";
    case onnx::TensorProto::STRING: return "string";
    case onnx::TensorProto::COMPLEX64: return "complex64";
    case onnx::TensorProto::COMPLEX128: return "complex128";
    case onnx::TensorProto::UINT16: return "uint16";
    case onnx::TensorProto::UINT32: return "uint32";
    case onnx::TensorProto::UINT64: return "uint64";
    case onnx::TensorProto::INT16: return "int16";
    case onnx::TensorProto::UNDEFINED: return "undefined";
    default: return nullptr;
  }
}

}  // namespace

ConstTensor read_tensor(const onnx::TensorProto& t, const std::string& what, const std::string& source,
                      TensorBudget& budget) {
  // What cannot be read is "not supported", before sizes are compared
  // (a float16 tensor is not a truncated float tensor).
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT: case onnx::TensorProto::DOUBLE: case onnx::TensorProto::INT64:
    case onnx::TensorProto::INT32: case onnx::TensorProto::INT8: case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL:
      break;
    default: {
      const char* name = type_name(t.data_type());
      throw Error(source + ": " + what + " has element type " +
                  (name ? std::string(name) : std::to_string(t.data_type())) +
                  ", which is not supported (only float, double and integer tensors are; export in float32)");
    }
  }
  if (t.data_location() == onnx::TensorProto::EXTERNAL)
    throw Error(source + ": " + what + " uses external data files, which are not supported (save the model with "
                "its weights inside: onnx.save(model, path, save_as_external_data=False))");
  ConstTensor c;
  c.dims.assign(t.dims().begin(), t.dims().end());
  const std::int64_t n = numel(c.dims);
  if (n < 0) throw Error(source + ": " + what + " has a negative or too large shape " + dims_str(c.dims));
  budget.bytes_read += 8 * n;
  if (budget.bytes_read > budget.max_parameter_bytes)
    throw Error(source + ": the model's tensors need more than the limit of " +
                std::to_string(static_cast<double>(budget.max_parameter_bytes) / (1024 * 1024)).substr(0, 8) +
                " MiB (set TESSERA_MAX_MODEL_MB to change it); refused before allocating them");
  budget.memory = add_or_neg(budget.memory, mul_or_neg(8, n));
  check_memory(budget.memory, source + ": " + what + " of shape " + dims_str(c.dims) + " (with the model so far)");
  {
    // The stored data must be there before anything is allocated for it.
    const std::int64_t stored = !t.raw_data().empty() ? static_cast<std::int64_t>(t.raw_data().size())
                                : t.float_data_size() + t.double_data_size() + t.int64_data_size() + t.int32_data_size();
    const std::int64_t min_bytes = t.raw_data().empty() ? 1 : (t.data_type() == onnx::TensorProto::INT8 ||
                                                                t.data_type() == onnx::TensorProto::UINT8 ||
                                                                t.data_type() == onnx::TensorProto::BOOL) ? 1 : 4;
    if (stored < n * min_bytes && !(n == 0))
      throw Error(source + ": " + what + " holds fewer values than its shape " + dims_str(c.dims) +
                  " needs (truncated or corrupt)");
  }
  c.data.resize(n);
  const std::string& raw = t.raw_data();
  auto need = [&](std::int64_t have, std::int64_t elem) {
    if (have != n * elem)
      throw Error(source + ": " + what + " has " + std::to_string(have / std::max<std::int64_t>(elem, 1)) +
                  " values for shape " + dims_str(c.dims) + " (truncated or corrupt)");
  };
  switch (t.data_type()) {
    case onnx::TensorProto::FLOAT:
      if (!raw.empty()) {
        need(raw.size(), 4);
        for (std::int64_t i = 0; i < n; ++i) {
          float f;
          std::memcpy(&f, raw.data() + 4 * i, 4);
          c.data[i] = f;
        }
      } else {
        need(t.float_data_size(), 1);
        for (std::int64_t i = 0; i < n; ++i) c.data[i] = t.float_data(i);
      }
      break;
    case onnx::TensorProto::DOUBLE:
      if (!raw.empty()) {
        need(raw.size(), 8);
        std::memcpy(c.data.data(), raw.data(), 8 * n);
      } else {
        need(t.double_data_size(), 1);
        for (std::int64_t i = 0; i < n; ++i) c.data[i] = t.double_data(i);
      }
      break;
    case onnx::TensorProto::INT64:
      c.integer = true;
      if (!raw.empty()) {
        need(raw.size(), 8);
        for (std::int64_t i = 0; i < n; ++i) {
          std::int64_t v;
          std::memcpy(&v, raw.data() + 8 * i, 8);
          c.data[i] = static_cast<double>(v);
        }
      } else {
        need(t.int64_data_size(), 1);
        for (std::int64_t i = 0; i < n; ++i) c.data[i] = static_cast<double>(t.int64_data(i));
      }
      break;
    case onnx::TensorProto::INT32:
    case onnx::TensorProto::INT8:
    case onnx::TensorProto::UINT8:
    case onnx::TensorProto::BOOL: {
      c.integer = true;
      const int elem = t.data_type() == onnx::TensorProto::INT32 ? 4 : 1;
      if (!raw.empty()) {
        need(raw.size(), elem);
        for (std::int64_t i = 0; i < n; ++i) {
          if (elem == 4) {
            std::int32_t v;
            std::memcpy(&v, raw.data() + 4 * i, 4);
            c.data[i] = v;
          } else if (t.data_type() == onnx::TensorProto::INT8) {
            c.data[i] = static_cast<std::int8_t>(raw[i]);
          } else {
            c.data[i] = static_cast<std::uint8_t>(raw[i]);
          }
        }
      } else {
        need(t.int32_data_size(), 1);
        for (std::int64_t i = 0; i < n; ++i) c.data[i] = t.int32_data(i);
      }
      break;
    }
    default:
      throw Error(source + ": " + what + " has element type " + std::to_string(t.data_type()) +
                  " (only float, double and integer tensors are supported)");
  }
  for (std::int64_t i = 0; i < n; ++i)
    if (!std::isfinite(c.data[i]))
      throw Error(source + ": " + what + " contains " + (std::isnan(c.data[i]) ? "NaN" : "Inf") + " at index " +
                  std::to_string(i));
  return c;
}

}  // namespace tessera::onnx_import
