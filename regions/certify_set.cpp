#include "regions/certify_set.hpp"

#include "core/limits.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <optional>

namespace tessera {

namespace {
double median(std::vector<double> v) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}
double mean(const std::vector<double>& v) {
  if (v.empty()) return std::nan("");
  double sum = 0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}
}  // namespace

std::vector<Certificate> certify_set(const Network& net, const Matrix& X, const CertifySetOptions& o) {
  const Eigen::Index N = X.cols();
  std::vector<Certificate> out(N);
  std::vector<char> finished(N, 0);
  std::exception_ptr error;
  std::mutex mutex;
  std::size_t done = 0;
  const int threads = o.threads > 0 ? o.threads : omp_get_max_threads();
  CertifyOptions co = o.certify;
  if (o.cancel) co.traversal.cancel = o.cancel;
  // Two copies at most: the bias-free network and the bounds' |W| of the
  // convolutions (dense weights are not copied).
  check_memory(add_or_neg(net.memory_bytes(), net.memory_bytes()),
               "the bias-free copy of the network and the confidence bounds' weights");
  const Network g = co.bias_free ? Network() : bias_free(net);
  if (!co.bias_free) co.bias_free = &g;
  std::optional<RayBounder> bounder;
  if (!co.bounder && !co.full && !co.limit_only) {
    bounder.emplace(net);
    co.bounder = &*bounder;
  }
  auto cancelled = [&] { return o.cancel && o.cancel->load(std::memory_order_relaxed); };
#pragma omp parallel for schedule(dynamic) num_threads(threads)
  for (Eigen::Index j = 0; j < N; ++j) {
    if (cancelled() || error) continue;
    try {
      out[j] = certify(net, X.col(j), co);
      out[j].input = j;
      // A ray stopped by the cancel flag is not a finished input.
      finished[j] = out[j].stop_reason != "cancelled";
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
    }
    std::lock_guard<std::mutex> lock(mutex);
    ++done;
    if (o.progress) o.progress(done, static_cast<std::size_t>(N));
  }
  if (error) std::rethrow_exception(error);
  if (cancelled()) {
    std::vector<Certificate> kept;
    for (Eigen::Index j = 0; j < N; ++j)
      if (finished[j]) kept.push_back(std::move(out[j]));
    return kept;
  }
  return out;
}

CertifySetSummary summarize(const std::vector<Certificate>& certs) {
  CertifySetSummary s;
  s.count = certs.size();
  std::vector<double> alpha_star, first, first_box, max_box, segments, visited, from_infinity, box, middle;
  std::size_t same = 0;
  double limit_sum = 0;
  for (const Certificate& c : certs) {
    if (c.segments) {
      const std::size_t n = *c.segments;
      segments.push_back(static_cast<double>(n));
      s.max_segments = std::max(s.max_segments, n);
      const size_t bin = static_cast<size_t>(std::floor(std::log2(std::max<double>(1.0, n))));
      if (s.segment_histogram.size() <= bin) s.segment_histogram.resize(bin + 1, 0);
      ++s.segment_histogram[bin];
    }
    visited.push_back(static_cast<double>(c.regions_visited));
    from_infinity.push_back(static_cast<double>(c.regions_from_infinity));
    box.push_back(static_cast<double>(c.regions_box));
    middle.push_back(static_cast<double>(c.regions_middle));
    if (c.first_alpha) first.push_back(*c.first_alpha);
    if (c.first_alpha_in_box) first_box.push_back(*c.first_alpha_in_box);
    if (c.max_confidence_in_box) max_box.push_back(*c.max_confidence_in_box);
    if (c.complete) ++s.complete;
    if (c.alpha_star) alpha_star.push_back(*c.alpha_star);
    if (!c.last_region_found) continue;
    ++s.last_region_found;
    s.ties += c.limit_ties > 1;
    same += c.limit_class == c.predicted_class;
    limit_sum += c.limit_confidence;
    s.max_bias_free_residual = std::max(s.max_bias_free_residual, c.bias_free_residual);
  }
  s.with_alpha_star = alpha_star.size();
  s.median_alpha_star = median(alpha_star);
  s.with_first_alpha = first.size();
  s.median_first_alpha = median(first);
  s.with_first_alpha_in_box = first_box.size();
  s.median_first_alpha_in_box = median(first_box);
  s.median_max_confidence_in_box = median(max_box);
  const double found = static_cast<double>(s.last_region_found);
  s.fraction_limit_is_prediction = s.last_region_found ? static_cast<double>(same) / found : std::nan("");
  s.mean_limit_confidence = s.last_region_found ? limit_sum / found : std::nan("");
  s.with_segments = segments.size();
  s.median_segments = median(segments);
  s.mean_segments = mean(segments);
  s.median_regions_visited = median(visited);
  s.mean_regions_visited = mean(visited);
  s.median_regions_from_infinity = median(from_infinity);
  s.median_regions_box = median(box);
  s.median_regions_middle = median(middle);
  return s;
}

}  // namespace tessera
