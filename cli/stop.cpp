#include "cli/stop.hpp"

#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <thread>

#include "core/error.hpp"
#include "io/file_util.hpp"

namespace tessera::cli {

namespace {

std::atomic<bool> g_stop{false};
std::atomic<int> g_signal{0};        // the signal that asked to stop, 0 for none
std::atomic<bool> g_timed_out{false};
std::atomic<double> g_limit_s{0};
std::atomic<long long> g_deadline_ns{0};  // steady clock; 0: none

long long now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Async-signal-safe: atomics, write(2), unlink(2) and _exit(2) only.
extern "C" void on_stop_signal(int sig) {
  if (g_stop.exchange(true)) {
    static const char msg[] = "\ntessera: stopped at once (second signal); no result\n";
    ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    remove_temporary_files_now();
    _exit(128 + sig);
  }
  g_signal.store(sig);
}

void watchdog() {
  long long stop_seen = 0;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const long long now = now_ns();
    const long long deadline = g_deadline_ns.load();
    if (deadline > 0 && now >= deadline && !g_stop.load()) {
      g_timed_out.store(true);
      g_stop.store(true);
    }
    if (!g_stop.load()) continue;
    if (stop_seen == 0) stop_seen = now;
    if (now - stop_seen > static_cast<long long>(kStopGraceSeconds * 1e9)) {
      std::fprintf(stderr, "\ntessera: the work did not stop within %.0f s of the request (%s); ended without a result\n",
                   kStopGraceSeconds, stop_reason().c_str());
      remove_temporary_files_now();
      const int sig = g_signal.load();
      _exit(sig ? 128 + sig : 4);
    }
  }
}

}  // namespace

void install_stop_handlers() {
  static std::atomic<bool> installed{false};
  if (installed.exchange(true)) return;
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::thread(watchdog).detach();
}

void set_time_limit(double seconds) {
  if (!(seconds > 0) || !std::isfinite(seconds) || seconds > 1e9)
    throw Error("--time-limit must be a positive number of seconds");
  g_limit_s.store(seconds);
  g_deadline_ns.store(now_ns() + static_cast<long long>(seconds * 1e9));
}

const std::atomic<bool>* stop_flag() { return &g_stop; }
bool stop_requested() { return g_stop.load(); }

std::string stop_reason() {
  if (!g_stop.load()) return "";
  if (g_timed_out.load()) {
    char buf[96];
    std::snprintf(buf, sizeof buf, "time limit of %g s reached (--time-limit)", g_limit_s.load());
    return buf;
  }
  const int sig = g_signal.load();
  if (sig == SIGINT) return "interrupted (SIGINT, Ctrl-C)";
  if (sig == SIGTERM) return "terminated (SIGTERM)";
  return "stopped";
}

std::string describe_stop(const std::string& library_reason) {
  // Libraries say "cancelled" (perhaps with details after it); say why.
  if (library_reason.rfind("cancelled", 0) == 0 && stop_requested())
    return stop_reason() + library_reason.substr(9);
  return library_reason;
}

}  // namespace tessera::cli
