// tessera-eval (also run as `tessera eval`): the paper's out-of-distribution
// table (MMC, AUROC, FPR@95, AUPR) for one or more models. evaluate() prints
// nothing: this program draws its progress and owns Ctrl-C and
// --time-limit, through the options' callbacks.
#include <boost/program_options.hpp>
#include <filesystem>
#include <chrono>
#include <iostream>
#include <thread>
#include <memory>
#include <omp.h>
#include <sstream>

#include "cli/common.hpp"
#include "cli/distributed.hpp"
#include "core/bytes.hpp"
#include "cli/progress.hpp"
#include "core/error.hpp"
#include "io/file_util.hpp"
#include "training/evaluation.hpp"
#include "training/roc_plot.hpp"
#include "cli/training_stop.hpp"
#include "training/torch_error.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using tessera::Error;
using tessera::ByteReader;
using tessera::ByteWriter;
using namespace tessera::training;
using namespace tessera::cli;

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ','))
    if (!item.empty()) out.push_back(item);
  return out;
}

const char* kHelp = R"(Usage: tessera eval MODEL.onnx [MODEL.onnx ...] --data NAME [options]
       tessera eval --merge A.json B.json ... [--names ...] [--markdown/--csv/--json FILE]

Evaluates each model on the test split of NAME and on out-distributions, as in
Hein et al. (CVPR 2019), Table 1: test error; mean max-confidence (MMC) on the
test set; per out-distribution MMC, AUROC and FPR@95 (in-distribution =
positive, max softmax = score), and AUPR-In/AUPR-Out. Far-away inputs A*x are
scored in double precision through the core, and A = inf exactly through the
certificate of Theorem 3.1 (the limit confidence of the ray's last region).
Prints a Markdown table; --csv/--json/--markdown write files, --roc plots.

Examples:
  tessera eval data/models/trained/mnist_{plain,ceda,acet}.onnx --data mnist --names plain,ceda,acet
  tessera eval runs/a/model.onnx --data fmnist --out-dist mnist,uniform,far-test:1000 --count 500
  tessera eval m.onnx --data mnist --out-dist file:/data/emnist-letters-test-images-idx3-ubyte.gz
  tessera eval m1.onnx m2.onnx --data moons --json results.json --roc plots/

  tessera eval runs/{plain,ceda,acet}/model.onnx --data mnist --preset paper   # Table 1's protocol
  tessera eval runs/acet/model.onnx --data mnist --preset paper --json acet.json
  tessera eval --merge plain_ceda.json acet.json --markdown table.md     # one table from two runs

--merge puts the columns of earlier --json runs side by side, as if their
models had been evaluated in one run (each row's points and attacks depend
only on the seed and the row's place in the list, so they are, on the same
device): the runs must share the data (checked by fingerprints), the
settings, the device type and the rows, and be complete.

Out-distributions (--out-dist, comma-separated; default: the other MNIST-type
set, the paper's data-set rows that `tessera data` has converted (EMNIST and
grey CIFAR-10 for MNIST; SVHN, CIFAR-10, CIFAR-100 for each other), uniform,
noise, adv-noise, adv-samples, far-test:10,100,1000,inf and
far-noise:10,100,1000,inf). The row "Noise" is the training noise (half
permuted images, half uniform, low-pass filtered, rescaled): the paper's
Table 1 row "Noise"; "Uniform noise" is not in the paper's table.
)";

}  // namespace

