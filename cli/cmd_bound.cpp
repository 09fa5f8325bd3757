// tessera bound: provable upper bounds on the confidence over a box of
// inputs (an l-infinity ball around an input, intersected with the data
// domain, or a box from a file), by interval arithmetic, a linear relaxation
// or exactly by branch and bound.
#include <cmath>
#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/distributed.hpp"
#include "core/bytes.hpp"
#include "cli/inputs.hpp"
#include "cli/progress.hpp"
#include "cli/stop.hpp"
#include "core/error.hpp"
#include "core/limits.hpp"
#include "export/json.hpp"
#include "io/onnx_io.hpp"
#include "regions/box_bounds.hpp"

namespace tessera::cli {

namespace {

// The argmax inputs, one row of numbers each (readable by --input FILE
// --row N).
std::string rows_text(const std::vector<const Vector*>& rows) {
  std::ostringstream out;
  out << std::setprecision(17);
  for (const Vector* v : rows) {
    if (!v) continue;
    for (Eigen::Index i = 0; i < v->size(); ++i) out << (i ? " " : "") << (*v)[i];
    out << "\n";
  }
  return out.str();
}

std::string verdict(const BoxBound& b, double threshold) {
  if (b.upper_bound < threshold)
    return "CERTIFIED: every input of the box has confidence < " + fmt(threshold) + " (at most " + fmt(b.upper_bound) + ")";
  if (b.lower_bound >= threshold)
    return "REFUTED: an input of the box has confidence " + fmt(b.lower_bound) + " >= " + fmt(threshold) +
           " (class " + std::to_string(b.argmax_class) + ")";
  return "UNDECIDED: the bound " + fmt(b.upper_bound) + " is not below " + fmt(threshold) +
         " and no input found reaches it (best " + fmt(b.lower_bound) + "); try --method exact";
}

std::string row_text(const BoxBound& b) {
  std::ostringstream out;
  out << std::left << std::setw(7) << bound_method_name(b.method) << std::setw(14) << fmt(b.upper_bound, 8) << std::setw(14)
      << fmt(b.lower_bound, 8) << std::setw(12) << fmt(b.upper_bound - b.lower_bound, 3) << std::setw(7) << b.argmax_class
      << std::setw(10) << b.unstable << fmt(b.seconds, 3) << " s";
  if (b.method == BoundMethod::Exact)
    out << "  (" << (b.complete ? "complete" : "PARTIAL: " + describe_stop(b.stop_reason)) << "; " << b.branches
        << " subproblems, " << b.leaves << " regions, " << b.lps << " LPs" << (b.open ? ", " + std::to_string(b.open) + " open" : "")
        << ")";
  else if (!b.complete)
    out << "  (PARTIAL: " << describe_stop(b.stop_reason) << ")";
  return out.str();
}

}  // namespace

int run_bound(const std::vector<std::string>& args) {
  po::options_description common("Options");
  common.add_options()("help,h", "show this help")(
      "input,i", po::value<std::string>(), "centre of the ball: input file (vector, PNG/PGM image, IDX data file)")(
      "row,r", po::value<int>(), "one row of an IDX or text file")(
      "rows", po::value<std::string>(), "a set of centres: rows A:B (A..B-1), A: (to the end)")(
      "noise", po::value<std::string>(), "centres from generated noise: uniform (in the box or [0,1]^d) or "
                                          "permuted (pixels of the --input rows, shuffled)")(
      "count,n", po::value<int>()->default_value(100), "number of noise centres")(
      "seed", po::value<std::uint64_t>()->default_value(1), "seed for the noise")(
      "eps,e", po::value<double>(), "radius of the l-infinity ball around each centre (>= 0)")(
      "box", po::value<std::string>(), "data domain lo:hi that the ball is intersected with, or none "
                                        "(default: 0:1 for image models, none otherwise); without --input/--noise, "
                                        "the box itself is the set")(
      "box-file", po::value<std::string>(), "per-coordinate domain instead of --box: a VNN-LIB file's input bounds, "
                                             "or two rows (lower bounds, upper bounds)")(
      "method,m", po::value<std::string>()->default_value("crown"),
      "ibp (interval arithmetic), crown (linear relaxation), exact (branch and bound), or all (the three, one box)")(
      "threshold,t", po::value<double>()->default_value(0.5), "certified: the upper bound is below this confidence")(
      "json", "print JSON")(
      "argmax-out", po::value<std::string>(), "write the input with the largest confidence found: one row per box bounded, in the order of the "
      "JSON's bounds (each names its input)");
  po::options_description advanced("Advanced");
  advanced.add_options()("tolerance", po::value<double>()->default_value(1e-6),
                         "exact: stop when upper - lower bound <= this")(
      "max-branches", po::value<std::size_t>()->default_value(200'000), "exact: most subproblems per box")(
      "attack-steps", po::value<int>()->default_value(20), "projected-gradient steps per start for the lower bound")(
      "time-per-input", po::value<double>(), "seconds per box (sets; the bound of a box stopped by it is partial)")(
      "threads", po::value<int>()->default_value(0), "threads for sets (0: all cores)")(
      "no-progress", "same as --progress off")(
      "output,o", po::value<std::string>(), "write the report to this file (atomically)");
  po::options_description visible;
  visible.add(common).add(advanced).add(limit_options());
  po::variables_map vm;
  if (!parse_model_command(
          args, visible, vm,
          "tessera bound MODEL.onnx (--input FILE [--row N | --rows A:B] | --noise KIND) --eps E [options]\n"
          "       tessera bound MODEL.onnx --box-file PROPERTY.vnnlib [options]",
          "  tessera bound data/models/trained/mnist_acet.onnx --noise uniform --count 1 --eps 0.05 --method all\n"
          "  tessera bound data/models/trained/mnist_acet.onnx --noise uniform --count 100 --eps 0.01 --json\n"
          "  tessera bound data/models/trained/moons_plain.onnx --box -3:3 --method exact --argmax-out worst.txt\n"
          "  tessera bound model.onnx --input t10k-images-idx3-ubyte.gz --rows 0:100 --eps 0.1 --threshold 0.6\n"
          "\nThe upper bound holds for every input of the box (the ball around the centre, inside the domain);\n"
          "the lower bound is the confidence of an actual input of it (--argmax-out writes it). exact closes\n"
          "the gap to --tolerance by branch and bound over the units' pieces, or stops at --time-limit with both.\n"))
    return kOk;

  const Network net = load_onnx(vm["model"].as<std::string>());
  const std::string method_text = vm["method"].as<std::string>();
  const bool all = method_text == "all";
  const std::optional<BoundMethod> method = all ? std::optional<BoundMethod>(BoundMethod::Exact) : parse_bound_method(method_text);
  if (!method) throw Error("--method '" + method_text + "': expected ibp, crown, exact or all");
  BoxBoundOptions o;
  o.method = *method;
  o.tolerance = vm["tolerance"].as<double>();
  o.max_branches = vm["max-branches"].as<std::size_t>();
  o.attack_steps = vm["attack-steps"].as<int>();
  o.cancel = stop_flag();
  if (vm.count("time-per-input")) {
    o.time_limit = vm["time-per-input"].as<double>();
    if (!(o.time_limit > 0) || !std::isfinite(o.time_limit)) throw Error("--time-per-input must be a positive number of seconds");
  }
  if (o.attack_steps < 0) throw Error("--attack-steps must be >= 0");
  if (!(o.tolerance > 0 && o.tolerance < 1)) throw Error("--tolerance must be in (0, 1)");
  if (o.max_branches < 1) throw Error("--max-branches must be at least 1");
  const double threshold = vm["threshold"].as<double>();
  if (!(threshold > 0 && threshold <= 1)) throw Error("--threshold must be in (0, 1]");
  const BoxOption domain = parse_box(vm, net.input_shape().is_image(), net.input_size());
  const int d = net.input_size();
  Vector dlo = Vector::Constant(d, -std::numeric_limits<double>::infinity());
  Vector dhi = Vector::Constant(d, std::numeric_limits<double>::infinity());
  if (domain.enabled) {
    if (domain.lower.size()) {
      dlo = domain.lower;
      dhi = domain.upper;
    } else {
      if (!(domain.lo <= domain.hi)) throw Error("--box " + fmt(domain.lo) + ":" + fmt(domain.hi) + ": lo must be <= hi");
      dlo.setConstant(domain.lo);
      dhi.setConstant(domain.hi);
    }
  }

  // The boxes.
  Matrix lo, hi;
  std::string source;
  bool single = true;
  const bool centred = vm.count("input") || vm.count("noise");
  double eps = 0;
  if (centred) {
    if (!vm.count("eps")) throw po::error("give --eps E, the radius of the ball around each input");
    eps = vm["eps"].as<double>();
    if (!(eps >= 0) || !std::isfinite(eps)) throw Error("--eps must be a finite number >= 0, got " + fmt(eps));
    const InputSelection sel = select_inputs(vm, net, domain);
    single = sel.single;
    lo = (sel.X.array() - eps).matrix();
    hi = (sel.X.array() + eps).matrix();
    lo = lo.cwiseMax(dlo.replicate(1, lo.cols()));
    hi = hi.cwiseMin(dhi.replicate(1, hi.cols()));
    for (Eigen::Index j = 0; j < lo.cols(); ++j)
      for (Eigen::Index i = 0; i < d; ++i)
        if (lo(i, j) > hi(i, j))
          throw Error("input " + std::to_string(j) + ", value " + std::to_string(i) + " = " + fmt(sel.X(i, j)) +
                      " lies more than --eps " + fmt(eps) + " outside the domain [" + fmt(dlo[i]) + ", " + fmt(dhi[i]) +
                      "]: the ball and the domain do not meet");
    source = "l-inf ball of radius " + fmt(eps) + " around " + sel.source +
             (domain.enabled ? ", intersected with " + domain.describe() : "");
  } else {
    if (vm.count("eps")) throw po::error("--eps needs centres: give --input FILE or --noise KIND");
    if (!domain.enabled || (!vm.count("box") && !vm.count("box-file")))
      throw po::error("give --input FILE or --noise KIND with --eps E, or the box itself with --box lo:hi or --box-file FILE");
    lo = dlo;
    hi = dhi;
    source = domain.describe();
  }
  if (all && lo.cols() == 1) single = true;  // a set of one box: compared like one box
  if (all && !single) throw po::error("--method all compares the three methods on one box; give --method for a set");

  std::ostringstream out;
  const std::string output = vm.count("output") ? vm["output"].as<std::string>() : "";
  const std::string argmax_out = vm.count("argmax-out") ? vm["argmax-out"].as<std::string>() : "";
  const Ranks& ranks = Ranks::world();
  if (single) {
    if (!ranks.root()) return kOk;  // one box: rank 0 bounds it
    std::vector<BoxBound> results;
    const std::vector<BoundMethod> methods =
        all ? std::vector<BoundMethod>{BoundMethod::Ibp, BoundMethod::Crown, BoundMethod::Exact} : std::vector<BoundMethod>{*method};
    // exact on one box: a status line on stderr with the interval as it
    // closes (when progress is on).
    const bool show = progress_wanted(vm);
    bool drawn = false;
    if (show)
      o.progress = [&](const BoxBoundOptions::Progress& p) {
        std::fprintf(stderr, "\r\033[Kbound: confidence in [%.8g, %.8g], %zu subproblems, %zu open, %zu regions solved",
                     p.lower, p.upper, p.branches, p.open, p.leaves);
        std::fflush(stderr);
        drawn = true;
      };
    for (const BoundMethod m : methods) {
      if (stop_requested() && !results.empty()) break;
      o.method = m;
      results.push_back(bound_confidence(net, lo.col(0), hi.col(0), o));
    }
    if (drawn) std::fprintf(stderr, "\r\033[K");
    // The verdict from everything proved: the smallest upper bound and the
    // largest lower bound of the methods run (exact stopped at its root
    // would otherwise hide what crown proved).
    BoxBound best = results.back();
    for (const BoxBound& b : results) {
      best.upper_bound = std::min(best.upper_bound, b.upper_bound);
      best.class_upper = best.class_upper.cwiseMin(b.class_upper);
      best.class_lower = best.class_lower.cwiseMax(b.class_lower);
      if (b.lower_bound > best.lower_bound) {
        best.lower_bound = b.lower_bound;
        best.argmax_input = b.argmax_input;
        best.argmax_class = b.argmax_class;
      }
    }
    bool complete = stop_reason().empty();
    for (const BoxBound& b : results) complete = complete && b.complete;
    if (vm.count("json")) {
      nlohmann::json j;
      j["model"] = net.source;
      j["set"] = source;
      j["eps"] = centred ? nlohmann::json(eps) : nlohmann::json(nullptr);
      j["domain"] = domain.to_json();
      j["threshold"] = threshold;
      j["certified"] = best.upper_bound < threshold;
      j["refuted"] = best.lower_bound >= threshold;
      if (all) {
        j["methods"] = nlohmann::json::array();
        for (const BoxBound& b : results) {
          nlohmann::json m = box_bound_json(b, b.method == BoundMethod::Exact);
          if (!b.complete) m["stop_reason"] = describe_stop(b.stop_reason);
          j["methods"].push_back(std::move(m));
        }
      } else {
        j.update(box_bound_json(results.back(), true));
      }
      if (!results.back().complete) j["stop_reason"] = describe_stop(results.back().stop_reason);
      out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      out << "model      " << net.source << "\nset        " << source << "\n";
      const Vector width = hi.col(0) - lo.col(0);
      out << "box        " << d << " coordinates, width " << fmt(width.minCoeff(), 4) << " to " << fmt(width.maxCoeff(), 4)
          << " (mean " << fmt(width.mean(), 4) << ")\n\n";
      out << std::left << std::setw(7) << "method" << std::setw(14) << "upper bound" << std::setw(14) << "lower bound"
          << std::setw(12) << "gap" << std::setw(7) << "class" << std::setw(10) << "unstable" << "time\n";
      for (const BoxBound& b : results) out << row_text(b) << "\n";
      out << "\nper class (" << (all ? std::string("best of the methods") : std::string(bound_method_name(best.method)))
          << "): upper bound / best found\n";
      for (Eigen::Index k = 0; k < best.class_upper.size(); ++k)
        out << "  " << std::left << std::setw(16) << net.class_name(static_cast<int>(k)) << fmt(best.class_upper[k], 6) << " / "
            << fmt(best.class_lower[k], 6) << "\n";
      out << "\n" << verdict(best, threshold) << "\n";
      if (!argmax_out.empty()) out << "argmax     the input with confidence " << fmt(best.lower_bound) << " is in " << argmax_out << "\n";
    }
    if (!argmax_out.empty()) emit(rows_text({&best.argmax_input}), argmax_out);
    emit(out.str(), output);
    return complete ? kOk : kIncomplete;
  }

  BoxBoundSetOptions so;
  so.bound = o;
  so.threshold = threshold;
  so.threads = vm["threads"].as<int>();
  if (so.threads < 0) throw Error("--threads must be 0 (all cores) or a positive number");
  // A set: shared between the MPI ranks when launched by mpirun or srun
  // (cli/distributed.hpp); rank 0 merges the parts and writes the report.
  WorkQueue queue(ranks, static_cast<std::size_t>(lo.cols()));
  ProgressBar bar("bound", ranks.root() && progress_wanted(vm));
  so.progress = [&](std::size_t done, std::size_t total) { bar.update(ranks.distributed() ? queue.handed_out() : done, total); };
  so.cancel = stop_flag();
  so.next_box = [&queue] { return queue.next(); };
  const BoxBoundSetResult local = bound_confidence_set(net, lo, hi, so);
  queue.close();
  bar.finish();
  SetPart mine;
  mine.summary = summary_bytes(local.summary);
  mine.complete = local.complete;
  mine.stop_reason = stop_reason();
  const bool json = vm.count("json") > 0;
  for (std::size_t i = 0; i < local.bounds.size(); ++i) {
    ByteWriter w;  // the box's JSON and, for --argmax-out, its best input
    if (json) {
      nlohmann::json b = box_bound_json(local.bounds[i], false);
      b["input"] = local.box[i];
      if (!local.bounds[i].complete) b["stop_reason"] = describe_stop(local.bounds[i].stop_reason);
      w.put_string(b.dump());
    } else {
      w.put_string("");
    }
    const Vector& a = local.bounds[i].argmax_input;
    w.put_vector(argmax_out.empty() ? std::vector<double>{} : std::vector<double>(a.data(), a.data() + a.size()));
    mine.items.emplace_back(local.box[i], w.take());
  }
  const std::vector<SetPart> parts = gather_parts(ranks, mine);
  if (!ranks.root()) return kOk;
  report_shares(ranks, parts, "bound", "boxes");
  const BoxBoundSummary s = merged_summary<BoxBoundSummary>(parts);
  const auto items = items_in_order(parts);
  const bool whole_set = all_complete(parts) && items.size() == static_cast<std::size_t>(lo.cols());
  const std::string why = first_stop_reason(parts).empty() ? stop_reason() : first_stop_reason(parts);
  const std::string partial = whole_set ? "" : std::to_string(items.size()) + " of " + std::to_string(lo.cols()) +
                                                   " boxes started (" + why + ")";
  std::vector<std::string> item_json;
  std::vector<Vector> argmax;
  for (const auto& item : items) {
    ByteReader r(item.second);
    item_json.push_back(r.get_string());
    const std::vector<double> a = r.get_vector<double>();
    argmax.push_back(Eigen::Map<const Vector>(a.data(), static_cast<Eigen::Index>(a.size())));
  }
  auto text = [](double v) { return std::isfinite(v) ? fmt(v) : std::string("-"); };
  if (vm.count("json")) {
    nlohmann::json j;
    j["model"] = net.source;
    j["set"] = source;
    j["eps"] = eps;
    j["domain"] = domain.to_json();
    j["method"] = bound_method_name(o.method);
    j["threshold"] = threshold;
    j["set_complete"] = whole_set;
    j["requested"] = static_cast<std::size_t>(lo.cols());
    if (!whole_set) j["stop_reason"] = partial;
    j["summary"] = s;
    j["bounds"] = nlohmann::json::array();
    for (const std::string& b : item_json) j["bounds"].push_back(nlohmann::json::parse(b));
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    out << "model        " << net.source << "\nset          " << source << "\nmethod       " << bound_method_name(o.method) << "\n";
    if (!whole_set) out << "PARTIAL      " << partial << "\n";
    out << "boxes        " << s.count << " bounded, " << s.complete << " complete\n"
        << "certified    " << s.certified << " of " << s.count << " have confidence < " << fmt(threshold)
        << " everywhere in their box\n"
        << "refuted      " << s.refuted << " of " << s.count << " contain an input with confidence >= " << fmt(threshold) << "\n"
        << "upper bound  mean " << text(s.upper_bound.mean()) << ", median " << text(s.upper_bound.median()) << ", max "
        << text(s.upper_bound.max()) << "\n"
        << "lower bound  mean " << text(s.lower_bound.mean()) << ", median " << text(s.lower_bound.median()) << ", max "
        << text(s.lower_bound.max()) << "\n"
        << "gap          mean " << text(s.gap.mean()) << ", max " << text(s.gap.max()) << "\n"
        << "unstable     median " << text(s.unstable.median()) << " units per box\n"
        << "time         median " << text(s.seconds.median()) << " s per box\n";
  }
  if (!argmax_out.empty()) {
    std::vector<const Vector*> rows;
    for (const Vector& a : argmax) rows.push_back(&a);
    emit(rows_text(rows), argmax_out);
  }
  emit(out.str(), output);
  return whole_set && s.complete == s.count ? kOk : kIncomplete;
}

}  // namespace tessera::cli
