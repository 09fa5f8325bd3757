#include "training/attack.hpp"

#include "core/error.hpp"
#include "training/models.hpp"

namespace tessera::training {

torch::Tensor log_max_confidence(const torch::Tensor& logits) {
  return std::get<0>(torch::log_softmax(logits, 1).max(1));
}

torch::Tensor cross_entropy_each(const torch::Tensor& logits, const torch::Tensor& labels) {
  return -torch::log_softmax(logits, 1).gather(1, labels.unsqueeze(1)).squeeze(1);
}

torch::Tensor pgd_maximise(Model& model, const torch::Tensor& x0,
                           const std::function<torch::Tensor(const torch::Tensor&)>& objective, const PgdOptions& o,
                           torch::Tensor* best_value) {
  if (!(o.eps >= 0) || o.steps < 0 || !(o.lo < o.hi)) throw Error("PGD: need eps >= 0, steps >= 0 and lo < hi");
  if (o.start != "ball" && o.start != "paper") throw Error("PGD: unknown start '" + o.start + "' (known: ball, paper)");
  const double step = o.step_size >= 0 ? o.step_size : (o.steps > 0 ? o.eps / o.steps : 0.0);
  torch::AutoGradMode grad_mode(true);  // also when called under a NoGradGuard
  const torch::Tensor start = x0.detach();
  if (o.steps == 0 && o.start == "paper") {
    // The paper's code skips the whole attack, random start included, when
    // there are no steps (that is CEDA).
    if (best_value) {
      torch::NoGradGuard no_grad;
      *best_value = objective(model.forward(start)).detach();
    }
    return start;
  }
  const torch::Tensor lower = (start - o.eps).clamp_min(o.lo);
  const torch::Tensor upper = (start + o.eps).clamp_max(o.hi);
  torch::Tensor x = start;
  if (o.random_start && o.eps > 0) {
    const std::int64_t n = start.size(0);
    const std::int64_t rows = o.draw_rows > 0 ? o.draw_rows : n;
    if (o.draw_offset < 0 || o.draw_offset + n > rows) throw Error("PGD: the share lies outside the drawn rows");
    std::vector<std::int64_t> all(start.sizes().begin(), start.sizes().end());
    all[0] = rows;
    torch::Tensor u = (torch::rand(all, start.options()).narrow(0, o.draw_offset, n) * 2 - 1) * o.eps;
    if (o.start == "paper") {
      std::vector<std::int64_t> shape(start.dim(), 1);
      shape[0] = rows;
      u = u * torch::rand(shape, start.options()).narrow(0, o.draw_offset, n);
    }
    x = start + u;
  }
  x = torch::max(torch::min(x, upper), lower).detach();

  const auto per_sample = [](const torch::Tensor& t) { return t.view({t.size(0), -1}); };
  torch::Tensor best = x.clone(), best_obj;
  if (o.keep_start) {
    torch::NoGradGuard no_grad;
    best = start.clone();
    best_obj = objective(model.forward(start)).detach();
  }
  for (int k = 0; k <= o.steps; ++k) {
    x.requires_grad_(true);
    const torch::Tensor value = objective(model.forward(x));
    torch::Tensor grad;
    if (k < o.steps) grad = torch::autograd::grad({value.sum()}, {x})[0];
    torch::NoGradGuard no_grad;
    const torch::Tensor v = value.detach();
    if (!best_obj.defined()) {
      best_obj = v.clone();
    } else {
      const torch::Tensor better = v > best_obj;
      best_obj = torch::where(better, v, best_obj);
      const torch::Tensor mask = better.view({-1, 1}).expand_as(per_sample(best)).view_as(best);
      best = torch::where(mask, x.detach(), best);
    }
    if (k == o.steps) break;
    x = torch::max(torch::min(x.detach() + step * grad.sign(), upper), lower);
  }
  if (best_value) *best_value = best_obj;
  return best.detach();
}

}  // namespace tessera::training
