// Certificates for many inputs at once, in parallel, with a summary.
#pragma once

#include <atomic>
#include <functional>
#include <vector>

#include "regions/certificate.hpp"

namespace tessera {

struct CertifySetOptions {
  CertifyOptions certify;
  int threads = 0;  // 0: all cores
  // Called from one thread at a time with (done, total); may be empty.
  std::function<void(std::size_t, std::size_t)> progress;
  // Stops the set: rays in progress stop within a segment, no new input
  // starts; the certificates of the inputs that finished are returned.
  const std::atomic<bool>* cancel = nullptr;
};

struct CertifySetSummary {
  std::size_t count = 0;      // inputs certified
  std::size_t complete = 0;   // of which every field was established
  std::size_t last_region_found = 0;  // of which the last region is known
  std::size_t ties = 0;       // of those, rays whose limit is a tie of classes (limit confidence < 1)
  std::size_t with_alpha_star = 0;
  double median_alpha_star = 0;   // over those with an alpha*
  std::size_t with_first_alpha = 0;
  double median_first_alpha = 0;
  std::size_t with_first_alpha_in_box = 0;  // reach the threshold inside the box
  double median_first_alpha_in_box = 0;
  double median_max_confidence_in_box = 0;
  double fraction_limit_is_prediction = 0;  // limit class = class at alpha = 1
  double mean_limit_confidence = 0;
  // Regions on the whole ray, over the certificates that know it (all of
  // them with the full walk).
  std::size_t with_segments = 0;
  double median_segments = 0, mean_segments = 0;
  std::size_t max_segments = 0;
  // histogram[i]: inputs whose ray crossed [2^i, 2^(i+1)) segments.
  std::vector<std::size_t> segment_histogram;
  // Regions computed per ray: in all, and by each part of the fast path.
  double median_regions_visited = 0, mean_regions_visited = 0;
  double median_regions_from_infinity = 0, median_regions_box = 0, median_regions_middle = 0;
  double max_bias_free_residual = 0;
};

// Column j of X is input j; each certificate's `input` says which. Errors in
// one input (tessera::Error) propagate. When cancelled, only the inputs
// that finished are returned (in input order): fewer than X.cols().
std::vector<Certificate> certify_set(const Network& net, const Matrix& X, const CertifySetOptions& options);
CertifySetSummary summarize(const std::vector<Certificate>& certificates);

}  // namespace tessera
