// tessera-laplace (also run as `tessera laplace`): fits a last-layer Laplace
// posterior to a trained model (training/laplace_fit.hpp) and writes the
// model with its posterior as one ONNX file (io/laplace_io.hpp), which
// `tessera certify` and the Python module then read.
#include <boost/program_options.hpp>
#include <filesystem>
#include <iostream>
#include <sstream>

#include "cli/common.hpp"
#include "cli/distributed.hpp"
#include "cli/progress.hpp"
#include "cli/training_stop.hpp"
#include "core/error.hpp"
#include "core/limits.hpp"
#include "io/file_util.hpp"
#include "io/laplace_io.hpp"
#include "io/onnx_io.hpp"
#include "training/laplace_fit.hpp"
#include "training/torch_error.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;
using tessera::Error;
using namespace tessera::training;
using namespace tessera::cli;

namespace {

const char* kHelp = R"(Usage: tessera laplace MODEL.onnx --data NAME [--out FILE] [options]

Fits a Gaussian (Laplace) posterior over the weights and biases of the
model's last dense layer, as in Kristiadi, Hein & Hennig (ICML 2020): the
Hessian of the cross-entropy summed over the training split (exact for the
last layer) plus a prior precision tau. tau is chosen on a held-out part of
the training split by their criterion: the negative log-likelihood of the
probit predictive there, plus --ood-weight times its cross-entropy to the
uniform distribution on uniform noise (0: the likelihood alone, which on a
well-fitted network picks the largest tau, i.e. the network itself). The covariance is full when it fits --max-full-mb, else
Kronecker-factored (K-FAC). Writes the model with its posterior as one ONNX
file (default: MODEL.laplace.onnx): any ONNX tool runs it as the original
network; `tessera certify` reports its predictive confidence and its exact
limit far away along each ray, which stays below 1.

Examples:
  tessera laplace data/models/trained/moons_plain.onnx --data moons --out moons_plain.laplace.onnx
  tessera laplace data/models/trained/mnist_plain.onnx --data mnist
  tessera laplace runs/lenet/model.onnx --data fmnist --structure kronecker --device cuda
  tessera laplace m.onnx --data mnist --prior-precision 0.01,0.1,1,10 --validation 0.2 --json
  tessera certify mnist_plain.laplace.onnx --noise uniform --count 1000
)";

