#include "core/linear_ops.hpp"

#include <algorithm>

#include "core/error.hpp"
#include "core/graph_walker.hpp"

namespace tessera {

namespace {

// Number of samples per im2col block: keeps the column buffer near 4M doubles.
int conv_chunk(std::int64_t rows, std::int64_t positions, std::int64_t batch) {
  const std::int64_t per_sample = std::max<std::int64_t>(1, rows * positions);
  return static_cast<int>(std::clamp<std::int64_t>(4'000'000 / per_sample, 1, batch));
}

// Convolution as im2col + GEMM, a block of samples at a time.
Matrix conv_apply(const Node& n, const Matrix& X) {
  const int P = n.shape.height() * n.shape.width();
  const int R = static_cast<int>(n.weight.cols());
  const int C_out = static_cast<int>(n.weight.rows());
  const int B = static_cast<int>(X.cols());
  Matrix Y(static_cast<Eigen::Index>(C_out) * P, B);
  const int chunk = conv_chunk(R, P, B);
  Matrix cols(R, static_cast<Eigen::Index>(P) * chunk);
  Matrix out;
  for (int b0 = 0; b0 < B; b0 += chunk) {
    const int nb = std::min(chunk, B - b0);
    for (int bb = 0; bb < nb; ++bb) {
      const double* x = X.col(b0 + bb).data();
      for (int p = 0; p < P; ++p) {
        const int* g = &n.gather[static_cast<size_t>(p) * R];
        double* c = cols.col(static_cast<Eigen::Index>(bb) * P + p).data();
        for (int r = 0; r < R; ++r) c[r] = g[r] >= 0 ? x[g[r]] : 0.0;
      }
    }
    out.noalias() = n.weight * cols.leftCols(static_cast<Eigen::Index>(P) * nb);
    for (int bb = 0; bb < nb; ++bb)
      for (int c = 0; c < C_out; ++c)
        Y.col(b0 + bb).segment(static_cast<Eigen::Index>(c) * P, P) =
            out.row(c).segment(static_cast<Eigen::Index>(bb) * P, P).transpose();
  }
  return Y;
}

// Adjoint of the convolution for a few columns whose entries are mostly zero
// (reverse accumulation below max-pool and ReLU layers): for each output
// position, combine only the filters of the channels with a non-zero adjoint,
// and scatter the result through the im2col table.
Matrix conv_apply_transpose_sparse(const Node& n, const Matrix& G, std::int64_t n_in) {
  const int P = n.shape.height() * n.shape.width();
  const int R = static_cast<int>(n.weight.cols());
  const int C_out = static_cast<int>(n.weight.rows());
  Matrix X = Matrix::Zero(n_in, G.cols());
  Vector column(R);
  for (Eigen::Index b = 0; b < G.cols(); ++b) {
    const double* g = G.col(b).data();
    double* x = X.col(b).data();
    for (int p = 0; p < P; ++p) {
      bool any = false;
      for (int c = 0; c < C_out; ++c) {
        const double v = g[static_cast<Eigen::Index>(c) * P + p];
        if (v == 0.0) continue;
        if (any) {
          column.noalias() += v * n.weight_t.col(c);
        } else {
          column.noalias() = v * n.weight_t.col(c);
          any = true;
        }
      }
      if (!any) continue;
      const int* idx = &n.gather[static_cast<size_t>(p) * R];
      for (int r = 0; r < R; ++r)
        if (idx[r] >= 0) x[idx[r]] += column[r];
    }
  }
  return X;
}

Matrix conv_apply_transpose(const Node& n, const Matrix& G, std::int64_t n_in) {
  const int P = n.shape.height() * n.shape.width();
  const int R = static_cast<int>(n.weight.cols());
  const int C_out = static_cast<int>(n.weight.rows());
  const int B = static_cast<int>(G.cols());
  if (B <= 16) {
    const Eigen::Index nonzeros = (G.array() != 0.0).count();
    if (nonzeros * 2 < G.size()) return conv_apply_transpose_sparse(n, G, n_in);
  }
  Matrix X = Matrix::Zero(n_in, B);
  const int chunk = conv_chunk(std::max(R, C_out), P, B);
  Matrix gm(C_out, static_cast<Eigen::Index>(P) * chunk);
  Matrix cols;
  for (int b0 = 0; b0 < B; b0 += chunk) {
    const int nb = std::min(chunk, B - b0);
    for (int bb = 0; bb < nb; ++bb)
      for (int c = 0; c < C_out; ++c)
        gm.row(c).segment(static_cast<Eigen::Index>(bb) * P, P) =
            G.col(b0 + bb).segment(static_cast<Eigen::Index>(c) * P, P).transpose();
    cols.noalias() = n.weight.transpose() * gm.leftCols(static_cast<Eigen::Index>(P) * nb);
    for (int bb = 0; bb < nb; ++bb) {
      double* x = X.col(b0 + bb).data();
      for (int p = 0; p < P; ++p) {
        const int* g = &n.gather[static_cast<size_t>(p) * R];
        const double* c = cols.col(static_cast<Eigen::Index>(bb) * P + p).data();
        for (int r = 0; r < R; ++r)
          if (g[r] >= 0) x[g[r]] += c[r];
      }
    }
  }
  return X;
}

// Y.row(j) = X.row(index[j]), or 0 where index[j] = -1
Matrix gather_rows(const std::vector<int>& index, const Matrix& X) {
  Matrix Y(static_cast<Eigen::Index>(index.size()), X.cols());
  for (Eigen::Index b = 0; b < X.cols(); ++b) {
    const double* x = X.col(b).data();
    double* y = Y.col(b).data();
    for (size_t j = 0; j < index.size(); ++j) y[j] = index[j] >= 0 ? x[index[j]] : 0.0;
  }
  return Y;
}

// Adjoint of gather_rows: X.row(index[j]) += G.row(j)
Matrix scatter_rows(const std::vector<int>& index, const Matrix& G, std::int64_t n_in) {
  Matrix X = Matrix::Zero(n_in, G.cols());
  for (Eigen::Index b = 0; b < G.cols(); ++b) {
    const double* g = G.col(b).data();
    double* x = X.col(b).data();
    for (size_t j = 0; j < index.size(); ++j)
      if (index[j] >= 0) x[index[j]] += g[j];
  }
  return X;
}

// Indices of the rows of X that are not entirely zero. Under a fixed
// pattern, inactive ReLU units and unselected max-pool inputs give zero rows,
// and the products below skip them (the work then scales with the active
// units, not the layer width).
std::vector<Eigen::Index> nonzero_rows(const Matrix& X) {
  std::vector<Eigen::Index> rows;
  rows.reserve(X.rows());
  for (Eigen::Index r = 0; r < X.rows(); ++r)
    if (!X.row(r).isZero(0.0)) rows.push_back(r);
  return rows;
}

// M X restricted to the given rows of X (columns of M), streaming once
// through those columns of M, four at a time, for all columns of X
// together: out.col(k) += X(r, k) * M.col(r). No packing, no gathering; a
// large M is read from memory once, not once per column of X.
Matrix stream_columns(const Matrix& M, const Matrix& X, const std::vector<Eigen::Index>& rows) {
  Matrix out = Matrix::Zero(M.rows(), X.cols());
  size_t i = 0;
  for (; i + 4 <= rows.size(); i += 4) {
    const auto r0 = rows[i], r1 = rows[i + 1], r2 = rows[i + 2], r3 = rows[i + 3];
    for (Eigen::Index k = 0; k < X.cols(); ++k)
      out.col(k) += X(r0, k) * M.col(r0) + X(r1, k) * M.col(r1) + X(r2, k) * M.col(r2) + X(r3, k) * M.col(r3);
  }
  for (; i < rows.size(); ++i)
    for (Eigen::Index k = 0; k < X.cols(); ++k) out.col(k) += X(rows[i], k) * M.col(rows[i]);
  return out;
}

// M X for many columns, skipping the zero rows of X (columns of M) when
// more than a quarter of them are zero: gathered into a dense product.
Matrix gathered_product(const Matrix& M, const Matrix& X, const std::vector<Eigen::Index>& rows) {
  if (rows.size() * 4 > static_cast<size_t>(X.rows()) * 3) return M * X;
  Matrix Mc(M.rows(), static_cast<Eigen::Index>(rows.size())), Xc(static_cast<Eigen::Index>(rows.size()), X.cols());
  for (size_t i = 0; i < rows.size(); ++i) {
    Mc.col(static_cast<Eigen::Index>(i)) = M.col(rows[i]);
    Xc.row(static_cast<Eigen::Index>(i)) = X.row(rows[i]);
  }
  return Mc * Xc;
}

// W X, skipping the zero rows of X (columns of W) when that saves work.
Matrix dense_apply(const Matrix& W, const Matrix& X) {
  if (X.cols() <= 4 && (X.cols() == 1 || W.size() < (1 << 18))) {
    // One column, or a matrix that stays in cache: matrix-vector products.
    Matrix Y(W.rows(), X.cols());
    for (Eigen::Index j = 0; j < X.cols(); ++j) Y.col(j).noalias() = W * X.col(j);
    return Y;
  }
  const std::vector<Eigen::Index> rows = nonzero_rows(X);
  // Few columns (a point and a direction along a line) and a large W (the
  // paper's LeNet: 25 MB): read once, without the rows a ReLU zeroed.
  if (X.cols() <= 4) return stream_columns(W, X, rows);
  return gathered_product(W, X, rows);
}

// W^T G (Wt = W^T), skipping the zero rows of G (rows of W) when that saves
// work.
Matrix dense_apply_transpose(const Matrix& Wt, const Matrix& G) {
  if (G.cols() == 1) return Wt * G.col(0);
  const std::vector<Eigen::Index> rows = nonzero_rows(G);
  // Few columns (reverse accumulation of a classifier's logits): stream
  // once through the active rows of W.
  if (G.cols() <= 16) return stream_columns(Wt, G, rows);
  return gathered_product(Wt, G, rows);
}

const LayerPattern& need_layer(const Node& n, const LayerPattern* layer) {
  if (!layer) throw Error("internal: node '" + n.name + "' needs an activation pattern");
  return *layer;
}

}  // namespace

Matrix apply_linear(const Node& n, const LayerPattern* layer, const Matrix& X) {
  switch (n.kind) {
    case OpKind::Dense: return dense_apply(n.weight, X);
    case OpKind::Conv2d: return conv_apply(n, X);
    case OpKind::AvgPool2d: return n.pool * X;
    case OpKind::ElementwiseAffine: return n.scale.asDiagonal() * X;
    case OpKind::Reshape: return X;
    case OpKind::Permute: return gather_rows(n.index, X);
    case OpKind::MaxPool2d: return gather_rows(need_layer(n, layer).selection, X);
    case OpKind::Relu:
    case OpKind::LeakyRelu:
    case OpKind::Piecewise: return unit_slopes(n, need_layer(n, layer)).asDiagonal() * X;
    case OpKind::Input:
    case OpKind::Add: break;
  }
  throw Error("internal: apply_linear on node '" + n.name + "' of kind " + op_name(n.kind));
}

Matrix apply_linear_transpose(const Node& n, const LayerPattern* layer, const Matrix& G, std::int64_t n_in) {
  switch (n.kind) {
    case OpKind::Dense: return dense_apply_transpose(n.weight_t, G);
    case OpKind::Conv2d: return conv_apply_transpose(n, G, n_in);
    case OpKind::AvgPool2d: return n.pool.transpose() * G;
    case OpKind::ElementwiseAffine: return n.scale.asDiagonal() * G;
    case OpKind::Reshape: return G;
    case OpKind::Permute: return scatter_rows(n.index, G, n_in);
    case OpKind::MaxPool2d: return scatter_rows(need_layer(n, layer).selection, G, n_in);
    case OpKind::Relu:
    case OpKind::LeakyRelu:
    case OpKind::Piecewise: return unit_slopes(n, need_layer(n, layer)).asDiagonal() * G;
    case OpKind::Input:
    case OpKind::Add: break;
  }
  throw Error("internal: apply_linear_transpose on node '" + n.name + "' of kind " + op_name(n.kind));
}

void add_offset(const Node& n, Eigen::Ref<Matrix> Y, const LayerPattern* layer) {
  switch (n.kind) {
    case OpKind::Piecewise: Y.colwise() += unit_offsets(n, need_layer(n, layer)); break;
    case OpKind::Dense: Y.colwise() += n.bias; break;
    case OpKind::Conv2d: {
      const Eigen::Index P = n.shape.height() * n.shape.width();
      for (Eigen::Index c = 0; c < n.bias.size(); ++c) Y.middleRows(c * P, P).array() += n.bias[c];
      break;
    }
    case OpKind::ElementwiseAffine: Y.colwise() += n.shift; break;
    default: break;
  }
}

}  // namespace tessera

