#include "core/linear_ops.hpp"

#include <omp.h>

#include <algorithm>
#include <array>
#include <exception>
#include <functional>
#include <mutex>
#include <utility>

#include "core/error.hpp"
#include "core/graph_walker.hpp"

namespace tessera {

namespace {

// ---------------------------------------------------------------------------
// Exact double-precision kernels for a few columns (one sample, or the
// output's 10 adjoints): both cores, no packing of large weights, only the
// active rows/columns, thread-local scratch (no page faults per call).

// Below this many multiply-adds one thread is faster than waking a second.
constexpr std::int64_t kParallelWork = 1 << 17;

// Runs body(chunk, worker) over [0, chunks) on OpenMP's threads when the
// work (multiply-adds) is worth it, else on this thread; worker identifies
// the thread (for per-thread accumulators), 0 the caller. Chunks writing
// disjoint outputs are claimed dynamically (a thread that loses its core to
// another process holds up only its chunk); with per-worker accumulators
// (`fixed`), chunk c always goes to the same thread, so that the sum of the
// accumulators, and every result, is the same from run to run.
int chunk_workers() { return std::max(1, omp_get_max_threads()); }

void run_chunks(std::int64_t work, int chunks, const std::function<void(int, int)>& body, bool fixed = false) {
  if (work < kParallelWork || chunks <= 1 || omp_in_parallel() || chunk_workers() == 1) {
    for (int c = 0; c < chunks; ++c) body(c, 0);
    return;
  }
  std::exception_ptr error;
  std::mutex mutex;
  auto one = [&](int c) {
    try {
      body(c, omp_get_thread_num());
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
    }
  };
  const int threads = std::min(chunk_workers(), chunks);
  if (fixed) {
#pragma omp parallel for schedule(static) num_threads(threads)
    for (int c = 0; c < chunks; ++c) one(c);
  } else {
#pragma omp parallel for schedule(dynamic) num_threads(threads)
    for (int c = 0; c < chunks; ++c) one(c);
  }
  if (error) std::rethrow_exception(error);
}

// While alive, Eigen's products on this thread use one thread.
class SingleThreadedEigen {
 public:
  SingleThreadedEigen() : previous_(omp_get_max_threads()) { omp_set_num_threads(1); }
  ~SingleThreadedEigen() { omp_set_num_threads(previous_); }
  SingleThreadedEigen(const SingleThreadedEigen&) = delete;
  SingleThreadedEigen& operator=(const SingleThreadedEigen&) = delete;

