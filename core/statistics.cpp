#include "core/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace tessera {

void Distribution::add(double x) {
  if (!std::isfinite(x)) return;
  min_ = count_ ? std::min(min_, x) : x;
  max_ = count_ ? std::max(max_, x) : x;
  ++count_;
  sum_ += x;
  if (sketched_) {
    ++buckets_[bucket_of(x)];
    return;
  }
  values_.push_back(x);
  sorted_ = sorted_ && (values_.size() < 2 || values_[values_.size() - 2] <= x);
  if (values_.size() > kExactLimit) to_sketch();
}

void Distribution::merge(const Distribution& o) {
  if (o.count_ == 0) return;
  min_ = count_ ? std::min(min_, o.min_) : o.min_;
  max_ = count_ ? std::max(max_, o.max_) : o.max_;
  count_ += o.count_;
  sum_ += o.sum_;
  if (!sketched_ && !o.sketched_ && values_.size() + o.values_.size() <= kExactLimit) {
    values_.insert(values_.end(), o.values_.begin(), o.values_.end());
    sorted_ = false;
    return;
  }
  to_sketch();
  if (o.sketched_) {
    for (const auto& [b, n] : o.buckets_) buckets_[b] += n;
  } else {
    for (double x : o.values_) ++buckets_[bucket_of(x)];
  }
}

double Distribution::mean() const { return count_ ? sum_ / static_cast<double>(count_) : std::nan(""); }
double Distribution::min() const { return count_ ? min_ : std::nan(""); }
double Distribution::max() const { return count_ ? max_ : std::nan(""); }

double Distribution::quantile(double q) const {
  if (count_ == 0) return std::nan("");
  q = std::clamp(q, 0.0, 1.0);
  if (!sketched_) {
    if (!sorted_) {
      std::sort(values_.begin(), values_.end());
      sorted_ = true;
    }
    const double pos = q * static_cast<double>(values_.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, values_.size() - 1);
    const double f = pos - static_cast<double>(lo);
    if (f == 0) return values_[lo];
    if (f == 0.5) return 0.5 * (values_[lo] + values_[hi]);  // the usual median of an even count
    return values_[lo] + f * (values_[hi] - values_[lo]);
  }
  // The bucket holding the order statistic of rank q (count - 1), clamped to
  // the exact extremes.
  const double rank = q * static_cast<double>(count_ - 1);
  std::size_t seen = 0;
  for (const auto& [b, n] : buckets_) {
    seen += n;
    if (static_cast<double>(seen) > rank) return std::clamp(bucket_value(b), min_, max_);
  }
  return max_;
}

void Distribution::to_sketch() {
  if (sketched_) return;
  sketched_ = true;
  for (double x : values_) ++buckets_[bucket_of(x)];
  values_.clear();
  values_.shrink_to_fit();
  sorted_ = true;
}

// The bucket of x: floor(B log2 |x|), offset so that it is positive for
// every double (log2 of the smallest subnormal is -1074), with x's sign; zero
// is bucket 0. Keys sort as the values do.
std::int64_t Distribution::bucket_of(double x) {
  if (x == 0) return 0;
  const double l = std::floor(std::log2(std::fabs(x)) * kBucketsPerOctave);
  const std::int64_t b = static_cast<std::int64_t>(l) + std::int64_t{1100} * kBucketsPerOctave + 1;
  return x > 0 ? b : -b;
}

double Distribution::bucket_value(std::int64_t b) {
  if (b == 0) return 0;
  const std::int64_t m = (b > 0 ? b : -b) - std::int64_t{1100} * kBucketsPerOctave - 1;
  // The geometric middle of the bucket.
  const double v = std::exp2((static_cast<double>(m) + 0.5) / kBucketsPerOctave);
  return b > 0 ? v : -v;
}

}  // namespace tessera
