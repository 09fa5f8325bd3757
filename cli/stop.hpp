// How a tessera command stops early, and the limits every command shares.
//
// main() installs one handler for SIGINT (Ctrl-C) and SIGTERM. The first
// signal sets the stop flag that every long computation polls (slices
// between the cuts of one layer, traversals between segments, LPs between
// solves, sets between inputs); the command then prints its partial result,
// marked as such, and exits with status 4. A second signal ends the process
// at once (status 130 / 143), removing any half-written output file. A
// watchdog thread enforces --time-limit the same way (the flag is set when
// the time is up) and, as a safety net, ends a process that has not stopped
// within kStopGraceSeconds of a request.
#pragma once

#include <atomic>
#include <string>

namespace tessera::cli {

constexpr double kStopGraceSeconds = 3.0;

// Installs the signal handlers and starts the watchdog (once per process).
void install_stop_handlers();
// Arms a deadline `seconds` from now (> 0); throws tessera::Error otherwise.
void set_time_limit(double seconds);

// The flag every computation polls.
const std::atomic<bool>* stop_flag();
bool stop_requested();
// Why: "interrupted (SIGINT)", "terminated (SIGTERM)" or
// "time limit of 5 s reached (--time-limit)"; "" when not stopped.
std::string stop_reason();
// Replaces a library's generic "cancelled" by stop_reason().
std::string describe_stop(const std::string& library_reason);

}  // namespace tessera::cli
