#include "export/json.hpp"

#include <cmath>

#include "core/activation_pattern.hpp"
#include "core/laplace.hpp"

namespace tessera {

nlohmann::json to_json(const Vector& v) {
  nlohmann::json j = nlohmann::json::array();
  for (Eigen::Index i = 0; i < v.size(); ++i) j.push_back(v[i]);
  return j;
}

nlohmann::json to_json(const Matrix& m) {
  nlohmann::json j = nlohmann::json::array();
  for (Eigen::Index r = 0; r < m.rows(); ++r) j.push_back(to_json(Vector(m.row(r).transpose())));
  return j;
}

nlohmann::json number_or_null(double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr); }
nlohmann::json number_or_null(const std::optional<double>& v) {
  return v ? number_or_null(*v) : nlohmann::json(nullptr);
}
namespace {
nlohmann::json number_or_null(const Finding<double>& v) { return tessera::number_or_null(v.value); }
}  // namespace

nlohmann::json pattern_json(const ActivationPattern& pattern, const Network& net) {
  auto piece_counts = [&](const LayerPattern& l) -> nlohmann::json {
    if (l.kind != OpKind::Piecewise) return nullptr;
    return units_per_piece(net, l);
  };
  nlohmann::json layers = nlohmann::json::array();
  for (const LayerPattern& l : pattern.layers)
    layers.push_back({{"node", l.node},
                      {"name", net.nodes[l.node].name},
                      {"op", op_name(l.kind)},
                      {"units", l.size},
                      {"active", l.kind == OpKind::MaxPool2d ? nlohmann::json(nullptr) : nlohmann::json(l.active_count())},
                      {"pieces", piece_counts(l)},
                      {"hash", layer_hash_hex(l)}});
  return layers;
}

void to_json(nlohmann::json& j, const AffineMap& m) { j = {{"V", to_json(m.V)}, {"a", to_json(m.a)}}; }

nlohmann::json node_map_json(const NodeAffineMap& m, const Network& net) {
  return {{"node", m.node},
          {"name", net.nodes[m.node].name},
          {"op", op_name(net.nodes[m.node].kind)},
          {"V", to_json(m.map.V)},
          {"a", to_json(m.map.a)}};
}

std::vector<std::string> unknown_fields(const Certificate& c, const CertifyOptions& o) {
  std::vector<std::string> u;
  if (!c.last_region_found)
    for (const char* f : {"last_region_alpha", "last_region_hash", "limit_class", "limit_confidence", "limit_ties", "limit_logits"})
      u.push_back(f);
  if (!c.alpha_star.known) u.push_back("alpha_star");
  if (!c.first_alpha.known) u.push_back("first_alpha");
  if (o.has_box && c.box_exit_alpha) {
    if (!c.max_confidence_in_box.known) u.push_back("max_confidence_in_box");
    if (!c.first_alpha_in_box.known) u.push_back("first_alpha_in_box");
  }
  if (!c.segments) u.push_back("segments");
  if (c.laplace && !c.laplace->complete) u.push_back("laplace");
  return u;
}

nlohmann::json affine_json(const AffineReport& r, const Network& net) {
  nlohmann::json j;
  j["logits"] = to_json(r.pass.logits());
  j["softmax"] = to_json(r.softmax);
  j["predicted_class"] = r.predicted_class;
  j["confidence"] = r.confidence;
  j["pattern_hash"] = r.pass.pattern.hash_hex();
  j["layers"] = pattern_json(r.pass.pattern, net);
  j["V"] = to_json(r.map.V);
  j["a"] = to_json(r.map.a);
  j["max_relative_residual"] = r.max_relative_residual;
  if (net.laplace) {
    // The Laplace predictive at x, from the features (the last layer's input).
    const LaplaceHead& h = *net.laplace;
    const Vector& phi = r.pass.values.at(static_cast<std::size_t>(net.nodes.back().inputs.at(0)));
    const Vector mean = h.mean_logits(phi), var = h.logit_variances(phi);
    const Predictive p = predictive_of_scores(probit_scores(mean, var));
    j["laplace"] = {{"predicted_class", p.cls},
                    {"confidence", p.confidence},
                    {"probabilities", to_json(p.probabilities)},
                    {"mean_logits", to_json(mean)},
                    {"logit_variances", to_json(var)},
                    {"prior_precision", h.prior_precision},
                    {"structure", h.structure_name()}};
  }
  if (!r.hidden_maps.empty()) {
    j["hidden_maps"] = nlohmann::json::array();
    for (const NodeAffineMap& m : r.hidden_maps) j["hidden_maps"].push_back(node_map_json(m, net));
  }
  return j;
}

