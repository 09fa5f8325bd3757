// ONNX import and export (through Debian's libonnx protobuf schema).
//
// Import accepts what torch.onnx.export produces for MLPs and CNNs (opsets
// 11-18): Gemm, MatMul, Add/Sub/Mul/Div by constants, Conv, MaxPool,
// AveragePool, GlobalAveragePool, Relu, LeakyRelu, BatchNormalization,
// Flatten, Reshape (constant or constant-foldable shape), Transpose,
// Constant, Identity, Dropout, and a trailing Softmax (recorded in
// Network::softmax_output, not a layer). Batch normalisation and
// normalisation by constants are folded into the neighbouring Dense/Conv node
// when that is exact, and kept as ElementwiseAffine nodes otherwise.
#pragma once

#include <string>

#include "core/network.hpp"

namespace tessera {

struct OnnxLoadOptions {
  // Refuse models whose initializers would need more than this many bytes in
  // double precision (before allocating them). Default: the environment
  // variable TESSERA_MAX_MODEL_MB (MiB, may be fractional) if set, else 8 GiB.
  std::int64_t max_parameter_bytes = default_max_parameter_bytes();
  // Throws tessera::Error when TESSERA_MAX_MODEL_MB is set but not a positive number.
  static std::int64_t default_max_parameter_bytes();
};

// Throws tessera::Error "PATH: node 'NAME' (OP): reason" for anything that is
// missing, corrupt, unsupported or inconsistent.
Network load_onnx(const std::string& path, const OnnxLoadOptions& options = {});
Network parse_onnx(const std::string& bytes, const std::string& source, const OnnxLoadOptions& options = {});

struct OnnxSaveOptions {
  bool float64 = false;  // store weights as DOUBLE instead of FLOAT
  int opset = 13;
};

// Serialises the network (weights as float32 unless options.float64).
// Softmax is appended when net.softmax_output is set.
std::string serialize_onnx(const Network& net, const OnnxSaveOptions& options = {});
// Atomic write of serialize_onnx(net).
void save_onnx(const Network& net, const std::string& path, const OnnxSaveOptions& options = {});

}  // namespace tessera
