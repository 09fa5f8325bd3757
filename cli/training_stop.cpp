#include "cli/training_stop.hpp"

#include <chrono>
#include <cmath>
#include <csignal>
#include <thread>

#include "core/error.hpp"

namespace tessera::cli::training_stop {
namespace {

std::atomic<bool> g_time_limit_reached{false};

void on_signal(int) { stop_requested().store(true); }

}  // namespace

std::atomic<bool>& stop_requested() {
  static std::atomic<bool> flag{false};
  return flag;
}

void set_time_limit(double seconds) {
  if (!(seconds > 0) || !std::isfinite(seconds) || seconds > 1e9)
    throw Error("--time-limit must be a positive number of seconds");
  std::thread([seconds] {
    std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
    g_time_limit_reached.store(true);
    stop_requested().store(true);
  }).detach();
}

bool time_limit_reached() { return g_time_limit_reached.load(); }

void install_stop_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESETHAND;  // a second Ctrl-C ends the process at once
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

}  // namespace tessera::cli::training_stop
