// Fitting a last-layer Laplace posterior (core/laplace.hpp) to a trained
// network, with LibTorch (CPU or CUDA, double precision throughout).
//
// The features phi of every training point come from the network itself
// (NetworkModule of the network without its last layer), so the posterior
// belongs to exactly the function Tessera analyses. The Hessian of the
// summed cross-entropy with respect to the last layer's parameters is
//   G = sum_n Lambda_n (x) phi~_n phi~_n',  Lambda_n = diag(p_n) - p_n p_n',
// exact for the last layer (the logits are linear in its parameters, so the
// generalised Gauss-Newton matrix is the Hessian). The posterior is
// N(theta_MAP, (G + tau I)^-1), with a Gaussian prior of precision tau.
//
//   full:      the covariance (G + tau I)^-1 itself, P x P with P = K (H + 1);
//   kronecker: G ~= (A / sqrt N) (x) (B / sqrt N) with A = sum Lambda_n and
//              B = sum phi~ phi~' (K-FAC), and the covariance
//              (A / sqrt N + sqrt tau I)^-1 (x) (B / sqrt N + sqrt tau I)^-1
//              (Ritter, Botev & Barber 2018), for layers too large for full.
//
// tau is chosen on a validation split held out of the training data (a
// seeded random tenth by default, not used for G), by the criterion of
// Kristiadi et al. (2020): the one of a grid that minimises
//   NLL(validation) + lambda * mean over uniform noise of CE(uniform, p),
// the negative log-likelihood of the probit predictive on the validation
// points plus lambda times its cross-entropy to the uniform distribution on
// as many uniform-noise points in the data's box (lambda = 0.25 by default;
// 0: the validation NLL alone, which on a well-fitted network prefers the
// largest tau, i.e. the network itself).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/laplace.hpp"
#include "training/callbacks.hpp"
#include "training/dataset.hpp"
#include "training/network_module.hpp"

namespace tessera::training {

struct LaplaceFitOptions {
  // full | kronecker | auto (full when its covariance needs at most
  // max_full_bytes).
  std::string structure = "auto";
  std::int64_t max_full_bytes = std::int64_t{256} << 20;
  // Of the training split, in [0, 1); 0 only with a single prior precision
  // (nothing to choose: every point goes into G).
  double validation_fraction = 0.1;
  std::int64_t max_points = -1;      // use at most this many training points (< 0: all)
  // The grid of prior precisions; empty: 10^-6 ... 10^4 in steps of 10^0.5.
  std::vector<double> prior_precisions;
  double ood_weight = 0.25;  // lambda above, >= 0
  std::uint64_t seed = 1;  // the validation split and the noise
  int batch = 500;
  std::string device = "auto";
  ProgressFn on_progress;  // "features" counting points, "prior precision" counting grid points
  StopFn should_stop;      // polled between batches and grid points
};

struct LaplaceFitResult {
  LaplaceHead head;          // with the chosen prior precision (mean = the network's last layer)
  bool complete = false;     // false: stopped; head is then empty
  std::string stop_reason;
  std::int64_t fit_points = 0, validation_points = 0;
  // For each prior precision of the grid: the validation NLL and the
  // noise term (mean cross-entropy to uniform); the objective is
  // nll + ood_weight * noise.
  struct GridPoint {
    double prior_precision, nll, noise, objective;
  };
  std::vector<GridPoint> grid;
  double map_nll = 0;          // the MAP network's own softmax (tau -> infinity)
  double map_noise = 0;
  double validation_error = 0; // of the MAP network
  GridPoint chosen{};
};

// The default grid.
std::vector<double> default_prior_precisions();

// Throws tessera::Error when the network's last layer is not dense, the
// data do not fit it, or the covariance would not fit the memory budget.
LaplaceFitResult fit_laplace(const Network& net, const Dataset& data, const LaplaceFitOptions& options);

// A Laplace model as a LibTorch module whose outputs are the probit scores
// z_k = E[f_k] / sqrt(1 + pi/8 Var[f_k]): softmax of them is the predictive
// distribution, so every batched evaluation and gradient attack written for
// logits (confidences, PGD on the log of the largest probability) runs on
// the Laplace predictive unchanged.
class LaplaceModule : public Model {
 public:
  LaplaceModule(const LaplaceModel& model, torch::Dtype dtype = torch::kFloat32);
  torch::Tensor forward(torch::Tensor x) override;
  Network to_network() const override { return net_; }

 private:
  Network net_;
  std::shared_ptr<NetworkModule> features_;
  bool kronecker_ = false;
  torch::Tensor weight_, bias_, blocks_, class_var_, feature_cov_;
};

}  // namespace tessera::training
