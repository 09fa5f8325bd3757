// Certificates for many inputs at once, in parallel, with a summary.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <vector>

#include "core/statistics.hpp"
#include "regions/certificate.hpp"

namespace tessera {

struct CertifySetOptions {
  CertifyOptions certify;
  int threads = 0;  // 0: all cores; negative is refused
  // Called from one thread at a time with (done, total); may be empty.
  std::function<void(std::size_t, std::size_t)> progress;
  // Stops the set: rays in progress stop within a segment, no new input
  // starts; the certificates of the inputs that finished are returned.
  const std::atomic<bool>* cancel = nullptr;
  // Which inputs this process certifies, one index at a time (called from
  // several threads at once; nullopt: no more). A set shared between
  // processes gives each a part this way. Empty: every input. With it, the
  // result holds the inputs handed here that finished, and `complete` says
  // whether all of those did.
  std::function<std::optional<std::size_t>()> next_input;
};

// A summary of certificates that merges exactly (summaries of shards of a
// set, merged, equal the summary of the whole set): counters and
// Distributions (core/statistics.hpp) rather than medians of a list.
struct CertifySetSummary {
  std::size_t count = 0;      // inputs certified
  std::size_t complete = 0;   // of which every field was established
  std::size_t last_region_found = 0;  // of which the last region is known
  std::size_t ties = 0;       // of those, rays whose limit is a tie of classes (limit confidence < 1)
  std::size_t limit_is_prediction = 0;  // of those, limit class = class at alpha = 1
  Distribution limit_confidence;        // over those
  Distribution alpha_star;              // over the certificates with an alpha*
  Distribution first_alpha;             // ... that reach the threshold
  Distribution first_alpha_in_box;      // ... that reach it inside the box
  Distribution max_confidence_in_box;
  // Regions on the whole ray, over the certificates that know it (all of
  // them with the full walk).
  Distribution segments;
  // histogram[i]: inputs whose ray crossed [2^i, 2^(i+1)) segments.
  std::vector<std::size_t> segment_histogram;
  // Regions computed per ray: in all, and by each part of the fast path.
  Distribution regions_visited, regions_from_infinity, regions_box, regions_middle;
  double max_bias_free_residual = 0;
  // With a Laplace model (CertifyOptions::laplace): certificates that have
  // a Laplace result, of which complete, and of those whose limit is known
  // (even if alpha_within is not), how many are below 1 in double precision
  // (1 - limit > 0); over those:
  std::size_t laplace = 0, laplace_complete = 0, laplace_below_one = 0;
  Distribution laplace_limit_confidence, laplace_confidence_at_input, laplace_alpha_within;
  double laplace_max_limit_confidence = 0;
  double laplace_min_one_minus_limit = 1;  // the smallest 1 - limit confidence

  void add(const Certificate& c);
  void merge(const CertifySetSummary& other);
  // For merging the summaries of other processes: read(write(s)) equals s.
  void write(ByteWriter& out) const;
  static CertifySetSummary read(ByteReader& in);
  double fraction_limit_is_prediction() const;  // NaN when no last region was found
};

// What certify_set returns: the certificates of the inputs that finished,
// in input order, and their summary.
struct CertifySetResult {
  std::vector<Certificate> certificates;
  CertifySetSummary summary;
  std::size_t requested = 0;  // inputs given
  bool complete = true;       // every input finished (not stopped by the cancel flag)
  std::string stop_reason;    // "cancelled: K of N inputs finished" when not complete
};

// Column j of X is input j; each certificate's `input` says which. Options
// are checked first (tessera::Error naming the option); errors in one input
// propagate. When cancelled, only the inputs that finished are returned.
CertifySetResult certify_set(const Network& net, const Matrix& X, const CertifySetOptions& options);
CertifySetSummary summarize(const std::vector<Certificate>& certificates);

}  // namespace tessera