std::vector<double> parse_list(const std::string& s) {
  std::vector<double> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    try {
      std::size_t used = 0;
      out.push_back(std::stod(item, &used));
      if (used != item.size()) throw std::invalid_argument(item);
    } catch (const std::exception&) {
      throw Error("--prior-precision '" + item + "' is not a number");
    }
  }
  if (out.empty()) throw Error("--prior-precision: no value given");
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    po::options_description opts("Options");
    opts.add_options()
      ("data", po::value<std::string>(), "the training data set: mnist, fmnist, idx:DIR, moons, ... (its training split)")
      ("out,o", po::value<std::string>(), "the model with its posterior (default: MODEL.laplace.onnx)")
      ("structure", po::value<std::string>()->default_value("auto"), "full | kronecker | auto (full when it fits --max-full-mb)")
      ("max-full-mb", po::value<double>()->default_value(256), "largest full covariance for --structure auto, MiB")
      ("prior-precision", po::value<std::string>(), "prior precisions to choose from, comma-separated (default: 1e-6 ... 1e4 in half decades)")
      ("validation", po::value<double>()->default_value(0.1), "part of the training split held out to choose the prior precision (0: only with one --prior-precision)")
      ("ood-weight", po::value<double>()->default_value(0.25), "lambda of the criterion: validation NLL + lambda x cross-entropy to uniform on uniform noise (0: the NLL alone)")
      ("max-points", po::value<std::int64_t>()->default_value(-1), "use at most this many training points (-1: all)")
      ("seed", po::value<std::uint64_t>()->default_value(1), "seed of the validation split (and of synthetic data)")
      ("batch", po::value<int>()->default_value(500), "points per batch")
      ("device", po::value<std::string>()->default_value("auto"), "auto | cpu | cuda | cuda:N")
      ("threads", po::value<int>()->default_value(0), "CPU threads (0: all cores)")
      ("data-dir", po::value<std::string>(), "where provisioned data sets live")
      ("fmnist-dir", po::value<std::string>(), "Fashion-MNIST's folder")
      ("json", "print the fit's summary as JSON")
      ("progress", po::value<std::string>()->default_value("auto"), "progress bar: auto | on | off")
      ("time-limit", po::value<double>(), "stop after this many seconds, as Ctrl-C does (nothing is written; exit 4)")
      ("max-memory", po::value<std::string>(), "memory budget in MiB (default: TESSERA_MAX_MEMORY_MB or half the memory)")
      ("help,h", "show this help");
    po::options_description hidden;
    hidden.add_options()("model", po::value<std::vector<std::string>>(), "model");
    po::options_description all;
    all.add(opts).add(hidden);
    po::positional_options_description pos;
    pos.add("model", -1);
    po::variables_map vm;
    const po::parsed_options parsed = po::command_line_parser(argc, argv).options(all).positional(pos).run();
    refuse_negative_unsigned(parsed, all);
    po::store(parsed, vm);
    if (vm.count("help")) {
      std::cout << kHelp << "\n" << opts
                << "\nExit status: 0 done, 1 bad input, 2 usage, 3 internal error, 4 interrupted (nothing written).\n";
      return kOk;
    }
    po::notify(vm);
    if (const int n = Ranks::announced(); n > 1)  // several copies would write the same file
      throw Error("tessera laplace does not share its work between processes: run it as one process, not as " +
                  std::to_string(n) + " (mpirun, srun)");
    if (!vm.count("model")) throw po::error("a MODEL.onnx is needed");
    const auto models = vm["model"].as<std::vector<std::string>>();
    if (models.size() != 1) throw po::error("give one MODEL.onnx (got " + std::to_string(models.size()) + ")");
    if (!vm.count("data")) throw po::error("--data NAME is needed (the data the model was trained on)");
    const std::string model_path = models[0];
    std::string out = vm.count("out") ? vm["out"].as<std::string>() : "";
    if (out.empty()) {
      fs::path p(model_path);
      out = (p.parent_path() / (p.stem().string() + ".laplace.onnx")).string();
    }
    if (fs::exists(out) && fs::exists(model_path) && fs::equivalent(out, model_path))
      throw Error("--out " + out + " is the model itself: write the posterior to another file");
    tessera::check_output_path(out);
    if (vm.count("max-memory")) tessera::set_memory_budget(tessera::parse_mebibytes(vm["max-memory"].as<std::string>(), "--max-memory"));

    LaplaceFitOptions o;
    o.structure = vm["structure"].as<std::string>();
    const double max_full_mb = vm["max-full-mb"].as<double>();
    if (!(max_full_mb > 0) || !(max_full_mb <= 1e9)) throw Error("--max-full-mb must be a positive number of MiB (at most 1e9)");
    o.max_full_bytes = static_cast<std::int64_t>(max_full_mb * 1048576.0);
    if (vm.count("prior-precision")) o.prior_precisions = parse_list(vm["prior-precision"].as<std::string>());
    o.validation_fraction = vm["validation"].as<double>();
    o.ood_weight = vm["ood-weight"].as<double>();
    o.max_points = vm["max-points"].as<std::int64_t>();
    if (o.max_points == 0 || o.max_points < -1) throw Error("--max-points must be a positive number (or -1: all)");
    o.seed = vm["seed"].as<std::uint64_t>();
    o.batch = vm["batch"].as<int>();
    o.device = vm["device"].as<std::string>();
    const int threads = vm["threads"].as<int>();
    if (threads < 0) throw Error("--threads must be 0 (all cores) or a positive number");
    if (threads > 0) torch::set_num_threads(threads);

    const std::string model_bytes = tessera::read_file(model_path);
    tessera::OnnxLoadOptions load_options;
    load_options.read_laplace = false;  // any stored posterior is replaced (and may be broken)
    const tessera::Network net = tessera::parse_onnx(model_bytes, model_path, load_options);
    DataOptions data_options;
    data_options.seed = o.seed;
    if (vm.count("data-dir")) data_options.data_dir = vm["data-dir"].as<std::string>();
    if (vm.count("fmnist-dir")) data_options.fmnist_dir = vm["fmnist-dir"].as<std::string>();
    const Dataset data = load_dataset(vm["data"].as<std::string>(), data_options);

    const std::string progress = vm["progress"].as<std::string>();
    if (progress != "auto" && progress != "on" && progress != "off") throw po::error("--progress must be auto, on or off");
    LabelledProgress bars(progress == "on" || (progress == "auto" && ProgressBar::stderr_is_terminal()));
    o.on_progress = [&bars](std::size_t done, std::size_t total, const std::string& label) { bars.update(done, total, label); };
    training_stop::install_stop_handlers();
    o.should_stop = [] { return training_stop::stop_requested().load(); };
    if (vm.count("time-limit")) training_stop::set_time_limit(vm["time-limit"].as<double>());

    LaplaceFitResult r = fit_laplace(net, data, o);
    bars.finish();
    if (!r.complete) {
      std::cerr << "tessera laplace: " << (training_stop::time_limit_reached() ? "time limit reached" : "interrupted")
                << "; nothing written\n";
      return kIncomplete;
    }
    std::ostringstream fitted;
    fitted << data.name << " training split: " << r.fit_points << " points for the Hessian, " << r.validation_points
           << " for the prior precision (seed " << o.seed << ")";
    r.head.fitted_on = fitted.str();
    tessera::save_laplace_model(model_bytes, r.head, out, model_path);

    if (vm.count("json")) {
      nlohmann::json j;
      j["model"] = model_path;
      j["out"] = out;
      j["data"] = data.name;
      j["structure"] = r.head.structure_name();
      j["layer"] = r.head.layer;
      j["classes"] = r.head.classes();
      j["features"] = r.head.features();
      j["fit_points"] = r.fit_points;
      j["validation_points"] = r.validation_points;
      j["ood_weight"] = o.ood_weight;
      j["prior_precision"] = r.head.prior_precision;
      j["validation_nll"] = r.chosen.nll;
      j["noise_cross_entropy"] = r.chosen.noise;
      j["map_validation_nll"] = r.map_nll;
      j["map_noise_cross_entropy"] = r.map_noise;
      j["map_validation_error"] = r.validation_error;
      nlohmann::json grid = nlohmann::json::array();
      for (const auto& p : r.grid)
        grid.push_back({{"prior_precision", p.prior_precision}, {"validation_nll", p.nll}, {"noise_cross_entropy", p.noise},
                        {"objective", p.objective}});
      j["grid"] = grid;
      std::cout << j.dump(2) << "\n";
    } else {
      auto col = [](const std::string& t, std::size_t w) { return t + std::string(t.size() < w ? w - t.size() : 1, ' '); };
      std::cout << "model              " << model_path << "\n"
                << "fitted on          " << r.head.fitted_on << "\n"
                << "last layer         '" << r.head.layer << "': " << r.head.classes() << " classes x " << r.head.features()
                << " features + bias\n"
                << "covariance         " << r.head.structure_name() << "\n";
      if (!r.grid.empty()) {
        std::cout << "criterion          validation NLL + " << fmt(o.ood_weight)
                  << " x cross-entropy to uniform on as many uniform-noise points\n"
                  << "  " << col("prior precision", 18) << col("validation NLL", 16) << col("noise CE", 12) << "objective\n";
        for (const auto& p : r.grid)
          std::cout << "  " << col(fmt(p.prior_precision), 18) << col(fmt(p.nll), 16) << col(fmt(p.noise), 12)
                    << fmt(p.objective) << (p.prior_precision == r.head.prior_precision ? "   <- chosen" : "") << "\n";
      }
      const bool edge = r.grid.size() > 1 && (r.head.prior_precision == r.grid.front().prior_precision ||
                                              r.head.prior_precision == r.grid.back().prior_precision);
      std::cout << "chosen             prior precision " << fmt(r.head.prior_precision) << ": validation NLL "
                << fmt(r.chosen.nll) << ", noise CE " << fmt(r.chosen.noise)
                << (edge ? " (at the edge of the grid: the criterion may prefer a value beyond it)" : "") << "\n"
                << "the network itself validation NLL " << fmt(r.map_nll) << ", noise CE " << fmt(r.map_noise) << ", error "
                << fmt(100 * r.validation_error) << " %\n"
                << "written            " << out << "\n";
    }
    return kOk;
  } catch (...) {
    return report_failure("laplace", [](const std::exception& e) -> std::optional<ForeignError> {
      if (auto m = libtorch_error_message(e)) return ForeignError{"LibTorch", *m};
      return std::nullopt;
    });
  }
}
