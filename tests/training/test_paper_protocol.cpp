// The paper's protocol (--preset paper): one test per point where the
// released code (max-andr/relu_networks_overconfident) differs from
// LibTorch's conventions, each against a hand-written formula.
#include <gtest/gtest.h>
#include <tuple>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <set>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "training/evaluation.hpp"
#include "training/noise.hpp"
#include "training/trainer.hpp"

using namespace tessera;
using namespace tessera::training;

namespace {

TrainConfig paper_config(const std::string& data = "mnist", const std::string& method = "ceda") {
  TrainConfig c;
  c.data = data;
  c.method = method;
  apply_preset("paper", c);
  return c;
}

std::int64_t count_parameters(torch::nn::Module& m) {
  std::int64_t n = 0;
  for (const auto& p : m.parameters()) n += p.numel();
  return n;
}

}  // namespace

TEST(PaperProtocol, PresetSetsEveryChoiceOfTheReleasedCode) {
  const TrainConfig mnist = paper_config("mnist");
  EXPECT_EQ(mnist.model, "lenet");
  EXPECT_EQ(mnist.optimizer, "adam");
  EXPECT_DOUBLE_EQ(mnist.learning_rate, 1e-3);
  EXPECT_EQ(mnist.epochs, 100);
  EXPECT_EQ(mnist.batch_size, 128);
  EXPECT_DOUBLE_EQ(mnist.weight_decay, 5e-4);
  EXPECT_EQ(mnist.weight_decay_mode, "loss");
  EXPECT_EQ(mnist.loss_normalisation, "joint");
  EXPECT_TRUE(mnist.joint_forward);
  EXPECT_EQ(mnist.init, "paper");
  EXPECT_TRUE(mnist.drop_last);
  EXPECT_EQ(mnist.acet.steps, 40);
  EXPECT_DOUBLE_EQ(mnist.acet.eps, 0.3);
  EXPECT_LT(mnist.acet.step_size, 0);  // eps / steps = 0.0075
  EXPECT_EQ(mnist.acet.start, "paper");
  EXPECT_TRUE(mnist.acet.keep_start);
  EXPECT_EQ(mnist.noise.permute_source, "batch");
  EXPECT_EQ(mnist.noise.permute, "positions");
  EXPECT_EQ(mnist.noise.kernel, "paper");
  EXPECT_DOUBLE_EQ(mnist.noise.permuted_fraction, 0.5);
  EXPECT_DOUBLE_EQ(mnist.noise.sigma_min, 1.0);
  EXPECT_DOUBLE_EQ(mnist.noise.sigma_max, 2.5);
  EXPECT_TRUE(mnist.augment);
  EXPECT_EQ(mnist.crop_pad, 4);
  EXPECT_FALSE(mnist.flip);
  const std::vector<double> drops{0.5, 0.75, 0.9};
  EXPECT_EQ(mnist.milestones, drops);
  // The drops by hand: epochs 50, 75, 90 of 100 (0-based), 5, 7, 9 of 10;
  // a one-epoch schedule keeps its rate (it used to drop three times at
  // epoch 0), two epochs drop all three at the second.
  TrainConfig s = mnist;
  const auto lr = [&](int epochs, int epoch) {
    s.epochs = epochs;
    return learning_rate_at(s, epoch);
  };
  for (const auto& [epochs, epoch, want] : std::vector<std::tuple<int, int, double>>{{100, 0, 1e-3}, {100, 49, 1e-3}, {100, 50, 1e-4},
                                                                                     {100, 74, 1e-4}, {100, 75, 1e-5}, {100, 89, 1e-5},
                                                                                     {100, 90, 1e-6}, {100, 99, 1e-6}, {10, 4, 1e-3},
                                                                                     {10, 5, 1e-4}, {10, 7, 1e-5}, {10, 9, 1e-6},
                                                                                     {1, 0, 1e-3}, {2, 0, 1e-3}, {2, 1, 1e-6}})
    EXPECT_NEAR(lr(epochs, epoch), want, want * 1e-12) << epochs << " epochs, epoch " << epoch;
  for (const char* colour : {"svhn", "cifar10", "cifar100"}) {
    const TrainConfig c = paper_config(colour);
    EXPECT_EQ(c.model, "resnet-small") << colour;
    EXPECT_EQ(c.optimizer, "sgd") << colour;
    EXPECT_DOUBLE_EQ(c.momentum, 0.9) << colour;
    EXPECT_DOUBLE_EQ(c.learning_rate, 0.1) << colour;
    EXPECT_EQ(c.flip, std::string(colour) != "svhn") << colour;  // the paper flips CIFAR only
  }
  // The choices survive config.json (resume reads them back).
  const TrainConfig back = TrainConfig::from_json(mnist.to_json());
  EXPECT_EQ(back.to_json(), mnist.to_json());
}

