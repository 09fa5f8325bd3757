// Projected gradient ascent in an l-infinity ball (Madry et al.), used by
// ACET to move noise to where the model is most confident and by the
// evaluation's adversarial noise and adversarial samples.
#pragma once

#include <torch/torch.h>

#include <functional>

namespace tessera::training {

class Model;

struct PgdOptions {
  double eps = 0.3;         // radius of the l-infinity ball around the start
  int steps = 40;
  double step_size = -1.0;  // < 0: eps / steps
  bool random_start = true; // start at a random point of the ball (see start)
  double lo = 0.0, hi = 1.0;  // the input domain (clipped to)
  // The random start: "ball" (uniform in the eps-ball) or "paper" (as the
  // paper's code: x0 + r*u with u uniform in the eps-ball and one radius
  // factor r ~ U[0, 1) per sample, so starts crowd towards x0; with no
  // steps, no random start either: x0 comes back).
  std::string start = "ball";
  // Whether x0 itself is a candidate for the best iterate (the paper's code:
  // yes; ties keep x0).
  bool keep_start = false;
  // A share of a larger batch (data-parallel training): the random start is
  // drawn for draw_rows rows and rows [draw_offset, draw_offset + n) of it
  // are used, so the shares of several processes start where one process
  // would. 0: the rows of x0 alone.
  std::int64_t draw_rows = 0, draw_offset = 0;
};

// Per-sample objectives (higher is what the attack wants).
torch::Tensor log_max_confidence(const torch::Tensor& logits);                   // log max_k p_k
torch::Tensor cross_entropy_each(const torch::Tensor& logits, const torch::Tensor& labels);

// Signed-gradient ascent on objective(model(x)) within the ball around x0 and
// [lo, hi] (each step x += step * sign(gradient), then clipped to the box and
// the ball); returns, per sample, the best iterate seen (the random start
// included, x0 too with keep_start; the first of equals wins) and, in
// best_value when given, its objective. Parameter gradients are not
// touched. The caller chooses the model's mode (eval for batch norm).
torch::Tensor pgd_maximise(Model& model, const torch::Tensor& x0,
                           const std::function<torch::Tensor(const torch::Tensor&)>& objective,
                           const PgdOptions& options, torch::Tensor* best_value = nullptr);

}  // namespace tessera::training
