// tessera info MODEL: what the network is made of.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "core/laplace.hpp"
#include "io/onnx_io.hpp"

namespace tessera::cli {

namespace {

std::string role(const Node& n) {
  if (n.kind == OpKind::Input) return "input";
  if (n.kind == OpKind::Relu || n.kind == OpKind::LeakyRelu) return "piecewise linear (sign pattern)";
  if (n.kind == OpKind::MaxPool2d) return "piecewise linear (arg-max pattern)";
  if (n.kind == OpKind::Piecewise)
    return std::string("piecewise linear (") + piecewise_form_name(piecewise_form(n)) + ", " +
           std::to_string(n.pieces()) + " pieces a unit)";
  return "affine";
}

// The input's shape as the file declares it: "[N, 784, 1]" (N: symbolic).
std::string declared_shape(const Network& net) {
  std::string s = "[";
  for (size_t i = 0; i < net.declared_input_dims.size(); ++i)
    s += (i ? ", " : "") + (net.declared_input_dims[i] == 0 ? std::string("N")
                                                            : std::to_string(net.declared_input_dims[i]));
  return s + "]";
}

}  // namespace

int run_info(const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help")("json", "print JSON instead of a table")(
      "operators", "list the ONNX operators Tessera reads, what each becomes and the attributes it understands (no model needed; with --json or --markdown)");
  opts.add_options()("markdown", "with --operators: the list as the Markdown table of the user guide");
  opts.add(limit_options());
  // --operators needs no model.
  if (std::find(args.begin(), args.end(), "--operators") != args.end() &&
      std::find(args.begin(), args.end(), "--help") == args.end() &&
      std::find(args.begin(), args.end(), "-h") == args.end()) {
    const bool json = std::find(args.begin(), args.end(), "--json") != args.end();
    const bool markdown = std::find(args.begin(), args.end(), "--markdown") != args.end();
    for (const std::string& a : args)
      if (a != "--operators" && a != "--json" && a != "--markdown")
        throw po::error("--operators takes no model or other option (got '" + a + "')");
    if (json && markdown) throw po::error("give --json or --markdown, not both");
    auto attributes = [](const OnnxOperator& o) {
      std::string s;
      for (const auto& a : o.attributes) s += (s.empty() ? "" : ", ") + a;
      return s;
    };
    std::ostringstream out;
    if (json) {
      nlohmann::json j = nlohmann::json::array();
      for (const OnnxOperator& o : onnx_operator_table())
        j.push_back({{"operator", o.name}, {"becomes", o.becomes}, {"attributes", o.attributes}});
      out << j.dump(2) << "\n";
    } else if (markdown) {
      // The user guide's table ("Supported models"), generated from this.
      out << "| ONNX operator | becomes | attributes |\n|---|---|---|\n";
      for (const OnnxOperator& o : onnx_operator_table()) {
        std::string a;
        for (const auto& x : o.attributes) a += (a.empty() ? "`" : ", `") + x + "`";
        std::string becomes;
        for (char c : o.becomes) becomes += c == '|' ? std::string("\\|") : std::string(1, c);
        out << "| `" << o.name << "` | " << becomes << " | " << (a.empty() ? "none" : a) << " |\n";
      }
    } else {
      out << "ONNX operators Tessera reads (default domain), and what each becomes:\n\n";
      for (const OnnxOperator& o : onnx_operator_table()) {
        char line[64];
        std::snprintf(line, sizeof line, "  %-20s ", o.name.c_str());
        out << line << o.becomes << "\n";
        if (!o.attributes.empty()) out << std::string(23, ' ') << "attributes: " << attributes(o) << "\n";
      }
      out << "\nAnything else (another operator, or an attribute not listed) is refused, naming the node.\n";
    }
    std::cout << out.str();
    return kOk;
  }
  po::variables_map vm;
  if (!parse_model_command(args, opts, vm, "tessera info MODEL.onnx [--json] | tessera info --operators [--json]",
             "  tessera info data/models/mnist_cnn.onnx\n  tessera info model.onnx --json | jq .parameters\n"
             "  tessera info --operators\n"))
    return kOk;

