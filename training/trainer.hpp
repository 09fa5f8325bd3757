// Training runs: plain, CEDA and ACET, with a run folder that survives
// interruption (atomic checkpoints after every epoch and on Ctrl-C, exact
// resume), a per-epoch log and the exported ONNX model.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "training/attack.hpp"
#include "training/callbacks.hpp"
#include "training/dataset.hpp"
#include "training/models.hpp"
#include "training/noise.hpp"

namespace tessera::training {

class DataParallel;  // training/data_parallel.hpp

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
  bool flip = false;             // random horizontal flips (images; the paper's CIFAR augmentation)
  // The protocol's choices; the defaults are LibTorch's conventions, and
  // --preset paper sets each to what the paper's released code does.
  std::string optimizer = "adam";        // adam | sgd (heavy-ball momentum, TF's and LibTorch's form)
  double momentum = 0.9;                 // sgd
  // "optimizer": weight_decay * w added to each parameter's gradient by the
  // optimiser (LibTorch's weight_decay); "loss": weight_decay * sum w^2 over
  // every weight and bias except batch norm's added to the loss (gradient
  // 2 * weight_decay * w: the paper's code).
  std::string weight_decay_mode = "optimizer";
  // "mean": mean cross-entropy + lambda * mean noise term; "joint": (sum of
  // cross-entropies + lambda * sum of noise terms) / (B + noise images), i.e.
  // both halves weighted 1/2 when there are as many noise as clean images
  // (the paper's code).
  std::string loss_normalisation = "mean";
  bool joint_forward = false;            // noise and clean images in one forward pass (batch norm sees both: the paper's code)
  std::string init = "default";          // default (LibTorch's) | paper (He normal, truncated at 2 sd for convolutions; zero biases)
  bool drop_last = false;                // skip each epoch's last, partial batch (the paper's data loaders)
  DataOptions data_options;
  std::uint64_t seed = 1;

  nlohmann::json to_json() const;
  static TrainConfig from_json(const nlohmann::json& j);  // throws tessera::Error naming the field
};

// Named schedules:
//   paper: the released code's protocol on every point (docs/results.md):
//          100 epochs, batch 128, all data, /10 at 50/75/90 %, ACET 40 steps
//          with the paper's start, weight decay 5e-4 * sum w^2 in the loss,
//          joint normalisation and forward pass, He-normal initialisation,
//          noise from the batch by pixel positions with the 15x15 kernel,
//          crops; Adam 1e-3 and LeNet for grey 28x28 sets, SGD 0.1 with
//          momentum 0.9 and the paper's ResNet for SVHN/CIFAR (flips for CIFAR);
//   quick: 10 epochs on 10000 training images, batch 128, ACET 10 steps (minutes on two cores);
//   toy:   60 epochs, batch 64, for the synthetic sets (seconds).
// Sets the fields a preset owns; options given later override them.
void apply_preset(const std::string& name, TrainConfig& config);
std::vector<std::string> preset_names();

// The sum of squares that weight_decay_mode "loss" multiplies: every
// parameter of the model except those of batch-norm layers.
torch::Tensor weight_penalty(torch::nn::Module& model);

// The learning rate of epoch `epoch` (0-based): learning_rate times
// lr_factor for every milestone f with floor(f * epochs) <= epoch, a
// milestone at 0 counting from epoch 1.
double learning_rate_at(const TrainConfig& config, int epoch);

// Sets every float32 parameter smaller in magnitude than FLT_MIN (a
// denormal) to zero; the trainer calls it after every step. With weight
// decay in the loss, Adam's step for a weight with no data gradient is about
// lr * 1e-3 * w / eps, so unused weights shrink geometrically into the
// denormal range, where x86 CPUs compute ~80x slower (a plain LeNet epoch
// went from 13 s to over 50 s); the values lost are below 1.2e-38.
void flush_denormals(torch::nn::Module& model);

// The pieces of one training step, exposed for tests.
// The optimiser of the config (Adam or SGD with momentum; LibTorch's weight
// decay only in weight_decay_mode "optimizer").
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& config, torch::nn::Module& model);
// Logits of the clean batch x and of the noise (undefined without noise):
// two forward passes, or one over [noise; x] with joint_forward.
std::pair<torch::Tensor, torch::Tensor> forward_batch(const TrainConfig& config, Model& model, const torch::Tensor& x,
                                                      const torch::Tensor& noise);
