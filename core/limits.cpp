#include "core/limits.hpp"

#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>

#include "core/error.hpp"

namespace tessera {

namespace {
std::atomic<std::int64_t>& budget() {
  static std::atomic<std::int64_t> b{0};  // 0: not set yet
  return b;
}
}  // namespace

std::int64_t parse_mebibytes(const std::string& text, const std::string& what) {
  char* end = nullptr;
  const double mb = std::strtod(text.c_str(), &end);
  if (text.empty() || end == text.c_str() || *end != '\0' || !(mb > 0) || mb > 1e12)
    throw Error(what + "='" + text.substr(0, 40) + "' is not a positive number of MiB");
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(mb * 1024 * 1024));
}

std::int64_t default_memory_budget() {
  if (const char* env = std::getenv("TESSERA_MAX_MEMORY_MB"); env && *env)
    return parse_mebibytes(env, "TESSERA_MAX_MEMORY_MB");
  const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return std::int64_t{4} << 30;
  return static_cast<std::int64_t>(pages) * page / 2;
}

std::int64_t memory_budget() {
  std::int64_t b = budget().load();
  if (b > 0) return b;
  b = default_memory_budget();
  std::int64_t expected = 0;
  budget().compare_exchange_strong(expected, b);
  return budget().load();
}

void set_memory_budget(std::int64_t bytes) {
  if (bytes <= 0) throw Error("the memory budget must be positive");
  budget().store(bytes);
}

std::string format_bytes(std::int64_t bytes) {
  if (bytes < 0) return "more than 8 EiB";
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 6) {
    v /= 1024;
    ++u;
  }
  char buf[48];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.3g %s", v, units[u]);
  return buf;
}

void check_memory(std::int64_t bytes, const std::string& what) {
  const std::int64_t b = memory_budget();
  if (bytes >= 0 && bytes <= b) return;
  throw Error(what + " needs " + format_bytes(bytes) + ", over the memory budget of " + format_bytes(b) +
              " (raise it with --max-memory MB or TESSERA_MAX_MEMORY_MB)");
}

std::int64_t mul_or_neg(std::int64_t a, std::int64_t b) {
  if (a < 0 || b < 0) return -1;
  if (a != 0 && b > std::numeric_limits<std::int64_t>::max() / a) return -1;
  return a * b;
}

std::int64_t add_or_neg(std::int64_t a, std::int64_t b) {
  if (a < 0 || b < 0) return -1;
  if (b > std::numeric_limits<std::int64_t>::max() - a) return -1;
  return a + b;
}

}  // namespace tessera
