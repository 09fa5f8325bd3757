// Compares Tessera with PyTorch: models built and exported by
// tests/oracle/make_oracle_cases.py (Debian's python3-torch), with inputs,
// logits and autograd Jacobians saved next to them. Skipped (and reported as
// skipped by ctest) when the cases could not be generated.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/affine_map.hpp"
#include "core/forward.hpp"
#include "io/onnx_io.hpp"

namespace tessera {
namespace {

const char* oracle_dir() {
  const char* d = std::getenv("TESSERA_ORACLE_DIR");
  return d ? d : "oracle_cases";
}

std::vector<std::pair<std::string, int>> manifest() {
  std::vector<std::pair<std::string, int>> out;
  std::ifstream in(std::string(oracle_dir()) + "/manifest.txt");
  std::string name;
  int opset = 0;
  while (in >> name >> opset) out.emplace_back(name, opset);
  return out;
}

Vector read_numbers(std::istream& in, Eigen::Index n) {
  Vector v(n);
  for (Eigen::Index i = 0; i < n; ++i) in >> v[i];
  return v;
}

TEST(PyTorchOracle, TesseraReproducesLogitsAndJacobiansOfPyTorchExports) {
  const auto cases = manifest();
  if (cases.empty()) GTEST_SKIP() << "no oracle cases in " << oracle_dir() << " (python3-torch missing?)";
  int points = 0;
  for (const auto& [name, opset] : cases) {
    SCOPED_TRACE(name + " (opset " + std::to_string(opset) + ")");
    const std::string base = std::string(oracle_dir()) + "/" + name;
    Network net;
    ASSERT_NO_THROW(net = load_onnx(base + ".onnx"));
    std::ifstream in(base + ".case");
    std::string magic;
    int version = 0, D = 0, K = 0, M = 0;
    in >> magic >> version >> D >> K >> M;
    ASSERT_EQ(magic, "tessera-oracle");
    ASSERT_EQ(D, net.input_size());
    ASSERT_EQ(K, net.output_size());
    for (int m = 0; m < M; ++m) {
      const Vector x = read_numbers(in, D);
      const Vector logits64 = read_numbers(in, K);
      const Vector logits32 = read_numbers(in, K);
      const Vector jac = read_numbers(in, static_cast<Eigen::Index>(K) * D);
      ASSERT_TRUE(in.good());
      const ForwardPass fp = forward_pass(net, x);
      const AffineMap map = affine_map(net, fp.pattern);
      const double scale = std::max(1.0, logits64.cwiseAbs().maxCoeff());
      // float32 models: 1e-5 relative against PyTorch's float32 logits; the
      // float64 evaluation of the same weights agrees far more closely
      // (PyTorch's exporter may refold conv+batch-norm weights in float32).
      EXPECT_LT((fp.logits() - logits32).cwiseAbs().maxCoeff() / scale, 1e-5);
      EXPECT_LT((fp.logits() - logits64).cwiseAbs().maxCoeff() / scale, 1e-6);
      const Matrix J = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(
          jac.data(), K, D);
      const double jscale = std::max(1.0, J.cwiseAbs().maxCoeff());
      EXPECT_LT((map.V - J).cwiseAbs().maxCoeff() / jscale, 1e-6);
      EXPECT_LT((map(x) - fp.logits()).cwiseAbs().maxCoeff() / scale, 1e-9);
      ++points;
    }
  }
  EXPECT_GT(points, 0);
  std::cout << "[ oracle   ] compared " << points << " points of " << cases.size() << " PyTorch exports\n";
}

// Inputs in the layouts of verification benchmarks keep their declared
// shape (reported by `tessera info`) and read as flat vectors.
TEST(PyTorchOracle, DeclaredInputShapesAreKept) {
  const auto cases = manifest();
  if (cases.empty()) GTEST_SKIP() << "no oracle cases in " << oracle_dir() << " (python3-torch missing?)";
  const std::vector<std::pair<std::string, std::vector<std::int64_t>>> expected = {
      {"mlp_column_vector_n_d_1_", {0, 12, 1}},
      {"mlp_column_vector_d_1_unbatched_", {12, 1}},
      {"mlp_rank1_d_unbatched_", {9}},
      {"mlp_row_1_1_d_", {0, 1, 9}},
      {"cnn_nhwc_permute_", {0, 8, 8, 1}},
      {"mlp_gemm_relu_", {0, 20}}};
  int checked = 0;
  for (const auto& [name, opset] : cases)
    for (const auto& [prefix, dims] : expected)
      if (name.rfind(prefix, 0) == 0) {
        const Network net = load_onnx(std::string(oracle_dir()) + "/" + name + ".onnx");
        EXPECT_EQ(net.declared_input_dims, dims) << name;
        ++checked;
      }
  EXPECT_GE(checked, 6);
}

}  // namespace
}  // namespace tessera
