// tessera certify: the certificate of Theorem 3.1 for one input or a set.
#include <csignal>
#include <cmath>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "export/json.hpp"
#include "cli/common.hpp"
#include "cli/distributed.hpp"
#include "core/bytes.hpp"
#include "cli/inputs.hpp"
#include "cli/progress.hpp"
#include "cli/stop.hpp"
#include "core/limits.hpp"
#include "core/error.hpp"
#include "io/input_io.hpp"
#include "core/noise.hpp"
#include "core/laplace.hpp"
#include "io/onnx_io.hpp"
#include "regions/certify_set.hpp"

namespace tessera::cli {

namespace {



// Fields a limit kept the walk from establishing (JSON null for them).
// The certificate with its stop reason in the command line's words (the
// signal or limit that stopped it).
Certificate described(Certificate c) {
  c.stop_reason = describe_stop(c.stop_reason);
  return c;
}

std::string alpha_text(const Finding<double>& v) {
  if (!v.known) return "unknown";
  if (!v.value) return "never";
  if (std::isinf(*v.value)) return "beyond the range of doubles";
  return fmt(*v.value, 6);
}

std::string regions_text(const Certificate& c) {
  std::ostringstream out;
  if (c.full) {
    out << (c.segments ? std::to_string(*c.segments) : std::to_string(c.regions_visited) + " (walk stopped)")
        << " regions crossed (full walk)";
  } else {
    out << c.regions_visited << (c.regions_visited == 1 ? " region" : " regions") << " computed: " << c.regions_from_infinity
        << " from infinity, " << c.regions_box << " in the box, " << c.regions_middle << " in the middle, "
        << c.bounds_computed << (c.bounds_computed == 1 ? " bound" : " bounds");
    if (c.segments) out << " (all " << *c.segments << " on the ray)";
  }
  return out.str();
}

void describe(std::ostringstream& out, const Certificate& c, const CertifyOptions& o) {
  out << "at alpha = 1   class " << c.predicted_class << ", confidence " << fmt(c.confidence_at_input) << "\n";
  out << "ray            alpha*x from alpha = " << fmt(o.alpha0) << ": " << regions_text(c) << "\n";
  if (!c.complete) out << "PARTIAL        " << describe_stop(c.stop_reason) << "; fields it could not establish say unknown\n";
  if (!c.last_region_found) {
    out << "last region    unknown (not reached)\n";
  } else {
    out << "last region    entered at alpha = " << fmt(c.last_region_alpha, 8) << " (pattern " << hash_to_hex(c.last_region_hash)
        << "); no unit changes sign after it\n";
    out << "limit          ";
    if (c.limit_ties > 1)
      out << "tie: " << c.limit_ties << " classes share the largest slope of V*x; confidence " << fmt(c.limit_confidence)
          << " (class " << c.limit_class << " has the largest offset)";
    else
      out << "class " << c.limit_class << ", confidence " << fmt(c.limit_confidence);
    out << "   [V*x = bias-free network at x, residual " << fmt(c.bias_free_residual, 2) << "]\n";
  }
  out << "threshold " << fmt(o.threshold) << "  confidence >= t for every alpha >= alpha* = " << alpha_text(c.alpha_star);
  if (c.alpha_star && std::isinf(*c.alpha_star)) out << " (alpha* * max|x| = " << fmt(*c.alpha_star_times_max_abs, 6) << ")";
  out << "; first reached at alpha = " << alpha_text(c.first_alpha) << "\n";
  if (o.has_box) {
    const std::string box = o.box_lower.size() ? std::string("(per-coordinate)") : "[" + fmt(o.box_lo) + ", " + fmt(o.box_hi) + "]^d";
    if (!c.box_exit_alpha) {
      out << "box " << box << "  the ray never lies inside it\n";
    } else {
      const auto& m = c.max_confidence_in_box;
      out << "box " << box << "  inside for alpha in [" << fmt(*c.box_entry_alpha) << ", " << fmt(*c.box_exit_alpha)
          << "]; largest confidence inside " << (m ? fmt(*m) : std::string("unknown")) << "; threshold reached inside at "
          << alpha_text(c.first_alpha_in_box) << "\n";
    }
  }
  if (c.laplace) {
    const LaplaceCertificate& l = *c.laplace;
    out << "Laplace        last-layer posterior: at alpha = 1 class " << l.predicted_class << ", confidence "
        << fmt(l.confidence_at_input) << "\n";
    if (l.limit_probabilities.size()) {
      out << "  limit        class " << l.limit_class << ", confidence " << fmt(l.limit_confidence, 8)
          << " (1 - confidence = " << fmt(l.one_minus_limit_confidence, 4) << "): below 1, unlike the network's own\n";
      if (l.alpha_within)
        out << "  within " << fmt(l.tolerance) << "  of it for every alpha >= " << fmt(*l.alpha_within, 6)
            << (l.within_from_start ? " (the whole ray from alpha0)" : "") << "; " << l.regions_searched
            << (l.regions_searched == 1 ? " region" : " regions") << " searched\n";
    }
    if (!l.complete) out << "  PARTIAL      " << l.stop_reason << "\n";
  }
}

}  // namespace

int run_certify(const std::vector<std::string>& args) {
  po::options_description common("Options");
  common.add_options()("help,h", "show this help")(
      "input,i", po::value<std::string>(), "input file (vector, PNG/PGM image, IDX data file)")(
      "row,r", po::value<int>(), "one row of an IDX or text file")(
      "rows", po::value<std::string>(), "a set of rows: A:B (A..B-1), A: (to the end)")(
      "noise", po::value<std::string>(), "certify generated noise instead: uniform (in the box or [0,1]^d) or "
                                          "permuted (pixels of the --input rows, shuffled)")(
      "count,n", po::value<int>()->default_value(100), "number of noise samples")(
      "seed", po::value<std::uint64_t>()->default_value(1), "seed for the noise")(
      "threshold,t", po::value<double>()->default_value(0.999), "confidence threshold t in (0, 1)")(
      "box", po::value<std::string>(), "box lo:hi for the bounded-domain report, or none "
                                        "(default: 0:1 for image models, none otherwise)")(
      "box-file", po::value<std::string>(), "one interval per input instead of --box: a VNN-LIB file's input "
                                             "bounds, or two rows (lower bounds, upper bounds)")(
      "full", "walk every region from alpha0 up instead of the three parts (from infinity, the box, the middle): "
              "slower, but counts the regions on the ray (segments, histogram)")(
      "json", "print JSON (one object per input, or a summary and the list with --rows/--noise)")(
      "laplace-tolerance", po::value<double>()->default_value(1e-3),
      "models with a Laplace posterior (tessera laplace): report from which alpha the predictive confidence stays "
      "this close to its limit");
  po::options_description advanced("Advanced");
  advanced.add_options()("alpha0", po::value<double>()->default_value(1e-6), "start of the ray (> 0)")(
      "max-segments", po::value<std::size_t>()->default_value(1'000'000), "stop a ray after computing this many regions (and confidence bounds, in the default method)")(
      "threads", po::value<int>()->default_value(0), "threads for sets (0: all cores)")(
      "no-progress", "same as --progress off")(
      "output,o", po::value<std::string>(), "write the report to this file (atomically)");
  po::options_description visible;
  visible.add(common).add(advanced).add(limit_options());
  po::variables_map vm;
  if (!parse_model_command(args, visible, vm, "tessera certify MODEL.onnx (--input FILE [--row N | --rows A:B] | --noise KIND) [options]",
             "  tessera certify data/models/toy2d.onnx --input data/inputs/toy2d_point.txt\n"
             "  tessera certify data/models/mnist_cnn.onnx --input data/inputs/seven.pgm --threshold 0.99\n"
             "  tessera certify data/models/mnist_mlp.onnx --noise uniform --count 1000 --json > table2.json\n"
             "  tessera certify model.onnx --input t10k-images-idx3-ubyte.gz --rows 0:500\n"
             "  tessera certify model.onnx --noise uniform --box-file property.vnnlib --json\n"
             "  tessera certify data/models/trained/mnist_plain.laplace.onnx --noise uniform --count 1000\n"
             "\nA model written by `tessera laplace` carries a last-layer Laplace posterior: certify then also\n"
             "reports its predictive confidence at the input and its exact limit along the ray (below 1).\n"))
    return kOk;

  const Network net = load_onnx(vm["model"].as<std::string>());
  const std::optional<LaplaceModel> laplace = net.laplace ? std::optional<LaplaceModel>(laplace_model(net)) : std::nullopt;
  CertifyOptions o;
  if (laplace) {
    o.laplace = &*laplace;
    o.laplace_tolerance = vm["laplace-tolerance"].as<double>();
  }
  o.threshold = vm["threshold"].as<double>();
  o.alpha0 = vm["alpha0"].as<double>();
  o.traversal.max_segments = vm["max-segments"].as<std::size_t>();
  o.full = vm.count("full") > 0;
  o.traversal.cancel = stop_flag();
  const BoxOption box = parse_box(vm, net.input_shape().is_image(), net.input_size());
  apply_box(box, o);
  if (const std::string why = o.validate(); !why.empty()) throw Error(why);

  // Which inputs.
  const InputSelection sel = select_inputs(vm, net, box);
  const Matrix& X = sel.X;
  const std::string& source = sel.source;
  const bool single = sel.single;

  std::ostringstream out;
  const std::string output = vm.count("output") ? vm["output"].as<std::string>() : "";
  const Ranks& ranks = Ranks::world();
  if (single) {
    if (!ranks.root()) return kOk;  // one input: rank 0 certifies it
    const Certificate c = certify(net, X.col(0), o);
    if (vm.count("json")) {
      nlohmann::json j = certificate_json(described(c), o);
      j["model"] = net.source;
      j["input"] = source;
      j["threshold"] = o.threshold;
      j["box"] = box.to_json();
      out << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    } else {
      out << "model          " << net.source << "\ninput          " << source << "\n";
      describe(out, c, o);
    }
    emit(out.str(), output);
    return c.complete ? kOk : kIncomplete;
  }

  // A set: shared between the MPI ranks when launched by mpirun or srun
  // (cli/distributed.hpp); rank 0 merges the parts and writes the report.
  WorkQueue queue(ranks, static_cast<std::size_t>(X.cols()));
  CertifySetOptions so;
  so.certify = o;
  so.threads = vm["threads"].as<int>();
  if (so.threads < 0) throw Error("--threads must be 0 (all cores) or a positive number");  // in the option's words
  ProgressBar bar("certify", ranks.root() && progress_wanted(vm));
  so.progress = [&](std::size_t done, std::size_t total) { bar.update(ranks.distributed() ? queue.handed_out() : done, total); };
  so.cancel = stop_flag();
  so.next_input = [&queue] { return queue.next(); };
  const CertifySetResult local = certify_set(net, X, so);
  queue.close();
  bar.finish();
  SetPart mine;
  mine.summary = summary_bytes(local.summary);
  mine.complete = local.complete;
  mine.stop_reason = stop_reason();
  const bool json = vm.count("json") > 0;
  for (const Certificate& c : local.certificates)
    mine.items.emplace_back(c.input, json ? certificate_json(described(c), o).dump() : std::string());
  const std::vector<SetPart> parts = gather_parts(ranks, mine);
  if (!ranks.root()) return kOk;
  report_shares(ranks, parts, "certify", "inputs");
  const CertifySetSummary s = merged_summary<CertifySetSummary>(parts);
  const auto items = items_in_order(parts);
  // Interrupted (Ctrl-C, --time-limit): the inputs that finished, marked.
  const bool whole_set = all_complete(parts) && items.size() == static_cast<std::size_t>(X.cols());
  const std::string why = first_stop_reason(parts).empty() ? stop_reason() : first_stop_reason(parts);
  const std::string partial = whole_set ? "" : std::to_string(items.size()) + " of " + std::to_string(X.cols()) +
                                                   " inputs finished (" + why + ")";
  auto text = [](double v) { return std::isfinite(v) ? fmt(v) : std::string("-"); };
  if (vm.count("json")) {
    nlohmann::json j;
    j["model"] = net.source;
    j["inputs"] = source;
    j["threshold"] = o.threshold;
    j["box"] = box.to_json();
    nlohmann::json certificates = nlohmann::json::array();
    for (const auto& item : items) certificates.push_back(nlohmann::json::parse(item.second));
    j.update(certify_set_json(s, static_cast<std::size_t>(X.cols()), whole_set, o, why, std::move(certificates)));
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    out << "model                 " << net.source << "\ninputs                " << source << "\n";
    if (!whole_set) out << "PARTIAL               " << partial << "\n";
    out << "threshold             " << fmt(o.threshold) << "\n"
        << "certified             " << s.complete << " of " << s.count << " complete; " << s.last_region_found
        << " reached their last region\n"
        << "ties in the limit     " << s.ties << " rays end in a tie of classes (limit confidence < 1)\n"
        << "limit = prediction    " << text(100 * s.fraction_limit_is_prediction())
        << " % (limit class equals the class at alpha = 1)\n"
        << "mean limit confidence " << text(s.limit_confidence.mean()) << "\n"
        << "alpha*                " << s.alpha_star.count() << " have one; median " << text(s.alpha_star.median()) << "\n"
        << "first alpha >= t      " << s.first_alpha.count() << " reach t; median " << text(s.first_alpha.median()) << "\n";
    if (o.has_box)
      out << "inside the box        " << s.first_alpha_in_box.count() << " reach t inside " << box.describe()
          << "; median first alpha " << text(s.first_alpha_in_box.median())
          << "; median largest confidence inside " << text(s.max_confidence_in_box.median()) << "\n";
    out << "regions computed      median " << text(s.regions_visited.median()) << " per ray (from infinity "
        << text(s.regions_from_infinity.median()) << ", box " << text(s.regions_box.median()) << ", middle "
        << text(s.regions_middle.median()) << ")\n";
    if (o.full) {
      out << "regions crossed       median " << text(s.segments.median()) << ", mean " << text(s.segments.mean()) << ", max "
          << static_cast<std::size_t>(s.segments.max()) << "\nhistogram             ";
      for (size_t i = 0; i < s.segment_histogram.size(); ++i)
        if (s.segment_histogram[i]) out << "[" << (1ull << i) << "," << (2ull << i) << "):" << s.segment_histogram[i] << "  ";
      out << "\n";
    }
    out << "bias-free check       max residual " << fmt(s.max_bias_free_residual, 2) << "\n";
    if (laplace)
      out << "Laplace posterior     " << s.laplace_complete << " of " << s.laplace << " complete; " << s.laplace_below_one << " of "
          << s.laplace_limit_confidence.count() << " known limits are below 1; limit confidence mean " << text(s.laplace_limit_confidence.mean())
          << ", max " << (s.laplace_limit_confidence.count() ? fmt(s.laplace_max_limit_confidence, 8) : std::string("-"))
          << "; at the inputs mean " << text(s.laplace_confidence_at_input.mean()) << "; within "
          << fmt(o.laplace_tolerance) << " of the limit from median alpha " << text(s.laplace_alpha_within.median()) << "\n";
  }
  emit(out.str(), output);
  return whole_set && s.complete == s.count ? kOk : kIncomplete;
}

}  // namespace tessera::cli