nlohmann::json certify_set_json(const CertifySetResult& r, const CertifyOptions& options,
                                const std::string& why_stopped,
                                const std::function<std::string(const std::string&)>& describe) {
  nlohmann::json certificates = nlohmann::json::array();
  for (Certificate c : r.certificates) {
    if (describe) c.stop_reason = describe(c.stop_reason);
    certificates.push_back(certificate_json(c, options));
  }
  return certify_set_json(r.summary, r.requested, r.complete, options, why_stopped, std::move(certificates));
}

nlohmann::json certify_set_json(const CertifySetSummary& summary, std::size_t requested, bool complete,
                                const CertifyOptions& options, const std::string& why_stopped,
                                nlohmann::json certificates) {
  nlohmann::json j;
  j["set_complete"] = complete;
  j["requested"] = static_cast<long>(requested);
  if (!complete)
    j["stop_reason"] = std::to_string(certificates.size()) + " of " + std::to_string(requested) + " inputs finished (" +
                       why_stopped + ")";
  j["method"] = options.full ? "full" : "from-infinity";
  j["summary"] = summary;
  j["certificates"] = std::move(certificates);
  return j;
}

nlohmann::json certificate_json(const Certificate& c, const CertifyOptions& o) {
  nlohmann::json j;
  if (c.input >= 0) j["input_index"] = c.input;
  j["complete"] = c.complete;
  if (!c.complete) j["stop_reason"] = c.stop_reason;
  j["method"] = c.full ? "full" : "from-infinity";
  j["unknown"] = unknown_fields(c, o);
  j["segments"] = c.segments ? nlohmann::json(*c.segments) : nlohmann::json(nullptr);
  j["regions_visited"] = {{"total", c.regions_visited},
                          {"from_infinity", c.regions_from_infinity},
                          {"box", c.regions_box},
                          {"middle", c.regions_middle},
                          {"bounds", c.bounds_computed}};
  j["predicted_class"] = c.predicted_class;
  j["confidence_at_input"] = c.confidence_at_input;
  const bool f = c.last_region_found;
  j["last_region_alpha"] = f ? number_or_null(std::optional<double>(c.last_region_alpha)) : nlohmann::json(nullptr);
  j["last_region_hash"] = f ? nlohmann::json(hash_to_hex(c.last_region_hash)) : nlohmann::json(nullptr);
  j["limit_class"] = f ? nlohmann::json(c.limit_class) : nlohmann::json(nullptr);
  j["limit_confidence"] = f ? nlohmann::json(c.limit_confidence) : nlohmann::json(nullptr);
  j["limit_ties"] = f ? nlohmann::json(c.limit_ties) : nlohmann::json(nullptr);
  j["limit_is_tie"] = f ? nlohmann::json(c.limit_ties > 1) : nlohmann::json(nullptr);
  j["limit_logits"] = f ? to_json(c.limit_logits) : nlohmann::json(nullptr);
  j["bias_free_residual"] = f ? nlohmann::json(c.bias_free_residual) : nlohmann::json(nullptr);
  j["alpha_star"] = number_or_null(c.alpha_star);
  j["alpha_star_times_max_abs_x"] = number_or_null(c.alpha_star_times_max_abs);
  j["first_alpha"] = number_or_null(c.first_alpha);
  j["box_entry_alpha"] = number_or_null(c.box_entry_alpha);
  j["box_exit_alpha"] = number_or_null(c.box_exit_alpha);
  j["max_confidence_in_box"] = number_or_null(c.max_confidence_in_box);
  j["first_alpha_in_box"] = number_or_null(c.first_alpha_in_box);
  if (c.laplace) j["laplace"] = laplace_json(*c.laplace);
  return j;
}