int run(int argc, char** argv) {
  try {
    Ranks::world();  // starts MPI when launched by mpirun or srun
    po::options_description opts("Options");
    opts.add_options()
      ("data", po::value<std::string>()->default_value("mnist"), "in-distribution data set (its test split): mnist, fmnist, idx:DIR, moons, ...")
      ("names", po::value<std::string>(), "column headings, comma-separated (default: file names)")
      ("out-dist", po::value<std::string>(), "out-distributions, comma-separated (see above)")
      ("preset", po::value<std::string>(), "paper: the released code's evaluation (its row sizes: whole test splits in batches of 128, as many noise points; adversarial samples 80 steps, adversarial noise 200 steps from the paper's noise, its PGD start and noise); options given override it")
      ("count", po::value<int>()->default_value(1000), "points per out-distribution")
      ("test-count", po::value<int>()->default_value(-1), "in-distribution test points (-1: all)")
      ("eps", po::value<double>()->default_value(0.3), "l-inf radius of both attacks")
      ("adv-noise-steps", po::value<int>()->default_value(200), "PGD steps for adversarial noise (l-inf steps of eps/steps from a random start in the eps-ball, clipped to [0,1]; the most confident iterate is kept)")
      ("adv-sample-steps", po::value<int>()->default_value(40), "PGD steps for adversarial samples")
      ("adv-noise-start", po::value<std::string>()->default_value("uniform"), "where adversarial noise starts: uniform | noise (the paper's noise, as the row 'Noise')")
      ("seed", po::value<std::uint64_t>()->default_value(1), "seed for noise and attacks")
      ("markdown", po::value<std::string>(), "write the Markdown table to FILE")
      ("csv", po::value<std::string>(), "write CSV (one row per model and distribution) to FILE")
      ("json", po::value<std::string>()->implicit_value("-"), "write JSON to FILE (no FILE: stdout instead of the table)")
      ("roc", po::value<std::string>(), "write ROC curves DIR/roc_<model>.svg and .png")
      ("device", po::value<std::string>()->default_value("auto"), "auto | cpu | cuda | cuda:N")
      ("threads", po::value<int>()->default_value(0), "CPU threads (0: all cores)")
      ("data-dir", po::value<std::string>(), "where provisioned data sets live")
      ("fmnist-dir", po::value<std::string>(), "Fashion-MNIST's folder")
      ("progress", po::value<std::string>()->default_value("auto"), "progress bar: auto | on | off")
      ("time-limit", po::value<double>(), "stop after this many seconds, as Ctrl-C does (partial table; exit 4)")
      ("merge", po::value<std::vector<std::string>>()->multitoken(), "instead of evaluating: merge the tables of earlier --json runs (see above)")
      ("help,h", "show this help");
    po::options_description hidden;
    hidden.add_options()("model", po::value<std::vector<std::string>>(), "models");
    po::options_description all;
    all.add(opts).add(hidden);
    po::positional_options_description pos;
    pos.add("model", -1);
    po::variables_map vm;
    const po::parsed_options parsed = po::command_line_parser(argc, argv).options(all).positional(pos).run();
    tessera::cli::refuse_negative_unsigned(parsed, all);
    po::store(parsed, vm);
    if (vm.count("help")) {
      std::cout << kHelp;
      for (const auto& [n, d] : out_distribution_names()) std::cout << "  " << n << std::string(n.size() < 24 ? 24 - n.size() : 1, ' ') << d << "\n";
      std::cout << "\n" << opts << "\nExit status: 0 done, 1 bad input, 2 usage, 3 internal error, 4 interrupted (partial table).\n";
      return kOk;
    }
    po::notify(vm);
    const std::vector<std::string> names = vm.count("names") ? split(vm["names"].as<std::string>()) : std::vector<std::string>{};
    const auto write_outputs = [&](const EvalTable& table) {
      const std::string markdown = to_markdown(table);
      if (vm.count("markdown")) tessera::write_file_atomically(vm["markdown"].as<std::string>(), markdown);
      if (vm.count("csv")) tessera::write_file_atomically(vm["csv"].as<std::string>(), to_csv(table));
      const bool json_stdout = vm.count("json") && vm["json"].as<std::string>() == "-";
      if (vm.count("json") && !json_stdout) tessera::write_file_atomically(vm["json"].as<std::string>(), to_json(table).dump(2) + "\n");
      return json_stdout ? to_json(table).dump(2) + "\n" : markdown;
    };
    if (vm.count("merge")) {
      if (vm.count("model")) throw po::error("--merge reads tables, not models: give either MODEL.onnx files or --merge");
      for (const char* name : {"preset", "count", "test-count", "eps", "adv-noise-steps", "adv-sample-steps", "adv-noise-start", "seed",
                               "roc", "device", "threads", "data-dir", "fmnist-dir", "out-dist", "time-limit", "data"})
        if (vm.count(name) && !vm[name].defaulted())
          throw po::error(std::string("--") + name + " does not apply to --merge" +
                          (std::string(name) == "roc" ? " (the JSON holds no scores to plot)" : " (the tables were evaluated already)"));
      if (!Ranks::world().root()) return kOk;  // merging files: rank 0 alone
      const std::vector<std::string> files = vm["merge"].as<std::vector<std::string>>();
      std::vector<EvalTable> tables;
      for (const std::string& f : files) {
        nlohmann::json j;
        try {
          j = nlohmann::json::parse(tessera::read_file(f, 64LL << 20));
        } catch (const nlohmann::json::exception&) {
          throw Error(f + ": not JSON (--merge reads the files `tessera eval --json FILE` writes)");
        }
        try {
          tables.push_back(table_from_json(j));
        } catch (const Error& e) {
          throw Error(f + ": not a table of `tessera eval --json` (" + e.what() + ")");
        }
      }
      const EvalTable table = merge_tables(tables, files, names);
      for (const char* name : {"markdown", "csv", "json"})
        if (vm.count(name) && vm[name].as<std::string>() != "-") tessera::check_output_path(vm[name].as<std::string>());
      std::cout << write_outputs(table);
      return kOk;
    }
    if (!vm.count("model")) throw po::error("at least one MODEL.onnx is needed");

    EvalOptions o;
    if (vm.count("preset")) {
      if (vm["preset"].as<std::string>() != "paper") throw Error("unknown --preset '" + vm["preset"].as<std::string>() + "' (known: paper)");
      apply_paper_evaluation(o);
    }
    // Options given explicitly override the preset; defaults do not.
    const auto given = [&](const char* name) { return vm.count(name) && !vm[name].defaulted(); };
    o.data = vm["data"].as<std::string>();
    if (given("count") || !vm.count("preset")) {
      o.count = vm["count"].as<int>();
      o.paper_counts = false;
    }
    o.test_count = vm["test-count"].as<int>();
    if (o.test_count == 0) throw Error("--test-count 0 leaves no test points");
    if (given("eps") || !vm.count("preset")) o.adv_noise.eps = o.adv_samples.eps = vm["eps"].as<double>();
    if (given("adv-noise-steps") || !vm.count("preset")) o.adv_noise.steps = vm["adv-noise-steps"].as<int>();
    if (given("adv-sample-steps") || !vm.count("preset")) o.adv_samples.steps = vm["adv-sample-steps"].as<int>();
    if (given("adv-noise-start") || !vm.count("preset")) o.adv_noise_start = vm["adv-noise-start"].as<std::string>();
    if (!(o.adv_noise.eps >= 0) || o.adv_noise.steps < 0 || o.adv_samples.steps < 0) throw Error("--eps and the step counts must not be negative");
    o.seed = vm["seed"].as<std::uint64_t>();
    // Output paths are checked now, not after an evaluation of minutes.
    for (const char* name : {"markdown", "csv", "json"})
      if (vm.count(name) && vm[name].as<std::string>() != "-") tessera::check_output_path(vm[name].as<std::string>());
    if (o.count < 1) throw Error("--count must be at least 1");
    o.device = vm["device"].as<std::string>();
    o.threads = vm["threads"].as<int>();
    if (o.threads < 0) throw Error("--threads must be 0 (all cores) or a positive number");
    if (vm.count("data-dir")) o.data_options.data_dir = vm["data-dir"].as<std::string>();
    if (vm.count("fmnist-dir")) o.data_options.fmnist_dir = vm["fmnist-dir"].as<std::string>();
    if (vm.count("out-dist")) {
      o.out_distributions = split(vm["out-dist"].as<std::string>());
      if (o.out_distributions.empty()) throw Error("--out-dist: no out-distribution named");
    }
    const std::string progress = vm["progress"].as<std::string>();
    if (progress != "auto" && progress != "on" && progress != "off") throw po::error("--progress must be auto, on or off");
    LabelledProgress bars(progress == "on" || (progress == "auto" && ProgressBar::stderr_is_terminal()));
    o.on_progress = [&bars](std::size_t done, std::size_t total, const std::string& label) { bars.update(done, total, label); };
    training_stop::install_stop_handlers();
    o.should_stop = [] { return training_stop::stop_requested().load(); };
    if (vm.count("time-limit")) training_stop::set_time_limit(vm["time-limit"].as<double>());

    // Under mpirun or srun the ranks share the table's cells (each model's
    // test set and rows); rank 0 assembles the table and writes it.
    const Ranks& ranks = Ranks::world();
    std::unique_ptr<WorkQueue> queue;
    if (ranks.distributed()) {
      if (!ranks.root()) bars = LabelledProgress(false);
      if (o.threads == 0) o.threads = omp_get_max_threads();  // this rank's share of the cores
      o.on_progress = [&](std::size_t done, std::size_t total, const std::string& label) {
        bars.update(queue ? queue->handed_out() : done, total, label);
      };
      o.next_cell = [&](std::size_t cells) {
        if (!queue) queue = std::make_unique<WorkQueue>(ranks, cells);
        return queue->next();
      };
      o.exchange = [&](std::vector<EvalCell> cells) -> std::optional<std::vector<EvalCell>> {
        if (!queue) queue = std::make_unique<WorkQueue>(ranks, 0);  // stopped before the first cell
        queue->close();
        SetPart mine;
        mine.complete = !training_stop::stop_requested().load();
        for (const EvalCell& c : cells) {
          ByteWriter w;
          w.put(c.test_error);
          w.put_vector(c.scores);
          mine.items.emplace_back(static_cast<std::int64_t>(c.index), w.take());
        }
        std::vector<EvalCell> all;
        const std::vector<SetPart> parts = gather_parts(ranks, mine);
        if (!ranks.root()) return std::nullopt;
        report_shares(ranks, parts, "eval", "cells (test sets and rows)");
        for (const auto& [index, bytes] : items_in_order(parts)) {
          ByteReader r(bytes);
          EvalCell c;
          c.index = static_cast<std::size_t>(index);
          c.test_error = r.get<double>();
          c.scores = r.get_vector<double>();
          all.push_back(std::move(c));
        }
        return all;
      };
    }
    const EvalTable table = evaluate(vm["model"].as<std::vector<std::string>>(), names, o);
    bars.finish();
    if (!ranks.root()) return kOk;
    const std::string shown = write_outputs(table);
    if (vm.count("roc")) {
      const std::string dir = vm["roc"].as<std::string>();
      std::error_code ec;
      fs::create_directories(dir, ec);
      if (!fs::is_directory(dir)) throw Error(dir + ": cannot create the folder for ROC plots");
      for (const auto& m : table.models) {
        std::string stem = m.name;
        for (char& c : stem)
          if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') c = '_';
        write_roc_plot(dir + "/roc_" + stem + ".svg", m);
        write_roc_plot(dir + "/roc_" + stem + ".png", m);
      }
    }
    std::cout << shown;
    if (!table.complete) {
      std::cerr << "tessera eval: " << (training_stop::time_limit_reached() ? "time limit reached" : "interrupted")
                << "; the table above is partial\n";
      return kIncomplete;
    }
    return kOk;
  } catch (...) {
    // One rank failed: it ends the whole job (rank 0 first when all fail alike).
    const bool ranks = Ranks::started() && Ranks::world().distributed();
    if (ranks && !Ranks::world().root()) std::this_thread::sleep_for(std::chrono::milliseconds(500));
    const int status = report_failure("eval", [](const std::exception& e) -> std::optional<ForeignError> {
      if (auto m = libtorch_error_message(e)) return ForeignError{"LibTorch", *m};
      return std::nullopt;
    });
    if (ranks) Ranks::abort(status);
    return status;
  }
}

int main(int argc, char** argv) {
  const int status = run(argc, argv);
  Ranks::finalize();
  return status;
}
