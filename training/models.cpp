#include "training/models.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <utility>

#include "core/error.hpp"

namespace tessera::training {
namespace {

Matrix to_matrix(const torch::Tensor& t, std::int64_t rows, std::int64_t cols) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().view({rows, cols});
  return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(c.data_ptr<double>(), rows, cols);
}

Vector to_vector(const torch::Tensor& t) {
  const torch::Tensor c = t.detach().to(torch::kCPU, torch::kFloat64).contiguous().view({-1});
  return Eigen::Map<const Vector>(c.data_ptr<double>(), c.numel());
}

int add_linear(NetworkBuilder& b, int in, const torch::nn::Linear& l, const std::string& name) {
  return b.dense(in, to_matrix(l->weight, l->weight.size(0), l->weight.size(1)), to_vector(l->bias), name);
}

// pad: the module's (symmetric) zero padding; the options keep it in a
// variant type that differs between LibTorch 1.x and 2.x.
int add_conv_padded(NetworkBuilder& b, int in, const torch::nn::Conv2d& c, int top, int left, int bottom, int right,
                    const std::string& name) {
  const auto& o = c->options;
  Window2d w;
  w.kernel_h = static_cast<int>(c->weight.size(2));
  w.kernel_w = static_cast<int>(c->weight.size(3));
  w.stride_h = static_cast<int>((*o.stride())[0]);
  w.stride_w = static_cast<int>((*o.stride())[1]);
  w.pad_top = top;
  w.pad_left = left;
  w.pad_bottom = bottom;
  w.pad_right = right;
  const torch::Tensor& weight = c->weight;
  Vector bias = c->bias.defined() ? to_vector(c->bias) : Vector::Zero(weight.size(0));
  return b.conv2d(in, to_matrix(weight, weight.size(0), weight.numel() / weight.size(0)), bias, w, name);
}

int add_conv(NetworkBuilder& b, int in, const torch::nn::Conv2d& c, int pad, const std::string& name) {
  return add_conv_padded(b, in, c, pad, pad, pad, pad, name);
}

// Eval-mode batch normalisation: a per-channel affine map, expanded to every
// element and rounded to float32 as the module computes it.
int add_batch_norm(NetworkBuilder& b, int in, const torch::nn::BatchNorm2d& bn, const std::string& name) {
  const Shape shape = b.node(in).shape;
  const torch::Tensor scale_c = (bn->weight / torch::sqrt(bn->running_var + bn->options.eps())).detach();
  const torch::Tensor shift_c = (bn->bias - bn->running_mean * scale_c).detach();
  const std::int64_t plane = static_cast<std::int64_t>(shape.height()) * shape.width();
  const Vector s = to_vector(scale_c.to(torch::kFloat32)), t = to_vector(shift_c.to(torch::kFloat32));
  Vector scale(shape.size()), shift(shape.size());
  for (int ch = 0; ch < shape.channels(); ++ch) {
    scale.segment(ch * plane, plane).setConstant(s[ch]);
    shift.segment(ch * plane, plane).setConstant(t[ch]);
  }
  return b.elementwise_affine(in, scale, shift, name);
}

int add_max_pool(NetworkBuilder& b, int in, const std::string& name) {
  Window2d w;
  w.kernel_h = w.kernel_w = 2;
  w.stride_h = w.stride_w = 2;
  return b.max_pool2d(in, w, name);
}

int flatten(NetworkBuilder& b, int in) {
  return b.reshape(in, Shape({static_cast<int>(b.node(in).shape.size())}), "flatten");
}

class Mlp : public Model {
 public:
  Mlp(const std::vector<int>& widths, const Shape& input, int classes) : input_(input) {
    std::int64_t in = input.size();
    for (std::size_t i = 0; i < widths.size(); ++i) {
      layers_.push_back(register_module("fc" + std::to_string(i + 1), torch::nn::Linear(in, widths[i])));
      in = widths[i];
    }
    layers_.push_back(register_module("fc" + std::to_string(widths.size() + 1), torch::nn::Linear(in, classes)));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = x.flatten(1);
    for (std::size_t i = 0; i + 1 < layers_.size(); ++i) x = torch::relu(layers_[i]->forward(x));
    return layers_.back()->forward(x);
  }
  Network to_network() const override {
    NetworkBuilder b;
    int x = b.input(input_);
    if (input_.dims.size() != 1) x = flatten(b, x);
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      x = add_linear(b, x, layers_[i], "fc" + std::to_string(i + 1));
      if (i + 1 < layers_.size()) x = b.relu(x, "relu" + std::to_string(i + 1));
    }
    return b.build(x);
  }

