// A progress bar on stderr for long work: items done, rate, time left.
// Drawn at most ten times a second, and only when enabled (by default when
// stderr is a terminal).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
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

// Draws a library's progress callback (done, total, label), e.g. the
// training library's ProgressFn: one bar per label; a new label clears the
// old bar and starts another. finish() clears the current one (call it
// before printing a line of your own).
class LabelledProgress {
 public:
  explicit LabelledProgress(bool enabled) : enabled_(enabled) {}
  void update(std::size_t done, std::size_t total, const std::string& label);
  void finish();

 private:
  bool enabled_;
  std::string label_;
  std::unique_ptr<ProgressBar> bar_;
};

}  // namespace tessera::cli
