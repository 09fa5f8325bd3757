#include "training/network_module.hpp"

#include "core/error.hpp"

namespace tessera::training {
namespace {

torch::Tensor from_matrix(const Matrix& m, torch::Dtype dtype) {
  const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor> r = m;
  return torch::from_blob(const_cast<double*>(r.data()), {r.rows(), r.cols()}, torch::kFloat64).clone().to(dtype);
}

torch::Tensor from_vector(const Vector& v, torch::Dtype dtype) {
  return torch::from_blob(const_cast<double*>(v.data()), {v.size()}, torch::kFloat64).clone().to(dtype);
}

torch::Tensor from_index(const std::vector<int>& index, std::int64_t missing) {
  std::vector<std::int64_t> i(index.size());
  for (std::size_t k = 0; k < index.size(); ++k) i[k] = index[k] < 0 ? missing : index[k];
  return torch::tensor(i, torch::kInt64);
}

}  // namespace

NetworkModule::NetworkModule(const Network& net, torch::Dtype dtype) : net_(net), dtype_(dtype) {
  const std::size_t n = net_.nodes.size();
  weight_.resize(n);
  bias_.resize(n);
  scale_.resize(n);
  shift_.resize(n);
  index_.resize(n);
  pool_.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const Node& node = net_.nodes[i];
    const std::string id = "n" + std::to_string(i);
    switch (node.kind) {
      case OpKind::Dense:
      case OpKind::Conv2d:
      {
        torch::Tensor w = from_matrix(node.weight, dtype);
        if (node.kind == OpKind::Conv2d) {
          const Shape& in = net_.nodes[node.inputs[0]].shape;
          w = w.view({node.shape.channels(), in.channels(), node.window.kernel_h, node.window.kernel_w}).contiguous();
        }
        // Buffers, not views of them: Module::to() moves buffers in place.
        weight_[i] = register_buffer(id + "_w", w);
        bias_[i] = register_buffer(id + "_b", from_vector(node.bias, dtype));
        break;
      }
      case OpKind::ElementwiseAffine:
        scale_[i] = register_buffer(id + "_s", from_vector(node.scale, dtype));
        shift_[i] = register_buffer(id + "_t", from_vector(node.shift, dtype));
        break;
      case OpKind::Piecewise:
        // Knots, slopes and offsets (rows: 1 or one per unit).
        weight_[i] = register_buffer(id + "_k", from_matrix(node.knots, dtype));
        bias_[i] = register_buffer(id + "_s", from_matrix(node.piece_slopes, dtype));
        scale_[i] = register_buffer(id + "_o", from_matrix(node.piece_offsets, dtype));
        break;
      case OpKind::MaxPool2d:
      case OpKind::Permute: {
        const std::int64_t in_size = net_.nodes[node.inputs[0]].shape.size();
        // Missing entries read one extra column: -inf for pooling, 0 for permutations.
        index_[i] = register_buffer(id + "_i", from_index(node.kind == OpKind::Permute ? node.index : node.gather, in_size));
        break;
      }
      case OpKind::AvgPool2d: {
        std::vector<std::int64_t> rows, cols;
        std::vector<double> vals;
        for (int r = 0; r < node.pool.outerSize(); ++r)
          for (SparseRowMatrix::InnerIterator it(node.pool, r); it; ++it) {
            rows.push_back(r);
            cols.push_back(it.col());
            vals.push_back(it.value());
          }
        const std::int64_t nnz = static_cast<std::int64_t>(vals.size());
        torch::Tensor idx = torch::stack({torch::tensor(rows, torch::kInt64), torch::tensor(cols, torch::kInt64)});
        if (nnz == 0) idx = torch::zeros({2, 0}, torch::kInt64);
        const torch::Tensor values = torch::tensor(vals, torch::kFloat64).to(dtype);
        pool_[i] = register_buffer(id + "_p", torch::sparse_coo_tensor(idx, values, {node.pool.rows(), node.pool.cols()}).coalesce());
        break;
      }
      default:
        break;
    }
  }
}

torch::Tensor NetworkModule::forward(torch::Tensor x) {
  const std::int64_t batch = x.size(0);
  if (x.numel() != batch * static_cast<std::int64_t>(net_.input_size()))
    throw Error("model " + net_.source + ": expected " + std::to_string(net_.input_size()) + " values per sample");
  std::vector<torch::Tensor> v(net_.nodes.size());
  v[0] = x.reshape({batch, -1}).to(dtype_);
  for (std::size_t i = 1; i < net_.nodes.size(); ++i) {
    const Node& node = net_.nodes[i];
    const torch::Tensor& in = v[node.inputs[0]];
    switch (node.kind) {
      case OpKind::Dense:
        v[i] = torch::nn::functional::linear(in, weight_[i], bias_[i]);
        break;
      case OpKind::Conv2d: {
        const Shape& s = net_.nodes[node.inputs[0]].shape;
        const Window2d& w = node.window;
        torch::Tensor img = in.view({batch, s.channels(), s.height(), s.width()});
        if (w.pad_left || w.pad_right || w.pad_top || w.pad_bottom)
          img = torch::constant_pad_nd(img, {w.pad_left, w.pad_right, w.pad_top, w.pad_bottom}, 0.0);
        const std::vector<std::int64_t> stride{w.stride_h, w.stride_w}, no_pad{0, 0}, dilation{w.dilation_h, w.dilation_w};
        v[i] = torch::conv2d(img, weight_[i], bias_[i], stride, no_pad, dilation).reshape({batch, -1});
        break;
      }
      case OpKind::AvgPool2d:
        v[i] = torch::mm(pool_[i], in.t()).t();
        break;
      case OpKind::MaxPool2d: {
        const torch::Tensor padded = torch::cat({in, torch::full({batch, 1}, -std::numeric_limits<double>::infinity(), in.options())}, 1);
        const std::int64_t window = static_cast<std::int64_t>(node.window.kernel_h) * node.window.kernel_w;
        v[i] = std::get<0>(padded.index_select(1, index_[i]).view({batch, -1, window}).max(2));
        break;
      }
      case OpKind::Relu:
        v[i] = torch::relu(in);
        break;
      case OpKind::LeakyRelu:
        v[i] = torch::leaky_relu(in, node.slope);
        break;
      case OpKind::Piecewise: {
        // Piece 0, then each knot passed switches to the next piece (the
        // core's rule: a unit is past a knot when its input is above it).
        const torch::Tensor &k = weight_[i], &s = bias_[i], &o = scale_[i];
        torch::Tensor y = in * s.select(1, 0) + o.select(1, 0);
        for (int j = 0; j + 1 < node.pieces(); ++j)
          y = torch::where(in > k.select(1, j), in * s.select(1, j + 1) + o.select(1, j + 1), y);
        v[i] = y;
        break;
      }
      case OpKind::Add:
        v[i] = in + v[node.inputs[1]];
        break;
      case OpKind::ElementwiseAffine:
        v[i] = in * scale_[i] + shift_[i];
        break;
      case OpKind::Reshape:
        v[i] = in;
        break;
      case OpKind::Permute:
        v[i] = torch::cat({in, torch::zeros({batch, 1}, in.options())}, 1).index_select(1, index_[i]);
        break;
      case OpKind::Input:
        throw Error("network: a second input node");
    }
  }
  return v.back();
}

}  // namespace tessera::training
