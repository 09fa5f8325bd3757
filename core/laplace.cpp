#include "core/laplace.hpp"

#include <cmath>
#include <limits>

#include "core/error.hpp"

namespace tessera {
namespace {

constexpr double kPiOver8 = 3.14159265358979323846 / 8.0;

Vector with_one(const Vector& phi) {
  Vector t(phi.size() + 1);
  t.head(phi.size()) = phi;
  t[phi.size()] = 1.0;
  return t;
}

void check_matrix(const Matrix& m, Eigen::Index n, const std::string& what, const std::string& where) {
  if (m.rows() != n || m.cols() != n)
    throw Error(where + ": " + what + " is " + std::to_string(m.rows()) + " x " + std::to_string(m.cols()) +
                ", expected " + std::to_string(n) + " x " + std::to_string(n));
  if (!m.allFinite()) throw Error(where + ": " + what + " has a value that is not finite");
  const double scale = std::max(1e-300, m.cwiseAbs().maxCoeff());
  if ((m - m.transpose()).cwiseAbs().maxCoeff() > 1e-10 * scale) throw Error(where + ": " + what + " is not symmetric");
  Eigen::LLT<Matrix> llt(m);
  if (llt.info() != Eigen::Success) throw Error(where + ": " + what + " is not positive definite");
}

}  // namespace

double LaplaceHead::form(int k, int l, const Vector& y, const Vector& z) const {
  const Eigen::Index n = features() + 1;
  if (structure == Structure::Full) return y.dot(covariance.block(k * n, l * n, n, n) * z);
  return class_covariance(k, l) * y.dot(feature_covariance * z);
}

Vector LaplaceHead::mean_logits(const Vector& phi) const { return weight * phi + bias; }

Vector LaplaceHead::logit_variances(const Vector& phi) const {
  const Vector t = with_one(phi);
  Vector v(classes());
  if (structure == Structure::Kronecker) {
    const double q = t.dot(feature_covariance * t);
    for (int k = 0; k < classes(); ++k) v[k] = class_covariance(k, k) * q;
  } else {
    for (int k = 0; k < classes(); ++k) v[k] = form(k, k, t, t);
  }
  return v;
}

Matrix LaplaceHead::logit_covariance(const Vector& phi) const {
  const Vector t = with_one(phi);
  if (structure == Structure::Kronecker) return class_covariance * t.dot(feature_covariance * t);
  Matrix c(classes(), classes());
  for (int k = 0; k < classes(); ++k)
    for (int l = 0; l < classes(); ++l) c(k, l) = form(k, l, t, t);
  return c;
}

void LaplaceHead::check(const std::string& where) const {
  const int k = classes(), h = features();
  if (k < 1 || h < 1) throw Error(where + ": the last layer has no weights");
  if (bias.size() != k) throw Error(where + ": the last layer has " + std::to_string(bias.size()) + " biases for " +
                                    std::to_string(k) + " classes");
  if (!(prior_precision > 0) || !std::isfinite(prior_precision))
    throw Error(where + ": the prior precision must be a positive number");
  if (structure == Structure::Full) {
    check_matrix(covariance, static_cast<Eigen::Index>(k) * (h + 1), "the posterior covariance", where);
  } else {
    check_matrix(class_covariance, k, "the class covariance", where);
    check_matrix(feature_covariance, h + 1, "the feature covariance", where);
  }
}

Vector probit_scores(const Vector& mean, const Vector& variance) {
  return (mean.array() / (1.0 + kPiOver8 * variance.array()).sqrt()).matrix();
}

Predictive predictive_of_scores(const Vector& z) {
  Predictive p;
  Eigen::Index m = 0;
  const double top = z.maxCoeff(&m);
  p.cls = static_cast<int>(m);
  const Vector e = (z.array() - top).exp().matrix();
  const double total = e.sum();
  p.probabilities = e / total;
  p.confidence = p.probabilities[m];
  // 1 - p_m = sum of the others / total, without forming 1 - p_m.
  double others = 0;
  for (Eigen::Index j = 0; j < e.size(); ++j)
    if (j != m) others += e[j];
  p.one_minus_confidence = others / total;
  return p;
}

Predictive laplace_predictive(const LaplaceHead& head, const Vector& phi) {
  return predictive_of_scores(probit_scores(head.mean_logits(phi), head.logit_variances(phi)));
}

Network last_layer_features(const Network& net) {
  const Node& out = net.nodes.back();
  if (out.kind != OpKind::Dense)
    throw Error(net.source + ": the last layer '" + out.name + "' is " + op_name(out.kind) +
                ", but a Laplace posterior needs a dense last layer (Gemm/MatMul)");
  if (out.inputs.size() != 1 || out.inputs[0] < 1)
    throw Error(net.source + ": the last layer '" + out.name + "' reads the input directly: it has no features");
  const int phi = out.inputs[0];
  Network f;
  f.source = net.source;
  f.declared_input_dims = net.declared_input_dims;
  f.nodes.assign(net.nodes.begin(), net.nodes.begin() + phi + 1);
  f.finalize();
  return f;
}

LaplaceHead checked_laplace_head(const Network& net, LaplaceHead head) {
  const Node& out = net.nodes.back();
  if (out.kind != OpKind::Dense || out.inputs.empty() || out.inputs[0] < 1) last_layer_features(net);  // throws
  if (head.layer.empty()) head.layer = out.name;  // informational: exporters may rename nodes
  head.weight = out.weight;
  head.bias = out.bias;
  head.check(net.source + ": Laplace posterior");
  return head;
}

LaplaceModel make_laplace_model(const Network& net, LaplaceHead head) {
  LaplaceModel m;
  m.features = last_layer_features(net);
  m.head = checked_laplace_head(net, std::move(head));
  m.net = net;
  m.net.laplace = std::make_shared<const LaplaceHead>(m.head);
  return m;
}

LaplaceModel laplace_model(const Network& net) {
  if (!net.laplace)
    throw Error(net.source + ": has no Laplace posterior (fit one with: tessera laplace " + net.source + " --data ...)");
  // Checked when it was attached (the importer, make_laplace_model).
  LaplaceModel m;
  m.features = last_layer_features(net);
  m.head = *net.laplace;
  m.net = net;
  return m;
}

}  // namespace tessera
