// Out-of-distribution noise for CEDA and ACET, as in the paper's code: half
// of a batch is training images with their pixels permuted (one permutation
// per image), half is uniform noise; each noise image is then low-pass
// filtered with a Gaussian of standard deviation drawn from U[sigma_min,
// sigma_max] once per batch and rescaled to [0, 1] by its own min and max.
// For non-image data: uniform noise in the data's noise box, unfiltered.
//
// The distributions are core/noise.hpp's, the one definition of each noise
// kind (uniform in a box, an image's values permuted): the samples come
// from core's seeded generators, and this is a thin adapter that turns them
// into float tensors on the training device. The adapter only draws the
// 64-bit seed for core's generator from torch's default generator, so the
// trainer's counter-based seeding (torch::manual_seed per batch) still
// makes every batch repeatable and an interrupted run resume exactly.
// What only training needs (the Gaussian low-pass filter, the per-image
// rescaling, which training images are permuted) stays here, in torch.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "training/dataset.hpp"

namespace tessera::training {

struct NoiseOptions {
  double permuted_fraction = 0.5;  // of each batch; the rest is uniform
  bool blur = true;                // Gaussian low-pass filter (images only)
  double sigma_min = 1.0, sigma_max = 2.5;
  bool rescale = true;             // per-image min/max rescaling to [0, 1] (images only)
  // Which images are permuted: "pool" (random picks from the pool passed to
  // make_noise: the whole training set) or "batch" (the first images of the
  // pool, which the trainer passes as the current, augmented batch: the
  // paper's code).
  std::string permute_source = "pool";
  // What is permuted: "values" (all C*H*W values of an image) or "positions"
  // (pixel positions, one permutation shared by the channels, so colours stay
  // together: the paper's code). The same for grey images.
  std::string permute = "values";
  // The low-pass kernel: "adaptive" (radius ceil(3 sigma), reflect padding)
  // or "paper" (15x15 whatever sigma, symmetric padding: the paper's code).
  std::string kernel = "adaptive";
};

// Checks the choices above; throws tessera::Error naming the bad one.
void check_noise_options(const NoiseOptions& options);

// A batch of `count` noise samples shaped like the dataset's inputs, drawn
// from torch's default generator (seed it for repeatable batches). `pool`
// supplies the images whose pixels are permuted.
torch::Tensor make_noise(const Dataset& data, const torch::Tensor& pool, std::int64_t count, const NoiseOptions& options);

// Uniform noise in [lo, hi) of the given shape (first dimension: samples),
// float32 on `device`: core's uniform_noise, seeded from torch's default
// generator.
torch::Tensor uniform_noise(const std::vector<std::int64_t>& shape, double lo, double hi,
                            const torch::Device& device = torch::kCPU);

// Pieces, exposed for tests.
// Per image, one of core's random_permutations: of all C*H*W values, or
// (positions = true) of the H*W pixel positions, the same for every channel.
torch::Tensor permute_pixels(const torch::Tensor& images, bool positions = false);
// Separable Gaussian with weights exp(-k^2 / 2 sigma^2) normalised to sum 1;
// adaptive: offsets |k| <= ceil(3 sigma) and reflect padding (edge not
// repeated); paper: offsets |k| <= 7 (15x15) and symmetric padding (edge
// repeated, numpy's 'symmetric'), any image size.
torch::Tensor gaussian_blur(const torch::Tensor& images, double sigma, const std::string& kernel = "adaptive");
// Symmetric padding of the last two dimensions by pad on each side.
torch::Tensor pad_symmetric(const torch::Tensor& images, int pad);
torch::Tensor rescale_per_image(const torch::Tensor& images);  // to [0, 1]; constant images become 0

}  // namespace tessera::training
