#include "cli/common.hpp"

#include <cstdio>
#include <iostream>

#include "core/error.hpp"
#include "core/file_util.hpp"

namespace tessera::cli {

bool parse(const std::vector<std::string>& args, const po::options_description& visible,
           const po::positional_options_description& positional, po::variables_map& vm, const std::string& usage,
           const std::string& examples, const po::options_description* hidden) {
  po::options_description all;
  all.add(visible);
  if (hidden) all.add(*hidden);
  po::store(po::command_line_parser(args).options(all).positional(positional).run(), vm);
  if (vm.count("help")) {
    std::cout << "Usage: " << usage << "\n\n" << visible << "\nExamples:\n" << examples;
    return false;
  }
  po::notify(vm);
  return true;
}

BoxOption parse_box(const po::variables_map& vm, bool image_default) {
  BoxOption box;
  box.enabled = image_default;
  if (!vm.count("box")) return box;
  const std::string b = vm["box"].as<std::string>();
  if (b == "none") {
    box.enabled = false;
    return box;
  }
  const auto colon = b.find(':');
  size_t u1 = 0, u2 = 0;
  try {
    box.lo = std::stod(b.substr(0, colon), &u1);
    box.hi = std::stod(b.substr(colon + 1), &u2);
  } catch (...) {
    u1 = 0;
  }
  if (colon == std::string::npos || u1 != colon || u2 != b.size() - colon - 1)
    throw Error("--box '" + b + "': expected lo:hi (for example 0:1) or none");
  box.enabled = true;
  return box;
}

bool parse_model_command(const std::vector<std::string>& args, const po::options_description& visible,
                         po::variables_map& vm, const std::string& usage, const std::string& examples) {
  po::options_description hidden;
  hidden.add_options()("model", po::value<std::string>()->required(), "ONNX model");
  po::positional_options_description pos;
  pos.add("model", 1);
  return parse(args, visible, pos, vm, usage, examples, &hidden);
}

nlohmann::json to_json(const Vector& v) {
  nlohmann::json j = nlohmann::json::array();
  for (Eigen::Index i = 0; i < v.size(); ++i) j.push_back(v[i]);
  return j;
}

nlohmann::json to_json(const Matrix& m) {
  nlohmann::json j = nlohmann::json::array();
  for (Eigen::Index r = 0; r < m.rows(); ++r) j.push_back(to_json(Vector(m.row(r).transpose())));
  return j;
}

std::string fmt(double v, int precision) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g", precision, v);
  return buf;
}

void emit(const std::string& text, const std::string& path) {
  if (path.empty() || path == "-") {
    std::cout << text;
    std::cout.flush();
  } else {
    write_file_atomically(path, text);
  }
}

}  // namespace tessera::cli
