// tessera ray: the regions crossed by the ray alpha*x or by a line.
#include <atomic>
#include <cmath>
#include <exception>
#include <mutex>
#include <iostream>
#include <sstream>

#include <array>

#include "cli/commands.hpp"
#include "core/laplace.hpp"
#include "regions/laplace_limit.hpp"
#include "cli/inputs.hpp"
#include "cli/common.hpp"
#include "cli/distributed.hpp"
#include "core/bytes.hpp"
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

// The points of --from/--to/--origin/--direction: every item of an IDX
// file, every line of a text file with one input per line, or one input
// (an image, a text file holding one input in any layout).
Matrix read_line_ends(const Shape& shape, const std::string& path) {
  // A text file with several lines: one input per line, unless all its
  // values together make one input.
  std::vector<Vector> rows;
  try {
    rows = read_vector_rows(path);
  } catch (const Error&) {
    rows.clear();  // not text (an image, an IDX file): read below
  }
  if (rows.size() > 1) {
    Eigen::Index total = 0;
    for (const Vector& r : rows) total += r.size();
    if (total == shape.size()) return read_input_for(shape, path);
    Matrix X(shape.size(), static_cast<Eigen::Index>(rows.size()));
    for (size_t i = 0; i < rows.size(); ++i) {
      if (rows[i].size() != shape.size())
        throw Error(path + ": input " + std::to_string(i) + " (one per non-empty line) has " +
                    std::to_string(rows[i].size()) + " values but the network expects " + std::to_string(shape.size()));
      X.col(static_cast<Eigen::Index>(i)) = rows[i];
    }
    return X;
  }
  if (rows.empty()) {
    Matrix idx;
    try {
      idx = read_input_rows(shape, path, RowRange{});
    } catch (const Error&) {
    }
    if (idx.rows() == shape.size()) return idx;  // every item of an IDX file
  }
  return read_input_for(shape, path);
}

