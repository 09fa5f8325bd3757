// The stop flag of tessera-train and tessera-eval: SIGINT/SIGTERM and
// --time-limit set it. train() and evaluate() never read it themselves;
// the programs pass it in as the options' stop check
// (`o.should_stop = [] { return stop_requested().load(); }`).
//
// Not cli/stop: that one ends a process that has not stopped within
// kStopGraceSeconds of the request, while a training batch (an ACET attack)
// or one evaluation row (the exact limit of 1000 rays) may take longer
// before the checkpoint or the partial table can be written. Here a second
// Ctrl-C ends the process at once instead.
#pragma once

#include <atomic>

namespace tessera::cli::training_stop {

std::atomic<bool>& stop_requested();
// SIGINT and SIGTERM set stop_requested(); a second signal ends the process.
void install_stop_handlers();
// --time-limit: sets stop_requested() after `seconds` (> 0; throws
// tessera::Error otherwise); time_limit_reached() then says why.
void set_time_limit(double seconds);
bool time_limit_reached();

}  // namespace tessera::cli::training_stop
