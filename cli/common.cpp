#include "cli/common.hpp"

#include <cstdio>
#include <iostream>

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
