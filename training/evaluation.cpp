#include "training/evaluation.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "io/file_util.hpp"
#include "io/input_io.hpp"
#include "io/laplace_io.hpp"
#include "io/onnx_io.hpp"
#include "regions/certificate.hpp"
#include "regions/laplace_limit.hpp"
#include "training/laplace_fit.hpp"
#include "training/metrics.hpp"
#include "training/network_module.hpp"
#include "training/noise.hpp"
#include "training/trainer.hpp"

namespace fs = std::filesystem;

namespace tessera::training {
namespace {

std::uint64_t mix(std::uint64_t a, std::uint64_t b) {
  std::uint64_t z = a + 0x9E3779B97F4A7C15ULL * (b + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string data_label(const std::string& name) {
  if (name == "emnist-letters") return "EMNIST";
  if (name == "cifar10-gray") return "grayCIFAR-10";
  if (name == "cifar10") return "CIFAR-10";
  if (name == "cifar100") return "CIFAR-100";
  if (name == "svhn") return "SVHN";
  if (name.rfind("idx:", 0) == 0) return fs::path(name.substr(4)).filename().string();
  if (name.rfind("file:", 0) == 0) return fs::path(name.substr(5)).filename().string();
  return upper(name);
}

// "far-test:100" -> {"test", 100}; alpha = inf for ":inf".
bool parse_far(const std::string& name, std::string& base, double& alpha) {
  for (const char* prefix : {"far-test:", "far-noise:"}) {
    const std::string p = prefix;
    if (name.rfind(p, 0) != 0) continue;
    base = p == "far-test:" ? "test" : "uniform";
    const std::string a = name.substr(p.size());
    if (a == "inf") {
      alpha = std::numeric_limits<double>::infinity();
      return true;
    }
    std::size_t used = 0;
    try {
      alpha = std::stod(a, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used != a.size() || !(alpha > 0) || !std::isfinite(alpha))
      throw Error("out-distribution '" + name + "': the factor must be a positive number or inf");
    return true;
  }
  return false;
}

std::string label_of(const std::string& name) {
  std::string base;
  double alpha = 0;
  if (parse_far(name, base, alpha)) {
    char buf[64];
    if (std::isinf(alpha))
      std::snprintf(buf, sizeof buf, "α→∞ · %s", base.c_str());
    else
      std::snprintf(buf, sizeof buf, "%g · %s", alpha, base.c_str());
    return buf;
  }
  if (name == "uniform") return "Uniform noise";
  if (name == "noise") return "Noise";
  if (name == "adv-noise") return "Adv. Noise";
  if (name == "adv-samples") return "Adv. Samples";
  return data_label(name);
}

// FNV-1a (64 bit) of a tensor's values and shape as stored on the CPU, in
// hex: equal data gives equal prints (merge_tables compares them). Not
// io/sha256.hpp: that lives in tessera_datasets, which only the CLI build
// has, and tessera_training must not depend on it.
std::string fingerprint(const torch::Tensor& t) {
  const torch::Tensor c = t.defined() ? t.to(torch::kCPU).contiguous() : torch::Tensor();
  std::uint64_t h = 1469598103934665603ULL;
  if (c.defined()) {
    const auto* p = static_cast<const unsigned char*>(c.data_ptr());
    const std::size_t n = c.numel() * c.element_size();
    for (std::size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 1099511628211ULL;
    for (const std::int64_t d : c.sizes()) h = (h ^ static_cast<std::uint64_t>(d)) * 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

// Max softmax of each row, in double precision, in the module (batched).
std::vector<double> confidences(Model& module, const torch::Tensor& x, const torch::Device& device,
                                torch::Tensor* predictions = nullptr) {
  torch::NoGradGuard no_grad;
  std::vector<double> out;
  std::vector<torch::Tensor> preds;
  for (std::int64_t i = 0; i < x.size(0); i += 500) {
    const std::int64_t n = std::min<std::int64_t>(500, x.size(0) - i);
    const torch::Tensor logits = module.forward(x.narrow(0, i, n).to(device));
    const torch::Tensor c = std::get<0>(torch::softmax(logits, 1).max(1)).to(torch::kCPU, torch::kFloat64).contiguous();
    out.insert(out.end(), c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
    if (predictions) preds.push_back(logits.argmax(1).cpu());
  }
  if (predictions) *predictions = preds.empty() ? torch::empty({0}, torch::kInt64) : torch::cat(preds);
  return out;
}

// Max softmax of alpha * x for each row through the core, in double; for
// alpha = inf the limit confidence of Theorem 3.1's certificate (the exact
// last region of the ray). With a Laplace model, its predictive confidence
// instead, and for alpha = inf its exact limit (regions/laplace_limit.hpp).
std::vector<double> far_confidences(const Network& net, const torch::Tensor& x, double alpha,
                                    const LaplaceModel* laplace = nullptr) {
  const std::int64_t n = x.size(0);
  std::vector<double> out(n);
  const torch::Tensor flat = x.to(torch::kCPU, torch::kFloat64).reshape({n, -1}).contiguous();
  std::string error;
  CertifyOptions opts;
  opts.limit_only = true;  // the last region from infinity: one region per ray
  const Network g = bias_free(net);
  opts.bias_free = &g;
#pragma omp parallel for schedule(dynamic)
  for (std::int64_t i = 0; i < n; ++i) {
    try {
      const Vector xi = Eigen::Map<const Vector>(flat.data_ptr<double>() + i * flat.size(1), flat.size(1));
      if (laplace) {
        if (!std::isinf(alpha)) {
          out[i] = laplace_predictive(laplace->head, logits(laplace->features, (alpha * xi).eval())).confidence;
        } else if (xi.cwiseAbs().maxCoeff() == 0) {
          out[i] = laplace_predictive(laplace->head, logits(laplace->features, xi)).confidence;  // the ray stays at 0
        } else {
          LaplaceRayOptions lo;
          lo.limit_only = true;
          const LaplaceCertificate c = laplace_certify(*laplace, xi, lo);
          if (c.limit_probabilities.size() == 0)
            throw Error("the Laplace limit of point " + std::to_string(i) + " is unknown: " + c.stop_reason);
          out[i] = c.limit_confidence;
        }
      } else if (std::isinf(alpha)) {
        if (xi.cwiseAbs().maxCoeff() == 0) {
          out[i] = softmax(logits(net, xi)).maxCoeff();  // the ray stays at 0
        } else {
          const Certificate c = certify(net, xi, opts);
          if (!c.last_region_found)
            throw Error("the ray of point " + std::to_string(i) + " did not reach its last region: " + c.stop_reason);
          out[i] = c.limit_confidence;
        }
      } else {
        out[i] = softmax(logits(net, (alpha * xi).eval())).maxCoeff();
      }
    } catch (const std::exception& e) {
#pragma omp critical
      error = e.what();
    }
  }
  if (!error.empty()) throw Error(error);
  return out;
}

torch::Tensor first(const torch::Tensor& x, int count) { return x.narrow(0, 0, std::min<std::int64_t>(count, x.size(0))); }

// The row "noise": the training noise, permuting test images (in order and
// batch by batch of 128 when the permutation source is "batch", as the
// paper's evaluation does; at random from the training pool otherwise).
torch::Tensor evaluation_noise(const Dataset& data, const EvalOptions& o) {
  if (o.noise.permute_source != "batch") return make_noise(data, data.train_x, o.count, o.noise);
  std::vector<torch::Tensor> parts;
  const std::int64_t n = data.test_x.size(0);
  for (std::int64_t done = 0; done < o.count; done += 128) {
    const std::int64_t b = std::min<std::int64_t>(128, o.count - done);
    const std::int64_t at = done % n;
    torch::Tensor pool = data.test_x.narrow(0, at, std::min(b, n - at));
    if (pool.size(0) < b) pool = torch::cat({pool, data.test_x.narrow(0, 0, std::min(n, b - pool.size(0)))});
    if (pool.size(0) < b) pool = pool.repeat({(b + pool.size(0) - 1) / pool.size(0), 1, 1, 1}).narrow(0, 0, b);
    parts.push_back(make_noise(data, pool, b, o.noise));
  }
  return torch::cat(parts);
}

}  // namespace

std::vector<std::pair<std::string, std::string>> out_distribution_names() {
  return {{"mnist, fmnist, idx:DIR", "the test images of that data set (first --count)"},
          {"emnist-letters, cifar10-gray, cifar10, cifar100, svhn", "the test images of a set converted by `tessera data`"},
          {"file:PATH", "the images of one IDX file (gzipped or not)"},
          {"uniform", "uniform noise on [0,1]^d (the data's box for synthetic sets)"},
          {"noise", "the paper's noise: permuted pixels / uniform, low-pass filtered, rescaled"},
          {"adv-noise", "uniform noise moved by l-inf PGD to maximise the confidence (per model)"},
          {"adv-samples", "test points moved by l-inf PGD to raise the loss; only misclassified ones count"},
          {"far-test:A", "A * x for test points x, unclipped (A a number or inf: the exact limit)"},
          {"far-noise:A", "A * u for uniform noise u, unclipped"}};
}

void apply_paper_evaluation(EvalOptions& o) {
  o.paper_counts = true;
  o.adv_samples.steps = 80;
  o.adv_noise.steps = 200;
  o.adv_noise_start = "noise";
  for (PgdOptions* p : {&o.adv_noise, &o.adv_samples}) {
    p->eps = 0.3;
    p->step_size = -1.0;
    p->random_start = true;
    p->start = "paper";
    p->keep_start = true;
  }
  o.noise = NoiseOptions{};
  o.noise.permute_source = "batch";
  o.noise.permute = "positions";
  o.noise.kernel = "paper";
}

std::vector<std::string> default_out_distributions(const std::string& data, const DataOptions& options) {
  std::vector<std::string> d;
  if (data == "mnist") d.push_back("fmnist");
  if (data == "fmnist") d.push_back("mnist");
  std::vector<std::string> paper;
  if (data == "mnist") paper = {"emnist-letters", "cifar10-gray"};
  if (data == "svhn") paper = {"cifar10", "cifar100"};
  if (data == "cifar10") paper = {"svhn", "cifar100"};
  if (data == "cifar100") paper = {"svhn", "cifar10"};
  for (const std::string& name : paper)
    if (converted_dataset_present(name, options)) d.push_back(name);
  for (const char* s : {"uniform", "noise", "adv-noise", "adv-samples", "far-test:10", "far-test:100", "far-test:1000",
                        "far-test:inf", "far-noise:10", "far-noise:100", "far-noise:1000", "far-noise:inf"})
    d.push_back(s);
  return d;
}

// The released code's loaders: batches of 128, the last partial one dropped.
torch::Tensor whole_batches(const torch::Tensor& x) {
  const std::int64_t n = x.size(0);
  return n >= 128 ? x.narrow(0, 0, n / 128 * 128) : x;
}

EvalTable evaluate(const std::vector<std::string>& model_paths, const std::vector<std::string>& names_in, const EvalOptions& options) {
  EvalOptions o = options;
  if (model_paths.empty()) throw Error("no model to evaluate");
  if (!names_in.empty() && names_in.size() != model_paths.size())
    throw Error("--names: " + std::to_string(names_in.size()) + " names for " + std::to_string(model_paths.size()) + " models");
  if (o.count < 1) throw Error("--count must be positive");
  const torch::Device device = resolve_device(o.device);
  if (o.threads > 0) torch::set_num_threads(o.threads);

  // Models first (cheap, and their errors are the likeliest).
  std::vector<Network> nets;
  std::vector<std::optional<LaplaceModel>> laplace;
  for (const std::string& p : model_paths) {
    nets.push_back(load_onnx(p));
    laplace.push_back(nets.back().laplace ? std::optional<LaplaceModel>(laplace_model(nets.back())) : std::nullopt);
  }
  for (std::size_t i = 1; i < nets.size(); ++i)
    if (nets[i].input_shape() != nets[0].input_shape())
      throw Error("models " + model_paths[0] + " and " + model_paths[i] + " take inputs of different shapes (" +
                  nets[0].input_shape().str() + " and " + nets[i].input_shape().str() + ")");

  DataOptions dopts = o.data_options;
  dopts.train_limit = 2000;  // only a pool for the permuted noise
  if (o.test_count > 0) dopts.test_limit = o.test_count;
  Dataset data = load_dataset(o.data, dopts);
  if (data.test_x.size(0) == 0) throw Error(o.data + ": the test set is empty");
  if (o.paper_counts) {
    // Every row as large as the paper's code makes it: one noise batch per
    // test batch, data-set rows their whole test split, in whole batches.
    data.test_x = whole_batches(data.test_x);
    data.test_y = data.test_y.narrow(0, 0, data.test_x.size(0));
    o.count = static_cast<int>(data.test_x.size(0));
  }
  for (std::size_t i = 0; i < nets.size(); ++i) {
    const Shape& s = nets[i].input_shape();
    if (s.size() != data.shape.size() || (s.is_image() && s != data.shape))
      throw Error("model " + model_paths[i] + " takes inputs of shape " + s.str() + " but " + o.data + " holds " + data.shape.str());
    if (nets[i].output_size() < data.classes)
      throw Error("model " + model_paths[i] + " has " + std::to_string(nets[i].output_size()) + " outputs but " + o.data + " has " +
                  std::to_string(data.classes) + " classes");
  }

  if (o.adv_noise_start != "uniform" && o.adv_noise_start != "noise")
    throw Error("unknown adversarial-noise start '" + o.adv_noise_start + "' (known: uniform, noise)");
  check_noise_options(o.noise);
  const std::vector<std::string> outs =
      o.out_distributions.empty() ? default_out_distributions(o.data, o.data_options) : o.out_distributions;
  // Shared out-distribution points (the same for every model).
  std::map<std::string, torch::Tensor> shared;
  std::int64_t k = 0;
  for (const std::string& name : outs) {
    ++k;
    torch::manual_seed(mix(o.seed, static_cast<std::uint64_t>(k)));
    std::string base;
    double alpha = 0;
    torch::Tensor x;
    if (name == "adv-noise" || name == "adv-samples") continue;
    if (parse_far(name, base, alpha)) {
      if (base == "test") continue;  // the test points themselves
      std::vector<std::int64_t> shape(data.test_x.sizes().begin(), data.test_x.sizes().end());
      shape[0] = o.count;
      x = uniform_noise(shape, data.lo, data.hi);
    } else if (name == "uniform") {
      std::vector<std::int64_t> shape(data.test_x.sizes().begin(), data.test_x.sizes().end());
      shape[0] = o.count;
      x = uniform_noise(shape, data.lo, data.hi);
    } else if (name == "noise") {
      x = evaluation_noise(data, o);
    } else if (name.rfind("file:", 0) == 0) {
      const std::string path = name.substr(5);
      // Only the --count items used are read (the header says how many there are).
      const IdxArray h = read_idx_header(path);
      const std::int64_t items = h.dims.at(0), item = h.item_size();
      if (item != data.shape.size())
        throw Error(path + ": its items hold " + std::to_string(item) + " values but " + o.data + " images hold " +
                    std::to_string(data.shape.size()) + " (" + data.shape.str() + ")");
      const std::int64_t n = std::min<std::int64_t>(items, o.count);
      const IdxArray a = read_idx(path, 0, n, true, item);
      std::vector<float> v(a.values.begin(), a.values.begin() + n * item);
      std::vector<std::int64_t> shape(data.test_x.sizes().begin(), data.test_x.sizes().end());
      shape[0] = n;
      x = torch::from_blob(v.data(), {n * item}, torch::kFloat32).clone().view(shape);
    } else {
      const bool known = is_image_dataset_name(name);
      if (!known) {
        std::string list;
        for (const auto& [n, _] : out_distribution_names()) list += (list.empty() ? "" : "; ") + n;
        throw Error("unknown out-distribution '" + name + "' (known: " + list + ")");
      }
      DataOptions od = o.data_options;
      od.train_limit = 1;
      od.test_limit = o.paper_counts ? -1 : o.count;
      const Dataset other = load_dataset(name, od);
      if (other.shape != data.shape)
        throw Error("out-distribution " + name + " holds images of " + other.shape.str() + " but " + o.data + " holds " + data.shape.str());
      x = o.paper_counts ? whole_batches(other.test_x) : other.test_x;
    }
    if (x.size(0) == 0) throw Error("out-distribution " + name + " is empty");
    shared[name] = x;
  }

  EvalTable table;
  table.data = o.data;
  table.data_label = data_label(o.data);
  // Everything that decides the rows' points, so that merge_tables can
  // refuse tables that were not evaluated alike.
  const auto pgd_json = [](const PgdOptions& p) {
    return nlohmann::json{{"eps", p.eps},           {"steps", p.steps}, {"step_size", p.step_size},
                          {"random_start", p.random_start}, {"start", p.start}, {"keep_start", p.keep_start}};
  };
  table.settings = {{"seed", o.seed},
                    {"count", o.count},
                    {"paper_counts", o.paper_counts},
                    {"test_count", o.test_count},
                    {"adv_noise", pgd_json(o.adv_noise)},
                    {"adv_samples", pgd_json(o.adv_samples)},
                    {"adv_noise_start", o.adv_noise_start},
                    {"noise",
                     {{"permuted_fraction", o.noise.permuted_fraction},
                      {"blur", o.noise.blur},
                      {"sigma_min", o.noise.sigma_min},
                      {"sigma_max", o.noise.sigma_max},
                      {"rescale", o.noise.rescale},
                      {"permute_source", o.noise.permute_source},
                      {"permute", o.noise.permute},
                      {"kernel", o.noise.kernel}}},
                    // The random starts of the attacks come from the device's generator.
                    {"device", device.is_cuda() ? "cuda" : "cpu"}};
  // Fingerprints of the data behind the names (data folders, files and
  // converted sets differ between machines): the test split, the noise pool
  // and every shared row's points.
  nlohmann::json prints = {{"test_x", fingerprint(data.test_x)}, {"test_y", fingerprint(data.test_y)},
                           {"pool", fingerprint(data.train_x)}};
  for (const auto& [name, x] : shared) prints[name] = fingerprint(x);
  table.settings["fingerprints"] = prints;
  const std::size_t total = nets.size() * (outs.size() + 1);
  std::size_t done = 0;
  const auto progress = [&] {
    if (o.on_progress) o.on_progress(done, total, "evaluating");
  };
  bool stop_seen = false;
  const auto stopped = [&] { return stop_seen || (stop_seen = o.should_stop && o.should_stop()); };
  progress();

  // The cells (EvalOptions::next_cell): each model's test set, then its rows.
  const std::size_t per_model = outs.size() + 1;
  std::vector<std::shared_ptr<Model>> exact_of(nets.size()), fast_of(nets.size());
  const auto modules = [&](std::size_t mi) {
    // One model's modules at a time (cells come model by model).
    for (std::size_t other = 0; other < nets.size(); ++other)
      if (other != mi) exact_of[other].reset(), fast_of[other].reset();
    if (!exact_of[mi]) {
      // A Laplace model's module outputs its probit scores: softmax of them
      // is its predictive distribution, which every row below then scores.
      const LaplaceModel* lap = laplace[mi] ? &*laplace[mi] : nullptr;
      if (lap) {
        exact_of[mi] = std::make_shared<LaplaceModule>(*lap, torch::kFloat64);
        fast_of[mi] = std::make_shared<LaplaceModule>(*lap, torch::kFloat32);
      } else {
        exact_of[mi] = std::make_shared<NetworkModule>(nets[mi], torch::kFloat64);
        fast_of[mi] = std::make_shared<NetworkModule>(nets[mi], torch::kFloat32);
      }
      for (Model* m : {exact_of[mi].get(), fast_of[mi].get()}) {
        m->to(device);
        m->eval();
      }
    }
  };
  const auto compute = [&](std::size_t index) {
    EvalCell cell;
    cell.index = index;
    const std::size_t mi = index / per_model, k = index % per_model;
    modules(mi);
    Model& exact = *exact_of[mi];
    Model& fast = *fast_of[mi];
    const Network& net = nets[mi];
    const LaplaceModel* lap = laplace[mi] ? &*laplace[mi] : nullptr;
    if (k == 0) {
      torch::Tensor pred;
      cell.scores = confidences(exact, data.test_x, device, &pred);
      cell.test_error = 1.0 - pred.eq(data.test_y).to(torch::kFloat64).mean().item<double>();
      return cell;
    }
    const std::string& name = outs[k - 1];
    std::string base;
    double alpha = 0;
    torch::manual_seed(mix(mix(o.seed, 0xE7A1), static_cast<std::uint64_t>(k)));
    if (parse_far(name, base, alpha)) {
      const torch::Tensor x = base == "test" ? first(data.test_x, o.count) : shared.at(name);
      cell.scores = far_confidences(net, x, alpha, lap);
    } else if (name == "adv-noise") {
      PgdOptions p = o.adv_noise;
      p.lo = data.lo;
      p.hi = data.hi;
      std::vector<std::int64_t> shape(data.test_x.sizes().begin(), data.test_x.sizes().end());
      shape[0] = o.count;
      const torch::Tensor start =
          (o.adv_noise_start == "noise" ? evaluation_noise(data, o) : uniform_noise(shape, data.lo, data.hi)).to(device);
      std::vector<torch::Tensor> moved;
      for (std::int64_t i = 0; i < start.size(0); i += 250)
        moved.push_back(pgd_maximise(fast, start.narrow(0, i, std::min<std::int64_t>(250, start.size(0) - i)),
                                     [](const torch::Tensor& l) { return log_max_confidence(l); }, p));
      cell.scores = confidences(exact, torch::cat(moved).view(shape), device);
    } else if (name == "adv-samples") {
      PgdOptions p = o.adv_samples;
      p.lo = data.lo;
      p.hi = data.hi;
      const torch::Tensor x = first(data.test_x, o.count).to(device), y = first(data.test_y, o.count).to(device);
      std::vector<torch::Tensor> moved;
      for (std::int64_t i = 0; i < x.size(0); i += 250) {
        const std::int64_t n = std::min<std::int64_t>(250, x.size(0) - i);
        const torch::Tensor labels = y.narrow(0, i, n);
        moved.push_back(pgd_maximise(fast, x.narrow(0, i, n), [&](const torch::Tensor& l) { return cross_entropy_each(l, labels); }, p));
      }
      const torch::Tensor adv = torch::cat(moved);
      torch::Tensor adv_pred;
      const std::vector<double> conf = confidences(exact, adv, device, &adv_pred);
      // The attack succeeded (the paper's "not resisted"): the point is
      // misclassified, or no class reaches 1.01/K.
      const torch::Tensor wrong = adv_pred.ne(y.cpu());
      auto acc = wrong.accessor<bool, 1>();
      const double flat = 1.01 / static_cast<double>(net.output_size());
      for (std::int64_t i = 0; i < wrong.size(0); ++i)
        if (acc[i] || conf[i] < flat) cell.scores.push_back(conf[i]);
    } else {
      cell.scores = confidences(exact, shared.at(name), device);
    }
    return cell;
  };
  std::size_t next_index = 0;
  const std::size_t cells = nets.size() * per_model;
  std::vector<EvalCell> mine;
  while (!stopped()) {
    std::optional<std::size_t> index;
    if (o.next_cell)
      index = o.next_cell(cells);
    else if (next_index < cells)
      index = next_index++;
    if (!index || *index >= cells) break;
    mine.push_back(compute(*index));
    ++done;
    progress();
  }
  std::optional<std::vector<EvalCell>> gathered = o.exchange ? o.exchange(std::move(mine)) : std::move(mine);
  if (!gathered) return table;  // another process assembles the table
  const std::vector<EvalCell>& all = *gathered;
  std::vector<const EvalCell*> by_index(cells, nullptr);
  for (const EvalCell& c : all)
    if (c.index < cells) by_index[c.index] = &c;
  // The table from the cells: a model with its test set, and its rows in
  // order (a partial evaluation leaves out the cells not computed).
  for (std::size_t mi = 0; mi < nets.size(); ++mi) {
    const EvalCell* test = by_index[mi * per_model];
    if (!test) continue;
    ModelEvaluation m;
    m.path = model_paths[mi];
    m.name = names_in.empty() ? fs::path(model_paths[mi]).stem().string() : names_in[mi];
    m.in_scores = test->scores;
    m.test_count = static_cast<int>(data.test_x.size(0));
    m.test_error = test->test_error;
    m.in_mmc = mean(m.in_scores);
    for (std::size_t k = 1; k < per_model; ++k) {
      const EvalCell* cell = by_index[mi * per_model + k];
      if (!cell) continue;
      OutDistributionResult r;
      r.name = outs[k - 1];
      r.label = label_of(r.name);
      r.scores = cell->scores;
      r.count = static_cast<int>(r.scores.size());
      if (r.count > 0) {
        r.mmc = mean(r.scores);
        r.auroc = auroc(m.in_scores, r.scores);
        r.fpr95 = fpr_at_95(m.in_scores, r.scores);
        r.aupr_in = aupr_in(m.in_scores, r.scores);
        r.aupr_out = aupr_out(m.in_scores, r.scores);
      }
      m.outs.push_back(std::move(r));
    }
    table.models.push_back(std::move(m));
  }
  const bool every_cell = std::all_of(by_index.begin(), by_index.end(), [](const EvalCell* c) { return c != nullptr; });
  table.complete = every_cell;
  if (!table.complete) table.stop_reason = kStopRequested;
  return table;
}

}  // namespace tessera::training