// Point 1: 5e-4 * sum w^2 in the loss, gradient 1e-3 * w, on weights and
// biases but not batch norm's; CEDA/ACET divide the summed loss by 2B.
TEST(PaperProtocol, WeightDecayIsInTheLossAndTheDataTermIsOverTwoB) {
  torch::manual_seed(3);
  std::shared_ptr<Model> model = make_model(parse_model_spec("mlp:5"), Shape({6}), 3);
  TrainConfig c = paper_config();
  const torch::Tensor x = torch::rand({4, 6}), noise = torch::rand({4, 6});
  const torch::Tensor y = torch::tensor({0, 1, 2, 1}, torch::kInt64);
  const auto [logits, noise_logits] = forward_batch(c, *model, x, noise);
  const BatchLoss l = batch_loss(c, *model, logits, y, noise_logits);
  // By hand: log-softmax, CE summed, log max p summed, over 2B = 8 terms.
  const torch::Tensor ls = torch::log_softmax(logits, 1), ln = torch::log_softmax(noise_logits, 1);
  double data = 0;
  for (int i = 0; i < 4; ++i) data += -ls[i][y[i].item<std::int64_t>()].item<double>() + ln[i].max().item<double>();
  double squares = 0;
  for (const auto& p : model->parameters()) squares += p.pow(2).sum().item<double>();
  EXPECT_NEAR(l.loss.item<double>(), data / 8 + 5e-4 * squares, 1e-6);
  // The penalty's gradient is 2 * 5e-4 * w = 1e-3 * w on every parameter.
  model->zero_grad();
  l.loss.backward();
  std::vector<torch::Tensor> with;
  for (const auto& p : model->parameters()) with.push_back(p.grad().clone());
  model->zero_grad();
  c.weight_decay = 0;
  const auto [l2, n2] = forward_batch(c, *model, x, noise);
  batch_loss(c, *model, l2, y, n2).loss.backward();
  std::size_t k = 0;
  for (const auto& p : model->parameters()) {
    EXPECT_TRUE(torch::allclose(with[k] - p.grad(), 1e-3 * p.detach(), 1e-5, 1e-7)) << "parameter " << k;
    ++k;
  }
  // Plain: the cross-entropy's mean (B terms) plus the same penalty.
  c = paper_config("mnist", "plain");
  const BatchLoss plain = batch_loss(c, *model, logits, y, torch::Tensor());
  double ce = 0;
  for (int i = 0; i < 4; ++i) ce += -ls[i][y[i].item<std::int64_t>()].item<double>();
  EXPECT_NEAR(plain.loss.item<double>(), ce / 4 + 5e-4 * squares, 1e-6);
  // LibTorch's convention for comparison: mean + lambda * mean, no penalty term.
  c.weight_decay_mode = "optimizer";
  c.loss_normalisation = "mean";
  EXPECT_NEAR(batch_loss(c, *model, logits, y, noise_logits).loss.item<double>(), ce / 4 + (data - ce) / 4, 1e-6);
  // Batch norm's scale and shift are not decayed (the paper's ResNet).
  std::shared_ptr<Model> resnet = make_model(parse_model_spec("resnet-small:4"), Shape({3, 8, 8}), 10);
  double want = 0;
  for (const auto& named : resnet->named_parameters())
    if (named.key().find("bn") == std::string::npos) want += named.value().pow(2).sum().item<double>();
  EXPECT_NEAR(weight_penalty(*resnet).item<double>(), want, 1e-6 * want);
  double all = 0;
  for (const auto& p : resnet->parameters()) all += p.pow(2).sum().item<double>();
  EXPECT_GT(all - want, 1.0) << "the batch-norm scales (ones) are left out";
}

