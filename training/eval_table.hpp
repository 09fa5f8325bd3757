// The evaluation table: rows = out-distributions, column groups = models,
// written as Markdown (laid out like the paper's Table 1), CSV and JSON.
// Torch-free.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tessera::training {

struct OutDistributionResult {
  std::string name;    // e.g. "fmnist", "adv-noise", "far-test:1000"
  std::string label;   // for tables, e.g. "FMNIST", "Adv. Noise", "1000·test"
  int count = 0;       // points scored (0: nothing to score, e.g. no successful adversarial sample)
  double mmc = 0, auroc = 0, fpr95 = 0, aupr_in = 0, aupr_out = 0;
  std::vector<double> scores;  // max softmax of each point (not written to tables)
};

struct ModelEvaluation {
  std::string name;   // column group heading
  std::string path;   // the model file
  double test_error = 0;
  double in_mmc = 0;
  int test_count = 0;
  std::vector<double> in_scores;
  std::vector<OutDistributionResult> outs;
};

struct EvalTable {
  std::string data;        // in-distribution name
  std::string data_label;  // e.g. "MNIST"
  std::vector<ModelEvaluation> models;
  bool complete = true;    // false: interrupted, some rows missing
  std::string stop_reason; // why a partial table stopped (not in the JSON)
  // What decides the rows' points (seed, counts, attacks, noise), written by
  // evaluate(); tables merge only when theirs are equal. Null in tables
  // read from CSV or from JSON written before it existed.
  nlohmann::json settings;
};

// JSON, full precision; the field names live here only. Scores are not
// stored, nor the metrics of a row with count 0; from_json throws
// nlohmann::json::exception for a missing or mistyped field.
void to_json(nlohmann::json& j, const OutDistributionResult& o);
void from_json(const nlohmann::json& j, OutDistributionResult& o);
void to_json(nlohmann::json& j, const ModelEvaluation& m);
void from_json(const nlohmann::json& j, ModelEvaluation& m);
void to_json(nlohmann::json& j, const EvalTable& t);
void from_json(const nlohmann::json& j, EvalTable& t);

std::string to_markdown(const EvalTable& t);  // three decimals
std::string to_csv(const EvalTable& t);       // one row per (model, distribution), full precision
nlohmann::json to_json(const EvalTable& t);   // nlohmann::json(t)
EvalTable table_from_json(const nlohmann::json& j);  // throws tessera::Error
EvalTable table_from_csv(const std::string& csv);

// The model columns of several tables side by side, as if their models had
// been evaluated in one run (evaluate() draws each row's points and attacks
// from the seed and the row alone, so they are). `sources` names each table
// in errors. Throws tessera::Error unless every table is complete, records
// its settings, and has the same data set, settings, test points and rows
// (and the same point count in every row but the adversarial samples',
// which counts per model); and unless the model names — `names`, when
// given (one per merged model), else the tables' — are distinct. The
// settings include the device (attack starts come from its generator) and
// fingerprints of the data, so tables of other data behind the same name do
// not merge.
EvalTable merge_tables(const std::vector<EvalTable>& tables, const std::vector<std::string>& sources,
                       const std::vector<std::string>& names = {});

}  // namespace tessera::training