 private:
  int previous_;
};

// Chunk c of C of the range [0, n): boundaries on multiples of 8 (whole
// cache lines of doubles).
std::pair<Eigen::Index, Eigen::Index> part(Eigen::Index n, int c, int C) {
  const Eigen::Index step = ((n + C - 1) / C + 7) / 8 * 8;
  return {std::min(n, step * c), std::min(n, step * (c + 1))};
}

// At least n doubles of scratch that live as long as the thread: large
// buffers reused across calls instead of freshly mapped (and page-faulted)
// each time. Contents are unspecified.
double* scratch(int which, size_t n) {
  thread_local std::vector<double> buffers[3];
  std::vector<double>& b = buffers[which];
  if (b.size() < n) b.resize(n);
  return b.data();
}

// Eight doubles (one AVX-512 register, two AVX2 ones, four SSE2 ones in a
// portable build), loaded and stored without alignment. GCC/Clang vector
// extensions; the functions that pass them have internal linkage, so the
// "changes the ABI" note of portable builds does not apply.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif
typedef double Lane8 __attribute__((vector_size(64), aligned(8)));

Lane8 load8(const double* p) { return *reinterpret_cast<const Lane8*>(p); }
void store8(double* p, const Lane8& v) { *reinterpret_cast<Lane8*>(p) = v; }

// out(i, k) += sum_a W(i, cols[a]) Gp[a M + k] for rows i in [i0, i1) (=
// with assign): W and out column-major (leading dimensions ldw, ldo), Gp the
// selected rows of G packed row by row. Blocks of 256 rows (out's block,
// 256 x M, stays in L1); within a block, the selected columns of W eight at
// a time, each read as one contiguous segment (eight sequential streams the
// hardware prefetches), all M columns of out updated from the same loads.
template <int M>
void accumulate_selected(const double* W, Eigen::Index ldw, const Eigen::Index* cols, Eigen::Index na,
                         const double* Gp, double* out, Eigen::Index ldo, Eigen::Index i0, Eigen::Index i1,
                         bool assign) {
  constexpr Eigen::Index IB = 256, TR = 8, NA = 8;
  if (assign)
    for (int k = 0; k < M; ++k)
      for (Eigen::Index i = i0; i < i1; ++i) out[k * ldo + i] = 0.0;
  for (Eigen::Index b0 = i0; b0 < i1; b0 += IB) {
    const Eigen::Index b1 = std::min(i1, b0 + IB);
    const Eigen::Index bv = b0 + (b1 - b0) / TR * TR;  // end of the whole tiles
    Eigen::Index a = 0;
    for (; a + NA <= na; a += NA) {
      const double* w[NA];
      for (int j = 0; j < NA; ++j) w[j] = W + cols[a + j] * ldw;
      const double* g = Gp + a * M;
      for (Eigen::Index i = b0; i < bv; i += TR) {
        Lane8 v[NA];
        for (int j = 0; j < NA; ++j) v[j] = load8(w[j] + i);
        for (int k = 0; k < M; ++k) {
          Lane8 o = load8(out + k * ldo + i);
          for (int j = 0; j < NA; ++j) o += g[j * M + k] * v[j];
          store8(out + k * ldo + i, o);
        }
      }
      for (Eigen::Index i = bv; i < b1; ++i)
        for (int k = 0; k < M; ++k) {
          double o = out[k * ldo + i];
          for (int j = 0; j < NA; ++j) o += g[j * M + k] * w[j][i];
          out[k * ldo + i] = o;
        }
    }
    for (; a < na; ++a) {
      const double* w = W + cols[a] * ldw;
      const double* g = Gp + a * M;
      for (Eigen::Index i = b0; i < bv; i += TR) {
        const Lane8 v = load8(w + i);
        for (int k = 0; k < M; ++k) store8(out + k * ldo + i, load8(out + k * ldo + i) + g[k] * v);
      }
      for (Eigen::Index i = bv; i < b1; ++i)
        for (int k = 0; k < M; ++k) out[k * ldo + i] += g[k] * w[i];
    }
  }
}

// One column: out[i0, i1) += sum_a W(i, cols[a]) g[a], contiguous segments
// of the selected columns, four at a time.
void accumulate_selected_1(const double* W, Eigen::Index ldw, const Eigen::Index* cols, Eigen::Index na,
                           const double* g, double* out, Eigen::Index i0, Eigen::Index i1, bool assign) {
  Eigen::Map<Vector> y(out + i0, i1 - i0);
  if (assign) y.setZero();
  Eigen::Index a = 0;
  for (; a + 4 <= na; a += 4) {
    const double* w0 = W + cols[a] * ldw + i0;
    const double* w1 = W + cols[a + 1] * ldw + i0;
    const double* w2 = W + cols[a + 2] * ldw + i0;
    const double* w3 = W + cols[a + 3] * ldw + i0;
    const double g0 = g[a], g1 = g[a + 1], g2 = g[a + 2], g3 = g[a + 3];
    double* o = y.data();
    for (Eigen::Index i = 0; i < i1 - i0; ++i) o[i] += g0 * w0[i] + g1 * w1[i] + g2 * w2[i] + g3 * w3[i];
  }
  for (; a < na; ++a) y += g[a] * Eigen::Map<const Vector>(W + cols[a] * ldw + i0, i1 - i0);
}

using AccumulateFn = void (*)(const double*, Eigen::Index, const Eigen::Index*, Eigen::Index, const double*,
                              double*, Eigen::Index, Eigen::Index, Eigen::Index, bool);

template <int... Ms>
constexpr std::array<AccumulateFn, sizeof...(Ms)> accumulate_table(std::integer_sequence<int, Ms...>) {
  return {&accumulate_selected<Ms + 1>...};
}

constexpr int kMaxKernelColumns = 16;

// out(:, 0..m) += W(:, cols) Gp for rows [i0, i1) (= with assign),
// m <= kMaxKernelColumns.
void accumulate(const double* W, Eigen::Index ldw, const Eigen::Index* cols, Eigen::Index na, const double* Gp,
                int m, double* out, Eigen::Index ldo, Eigen::Index i0, Eigen::Index i1, bool assign = false) {
  static constexpr auto table = accumulate_table(std::make_integer_sequence<int, kMaxKernelColumns>());
  if (m == 1)
    accumulate_selected_1(W, ldw, cols, na, Gp, out, i0, i1, assign);
  else
    table[m - 1](W, ldw, cols, na, Gp, out, ldo, i0, i1, assign);
}


// W(:, rows) X(rows, :) for the rows of X that are not entirely zero,
// m = X.cols() <= kMaxKernelColumns: both threads on halves of W's rows.
Matrix selected_product(const Matrix& W, const Matrix& X) {
  const Eigen::Index n = X.rows(), m = X.cols();
  std::vector<char> keep(n, 0);
  for (Eigen::Index k = 0; k < m; ++k) {
    const double* x = X.col(k).data();
    for (Eigen::Index r = 0; r < n; ++r) keep[r] |= x[r] != 0.0;
  }
  std::vector<Eigen::Index> rows;
  rows.reserve(n);
  for (Eigen::Index r = 0; r < n; ++r)
    if (keep[r]) rows.push_back(r);
  const Eigen::Index na = static_cast<Eigen::Index>(rows.size());
  std::vector<double> packed(static_cast<size_t>(na * m));
  for (Eigen::Index a = 0; a < na; ++a)
    for (Eigen::Index k = 0; k < m; ++k) packed[a * m + k] = X(rows[a], k);
  Matrix out = Matrix::Zero(W.rows(), m);
  // Blocks of 256 rows of W (at least 16 blocks for large W), claimed by
  // whichever thread is free.
  const int chunks = static_cast<int>(std::min<Eigen::Index>(64, (W.rows() + 255) / 256));
  run_chunks(W.rows() * na * m, chunks, [&](int c, int) {
    const auto [i0, i1] = part(W.rows(), c, chunks);
    accumulate(W.data(), W.rows(), rows.data(), na, packed.data(), static_cast<int>(m), out.data(), out.rows(), i0,
               i1);
  });
  return out;
}


// Number of samples per im2col block: keeps the column buffer near 4M doubles.
int conv_chunk(std::int64_t rows, std::int64_t positions, std::int64_t batch) {
  const std::int64_t per_sample = std::max<std::int64_t>(1, rows * positions);
  return static_cast<int>(std::clamp<std::int64_t>(4'000'000 / per_sample, 1, batch));
}

// Convolution of one sample: Y (P x C_out, the C-H-W layout of the output)
// = im2col(x)^T W^T, the positions split between the threads, each
// gathering its rows of im2col(x)^T (8 positions at a time, so that both
// the gather table and the buffer are read and written in whole lines)
// into thread-local scratch and multiplying straight into Y.
void conv_apply_sample(const Node& n, const double* x, double* y) {
  const Eigen::Index P = n.shape.height() * n.shape.width();
  const Eigen::Index R = n.weight.cols();
  const Eigen::Index C_out = n.weight.rows();
  // Blocks of about 64 positions, claimed by whichever thread is free.
  const int chunks = static_cast<int>(std::max<Eigen::Index>(1, P / 64));
  run_chunks(P * R * C_out, chunks, [&](int chunk, int) {
    const auto [p0, p1] = part(P, chunk, chunks);
    const Eigen::Index np = p1 - p0;
    if (np > 0) {
      double* c = scratch(0, static_cast<size_t>(np * R));
      for (Eigen::Index pb = p0; pb < p1; pb += 8) {
        const Eigen::Index q = std::min<Eigen::Index>(8, p1 - pb);
        const int* g = &n.gather[static_cast<size_t>(pb * R)];
        double* cb = c + (pb - p0);
        for (Eigen::Index r = 0; r < R; ++r)
          for (Eigen::Index j = 0; j < q; ++j) {
            const int idx = g[j * R + r];
            cb[r * np + j] = idx >= 0 ? x[idx] : 0.0;
          }
      }
      // One thread per chunk: Eigen would otherwise start an OpenMP team
      // of its own inside each (its thread count is this thread's
      // OpenMP setting).
      const SingleThreadedEigen single;
      Eigen::Map<Matrix, 0, Eigen::OuterStride<>> Y(y + p0, np, C_out, Eigen::OuterStride<>(P));
      Y.noalias() = Eigen::Map<const Matrix>(c, np, R) * n.weight_t;
    }
  });
}

// Convolution as im2col + GEMM, a block of samples at a time.
Matrix conv_apply(const Node& n, const Matrix& X) {
  const int P = n.shape.height() * n.shape.width();
  const int R = static_cast<int>(n.weight.cols());
  const int C_out = static_cast<int>(n.weight.rows());
  const int B = static_cast<int>(X.cols());
  Matrix Y(static_cast<Eigen::Index>(C_out) * P, B);
  if (B <= 4) {
    for (int b = 0; b < B; ++b) conv_apply_sample(n, X.col(b).data(), Y.col(b).data());
    return Y;
  }
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

// One position of the sparse convolution adjoint, for L lanes of 8 columns:
// for each im2col row r, the m adjoints sum_a W(c_a, r) g_a (g_a the packed
// adjoint row of active channel c_a, padded to 8 L columns) are formed in
// registers, RB rows at a time, and added to row idx[r] of Xt (input index
// by input index, 8 L columns each: one or two vector adds, no scalar
// scatter). Wt is the transposed filter matrix (R x C_out, column-major:
// consecutive im2col rows of one channel are contiguous).
template <int L>
void conv_adjoint_position(const double* Wt, Eigen::Index R, const int* idx, const Eigen::Index* chans,
                           Eigen::Index na, const double* g, double* Xt) {
  constexpr int RB = 16 / L;
  constexpr int S = 8 * L;
  Eigen::Index r = 0;
  for (; r + RB <= R; r += RB) {
    Lane8 acc[RB][L] = {};
    for (Eigen::Index a = 0; a < na; ++a) {
      Lane8 ga[L];
      for (int l = 0; l < L; ++l) ga[l] = load8(g + a * S + 8 * l);
      const double* w = Wt + chans[a] * R + r;
      for (int q = 0; q < RB; ++q) {
        const double wq = w[q];
        for (int l = 0; l < L; ++l) acc[q][l] += wq * ga[l];
      }
    }
    for (int q = 0; q < RB; ++q) {
      const int i = idx[r + q];
      if (i < 0) continue;
      double* x = Xt + static_cast<Eigen::Index>(i) * S;
      for (int l = 0; l < L; ++l) store8(x + 8 * l, load8(x + 8 * l) + acc[q][l]);
    }
  }
  for (; r < R; ++r) {
    Lane8 acc[L] = {};
    for (Eigen::Index a = 0; a < na; ++a) {
      const double wq = Wt[chans[a] * R + r];
      for (int l = 0; l < L; ++l) acc[l] += wq * load8(g + a * S + 8 * l);
    }
    const int i = idx[r];
    if (i < 0) continue;
    double* x = Xt + static_cast<Eigen::Index>(i) * S;
    for (int l = 0; l < L; ++l) store8(x + 8 * l, load8(x + 8 * l) + acc[l]);
  }
}

// Adjoint of the convolution for a few columns (m <= kMaxKernelColumns)
// whose entries are mostly zero (reverse accumulation below max-pool and
// ReLU layers), given nz (C_out x P, row c*P+p set where some column of G
// is non-zero): for each output position, combine only the filters of the
// channels with a non-zero adjoint, all columns at once, and add the result
// through the im2col table into a transposed accumulator (each input's m
// adjoints contiguous). The positions are split between the threads, each
// with its own accumulator.
Matrix conv_transpose_csr(const Node& n, std::int64_t n_in, Eigen::Index m, const std::vector<Eigen::Index>& start,
                          const std::vector<Eigen::Index>& chans, const std::vector<double>& packed);

Matrix conv_apply_transpose_sparse(const Node& n, const Matrix& G, std::int64_t n_in,
                                   const std::vector<char>& nz) {
  const Eigen::Index P = n.shape.height() * n.shape.width();
  const Eigen::Index C_out = n.weight.rows();
  const Eigen::Index m = G.cols();
  const Eigen::Index S = m <= 8 ? 8 : 16;
  // The active channels of each position (CSR), and their adjoints packed
  // row by row in the same order (S doubles each, zero-padded).
  std::vector<Eigen::Index> start(P + 1, 0), chans;
  chans.reserve(nz.size());
  for (Eigen::Index p = 0; p < P; ++p) {
    for (Eigen::Index c = 0; c < C_out; ++c)
      if (nz[c * P + p]) chans.push_back(c);
    start[p + 1] = static_cast<Eigen::Index>(chans.size());
  }
  const Eigen::Index total = static_cast<Eigen::Index>(chans.size());
  std::vector<double> packed(static_cast<size_t>(total * S), 0.0);
  for (Eigen::Index k = 0; k < m; ++k) {
    const double* g = G.col(k).data();
    for (Eigen::Index p = 0; p < P; ++p)
      for (Eigen::Index a = start[p]; a < start[p + 1]; ++a) packed[a * S + k] = g[chans[a] * P + p];
  }
  return conv_transpose_csr(n, n_in, m, start, chans, packed);
}

// The same from the non-zero rows of G only (rows[i] = c*P+p, distinct,
// values.row(i) its adjoints): what reverse accumulation below a max-pool
// and a ReLU hands over without materialising the zero rows.
Matrix conv_apply_transpose_rows(const Node& n, const std::vector<int>& rows, const Matrix& values,
                                 std::int64_t n_in) {
  const Eigen::Index P = n.shape.height() * n.shape.width();
  const Eigen::Index m = values.cols();
  const Eigen::Index S = m <= 8 ? 8 : 16;
  std::vector<Eigen::Index> start(P + 1, 0);
  for (int r : rows) ++start[r % P + 1];
  for (Eigen::Index p = 0; p < P; ++p) start[p + 1] += start[p];
  std::vector<Eigen::Index> fill(start.begin(), start.end() - 1), order(rows.size());
  // Counting sort by position; within a position, channels in ascending
  // order when the rows are (as a max-pool lists them).
  for (size_t i = 0; i < rows.size(); ++i) order[fill[rows[i] % P]++] = static_cast<Eigen::Index>(i);
  std::vector<Eigen::Index> chans(rows.size());
  std::vector<double> packed(rows.size() * static_cast<size_t>(S), 0.0);
  for (size_t a = 0; a < rows.size(); ++a) {
    const Eigen::Index i = order[a];
    chans[a] = rows[i] / P;
    for (Eigen::Index k = 0; k < m; ++k) packed[a * S + k] = values(i, k);
  }
  return conv_transpose_csr(n, n_in, m, start, chans, packed);
}

Matrix conv_transpose_csr(const Node& n, std::int64_t n_in, Eigen::Index m, const std::vector<Eigen::Index>& start,
                          const std::vector<Eigen::Index>& chans, const std::vector<double>& packed) {
  const Eigen::Index P = n.shape.height() * n.shape.width();
  const Eigen::Index R = n.weight.cols();
  const int L = m <= 8 ? 1 : 2;
  const Eigen::Index S = 8 * L;
  const Eigen::Index total = static_cast<Eigen::Index>(chans.size());
  // Chunks of positions with about the same number of active channels, a
  // fixed set of them per thread; each thread adds into its own accumulator
  // (allocated when it takes its first chunk), summed in thread order.
  const int chunks = static_cast<int>(std::clamp<Eigen::Index>(total / 64, 1, 16));
  const int workers = chunk_workers();
  std::vector<std::vector<double>> acc(workers);
  run_chunks(total * R * m, chunks, [&](int chunk, int worker) {
    const Eigen::Index lo = total * chunk / chunks, hi = total * (chunk + 1) / chunks;
    const Eigen::Index p0 = chunk == 0 ? 0 : std::upper_bound(start.begin(), start.end(), lo) - start.begin() - 1;
    const Eigen::Index p1 =
        chunk + 1 == chunks ? P : std::upper_bound(start.begin(), start.end(), hi) - start.begin() - 1;
    if (acc[worker].empty()) acc[worker].assign(static_cast<size_t>(n_in * S), 0.0);
    double* Xt = acc[worker].data();
    for (Eigen::Index p = p0; p < p1; ++p) {
      const Eigen::Index na = start[p + 1] - start[p];
      if (na == 0) continue;
      const int* idx = &n.gather[static_cast<size_t>(p * R)];
      if (L == 1)
        conv_adjoint_position<1>(n.weight_t.data(), R, idx, chans.data() + start[p], na,
                                 packed.data() + start[p] * S, Xt);
      else
        conv_adjoint_position<2>(n.weight_t.data(), R, idx, chans.data() + start[p], na,
                                 packed.data() + start[p] * S, Xt);
    }
  }, /*fixed=*/true);
  if (acc[0].empty()) acc[0].assign(static_cast<size_t>(n_in * S), 0.0);
  Eigen::Map<Matrix> sum(acc[0].data(), S, n_in);
  for (int t = 1; t < workers; ++t)
    if (!acc[t].empty()) sum += Eigen::Map<const Matrix>(acc[t].data(), S, n_in);
  return sum.topRows(m).transpose();
}

Matrix conv_apply_transpose(const Node& n, const Matrix& G, std::int64_t n_in) {
  const int P = n.shape.height() * n.shape.width();
  const int R = static_cast<int>(n.weight.cols());
  const int C_out = static_cast<int>(n.weight.rows());
  const int B = static_cast<int>(G.cols());
  if (B <= kMaxKernelColumns) {
    std::vector<char> nz(static_cast<size_t>(G.rows()), 0);
    for (int b = 0; b < B; ++b) {
      const double* g = G.col(b).data();
      for (Eigen::Index i = 0; i < G.rows(); ++i) nz[i] |= g[i] != 0.0;
    }
    const auto rows = std::count(nz.begin(), nz.end(), 1);
    if (rows * 2 < G.rows()) return conv_apply_transpose_sparse(n, G, n_in, nz);
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

// W X = Wt^T X for one or two columns, as dot products with the rows of W (the
// columns of Wt), blocks of 64 outputs claimed by whichever thread is free.
// Reading W^T, the matrix the reverse pass reads next, leaves it in cache
// for that pass (the MLP's 784 x 256 layer: 1.6 MB, half of the L2).
Matrix dense_apply_rows(const Matrix& Wt, const Matrix& X) {
  const Eigen::Index n_out = Wt.cols();
  Matrix Y(n_out, X.cols());
  const int chunks = static_cast<int>(std::max<Eigen::Index>(1, std::min<Eigen::Index>(64, n_out / 64)));
  run_chunks(Wt.size() * X.cols(), chunks, [&](int c, int) {
    const auto [i0, i1] = part(n_out, c, chunks);
    if (i1 > i0) {
      const SingleThreadedEigen single;
      // Column by column: each column's numbers do not depend on the
      // others (a forward pass and a line's point column agree bit for bit).
      for (Eigen::Index j = 0; j < X.cols(); ++j)
        Y.col(j).segment(i0, i1 - i0).noalias() = Wt.middleCols(i0, i1 - i0).transpose() * X.col(j);
    }
  });
  return Y;
}

// W X, skipping the zero rows of X (columns of W) when that saves work.
Matrix dense_apply(const Matrix& W, const Matrix& X) {
  // Few columns (one sample; a point and a direction along a line): read
  // W once, without the columns a ReLU zeroed, both threads on halves of
  // its rows.
  if (X.cols() <= 4) return selected_product(W, X);
  return gathered_product(W, X, nonzero_rows(X));
}

// W^T G (Wt = W^T), skipping the zero rows of G (rows of W) when that saves
// work.
Matrix dense_apply_transpose(const Matrix& Wt, const Matrix& G) {
  // Few columns (reverse accumulation of a classifier's logits): stream
  // once through the active rows of W, all columns of G in registers.
  if (G.cols() <= kMaxKernelColumns) return selected_product(Wt, G);
  return gathered_product(Wt, G, nonzero_rows(G));
}

const LayerPattern& need_layer(const Node& n, const LayerPattern* layer) {
  if (!layer) throw Error("internal: node '" + n.name + "' needs an activation pattern");
  return *layer;
}

}  // namespace

Matrix apply_linear(const Node& n, const LayerPattern* layer, const Matrix& X) {
  switch (n.kind) {
    case OpKind::Dense:
      // One column and a W^T that stays in cache: read W^T, which the
      // reverse pass reads next. Larger W (LeNet's 25 MB): read only the
      // columns of W that the input does not zero.
      // (Two columns, a line's point and direction, go the same way, so that
      // a line's values equal forward passes bit for bit.)
      return X.cols() <= 2 && n.weight_t.size() == n.weight.size() && n.weight.size() <= (1 << 19)
                 ? dense_apply_rows(n.weight_t, X)
                 : dense_apply(n.weight, X);
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

namespace {

// An adjoint given by its non-zero rows: rows[i] (distinct) holds
// values.row(i), every other row is zero. Below a max-pool (which keeps one
// input of each window) and a ReLU (which zeroes the inactive units) most
// rows are zero; this form hands them to the convolution's adjoint without
// materialising, zeroing or scanning them.
struct RowAdjoint {
  std::vector<int> rows;
  Matrix values;
};

Matrix densify(const RowAdjoint& r, std::int64_t n) {
  Matrix X = Matrix::Zero(n, r.values.cols());
  for (size_t i = 0; i < r.rows.size(); ++i) X.row(r.rows[i]) = r.values.row(static_cast<Eigen::Index>(i));
  return X;
}

bool takes_row_adjoint(OpKind kind) {
  return kind == OpKind::Relu || kind == OpKind::LeakyRelu || kind == OpKind::Piecewise || kind == OpKind::Conv2d;
}

// A max-pool's adjoint as the rows of its input that it selects, when they
// are distinct (windows that overlap may select an input twice) and fewer
// than half of the input; false otherwise.
bool maxpool_row_adjoint(const LayerPattern& l, const Matrix& G, std::int64_t n_in, RowAdjoint& out) {
  std::vector<Eigen::Index> from;
  from.reserve(static_cast<size_t>(G.rows()));
  std::vector<char> taken(static_cast<size_t>(n_in), 0);
  for (Eigen::Index o = 0; o < G.rows(); ++o) {
    bool any = false;
    for (Eigen::Index k = 0; k < G.cols() && !any; ++k) any = G(o, k) != 0.0;
    if (!any) continue;
    const int i = l.selection[o];
    if (i < 0 || taken[i]) return false;
    taken[i] = 1;
    from.push_back(o);
  }
  if (static_cast<std::int64_t>(from.size()) * 2 >= n_in) return false;
  out.rows.resize(from.size());
  out.values.resize(static_cast<Eigen::Index>(from.size()), G.cols());
  for (size_t j = 0; j < from.size(); ++j) {
    out.rows[j] = l.selection[from[j]];
    out.values.row(static_cast<Eigen::Index>(j)) = G.row(from[j]);
  }
  return true;
}

// offset_adjoint for an adjoint given by rows (nodes that take_row_adjoint).
Vector offset_adjoint_rows(const Node& n, const RowAdjoint& r, const LayerPattern* layer) {
  Vector out = Vector::Zero(r.values.cols());
  if (n.kind == OpKind::Piecewise) {
    const Vector o = unit_offsets(n, need_layer(n, layer));
    for (size_t i = 0; i < r.rows.size(); ++i)
      if (o[r.rows[i]] != 0.0) out += o[r.rows[i]] * r.values.row(static_cast<Eigen::Index>(i)).transpose();
  } else if (n.kind == OpKind::Conv2d) {
    const Eigen::Index P = n.shape.height() * n.shape.width();
    for (size_t i = 0; i < r.rows.size(); ++i) {
      const double b = n.bias[r.rows[i] / P];
      if (b != 0.0) out += b * r.values.row(static_cast<Eigen::Index>(i)).transpose();
    }
  }
  return out;
}

}  // namespace

Matrix backpropagate_fixed(const Network& net, const ActivationPattern& pattern, const Matrix& G, Vector* offsets) {
  const int N = static_cast<int>(net.nodes.size());
  if (G.rows() != net.output_size())
    throw Error("backpropagate_fixed: " + std::to_string(G.rows()) + " rows for an output of size " +
                std::to_string(net.output_size()));
  const std::vector<const LayerPattern*> layer = layers_by_node(pattern, N);
  std::vector<Matrix> adjoint(N);
  std::vector<RowAdjoint> sparse(N);
  std::vector<char> is_sparse(N, 0);
  auto empty = [&](int i) { return adjoint[i].size() == 0 && !is_sparse[i]; };
  // Adds a dense contribution to node i's adjoint (densifying a row
  // adjoint it may hold).
  auto add_to = [&](int i, Matrix contribution) {
    if (is_sparse[i]) {
      adjoint[i] = densify(sparse[i], net.nodes[i].shape.size());
      is_sparse[i] = 0;
      sparse[i] = RowAdjoint();
    }
    if (adjoint[i].size() == 0)
      adjoint[i] = std::move(contribution);
    else
      adjoint[i] += contribution;
  };
  adjoint[N - 1] = G;
  if (offsets) *offsets = Vector::Zero(G.cols());
  for (int k = N - 1; k >= 1; --k) {
    if (empty(k)) continue;
    const Node& n = net.nodes[k];
    if (is_sparse[k]) {
      RowAdjoint& r = sparse[k];
      const int in = n.inputs[0];
      if (offsets) *offsets += offset_adjoint_rows(n, r, layer[k]);
      if (n.kind == OpKind::Conv2d) {
        const std::int64_t n_in = net.nodes[in].shape.size();
        add_to(in, conv_apply_transpose_rows(n, r.rows, r.values, n_in));
      } else {
        // Relu, LeakyRelu, Piecewise: scale the rows, drop those a zero
        // slope removes, hand the rest down as rows (or densify when the
        // input already has an adjoint from another reader).
        const Vector s = unit_slopes(n, need_layer(n, layer[k]));
        size_t kept = 0;
        for (size_t i = 0; i < r.rows.size(); ++i) {
          const double si = s[r.rows[i]];
          if (si == 0.0) continue;
          r.rows[kept] = r.rows[i];
          r.values.row(static_cast<Eigen::Index>(kept)) = si * r.values.row(static_cast<Eigen::Index>(i));
          ++kept;
        }
        r.rows.resize(kept);
        r.values.conservativeResize(static_cast<Eigen::Index>(kept), r.values.cols());
        if (empty(in) && takes_row_adjoint(net.nodes[in].kind)) {
          sparse[in] = std::move(r);
          is_sparse[in] = 1;
        } else {
          add_to(in, densify(r, net.nodes[in].shape.size()));
        }
      }
      sparse[k] = RowAdjoint();
      is_sparse[k] = 0;
      continue;
    }
    if (offsets) *offsets += offset_adjoint(n, adjoint[k], layer[k]);
    // Elementwise nodes with one input and no other contribution yet work
    // in place on the adjoint, which is not needed afterwards; a max-pool
    // above a ReLU or convolution hands down the rows it selects.
    if (n.inputs.size() == 1 && empty(n.inputs[0])) {
      const int in = n.inputs[0];
      if (n.kind == OpKind::Reshape) {
        adjoint[in] = std::move(adjoint[k]);
        continue;
      }
      if (n.kind == OpKind::Relu || n.kind == OpKind::LeakyRelu || n.kind == OpKind::Piecewise) {
        const Vector s = unit_slopes(n, need_layer(n, layer[k]));
        adjoint[in] = std::move(adjoint[k]);
        adjoint[in].array().colwise() *= s.array();
        continue;
      }
      if (n.kind == OpKind::MaxPool2d && adjoint[k].cols() <= kMaxKernelColumns &&
          takes_row_adjoint(net.nodes[in].kind) &&
          maxpool_row_adjoint(need_layer(n, layer[k]), adjoint[k], net.nodes[in].shape.size(), sparse[in])) {
        is_sparse[in] = 1;
        adjoint[k] = Matrix();
        continue;
      }
    }
    for (size_t j = 0; j < n.inputs.size(); ++j) {
      const int in = n.inputs[j];
      add_to(in, n.kind == OpKind::Add
                     ? adjoint[k]
                     : apply_linear_transpose(n, layer[k], adjoint[k], net.nodes[in].shape.size()));
    }
    adjoint[k] = Matrix();
  }
  if (is_sparse[0]) return densify(sparse[0], net.input_size());
  if (adjoint[0].size() == 0) return Matrix::Zero(net.input_size(), G.cols());
  return std::move(adjoint[0]);
}

}  // namespace tessera