// Point 2: truncated He normal for convolutions, He normal for dense layers,
// zero biases.
TEST(PaperProtocol, InitialisationIsHeNormalWithZeroBiases) {
  torch::manual_seed(5);
  std::shared_ptr<Model> lenet = make_model(parse_model_spec("lenet"), Shape({1, 28, 28}), 10);
  paper_init(*lenet);
  for (const auto& named : lenet->named_parameters()) {
    const torch::Tensor& p = named.value();
    const std::string name = named.key();
    if (name.find("bias") != std::string::npos) {
      EXPECT_EQ(p.abs().max().item<double>(), 0.0) << name;
      continue;
    }
    const double fan_in = static_cast<double>(p.numel() / p.size(0));
    const double sd = std::sqrt(2.0 / fan_in);
    const double measured = p.std().item<double>();
    if (name.rfind("conv", 0) == 0) {
      // Truncated at 2 sd: nothing beyond, and the spread shrinks to 0.8796 sd.
      EXPECT_LE(p.abs().max().item<double>(), 2 * sd) << name;
      EXPECT_NEAR(measured / sd, 0.8796, 4.0 / std::sqrt(2.0 * p.numel())) << name;  // 4 standard errors
    } else {
      EXPECT_NEAR(measured / sd, 1.0, 4.0 / std::sqrt(2.0 * p.numel())) << name;
      EXPECT_GT(p.abs().max().item<double>(), 2 * sd) << name << ": not truncated";
    }
  }
}

// Point 3: the start x0 + r*u with one r ~ U[0,1) per sample, and x0 itself
// a candidate for the best iterate.
TEST(PaperProtocol, PgdStartsAtARandomRadiusAndKeepsTheStartPoint) {
  torch::manual_seed(7);
  std::shared_ptr<Model> model = make_model(parse_model_spec("mlp:8"), Shape({200}), 3);
  model->eval();
  const torch::Tensor x0 = torch::full({2000, 200}, 0.5);
  PgdOptions o;
  o.eps = 0.3;
  o.steps = 1;
  o.step_size = 0;  // the iterate stays at the random start
  const auto objective = [](const torch::Tensor& l) { return log_max_confidence(l); };
  // Uniform in the ball: every sample reaches nearly eps in some coordinate.
  const torch::Tensor ball = std::get<0>((pgd_maximise(*model, x0, objective, o) - x0).abs().max(1)) / o.eps;
  EXPECT_GT(ball.min().item<double>(), 0.95);
  // The paper's start: the largest deviation / eps is r * (max of 200 |U|) ~ U[0, 1).
  o.start = "paper";
  const torch::Tensor paper = std::get<0>((pgd_maximise(*model, x0, objective, o) - x0).abs().max(1)) / o.eps;
  EXPECT_NEAR(paper.mean().item<double>(), 0.5, 0.03);
  EXPECT_NEAR(paper.lt(0.25).to(torch::kFloat64).mean().item<double>(), 0.25, 0.03);
  EXPECT_LE(paper.max().item<double>(), 1.0);
  // keep_start: where x0 is the maximum, x0 comes back exactly.
  torch::Tensor reference;
  {
    torch::NoGradGuard no_grad;
    reference = model->forward(x0.narrow(0, 0, 20));
  }
  const auto closeness = [&](const torch::Tensor& l) { return -(l - reference).pow(2).sum(1); };
  // No steps: the paper's code skips the attack, random start included.
  o.steps = 0;
  o.step_size = -1;
  EXPECT_TRUE(torch::equal(pgd_maximise(*model, x0.narrow(0, 0, 20), closeness, o), x0.narrow(0, 0, 20)));
  o.steps = 5;
  o.keep_start = false;
  const torch::Tensor x0s = x0.narrow(0, 0, 20);
  EXPECT_GT((pgd_maximise(*model, x0s, closeness, o) - x0s).abs().max().item<double>(), 0.0);
  o.keep_start = true;
  torch::Tensor best;
  EXPECT_TRUE(torch::equal(pgd_maximise(*model, x0s, closeness, o, &best), x0s));
  EXPECT_EQ(best.abs().max().item<double>(), 0.0);
}

