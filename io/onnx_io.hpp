// ONNX import and export (through Debian's libonnx protobuf schema).
//
// Import accepts what torch.onnx.export produces for MLPs and CNNs (opsets
// 11-18); supported_onnx_operators() lists the operators, and
// docs/user-guide.md ("Supported models") says what each becomes (a test
// keeps the two equal). Inputs are [N, C, H, W] images or vectors of d values
// in any layout with at most one dimension above 1 besides a leading batch
// ([N, d], [d], [N, d, 1], [N, 1, d], [d, 1]). Batch normalisation and
// normalisation by constants are folded into the neighbouring Dense/Conv node
// when that is exact, and kept as ElementwiseAffine nodes otherwise; Clip,
// Abs, PRelu and Max/Min with a constant become Piecewise nodes, and Max/Min
// of two activations an exact ReLU form (max(a, b) = b + relu(a - b)).
#pragma once

#include <string>
#include <vector>

#include "core/network.hpp"

namespace tessera {

struct OnnxLoadOptions {
  // Refuse models whose initializers would need more than this many bytes in
  // double precision (before allocating them). Default: the environment
  // variable TESSERA_MAX_MODEL_MB (MiB, may be fractional) if set, else 8 GiB.
  std::int64_t max_parameter_bytes = default_max_parameter_bytes();
  // Read a last-layer Laplace posterior stored in the file into
  // Network::laplace (io/laplace_io.hpp); false ignores it (`tessera
  // laplace` refits a model whose stored posterior is broken).
  bool read_laplace = true;
  // Throws tessera::Error when TESSERA_MAX_MODEL_MB is set but not a positive number.
  static std::int64_t default_max_parameter_bytes();
};

// Throws tessera::Error "PATH: node 'NAME' (OP): reason" for anything that is
// missing, corrupt, unsupported or inconsistent.
Network load_onnx(const std::string& path, const OnnxLoadOptions& options = {});
Network parse_onnx(const std::string& bytes, const std::string& source, const OnnxLoadOptions& options = {});

// The ONNX operators (default domain) the importer handles, with what each
// becomes, in the user guide's order; `tessera info --operators` prints it.
struct OnnxOperator {
  std::string name;
  std::string becomes;
  std::vector<std::string> attributes;  // the attributes it understands (others are refused), sorted
};
const std::vector<OnnxOperator>& onnx_operator_table();
// Their names, sorted.
const std::vector<std::string>& supported_onnx_operators();

// Class names as the model metadata "class_names" and the app's
// --class-names write them: comma-separated, spaces around a name trimmed.
// Throws tessera::Error for an empty name.
std::vector<std::string> parse_class_names(const std::string& comma_separated);

struct OnnxSaveOptions {
  bool float64 = false;  // store weights as DOUBLE instead of FLOAT
  int opset = 13;
};

// Serialises the network (weights as float32 unless options.float64); the
// class names, if any, go into the metadata "class_names".
// Softmax is appended when net.softmax_output is set.
std::string serialize_onnx(const Network& net, const OnnxSaveOptions& options = {});
// Atomic write of serialize_onnx(net).
void save_onnx(const Network& net, const std::string& path, const OnnxSaveOptions& options = {});

}  // namespace tessera
