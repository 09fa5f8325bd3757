// tessera ray: the regions crossed by the ray alpha*x or by a line.
#include <cmath>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/stop.hpp"
#include "core/error.hpp"
#include "io/input_io.hpp"
#include "io/onnx_io.hpp"
#include "regions/line_traversal.hpp"

namespace tessera::cli {

namespace {

double parse_t(const std::string& s, const char* what) {
  if (s == "inf" || s == "+inf") return std::numeric_limits<double>::infinity();
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (...) {
    used = 0;
  }
  if (used != s.size() || !std::isfinite(v)) throw Error(std::string(what) + " '" + s + "' is not a number");
  return v;
}

}  // namespace

int run_ray(const std::vector<std::string>& args) {
  po::options_description common("Options");
  common.add_options()("help,h", "show this help")(
      "input,i", po::value<std::string>(), "the input x of the ray alpha*x (vector, PNG/PGM image or IDX file)")(
      "row,r", po::value<int>()->default_value(-1), "row of an IDX or text file")(
      "alpha0", po::value<double>()->default_value(1e-6), "start of the ray (> 0)")(
      "json", "print JSON")("csv", "print CSV (one row per segment)")(
      "output,o", po::value<std::string>(), "write to this file (atomically) instead of stdout");
  po::options_description line("Lines instead of the ray");
  line.add_options()("from", po::value<std::string>(), "start point x0 (file); with --to: the segment x0 -> x1")(
      "to", po::value<std::string>(), "end point x1 (file): direction x1 - x0, t from 0 to 1")(
      "origin", po::value<std::string>(), "x0 (file), with --direction: the line x0 + t*d")(
      "direction", po::value<std::string>(), "d (file)")(
      "t0", po::value<std::string>()->default_value("0"), "start of t for --origin/--direction")(
      "t1", po::value<std::string>()->default_value("inf"), "end of t (a number or inf)");
  po::options_description advanced("Advanced");
  advanced.add_options()("max-segments", po::value<std::size_t>()->default_value(1'000'000),
                         "stop after this many segments (the result is then marked partial)")(
      "no-point-segments", "do not report regions met only at a single point");
  po::options_description visible;
  visible.add(common).add(line).add(advanced).add(limit_options());
  po::variables_map vm;
  if (!parse_model_command(args, visible, vm, "tessera ray MODEL.onnx (--input FILE | --from A --to B | --origin A --direction D) [options]",
             "  tessera ray data/models/toy2d.onnx --input data/inputs/toy2d_point.txt\n"
             "  tessera ray data/models/mnist_cnn.onnx --input data/inputs/seven.pgm --csv > segments.csv\n"
             "  tessera ray model.onnx --from a.txt --to b.txt --json\n"))
    return kOk;

  const Network net = load_onnx(vm["model"].as<std::string>());
  TraversalOptions o;
  o.max_segments = vm["max-segments"].as<std::size_t>();
  if (o.max_segments == 0) throw Error("--max-segments must be positive");
  o.point_segments = vm.count("no-point-segments") == 0;
  o.cancel = stop_flag();
  const bool show = progress_wanted(vm);
  if (show)
    o.progress = [](std::size_t n, double t) { std::fprintf(stderr, "\rray: %zu segments, t = %-12.6g", n, t); };
  const int row = vm["row"].as<int>();

  LineTraversal tr;
  std::string kind, described;
  double direction_norm = 1;
  const bool ray = vm.count("input") > 0;
  const bool segment = vm.count("from") || vm.count("to");
  const bool general = vm.count("origin") || vm.count("direction");
  if (ray + segment + general != 1)
    throw po::error("give exactly one of --input (the ray alpha*x), --from/--to, or --origin/--direction");
  if (ray) {
    const Vector x = read_input_for(net.input_shape(), vm["input"].as<std::string>(), row);
    kind = "ray";
    described = "ray alpha * " + vm["input"].as<std::string>() + " from alpha = " + fmt(vm["alpha0"].as<double>());
    tr = traverse_ray(net, x, vm["alpha0"].as<double>(), o);
  } else if (segment) {
    if (!vm.count("from") || !vm.count("to")) throw po::error("--from and --to go together");
    const Vector a = read_input_for(net.input_shape(), vm["from"].as<std::string>());
    const Vector b = read_input_for(net.input_shape(), vm["to"].as<std::string>());
    if (a.size() != b.size()) throw Error("--from and --to have different sizes");
    kind = "line";
    described = "segment from " + vm["from"].as<std::string>() + " (t = 0) to " + vm["to"].as<std::string>() + " (t = 1)";
    direction_norm = (b - a).norm();
    tr = traverse_line(net, a, b - a, 0.0, 1.0, o);
  } else {
    if (!vm.count("origin") || !vm.count("direction")) throw po::error("--origin and --direction go together");
    const Vector a = read_input_for(net.input_shape(), vm["origin"].as<std::string>());
    const Vector d = read_input_for(net.input_shape(), vm["direction"].as<std::string>());
    const double t0 = parse_t(vm["t0"].as<std::string>(), "--t0");
    const double t1 = parse_t(vm["t1"].as<std::string>(), "--t1");
    kind = "line";
    described = "line " + vm["origin"].as<std::string>() + " + t * " + vm["direction"].as<std::string>();
    direction_norm = d.norm();
    tr = traverse_line(net, a, d, t0, t1, o);
  }

  if (show) std::fprintf(stderr, "\r%60s\r", "");
  tr.stop_reason = describe_stop(tr.stop_reason);
  std::ostringstream out;
  if (vm.count("json")) {
    nlohmann::json j = tr;
    j["model"] = net.source;
    j["kind"] = kind;
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (vm.count("csv")) {
    out << "index,t_begin,t_end,is_point,pattern_hash,class,confidence_min,confidence_max\n";
    for (size_t i = 0; i < tr.segments.size(); ++i) {
      const LineSegment& s = tr.segments[i];
      char line[256];
      std::snprintf(line, sizeof line, "%zu,%.17g,%s,%d,%s,%d,%.17g,%.17g\n", i, s.t_begin,
                    std::isfinite(s.t_end) ? fmt(s.t_end, 17).c_str() : "inf", s.is_point ? 1 : 0,
                    hash_to_hex(s.pattern_hash).c_str(), s.predicted_class, s.min_confidence, s.max_confidence);
      out << line;
    }
  } else {
    out << "model     " << net.source << "\n" << kind << "      " << described << "\n"
        << tr.segments.size() << " segments" << (tr.complete ? "" : " (PARTIAL: " + tr.stop_reason + ")");
    if (kind == "line" && !tr.segments.empty() && std::isfinite(tr.segments.back().t_end)) {
      // Regions per unit of Euclidean length along the line.
      const double length = (tr.segments.back().t_end - tr.segments.front().t_begin) * direction_norm;
      out << ", " << fmt(tr.segments.size() / length) << " per unit length (length " << fmt(length) << ")";
    }
    out << "\n\n";
    char line[256];
    std::snprintf(line, sizeof line, "%6s  %14s  %14s  %-16s  %5s  %10s  %10s\n", "#", "t_begin", "t_end", "pattern",
                  "class", "conf_min", "conf_max");
    out << line;
    for (size_t i = 0; i < tr.segments.size(); ++i) {
      const LineSegment& s = tr.segments[i];
      std::snprintf(line, sizeof line, "%6zu  %14s  %14s  %-16s  %5d  %10s  %10s%s\n", i, fmt(s.t_begin, 8).c_str(),
                    std::isfinite(s.t_end) ? fmt(s.t_end, 8).c_str() : "inf", hash_to_hex(s.pattern_hash).c_str(),
                    s.predicted_class, fmt(s.min_confidence, 6).c_str(), fmt(s.max_confidence, 6).c_str(),
                    s.is_point ? "  (single point)" : "");
      out << line;
    }
    if (kind == "ray" && tr.complete)
      out << "\nThe last segment is the last region: no unit can change sign for any larger alpha.\n"
             "Run `tessera certify` for the limit class, alpha* and the box.\n";
  }
  emit(out.str(), vm.count("output") ? vm["output"].as<std::string>() : "");
  return tr.complete ? kOk : kIncomplete;
}

}  // namespace tessera::cli
