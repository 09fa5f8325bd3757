#include "cli/common.hpp"
#include "cli/distributed.hpp"

#include "io/input_box.hpp"

#include <cstdio>
#include <iostream>
#include <new>
#include <sstream>

#include "cli/progress.hpp"
#include "cli/stop.hpp"
#include "core/error.hpp"
#include "io/file_util.hpp"
#include "core/limits.hpp"

namespace tessera::cli {

bool parse(const std::vector<std::string>& args, const po::options_description& visible,
           const po::positional_options_description& positional, po::variables_map& vm, const std::string& usage,
           const std::string& examples, const po::options_description* hidden, bool out_is_folder) {
  po::options_description all;
  all.add(visible);
  if (hidden) all.add(*hidden);
  const po::parsed_options parsed = po::command_line_parser(args).options(all).positional(positional).run();
  refuse_negative_unsigned(parsed, all);
  po::store(parsed, vm);
  if (vm.count("help")) {
    write_stdout("Usage: " + usage + "\n\n" + [&] {
      std::ostringstream s;
      s << visible;
      return s.str();
    }() + "\nExamples:\n" + examples);
    return false;
  }
  po::notify(vm);
  if (vm.count("max-memory")) set_memory_budget(parse_mebibytes(vm["max-memory"].as<std::string>(), "--max-memory"));
  if (vm.count("time-limit")) set_time_limit(vm["time-limit"].as<double>());
  if (vm.count("progress")) {
    const std::string p = vm["progress"].as<std::string>();
    if (p != "auto" && p != "on" && p != "off") throw Error("--progress '" + p + "': expected auto, on or off");
  }
  for (const char* name : {"output", "out", "svg", "png", "vtp", "csv", "markdown", "argmax-out"})
    if (vm.count(name) && !vm[name].empty() && !(out_is_folder && std::string(name) == "out")) {
      const auto* v = boost::any_cast<std::string>(&vm[name].value());
      if (v) check_output_path(*v);
    }
  return true;
}

po::options_description limit_options() {
  po::options_description o("Limits");
  o.add_options()("time-limit", po::value<double>(),
                  "stop after this many seconds with a partial result (exit 4), as Ctrl-C does")(
      "max-memory", po::value<std::string>(),
      "memory budget in MiB for models, data and results, checked before allocating (default: "
      "TESSERA_MAX_MEMORY_MB, else half of physical memory)")(
      "progress", po::value<std::string>()->default_value("auto")->implicit_value("on"),
      "progress on stderr: auto (when stderr is a terminal), on or off");
  return o;
}

bool progress_wanted(const po::variables_map& vm, bool quiet) {
  const std::string p = vm.count("progress") ? vm["progress"].as<std::string>() : "auto";
  if (p == "on") return true;
  if (p == "off" || vm.count("no-progress")) return false;
  return !quiet && ProgressBar::stderr_is_terminal();
}

std::string BoxOption::describe() const {
  if (!lower.size()) return "the box [" + fmt(lo) + ", " + fmt(hi) + "]^d";
  const InputBox b{lower, upper, file};
  if (b.is_uniform()) return "the box [" + fmt(lower[0]) + ", " + fmt(upper[0]) + "]^d of " + file;
  return "the per-coordinate box of " + file;
}

nlohmann::json BoxOption::to_json() const {
  if (!enabled) return nullptr;
  if (!lower.size()) return {lo, hi};
  return {{"file", file}, {"lower", tessera::to_json(lower)}, {"upper", tessera::to_json(upper)}};
}

BoxOption parse_box(const po::variables_map& vm, bool image_default, Eigen::Index inputs) {
  BoxOption box;
  box.enabled = image_default;
  if (vm.count("box-file")) {
    if (vm.count("box")) throw Error("--box and --box-file: give one of them, not both");
    box.file = vm["box-file"].as<std::string>();
    const InputBox b = read_input_box(box.file, inputs);
    box.lower = b.lo;
    box.upper = b.hi;
    box.enabled = true;
    return box;
  }
  if (!vm.count("box")) return box;
  const std::string b = vm["box"].as<std::string>();
  if (b == "none") {
    box.enabled = false;
    return box;
  }
  const auto colon = b.find(':');
  size_t u1 = 0, u2 = 0;
  try {
    box.lo = std::stod(b.substr(0, colon), &u1);
    box.hi = std::stod(b.substr(colon + 1), &u2);
  } catch (...) {
    u1 = 0;
  }
  if (colon == std::string::npos || u1 != colon || u2 != b.size() - colon - 1)
    throw Error("--box '" + b + "': expected lo:hi (for example 0:1) or none");
  box.enabled = true;
  return box;
}

bool parse_model_command(const std::vector<std::string>& args, const po::options_description& visible,
                         po::variables_map& vm, const std::string& usage, const std::string& examples) {
  po::options_description hidden;
  hidden.add_options()("model", po::value<std::string>()->required(), "ONNX model");
  po::positional_options_description pos;
  pos.add("model", 1);
  return parse(args, visible, pos, vm, usage, examples, &hidden);
}

int report_failure(const std::string& command, const ForeignErrorHook& foreign) {
  // Under MPI, which rank failed (the others end with it).
  const std::string rank = Ranks::started() ? Ranks::world().label() : "";
  const std::string who = "tessera " + command + (rank.empty() ? "" : " (" + rank + ")");
  // One write per message: ranks share the terminal, and pieces interleave.
  std::ostringstream line;
  const auto say = [&line] {
    std::cerr << line.str() << std::flush;
  };
  try {
    throw;
  } catch (const Error& e) {
    line << who << ": error: " << e.what() << "\n";
    say();
    return kBadInput;
  } catch (const po::error& e) {
    line << who << ": usage error: " << e.what() << " (see tessera " << command << " --help)\n";
    say();
    return kUsage;
  } catch (const std::bad_alloc&) {
    line << who << ": error: out of memory\n";
    say();
    return kBadInput;
  } catch (const std::exception& e) {
    if (foreign)
      if (const std::optional<ForeignError> f = foreign(e)) {
        line << who << ": internal error (" << f->library << "): " << f->message << "\n";
        say();
        return kInternal;
      }
    line << who << ": internal error: " << e.what() << "\n";
    say();
    return kInternal;
  } catch (...) {
    line << who << ": internal error: an exception of unknown type\n";
    say();
    return kInternal;
  }
}

std::string fmt(double v, int precision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
}

void emit(const std::string& text, const std::string& path) {
  if (path.empty() || path == "-") {
    write_stdout(text);
  } else {
    write_file_atomically(path, text);
  }
}

}  // namespace tessera::cli
