// The models Tessera trains: an MLP of any widths, the paper's LeNet and a
// small pre-activation ResNet. Each is a LibTorch module that also converts
// itself into a tessera::Network (for ONNX export through the core); the
// conversion reproduces the module's eval-mode outputs.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "core/network.hpp"

namespace tessera::training {

// "mlp:256,256", "lenet" (= lenet:32,64,1024, the paper's), "resnet" (= resnet:16,
// a small pre-activation ResNet), "resnet-small" (= resnet-small:16, the
// paper's ResNet-20 for SVHN and CIFAR).
struct ModelSpec {
  std::string kind;        // mlp | lenet | resnet
  std::vector<int> sizes;  // widths / channels
  std::string str() const;
};
ModelSpec parse_model_spec(const std::string& text);

class Model : public torch::nn::Module {
 public:
  virtual torch::Tensor forward(torch::Tensor x) = 0;  // logits
  // The module in eval mode as a Network (float32 parameters, exactly).
  virtual Network to_network() const = 0;
};

// input: one sample's shape ({d} or {C,H,W}); throws tessera::Error when the
// model does not fit the data (a CNN on non-image data, images too small).
// The paper's initialisation: convolution kernels He-normal (sd
// sqrt(2 / fan_in)) truncated at two standard deviations, dense weights
// He-normal, every bias zero; batch norm keeps gamma = 1, beta = 0.
void paper_init(torch::nn::Module& model);

std::shared_ptr<Model> make_model(const ModelSpec& spec, const Shape& input, int classes);

}  // namespace tessera::training
