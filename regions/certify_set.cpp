#include "regions/certify_set.hpp"

#include "core/bytes.hpp"
#include "core/error.hpp"

#include "core/limits.hpp"

#include <omp.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <optional>

namespace tessera {


CertifySetResult certify_set(const Network& net, const Matrix& X, const CertifySetOptions& o) {
  if (o.threads < 0) throw Error("certify: threads must be 0 (all cores) or a positive number");
  if (X.rows() != net.input_size())
    throw Error("certify: the inputs have " + std::to_string(X.rows()) + " values each; the network takes " +
                std::to_string(net.input_size()));
  const Eigen::Index N = X.cols();
  std::vector<Certificate> out(N);
  std::vector<char> finished(N, 0);
  std::exception_ptr error;
  std::atomic<bool> failed{false};
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
  std::atomic<std::size_t> counter{0};
  const auto next = [&]() -> std::optional<std::size_t> {
    if (o.next_input) return o.next_input();
    const std::size_t j = counter.fetch_add(1);
    return j < static_cast<std::size_t>(N) ? std::optional<std::size_t>(j) : std::nullopt;
  };
  std::vector<char> handed(N, 0);
#pragma omp parallel num_threads(threads)
  while (!cancelled() && !failed.load()) {
    std::optional<std::size_t> next_j;
    try {
      next_j = next();
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
      failed = true;
      break;
    }
    if (!next_j) break;
    const auto j = static_cast<Eigen::Index>(*next_j);
    if (j < 0 || j >= N) continue;
    handed[j] = 1;
    try {
      out[j] = certify(net, X.col(j), co);
      out[j].input = j;
      // A ray stopped by the cancel flag is not a finished input.
      finished[j] = out[j].stop_reason != "cancelled";
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex);
      if (!error) error = std::current_exception();
      failed = true;
    }
    std::lock_guard<std::mutex> lock(mutex);
    ++done;
    if (o.progress) o.progress(done, static_cast<std::size_t>(N));
  }
  if (error) std::rethrow_exception(error);
  CertifySetResult r;
  r.requested = static_cast<std::size_t>(N);
  std::size_t given = 0;
  for (Eigen::Index j = 0; j < N; ++j) {
    given += handed[j];
    if (finished[j]) r.certificates.push_back(std::move(out[j]));
  }
  r.complete = r.certificates.size() == given && (o.next_input || given == r.requested);
  if (!r.complete)
    r.stop_reason = "cancelled: " + std::to_string(r.certificates.size()) + " of " + std::to_string(N) +
                    " inputs finished";
  r.summary = summarize(r.certificates);
  return r;
}

void CertifySetSummary::add(const Certificate& c) {
  ++count;
  if (c.segments) {
    const std::size_t n = *c.segments;
    segments.add(static_cast<double>(n));
    const size_t bin = static_cast<size_t>(std::floor(std::log2(std::max<double>(1.0, n))));
    if (segment_histogram.size() <= bin) segment_histogram.resize(bin + 1, 0);
    ++segment_histogram[bin];
  }
  regions_visited.add(static_cast<double>(c.regions_visited));
  regions_from_infinity.add(static_cast<double>(c.regions_from_infinity));
  regions_box.add(static_cast<double>(c.regions_box));
  regions_middle.add(static_cast<double>(c.regions_middle));
  if (c.first_alpha) first_alpha.add(*c.first_alpha);
  if (c.first_alpha_in_box) first_alpha_in_box.add(*c.first_alpha_in_box);
  if (c.max_confidence_in_box) max_confidence_in_box.add(*c.max_confidence_in_box);
  if (c.complete) ++complete;
  if (c.alpha_star) alpha_star.add(*c.alpha_star);
  if (c.laplace) {
    ++laplace;
    const LaplaceCertificate& l = *c.laplace;
    laplace_complete += l.complete;
    if (l.limit_probabilities.size()) {  // the limit is known (alpha_within may not be)
      laplace_below_one += l.one_minus_limit_confidence > 0;
      laplace_limit_confidence.add(l.limit_confidence);
      laplace_confidence_at_input.add(l.confidence_at_input);
      if (l.alpha_within) laplace_alpha_within.add(*l.alpha_within);
      laplace_max_limit_confidence = std::max(laplace_max_limit_confidence, l.limit_confidence);
      laplace_min_one_minus_limit = std::min(laplace_min_one_minus_limit, l.one_minus_limit_confidence);
    }
  }
  if (!c.last_region_found) return;
  ++last_region_found;
  ties += c.limit_ties > 1;
  limit_is_prediction += c.limit_class == c.predicted_class;
  limit_confidence.add(c.limit_confidence);
  max_bias_free_residual = std::max(max_bias_free_residual, c.bias_free_residual);
}