// One line per pair of rows (row i of A with row i of B), walked in
// parallel over the cores, and over the MPI ranks when launched by mpirun
// or srun (rank 0 gathers the pairs' results in order and writes them); one
// result per pair.
int run_many_lines(const Network& net, const Matrix& A, const Matrix& B, bool segment, double t0, double t1,
                   const TraversalOptions& options, const po::variables_map& vm, bool show) {
  const Eigen::Index n = A.cols();
  const Ranks& ranks = Ranks::world();
  WorkQueue queue(ranks, static_cast<std::size_t>(n));
  show = show && ranks.root();
  std::vector<LineTraversal> results(n);
  std::vector<char> started(n, 0);
  std::vector<double> norms(n, 0);
  std::atomic<long> done{0};
  std::exception_ptr error;
  std::atomic<bool> failed{false};
  std::mutex mutex;
  TraversalOptions o = options;
  o.progress = nullptr;  // one progress line for all pairs
#pragma omp parallel
  while (!failed.load() && !(o.cancel && o.cancel->load())) {
    std::optional<std::size_t> next;
    try {
      next = queue.next();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
    if (!next) break;
    const auto i = static_cast<Eigen::Index>(*next);
    started[i] = 1;
    try {
      const Vector a = A.col(i);
      const Vector d = segment ? Vector(B.col(i) - a) : Vector(B.col(i));
      norms[i] = d.norm();
      if (d.isZero(0.0))
        throw Error("pair " + std::to_string(i) + ": " +
                    (segment ? "the two rows are equal, so the segment is a single point" : "the direction is zero"));
      results[i] = traverse_line(net, a, d, t0, t1, o);
    } catch (const Error& e) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) {
        const std::string what = e.what();
        error = std::make_exception_ptr(Error(what.rfind("pair ", 0) == 0 ? what : "pair " + std::to_string(i) + ": " + what));
      }
      failed = true;
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
    const long k = ++done;
    if (show) {
      std::lock_guard<std::mutex> lock(mutex);
      std::fprintf(stderr, "\rray: %ld of %ld lines", ranks.distributed() ? static_cast<long>(queue.handed_out()) : k,
                   static_cast<long>(n));
    }
  }
  queue.close();
  if (show) std::fprintf(stderr, "\r%60s\r", "");
  if (error) std::rethrow_exception(error);
  // Each pair's part of the output (JSON object, CSV rows or table line),
  // made where the pair was walked.
  const bool json = vm.count("json") > 0, csv = !json && vm.count("csv") > 0;
  const auto pair_part = [&](Eigen::Index i, LineTraversal tr, double norm) {
    tr.stop_reason = describe_stop(tr.stop_reason);
    ByteWriter w;
    w.put<std::uint8_t>(tr.complete);
    w.put<std::uint64_t>(tr.segments.size());
    std::ostringstream text;
    if (json) {
      nlohmann::json j = tr;
      j["pair"] = i;
      j["model"] = net.source;
      j["kind"] = "line";
      text << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else if (csv) {
      for (size_t k = 0; k < tr.segments.size(); ++k) {
        const LineSegment& s = tr.segments[k];
        char line[300];
        std::snprintf(line, sizeof line, "%ld,%zu,%.17g,%s,%d,%s,%d,%.17g,%.17g\n", static_cast<long>(i), k, s.t_begin,
                      std::isfinite(s.t_end) ? fmt(s.t_end, 17).c_str() : "inf", s.is_point ? 1 : 0,
                      hash_to_hex(s.pattern_hash).c_str(), s.predicted_class, s.min_confidence, s.max_confidence);
        text << line;
      }
    } else {
      std::string density = "";
      if (!tr.segments.empty() && std::isfinite(tr.segments.back().t_end))
        density = fmt(tr.segments.size() / ((tr.segments.back().t_end - tr.segments.front().t_begin) * norm));
      char line[256];
      std::snprintf(line, sizeof line, "%6ld  %9zu  %14s  %s\n", static_cast<long>(i), tr.segments.size(),
                    density.c_str(), tr.complete ? "" : ("PARTIAL: " + tr.stop_reason).c_str());
      text << line;
    }
    w.put_string(text.str());
    return w.take();
  };
  SetPart mine;
  for (Eigen::Index i = 0; i < n; ++i)
    if (started[i]) mine.items.emplace_back(i, pair_part(i, results[i], norms[i]));
  const std::vector<SetPart> parts = gather_parts(ranks, mine);
  if (!ranks.root()) return kOk;
  report_shares(ranks, parts, "ray", "lines");
  std::vector<std::string> items(static_cast<std::size_t>(n));
  for (const auto& [i, bytes] : items_in_order(parts)) items[static_cast<std::size_t>(i)] = bytes;
  bool all = true;
  std::size_t total = 0;
  std::vector<std::string> texts;
  for (Eigen::Index i = 0; i < n; ++i) {
    std::string& bytes = items[static_cast<std::size_t>(i)];
    if (bytes.empty()) {  // stopped before any rank started it
      LineTraversal never;
      never.stop_reason = "cancelled before it started";
      bytes = pair_part(i, never, 0);
    }
    ByteReader r(bytes);
    all = all && r.get<std::uint8_t>() != 0;
    total += r.get<std::uint64_t>();
    texts.push_back(r.get_string());
  }
  std::ostringstream out;
  if (json) {
    out << "[";
    for (std::size_t i = 0; i < texts.size(); ++i) out << (i ? "," : "") << texts[i];
    out << "]\n";
  } else if (csv) {
    out << "pair,index,t_begin,t_end,is_point,pattern_hash,class,confidence_min,confidence_max\n";
    for (const std::string& t : texts) out << t;
  } else {
    out << "model     " << net.source << "\n"
        << "lines     " << n << (segment ? " segments (row i of --from to row i of --to)" : " lines (row i of --origin + t * row i of --direction)")
        << "\n" << total << " segments in all" << (all ? "" : " (PARTIAL: some lines stopped early)") << "\n\n";
    char line[256];
    std::snprintf(line, sizeof line, "%6s  %9s  %14s  %s\n", "pair", "segments", "per length", "");
    out << line;
    for (const std::string& t : texts) out << t;
    out << "\nSegments of each line: --csv (a row per segment, with its pair) or --json (an array, one object per pair).\n";
  }
  emit(out.str(), vm.count("output") ? vm["output"].as<std::string>() : "");
  return all ? kOk : kIncomplete;
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
  line.add_options()("from", po::value<std::string>(),
                     "start point x0 (file); with --to: the segment x0 -> x1. A text or IDX file with several rows "
                     "gives several segments: row i of --from to row i of --to, walked in parallel")(
      "to", po::value<std::string>(), "end point x1 (file): direction x1 - x0, t from 0 to 1")(
      "origin", po::value<std::string>(), "x0 (file), with --direction: the line x0 + t*d (several rows: several lines)")(
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
             "  tessera ray model.onnx --from a.txt --to b.txt --json\n"
             "  tessera ray model.onnx --from starts.txt --to ends.txt --csv   # one segment per pair of rows\n"))
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
  Vector ray_x0, ray_d;  // the line walked: x0 + t d
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
    if (!Ranks::world().root()) return kOk;  // one ray: rank 0 walks it
    tr = traverse_ray(net, x, vm["alpha0"].as<double>(), o);
    ray_x0 = Vector::Zero(x.size());
    ray_d = x;
  } else {
    const bool seg = segment;
    const char* first = seg ? "from" : "origin";
    const char* second = seg ? "to" : "direction";
    if (!vm.count(first) || !vm.count(second))
      throw po::error(seg ? "--from and --to go together" : "--origin and --direction go together");
    const std::string path_a = vm[first].as<std::string>(), path_b = vm[second].as<std::string>();
    const Matrix A = read_line_ends(net.input_shape(), path_a);
    const Matrix B = read_line_ends(net.input_shape(), path_b);
    if (A.cols() != B.cols())
      throw Error("--" + std::string(first) + " (" + path_a + ") has " + std::to_string(A.cols()) + " rows but --" +
                  second + " (" + path_b + ") has " + std::to_string(B.cols()) + ": row i of one goes with row i of the other");
    const double t0 = seg ? 0.0 : parse_t(vm["t0"].as<std::string>(), "--t0");
    const double t1 = seg ? 1.0 : parse_t(vm["t1"].as<std::string>(), "--t1");
    kind = "line";
    if (A.cols() > 1) return run_many_lines(net, A, B, seg, t0, t1, o, vm, show);
    const Vector a = A.col(0);
    const Vector d = seg ? Vector(B.col(0) - a) : Vector(B.col(0));
    described = seg ? "segment from " + path_a + " (t = 0) to " + path_b + " (t = 1)"
                    : "line " + path_a + " + t * " + path_b;
    direction_norm = d.norm();
    if (!Ranks::world().root()) return kOk;  // one line: rank 0 walks it
    tr = traverse_line(net, a, d, t0, t1, o);
    ray_x0 = a;
    ray_d = d;
  }

  if (show) std::fprintf(stderr, "\r%60s\r", "");
  tr.stop_reason = describe_stop(tr.stop_reason);
  // A Laplace model: its predictive confidence at both ends of every segment
  // (at t = inf its limit along the line).
  // (Skipped when the walk itself was interrupted; a stop during this pass
  // keeps the values so far, and the rows after them have empty fields.)
  std::vector<std::array<double, 2>> laplace_ends;
  const bool laplace_columns = static_cast<bool>(net.laplace);
  if (net.laplace && !stop_flag()->load()) {
    const LaplaceModel lm = laplace_model(net);
    const Vector x0 = ray_x0, d = ray_d;
    laplace_ends.resize(tr.segments.size());
    for (std::size_t i = 0; i < tr.segments.size(); ++i) {
      if (stop_flag()->load()) {
        laplace_ends.resize(i);
        if (tr.complete) tr.stop_reason = describe_stop("cancelled") + " (while computing the Laplace confidences)";
        tr.complete = false;
        break;
      }
      const LineSegment& s = tr.segments[i];
      laplace_ends[i] = {laplace_predictive_on_line(lm, x0, d, s.t_begin).confidence,
                         laplace_predictive_on_line(lm, x0, d, s.t_end).confidence};
    }
  }
  std::ostringstream out;
  if (vm.count("json")) {
    nlohmann::json j = tr;
    for (std::size_t i = 0; i < laplace_ends.size(); ++i)
      j["segments"][i]["laplace_confidence"] = {laplace_ends[i][0], laplace_ends[i][1]};
    j["model"] = net.source;
    j["kind"] = kind;
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else if (vm.count("csv")) {
    out << "index,t_begin,t_end,is_point,pattern_hash,class,confidence_min,confidence_max"
        << (laplace_columns ? ",laplace_confidence_begin,laplace_confidence_end" : "") << "\n";
    for (size_t i = 0; i < tr.segments.size(); ++i) {
      const LineSegment& s = tr.segments[i];
      char line[256];
      std::snprintf(line, sizeof line, "%zu,%.17g,%s,%d,%s,%d,%.17g,%.17g\n", i, s.t_begin,
                    std::isfinite(s.t_end) ? fmt(s.t_end, 17).c_str() : "inf", s.is_point ? 1 : 0,
                    hash_to_hex(s.pattern_hash).c_str(), s.predicted_class, s.min_confidence, s.max_confidence);
      out << line;
      if (laplace_columns) {
        out.seekp(-1, std::ios_base::cur);  // before the newline
        if (i < laplace_ends.size()) out << "," << fmt(laplace_ends[i][0], 17) << "," << fmt(laplace_ends[i][1], 17) << "\n";
        else out << ",,\n";  // not computed (interrupted)
      }
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
    std::snprintf(line, sizeof line, "%6s  %14s  %14s  %-16s  %5s  %10s  %10s", "#", "t_begin", "t_end", "pattern",
                  "class", "conf_min", "conf_max");
    out << line << (laplace_columns ? "  Laplace conf at t_begin .. t_end" : "") << "\n";
    for (size_t i = 0; i < tr.segments.size(); ++i) {
      const LineSegment& s = tr.segments[i];
      std::snprintf(line, sizeof line, "%6zu  %14s  %14s  %-16s  %5d  %10s  %10s%s\n", i, fmt(s.t_begin, 8).c_str(),
                    std::isfinite(s.t_end) ? fmt(s.t_end, 8).c_str() : "inf", hash_to_hex(s.pattern_hash).c_str(),
                    s.predicted_class, fmt(s.min_confidence, 6).c_str(), fmt(s.max_confidence, 6).c_str(),
                    s.is_point ? "  (single point)" : "");
      out << line;
      if (i < laplace_ends.size()) {
        out.seekp(-1, std::ios_base::cur);
        out << "  " << fmt(laplace_ends[i][0], 6) << " .. " << fmt(laplace_ends[i][1], 6) << (std::isinf(s.t_end) ? " (limit)" : "")
            << "\n";
      }
    }
    if (kind == "ray" && tr.complete)
      out << "\nThe last segment is the last region: no unit can change sign for any larger alpha.\n"
             "Run `tessera certify` for the limit class, alpha* and the box.\n";
  }
  emit(out.str(), vm.count("output") ? vm["output"].as<std::string>() : "");
  return tr.complete ? kOk : kIncomplete;
}

}  // namespace tessera::cli
