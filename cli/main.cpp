// tessera: command-line entry point. Each subcommand lives in its own file.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <thread>
#include <filesystem>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/distributed.hpp"
#include "cli/stop.hpp"
#include "core/error.hpp"

namespace {

struct Command {
  const char* name;
  const char* summary;
  int (*run)(const std::vector<std::string>&);
};

const Command kCommands[] = {
    {"info", "describe a model: layers, shapes, parameters, piecewise-affine structure", tessera::cli::run_info},
    {"affine", "logits, activation pattern and local affine map V(x), a(x) at an input", tessera::cli::run_affine},
    {"ray", "the linear regions crossed by the ray alpha*x or a line, exactly", tessera::cli::run_ray},
    {"certify", "Theorem 3.1 for an input or a set: last region, limit class, alpha*", tessera::cli::run_certify},
    {"bound", "provable bounds on the confidence over a box or ball of inputs: ibp, crown, exact", tessera::cli::run_bound},
    {"region", "one input's linear region as a polytope: facets, boundedness, inradius", tessera::cli::run_region},
    {"slice", "the exact linear regions on a 2-D slice: polygons, JSON, SVG", tessera::cli::run_slice},
    {"convert", "load a model and write it back as ONNX (normalised, folded)", tessera::cli::run_convert},
    {"examples", "regenerate the example models and inputs shipped in data/", tessera::cli::run_examples},
    {"data", "convert a public image data set (EMNIST, CIFAR, SVHN) into IDX files", tessera::cli::run_data},
};

// `tessera train` and `tessera eval` run tessera-train and tessera-eval, the
// LibTorch programs next to this one (separate programs so that the other
// commands do not load LibTorch).
int run_torch_program(const std::string& command, char** argv) {
  const std::string program = "tessera-" + command;
  std::error_code ec;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", ec);
  std::vector<std::string> candidates;
  if (!ec) candidates.push_back((self.parent_path() / program).string());
#ifdef TESSERA_TRAIN_EXE
  candidates.push_back(std::filesystem::path(TESSERA_TRAIN_EXE).parent_path() / program);
#endif
  for (const std::string& exe : candidates) {
    if (access(exe.c_str(), X_OK) != 0) continue;
    argv[1] = const_cast<char*>(exe.c_str());
    execv(exe.c_str(), argv + 1);
    std::cerr << "tessera " << command << ": error: cannot run " << exe << ": " << std::strerror(errno) << "\n";
    return tessera::cli::kInternal;
  }
  std::cerr << "tessera " << command << ": error: this build has no training module; install libtorch-dev and configure with "
               "-DTESSERA_BUILD_TRAINING=ON (scripts/setup.sh does both)\n";
  return tessera::cli::kBadInput;
}

// Ends MPI, when it was started, before the process exits.
int finish(int status) {
  tessera::cli::Ranks::finalize();
  return status;
}

void print_usage(std::ostream& out) {
  out << "tessera - compute, certify and show the linear regions of ReLU networks\n\n"
         "Usage: tessera <command> [options]   (tessera <command> --help for details)\n\nCommands:\n";
  for (const Command& c : kCommands) out << "  " << c.name << std::string(10 - std::strlen(c.name), ' ') << c.summary << "\n";
  out << "  train     train plain, CEDA or ACET models (LibTorch, CPU or CUDA) and export them to ONNX\n";
  out << "  eval      the out-of-distribution table (MMC, AUROC, FPR@95) of models, far-away inputs included\n";
  out << "  laplace   fit a last-layer Laplace posterior to a model (LibTorch); certify then gives its limit below 1\n";
  out << "\nExit status: 0 success, 1 bad input (model, data or value), 2 usage error, 3 internal error,\n"
         "4 incomplete (a traversal hit --max-segments, or a run was interrupted; partial result printed or checkpoint saved).\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    print_usage(std::cerr);
    return tessera::cli::kUsage;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    print_usage(std::cout);
    return tessera::cli::kOk;
  }
  if (name == "--version") {
    std::cout << "tessera 0.1.0\n";
    return tessera::cli::kOk;
  }
  if (name == "train" || name == "eval" || name == "laplace") return run_torch_program(name, argv);
  const std::vector<std::string> args(argv + 2, argv + argc);
  for (const Command& c : kCommands) {
    if (name != c.name) continue;
    tessera::cli::install_stop_handlers();
    try {
      // Launched as MPI ranks (mpirun, srun): certify, bound and ray share
      // their sets; the other commands run as one process only.
      const tessera::cli::Ranks& ranks = tessera::cli::Ranks::world();
      if (name != "certify" && name != "bound" && name != "ray") ranks.require_one(name);
      const int status = finish(c.run(args));
      // Whatever went to stdout must have arrived (a full disk, /dev/full).
      std::cout.flush();
      if (!std::cout || std::fflush(stdout) != 0 || std::ferror(stdout)) {
        std::cerr << "tessera " << name << ": error: standard output: write failed: " << std::strerror(errno) << "\n";
        return finish(tessera::cli::kBadInput);
      }
      // (`tessera data` writes nothing when stopped, and says so itself.)
      if (status == tessera::cli::kIncomplete && tessera::cli::stop_requested() && name != "data")
        std::cerr << "tessera " << name << ": " << tessera::cli::stop_reason() << "; the result is partial (exit status 4)\n";
      return status;
    } catch (...) {
      // One rank failed: end the whole job with its message and status. A
      // rank other than 0 waits a moment first: when every rank fails alike
      // (a bad option), rank 0's message alone is printed before the job ends.
      const bool ranks = tessera::cli::Ranks::started() && tessera::cli::Ranks::world().distributed();
      if (ranks && !tessera::cli::Ranks::world().root()) std::this_thread::sleep_for(std::chrono::milliseconds(500));
      const int status = tessera::cli::report_failure(name);
      if (ranks) tessera::cli::Ranks::abort(status);
      return finish(status);
    }
  }
  std::cerr << "tessera: unknown command '" << name << "' (see tessera --help)\n";
  return tessera::cli::kUsage;
}