 private:
  Shape input_;
  std::vector<torch::nn::Linear> layers_;
};

// The paper's LeNet: conv 5x5 (same padding), ReLU, 2x2 max-pool, twice; then
// a dense hidden layer and the output layer.
class LeNet : public Model {
 public:
  LeNet(int c1, int c2, int hidden, const Shape& input, int classes) : input_(input) {
    conv1_ = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(input.channels(), c1, 5).padding(2)));
    conv2_ = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(c1, c2, 5).padding(2)));
    const std::int64_t flat = static_cast<std::int64_t>(c2) * (input.height() / 4) * (input.width() / 4);
    fc1_ = register_module("fc1", torch::nn::Linear(flat, hidden));
    fc2_ = register_module("fc2", torch::nn::Linear(hidden, classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = torch::max_pool2d(torch::relu(conv1_->forward(x)), 2);
    x = torch::max_pool2d(torch::relu(conv2_->forward(x)), 2);
    x = torch::relu(fc1_->forward(x.flatten(1)));
    return fc2_->forward(x);
  }
  Network to_network() const override {
    NetworkBuilder b;
    int x = b.input(input_);
    x = add_max_pool(b, b.relu(add_conv(b, x, conv1_, 2, "conv1"), "relu1"), "pool1");
    x = add_max_pool(b, b.relu(add_conv(b, x, conv2_, 2, "conv2"), "relu2"), "pool2");
    x = b.relu(add_linear(b, flatten(b, x), fc1_, "fc1"), "relu3");
    return b.build(add_linear(b, x, fc2_, "fc2"));
  }

 private:
  Shape input_;
  torch::nn::Conv2d conv1_{nullptr}, conv2_{nullptr};
  torch::nn::Linear fc1_{nullptr}, fc2_{nullptr};
};

// The head of both ResNets: ReLU(BN(x)), global average pooling, the dense
// layer.
Network finish_resnet(NetworkBuilder& b, int x, const torch::nn::BatchNorm2d& bn, const torch::nn::Linear& fc) {
  x = b.relu(add_batch_norm(b, x, bn, "bn"), "relu");
  const Shape s = b.node(x).shape;
  Window2d w;
  w.kernel_h = w.stride_h = s.height();
  w.kernel_w = w.stride_w = s.width();
  x = b.avg_pool2d(x, w, false, "global_pool");
  return b.build(add_linear(b, flatten(b, x), fc, "fc"));
}

// Pre-activation residual block (He et al. 2016): BN-ReLU-conv-BN-ReLU-conv,
// plus the input (or a 1x1 projection of the pre-activated input when the
// shape changes).
struct PreActBlock : torch::nn::Module {
  PreActBlock(int in, int out, int stride) {
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(in));
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(1).bias(false)));
    bn2 = register_module("bn2", torch::nn::BatchNorm2d(out));
    conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1).bias(false)));
    if (stride != 1 || in != out)
      shortcut = register_module("shortcut", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).stride(stride).bias(false)));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor o = torch::relu(bn1->forward(x));
    const torch::Tensor skip = shortcut ? shortcut->forward(o) : x;
    torch::Tensor y = conv1->forward(o);
    y = conv2->forward(torch::relu(bn2->forward(y)));
    return y + skip;
  }
  int to_network(NetworkBuilder& b, int x, const std::string& name) const {
    const int o = b.relu(add_batch_norm(b, x, bn1, name + ".bn1"), name + ".relu1");
    const int skip = shortcut ? add_conv(b, o, shortcut, 0, name + ".shortcut") : x;
    int y = add_conv(b, o, conv1, 1, name + ".conv1");
    y = b.relu(add_batch_norm(b, y, bn2, name + ".bn2"), name + ".relu2");
    y = add_conv(b, y, conv2, 1, name + ".conv2");
    return b.add(y, skip, name + ".add");
  }
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, shortcut{nullptr};
};

