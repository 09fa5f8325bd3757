// The paper's out-of-distribution evaluation for one or more models:
// test error, MMC on the test set, and per out-distribution MMC, AUROC,
// FPR@95, AUPR-In and AUPR-Out (training/metrics.hpp), including
// adversarial noise, adversarial samples and far-away inputs alpha*x.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "training/attack.hpp"
#include "training/callbacks.hpp"
#include "training/dataset.hpp"
#include "training/eval_table.hpp"
#include "training/noise.hpp"

namespace tessera::training {

// One cell of the table as computed: the scores of a model's test set (with
// its error) or of one of its out-distribution rows.
struct EvalCell {
  std::size_t index = 0;       // see EvalOptions::next_cell
  std::vector<double> scores;  // max softmax of each point
  double test_error = 0;       // the test-set cell only
};

struct EvalOptions {
  std::string data = "mnist";   // in-distribution (its test split is used)
  DataOptions data_options;
  // Out-distributions, by name (see out_distribution_names()); empty: the defaults for the data.
  std::vector<std::string> out_distributions;
  int count = 1000;             // points per out-distribution (data sets: at most this many)
  // Instead of count, the sizes of the paper's code (its loaders yield
  // whole batches of 128): the in-distribution's test split and every
  // data-set row whole, in whole batches; noise, adversarial and far-away
  // rows as many points as the test split (one noise batch per test batch).
  bool paper_counts = false;
  int test_count = -1;          // in-distribution test points (-1: all)
  PgdOptions adv_noise{0.3, 200, -1.0, true, 0.0, 1.0};   // maximising log max p, from adv_noise_start
  PgdOptions adv_samples{0.3, 40, -1.0, true, 0.0, 1.0};  // on test points, maximising the loss
  // Where adversarial noise starts: "uniform" (uniform noise) or "noise" (the
  // paper's noise, as the row "noise": the paper's evaluation).
  std::string adv_noise_start = "uniform";
  // The row "noise" (and adversarial noise from "noise"); the pool it
  // permutes is the in-distribution's test set, taken in order when
  // permute_source is "batch" (the paper's evaluation builds it from each
  // test batch).
  NoiseOptions noise;
  std::uint64_t seed = 1;
  std::string device = "auto";
  int threads = 0;
  // Callbacks (optional; called on the calling thread). evaluate() prints nothing.
  ProgressFn on_progress;   // after each model's test set and each row: rows done, label "evaluating"
  StopFn should_stop;       // polled between rows; true: a partial table (complete = false)
  // Sharing one evaluation between processes (MPI ranks). The table's cells
  // are numbered model by model: model m's test set is cell m (R + 1) and
  // its out-distribution row r is cell m (R + 1) + 1 + r, for R rows. Every
  // cell depends only on the seed, the model and the row, so any process may
  // compute any cell. next_cell hands this process its cells (nullopt: no
  // more; its argument is the number of cells); exchange receives the cells computed here and returns every
  // process's cells (nullopt on processes that do not assemble the table,
  // whose returned table is then empty). Both empty: one process
  // computes every cell.
  std::function<std::optional<std::size_t>(std::size_t)> next_cell;
  std::function<std::optional<std::vector<EvalCell>>(std::vector<EvalCell>)> exchange;
};

// Every accepted name with a description.
std::vector<std::pair<std::string, std::string>> out_distribution_names();
// The defaults: the other grey 28x28 set (mnist <-> fmnist), those of the
// paper's out-distributions (EMNIST letters and grey CIFAR-10 for MNIST;
// SVHN / CIFAR-10 / CIFAR-100 for each other) that `tessera data` has
// converted into the data folder, then noise, adversarial and far-away rows.
std::vector<std::string> default_out_distributions(const std::string& data, const DataOptions& options = {});

// The paper's evaluation (its released code): its row sizes (paper_counts),
// adversarial samples 80 PGD steps, adversarial noise 200 steps from the
// paper's noise, the paper's PGD start, noise built from the test batches by
// pixel positions with the 15x15 kernel.
void apply_paper_evaluation(EvalOptions& options);

// models: ONNX paths; names: column headings (empty: file stems).
// Throws tessera::Error for models of different input shapes, a model that
// does not fit the data, an out-distribution of another image size, an
// unknown name or an empty set. The table is the summary: complete, or
// partial with its stop_reason.
EvalTable evaluate(const std::vector<std::string>& models, const std::vector<std::string>& names, const EvalOptions& options);

}  // namespace tessera::training
