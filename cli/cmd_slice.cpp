// tessera slice: the exact linear regions on a 2-D slice of input space.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cmath>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "io/input_box.hpp"
#include "cli/progress.hpp"
#include "cli/stop.hpp"
#include "core/error.hpp"
#include "core/example_networks.hpp"
#include "core/forward.hpp"
#include "core/laplace.hpp"
#include "io/input_io.hpp"
#include "io/onnx_io.hpp"
#include "regions/slice_2d.hpp"
#include "regions/slice_3d.hpp"
#include "export/json.hpp"
#include "export/slice_export.hpp"
#include "export/slice_stats.hpp"
#include "cli/vtp.hpp"

namespace tessera::cli {

namespace {

// --box-file: the slice keeps only the part of its window inside the box.
void apply_box_file(const po::variables_map& vm, const Network& net, SliceOptions& o) {
  if (!vm.count("box-file")) return;
  const InputBox b = read_input_box(vm["box-file"].as<std::string>(), net.input_size());
  o.box_lower = b.lo;
  o.box_upper = b.hi;
}

// "a:b:c..." with exactly `count` numbers; `what` names the option and form.
std::vector<double> parse_numbers(const std::string& text, size_t count, const std::string& what) {
  std::vector<double> v;
  size_t pos = 0;
  while (pos <= text.size()) {
    const size_t end = std::min(text.find(':', pos), text.size());
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(text.substr(pos, end - pos), &used);
    } catch (...) {
      used = 0;
    }
    if (used == 0 || used != end - pos) break;
    v.push_back(x);
    pos = end + 1;
  }
  if (v.size() != count || pos <= text.size())
    throw Error(what + " '" + text + "': expected " + (count == 4 ? "u0:u1:v0:v1" : "u0:u1:v0:v1:w0:w1"));
  return v;
}

// The slice's origin and directions, from --input (random orthonormal
// directions), --points, --origin/--e1/--e2[/--e3], or the input space of a
// model with exactly `dims` inputs.
struct Frame {
  Vector origin;
  std::vector<Vector> e;
  std::string described;
  bool from_points = false;
};

Frame choose_frame(const Network& net, const po::variables_map& vm, int dims) {
  const Shape& shape = net.input_shape();
  const char* names[] = {"e1", "e2", "e3"};
  const int ways = (vm.count("input") > 0) + (vm.count("points") > 0) +
                   (vm.count("origin") || vm.count("e1") || vm.count("e2") || vm.count("e3"));
  if (ways > 1) throw po::error("give one of --input, --points, or --origin/--e1/--e2");
  Frame f;
  if (vm.count("input")) {
    f.origin = read_input_for(shape, vm["input"].as<std::string>(), vm["row"].as<int>());
    f.e = random_orthonormal_directions(f.origin.size(), dims, vm["seed"].as<std::uint64_t>());
    f.described = "through " + vm["input"].as<std::string>() + ", random orthogonal directions (seed " +
                  std::to_string(vm["seed"].as<std::uint64_t>()) + ")";
  } else if (vm.count("points")) {
    const auto p = vm["points"].as<std::vector<std::string>>();
    if (static_cast<int>(p.size()) != dims + 1)
      throw po::error("--points needs " + std::to_string(dims + 1) + " files with --dims " + std::to_string(dims));
    f.origin = read_input_for(shape, p[0]);
    f.described = p[0];
    for (int k = 1; k <= dims; ++k) {
      f.e.push_back(read_input_for(shape, p[k]) - f.origin);
      f.described += std::string(" + ") + "uvw"[k - 1] + " (" + p[k] + " - " + p[0] + ")";
    }
    f.from_points = true;
  } else if (vm.count("origin")) {
    f.origin = read_input_for(shape, vm["origin"].as<std::string>());
    for (int k = 0; k < dims; ++k) {
      if (!vm.count(names[k])) throw po::error(std::string("--origin needs --") + names[k]);
      f.e.push_back(read_input_for(shape, vm[names[k]].as<std::string>()));
    }
    f.described = "explicit origin and directions";
  } else {
    if (net.input_size() != dims)
      throw po::error("the model has " + std::to_string(net.input_size()) + " inputs: choose " +
                      (dims == 2 ? "a plane with --input, --points or --origin/--e1/--e2"
                                 : "a 3-D slice with --input, --points or --origin/--e1/--e2/--e3"));
    f.origin = Vector::Zero(dims);
    for (int k = 0; k < dims; ++k) f.e.push_back(Vector::Unit(dims, k));
    f.described = dims == 2 ? "the input plane (u, v) = (x1, x2)" : "the input space (u, v, w) = (x1, x2, x3)";
  }
  return f;
}


// Progress (regions found, rate) on stderr, and the stop flag of Ctrl-C and
// --time-limit: both slices report a partial result when stopped.
void watch(SliceOptions& o, const po::variables_map& vm, const char* label) {
  o.cancel = stop_flag();
  if (!progress_wanted(vm, vm.count("json") > 0)) return;
  const auto start = std::chrono::steady_clock::now();
  o.progress = [start, label](std::size_t n) {
    const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::fprintf(stderr, "\r%s: %zu regions, %.0f/s%30s", label, n, t > 0 ? n / t : 0.0, "");
  };
  // Inside one layer's cut of one cell (CNN layers): at most 10 lines a second.
  auto last = std::make_shared<std::chrono::steady_clock::time_point>(start);
  o.cut_progress = [last, label](const SliceOptions::CutProgress& p) {
    const auto now = std::chrono::steady_clock::now();
    if (now - *last < std::chrono::milliseconds(100)) return;
    *last = now;
    std::fprintf(stderr, "\r%s: cutting by layer %d of %d, unit %ld of %ld: %zu pieces   ", label, p.layer + 1,
                 p.layers, p.unit, p.units, p.pieces);
  };
}

void unwatch(const SliceOptions& o) {
  if (o.progress) std::fprintf(stderr, "\r%60s\r", "");
}

// The precision warning on stderr (text reports also carry it).
void warn_precision(const std::string& warning) {
  if (!warning.empty()) std::cerr << "tessera slice: warning: " << warning << "\n";
}

}  // namespace