nlohmann::json laplace_json(const LaplaceCertificate& l) {
  nlohmann::json j;
  j["complete"] = l.complete;
  if (!l.complete) j["stop_reason"] = l.stop_reason;
  j["predicted_class"] = l.predicted_class;
  j["confidence_at_input"] = l.confidence_at_input;
  const bool f = l.limit_probabilities.size() > 0;
  j["last_region_alpha"] = number_or_null(std::optional<double>(l.last_region_alpha));
  j["last_region_hash"] = hash_to_hex(l.last_region_hash);
  j["limit_class"] = f ? nlohmann::json(l.limit_class) : nlohmann::json(nullptr);
  j["limit_confidence"] = f ? nlohmann::json(l.limit_confidence) : nlohmann::json(nullptr);
  j["one_minus_limit_confidence"] = f ? nlohmann::json(l.one_minus_limit_confidence) : nlohmann::json(nullptr);
  j["limit_probabilities"] = f ? to_json(l.limit_probabilities) : nlohmann::json(nullptr);
  j["limit_scores"] = f ? to_json(l.limit_scores) : nlohmann::json(nullptr);
  j["mean_logit_slope"] = l.mean_slope.size() ? to_json(l.mean_slope) : nlohmann::json(nullptr);
  j["logit_variance_growth"] = l.variance_growth.size() ? to_json(l.variance_growth) : nlohmann::json(nullptr);
  j["tolerance"] = l.tolerance;
  j["alpha_within"] = number_or_null(l.alpha_within);
  j["within_from_alpha0"] = l.within_from_start;
  j["regions_searched"] = l.regions_searched;
  return j;
}

void to_json(nlohmann::json& j, const CertifySetSummary& s) {
  auto num = [](double v) { return number_or_null(v); };
  j = {{"count", s.count},
       {"complete", s.complete},
       {"last_region_found", s.last_region_found},
       {"ties", s.ties},
       {"with_alpha_star", s.alpha_star.count()},
       {"median_alpha_star", num(s.alpha_star.median())},
       {"with_first_alpha", s.first_alpha.count()},
       {"median_first_alpha", num(s.first_alpha.median())},
       {"with_first_alpha_in_box", s.first_alpha_in_box.count()},
       {"median_first_alpha_in_box", num(s.first_alpha_in_box.median())},
       {"median_max_confidence_in_box", num(s.max_confidence_in_box.median())},
       {"fraction_limit_is_prediction", num(s.fraction_limit_is_prediction())},
       {"mean_limit_confidence", num(s.limit_confidence.mean())},
       {"with_segments", s.segments.count()},
       {"median_segments", num(s.segments.median())},
       {"mean_segments", num(s.segments.mean())},
       {"max_segments", s.segments.empty() ? 0 : static_cast<std::size_t>(s.segments.max())},
       {"segment_histogram_log2", s.segment_histogram},
       {"median_regions_visited", num(s.regions_visited.median())},
       {"mean_regions_visited", num(s.regions_visited.mean())},
       {"median_regions_from_infinity", num(s.regions_from_infinity.median())},
       {"median_regions_box", num(s.regions_box.median())},
       {"median_regions_middle", num(s.regions_middle.median())},
       {"max_bias_free_residual", s.max_bias_free_residual}};
  if (s.laplace)
    j["laplace"] = {{"count", s.laplace},
                    {"complete", s.laplace_complete},
                    {"with_limit", s.laplace_limit_confidence.count()},
                    {"limit_below_one", s.laplace_below_one},
                    {"mean_limit_confidence", num(s.laplace_limit_confidence.mean())},
                    {"median_limit_confidence", num(s.laplace_limit_confidence.median())},
                    {"max_limit_confidence", s.laplace_limit_confidence.count() ? nlohmann::json(s.laplace_max_limit_confidence) : nlohmann::json(nullptr)},
                    {"min_one_minus_limit_confidence", s.laplace_limit_confidence.count() ? nlohmann::json(s.laplace_min_one_minus_limit) : nlohmann::json(nullptr)},
                    {"mean_confidence_at_input", num(s.laplace_confidence_at_input.mean())},
                    {"median_alpha_within", num(s.laplace_alpha_within.median())}};
}

