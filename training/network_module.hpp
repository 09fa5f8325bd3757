// Any tessera::Network as a LibTorch module, so that gradient-based attacks
// (PGD) and batched evaluation run on every model Tessera loads, whatever
// exported it. Values flow as [N, size] tensors in the core's C-H-W order;
// max-pooling and permutations use the core's own gather tables, so the
// module computes exactly the function the core describes.
#pragma once

#include <torch/torch.h>

#include "core/network.hpp"
#include "training/models.hpp"

namespace tessera::training {

class NetworkModule : public Model {
 public:
  // dtype: torch::kFloat32 (fast, for attacks) or torch::kFloat64.
  explicit NetworkModule(const Network& net, torch::Dtype dtype = torch::kFloat32);
  torch::Tensor forward(torch::Tensor x) override;  // x: [N, ...] with input_size values per sample
  Network to_network() const override { return net_; }
  const Network& network() const { return net_; }

 private:
  Network net_;
  torch::Dtype dtype_;
  std::vector<torch::Tensor> weight_, bias_, scale_, shift_, index_, pool_;
};

}  // namespace tessera::training
