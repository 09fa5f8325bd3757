#include "cli/inputs.hpp"

#include <fstream>

#include "core/error.hpp"
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

}  // namespace tessera::cli