void to_json(nlohmann::json& j, const LineTraversal& t) {
  j = nlohmann::json::object();
  j["complete"] = t.complete;
  if (!t.complete) j["stop_reason"] = t.stop_reason;
  j["segments"] = nlohmann::json::array();
  for (const LineSegment& s : t.segments)
    j["segments"].push_back({{"t_begin", s.t_begin},
                             {"t_end", number_or_null(s.t_end)},
                             {"is_point", s.is_point},
                             {"pattern_hash", hash_to_hex(s.pattern_hash)},
                             {"class", s.predicted_class},
                             {"confidence_min", s.min_confidence},
                             {"confidence_max", s.max_confidence},
                             {"logits_intercept", to_json(s.logit_c)},
                             {"logits_slope", to_json(s.logit_w)}});
}

nlohmann::json region_json(const RegionReport& r, const Network& net) {
  nlohmann::json j;
  j["complete"] = r.complete;
  if (!r.complete) j["stop_reason"] = r.stop_reason;
  j["rows"] = r.A.rows();
  j["constant_rows"] = r.constant_rows;
  j["facets_computed"] = r.facets_computed;
  if (!r.facets_computed) j["facets_note"] = r.facets_note;
  j["facets"] = nlohmann::json::array();
  for (int f : r.facets) {
    const RowOrigin& g = r.origin[f];
    j["facets"].push_back({{"row", f},
                           {"node", g.box ? nlohmann::json(nullptr) : nlohmann::json(net.nodes[g.node].name)},
                           {"unit", g.unit},
                           {"against", g.other >= 0 ? nlohmann::json(g.other) : nlohmann::json(nullptr)},
                           {"knot", g.knot >= 0 ? nlohmann::json(net.nodes[g.node].knot(g.unit, g.knot))
                                                : nlohmann::json(nullptr)},
                           {"box", g.box},
                           {"normal", to_json(Vector(r.A.row(f).transpose()))},
                           {"offset", r.b[f]}});
  }
  // null: not computed (stopped before the LP finished), or +inf for the inradius.
  j["bounded"] = r.bounded_computed ? nlohmann::json(r.bounded) : nlohmann::json(nullptr);
  j["recession_direction"] =
      r.bounded || !r.bounded_computed ? nlohmann::json(nullptr) : to_json(r.recession_direction);
  j["chebyshev_center"] = r.chebyshev_center ? to_json(*r.chebyshev_center) : nlohmann::json(nullptr);
  j["inradius"] = r.inradius_computed ? number_or_null(r.inradius) : nlohmann::json(nullptr);
  if (!r.confidence_computed) j["confidence_note"] = r.confidence_note;
  if (r.confidence_computed) {
    j["largest_confidence"] = {r.largest_confidence_lower, r.largest_confidence_upper};
    j["smallest_confidence"] = {r.smallest_confidence_lower, r.smallest_confidence_upper};
    nlohmann::json margins = nlohmann::json::array();
    for (Eigen::Index k = 0; k < r.max_margin.size(); ++k) margins.push_back(number_or_null(r.max_margin[k]));
    j["max_margin"] = margins;
  }
  return j;
}

