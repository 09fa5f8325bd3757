#include "cli/progress.hpp"

#include <unistd.h>

#include <cstdio>

namespace tessera::cli {

ProgressBar::ProgressBar(std::string label, bool enabled)
    : label_(std::move(label)), enabled_(enabled), start_(std::chrono::steady_clock::now()), last_() {}  // draws at once

bool ProgressBar::stderr_is_terminal() { return isatty(STDERR_FILENO) != 0; }

void ProgressBar::update(std::size_t done, std::size_t total) {
  if (!enabled_ || total == 0) return;
  const auto now = std::chrono::steady_clock::now();
  if (done < total && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  const double elapsed = std::chrono::duration<double>(now - start_).count();
  const double rate = elapsed > 0 ? done / elapsed : 0;
  const double left = rate > 0 ? (total - done) / rate : 0;
  const int width = 30, filled = static_cast<int>(width * done / total);
  std::fprintf(stderr, "\r%s [%s%s] %zu/%zu  %.1f/s  %.0fs left ", label_.c_str(), std::string(filled, '#').c_str(),
               std::string(width - filled, '.').c_str(), done, total, rate, left);
  std::fflush(stderr);
  drawn_ = true;
}

void ProgressBar::finish() {
  if (drawn_) std::fprintf(stderr, "\r%*s\r", 100, "");
  drawn_ = false;
}

void LabelledProgress::update(std::size_t done, std::size_t total, const std::string& label) {
  if (!enabled_) return;
  if (!bar_ || label != label_) {
    finish();
    label_ = label;
    bar_ = std::make_unique<ProgressBar>(label, true);
  }
  bar_->update(done, total);
}

void LabelledProgress::finish() {
  if (bar_) bar_->finish();
  bar_.reset();
}

}  // namespace tessera::cli