class ResNet : public Model {
 public:
  ResNet(int width, const Shape& input, int classes) : input_(input) {
    stem_ = register_module("stem", torch::nn::Conv2d(torch::nn::Conv2dOptions(input.channels(), width, 3).padding(1).bias(false)));
    blocks_.push_back(register_module("block1", std::make_shared<PreActBlock>(width, width, 1)));
    blocks_.push_back(register_module("block2", std::make_shared<PreActBlock>(width, 2 * width, 2)));
    blocks_.push_back(register_module("block3", std::make_shared<PreActBlock>(2 * width, 4 * width, 2)));
    bn_ = register_module("bn", torch::nn::BatchNorm2d(4 * width));
    fc_ = register_module("fc", torch::nn::Linear(4 * width, classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = stem_->forward(x);
    for (const auto& block : blocks_) x = block->forward(x);
    x = torch::relu(bn_->forward(x));
    x = x.mean({2, 3});  // global average pooling
    return fc_->forward(x);
  }
  Network to_network() const override {
    NetworkBuilder b;
    int x = add_conv(b, b.input(input_), stem_, 1, "stem");
    for (std::size_t i = 0; i < blocks_.size(); ++i) x = blocks_[i]->to_network(b, x, "block" + std::to_string(i + 1));
    return finish_resnet(b, x, bn_, fc_);
  }

 private:
  Shape input_;
  torch::nn::Conv2d stem_{nullptr};
  std::vector<std::shared_ptr<PreActBlock>> blocks_;
  torch::nn::BatchNorm2d bn_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

// The paper's "resnet_small" (its models.py): a pre-activation ResNet-20.
// Three stages of three units with W, 2W, 4W channels (strides 1, 2, 2);
// the first unit of every stage takes its shortcut from the activated input
// ReLU(BN(x)), the others from x itself; where the channels grow, the
// shortcut is a stride x stride average pool followed by zero channels on
// both sides (He et al.'s option A, no 1x1 convolution). Convolutions pad as
// TensorFlow's 'SAME' does: a stride-2 3x3 convolution on an even size pads
// nothing before and one pixel after. Batch norm with TensorFlow's momentum
// 0.99 (LibTorch's 0.01) and eps 1e-5.
//
// TensorFlow's 'SAME' padding of one axis: {before, after}.
std::pair<int, int> same_padding(std::int64_t size, int kernel, int stride) {
  const std::int64_t out = (size + stride - 1) / stride;
  const std::int64_t total = std::max<std::int64_t>((out - 1) * stride + kernel - size, 0);
  return {static_cast<int>(total / 2), static_cast<int>(total - total / 2)};
}
struct SmallUnit : torch::nn::Module {
  SmallUnit(int in, int out, int stride, bool activate_before) : in_(in), out_(out), stride_(stride), activate_before_(activate_before) {
    const auto bn = [](int c) { return torch::nn::BatchNorm2dOptions(c).momentum(0.01).eps(1e-5); };
    bn1 = register_module("bn1", torch::nn::BatchNorm2d(bn(in)));
    // Padded explicitly in forward(): TensorFlow's 'SAME' is asymmetric for stride 2.
    conv1 = register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).stride(stride).padding(0).bias(false)));
    bn2 = register_module("bn2", torch::nn::BatchNorm2d(bn(out)));
    conv2 = register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(out, out, 3).padding(1).bias(false)));
  }
  torch::Tensor shortcut(const torch::Tensor& source) const {
    if (in_ == out_) return source;
    const int pad = (out_ - in_) / 2;
    const torch::Tensor pooled = torch::avg_pool2d(source, stride_, stride_);
    return torch::constant_pad_nd(pooled, {0, 0, 0, 0, pad, out_ - in_ - pad}, 0.0);
  }
  torch::Tensor forward(const torch::Tensor& x) {
    const torch::Tensor a = torch::relu(bn1->forward(x));
    const torch::Tensor sc = shortcut(activate_before_ ? a : x);
    const auto [top, bottom] = same_padding(a.size(2), 3, stride_);
    const auto [left, right] = same_padding(a.size(3), 3, stride_);
    torch::Tensor h = conv1->forward(torch::constant_pad_nd(a, {left, right, top, bottom}, 0.0));
    h = conv2->forward(torch::relu(bn2->forward(h)));
    return h + sc;
  }
  int to_network(NetworkBuilder& b, int x, const std::string& name) const {
    const int a = b.relu(add_batch_norm(b, x, bn1, name + ".bn1"), name + ".relu1");
    int sc = activate_before_ ? a : x;
    if (in_ != out_) {
      // Average pool and zero channels as one fixed convolution: weight
      // 1/stride^2 from input channel i to output channel i + pad.
      const int pad = (out_ - in_) / 2, k = stride_;
      Matrix w = Matrix::Zero(out_, static_cast<Eigen::Index>(in_) * k * k);
      for (int i = 0; i < in_; ++i)
        for (int j = 0; j < k * k; ++j) w(i + pad, static_cast<Eigen::Index>(i) * k * k + j) = 1.0 / (k * k);
      Window2d win;
      win.kernel_h = win.kernel_w = win.stride_h = win.stride_w = k;
      sc = b.conv2d(sc, w, Vector::Zero(out_), win, name + ".shortcut");
    }
    const Shape in = b.node(a).shape;
    const auto [top, bottom] = same_padding(in.height(), 3, stride_);
    const auto [left, right] = same_padding(in.width(), 3, stride_);
    int h = add_conv_padded(b, a, conv1, top, left, bottom, right, name + ".conv1");
    h = b.relu(add_batch_norm(b, h, bn2, name + ".bn2"), name + ".relu2");
    h = add_conv(b, h, conv2, 1, name + ".conv2");
    return b.add(h, sc, name + ".add");
  }
  int in_, out_, stride_;
  bool activate_before_;
  torch::nn::BatchNorm2d bn1{nullptr}, bn2{nullptr};
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
};

