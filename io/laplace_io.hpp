// A last-layer Laplace posterior (core/laplace.hpp) stored inside the
// model's own ONNX file, so that one file is both the MAP network (every
// ONNX tool runs it unchanged) and its posterior:
//   metadata  tessera.laplace.version          "1"
//             tessera.laplace.structure        "full" or "kronecker"
//             tessera.laplace.layer            name of the last dense node (informational)
//             tessera.laplace.prior_precision  the prior precision (decimal)
//             tessera.laplace.fitted_on        free text
//   initializers (DOUBLE, not read by any node)
//             tessera.laplace.covariance          full: P x P, P = K (H + 1)
//             tessera.laplace.class_covariance    kronecker: K x K
//             tessera.laplace.feature_covariance  kronecker: (H + 1) x (H + 1)
// The posterior mean is the last layer's own weights and bias. load_onnx()
// reads the posterior into Network::laplace (checked against the last
// layer), and serialize_onnx() writes it back.
#pragma once

#include <string>

#include "core/laplace.hpp"

namespace tessera {

// The model in `path` with its posterior: throws tessera::Error when the file
// has none ("PATH: has no Laplace posterior; fit one with: tessera laplace ...").
LaplaceModel load_laplace_model(const std::string& path);

// The ONNX model `bytes` with `head` added (any earlier posterior replaced);
// the graph and every other field are kept as they are.
std::string add_laplace_head(const std::string& bytes, const LaplaceHead& head, const std::string& source);
// Atomic write of add_laplace_head().
void save_laplace_model(const std::string& model_bytes, const LaplaceHead& head, const std::string& path,
                        const std::string& source);

}  // namespace tessera
