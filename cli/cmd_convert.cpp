// tessera convert IN OUT: load (folding normalisation) and write ONNX back.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "core/error.hpp"
#include "io/onnx_io.hpp"

namespace tessera::cli {

int run_convert(const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help")("float64", "store weights as double instead of float")(
      "opset", po::value<int>()->default_value(13), "ONNX opset to declare");
  po::options_description hidden;
  hidden.add_options()("in", po::value<std::string>()->required(), "input model")(
      "out", po::value<std::string>()->required(), "output model");
  po::positional_options_description pos;
  pos.add("in", 1).add("out", 1);
  opts.add(limit_options());
  po::variables_map vm;
  if (!parse(args, opts, pos, vm, "tessera convert IN.onnx OUT.onnx [--float64]",
             "  tessera convert exported_by_pytorch.onnx clean.onnx\n", &hidden))
    return kOk;
  const Network net = load_onnx(vm["in"].as<std::string>());
  OnnxSaveOptions o;
  o.float64 = vm.count("float64") > 0;
  o.opset = vm["opset"].as<int>();
  if (o.opset < 13 || o.opset > 18) throw Error("--opset must be between 13 and 18");
  save_onnx(net, vm["out"].as<std::string>(), o);
  std::cout << "wrote " << vm["out"].as<std::string>() << " (" << net.nodes.size() - 1 << " nodes, "
            << net.parameter_count() << " parameters)\n";
  return kOk;
}

}  // namespace tessera::cli