class ResNetSmall : public Model {
 public:
  ResNetSmall(int width, const Shape& input, int classes) : input_(input) {
    stem_ = register_module("stem", torch::nn::Conv2d(torch::nn::Conv2dOptions(input.channels(), width, 3).padding(1).bias(false)));
    const int widths[] = {width, width, 2 * width, 4 * width};
    const int strides[] = {1, 2, 2};
    for (int stage = 0; stage < 3; ++stage)
      for (int unit = 0; unit < 3; ++unit) {
        const int in = unit == 0 ? widths[stage] : widths[stage + 1];
        const std::string name = "stage" + std::to_string(stage + 1) + "_unit" + std::to_string(unit + 1);
        units_.push_back(register_module(name, std::make_shared<SmallUnit>(in, widths[stage + 1], unit == 0 ? strides[stage] : 1, unit == 0)));
        names_.push_back(name);
      }
    bn_ = register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNorm2dOptions(4 * width).momentum(0.01).eps(1e-5)));
    fc_ = register_module("fc", torch::nn::Linear(4 * width, classes));
  }
  torch::Tensor forward(torch::Tensor x) override {
    x = stem_->forward(x);
    for (const auto& unit : units_) x = unit->forward(x);
    x = torch::relu(bn_->forward(x));
    return fc_->forward(x.mean({2, 3}));
  }
  Network to_network() const override {
    NetworkBuilder b;
    int x = add_conv(b, b.input(input_), stem_, 1, "stem");
    for (std::size_t i = 0; i < units_.size(); ++i) x = units_[i]->to_network(b, x, names_[i]);
    return finish_resnet(b, x, bn_, fc_);
  }

 private:
  Shape input_;
  torch::nn::Conv2d stem_{nullptr};
  std::vector<std::shared_ptr<SmallUnit>> units_;
  std::vector<std::string> names_;
  torch::nn::BatchNorm2d bn_{nullptr};
  torch::nn::Linear fc_{nullptr};
};

