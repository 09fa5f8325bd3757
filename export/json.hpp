// JSON of Tessera's results, in one place: the field names of every result
// type the command line, the app and scripts write (nlohmann::json's to_json
// hooks, so `nlohmann::json j = summary;` works).
#pragma once

#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/activation_pattern.hpp"
#include "core/affine_map.hpp"
#include "core/affine_report.hpp"
#include "core/network.hpp"
#include "core/statistics.hpp"
#include "regions/box_bounds.hpp"
#include "regions/certificate.hpp"
#include "regions/certify_set.hpp"
#include "regions/line_traversal.hpp"
#include "regions/polytope.hpp"
#include "regions/slice_2d.hpp"
#include "regions/slice_3d.hpp"

namespace tessera {

nlohmann::json to_json(const Vector& v);
nlohmann::json to_json(const Matrix& m);  // a list of rows
// A finite number, or null (NaN, Inf and "unknown" are null in JSON).
nlohmann::json number_or_null(double v);
nlohmann::json number_or_null(const std::optional<double>& v);

// The activation pattern layer by layer: node, name, op, units, active
// (null for max-pooling), pieces (units per piece, Piecewise layers only),
// hash of the layer.
nlohmann::json pattern_json(const ActivationPattern& pattern, const Network& net);
// {"V": rows, "a": values}.
void to_json(nlohmann::json& j, const AffineMap& m);
// {"node", "name", "op", "V", "a"} of a hidden node's map.
nlohmann::json node_map_json(const NodeAffineMap& m, const Network& net);

// The fields of `tessera affine --json` that come from the report: logits,
// softmax, predicted_class, confidence, pattern_hash, layers, V, a,
// max_relative_residual, hidden_maps (when computed). The command adds
// model and input.
nlohmann::json affine_json(const AffineReport& r, const Network& net);

// One certificate; `unknown` lists the fields it could not establish.
nlohmann::json certificate_json(const Certificate& c, const CertifyOptions& options);
// The certificate's "laplace" object (with a Laplace model).
nlohmann::json laplace_json(const LaplaceCertificate& l);
std::vector<std::string> unknown_fields(const Certificate& c, const CertifyOptions& options);

// The summary of a certify set (fields "count", "complete", ...,
// "median_alpha_star", ...).
void to_json(nlohmann::json& j, const CertifySetSummary& s);
// A certified set: set_complete, requested (inputs given), stop_reason
// (when not every input finished: "K of N inputs finished (WHY)", WHY from
// `why_stopped`), method, summary and certificates (each stop reason passed
// through `describe`, which the command line uses for its signal and limit
// words; identity when empty). The command adds model, inputs, threshold, box.
nlohmann::json certify_set_json(const CertifySetResult& r, const CertifyOptions& options,
                                const std::string& why_stopped,
                                const std::function<std::string(const std::string&)>& describe = {});
// The same from its parts: a (merged) summary and the certificates' JSON in
// input order, as a set shared between processes assembles it.
nlohmann::json certify_set_json(const CertifySetSummary& summary, std::size_t requested, bool complete,
                                const CertifyOptions& options, const std::string& why_stopped,
                                nlohmann::json certificates);

// A line traversal: "complete", "stop_reason" (when stopped), "segments"
// (t_begin, t_end (null: infinity), is_point, pattern_hash, class,
// confidence_min/max, logits_intercept, logits_slope).
void to_json(nlohmann::json& j, const LineTraversal& t);

// A region's polytope and confidence: "complete", "rows", "facets" (each
// naming its node, unit, competing class or knot; the node names come from
// `net`), "bounded", "chebyshev_center", "inradius", confidence bounds...
nlohmann::json region_json(const RegionReport& r, const Network& net);

// Slices: "regions", "complete", "stop_reason", "precision_warning",
// "window_area" and "polygons" (vertices, pattern_hash, class, area,
// confidence_min/max, logits_map) with "decision_boundary"; 3-D:
// "polyhedra" (faces, pattern_hash, class, volume, logits_map).
void to_json(nlohmann::json& j, const Slice2d& s);
void to_json(nlohmann::json& j, const Slice3d& s);

// One box's bound (`tessera bound --json`): method, upper_bound,
// lower_bound, gap, complete, stop_reason, argmax_class, argmax_input (when
// with_input), class_upper, class_lower, unstable, branches, leaves, lps,
// open, unsplittable, seconds.
nlohmann::json box_bound_json(const BoxBound& b, bool with_input);
// The summary of a set of bounds: count, complete, certified (upper bound
// below the threshold), refuted (an input reaches it), and mean / median /
// min / max of the upper and lower bounds, the gap, the unstable units and
// the seconds per box.
void to_json(nlohmann::json& j, const BoxBoundSummary& s);

}  // namespace tessera
