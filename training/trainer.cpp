#include "training/trainer.hpp"

#include "training/data_parallel.hpp"

#include <chrono>
#include <cstdlib>
#include <limits>
#include <memory>
#include <set>
#include <cmath>
#include <filesystem>
#include <sstream>
#include <thread>

#include "core/error.hpp"
#include "io/file_util.hpp"
#include "io/onnx_io.hpp"

namespace fs = std::filesystem;
using nlohmann::json;

namespace tessera::training {
namespace {

// Processes of a data-parallel run on this machine, as the launchers say
// (torchrun, Open MPI, SLURM); all of them when started by hand around a
// loopback MASTER_ADDR; else 1.
int local_processes(int world) {
  for (const char* name : {"LOCAL_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE", "SLURM_NTASKS_PER_NODE"})
    if (const char* v = std::getenv(name))
      if (const int n = std::atoi(v); n > 0) return n;
  const char* master = std::getenv("MASTER_ADDR");
  if (master && (std::string(master) == "localhost" || std::string(master).rfind("127.", 0) == 0)) return world;
  return 1;
}

constexpr const char* kCheckpointFormat = "tessera-checkpoint-1";

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a + 0x9E3779B97F4A7C15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

template <typename T>
T get_field(const json& j, const char* key, const T& fallback) {
  if (!j.contains(key)) return fallback;
  try {
    return j.at(key).get<T>();
  } catch (const json::exception&) {
    throw Error(std::string("config field '") + key + "' has the wrong type");
  }
}

// Running sums of one epoch (kept in the checkpoint for mid-epoch resume).
struct EpochSums {
  double loss = 0, clean = 0, noise = 0, correct = 0, seen = 0, seconds = 0;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(EpochSums, loss, clean, noise, correct, seen, seconds)

// The checkpoint's metadata (beside the model and optimiser archives).
struct CheckpointMeta {
  std::string format = kCheckpointFormat;
  std::string model, data, method;
  int epoch = 0;            // epochs done
  std::int64_t batch = 0;   // batches of the next epoch done
  EpochSums sums;
  std::vector<EpochReport> log;
};
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(CheckpointMeta, format, model, data, method, epoch, batch, sums, log)

std::string csv_of(const std::vector<EpochReport>& log) {
  std::ostringstream out;
  out << "epoch,learning_rate,loss,clean_loss,noise_loss,train_accuracy,test_accuracy,noise_mmc,seconds,images_per_second\n";
  for (const EpochReport& r : log)
    out << r.epoch << ',' << r.learning_rate << ',' << r.loss << ',' << r.clean_loss << ',' << r.noise_loss << ','
        << r.train_accuracy << ',' << r.test_accuracy << ',' << r.noise_mmc << ',' << r.seconds << ','
        << r.images_per_second << '\n';
  return out.str();
}

void save_checkpoint(const std::string& path, Model& model, torch::optim::Optimizer& optimizer, const CheckpointMeta& meta) {
  torch::serialize::OutputArchive archive, model_archive, optimizer_archive;
  model.save(model_archive);
  optimizer.save(optimizer_archive);
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  archive.write("meta", c10::IValue(json(meta).dump()));
  std::ostringstream bytes;
  archive.save_to(bytes);
  write_file_atomically(path, bytes.str());
}

CheckpointMeta load_checkpoint(const std::string& path, Model& model, torch::optim::Optimizer& optimizer, const TrainConfig& config,
                     const torch::Device& device) {
  const std::string bytes = read_file(path);
  torch::serialize::InputArchive archive;
  json meta;
  try {
    std::istringstream in(bytes);
    archive.load_from(in, device);
    c10::IValue meta_value;
    archive.read("meta", meta_value);
    meta = json::parse(meta_value.toStringRef());
  } catch (const std::exception& e) {
    throw Error(path + ": not a readable Tessera checkpoint (" + std::string(e.what()).substr(0, 200) + ")");
  }
  if (meta.value("format", "") != kCheckpointFormat) throw Error(path + ": not a Tessera checkpoint (format field missing)");
  const std::string want = parse_model_spec(config.model).str();
  if (meta.value("model", "") != want || meta.value("data", "") != config.data || meta.value("method", "") != config.method)
    throw Error(path + ": checkpoint of " + meta.value("method", "?") + " " + meta.value("model", "?") + " on " +
                meta.value("data", "?") + " does not match the run's " + config.method + " " + want + " on " + config.data);
  try {
    torch::serialize::InputArchive model_archive, optimizer_archive;
    archive.read("model", model_archive);
    archive.read("optimizer", optimizer_archive);
    model.load(model_archive);
    optimizer.load(optimizer_archive);
  } catch (const c10::Error& e) {
    const std::string msg = e.what_without_backtrace();
    throw Error(path + ": checkpoint does not match the model: " + msg.substr(0, msg.find('\n')));
  }
  try {
    return meta.get<CheckpointMeta>();
  } catch (const json::exception& e) {
    throw Error(path + ": checkpoint metadata incomplete (" + std::string(e.what()) + ")");
  }
}

}  // namespace

double learning_rate_at(const TrainConfig& c, int epoch) {
  double lr = c.learning_rate;
  // A drop lands at floor(f * epochs), but never before the first epoch has
  // trained: a one-epoch schedule keeps its rate (it used to drop all three
  // times at once and train at 1e-6).
  for (double f : c.milestones)
    if (epoch >= std::max(1, static_cast<int>(std::floor(f * c.epochs)))) lr *= c.lr_factor;
  return lr;
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const TrainConfig& c, torch::nn::Module& model) {
  const double decay = c.weight_decay_mode == "optimizer" ? c.weight_decay : 0.0;
  if (c.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(model.parameters(),
                                               torch::optim::SGDOptions(c.learning_rate).momentum(c.momentum).weight_decay(decay));
  return std::make_unique<torch::optim::Adam>(model.parameters(), torch::optim::AdamOptions(c.learning_rate).weight_decay(decay));
}

std::pair<torch::Tensor, torch::Tensor> forward_batch(const TrainConfig& c, Model& model, const torch::Tensor& x,
                                                      const torch::Tensor& noise) {
  if (!noise.defined()) return {model.forward(x), torch::Tensor()};
  if (!c.joint_forward) return {model.forward(x), model.forward(noise)};
  // Noise first, then the clean images, as the paper's code feeds them.
  const torch::Tensor all = model.forward(torch::cat({noise, x}, 0));
  return {all.narrow(0, noise.size(0), x.size(0)), all.narrow(0, 0, noise.size(0))};
}

BatchLoss batch_loss(const TrainConfig& c, torch::nn::Module& model, const torch::Tensor& logits, const torch::Tensor& labels,
                     const torch::Tensor& noise_logits) {
  BatchLoss out;
  const torch::Tensor ce = cross_entropy_each(logits, labels);
  out.clean = ce.mean();
  const torch::Tensor noise_each = noise_logits.defined() ? log_max_confidence(noise_logits) : torch::Tensor();
  if (noise_each.defined()) out.noise = noise_each.mean();
  if (c.loss_normalisation == "joint") {
    torch::Tensor total = ce.sum();
    std::int64_t terms = ce.size(0);
    if (noise_each.defined()) {
      total = total + c.lambda * noise_each.sum();
      terms += noise_each.size(0);
    }
    out.loss = total / static_cast<double>(terms);
  } else {
    out.loss = noise_each.defined() ? out.clean + c.lambda * out.noise : out.clean;
  }
  if (c.weight_decay_mode == "loss" && c.weight_decay > 0) out.loss = out.loss + c.weight_decay * weight_penalty(model);
  return out;
}

json TrainConfig::to_json() const {
  return {{"method", method},
          {"model", model},
          {"data", data},
          {"preset", preset},
          {"epochs", epochs},
          {"batch_size", batch_size},
          {"learning_rate", learning_rate},
          {"weight_decay", weight_decay},
          {"milestones", milestones},
          {"lr_factor", lr_factor},
          {"lambda", lambda},
          {"noise", {{"permuted_fraction", noise.permuted_fraction}, {"blur", noise.blur}, {"sigma_min", noise.sigma_min},
                     {"sigma_max", noise.sigma_max}, {"rescale", noise.rescale}, {"permute_source", noise.permute_source},
                     {"permute", noise.permute}, {"kernel", noise.kernel}}},
          {"acet", {{"eps", acet.eps}, {"steps", acet.steps}, {"step_size", acet.step_size}, {"random_start", acet.random_start},
                    {"start", acet.start}, {"keep_start", acet.keep_start}}},
          {"augment", augment},
          {"crop_pad", crop_pad},
          {"flip", flip},
          {"optimizer", optimizer},
          {"momentum", momentum},
          {"weight_decay_mode", weight_decay_mode},
          {"loss_normalisation", loss_normalisation},
          {"joint_forward", joint_forward},
          {"init", init},
          {"drop_last", drop_last},
          {"data_options", {{"data_dir", data_options.data_dir}, {"fmnist_dir", data_options.fmnist_dir},
                            {"synthetic_train", data_options.synthetic_train}, {"synthetic_test", data_options.synthetic_test},
                            {"synthetic_noise", data_options.synthetic_noise}, {"train_limit", data_options.train_limit},
                            {"test_limit", data_options.test_limit}}},
          {"seed", seed}};
}

TrainConfig TrainConfig::from_json(const json& j) {
  if (!j.is_object()) throw Error("config: expected a JSON object");
  TrainConfig c;
  c.method = get_field(j, "method", c.method);
  c.model = get_field(j, "model", c.model);
  c.data = get_field(j, "data", c.data);
  c.preset = get_field(j, "preset", c.preset);
  c.epochs = get_field(j, "epochs", c.epochs);
  c.batch_size = get_field(j, "batch_size", c.batch_size);
  c.learning_rate = get_field(j, "learning_rate", c.learning_rate);
  c.weight_decay = get_field(j, "weight_decay", c.weight_decay);
  c.milestones = get_field(j, "milestones", c.milestones);
  c.lr_factor = get_field(j, "lr_factor", c.lr_factor);
  c.lambda = get_field(j, "lambda", c.lambda);
  const json noise = j.value("noise", json::object());
  c.noise.permuted_fraction = get_field(noise, "permuted_fraction", c.noise.permuted_fraction);
  c.noise.blur = get_field(noise, "blur", c.noise.blur);
  c.noise.sigma_min = get_field(noise, "sigma_min", c.noise.sigma_min);
  c.noise.sigma_max = get_field(noise, "sigma_max", c.noise.sigma_max);
  c.noise.rescale = get_field(noise, "rescale", c.noise.rescale);
  c.noise.permute_source = get_field(noise, "permute_source", c.noise.permute_source);
  c.noise.permute = get_field(noise, "permute", c.noise.permute);
  c.noise.kernel = get_field(noise, "kernel", c.noise.kernel);
  const json acet = j.value("acet", json::object());
  c.acet.eps = get_field(acet, "eps", c.acet.eps);
  c.acet.steps = get_field(acet, "steps", c.acet.steps);
  c.acet.step_size = get_field(acet, "step_size", c.acet.step_size);
  c.acet.random_start = get_field(acet, "random_start", c.acet.random_start);
  c.acet.start = get_field(acet, "start", c.acet.start);
  c.acet.keep_start = get_field(acet, "keep_start", c.acet.keep_start);
  c.augment = get_field(j, "augment", c.augment);
  c.crop_pad = get_field(j, "crop_pad", c.crop_pad);
  c.flip = get_field(j, "flip", c.flip);
  c.optimizer = get_field(j, "optimizer", c.optimizer);
  c.momentum = get_field(j, "momentum", c.momentum);
  c.weight_decay_mode = get_field(j, "weight_decay_mode", c.weight_decay_mode);
  c.loss_normalisation = get_field(j, "loss_normalisation", c.loss_normalisation);
  c.joint_forward = get_field(j, "joint_forward", c.joint_forward);
  c.init = get_field(j, "init", c.init);
  c.drop_last = get_field(j, "drop_last", c.drop_last);
  const json d = j.value("data_options", json::object());
  c.data_options.data_dir = get_field(d, "data_dir", c.data_options.data_dir);
  c.data_options.fmnist_dir = get_field(d, "fmnist_dir", c.data_options.fmnist_dir);
  c.data_options.synthetic_train = get_field(d, "synthetic_train", c.data_options.synthetic_train);
  c.data_options.synthetic_test = get_field(d, "synthetic_test", c.data_options.synthetic_test);
  c.data_options.synthetic_noise = get_field(d, "synthetic_noise", c.data_options.synthetic_noise);
  c.data_options.train_limit = get_field(d, "train_limit", c.data_options.train_limit);
  c.data_options.test_limit = get_field(d, "test_limit", c.data_options.test_limit);
  c.seed = get_field(j, "seed", c.seed);
  return c;
}

std::vector<std::string> preset_names() { return {"paper", "quick", "toy"}; }

void apply_preset(const std::string& name, TrainConfig& c) {
  c.preset = name;
  c.milestones = {0.5, 0.75, 0.9};
  c.learning_rate = 1e-3;
  c.lr_factor = 0.1;
  if (name == "paper") {
    // Every choice of the released code (max-andr/relu_networks_overconfident);
    // docs/results.md lists them and what still differs.
    c.epochs = 100;
    c.batch_size = 128;
    c.data_options.train_limit = -1;
    c.weight_decay = 5e-4;
    c.weight_decay_mode = "loss";
    c.loss_normalisation = "joint";
    c.joint_forward = true;
    c.init = "paper";
    c.drop_last = true;
    c.lambda = 1.0;
    c.acet = PgdOptions{};
    c.acet.eps = 0.3;
    c.acet.steps = 40;
    c.acet.start = "paper";
    c.acet.keep_start = true;
    c.noise = NoiseOptions{};
    c.noise.permute_source = "batch";
    c.noise.permute = "positions";
    c.noise.kernel = "paper";
    c.augment = true;
    c.crop_pad = 4;
    const bool colour = c.data == "svhn" || c.data == "cifar10" || c.data == "cifar100";
    c.model = colour ? "resnet-small" : "lenet";
    c.optimizer = colour ? "sgd" : "adam";
    c.momentum = 0.9;
    c.learning_rate = colour ? 0.1 : 1e-3;
    c.flip = c.data == "cifar10" || c.data == "cifar100";
  } else if (name == "quick") {
    c.epochs = 10;
    c.batch_size = 128;
    c.data_options.train_limit = 10000;
    c.acet.steps = 10;
  } else if (name == "toy") {
    c.epochs = 60;
    c.batch_size = 64;
    c.learning_rate = 3e-3;
    c.acet.steps = 10;
  } else {
    throw Error("unknown preset '" + name + "' (known: paper, quick, toy)");
  }
}

torch::Tensor weight_penalty(torch::nn::Module& model) {
  std::set<const void*> batch_norm;
  for (const auto& m : model.modules(/*include_self=*/true))
    if (m->as<torch::nn::BatchNorm2d>() || m->as<torch::nn::BatchNorm1d>())
      for (const auto& p : m->parameters(/*recurse=*/false)) batch_norm.insert(p.unsafeGetTensorImpl());
  torch::Tensor sum;
  for (const auto& p : model.parameters()) {
    if (batch_norm.count(p.unsafeGetTensorImpl())) continue;
    const torch::Tensor s = p.pow(2).sum();
    sum = sum.defined() ? sum + s : s;
  }
  return sum.defined() ? sum : torch::zeros({});
}

void flush_denormals(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (auto& p : model.parameters()) {
    if (p.scalar_type() != torch::kFloat32) continue;
    p.masked_fill_(p.abs() < std::numeric_limits<float>::min(), 0.0);
  }
}

torch::Device resolve_device(const std::string& name) {
  if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
  if (name == "cpu") return torch::Device(torch::kCPU);
  if (name == "cuda" || name.rfind("cuda:", 0) == 0) {
    if (!torch::cuda::is_available())
      throw Error("--device " + name + ": this LibTorch build has no CUDA support or sees no GPU; use --device cpu or auto");
    torch::Device d(name);
    if (d.has_index() && d.index() >= static_cast<int>(torch::cuda::device_count()))
      throw Error("--device " + name + ": only " + std::to_string(torch::cuda::device_count()) + " CUDA device(s) present");
    return d;
  }
  throw Error("unknown device '" + name + "' (known: auto, cpu, cuda, cuda:N)");
}

double accuracy(Model& model, const torch::Tensor& x, const torch::Tensor& y, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  std::int64_t correct = 0;
  for (std::int64_t i = 0; i < x.size(0); i += 1000) {
    const std::int64_t n = std::min<std::int64_t>(1000, x.size(0) - i);
    const torch::Tensor logits = model.forward(x.narrow(0, i, n).to(device));
    correct += logits.argmax(1).eq(y.narrow(0, i, n).to(device)).sum().item<std::int64_t>();
  }
  model.train(was_training);
  return x.size(0) ? static_cast<double>(correct) / x.size(0) : 0.0;
}

double mean_max_confidence(Model& model, const torch::Tensor& x, const torch::Device& device) {
  torch::NoGradGuard no_grad;
  const bool was_training = model.is_training();
  model.eval();
  double sum = 0;
  for (std::int64_t i = 0; i < x.size(0); i += 1000) {
    const std::int64_t n = std::min<std::int64_t>(1000, x.size(0) - i);
    sum += log_max_confidence(model.forward(x.narrow(0, i, n).to(device))).exp().sum().item<double>();
  }
  model.train(was_training);
  return x.size(0) ? sum / x.size(0) : 0.0;
}

void to_json(json& j, const TrainSummary& s) {
  j = json{{"completed", s.completed}, {"epochs_done", s.epochs_done}, {"out", s.out_dir},
           {"method", s.method},       {"model", s.model},             {"data", s.data}};
  if (s.completed) {
    j["onnx"] = s.onnx_path;
    j["test_accuracy"] = s.test_accuracy;
    j["noise_mmc"] = s.noise_mmc;
  }
}

TrainSummary train(const TrainConfig& config, const RunOptions& run) {
  // Check everything before touching the run folder.
  if (config.method != "plain" && config.method != "ceda" && config.method != "acet")
    throw Error("unknown method '" + config.method + "' (known: plain, ceda, acet)");
  if (config.epochs < 1 || config.epochs > 100000) throw Error("--epochs must lie in [1, 100000]");
  if (config.batch_size < 1 || config.batch_size > 1 << 20) throw Error("--batch-size must be positive");
  if (!(config.learning_rate > 0) || !std::isfinite(config.learning_rate)) throw Error("--lr must be positive");
  if (!(config.weight_decay >= 0)) throw Error("--weight-decay must not be negative");
  if (!(config.lambda >= 0)) throw Error("--lambda must not be negative");
  if (config.optimizer != "adam" && config.optimizer != "sgd") throw Error("unknown optimizer '" + config.optimizer + "' (known: adam, sgd)");
  if (!(config.momentum >= 0 && config.momentum < 1)) throw Error("--momentum must lie in [0, 1)");
  if (config.weight_decay_mode != "optimizer" && config.weight_decay_mode != "loss")
    throw Error("unknown weight-decay mode '" + config.weight_decay_mode + "' (known: optimizer, loss)");
  if (config.loss_normalisation != "mean" && config.loss_normalisation != "joint")
    throw Error("unknown loss normalisation '" + config.loss_normalisation + "' (known: mean, joint)");
  if (config.init != "default" && config.init != "paper") throw Error("unknown initialisation '" + config.init + "' (known: default, paper)");
  if (config.acet.start != "ball" && config.acet.start != "paper")
    throw Error("unknown PGD start '" + config.acet.start + "' (known: ball, paper)");
  check_noise_options(config.noise);
  if (run.out_dir.empty()) throw Error("--out: a run folder is needed");
  const ModelSpec spec = parse_model_spec(config.model);
  const torch::Device device = resolve_device(run.device);
  DataParallel* const parallel = run.parallel;
  const int world = parallel ? parallel->world() : 1, rank = parallel ? parallel->rank() : 0;
  const bool writer = rank == 0;  // writes the run folder
  // Processes on one machine share its cores unless told otherwise.
  torch::set_num_threads(run.threads > 0 ? run.threads
                                         : std::max(1, static_cast<int>(std::max(1u, std::thread::hardware_concurrency())) /
                                                           (parallel ? std::min(world, local_processes(world)) : 1)));
  at::globalContext().setFlushDenormal(true);  // this thread's own arithmetic; flush_denormals() covers the parameters

  const std::string checkpoint_path = run.out_dir + "/checkpoint.pt";
  if (!run.resume && !run.overwrite && fs::exists(checkpoint_path))
    throw Error(run.out_dir + " already holds a training run; use --resume to continue it or --overwrite to start afresh");
  if (run.resume && !fs::exists(checkpoint_path)) throw Error(run.out_dir + ": no checkpoint.pt to resume from");

  Dataset data = load_dataset(config.data, config.data_options);
  torch::manual_seed(config.seed);
  std::shared_ptr<Model> model = make_model(spec, data.shape, data.classes);
  if (config.init == "paper") paper_init(*model);
  model->to(device);
  if (parallel) parallel->broadcast_state(*model);  // the same start everywhere (it is already: the same seed)
  std::unique_ptr<torch::optim::Optimizer> optimizer_ptr = make_optimizer(config, *model);
  torch::optim::Optimizer& optimizer = *optimizer_ptr;

  std::error_code ec;
  fs::create_directories(run.out_dir, ec);
  if (ec || !fs::is_directory(run.out_dir)) throw Error(run.out_dir + ": cannot create the run folder (" + ec.message() + ")");
  int epoch = 0;
  std::int64_t batch = 0;
  EpochSums sums;
  std::vector<EpochReport> log;
  if (run.resume) {
    const CheckpointMeta meta = load_checkpoint(checkpoint_path, *model, optimizer, config, device);
    epoch = meta.epoch;
    batch = meta.batch;
    sums = writer ? meta.sums : EpochSums{};  // the epoch's sums so far are counted once, by rank 0
    log = meta.log;
    if (run.on_resume) run.on_resume(ResumePoint{epoch + 1, batch});
  }
  if (writer) write_file_atomically(run.out_dir + "/config.json", config.to_json().dump(2) + "\n");

  const std::int64_t n = data.train_x.size(0);
  const std::int64_t batches =
      config.drop_last && n >= config.batch_size ? n / config.batch_size : (n + config.batch_size - 1) / config.batch_size;
  const torch::Tensor train_x = data.train_x.to(device), train_y = data.train_y.to(device);
  const bool crop = config.augment && data.is_image() && data.shape.height() >= 28 && data.shape.width() >= 28;
  const bool flip = config.flip && config.augment && data.is_image();  // --no-augment turns off flips too
  PgdOptions acet = config.acet;
  acet.lo = data.lo;
  acet.hi = data.hi;
  // A fixed uniform-noise set to watch the mean max-confidence far from the data.
  torch::Tensor watch_noise;
  {
    torch::manual_seed(mix(config.seed, 0xFEED));
    std::vector<std::int64_t> shape(data.train_x.sizes().begin(), data.train_x.sizes().end());
    shape[0] = 1000;
    watch_noise = uniform_noise(shape, data.lo, data.hi);
  }

  const auto meta_of = [&](int e, std::int64_t b, const EpochSums& s) {
    CheckpointMeta m;
    m.model = spec.str();
    m.data = config.data;
    m.method = config.method;
    m.epoch = e;
    m.batch = b;
    m.sums = s;
    m.log = log;
    return m;
  };
  const auto write_logs = [&] {
    if (!writer) return;
    write_file_atomically(run.out_dir + "/log.json", json(log).dump(2) + "\n");
    write_file_atomically(run.out_dir + "/log.csv", csv_of(log));
  };

  // The epoch's sums over all processes (rank 0 holds any carried over from
  // a resumed checkpoint); time is rank 0's.
  const auto summed = [&](EpochSums s) {
    if (!parallel) return s;
    torch::Tensor t = torch::tensor({s.loss, s.clean, s.noise, s.correct, s.seen}, torch::kFloat64);
    parallel->sum(t);
    const auto a = t.accessor<double, 1>();
    s.loss = a[0];
    s.clean = a[1];
    s.noise = a[2];
    s.correct = a[3];
    s.seen = a[4];
    return s;
  };
  TrainSummary result;
  result.out_dir = run.out_dir;
  result.method = config.method;
  result.model = spec.str();
  result.data = config.data;
  std::int64_t batches_run = 0;
  model->train();
  for (; epoch < config.epochs; ++epoch, batch = 0, sums = EpochSums{}) {
    const double lr = learning_rate_at(config, epoch);
    for (auto& group : optimizer.param_groups()) group.options().set_lr(lr);
    torch::Generator order_gen = at::detail::createCPUGenerator(mix(config.seed, static_cast<std::uint64_t>(epoch)));
    const torch::Tensor order = torch::randperm(n, order_gen, torch::kInt64).to(device);
    const std::string label = "epoch " + std::to_string(epoch + 1) + "/" + std::to_string(config.epochs);
    const auto epoch_start = std::chrono::steady_clock::now();
    const double seconds_before = sums.seconds;
    if (run.on_progress)
      run.on_progress(static_cast<std::size_t>(std::min(n, batch * config.batch_size)), static_cast<std::size_t>(n), label);
    for (; batch < batches; ++batch) {
      bool asked = run.should_stop && run.should_stop();
      if (parallel) asked = parallel->any(asked);  // every process stops at the same batch
      if (asked || (run.stop_after_batches >= 0 && batches_run >= run.stop_after_batches)) {
        result.stop_reason = asked ? kStopRequested : "stopped after " + std::to_string(batches_run) + " batches";
        sums.seconds = seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
        sums = summed(sums);
        if (writer) save_checkpoint(checkpoint_path, *model, optimizer, meta_of(epoch, batch, sums));
        write_logs();
        result.epochs_done = epoch;
        return result;
      }
      torch::manual_seed(mix(mix(config.seed, static_cast<std::uint64_t>(epoch)), static_cast<std::uint64_t>(batch) + 1));
      const std::int64_t first = batch * config.batch_size, count = std::min<std::int64_t>(config.batch_size, n - first);
      const torch::Tensor idx = order.narrow(0, first, count);
      torch::Tensor x = train_x.index_select(0, idx);
      const torch::Tensor y = train_y.index_select(0, idx);
      if (flip) x = random_flip(x);
      if (crop) x = random_crop(x, config.crop_pad);

      torch::Tensor noise;
      if (config.method != "plain")
        // The paper's code permutes the current (augmented) batch.
        noise = make_noise(data, config.noise.permute_source == "batch" ? x : train_x, count, config.noise);
      // This process's share of the batch (all of it for one process): the
      // whole batch was drawn, augmented and its noise made as one process
      // does, so the shares together are that batch.
      const std::int64_t share_begin = count * rank / world, share = count * (rank + 1) / world - share_begin;
      const torch::Tensor y_share = parallel ? y.narrow(0, share_begin, share) : y;
      if (parallel) {
        x = x.narrow(0, share_begin, share);
        if (noise.defined()) noise = noise.narrow(0, share_begin, share);
      }
      if (noise.defined()) {
        if (config.method == "acet") {
          model->eval();
          PgdOptions share_acet = acet;  // random starts drawn for the whole batch
          if (parallel) {
            share_acet.draw_rows = count;
            share_acet.draw_offset = share_begin;
          }
          noise = pgd_maximise(*model, noise, log_max_confidence, share_acet);
          model->train();
        }
      }
      optimizer.zero_grad();
      bool diverged = false;
      if (share > 0) {
        const auto [logits, noise_logits] = forward_batch(config, *model, x, noise);
        const BatchLoss terms = batch_loss(config, *model, logits, y_share, noise_logits);
        const torch::Tensor& loss = terms.loss;
        const torch::Tensor& clean = terms.clean;
        const double noise_value = terms.noise.defined() ? terms.noise.item<double>() : 0.0;
        // The batch's loss is the shares' losses weighted by their sizes
        // (their noise is shared the same way), so the summed gradients are
        // the whole batch's; the weight penalty, counted in every share, adds
        // up to one.
        if (parallel)
          (loss * (static_cast<double>(share) / static_cast<double>(count))).backward();
        else
          loss.backward();
        diverged = !std::isfinite(loss.item<double>());
        sums.loss += loss.item<double>() * share;
        sums.clean += clean.item<double>() * share;
        sums.noise += noise_value * share;
        sums.correct += logits.argmax(1).eq(y_share).sum().item<double>();
        sums.seen += share;
      }
      // Every process learns whether any diverged (with the gradients) and
      // stops alike.
      if (parallel) diverged = parallel->sum_gradients(*model, diverged ? 1.0 : 0.0) > 0;
      if (diverged)
        throw Error("training diverged (loss is not finite) at epoch " + std::to_string(epoch + 1) + "; lower --lr");
      optimizer.step();
      flush_denormals(*model);
      ++batches_run;
      if (run.on_progress) run.on_progress(static_cast<std::size_t>(first + count), static_cast<std::size_t>(n), label);
    }
    sums.seconds = seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
    sums = summed(sums);
    const double test_acc = accuracy(*model, data.test_x, data.test_y, device);
    const double mmc = mean_max_confidence(*model, watch_noise, device);
    EpochReport row;
    row.epoch = epoch + 1;
    row.learning_rate = lr;
    row.loss = sums.loss / sums.seen;
    row.clean_loss = sums.clean / sums.seen;
    row.noise_loss = sums.noise / sums.seen;
    row.train_accuracy = sums.correct / sums.seen;
    row.test_accuracy = test_acc;
    row.noise_mmc = mmc;
    row.seconds = sums.seconds;
    row.images_per_second = sums.seen / std::max(1e-9, sums.seconds);
    log.push_back(row);
    if (run.on_epoch) run.on_epoch(row);
    if (writer) save_checkpoint(checkpoint_path, *model, optimizer, meta_of(epoch + 1, 0, EpochSums{}));
    write_logs();
    result.test_accuracy = test_acc;
    result.noise_mmc = mmc;
  }
  model->eval();
  Network net = model->to_network();
  net.class_names = data.class_names;  // the legend's names in the app
  net.source = run.out_dir + "/model.onnx";
  net.softmax_output = false;
  result.onnx_path = run.out_dir + "/model.onnx";
  if (writer) save_onnx(net, result.onnx_path);
  if (!log.empty()) {
    result.test_accuracy = log.back().test_accuracy;
    result.noise_mmc = log.back().noise_mmc;
  }
  result.completed = true;
  result.epochs_done = config.epochs;
  if (writer) write_file_atomically(run.out_dir + "/summary.json", json(result).dump(2) + "\n");
  return result;
}

}  // namespace tessera::training