namespace {
template <class Slice>
void slice_header(nlohmann::json& j, const Slice& s, std::size_t regions) {
  j = nlohmann::json::object();
  j["regions"] = regions;
  j["complete"] = s.complete;
  if (!s.complete) j["stop_reason"] = s.stop_reason;
  j["precision_warning"] = s.precision_warning.empty() ? nlohmann::json(nullptr) : nlohmann::json(s.precision_warning);
}
}  // namespace

void to_json(nlohmann::json& j, const Slice2d& s) {
  slice_header(j, s, s.polygons.size());
  j["window_area"] = s.window_area;
  j["polygons"] = nlohmann::json::array();
  for (const SlicePolygon& p : s.polygons) {
    nlohmann::json v = nlohmann::json::array();
    for (const auto& q : p.polygon.vertices) v.push_back({q[0], q[1]});
    j["polygons"].push_back({{"vertices", v},
                             {"pattern_hash", hash_to_hex(p.pattern_hash)},
                             {"class", p.predicted_class},
                             {"area", p.area},
                             {"confidence_min", p.min_confidence},
                             {"confidence_max", p.max_confidence},
                             {"logits_map", to_json(p.logits)}});
  }
  j["decision_boundary"] = nlohmann::json::array();
  for (const auto& seg : s.decision_boundary)
    j["decision_boundary"].push_back({{seg[0][0], seg[0][1]}, {seg[1][0], seg[1][1]}});
}

void to_json(nlohmann::json& j, const Slice3d& s) {
  slice_header(j, s, s.polyhedra.size());
  j["polyhedra"] = nlohmann::json::array();
  for (const auto& p : s.polyhedra) {
    nlohmann::json faces = nlohmann::json::array();
    for (const auto& f : p.cell.faces) {
      nlohmann::json face = nlohmann::json::array();
      for (const auto& v : f.vertices) face.push_back({v[0], v[1], v[2]});
      faces.push_back(face);
    }
    j["polyhedra"].push_back({{"faces", faces},
                              {"pattern_hash", hash_to_hex(p.pattern_hash)},
                              {"class", p.predicted_class},
                              {"volume", p.volume},
                              {"logits_map", to_json(p.logits)}});
  }
}

nlohmann::json box_bound_json(const BoxBound& b, bool with_input) {
  nlohmann::json j = {{"method", bound_method_name(b.method)},
                      {"upper_bound", b.upper_bound},
                      {"lower_bound", b.lower_bound},
                      {"gap", b.upper_bound - b.lower_bound},
                      {"complete", b.complete},
                      {"argmax_class", b.argmax_class},
                      {"class_upper", to_json(b.class_upper)},
                      {"class_lower", to_json(b.class_lower)},
                      {"unstable", b.unstable},
                      {"seconds", b.seconds}};
  if (!b.complete) j["stop_reason"] = b.stop_reason;
  if (b.method == BoundMethod::Exact) {
    j["branches"] = b.branches;
    j["leaves"] = b.leaves;
    j["lps"] = b.lps;
    j["open"] = b.open;
    j["unsplittable"] = b.unsplittable;
  }
  if (with_input) j["argmax_input"] = to_json(b.argmax_input);
  return j;
}

void to_json(nlohmann::json& j, const BoxBoundSummary& s) {
  auto num = [](double v) { return number_or_null(v); };
  auto stats = [&](const Distribution& d) {
    return nlohmann::json{{"mean", num(d.mean())}, {"median", num(d.median())}, {"min", num(d.min())}, {"max", num(d.max())}};
  };
  j = {{"count", s.count},
       {"complete", s.complete},
       {"certified", s.certified},
       {"refuted", s.refuted},
       {"upper_bound", stats(s.upper_bound)},
       {"lower_bound", stats(s.lower_bound)},
       {"gap", stats(s.gap)},
       {"unstable", stats(s.unstable)},
       {"seconds", stats(s.seconds)}};
}

}  // namespace tessera
