// Out-of-distribution noise for CEDA and ACET, as in the paper's code: half
// of a batch is training images with their pixels permuted (one permutation
// per image), half is uniform noise; each noise image is then low-pass
// filtered with a Gaussian of standard deviation drawn from U[sigma_min,
// sigma_max] once per batch and rescaled to [0, 1] by its own min and max.
// For non-image data: uniform noise in the data's noise box, unfiltered.
#pragma once

#include <torch/torch.h>

#include "training/dataset.hpp"

namespace tessera::training {

struct NoiseOptions {
  double permuted_fraction = 0.5;  // of each batch; the rest is uniform
  bool blur = true;                // Gaussian low-pass filter (images only)
  double sigma_min = 1.0, sigma_max = 2.5;
  bool rescale = true;             // per-image min/max rescaling to [0, 1] (images only)
};

// A batch of `count` noise samples shaped like the dataset's inputs, drawn
// from torch's default generator (seed it for repeatable batches). `pool`
// supplies the images whose pixels are permuted.
torch::Tensor make_noise(const Dataset& data, const torch::Tensor& pool, std::int64_t count, const NoiseOptions& options);

// Pieces, exposed for tests.
torch::Tensor permute_pixels(const torch::Tensor& images);  // per image, all C*H*W values
torch::Tensor gaussian_blur(const torch::Tensor& images, double sigma);  // separable, reflect padding
torch::Tensor rescale_per_image(const torch::Tensor& images);  // to [0, 1]; constant images become 0

}  // namespace tessera::training