// --dims 3: polyhedra, JSON and .vtp.
int run_slice_3d(const Network& net, const po::variables_map& vm) {
  if (vm.count("svg") || vm.count("png")) throw Error("--svg/--png draw 2-D slices; use --vtp for 3-D slices");
  const Frame f = choose_frame(net, vm, 3);
  const std::string& described = f.described;
  Plane3d s{f.origin, f.e[0], f.e[1], f.e[2]};
  SliceBox box;
  if (vm.count("box")) {
    const auto v = parse_numbers(vm["box"].as<std::string>(), 6, "--box");
    box.lo = Eigen::Vector3d(v[0], v[2], v[4]);
    box.hi = Eigen::Vector3d(v[1], v[3], v[5]);
  }
  SliceOptions o;
  o.max_regions = vm["max-regions"].as<std::size_t>();
  apply_box_file(vm, net, o);
  watch(o, vm, "slice");
  Slice3d r = slice_regions_3d(net, s, box, o);
  unwatch(o);
  r.stop_reason = describe_stop(r.stop_reason);
  warn_precision(r.precision_warning);
  if (vm.count("vtp")) emit(slice_to_vtp(r), vm["vtp"].as<std::string>());
  std::ostringstream out;
  if (vm.count("json")) {
    nlohmann::json j = r;
    j["model"] = net.source;
    j["slice"] = described;
    j["box"] = {box.lo[0], box.hi[0], box.lo[1], box.hi[1], box.lo[2], box.hi[2]};
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    const SliceStatistics st = slice_statistics(r);
    out << "model      " << net.source << "\nslice      " << described << "\nbox        u " << fmt(box.lo[0]) << " .. "
        << fmt(box.hi[0]) << ", v " << fmt(box.lo[1]) << " .. " << fmt(box.hi[1]) << ", w " << fmt(box.lo[2]) << " .. "
        << fmt(box.hi[2]) << " (volume " << fmt(r.box_volume) << ")\nregions    " << r.polyhedra.size()
        << (r.complete ? "" : " (PARTIAL: " + r.stop_reason + ")") << ", density " << fmt(st.density)
        << " per unit volume\n";
    if (!r.precision_warning.empty()) out << "WARNING    " << r.precision_warning << "\n";
    if (st.regions)
      out << "volumes    min " << fmt(st.min_size) << ", median " << fmt(st.median_size) << ", max " << fmt(st.max_size)
          << "\n";
    out << "classes   ";
    for (const auto& [k, share] : st.class_share) out << " " << k << ": " << fmt(100 * share, 3) << "%";
    out << "  (by volume, class at each region's centroid)\n";
  }
  emit(out.str(), vm.count("output") ? vm["output"].as<std::string>() : "");
  return r.complete ? kOk : kIncomplete;
}

