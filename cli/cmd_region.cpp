// tessera region: the linear region of one input as a polytope.
#include <chrono>
#include <cmath>
#include <cstring>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "cli/stop.hpp"
#include "core/affine_map.hpp"
#include "core/error.hpp"
#include "io/input_io.hpp"
#include "io/onnx_io.hpp"
#include "regions/polytope.hpp"

namespace tessera::cli {

int run_region(const std::vector<std::string>& args) {
  po::options_description common("Options");
  common.add_options()("help,h", "show this help")("input,i", po::value<std::string>()->required(),
                                                   "the input x whose region Q(x) is described")(
      "row,r", po::value<int>()->default_value(-1), "row of an IDX or text file")(
      "box", po::value<std::string>(), "intersect with the box lo:hi, or none (default: 0:1 for image models)")(
      "box-file", po::value<std::string>(), "intersect with one interval per input (a VNN-LIB file's input "
                                             "bounds, or two rows: lower bounds, upper bounds)")(
      "json", "print JSON")("output,o", po::value<std::string>(), "write the report to this file (atomically)");
  po::options_description advanced("Advanced");
  advanced.add_options()("no-facets", "skip facet reduction (one LP per row)")(
      "max-lp-rows", po::value<std::size_t>()->default_value(5000),
      "skip facets and confidence bounds for regions with more half-spaces")(
      "no-confidence", "skip the confidence bounds (K^2 LPs for K classes)");
  po::options_description visible;
  visible.add(common).add(advanced).add(limit_options());
  po::variables_map vm;
  if (!parse_model_command(args, visible, vm, "tessera region MODEL.onnx --input FILE [--box lo:hi|none] [--json]",
             "  tessera region data/models/toy2d.onnx --input data/inputs/toy2d_point.txt\n"
             "  tessera region data/models/mnist_mlp.onnx --input data/inputs/seven.pgm --box 0:1 --json\n"
             "  tessera region model.onnx --input x.txt --box-file property.vnnlib\n"))
    return kOk;
  const Network net = load_onnx(vm["model"].as<std::string>());
  const std::string path = vm["input"].as<std::string>();
  const Vector x = read_input_for(net.input_shape(), path, vm["row"].as<int>());
  RegionOptions o;
  const BoxOption box = parse_box(vm, net.input_shape().is_image(), net.input_size());
  apply_box(box, o);
  o.find_facets = vm.count("no-facets") == 0;
  o.max_lp_rows = vm["max-lp-rows"].as<std::size_t>();
  o.confidence = vm.count("no-confidence") == 0;
  o.cancel = stop_flag();
  // Facets take one LP per half-space (thousands on real networks): say so,
  // with a count and the time left, and how to get the polytope quickly.
  const bool show = progress_wanted(vm, vm.count("json") > 0);
  if (show && o.find_facets) {
    std::int64_t units = 0;
    for (int i : pre_activation_nodes(net)) units += net.nodes[i].shape.size();
    if (units > 500)
      std::cerr << "tessera region: up to " << units << " half-spaces: facets take one LP each; --no-facets "
                   "--no-confidence gives the polytope itself (boundedness, inradius) much faster\n";
  }
  ProgressBar bar("region LPs", show);
  const char* stage_shown = "";
  o.progress = [&](const char* stage, std::size_t done, std::size_t total) {
    if (std::strcmp(stage, stage_shown) != 0) {
      bar.finish();
      bar = ProgressBar(std::string("region: ") + stage + " LPs", show);
      stage_shown = stage;
    }
    bar.update(done, total);
  };
  RegionReport r = analyse_region(net, x, o);
  bar.finish();
  if (!r.complete) r.stop_reason = stop_requested() ? stop_reason() + ", " + r.stop_reason : r.stop_reason;

  auto describe = [&](int row) {
    const RowOrigin& g = r.origin[row];
    if (g.box) return std::string("box: x_") + std::to_string(g.unit / 2) + (g.unit % 2 ? " >= lo" : " <= hi");
    std::string s = net.nodes[g.node].name + " unit " + std::to_string(g.unit);
    if (g.other >= 0) s += " (winner vs input " + std::to_string(g.other) + ")";
    if (g.knot >= 0) s += " (knot " + fmt(net.nodes[g.node].knot(g.unit, g.knot)) + ")";
    return s;
  };
  std::ostringstream out;
  if (vm.count("json")) {
    nlohmann::json j = region_json(r, net);
    j["model"] = net.source;
    j["input"] = path;
    j["box"] = box.to_json();
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
  } else {
    out << "model        " << net.source << "\ninput        " << path << "\n";
    if (!r.complete) out << "PARTIAL      " << r.stop_reason << "\n";
    out << "region       Q(x) = { z : A z <= b }, "
        << r.A.rows() << " half-spaces";
    if (o.has_box) out << " (including " << box.describe() << ")";
    if (r.constant_rows) out << "; " << r.constant_rows << " units are constant and cut nothing";
    out << "\n";
    if (r.facets_computed) {
      out << "facets       " << r.facets.size() << " of the rows are facets (irredundant):\n";
      const size_t shown = std::min<size_t>(r.facets.size(), 40);
      for (size_t i = 0; i < shown; ++i) out << "               " << describe(r.facets[i]) << "\n";
      if (shown < r.facets.size()) out << "               ... " << r.facets.size() - shown << " more (--json)\n";
    } else {
      out << "facets       " << r.facets_note << "\n";
    }
    out << "bounded      " << (!r.bounded_computed ? "not computed (stopped)" : r.bounded ? "yes" : "no") << "\n";
    if (r.bounded_computed && !r.bounded) {
      out << "recession    direction d with A d <= 0";
      if (r.recession_direction.size() <= 10) {
        out << ": [";
        for (Eigen::Index i = 0; i < r.recession_direction.size(); ++i)
          out << (i ? " " : "") << fmt(r.recession_direction[i], 4);
        out << "]";
      }
      out << "\n";
    }
    if (!r.inradius_computed) {
      out << "inradius     not computed (stopped)\n";
    } else if (r.chebyshev_center) {
      out << "inradius     " << fmt(r.inradius) << " (largest ball inside the region)\ncentre       ";
      if (x.size() <= 10) {
        out << "[";
        for (Eigen::Index i = 0; i < x.size(); ++i) out << (i ? " " : "") << fmt((*r.chebyshev_center)[i], 6);
        out << "]";
      } else {
        out << "at distance " << fmt((*r.chebyshev_center - x).norm()) << " from x (--json for its coordinates)";
      }
      out << "\n";
    } else {
      out << "inradius     unbounded (the region contains balls of every radius)\n";
    }
    if (!r.confidence_computed) out << "confidence   " << r.confidence_note << "\n";
    if (r.confidence_computed) {
      out << "confidence   the largest confidence in the region lies in [" << fmt(r.largest_confidence_lower) << ", "
          << fmt(r.largest_confidence_upper) << "], the smallest in [" << fmt(r.smallest_confidence_lower) << ", "
          << fmt(r.smallest_confidence_upper) << "]\nclasses      winning somewhere in the region (margin >= 0):";
      for (Eigen::Index k = 0; k < r.max_margin.size(); ++k)
        if (r.max_margin[k] >= 0) out << " " << k;
      out << "\n";
    }
  }
  emit(out.str(), vm.count("output") ? vm["output"].as<std::string>() : "");
  return r.complete ? kOk : kIncomplete;
}

}  // namespace tessera::cli
