// The callbacks through which the training library reports and is stopped:
// it prints nothing itself. The programs (cli/train_main.cpp,
// cli/eval_main.cpp) draw the progress, print the lines and own the
// signals; tests pass nothing or their own lambdas. Torch-free.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

namespace tessera::training {

// Work done so far: `done` of `total` items of the stage named `label`
// (e.g. "epoch 3/10" counting images, "evaluating" counting table rows).
using ProgressFn = std::function<void(std::size_t done, std::size_t total, const std::string& label)>;

// Polled between units of work (batches, table rows); true stops early with
// a partial result (checkpoint saved, table marked incomplete).
using StopFn = std::function<bool()>;

// The reason a partial result gives when StopFn said stop.
inline constexpr const char* kStopRequested = "stop requested";

}  // namespace tessera::training
