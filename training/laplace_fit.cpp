#include "training/laplace_fit.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "training/network_module.hpp"
#include "training/trainer.hpp"

namespace tessera::training {
namespace {

Matrix to_matrix(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kCPU, torch::kFloat64).contiguous();
  Matrix m(c.size(0), c.size(1));
  const double* p = c.data_ptr<double>();
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) m(i, j) = p[i * m.cols() + j];
  return m;
}

torch::Tensor from_matrix(const Matrix& m, const torch::Device& device) {
  torch::Tensor t = torch::empty({m.rows(), m.cols()}, torch::kFloat64);
  double* p = t.data_ptr<double>();
  for (Eigen::Index i = 0; i < m.rows(); ++i)
    for (Eigen::Index j = 0; j < m.cols(); ++j) p[i * m.cols() + j] = m(i, j);
  return t.to(device);
}

// (S + shift I)^-1 for a symmetric positive semi-definite S given by its
// eigen-decomposition.
Matrix shifted_inverse(const Eigen::SelfAdjointEigenSolver<Matrix>& eig, double shift) {
  const Vector inv = (eig.eigenvalues().array().max(0.0) + shift).inverse().matrix();
  return eig.eigenvectors() * inv.asDiagonal() * eig.eigenvectors().transpose();
}

// Mean negative log-likelihood of the probit predictive of `head` on
// features (rows of phi) with labels y; without labels, the mean
// cross-entropy to the uniform distribution, -1/K sum_k log p_k.
double mean_loss(const LaplaceHead& head, const Matrix& phi, const std::vector<std::int64_t>* y) {
  double total = 0;
  for (Eigen::Index n = 0; n < phi.rows(); ++n) {
    const Vector z = probit_scores(head.mean_logits(phi.row(n).transpose()), head.logit_variances(phi.row(n).transpose()));
    const double top = z.maxCoeff();
    const double lse = top + std::log((z.array() - top).exp().sum());
    total += lse - (y ? z[(*y)[static_cast<std::size_t>(n)]] : z.mean());
  }
  return phi.rows() ? total / static_cast<double>(phi.rows()) : 0.0;
}

}  // namespace

std::vector<double> default_prior_precisions() {
  std::vector<double> g;
  for (int i = -12; i <= 8; ++i) g.push_back(std::pow(10.0, i / 2.0));
  return g;
}