int run_slice(const std::vector<std::string>& args) {
  po::options_description common("Options");
  common.add_options()("help,h", "show this help")(
      "input,i", po::value<std::string>(), "a plane through this input, spanned by two random directions")(
      "row,r", po::value<int>()->default_value(-1), "row of an IDX or text file")(
      "seed", po::value<std::uint64_t>()->default_value(1), "seed of the random directions")(
      "points", po::value<std::vector<std::string>>()->multitoken(),
      "three inputs A B C: the plane A + u (B - A) + v (C - A)")(
      "window,w", po::value<std::string>(), "u0:u1:v0:v1 (default -1:1:-1:1; -0.25:1.25:-0.25:1.25 with --points)")(
      "json", "print every polygon as JSON")("svg", po::value<std::string>(), "write an SVG picture to this file")(
      "png", po::value<std::string>(), "write a PNG picture to this file")(
      "dims", po::value<int>()->default_value(2), "2 (polygons) or 3 (polyhedra: --box, --e3, four --points)")(
      "box", po::value<std::string>(), "3-D window u0:u1:v0:v1:w0:w1 (default -1:1 in each)")(
      "box-file", po::value<std::string>(), "clip the window to the inputs' bounds: a VNN-LIB file's input "
                                             "bounds, or two rows (lower bounds, upper bounds)")(
      "e3", po::value<std::string>(), "third direction (file), with --origin/--e1/--e2 and --dims 3")(
      "vtp", po::value<std::string>(), "write the polygons as VTK PolyData (.vtp, opens in ParaView)")(
      "color", po::value<std::string>()->default_value("class"), "SVG/PNG colouring: region, class, confidence, shaded (the class, paler where less sure) or laplace (a model "
      "with a Laplace posterior: its predictive confidence at each region's centre)")(
      "output,o", po::value<std::string>(), "write the text/JSON report to this file (atomically)");
  po::options_description advanced("Advanced");
  advanced.add_options()("origin", po::value<std::string>(), "explicit plane: origin (file), with --e1 and --e2")(
      "e1", po::value<std::string>(), "first direction (file)")("e2", po::value<std::string>(), "second direction (file)")(
      "max-regions", po::value<std::size_t>()->default_value(1'000'000), "stop after this many regions (partial result)")(
      "growth", po::value<int>()->default_value(0),
      "also count regions in the window scaled by 2, 4, ... 2^N around its centre");
  po::options_description visible;
  visible.add(common).add(advanced).add(limit_options());
  po::variables_map vm;
  if (!parse_model_command(args, visible, vm, "tessera slice MODEL.onnx [plane] [--window u0:u1:v0:v1] [--json] [--svg FILE]",
             "  tessera slice data/models/toy2d.onnx --window -3:3:-3:3 --svg toy2d.svg\n"
             "  tessera slice data/models/mnist_mlp.onnx --input data/inputs/seven.pgm --color confidence --svg s.svg\n"
             "  tessera slice model.onnx --points a.txt b.txt c.txt --json > slice.json\n"
             "  tessera slice data/models/toy2d.onnx --growth 6     # far out only a few regions remain\n"
             "  tessera slice data/models/mnist_mlp.onnx --dims 3 --input data/inputs/noise.pgm --box -3:3:-3:3:-3:3 --vtp r.vtp\n"
             "  tessera slice model.onnx --input x.txt --window -5:5:-5:5 --box-file property.vnnlib --svg s.svg\n"))
    return kOk;
  if (vm.count("vtp")) require_vtp_plugin();  // before any work

  const Network net = load_onnx(vm["model"].as<std::string>());
  const int dims = vm["dims"].as<int>();
  if (dims != 2 && dims != 3) throw Error("--dims must be 2 or 3");
  if (dims == 3) return run_slice_3d(net, vm);
  const Frame f = choose_frame(net, vm, 2);
  const std::string& described = f.described;
  const Plane2d plane{f.origin, f.e[0], f.e[1]};
  SliceWindow window;
  if (f.from_points) window = SliceWindow{-0.25, 1.25, -0.25, 1.25};
  if (vm.count("window")) {
    const auto v = parse_numbers(vm["window"].as<std::string>(), 4, "--window");
    window = SliceWindow{v[0], v[1], v[2], v[3]};
  }
  SliceOptions o;
  o.max_regions = vm["max-regions"].as<std::size_t>();
  if (o.max_regions == 0) throw Error("--max-regions must be at least 1");
  apply_box_file(vm, net, o);
  const std::string colour = vm["color"].as<std::string>();
  // laplace: the confidence colouring, with each region's value the Laplace
  // predictive confidence at its centre (the vertices' mean).
  const bool by_laplace = colour == "laplace";
  if (by_laplace && !net.laplace)
    throw Error("--color laplace needs a model with a last-layer Laplace posterior (made by tessera laplace); " + net.source +
                " has none");
  const std::optional<SliceColouring> parsed = by_laplace ? SliceColouring::Confidence : colouring_from_name(colour);
  if (!parsed) throw Error("--color '" + colour + "': expected region, class, confidence, shaded or laplace");
  const SliceColouring colouring = *parsed;
  const int growth = vm["growth"].as<int>();
  if (growth < 0 || growth > 30) throw Error("--growth must be between 0 and 30");

  watch(o, vm, "slice");
  Slice2d s = slice_regions_2d(net, plane, window, o);
  unwatch(o);
  s.stop_reason = describe_stop(s.stop_reason);
  warn_precision(s.precision_warning);
  std::string title = net.source + ": " + std::to_string(s.polygons.size()) + " regions";
  std::vector<double> laplace_conf;
  Slice2d shown_laplace;
  // A Laplace model: its predictive at every region's centre, for --color
  // laplace and --json (skipped when the slice itself was interrupted; a
  // stop during this pass leaves the rest unknown: null, drawn at the bottom
  // of the scale).
  if (net.laplace && (by_laplace || vm.count("json")) && !stop_flag()->load()) {
    const LaplaceModel lm = laplace_model(net);
    for (const SlicePolygon& p : s.polygons) {
      if (stop_flag()->load()) {
        if (s.complete) s.stop_reason = describe_stop("cancelled") + " (while computing the Laplace confidences)";
        s.complete = false;
        break;
      }
      Eigen::Vector2d c = Eigen::Vector2d::Zero();
      for (const auto& v : p.polygon.vertices) c += v;
      c /= std::max<std::size_t>(1, p.polygon.vertices.size());
      const Vector x = plane.origin + c[0] * plane.e1 + c[1] * plane.e2;
      laplace_conf.push_back(laplace_predictive(lm.head, logits(lm.features, x)).confidence);
    }
    if (by_laplace) {
      shown_laplace = s;
      for (std::size_t i = 0; i < s.polygons.size(); ++i)
        shown_laplace.polygons[i].min_confidence = shown_laplace.polygons[i].max_confidence =
            i < laplace_conf.size() ? laplace_conf[i] : 0.0;
      title += "; Laplace confidence at region centres";
    }
  }
  const Slice2d& shown = by_laplace ? shown_laplace : s;
  if (vm.count("svg")) emit(slice_to_svg(shown, window, colouring, 800, title), vm["svg"].as<std::string>());
  if (vm.count("png")) emit(slice_to_png(shown, window, colouring, 800, title), vm["png"].as<std::string>());
  if (vm.count("vtp")) emit(slice_to_vtp(shown, colouring), vm["vtp"].as<std::string>());

  std::ostringstream out;
  if (vm.count("json")) {
    nlohmann::json j = s;
    if (net.laplace) {  // null: not computed (interrupted)
      nlohmann::json lc = nlohmann::json::array();
      for (std::size_t i = 0; i < s.polygons.size(); ++i)
        lc.push_back(i < laplace_conf.size() ? nlohmann::json(laplace_conf[i]) : nlohmann::json(nullptr));
      j["laplace_confidence_at_centres"] = lc;
    }
    j["model"] = net.source;
    j["plane"] = described;
    j["window"] = {window.u0, window.u1, window.v0, window.v1};
    j["input_box"] = vm.count("box-file") ? nlohmann::json(vm["box-file"].as<std::string>()) : nlohmann::json(nullptr);
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    const SliceStatistics st = slice_statistics(s);
    out << "model      " << net.source << "\nplane      " << described << "\nwindow     u " << fmt(window.u0) << " .. "
        << fmt(window.u1) << ", v " << fmt(window.v0) << " .. " << fmt(window.v1) << " (area " << fmt(s.window_area)
        << ")\nregions    " << s.polygons.size() << (s.complete ? "" : " (PARTIAL: " + s.stop_reason + ")")
        << ", density " << fmt(st.density) << " per unit area\n";
    if (!s.precision_warning.empty()) out << "WARNING    " << s.precision_warning << "\n";
    if (st.regions)
      out << "areas      min " << fmt(st.min_size) << ", median " << fmt(st.median_size) << ", max " << fmt(st.max_size)
          << "\n";
    out << "classes   ";
    for (const auto& [k, share] : st.class_share) out << " " << k << ": " << fmt(100 * share, 3) << "%";
    out << "  (by area, class at each region's centroid)\ndecision boundary length " << fmt(st.decision_boundary_length)
        << "\n";
    if (growth > 0) {
      out << "\nregion count as the window grows (centre fixed):\n   scale      regions\n";
      const double cu = 0.5 * (window.u0 + window.u1), cv = 0.5 * (window.v0 + window.v1);
      SliceOptions g = o;
      g.decision_boundary = false;
      for (int i = 0; i <= growth && !stop_requested(); ++i) {
        const double f = std::ldexp(1.0, i);
        const SliceWindow big{cu + f * (window.u0 - cu), cu + f * (window.u1 - cu), cv + f * (window.v0 - cv),
                              cv + f * (window.v1 - cv)};
        const Slice2d sg = slice_regions_2d(net, plane, big, g);
        char line[96];
        std::snprintf(line, sizeof line, "%8g  %11zu%s\n", f, sg.polygons.size(), sg.complete ? "" : " (partial)");
        out << line;
      }
    }
  }
  emit(out.str(), vm.count("output") ? vm["output"].as<std::string>() : "");
  return s.complete && !stop_requested() ? kOk : kIncomplete;
}

}  // namespace tessera::cli
