#include "regions/certificate.hpp"

#include <algorithm>
#include <cmath>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "regions/segment_confidence.hpp"

namespace tessera {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}

std::string CertifyOptions::validate() const {
  if (!(threshold > 0 && threshold < 1)) return "the threshold must lie strictly between 0 and 1";
  if (!(alpha0 > 0) || !std::isfinite(alpha0)) return "alpha0 must be a positive finite number";
  if (has_box && !(box_lo < box_hi)) return "the box needs lo < hi";
  if (traversal.max_segments == 0) return "the segment limit must be positive";
  return "";
}

Network bias_free(const Network& net) {
  Network g = net;
  for (Node& n : g.nodes) {
    if (n.bias.size()) n.bias.setZero();
    if (n.shift.size()) n.shift.setZero();
  }
  return g;
}

Certificate certify(const Network& net, const Vector& x, const CertifyOptions& o) {
  if (const std::string why = o.validate(); !why.empty()) throw Error("certify: " + why);
  check_input(x, net.input_size(), "input");
  if (x.isZero(0.0)) throw Error("input: is the zero vector, so the ray alpha*x does not move");
  Certificate cert;
  {
    const Vector z = logits(net, x);
    Eigen::Index k;
    z.maxCoeff(&k);
    cert.predicted_class = static_cast<int>(k);
    cert.confidence_at_input = softmax(z)[k];
  }
  const LineTraversal tr = traverse_ray(net, x, o.alpha0, o.traversal);
  cert.segments = tr.segments.size();
  cert.complete = tr.complete;
  cert.stop_reason = tr.stop_reason;

  // Threshold: union of the confident intervals of every segment.
  std::vector<std::pair<double, double>> confident;
  for (const LineSegment& s : tr.segments)
    for (const auto& iv : confident_intervals(s.logit_c, s.logit_w, s.t_begin, s.t_end, o.threshold))
      if (confident.empty() || iv.first > confident.back().second)
        confident.push_back(iv);
      else
        confident.back().second = std::max(confident.back().second, iv.second);
  if (!confident.empty() && std::isfinite(confident.front().first)) cert.first_alpha = confident.front().first;

  if (tr.complete) {
    const LineSegment& last = tr.segments.back();
    cert.last_region_alpha = last.t_begin;
    cert.last_region_hash = last.pattern_hash;
    cert.limit_logits = last.logit_w;
    cert.last_region_offset = last.logit_c;
    const LimitBehaviour lim = limit_of(last.logit_c, last.logit_w);
    cert.limit_class = lim.cls;
    cert.limit_ties = lim.ties;
    cert.limit_confidence = lim.confidence;
    if (!confident.empty() && std::isinf(confident.back().second) && std::isfinite(confident.back().first))
      cert.alpha_star = confident.back().first;
    const Vector g = logits(bias_free(net), x);
    cert.bias_free_residual = (g - last.logit_w).cwiseAbs().maxCoeff() / std::max(1.0, g.cwiseAbs().maxCoeff());
  }

  if (o.has_box) {
    // alpha x in [lo, hi]^d  <=>  lo <= alpha x_i <= hi for every i.
    double enter = o.alpha0, leave = kInf;
    for (Eigen::Index i = 0; i < x.size(); ++i) {
      const double xi = x[i];
      if (xi > 0) {
        enter = std::max(enter, o.box_lo / xi);
        leave = std::min(leave, o.box_hi / xi);
      } else if (xi < 0) {
        enter = std::max(enter, o.box_hi / xi);
        leave = std::min(leave, o.box_lo / xi);
      } else if (!(o.box_lo <= 0 && 0 <= o.box_hi)) {
        leave = -kInf;
      }
    }
    if (enter <= leave) {
      cert.box_entry_alpha = enter;
      cert.box_exit_alpha = leave;
      double best = 0;
      for (const LineSegment& s : tr.segments) {
        const double a = std::max(s.t_begin, enter), b = std::min(s.t_end, leave);
        if (a > b) continue;
        best = std::max(best, confidence_range(s.logit_c, s.logit_w, a, b).max);
      }
      cert.max_confidence_in_box = best;
      for (const auto& iv : confident)
        if (iv.second >= enter && iv.first <= leave) {
          cert.first_alpha_in_box = std::max(iv.first, enter);
          break;
        }
    }
  }
  return cert;
}

}  // namespace tessera
