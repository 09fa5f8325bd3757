// A progress bar on stderr for long work: items done, rate, time left.
// Drawn at most ten times a second, and only when enabled (by default when
// stderr is a terminal).
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace tessera::cli {

class ProgressBar {
 public:
  ProgressBar(std::string label, bool enabled);
  void update(std::size_t done, std::size_t total);
  void finish();  // clears the line
  static bool stderr_is_terminal();

 private:
  std::string label_;
  bool enabled_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace tessera::cli
