// Training runs: plain, CEDA and ACET, with a run folder that survives
// interruption (atomic checkpoints after every epoch and on Ctrl-C, exact
// resume), a per-epoch log and the exported ONNX model.
#pragma once

#include <torch/torch.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "training/attack.hpp"
#include "training/dataset.hpp"
#include "training/models.hpp"
#include "training/noise.hpp"

namespace tessera::training {

struct TrainConfig {
  std::string method = "plain";  // plain | ceda | acet
  std::string model = "mlp";     // see parse_model_spec
  std::string data = "moons";    // see load_dataset
  std::string preset;            // the preset the values came from
  int epochs = 30;
  int batch_size = 64;
  double learning_rate = 1e-3;
  double weight_decay = 5e-4;
  std::vector<double> milestones{0.5, 0.75, 0.9};  // fractions of the epochs where the rate drops
  double lr_factor = 0.1;
  double lambda = 1.0;           // weight of the noise term (CEDA, ACET)
  NoiseOptions noise;
  PgdOptions acet;               // eps 0.3, 40 steps of eps/40, random start
  bool augment = true;           // random crop (images of at least 28x28)
  int crop_pad = 4;
  DataOptions data_options;
  std::uint64_t seed = 1;

  nlohmann::json to_json() const;
  static TrainConfig from_json(const nlohmann::json& j);  // throws tessera::Error naming the field
};

// Named schedules:
//   paper: Adam 1e-3, /10 at 50/75/90 % of 100 epochs, batch 128, all data, ACET 40 steps;
//   quick: 10 epochs on 10000 training images, batch 128, ACET 10 steps (minutes on two cores);
//   toy:   60 epochs, batch 64, for the synthetic sets (seconds).
// Sets the fields a preset owns; options given later override them.
void apply_preset(const std::string& name, TrainConfig& config);
std::vector<std::string> preset_names();

struct RunOptions {
  std::string out_dir;
  bool resume = false;      // continue the run in out_dir from its checkpoint
  bool overwrite = false;   // start afresh even if out_dir holds a run
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  int threads = 0;          // CPU threads (0: all cores)
  bool progress = false;    // progress bar on stderr
  bool quiet = false;       // no per-epoch lines
  bool lines_to_stderr = false;  // per-epoch lines on stderr (stdout holds JSON)
  std::int64_t stop_after_batches = -1;  // testing: act as if interrupted after this many batches
};

struct RunResult {
  bool completed = false;   // false: interrupted, checkpoint saved
  int epochs_done = 0;
  double test_accuracy = 0, noise_mmc = 0;
  std::string onnx_path;
};

// Set by SIGINT/SIGTERM handlers; the loop checks it after every batch.
std::atomic<bool>& stop_requested();
void install_stop_handlers();
// --time-limit: sets stop_requested() after `seconds` (> 0; throws
// tessera::Error otherwise); time_limit_reached() then says why.
void set_time_limit(double seconds);
bool time_limit_reached();

torch::Device resolve_device(const std::string& name);

// Runs (or resumes) a training run; throws tessera::Error on bad input.
RunResult train(const TrainConfig& config, const RunOptions& options);

// Evaluation helpers shared with tests: accuracy on (x, y) and the mean of
// max_k p_k over x, in eval mode, batched.
double accuracy(Model& model, const torch::Tensor& x, const torch::Tensor& y, const torch::Device& device);
double mean_max_confidence(Model& model, const torch::Tensor& x, const torch::Device& device);

}  // namespace tessera::training