// Point 4: the 15x15 kernel with symmetric padding, pixel positions
// permuted together across channels, images of the current batch.
TEST(PaperProtocol, NoiseKernelIsFifteenByFifteenWithSymmetricPadding) {
  torch::manual_seed(9);
  const torch::Tensor x = torch::rand({1, 2, 20, 20}, torch::kFloat64);
  const auto symmetric = [](int i, int n) { return i < 0 ? -i - 1 : (i >= n ? 2 * n - 1 - i : i); };
  for (double sigma : {1.0, 2.3}) {
    const torch::Tensor y = gaussian_blur(x, sigma, "paper");
    ASSERT_EQ(y.sizes(), x.sizes());
    double wsum = 0;
    for (int k = -7; k <= 7; ++k) wsum += std::exp(-k * k / (2 * sigma * sigma));
    auto acc = x.accessor<double, 4>();
    for (int c : {0, 1})
      for (int py : {0, 3, 10, 19})
        for (int px : {0, 6, 19}) {
          double v = 0;
          for (int a = -7; a <= 7; ++a)
            for (int b = -7; b <= 7; ++b)
              v += std::exp(-(a * a + b * b) / (2 * sigma * sigma)) * acc[0][c][symmetric(py + a, 20)][symmetric(px + b, 20)];
          EXPECT_NEAR(y[0][c][py][px].item<double>(), v / (wsum * wsum), 1e-12) << sigma << " " << c << " " << py << "," << px;
        }
  }
  // Symmetric padding folds again on images smaller than the pad.
  const torch::Tensor tiny = torch::arange(3, torch::kFloat64).view({1, 1, 1, 3});
  const torch::Tensor padded = pad_symmetric(tiny, 4);
  // ... 0 1 2 | 2 1 0 | 0 1 2 | 2 1 0 | 0 1 2 ...: the edge repeated at every fold.
  const std::vector<double> want{2, 2, 1, 0, 0, 1, 2, 2, 1, 0, 0};
  for (int i = 0; i < 11; ++i) EXPECT_EQ(padded[0][0][4][i].item<double>(), want[i]) << i;
}