  const Network net = load_onnx(vm["model"].as<std::string>());
  std::int64_t relu_units = 0, maxpool_outputs = 0;
  for (const Node& n : net.nodes) {
    if (n.kind == OpKind::Relu || n.kind == OpKind::LeakyRelu || n.kind == OpKind::Piecewise)
      relu_units += n.shape.size();
    if (n.kind == OpKind::MaxPool2d) maxpool_outputs += n.shape.size();
  }
  if (vm.count("json")) {
    nlohmann::json j;
    j["model"] = net.source;
    j["input_shape"] = net.input_shape().dims;
    if (!net.declared_input_dims.empty()) {
      nlohmann::json d = nlohmann::json::array();
      for (auto v : net.declared_input_dims) d.push_back(v == 0 ? nlohmann::json(nullptr) : nlohmann::json(v));
      j["declared_input_shape"] = d;  // null: a symbolic batch dimension
    }
    j["classes"] = net.output_size();
    j["softmax_output"] = net.softmax_output;
    j["parameters"] = net.parameter_count();
    j["piecewise_affine"] = true;
    j["relu_units"] = relu_units;
    j["maxpool_outputs"] = maxpool_outputs;
    if (net.laplace)
      j["laplace"] = {{"structure", net.laplace->structure_name()},
                      {"layer", net.laplace->layer},
                      {"prior_precision", net.laplace->prior_precision},
                      {"fitted_on", net.laplace->fitted_on}};
    j["nodes"] = nlohmann::json::array();
    for (size_t i = 0; i < net.nodes.size(); ++i) {
      const Node& n = net.nodes[i];
      j["nodes"].push_back({{"index", i},
                            {"name", n.name},
                            {"op", op_name(n.kind)},
                            {"inputs", n.inputs},
                            {"shape", n.shape.dims},
                            {"parameters", n.parameter_count()},
                            {"role", role(n)}});
    }
    std::cout << j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return kOk;
  }
  std::ostringstream out;
  out << "model        " << net.source << "\n"
      << "input        " << net.input_shape().str() << " (" << net.input_size() << " values"
      << (net.declared_input_dims.empty() ? std::string() : "; declared " + declared_shape(net)) << ")\n"
      << "output       " << net.output_size() << " logits" << (net.softmax_output ? " (the file applies a softmax; Tessera reports logits and computes the softmax itself)" : "") << "\n"
      << "parameters   " << net.parameter_count() << "\n"
      << "pattern      " << relu_units << " ReLU/LeakyReLU/piecewise units, " << maxpool_outputs << " max-pool windows\n"
      << "The whole network is piecewise affine: every node below is affine or piecewise linear.\n";
  if (net.laplace)
    out << "Laplace      a Gaussian posterior over the last layer '" << net.laplace->layer << "' ("
        << net.laplace->structure_name() << " covariance, prior precision " << fmt(net.laplace->prior_precision)
        << "; " << net.laplace->fitted_on << "): certify, affine and ray also report its predictive confidence\n";
  out << "\n";
  char line[256];
  std::snprintf(line, sizeof line, "%4s  %-24s %-18s %-10s %-12s %10s  %s\n", "#", "name", "op", "inputs", "shape",
                "params", "role");
  out << line;
  for (size_t i = 0; i < net.nodes.size(); ++i) {
    const Node& n = net.nodes[i];
    std::string ins;
    for (int in : n.inputs) ins += (ins.empty() ? "" : ",") + std::to_string(in);
    std::string name = n.name.size() > 24 ? n.name.substr(0, 21) + "..." : n.name;
    std::snprintf(line, sizeof line, "%4zu  %-24s %-18s %-10s %-12s %10lld  %s\n", i, name.c_str(), op_name(n.kind),
                  ins.empty() ? "-" : ins.c_str(), n.shape.str().c_str(),
                  static_cast<long long>(n.parameter_count()), role(n).c_str());
    out << line;
  }
  std::cout << out.str();
  return kOk;
}

}  // namespace tessera::cli
