// ROC curves of one model against each out-distribution, as SVG or PNG.
#pragma once

#include <string>

#include "training/eval_table.hpp"

namespace tessera::training {

// The format follows the extension (.svg or .png); written atomically.
void write_roc_plot(const std::string& path, const ModelEvaluation& model);

}  // namespace tessera::training