TEST(PaperProtocol, NoisePermutesPixelPositionsOfTheCurrentBatch) {
  torch::manual_seed(11);
  const torch::Tensor batch = torch::rand({6, 3, 5, 5});
  const torch::Tensor p = permute_pixels(batch, /*positions=*/true);
  for (int i = 0; i < 6; ++i) {
    // Each pixel's colour triple survives, the triples are reordered.
    const torch::Tensor a = batch[i].reshape({3, 25}).t(), b = p[i].reshape({3, 25}).t();
    std::set<std::tuple<float, float, float>> sa, sb;
    for (int k = 0; k < 25; ++k) {
      sa.insert({a[k][0].item<float>(), a[k][1].item<float>(), a[k][2].item<float>()});
      sb.insert({b[k][0].item<float>(), b[k][1].item<float>(), b[k][2].item<float>()});
    }
    EXPECT_EQ(sa, sb) << i;
    EXPECT_FALSE(torch::equal(a, b)) << i;
  }
  // make_noise with source "batch": the permuted half is the batch's first
  // images, in order (checked with filtering and rescaling off).
  Dataset d;
  d.shape = Shape({3, 5, 5});
  d.classes = 10;
  d.train_x = torch::rand({50, 3, 5, 5});
  NoiseOptions o;
  o.permute_source = "batch";
  o.permute = "positions";
  o.blur = false;
  o.rescale = false;
  const torch::Tensor noise = make_noise(d, batch, 6, o);
  const auto triples = [](const torch::Tensor& image) {
    std::multiset<std::tuple<float, float, float>> t;
    const torch::Tensor a = image.reshape({3, -1}).t().contiguous();
    for (std::int64_t k = 0; k < a.size(0); ++k) t.insert({a[k][0].item<float>(), a[k][1].item<float>(), a[k][2].item<float>()});
    return t;
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(triples(noise[i]), triples(batch[i])) << "image " << i << ": its own pixels, colours kept";
  EXPECT_NE(torch::equal(std::get<0>(noise[3].flatten().sort()), std::get<0>(batch[3].flatten().sort())), true)
      << "the second half is uniform noise";
  o.permute = "shuffle";
  EXPECT_THROW(make_noise(d, batch, 6, o), Error);
}

// Point 5: clean and noise images in one forward pass, so batch norm's
// statistics in training mode see both.
TEST(PaperProtocol, JointForwardPassSharesBatchNormStatistics) {
  torch::manual_seed(13);
  std::shared_ptr<Model> model = make_model(parse_model_spec("resnet-small:4"), Shape({3, 8, 8}), 10);
  model->train();
  TrainConfig c = paper_config("cifar10");
  const torch::Tensor x = torch::rand({4, 3, 8, 8}), n1 = torch::rand({4, 3, 8, 8}), n2 = torch::rand({4, 3, 8, 8}) * 0.2;
  const torch::Tensor a = forward_batch(c, *model, x, n1).first, b = forward_batch(c, *model, x, n2).first;
  EXPECT_GT((a - b).abs().max().item<double>(), 1e-4) << "the clean logits depend on the noise in the same batch";
  const torch::Tensor joint = model->forward(torch::cat({n1, x}));
  EXPECT_TRUE(torch::allclose(a, joint.narrow(0, 4, 4), 1e-5, 1e-6));
  c.joint_forward = false;
  EXPECT_TRUE(torch::allclose(forward_batch(c, *model, x, n1).first, forward_batch(c, *model, x, n2).first, 0, 0));
}

// Point 9: SGD with heavy-ball momentum (v = mu v + g, w -= lr v), flips,
// and the paper's ResNet-20.
TEST(PaperProtocol, SgdWithMomentumFollowsTheHeavyBallRule) {
  torch::manual_seed(17);
  std::shared_ptr<Model> model = make_model(parse_model_spec("mlp:3"), Shape({2}), 2);
  TrainConfig c = paper_config("cifar10", "plain");
  c.weight_decay = 0;
  auto opt = make_optimizer(c, *model);
  const torch::Tensor w0 = model->parameters()[0].detach().clone();
  const torch::Tensor x = torch::rand({5, 2});
  const torch::Tensor y = torch::tensor({0, 1, 1, 0, 1}, torch::kInt64);
  torch::Tensor v = torch::zeros_like(w0), w = w0.clone();
  for (int step = 0; step < 3; ++step) {
    opt->zero_grad();
    const torch::Tensor loss = torch::nn::functional::cross_entropy(model->forward(x), y);
    loss.backward();
    const torch::Tensor g = model->parameters()[0].grad().detach().clone();
    opt->step();
    v = 0.9 * v + g;
    w = w - 0.1 * v;
    EXPECT_TRUE(torch::allclose(model->parameters()[0].detach(), w, 1e-5, 1e-7)) << "step " << step;
  }
}

TEST(PaperProtocol, FlipsMirrorAboutHalfOfTheImages) {
  torch::manual_seed(19);
  const torch::Tensor x = torch::rand({400, 3, 4, 6});
  const torch::Tensor f = random_flip(x);
  int flipped = 0;
  for (int i = 0; i < 400; ++i) {
    const bool same = torch::equal(f[i], x[i]), mirrored = torch::equal(f[i], x[i].flip({2}));
    EXPECT_TRUE(same != mirrored) << i;
    flipped += mirrored;
  }
  EXPECT_NEAR(flipped, 200, 40);
}

TEST(PaperProtocol, ResNetSmallIsTheTwentyLayerNetworkAndExportsExactly) {
  torch::manual_seed(23);
  std::shared_ptr<Model> model = make_model(parse_model_spec("resnet-small"), Shape({3, 32, 32}), 10);
  // Counted by hand: stem 432; stage 1: 6 x 2304; stage 2: 4608 + 5 x 9216;
  // stage 3: 18432 + 5 x 36864; dense 650; batch norm 2 x 688 channels.
  EXPECT_EQ(count_parameters(*model), 432 + 6 * 2304 + 4608 + 5 * 9216 + 18432 + 5 * 36864 + 650 + 1376);
  int convs = 0;
  for (const auto& m : model->modules(false)) convs += m->as<torch::nn::Conv2d>() != nullptr;
  EXPECT_EQ(convs, 19) << "19 convolutions + 1 dense layer, no 1x1 shortcut convolutions";
  // Train a few steps so batch norm has non-trivial statistics, then the
  // exported network must reproduce the module in eval mode.
  model->train();
  auto opt = make_optimizer(paper_config("cifar10", "plain"), *model);
  for (int i = 0; i < 3; ++i) {
    opt->zero_grad();
    torch::nn::functional::cross_entropy(model->forward(torch::rand({8, 3, 32, 32})), torch::randint(0, 10, {8}, torch::kInt64)).backward();
    opt->step();
  }
  model->eval();
  const Network net = model->to_network();
  const torch::Tensor x = torch::rand({3, 3, 32, 32});
  torch::NoGradGuard no_grad;
  const torch::Tensor want = model->forward(x).to(torch::kFloat64);
  for (int i = 0; i < 3; ++i) {
    const torch::Tensor xi = x[i].to(torch::kFloat64).contiguous();
    const Vector v = Eigen::Map<const Vector>(xi.data_ptr<double>(), xi.numel());
    const Vector got = logits(net, v);
    for (int k = 0; k < 10; ++k) EXPECT_NEAR(got[k], want[i][k].item<double>(), 2e-4) << i << "," << k;
  }
}

// Points 6 and 7: the paper's evaluation.
TEST(PaperProtocol, EvaluationPresetFollowsTheReleasedCode) {
  EvalOptions o;
  apply_paper_evaluation(o);
  EXPECT_TRUE(o.paper_counts);
  EXPECT_EQ(o.adv_samples.steps, 80);
  EXPECT_EQ(o.adv_noise.steps, 200);
  EXPECT_EQ(o.adv_noise_start, "noise");
  EXPECT_EQ(o.adv_noise.start, "paper");
  EXPECT_TRUE(o.adv_samples.keep_start);
  EXPECT_EQ(o.noise.kernel, "paper");
  EXPECT_EQ(o.noise.permute_source, "batch");
}

// The paper's ResNet-20, computed here from its description (models.py of
// the released code) with the module's parameters: TensorFlow's 'SAME'
// padding (asymmetric for stride 2), the first unit of every stage taking
// its shortcut from ReLU(BN(x)), average pool + zero channels where the
// width grows.
TEST(PaperProtocol, ResNetSmallComputesThePapersNetwork) {
  torch::manual_seed(29);
  std::shared_ptr<Model> model = make_model(parse_model_spec("resnet-small:4"), Shape({3, 16, 16}), 10);
  model->train();
  auto opt = make_optimizer(paper_config("cifar10", "plain"), *model);
  for (int i = 0; i < 3; ++i) {
    opt->zero_grad();
    torch::nn::functional::cross_entropy(model->forward(torch::rand({8, 3, 16, 16})), torch::randint(0, 10, {8}, torch::kInt64)).backward();
    opt->step();
  }
  model->eval();
  std::map<std::string, torch::Tensor> p;
  for (const auto& named : model->named_parameters()) p[named.key()] = named.value().detach();
  for (const auto& named : model->named_buffers()) p[named.key()] = named.value().detach();
  namespace F = torch::nn::functional;
  const auto channel = [](const torch::Tensor& t) { return t.view({1, -1, 1, 1}); };
  const auto bn = [&](const torch::Tensor& x, const std::string& n) {
    return (x - channel(p.at(n + ".running_mean"))) / torch::sqrt(channel(p.at(n + ".running_var")) + 1e-5) * channel(p.at(n + ".weight")) +
           channel(p.at(n + ".bias"));
  };
  const auto same_conv = [](const torch::Tensor& x, const torch::Tensor& w, int stride) {
    const std::int64_t n = x.size(2), out = (n + stride - 1) / stride;
    const std::int64_t total = std::max<std::int64_t>((out - 1) * stride + 3 - n, 0), before = total / 2, after = total - before;
    return F::conv2d(F::pad(x, F::PadFuncOptions({before, after, before, after})), w, F::Conv2dFuncOptions().stride(stride));
  };
  torch::NoGradGuard no_grad;
  const torch::Tensor input = torch::rand({2, 3, 16, 16});
  torch::Tensor x = same_conv(input, p.at("stem.weight"), 1);
  const int widths[] = {4, 4, 8, 16}, strides[] = {1, 2, 2};
  for (int s = 0; s < 3; ++s)
    for (int u = 0; u < 3; ++u) {
      const std::string n = "stage" + std::to_string(s + 1) + "_unit" + std::to_string(u + 1);
      const int in = u == 0 ? widths[s] : widths[s + 1], out = widths[s + 1], stride = u == 0 ? strides[s] : 1;
      const torch::Tensor a = torch::relu(bn(x, n + ".bn1"));
      const torch::Tensor source = u == 0 ? a : x;
      torch::Tensor h = same_conv(a, p.at(n + ".conv1.weight"), stride);
      h = same_conv(torch::relu(bn(h, n + ".bn2")), p.at(n + ".conv2.weight"), 1);
      torch::Tensor shortcut = source;
      if (in != out) {
        shortcut = torch::avg_pool2d(source, stride, stride);
        const torch::Tensor zeros = torch::zeros({shortcut.size(0), (out - in) / 2, shortcut.size(2), shortcut.size(3)});
        shortcut = torch::cat({zeros, shortcut, zeros}, 1);
      }
      x = h + shortcut;
    }
  const torch::Tensor features = torch::relu(bn(x, "bn")).mean({2, 3});
  const torch::Tensor want = F::linear(features, p.at("fc.weight"), p.at("fc.bias"));
  EXPECT_TRUE(torch::allclose(model->forward(input), want, 1e-4, 1e-5)) << model->forward(input) - want;
}

// Denormal parameters are flushed to zero: they cost the CPU's matrix
// products ~80x, and with weight decay in the loss Adam drives unused
// weights into that range.
TEST(PaperProtocol, DenormalParametersAreFlushedToZero) {
  std::shared_ptr<Model> model = make_model(parse_model_spec("mlp:4"), Shape({3}), 2);
  torch::Tensor w = model->parameters()[0];
  {
    torch::NoGradGuard no_grad;
    w.fill_(0.5f);
    w[0][0] = 1e-40f;                                // denormal
    w[0][1] = -1e-39f;                               // denormal
    w[0][2] = std::numeric_limits<float>::min();     // the smallest normal number stays
  }
  flush_denormals(*model);
  EXPECT_EQ(w[0][0].item<float>(), 0.0f);
  EXPECT_EQ(w[0][1].item<float>(), 0.0f);
  EXPECT_EQ(w[0][2].item<float>(), std::numeric_limits<float>::min());
  EXPECT_EQ(w[1][0].item<float>(), 0.5f);
}