LaplaceFitResult fit_laplace(const Network& net, const Dataset& data, const LaplaceFitOptions& o) {
  LaplaceFitResult r;
  const Network features = last_layer_features(net);
  const Node& last = net.nodes.back();
  const int K = static_cast<int>(last.weight.rows());
  const int H = static_cast<int>(last.weight.cols());
  const std::int64_t P = static_cast<std::int64_t>(K) * (H + 1);
  if (K != data.classes)
    throw Error(net.source + ": the model has " + std::to_string(K) + " outputs but " + data.name + " has " +
                std::to_string(data.classes) + " classes");
  if (net.input_size() != data.shape.size())
    throw Error(net.source + ": the model reads " + std::to_string(net.input_size()) + " values but " + data.name +
                " has samples of " + std::to_string(data.shape.size()));
  std::vector<double> grid = o.prior_precisions.empty() ? default_prior_precisions() : o.prior_precisions;
  for (double t : grid)
    if (!(t > 0) || !std::isfinite(t)) throw Error("--prior-precision: every value must be a positive number");
  if (!(o.validation_fraction >= 0 && o.validation_fraction < 1))
    throw Error("--validation must lie in [0, 1)");
  if (o.validation_fraction == 0 && grid.size() > 1)
    throw Error("--validation 0 needs a single --prior-precision (there is nothing to choose it on)");
  if (o.batch < 1) throw Error("--batch must be at least 1");
  if (!(o.ood_weight >= 0) || !std::isfinite(o.ood_weight)) throw Error("--ood-weight must be a number >= 0");

  std::string structure = o.structure;
  const std::int64_t full_bytes = mul_or_neg(mul_or_neg(P, P), 8);
  if (structure == "auto") structure = full_bytes >= 0 && full_bytes <= o.max_full_bytes ? "full" : "kronecker";
  if (structure != "full" && structure != "kronecker")
    throw Error("--structure '" + o.structure + "': expected full, kronecker or auto");
  const bool full = structure == "full";
  // ONNX files are protobufs, which cannot exceed 2 GiB.
  if (full && (full_bytes < 0 || full_bytes > (std::int64_t{15} << 27)))
    throw Error("the full covariance of the last layer's " + std::to_string(P) + " parameters needs " +
                format_bytes(full_bytes) + ", more than an ONNX file can hold (2 GiB): use --structure kronecker");
  // G and its eigenvectors, the covariance, and the factorisations.
  if (full) check_memory(mul_or_neg(full_bytes, 4), "the full Laplace covariance of " + std::to_string(P) + " parameters");
  else check_memory(mul_or_neg(mul_or_neg(H + 1, H + 1), 8 * 4), "the Kronecker factors of the Laplace covariance");

  // The split: a seeded permutation; its last part validates.
  std::int64_t N = data.train_x.size(0);
  if (o.max_points >= 0) N = std::min(N, o.max_points);
  std::vector<std::int64_t> perm(static_cast<std::size_t>(data.train_x.size(0)));
  std::iota(perm.begin(), perm.end(), 0);
  {
    // std::shuffle with a fixed engine: the same split on every platform and device.
    std::uint64_t state = o.seed * 6364136223846793005ULL + 1442695040888963407ULL;
    for (std::size_t i = perm.size(); i > 1; --i) {
      state = state * 6364136223846793005ULL + 1442695040888963407ULL;
      const std::size_t j = static_cast<std::size_t>((state >> 33) % i);
      std::swap(perm[i - 1], perm[j]);
    }
  }
  perm.resize(static_cast<std::size_t>(N));
  const std::int64_t n_val = static_cast<std::int64_t>(std::floor(o.validation_fraction * static_cast<double>(N)));
  const std::int64_t n_fit = N - n_val;
  if (n_fit < 1) throw Error("no training points left to fit the posterior on");
  if (o.validation_fraction > 0 && n_val < 1) throw Error("the validation split is empty: use more points");
  r.fit_points = n_fit;
  r.validation_points = n_val;
  // The validation and noise features are kept in memory (double precision).
  check_memory(mul_or_neg(mul_or_neg(2 * n_val, H), 8),
               "the features of " + std::to_string(n_val) + " validation and as many noise points");

  const torch::Device device = resolve_device(o.device);
  NetworkModule module(features, torch::kFloat64);
  module.to(device);
  module.eval();
  torch::NoGradGuard no_grad;
  const torch::Tensor W = from_matrix(last.weight, device);
  const torch::Tensor b = from_matrix(Matrix(last.bias), device).reshape({K});
  const auto opts = torch::TensorOptions().dtype(torch::kFloat64).device(device);
  torch::Tensor G, A, B;
  if (full) G = torch::zeros({P, P}, opts);
  else {
    A = torch::zeros({K, K}, opts);
    B = torch::zeros({H + 1, H + 1}, opts);
  }
  const torch::Tensor all_index = torch::from_blob(perm.data(), {N}, torch::kInt64).clone();
  auto stopped = [&] { return o.should_stop && o.should_stop(); };
  auto progress = [&](std::int64_t done, std::int64_t total, const char* label) {
    if (o.on_progress) o.on_progress(static_cast<std::size_t>(done), static_cast<std::size_t>(total), label);
  };
  // Features with a column of ones, for a batch of rows of `index`.
  auto features_of = [&](const torch::Tensor& idx) {
    const torch::Tensor x = data.train_x.index_select(0, idx).to(device, torch::kFloat64);
    const torch::Tensor phi = module.forward(x);
    return torch::cat({phi, torch::ones({phi.size(0), 1}, opts)}, 1);
  };

  for (std::int64_t i = 0; i < n_fit; i += o.batch) {
    if (stopped()) {
      r.stop_reason = kStopRequested;
      return r;
    }
    const std::int64_t m = std::min<std::int64_t>(o.batch, n_fit - i);
    const torch::Tensor phit = features_of(all_index.narrow(0, i, m));
    const torch::Tensor p = torch::softmax(torch::matmul(phit.narrow(1, 0, H), W.t()) + b, 1);  // m x K
    if (full) {
      // sum_n diag(p_n) (x) phi~ phi~'  -  (p_n (x) phi~_n)(p_n (x) phi~_n)'
      const torch::Tensor J = (p.unsqueeze(2) * phit.unsqueeze(1)).reshape({m, P});
      const torch::Tensor blocks = torch::einsum("bki,bj->kij", {J.reshape({m, K, H + 1}), phit});
      for (int k = 0; k < K; ++k)
        G.narrow(0, k * (H + 1), H + 1).narrow(1, k * (H + 1), H + 1).add_(blocks[k]);
      G.sub_(torch::matmul(J.t(), J));
    } else {
      A.add_(torch::diag(p.sum(0)) - torch::matmul(p.t(), p));
      B.add_(torch::matmul(phit.t(), phit));
    }
    progress(i + m, N, "features");
  }

  // Validation features and labels.
  Matrix phi_val(n_val, H);
  std::vector<std::int64_t> y_val(static_cast<std::size_t>(n_val));
  std::int64_t map_errors = 0;
  double map_nll = 0;
  for (std::int64_t i = 0; i < n_val; i += o.batch) {
    if (stopped()) {
      r.stop_reason = kStopRequested;
      return r;
    }
    const std::int64_t m = std::min<std::int64_t>(o.batch, n_val - i);
    const torch::Tensor idx = all_index.narrow(0, n_fit + i, m);
    const torch::Tensor phit = features_of(idx);
    phi_val.middleRows(i, m) = to_matrix(phit.narrow(1, 0, H));
    const torch::Tensor y = data.train_y.index_select(0, idx).to(torch::kInt64).contiguous();
    for (std::int64_t j = 0; j < m; ++j) y_val[static_cast<std::size_t>(i + j)] = y[j].item<std::int64_t>();
    const torch::Tensor logits = torch::matmul(phit.narrow(1, 0, H), W.t()) + b;
    const torch::Tensor logp = torch::log_softmax(logits, 1).cpu();
    const torch::Tensor pred = logits.argmax(1).cpu();
    for (std::int64_t j = 0; j < m; ++j) {
      map_nll -= logp[j][y[j].item<std::int64_t>()].item<double>();
      map_errors += pred[j].item<std::int64_t>() != y[j].item<std::int64_t>();
    }
    progress(n_fit + i + m, N, "features");
  }
  r.map_nll = n_val ? map_nll / static_cast<double>(n_val) : 0.0;
  // Uniform noise in the data's box, as many points as the validation
  // split (seeded), for the noise term of the criterion.
  const std::int64_t n_noise = o.ood_weight > 0 ? n_val : 0;
  Matrix phi_noise(n_noise, H);
  if (n_noise > 0) {
    auto gen = at::detail::createCPUGenerator(o.seed ^ 0x9E3779B97F4A7C15ULL);
    std::vector<std::int64_t> shape(data.train_x.sizes().begin(), data.train_x.sizes().end());
    double map_noise = 0;
    for (std::int64_t i = 0; i < n_noise; i += o.batch) {
      if (stopped()) {
        r.stop_reason = kStopRequested;
        return r;
      }
      shape[0] = std::min<std::int64_t>(o.batch, n_noise - i);
      const torch::Tensor u =
          torch::rand(shape, gen, torch::TensorOptions().dtype(torch::kFloat64)) * (data.hi - data.lo) + data.lo;
      const torch::Tensor phi = module.forward(u.to(device));
      phi_noise.middleRows(i, shape[0]) = to_matrix(phi);
      const torch::Tensor logp = torch::log_softmax(torch::matmul(phi, W.t()) + b, 1);
      map_noise -= logp.mean(1).sum().item<double>();
    }
    r.map_noise = map_noise / static_cast<double>(n_noise);
  }
  r.validation_error = n_val ? static_cast<double>(map_errors) / static_cast<double>(n_val) : 0.0;

  LaplaceHead head;
  head.structure = full ? LaplaceHead::Structure::Full : LaplaceHead::Structure::Kronecker;
  head.layer = last.name;
  head.weight = last.weight;
  head.bias = last.bias;
  Eigen::SelfAdjointEigenSolver<Matrix> eig_g, eig_a, eig_b;
  const double root_n = std::sqrt(static_cast<double>(n_fit));
  if (full) {
    Matrix g = to_matrix(G);
    G = torch::Tensor();
    g = ((g + g.transpose()) / 2).eval();
    eig_g.compute(g);
  } else {
    Matrix a = to_matrix(A) / root_n, bb = to_matrix(B) / root_n;
    eig_a.compute((a + a.transpose()) / 2);
    eig_b.compute((bb + bb.transpose()) / 2);
  }
  auto set_prior = [&](double tau) {
    head.prior_precision = tau;
    if (full) {
      head.covariance = shifted_inverse(eig_g, tau);
      head.covariance = ((head.covariance + head.covariance.transpose()) / 2).eval();
    } else {
      head.class_covariance = shifted_inverse(eig_a, std::sqrt(tau));
      head.feature_covariance = shifted_inverse(eig_b, std::sqrt(tau));
      head.class_covariance = ((head.class_covariance + head.class_covariance.transpose()) / 2).eval();
      head.feature_covariance = ((head.feature_covariance + head.feature_covariance.transpose()) / 2).eval();
    }
  };
  double best_tau = grid.front(), best = std::numeric_limits<double>::infinity();
  for (std::size_t gi = 0; gi < grid.size(); ++gi) {
    if (stopped()) {
      r.stop_reason = kStopRequested;
      return r;
    }
    if (grid.size() > 1) {
      set_prior(grid[gi]);
      LaplaceFitResult::GridPoint p{grid[gi], mean_loss(head, phi_val, &y_val), 0.0, 0.0};
      if (n_noise > 0) p.noise = mean_loss(head, phi_noise, nullptr);
      p.objective = p.nll + o.ood_weight * p.noise;
      if (!std::isfinite(p.objective))
        throw Error("the criterion is not a number at prior precision " + std::to_string(grid[gi]) +
                    " (the features or the network's weights overflow)");
      r.grid.push_back(p);
      if (p.objective < best) {
        best = p.objective;
        best_tau = grid[gi];
      }
    }
    progress(static_cast<std::int64_t>(gi + 1), static_cast<std::int64_t>(grid.size()), "prior precision");
  }
  set_prior(best_tau);
  r.chosen = {best_tau, n_val ? mean_loss(head, phi_val, &y_val) : 0.0, n_noise ? mean_loss(head, phi_noise, nullptr) : 0.0, 0.0};
  r.chosen.objective = r.chosen.nll + o.ood_weight * r.chosen.noise;
  head.check(net.source + ": fitted Laplace posterior");
  r.head = std::move(head);
  r.complete = true;
  return r;
}

