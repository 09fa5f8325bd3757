#include "cli/inputs.hpp"

#include <fstream>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "core/noise.hpp"
#include "io/input_io.hpp"

namespace tessera::cli {

RowRange parse_rows(const std::string& text) {
  RowRange r;
  const auto colon = text.find(':');
  auto number = [&](const std::string& s) {
    size_t used = 0;
    long v = -1;
    try {
      v = std::stol(s, &used);
    } catch (...) {
      used = 0;
    }
    if (used != s.size() || v < 0) throw Error("--rows '" + text + "': expected A:B, A: or A with rows >= 0");
    return v;
  };
  if (colon == std::string::npos) {
    r.first = number(text);
    r.count = 1;
    return r;
  }
  r.first = number(text.substr(0, colon));
  const std::string end = text.substr(colon + 1);
  if (!end.empty()) {
    const long last = number(end);
    if (last <= r.first) throw Error("--rows '" + text + "': the end must be larger than the start");
    r.count = last - r.first;
  }
  return r;
}

Matrix read_input_rows(const Shape& expected, const std::string& path, const RowRange& range) {
  std::ifstream probe(path, std::ios::binary);
  if (!probe) throw Error(path + ": cannot open");
  char head[4] = {0, 0, 0, 0};
  probe.read(head, 4);
  const bool idx = (probe.gcount() == 4 && head[0] == 0 && head[1] == 0) ||
                   (static_cast<unsigned char>(head[0]) == 0x1f && static_cast<unsigned char>(head[1]) == 0x8b);
  if (idx) {
    IdxArray a = read_idx(path, range.first, range.count, true, expected.size());
    const Eigen::Index d = a.item_size();
    if (d != expected.size())
      throw Error(path + ": items have " + std::to_string(d) + " values but the network expects " +
                  std::to_string(expected.size()));
    return Eigen::Map<Matrix>(a.values.data(), d, a.dims[0]);
  }
  if (range.count == 1) {
    const Vector x = read_input_for(expected, path, static_cast<int>(range.first));
    return x;
  }
  // Text: one input per non-empty line (read in one pass).
  std::vector<Vector> rows = read_vector_rows(path);
  const long available = static_cast<long>(rows.size());
  if (range.first >= available || (range.count > 0 && range.first + range.count > available))
    throw Error(path + ": has " + std::to_string(available) + " rows; rows " + std::to_string(range.first) + " to " +
                std::to_string(range.count < 0 ? available - 1 : range.first + range.count - 1) +
                " were requested (out of range)");
  rows.erase(rows.begin(), rows.begin() + range.first);
  if (range.count > 0) rows.resize(static_cast<size_t>(range.count));
  if (rows.empty()) throw Error(path + ": no rows in the requested range");
  Matrix X(rows.front().size(), static_cast<Eigen::Index>(rows.size()));
  for (size_t j = 0; j < rows.size(); ++j) {
    if (rows[j].size() != X.rows())
      throw Error(path + ": row " + std::to_string(range.first + static_cast<long>(j)) + " has " +
                  std::to_string(rows[j].size()) + " values, the first row has " + std::to_string(X.rows()));
    X.col(static_cast<Eigen::Index>(j)) = rows[j];
  }
  return X;
}

InputSelection select_inputs(const po::variables_map& vm, const Network& net, const BoxOption& box) {
  InputSelection sel;
  Matrix& X = sel.X;
  std::string& source = sel.source;
  if (vm.count("noise")) {
    const std::string kind = vm["noise"].as<std::string>();
    const int count = vm["count"].as<int>();
    if (count < 1) throw Error("--count must be at least 1");
    check_memory(mul_or_neg(mul_or_neg(count, net.input_size()), 8 + 8),
                 "--count " + std::to_string(count) + " inputs of " + std::to_string(net.input_size()) + " values");
    const std::uint64_t seed = vm["seed"].as<std::uint64_t>();
    if (kind == "uniform") {
      if (box.lower.size()) {
        // Uniform in the per-coordinate box: [0, 1] scaled to each interval.
        X = uniform_noise(net.input_size(), count, seed, 0.0, 1.0);
        X = ((X.array().colwise() * (box.upper - box.lower).array()).colwise() + box.lower.array()).matrix();
      } else {
        X = uniform_noise(net.input_size(), count, seed, box.enabled ? box.lo : 0.0, box.enabled ? box.hi : 1.0);
      }
      source = std::to_string(count) + " uniform noise samples (seed " + std::to_string(seed) + ")";
    } else if (kind == "permuted") {
      if (!vm.count("input")) throw po::error("--noise permuted needs --input (the images to shuffle)");
      const RowRange r = vm.count("rows") ? parse_rows(vm["rows"].as<std::string>()) : RowRange{0, count};
      X = permuted_noise(read_input_rows(net.input_shape(), vm["input"].as<std::string>(), r), seed);
      source = std::to_string(X.cols()) + " permuted-pixel images of " + vm["input"].as<std::string>();
    } else {
      throw Error("--noise '" + kind + "': expected uniform or permuted");
    }
    return sel;
  }
  if (!vm.count("input")) throw po::error("give --input FILE or --noise KIND");
  if (vm.count("row") && vm.count("rows")) throw po::error("--row and --rows exclude each other");
  const std::string path = vm["input"].as<std::string>();
  if (vm.count("rows")) {
    X = read_input_rows(net.input_shape(), path, parse_rows(vm["rows"].as<std::string>()));
    source = path + " rows " + vm["rows"].as<std::string>();
  } else {
    const int row = vm.count("row") ? vm["row"].as<int>() : -1;
    if (row < -1) throw Error("--row must be >= 0");
    X = read_input_for(net.input_shape(), path, row);
    source = path + (row >= 0 ? " row " + std::to_string(row) : "");
    sel.single = true;
  }
  return sel;
}

}  // namespace tessera::cli
