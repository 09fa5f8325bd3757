// A last-layer Laplace approximation (Kristiadi, Hein & Hennig, ICML 2020):
// a Gaussian posterior over the weights and biases of a network's last
// dense layer, and the probit-approximated predictive distribution it
// gives. The features phi(x) (the input of the last layer) stay the MAP
// network's; only the last layer is random:
//
//   logits f = W phi + b,  theta = [w_0; b_0; w_1; b_1; ...] ~ N(theta_MAP, Sigma),
//   E[f_k] = w_k . phi + b_k,   Var[f_k] = phi~' Sigma_kk phi~  (phi~ = [phi; 1]),
//   p(k | x) ~= softmax_k( E[f_k] / sqrt(1 + pi/8 Var[f_k]) )   (MacKay's probit).
//
// Sigma is stored in full (P x P, P = K (H + 1), class-major) or as a
// Kronecker product Sigma = U (x) V (U: K x K over classes, V: (H+1) x (H+1)
// over features, so Sigma_kl = U_kl V). Along a ray alpha x inside the last
// linear region phi(alpha x) = alpha phi_inf + phi_0, so the mean logits grow
// like alpha and the standard deviations like alpha too: the predictive
// confidence tends to softmax_k(a_k / sqrt(pi/8 s_k)) with a_k = w_k . phi_inf
// and s_k = [phi_inf; 0]' Sigma_kk [phi_inf; 0], a constant below 1
// (regions/laplace_limit.hpp computes it for a given input).
#pragma once

#include <string>

#include "core/network.hpp"

namespace tessera {

struct LaplaceHead {
  enum class Structure { Full, Kronecker };
  Structure structure = Structure::Full;
  Matrix weight;  // K x H: the posterior mean, i.e. the network's own last layer
  Vector bias;    // K
  // Full: the covariance of theta (P x P, P = K (H + 1)); parameter
  // k (H + 1) + j is w_kj for j < H and b_k for j = H.
  Matrix covariance;
  // Kronecker: Sigma = class_covariance (x) feature_covariance.
  Matrix class_covariance;    // K x K
  Matrix feature_covariance;  // (H + 1) x (H + 1)
  double prior_precision = 0;  // the prior N(0, 1/prior_precision I) the posterior was fitted with
  std::string layer;           // name of the last dense node it belongs to
  std::string fitted_on;       // free text: what data it was fitted on

  int classes() const { return static_cast<int>(weight.rows()); }
  int features() const { return static_cast<int>(weight.cols()); }
  const char* structure_name() const { return structure == Structure::Full ? "full" : "kronecker"; }

  // y' Sigma_kl z for y, z of size H + 1 (feature parts, then the bias part).
  double form(int k, int l, const Vector& y, const Vector& z) const;
  // The mean logits W phi + b, and their variances Var[f_k] at features phi.
  Vector mean_logits(const Vector& phi) const;
  Vector logit_variances(const Vector& phi) const;
  // The full K x K covariance of the logits at phi.
  Matrix logit_covariance(const Vector& phi) const;

  // Throws tessera::Error (prefixed by `where`) unless every matrix has the
  // right size, is finite, symmetric, and positive definite, and the prior
  // precision is positive.
  void check(const std::string& where) const;
};

// The probit scores z_k = mean_k / sqrt(1 + pi/8 var_k); the predictive
// distribution is softmax(z).
Vector probit_scores(const Vector& mean, const Vector& variance);

// The predictive distribution of scores z: softmax(z), its arg max (the
// first of equal ones), the largest probability, and 1 minus it computed
// without cancellation (it stays positive where the confidence rounds to 1).
struct Predictive {
  Vector probabilities;
  int cls = -1;
  double confidence = 0;
  double one_minus_confidence = 1;
};
Predictive predictive_of_scores(const Vector& z);
// The predictive distribution at features phi.
Predictive laplace_predictive(const LaplaceHead& head, const Vector& phi);

// A network whose last layer carries a Laplace posterior: `features` is the
// network without its last dense node (its output is phi), `net` the whole
// MAP network.
struct LaplaceModel {
  Network net;
  Network features;
  LaplaceHead head;
};

// The network without its output node, which must be a Dense node: the
// features phi its last layer reads. Throws tessera::Error naming the
// output node otherwise.
Network last_layer_features(const Network& net);

// Builds the model: the head's mean (weight, bias) is taken from net's last
// dense node, whose sizes the head's must match; then head.check(). The
// model's net carries the head (net.laplace). Throws tessera::Error prefixed
// with net.source.
LaplaceModel make_laplace_model(const Network& net, LaplaceHead head);
// The checks of make_laplace_model alone: head with its mean filled in.
LaplaceHead checked_laplace_head(const Network& net, LaplaceHead head);
// The model of a network loaded with a posterior (net.laplace); throws
// tessera::Error "SOURCE: has no Laplace posterior (fit one with: tessera
// laplace SOURCE --data ...)" when it has none.
LaplaceModel laplace_model(const Network& net);

}  // namespace tessera
