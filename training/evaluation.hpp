// The paper's out-of-distribution evaluation for one or more models:
// test error, MMC on the test set, and per out-distribution MMC, AUROC,
// FPR@95, AUPR-In and AUPR-Out (training/metrics.hpp), including
// adversarial noise, adversarial samples and far-away inputs alpha*x.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "training/attack.hpp"
#include "training/callbacks.hpp"
#include "training/dataset.hpp"
#include "training/eval_table.hpp"

namespace tessera::training {

struct EvalOptions {
  std::string data = "mnist";   // in-distribution (its test split is used)
  DataOptions data_options;
  // Out-distributions, by name (see out_distribution_names()); empty: the defaults for the data.
  std::vector<std::string> out_distributions;
  int count = 1000;             // points per out-distribution (data sets: at most this many)
  int test_count = -1;          // in-distribution test points (-1: all)
  PgdOptions adv_noise{0.3, 200, -1.0, true, 0.0, 1.0};   // on uniform noise, maximising log max p
  PgdOptions adv_samples{0.3, 40, -1.0, true, 0.0, 1.0};  // on test points, maximising the loss
  std::uint64_t seed = 1;
  std::string device = "auto";
  int threads = 0;
  // Callbacks (optional; called on the calling thread). evaluate() prints nothing.
  ProgressFn on_progress;   // after each model's test set and each row: rows done, label "evaluating"
  StopFn should_stop;       // polled between rows; true: a partial table (complete = false)
};

// Every accepted name with a description.
std::vector<std::pair<std::string, std::string>> out_distribution_names();
std::vector<std::string> default_out_distributions(const std::string& data);

// models: ONNX paths; names: column headings (empty: file stems).
// Throws tessera::Error for models of different input shapes, a model that
// does not fit the data, an out-distribution of another image size, an
// unknown name or an empty set. The table is the summary: complete, or
// partial with its stop_reason.
EvalTable evaluate(const std::vector<std::string>& models, const std::vector<std::string>& names, const EvalOptions& options);

}  // namespace tessera::training