namespace tessera {

namespace {
// Each node's layer of `pattern` (nullptr for nodes without one), looked up
// once: a search per node would make deep graphs quadratic.
std::vector<const LayerPattern*> layers_by_node(const ActivationPattern& pattern, int nodes) {
  std::vector<const LayerPattern*> by_node(nodes, nullptr);
  for (const LayerPattern& l : pattern.layers)
    if (l.node >= 0 && l.node < nodes) by_node[l.node] = &l;
  return by_node;
}
}  // namespace

Matrix propagate_fixed(const Network& net, const ActivationPattern& pattern, const Matrix& X, bool with_offsets,
                       const std::vector<char>* keep_mask, std::vector<Matrix>* keep) {
  if (X.rows() != net.input_size())
    throw Error("propagate_fixed: " + std::to_string(X.rows()) + " rows for an input of size " +
                std::to_string(net.input_size()));
  // The one graph walk (core/graph_walker.hpp), the pattern given: each
  // value is freed after its last reader unless kept.
  const WalkPlan plan(net);
  GraphWalk walk(plan, X, 0, with_offsets ? X.cols() : 0, keep ? keep_mask : nullptr, &pattern);
  walk.run_fixed();
  if (keep) {
    keep->assign(net.nodes.size(), Matrix());
    for (size_t i = 0; i < walk.values.size(); ++i)
      if (keep_mask && (*keep_mask)[i]) (*keep)[i] = std::move(walk.values[i]);
    if (keep_mask && keep_mask->back()) return keep->back();
  }
  return std::move(walk.values.back());
}

Vector offset_adjoint(const Node& n, const Matrix& G, const LayerPattern* layer) {
  switch (n.kind) {
    case OpKind::Piecewise: return G.transpose() * unit_offsets(n, need_layer(n, layer));
    case OpKind::Dense: return G.transpose() * n.bias;
    case OpKind::ElementwiseAffine: return G.transpose() * n.shift;
    case OpKind::Conv2d: {
      const Eigen::Index P = n.shape.height() * n.shape.width();
      Vector out = Vector::Zero(G.cols());
      for (Eigen::Index c = 0; c < n.bias.size(); ++c)
        if (n.bias[c] != 0.0) out += n.bias[c] * G.middleRows(c * P, P).colwise().sum().transpose();
      return out;
    }
    default: return Vector::Zero(G.cols());
  }
}

Matrix backpropagate_fixed(const Network& net, const ActivationPattern& pattern, const Matrix& G, Vector* offsets) {
  const int N = static_cast<int>(net.nodes.size());
  if (G.rows() != net.output_size())
    throw Error("backpropagate_fixed: " + std::to_string(G.rows()) + " rows for an output of size " +
                std::to_string(net.output_size()));
  const std::vector<const LayerPattern*> layer = layers_by_node(pattern, N);
  std::vector<Matrix> adjoint(N);
  adjoint[N - 1] = G;
  if (offsets) *offsets = Vector::Zero(G.cols());
  for (int k = N - 1; k >= 1; --k) {
    if (adjoint[k].size() == 0) continue;
    const Node& n = net.nodes[k];
    if (offsets) *offsets += offset_adjoint(n, adjoint[k], layer[k]);
    for (size_t j = 0; j < n.inputs.size(); ++j) {
      const int in = n.inputs[j];
      Matrix contribution = n.kind == OpKind::Add
                                ? adjoint[k]
                                : apply_linear_transpose(n, layer[k], adjoint[k],
                                                         net.nodes[in].shape.size());
      if (adjoint[in].size() == 0)
        adjoint[in] = std::move(contribution);
      else
        adjoint[in] += contribution;
    }
    adjoint[k] = Matrix();
  }
  if (adjoint[0].size() == 0) return Matrix::Zero(net.input_size(), G.cols());
  return std::move(adjoint[0]);
}

}  // namespace tessera