struct BatchLoss {
  torch::Tensor loss;   // what is minimised (the weight penalty included in mode "loss")
  torch::Tensor clean;  // mean cross-entropy
  torch::Tensor noise;  // mean log max-confidence of the noise (undefined without noise)
};
BatchLoss batch_loss(const TrainConfig& config, torch::nn::Module& model, const torch::Tensor& logits, const torch::Tensor& labels,
                     const torch::Tensor& noise_logits);

// One epoch's numbers: a row of the run folder's log.json and log.csv, and
// what RunOptions::on_epoch receives. The JSON field names are the members'.
struct EpochReport {
  int epoch = 0;  // 1-based
  double learning_rate = 0;
  double loss = 0, clean_loss = 0, noise_loss = 0;  // means over the epoch's images
  double train_accuracy = 0, test_accuracy = 0;
  double noise_mmc = 0;  // mean max-confidence on a fixed set of 1000 uniform-noise points
  double seconds = 0, images_per_second = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EpochReport, epoch, learning_rate, loss, clean_loss, noise_loss, train_accuracy,
                                   test_accuracy, noise_mmc, seconds, images_per_second)

// Where a resumed run continues.
struct ResumePoint {
  int epoch = 1;            // 1-based
  std::int64_t batch = 0;   // batches of that epoch already done
};

// Options in: the run folder, the device, and the callbacks (all optional;
// called on the calling thread). train() prints nothing.
struct RunOptions {
  std::string out_dir;
  bool resume = false;      // continue the run in out_dir from its checkpoint
  bool overwrite = false;   // start afresh even if out_dir holds a run
  std::string device = "auto";  // auto | cpu | cuda | cuda:N
  int threads = 0;          // CPU threads (0: all cores)
  std::int64_t stop_after_batches = -1;  // testing: act as if stopped after this many batches
  // Data-parallel training (training/data_parallel.hpp): this process takes
  // its share of every batch (rows [B r / W, B (r + 1) / W) of a batch of B
  // for rank r of W; augmentation and noise are drawn for the whole batch
  // first, as one process would), the gradients are summed before each step
  // and the epoch's numbers over all processes; a stop request seen by any
  // process stops all of them at the same batch; only rank 0 writes the run
  // folder. Null: one process.
  DataParallel* parallel = nullptr;

  ProgressFn on_progress;   // after every batch: images done of the epoch, label "epoch E/N"
  std::function<void(const EpochReport&)> on_epoch;     // after every epoch, before its checkpoint
  std::function<void(const ResumePoint&)> on_resume;    // once, before a resumed run continues
  StopFn should_stop;       // polled before every batch; true: checkpoint saved, partial summary
};

// Summary out. Its JSON (to_json) is summary.json, which train() writes to
// the run folder when the run completes.
struct TrainSummary {
  bool completed = false;   // false: partial, checkpoint saved
  std::string stop_reason;  // partial only: kStopRequested, or "stopped after N batches" (stop_after_batches)
  int epochs_done = 0;
  std::string out_dir, method, model, data;  // model: the normalised spec, e.g. "mlp:16,16"
  // Completed runs only:
  std::string onnx_path;
  double test_accuracy = 0, noise_mmc = 0;
};
// {"completed", "epochs_done", "out", "method", "model", "data"} and, for a
// completed run, {"onnx", "test_accuracy", "noise_mmc"}.
void to_json(nlohmann::json& j, const TrainSummary& s);

torch::Device resolve_device(const std::string& name);

// Runs (or resumes) a training run; throws tessera::Error on bad input.
TrainSummary train(const TrainConfig& config, const RunOptions& options);

// Evaluation helpers shared with tests: accuracy on (x, y) and the mean of
// max_k p_k over x, in eval mode, batched.
double accuracy(Model& model, const torch::Tensor& x, const torch::Tensor& y, const torch::Device& device);
double mean_max_confidence(Model& model, const torch::Tensor& x, const torch::Device& device);

}  // namespace tessera::training
