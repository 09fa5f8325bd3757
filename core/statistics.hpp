// Summaries of sets of numbers that merge exactly: two shards summarised
// apart and merged give the same summary as the whole set summarised at once
// (ready for sharding a certify or eval set over processes).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

namespace tessera {

class ByteWriter;
class ByteReader;

// The exact sum of finite doubles, kept as a fixed-point number wide enough
// for every double (a "superaccumulator": 32-bit digits in 64-bit words, from
// 2^-1127 up to 2^1177). Addition is exact, so the sum does not depend on the
// order of the terms nor on how they were split into shards and merged, and
// value() is the sum correctly rounded to a double. Non-finite terms are the caller's to filter.
class ExactSum {
 public:
  void add(double x);
  void merge(const ExactSum& other);
  double value() const;
  void write(ByteWriter& out) const;
  static ExactSum read(ByteReader& in);
  bool operator==(const ExactSum& other) const;

 private:
  static constexpr int kDigits = 72;  // 32 bits each
  static constexpr int kOffset = 1127;  // bit 0 of digit 0 weighs 2^-kOffset
  using Digits = std::array<std::int64_t, kDigits>;
  // Carries: every digit into [0, 2^32) but the last, which keeps the sign.
  // The const members normalise a copy, so they are safe to call from
  // several threads at once.
  static Digits normalized(Digits d);
  Digits digits_{};
  std::uint32_t pending_ = 0;  // additions since the last normalisation
};

// Count, sum, min, max and quantiles of a set of finite numbers. Up to
// kExactLimit values are kept, so quantiles are exact (the median of an even
// count is the mean of the two middle values); beyond that the values move
// into a histogram of logarithmic buckets (kBucketsPerOctave per factor of
// two, relative error of a quantile below 2^(1/kBucketsPerOctave) - 1,
// about 0.5 %), and merging stays exact on the histogram. The sum is exact
// (ExactSum), so the mean, like every other field, is the same however the
// set was split and merged. NaN and ±Inf are not counted.
class Distribution {
 public:
  static constexpr std::size_t kExactLimit = std::size_t{1} << 16;
  static constexpr int kBucketsPerOctave = 128;

  void add(double x);
  void merge(const Distribution& other);

  std::size_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  double sum() const { return sum_.value(); }
  double mean() const;  // NaN when empty
  double min() const;   // NaN when empty
  double max() const;   // NaN when empty
  // The q-quantile (0 <= q <= 1; linear interpolation between order
  // statistics while exact); NaN when empty.
  double quantile(double q) const;
  double median() const { return quantile(0.5); }
  bool exact() const { return !sketched_; }

  // For sending a Distribution to another process: read(write(d)) is d.
  void write(ByteWriter& out) const;
  static Distribution read(ByteReader& in);

 private:
  void to_sketch();
  static std::int64_t bucket_of(double x);
  static double bucket_value(std::int64_t b);

  std::size_t count_ = 0;
  ExactSum sum_;
  double min_ = 0, max_ = 0;
  bool sketched_ = false;
  mutable std::vector<double> values_;  // while exact (sorted lazily)
  mutable bool sorted_ = true;
  std::map<std::int64_t, std::size_t> buckets_;  // when sketched: signed log buckets, 0 for zero
};

}  // namespace tessera