void CertifySetSummary::merge(const CertifySetSummary& o) {
  count += o.count;
  complete += o.complete;
  last_region_found += o.last_region_found;
  ties += o.ties;
  limit_is_prediction += o.limit_is_prediction;
  limit_confidence.merge(o.limit_confidence);
  alpha_star.merge(o.alpha_star);
  first_alpha.merge(o.first_alpha);
  first_alpha_in_box.merge(o.first_alpha_in_box);
  max_confidence_in_box.merge(o.max_confidence_in_box);
  segments.merge(o.segments);
  if (segment_histogram.size() < o.segment_histogram.size()) segment_histogram.resize(o.segment_histogram.size(), 0);
  for (size_t i = 0; i < o.segment_histogram.size(); ++i) segment_histogram[i] += o.segment_histogram[i];
  regions_visited.merge(o.regions_visited);
  regions_from_infinity.merge(o.regions_from_infinity);
  regions_box.merge(o.regions_box);
  regions_middle.merge(o.regions_middle);
  max_bias_free_residual = std::max(max_bias_free_residual, o.max_bias_free_residual);
  laplace += o.laplace;
  laplace_complete += o.laplace_complete;
  laplace_below_one += o.laplace_below_one;
  laplace_limit_confidence.merge(o.laplace_limit_confidence);
  laplace_confidence_at_input.merge(o.laplace_confidence_at_input);
  laplace_alpha_within.merge(o.laplace_alpha_within);
  laplace_max_limit_confidence = std::max(laplace_max_limit_confidence, o.laplace_max_limit_confidence);
  laplace_min_one_minus_limit = std::min(laplace_min_one_minus_limit, o.laplace_min_one_minus_limit);
}

void CertifySetSummary::write(ByteWriter& w) const {
  for (std::size_t v : {count, complete, last_region_found, ties, limit_is_prediction, laplace, laplace_complete,
                        laplace_below_one})
    w.put<std::uint64_t>(v);
  for (const Distribution* d : {&limit_confidence, &alpha_star, &first_alpha, &first_alpha_in_box, &max_confidence_in_box,
                                &segments, &regions_visited, &regions_from_infinity, &regions_box, &regions_middle,
                                &laplace_limit_confidence, &laplace_confidence_at_input, &laplace_alpha_within})
    d->write(w);
  std::vector<std::uint64_t> histogram(segment_histogram.begin(), segment_histogram.end());
  w.put_vector(histogram);
  for (double v : {max_bias_free_residual, laplace_max_limit_confidence, laplace_min_one_minus_limit}) w.put(v);
}

CertifySetSummary CertifySetSummary::read(ByteReader& in) {
  CertifySetSummary s;
  for (std::size_t* v : {&s.count, &s.complete, &s.last_region_found, &s.ties, &s.limit_is_prediction, &s.laplace,
                         &s.laplace_complete, &s.laplace_below_one})
    *v = in.get<std::uint64_t>();
  for (Distribution* d : {&s.limit_confidence, &s.alpha_star, &s.first_alpha, &s.first_alpha_in_box,
                          &s.max_confidence_in_box, &s.segments, &s.regions_visited, &s.regions_from_infinity,
                          &s.regions_box, &s.regions_middle, &s.laplace_limit_confidence,
                          &s.laplace_confidence_at_input, &s.laplace_alpha_within})
    *d = Distribution::read(in);
  const auto histogram = in.get_vector<std::uint64_t>();
  s.segment_histogram.assign(histogram.begin(), histogram.end());
  for (double* v : {&s.max_bias_free_residual, &s.laplace_max_limit_confidence, &s.laplace_min_one_minus_limit})
    *v = in.get<double>();
  return s;
}

double CertifySetSummary::fraction_limit_is_prediction() const {
  return last_region_found ? static_cast<double>(limit_is_prediction) / static_cast<double>(last_region_found)
                           : std::nan("");
}

CertifySetSummary summarize(const std::vector<Certificate>& certs) {
  CertifySetSummary s;
  for (const Certificate& c : certs) s.add(c);
  return s;
}

}  // namespace tessera
