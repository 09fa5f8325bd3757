// tessera affine MODEL --input FILE: the linear region of one input.
#include <cmath>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "core/affine_report.hpp"
#include "core/laplace.hpp"
#include "export/json.hpp"
#include "core/error.hpp"
#include "core/limits.hpp"
#include "core/forward.hpp"
#include "io/input_io.hpp"
#include "io/onnx_io.hpp"

namespace tessera::cli {

namespace {

// Small matrices in full, large ones as shape and row norms.
void print_map(std::ostringstream& out, const AffineMap& m, int precision, const std::string& indent) {
  if (m.V.cols() <= 12 && m.V.rows() <= 32) {
    for (Eigen::Index r = 0; r < m.V.rows(); ++r) {
      out << indent << "[";
      for (Eigen::Index c = 0; c < m.V.cols(); ++c) out << (c ? " " : "") << fmt(m.V(r, c), precision);
      out << "] . x + " << fmt(m.a[r], precision) << "\n";
    }
    return;
  }
  out << indent << "V is " << m.V.rows() << "x" << m.V.cols() << " (use --json for every entry); per row: |V_k|, a_k\n";
  const Eigen::Index shown = std::min<Eigen::Index>(m.V.rows(), 32);
  for (Eigen::Index r = 0; r < shown; ++r)
    out << indent << "  " << r << ": |V| = " << fmt(m.V.row(r).norm(), precision) << ", a = " << fmt(m.a[r], precision)
        << "\n";
  if (shown < m.V.rows()) out << indent << "  ... " << m.V.rows() - shown << " more rows\n";
}

}  // namespace

int run_affine(const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help")(
      "input,i", po::value<std::string>()->required(),
      "input file: text vector (whitespace/CSV), PNG/PGM image, or IDX data file")(
      "row,r", po::value<int>()->default_value(-1), "row of an IDX or multi-line text file (default: first / all)")(
      "json", "print every number as JSON (V as a list of rows)")(
      "layers", "also give the affine map of every hidden layer's pre-activation")(
      "precision", po::value<int>()->default_value(6), "significant digits in the human-readable output");
  opts.add(limit_options());
  po::variables_map vm;
  if (!parse_model_command(args, opts, vm, "tessera affine MODEL.onnx --input FILE [--row N] [--json] [--layers]",
             "  tessera affine data/models/toy2d.onnx --input data/inputs/toy2d_point.txt\n"
             "  tessera affine data/models/mnist_cnn.onnx --input data/inputs/seven.pgm --layers\n"
             "  tessera affine model.onnx --input t10k-images-idx3-ubyte.gz --row 7 --json > map.json\n"))
    return kOk;
  const int precision = vm["precision"].as<int>();
  if (precision < 1 || precision > 17) throw Error("--precision must be between 1 and 17");
  const std::string input_path = vm["input"].as<std::string>();
  const int row = vm["row"].as<int>();
  if (row < -1) throw Error("--row must be >= 0");

  const Network net = load_onnx(vm["model"].as<std::string>());
  const Vector x = read_input_for(net.input_shape(), input_path, row);
  const AffineReport report =
      affine_report(net, x, input_path + (row >= 0 ? " row " + std::to_string(row) : ""), vm.count("layers") > 0);
  const ForwardPass& fp = report.pass;
  const AffineMap& map = report.map;
  const Vector& p = report.softmax;
  const Eigen::Index cls = report.predicted_class;
  const double residual = report.max_relative_residual;
  const std::vector<NodeAffineMap>& hidden_maps = report.hidden_maps;

  if (vm.count("json")) {
    nlohmann::json j = affine_json(report, net);
    j["model"] = net.source;
    j["input"] = {{"file", input_path}, {"row", row}, {"size", x.size()}};
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return kOk;
  }

  std::ostringstream out;
  out << "model      " << net.source << "\n"
      << "input      " << input_path << (row >= 0 ? " row " + std::to_string(row) : "") << " (" << x.size()
      << " values)\n"
      << "prediction class " << cls << " with confidence " << fmt(p[cls], precision) << "\n\n";
  out << "class        logit      softmax\n";
  for (Eigen::Index k = 0; k < p.size(); ++k) {
    char line[128];
    std::snprintf(line, sizeof line, "%5lld  %12s  %11s%s\n", static_cast<long long>(k),
                  fmt(fp.logits()[k], precision).c_str(), fmt(p[k], precision).c_str(), k == cls ? "  <" : "");
    out << line;
  }
  if (net.laplace) {
    const Predictive lp =
        laplace_predictive(*net.laplace, fp.values.at(static_cast<std::size_t>(net.nodes.back().inputs.at(0))));
    out << "Laplace posterior of the last layer: class " << lp.cls << " with predictive confidence "
        << fmt(lp.confidence, precision) << " (probit approximation)\n";
  }
  out << "\nactivation pattern " << fp.pattern.hash_hex() << "\n";
  for (const LayerPattern& l : fp.pattern.layers) {
    char line[256];
    if (l.kind == OpKind::MaxPool2d) {
      std::snprintf(line, sizeof line, "  %-24s %-10s %7d windows              hash %s\n",
                    net.nodes[l.node].name.c_str(), op_name(l.kind), l.size, layer_hash_hex(l).c_str());
    } else if (l.kind == OpKind::Piecewise) {
      std::string counts;
      for (int c : units_per_piece(net, l)) counts += (counts.empty() ? "" : "/") + std::to_string(c);
      std::snprintf(line, sizeof line, "  %-24s %-10s %7d units, by piece %-12s hash %s\n",
                    net.nodes[l.node].name.c_str(), op_name(l.kind), l.size, counts.c_str(),
                    layer_hash_hex(l).c_str());
    } else {
      std::snprintf(line, sizeof line, "  %-24s %-10s %7d active of %-7d     hash %s\n", net.nodes[l.node].name.c_str(),
                    op_name(l.kind), l.active_count(), l.size, layer_hash_hex(l).c_str());
    }
    out << line;
  }
  out << "\nlocal affine map f(x) = V(x) x + a(x) on this region:\n";
  print_map(out, map, precision, "  ");
  out << "check: V x + a reproduces the logits to " << fmt(residual, 2) << " (relative)\n";
  for (const NodeAffineMap& m : hidden_maps) {
    out << "\npre-activation of " << net.nodes[m.node].name << " (" << op_name(net.nodes[m.node].kind) << ", "
        << m.map.V.rows() << " units):\n";
    print_map(out, m.map, precision, "  ");
  }
  std::cout << out.str();
  return kOk;
}

}  // namespace tessera::cli