LaplaceModule::LaplaceModule(const LaplaceModel& m, torch::Dtype dtype) : net_(m.net) {
  features_ = register_module("features", std::make_shared<NetworkModule>(m.features, dtype));
  const LaplaceHead& h = m.head;
  const auto cpu = torch::Device(torch::kCPU);
  weight_ = register_buffer("weight", from_matrix(h.weight, cpu).to(dtype));
  bias_ = register_buffer("bias", from_matrix(Matrix(h.bias), cpu).reshape({h.classes()}).to(dtype));
  kronecker_ = h.structure == LaplaceHead::Structure::Kronecker;
  const std::int64_t n = h.features() + 1;
  if (kronecker_) {
    class_var_ = register_buffer("class_var", from_matrix(Matrix(h.class_covariance.diagonal()), cpu).reshape({h.classes()}).to(dtype));
    feature_cov_ = register_buffer("feature_cov", from_matrix(h.feature_covariance, cpu).to(dtype));
  } else {
    torch::Tensor b = torch::empty({h.classes(), n, n}, torch::kFloat64);
    for (int k = 0; k < h.classes(); ++k) b[k] = from_matrix(h.covariance.block(k * n, k * n, n, n), cpu);
    blocks_ = register_buffer("blocks", b.to(dtype));
  }
}

torch::Tensor LaplaceModule::forward(torch::Tensor x) {
  const torch::Tensor phi = features_->forward(x);
  const torch::Tensor t = torch::cat({phi, torch::ones({phi.size(0), 1}, phi.options())}, 1);
  const torch::Tensor mean = torch::matmul(phi, weight_.t()) + bias_;
  torch::Tensor var;
  if (kronecker_) {
    var = (torch::matmul(t, feature_cov_) * t).sum(1, true) * class_var_.unsqueeze(0);
  } else {
    var = torch::einsum("ni,kij,nj->nk", {t, blocks_, t});
  }
  return mean / torch::sqrt(1.0 + (3.14159265358979323846 / 8.0) * var.clamp_min(0.0));
}

}  // namespace tessera::training
