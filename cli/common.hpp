// Shared pieces of the tessera subcommands: exit statuses, loading, output.
#pragma once

#include <boost/program_options.hpp>
#include <exception>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/error.hpp"
#include "core/network.hpp"
#include "export/json.hpp"

namespace tessera::cli {

// Exit statuses (documented in docs/user-guide.md).
enum ExitStatus : int {
  kOk = 0,
  kBadInput = 1,   // a model, data file or value was rejected (message names it)
  kUsage = 2,      // unknown command, unknown or missing option
  kInternal = 3,   // a bug: please report it
  kIncomplete = 4, // a traversal stopped at --max-segments (or was interrupted): partial result
};

namespace po = boost::program_options;

// An exception type cli/ does not know (LibTorch's c10::Error, in
// tessera-train and tessera-eval): the hook returns {"LibTorch", first line
// of the message} for it and std::nullopt for anything else. cli/ never
// includes the headers of such a type.
struct ForeignError {
  std::string library;
  std::string message;
};
using ForeignErrorHook = std::function<std::optional<ForeignError>(const std::exception&)>;

// The one error report of every tessera program (tessera, tessera-train,
// tessera-eval). Call from a catch (...) block: prints one line on stderr
// for the exception in flight and returns the exit status:
//   tessera::Error        "tessera CMD: error: ..."                      kBadInput
//   po::error             "tessera CMD: usage error: ... (see tessera CMD --help)"  kUsage
//   std::bad_alloc        "tessera CMD: error: out of memory"            kBadInput
//   foreign (the hook)    "tessera CMD: internal error (LIBRARY): ..."   kInternal
//   other std::exception  "tessera CMD: internal error: ..."             kInternal
int report_failure(const std::string& command, const ForeignErrorHook& foreign = nullptr);

// Parses args (without the command name) into vm; prints --help text and
// returns false when help was asked for. Throws po::error on bad usage, and
// tessera::Error for a negative number given to an unsigned option. Then
// applies the shared limits when the command has them (--time-limit,
// --max-memory, --progress; see limit_options()) and checks that every
// output path (--output, --svg, --png, --vtp, --csv) can be written, so a
// bad path fails before the computation, not after it. --out is checked
// as a file too, unless out_is_folder (a command that writes a folder of
// files checks it itself).
bool parse(const std::vector<std::string>& args, const po::options_description& visible,
           const po::positional_options_description& positional, po::variables_map& vm,
           const std::string& usage, const std::string& examples, const po::options_description* hidden = nullptr,
           bool out_is_folder = false);

// Boost reads "-1" into an unsigned option as 2^64 - 1: throws
// tessera::Error "--seed '-1': must be a whole number >= 0" instead.
inline void refuse_negative_unsigned(const po::parsed_options& parsed, const po::options_description& all) {
  for (const auto& opt : parsed.options) {
    const auto* d = all.find_nothrow(opt.string_key, false);
    if (!d) continue;
    const auto* sem = d->semantic().get();
    const bool is_unsigned = dynamic_cast<const po::typed_value<std::size_t>*>(sem) ||
                             dynamic_cast<const po::typed_value<std::uint64_t>*>(sem) ||
                             dynamic_cast<const po::typed_value<unsigned>*>(sem);
    if (!is_unsigned) continue;
    for (const std::string& v : opt.value) {
      const auto first = v.find_first_not_of(" \t");
      if (first != std::string::npos && v[first] == '-')
        throw Error("--" + opt.string_key + " '" + v + "': must be a whole number >= 0");
    }
  }
}

// --time-limit SECONDS, --max-memory MB and --progress auto|on|off: the
// options of every command that can run long.
po::options_description limit_options();

// Whether to draw progress on stderr: --progress on, or auto (the default)
// when stderr is a terminal and `quiet` (e.g. JSON on stdout) is false.
bool progress_wanted(const po::variables_map& vm, bool quiet = false);


// Parses --box: "lo:hi" or "none"; without the option, a box [0, 1] is on
// for image models (image_default) and off otherwise. --box-file FILE (if
// the command has it) gives one interval per input instead (a VNN-LIB file
// or two rows of numbers; io/input_box.hpp) for a network with `inputs`
// inputs.
struct BoxOption {
  bool enabled = false;
  double lo = 0.0, hi = 1.0;
  Vector lower, upper;  // from --box-file (empty otherwise)
  std::string file;
  // "the box [0, 1]^d" or "the per-coordinate box of FILE".
  std::string describe() const;
  // For JSON: [lo, hi], or {"file": FILE, "lower": [...], "upper": [...]}.
  nlohmann::json to_json() const;
};
BoxOption parse_box(const po::variables_map& vm, bool image_default, Eigen::Index inputs = 0);
// Copies the box into options with has_box, box_lo/box_hi and
// box_lower/box_upper (CertifyOptions, RegionOptions).
template <class Options>
void apply_box(const BoxOption& box, Options& o) {
  o.has_box = box.enabled;
  o.box_lo = box.lo;
  o.box_hi = box.hi;
  o.box_lower = box.lower;
  o.box_upper = box.upper;
}

// parse() for the usual shape of a subcommand: one positional MODEL.onnx.
bool parse_model_command(const std::vector<std::string>& args, const po::options_description& visible,
                         po::variables_map& vm, const std::string& usage, const std::string& examples);

// Formats numbers for tables: %.*g.
std::string fmt(double v, int precision = 6);

// Writes text to path atomically, or to stdout when path is "-" or empty;
// a failed write (a full disk, a closed pipe) throws tessera::Error.
void emit(const std::string& text, const std::string& path);

}  // namespace tessera::cli
