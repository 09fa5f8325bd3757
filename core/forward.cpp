#include "core/forward.hpp"

#include <cstdio>

#include <cmath>

#include "core/error.hpp"
#include "core/linear_ops.hpp"
#include "core/tolerances.hpp"

namespace tessera {

void check_input(const Vector& x, int size, const std::string& what) {
  if (x.size() != size)
    throw Error(what + ": has " + std::to_string(x.size()) + " values but the network expects " +
                std::to_string(size));
  for (Eigen::Index i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]))
      throw Error(what + ": value " + std::to_string(i) + " is " + (std::isnan(x[i]) ? "NaN" : "Inf"));
    if (std::abs(x[i]) > tol::kMaxAbsParameter)
    {
      char v[32];
      std::snprintf(v, sizeof v, "%.6g", x[i]);
      throw Error(what + ": value " + std::to_string(i) + " (" + v + ") is too large (limit 1e150)");
    }
  }
}

ForwardPass forward_pass(const Network& net, const Vector& x, const std::string& what) {
  check_input(x, net.input_size(), what);
  ForwardPass fp;
  fp.pattern = empty_pattern(net);
  const int N = static_cast<int>(net.nodes.size());
  fp.values.resize(N);
  fp.values[0] = x;
  size_t layer_index = 0;
  for (int k = 1; k < N; ++k) {
    const Node& n = net.nodes[k];
    const Vector& in = fp.values[n.inputs[0]];
    Vector& out = fp.values[k];
    switch (n.kind) {
      case OpKind::Relu:
      case OpKind::LeakyRelu: {
        LayerPattern& l = fp.pattern.layers[layer_index++];
        const double off = n.kind == OpKind::LeakyRelu ? n.slope : 0.0;
        out.resize(in.size());
        for (Eigen::Index i = 0; i < in.size(); ++i) {
          // Σ: active iff pre-activation > 0 (tolerances.hpp).
          if (in[i] > tol::kActiveThreshold) {
            l.set_active(static_cast<int>(i));
            out[i] = in[i];
          } else {
            out[i] = off * in[i];
          }
        }
        break;
      }
      case OpKind::Piecewise: {
        LayerPattern& l = fp.pattern.layers[layer_index++];
        out.resize(in.size());
        for (Eigen::Index i = 0; i < in.size(); ++i) {
          const int k = n.piece_at(i, in[i]);
          l.pieces[i] = static_cast<std::uint8_t>(k);
          out[i] = n.piece_slope(i, k) * in[i] + n.piece_offset(i, k);
        }
        break;
      }
      case OpKind::MaxPool2d: {
        LayerPattern& l = fp.pattern.layers[layer_index++];
        const int K = n.window.kernel_h * n.window.kernel_w;
        out.resize(n.shape.size());
        for (int o = 0; o < l.size; ++o) {
          // The first window element (row-major) attaining the maximum.
          int best = -1;
          for (int k2 = 0; k2 < K; ++k2) {
            const int idx = n.gather[static_cast<size_t>(o) * K + k2];
            if (idx >= 0 && (best < 0 || in[idx] > in[best])) best = idx;
          }
          l.selection[o] = best;
          out[o] = in[best];
        }
        break;
      }
      case OpKind::Add: out = in + fp.values[n.inputs[1]]; break;
      default: {
        Matrix y = apply_linear(n, nullptr, in);
        add_offset(n, y);
        out = y.col(0);
      }
    }
  }
  return fp;
}

Vector logits(const Network& net, const Vector& x) { return forward_pass(net, x).logits(); }

ActivationPattern activation_pattern(const Network& net, const Vector& x) { return forward_pass(net, x).pattern; }

Vector softmax(const Vector& z) {
  const double m = z.maxCoeff();
  if (std::isinf(m) && m > 0) {
    // Overflowed logits: the infinite ones share everything.
    Vector p = (z.array() == m).cast<double>();
    return p / p.sum();
  }
  Vector e = (z.array() - m).exp();
  return e / e.sum();
}

double log_max_confidence(const Vector& z) {
  const double m = z.maxCoeff();
  return -std::log((z.array() - m).exp().sum());
}

}  // namespace tessera
