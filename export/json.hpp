// JSON of Tessera's results, in one place: the field names of every result
// type the command line, the app and scripts write (nlohmann::json's to_json
// hooks, so `nlohmann::json j = summary;` works).
#pragma once

#include <optional>

#include <nlohmann/json.hpp>

#include "core/network.hpp"
#include "core/statistics.hpp"
#include "regions/certificate.hpp"
#include "regions/certify_set.hpp"

namespace tessera {

nlohmann::json to_json(const Vector& v);
nlohmann::json to_json(const Matrix& m);  // a list of rows
// A finite number, or null (NaN, Inf and "unknown" are null in JSON).
nlohmann::json number_or_null(double v);
nlohmann::json number_or_null(const std::optional<double>& v);

// One certificate; `unknown` lists the fields it could not establish.
nlohmann::json certificate_json(const Certificate& c, const CertifyOptions& options);
std::vector<std::string> unknown_fields(const Certificate& c, const CertifyOptions& options);

// The summary of a certify set (fields "count", "complete", ...,
// "median_alpha_star", ...).
void to_json(nlohmann::json& j, const CertifySetSummary& s);

}  // namespace tessera