// TensorFlow's truncated normal: draws beyond two standard deviations are
// drawn again.
void truncated_normal_(torch::Tensor t, double sd) {
  torch::NoGradGuard no_grad;
  t.normal_(0.0, sd);
  for (int round = 0; round < 100; ++round) {
    const torch::Tensor out = t.abs() > 2 * sd;
    if (!out.any().item<bool>()) return;
    t.copy_(torch::where(out, torch::empty_like(t).normal_(0.0, sd), t));
  }
}

}  // namespace

void paper_init(torch::nn::Module& model) {
  torch::NoGradGuard no_grad;
  for (const auto& m : model.modules(/*include_self=*/true)) {
    if (auto* conv = m->as<torch::nn::Conv2d>()) {
      const torch::Tensor& w = conv->weight;
      truncated_normal_(w, std::sqrt(2.0 / static_cast<double>(w.size(1) * w.size(2) * w.size(3))));
      if (conv->bias.defined()) conv->bias.zero_();
    } else if (auto* linear = m->as<torch::nn::Linear>()) {
      linear->weight.normal_(0.0, std::sqrt(2.0 / static_cast<double>(linear->weight.size(1))));
      linear->bias.zero_();
    }
  }
}

std::string ModelSpec::str() const {
  std::string s = kind + ":";
  for (std::size_t i = 0; i < sizes.size(); ++i) s += (i ? "," : "") + std::to_string(sizes[i]);
  return s;
}

ModelSpec parse_model_spec(const std::string& text) {
  ModelSpec spec;
  const auto colon = text.find(':');
  spec.kind = text.substr(0, colon);
  if (colon != std::string::npos) {
    std::stringstream ss(text.substr(colon + 1));
    std::string item;
    while (std::getline(ss, item, ',')) {
      std::size_t used = 0;
      int v = 0;
      try {
        v = std::stoi(item, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != item.size() || v < 1 || v > 65536)
        throw Error("model '" + text + "': '" + item + "' is not a layer size (a whole number from 1 to 65536)");
      spec.sizes.push_back(v);
    }
    if (spec.sizes.empty()) throw Error("model '" + text + "': no sizes after ':'");
  }
  if (spec.kind == "mlp") {
    if (spec.sizes.empty()) spec.sizes = {256, 256};
  } else if (spec.kind == "lenet") {
    if (spec.sizes.empty()) spec.sizes = {32, 64, 1024};
    if (spec.sizes.size() != 3) throw Error("model '" + text + "': lenet takes three sizes (conv1, conv2, dense), e.g. lenet:32,64,1024");
  } else if (spec.kind == "resnet" || spec.kind == "resnet-small") {
    if (spec.sizes.empty()) spec.sizes = {16};
    if (spec.sizes.size() != 1)
      throw Error("model '" + text + "': " + spec.kind + " takes one size (the first stage's channels), e.g. " + spec.kind + ":16");
  } else {
    throw Error("unknown model '" + text + "' (known: mlp[:W1,W2,...], lenet[:C1,C2,H], resnet[:W], resnet-small[:W])");
  }
  return spec;
}

std::shared_ptr<Model> make_model(const ModelSpec& spec, const Shape& input, int classes) {
  if (classes < 2) throw Error("a classifier needs at least two classes");
  if (spec.kind == "mlp") return std::make_shared<Mlp>(spec.sizes, input, classes);
  if (!input.is_image())
    throw Error("model " + spec.str() + " is convolutional and needs image data; this data set has inputs of shape " + input.str() +
                " (use mlp)");
  if (input.height() < 4 || input.width() < 4) throw Error("model " + spec.str() + ": images of " + input.str() + " are too small");
  if (spec.kind == "lenet") return std::make_shared<LeNet>(spec.sizes[0], spec.sizes[1], spec.sizes[2], input, classes);
  if (spec.kind == "resnet-small") return std::make_shared<ResNetSmall>(spec.sizes[0], input, classes);
  return std::make_shared<ResNet>(spec.sizes[0], input, classes);
}

}  // namespace tessera::training
