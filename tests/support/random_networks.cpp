#include "tests/support/random_networks.hpp"

#include <algorithm>

namespace tessera::test {

Window2d window(int k, int stride, int pad, int dilation) {
  Window2d w;
  w.kernel_h = w.kernel_w = k;
  w.stride_h = w.stride_w = stride;
  w.pad_top = w.pad_left = w.pad_bottom = w.pad_right = pad;
  w.dilation_h = w.dilation_w = dilation;
  return w;
}

namespace {

int conv(NetworkBuilder& b, SeededRandom& rng, int in, int c_out, const Window2d& w) {
  const int c_in = b.node(in).shape.channels();
  const int fan = c_in * w.kernel_h * w.kernel_w;
  return b.conv2d(in, rng.he_uniform(c_out, fan, fan), rng.uniform_vector(c_out, -0.2, 0.2), w);
}

int dense(NetworkBuilder& b, SeededRandom& rng, int in, int n_out) {
  const auto n_in = static_cast<int>(b.node(in).shape.size());
  return b.dense(in, rng.he_uniform(n_out, n_in, n_in), rng.uniform_vector(n_out, -0.2, 0.2));
}

}  // namespace

std::vector<NamedNetwork> random_networks_of_every_kind(std::uint64_t seed) {
  std::vector<NamedNetwork> out;
  SeededRandom rng(seed);
  out.push_back({"mlp_relu", random_mlp(5, {7, 6}, 4, seed + 1)});
  out.push_back({"mlp_leaky", random_mlp(4, {9, 5, 6}, 3, seed + 2, 0.1)});
  {
    // conv (stride 2, pad 1) -> relu -> maxpool (pad 1) -> conv (dilation 2)
    // -> leaky -> avgpool (count_include_pad) -> dense
    NetworkBuilder b;
    int x = b.input(Shape{2, 9, 9});
    x = b.relu(conv(b, rng, x, 4, window(3, 2, 1)));
    x = b.max_pool2d(x, window(3, 2, 1));
    x = b.leaky_relu(conv(b, rng, x, 3, window(2, 1, 1, 2)), 0.25);
    x = b.avg_pool2d(x, window(2, 1, 1), true);
    x = b.reshape(x, Shape{static_cast<int>(b.node(x).shape.size())});
    x = dense(b, rng, x, 5);
    out.push_back({"cnn_strided_dilated", b.build(x)});
  }
  {
    // residual block with an elementwise affine (normalisation) and average
    // pooling that excludes padding
    NetworkBuilder b;
    int x = b.input(Shape{1, 6, 6});
    const auto n = static_cast<int>(b.node(x).shape.size());
    x = b.elementwise_affine(x, rng.uniform_vector(n, 0.5, 2.0), rng.uniform_vector(n, -0.5, 0.5));
    int h = b.relu(conv(b, rng, x, 3, window(3, 1, 1)));
    int r = b.relu(conv(b, rng, h, 3, window(3, 1, 1)));
    x = b.relu(b.add(r, h));
    x = b.avg_pool2d(x, window(3, 2, 1), false);
    x = b.reshape(x, Shape{static_cast<int>(b.node(x).shape.size())});
    x = b.relu(dense(b, rng, x, 8));
    x = dense(b, rng, x, 3);
    out.push_back({"cnn_residual", b.build(x)});
  }
  {
    // NHWC input permuted to CHW, zero padding by a permute with -1 entries,
    // max pool and a residual dense block
    NetworkBuilder b;
    const int H = 4, W = 4, C = 2;
    int x = b.input(Shape{H, W, C});
    std::vector<int> to_chw;
    for (int c = 0; c < C; ++c)
      for (int y = 0; y < H; ++y)
        for (int xx = 0; xx < W; ++xx) to_chw.push_back((y * W + xx) * C + c);
    x = b.permute(x, to_chw, Shape{C, H, W});
    std::vector<int> pad;
    for (int c = 0; c < C; ++c)
      for (int y = -1; y <= H; ++y)
        for (int xx = -1; xx <= W; ++xx)
          pad.push_back(y < 0 || y >= H || xx < 0 || xx >= W ? -1 : (c * H + y) * W + xx);
    x = b.permute(x, pad, Shape{C, H + 2, W + 2});
    x = b.relu(conv(b, rng, x, 4, window(3)));
    x = b.max_pool2d(x, window(2, 2));
    x = b.reshape(x, Shape{static_cast<int>(b.node(x).shape.size())});
    int h = b.relu(dense(b, rng, x, 6));
    int r = b.relu(dense(b, rng, h, 6));
    x = dense(b, rng, b.add(h, r), 4);
    out.push_back({"nhwc_pad_residual_dense", b.build(x)});
  }
  {
    // Piecewise units with more than two pieces and knots away from 0:
    // ReLU6-like clip, Hardtanh, |x|, PRelu with one slope per unit, max
    // and min with per-unit constants, leaky slopes above 1 and below 0.
    SeededRandom rng(seed + 7);
    NetworkBuilder b;
    int x = b.input(Shape{4});
    x = b.clip(dense(b, rng, x, 8), 0.0, 0.625);
    x = b.abs(dense(b, rng, x, 7));
    x = b.prelu(dense(b, rng, x, 6), rng.uniform_vector(6, -0.5, 0.5));
    x = b.max_constant(dense(b, rng, x, 6), rng.uniform_vector(6, -0.3, 0.3));
    x = b.min_constant(x, Vector::Constant(1, 0.375));
    x = b.leaky_relu(dense(b, rng, x, 6), 1.5);
    x = b.clip(dense(b, rng, x, 5), -1.0, 1.0);
    x = b.leaky_relu(dense(b, rng, x, 5), -0.25);
    out.push_back({"mlp_piecewise_clip_abs_prelu_max_min", b.build(dense(b, rng, x, 3))});
  }
  {
    // A convolution with ReLU6 and a max-pool, then Hardtanh.
    SeededRandom rng(seed + 8);
    NetworkBuilder b;
    int x = b.input(Shape{1, 6, 6});
    x = b.clip(conv(b, rng, x, 3, window(3, 1, 1)), 0.0, 0.5);
    x = b.max_pool2d(x, window(2, 2));
    x = b.clip(dense(b, rng, x, 6), -0.375, 0.375);
    out.push_back({"cnn_relu6_maxpool_hardtanh", b.build(dense(b, rng, x, 3))});
  }
  return out;
}

Vector random_input(const Network& net, SeededRandom& rng, double lo, double hi) {
  Vector x(net.input_size());
  for (Eigen::Index i = 0; i < x.size(); ++i) x[i] = rng.uniform(lo, hi);
  return x;
}

double relative_error(const Matrix& a, const Matrix& b) {
  if (a.rows() != b.rows() || a.cols() != b.cols()) return 1e300;
  if (a.size() == 0) return 0.0;
  return (a - b).cwiseAbs().maxCoeff() / std::max(1.0, b.cwiseAbs().maxCoeff());
}

}  // namespace tessera::test
