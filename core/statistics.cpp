#include "core/statistics.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/bytes.hpp"

namespace tessera {

namespace {
// GCC's and Clang's 128-bit integers (__extension__: not ISO C++).
__extension__ typedef unsigned __int128 Uint128;
}  // namespace

void ExactSum::add(double x) {
  if (x == 0 || !std::isfinite(x)) return;
  int e = 0;
  const double f = std::frexp(x, &e);  // x = f 2^e, 1/2 <= |f| < 1
  const auto m = static_cast<std::int64_t>(std::ldexp(f, 53));  // exact: |m| < 2^53
  const int q = e - 53 + kOffset;  // m's last bit weighs 2^(q - kOffset); q >= 1 for every double
  const int k = q / 32;
  const Uint128 v = static_cast<Uint128>(m < 0 ? -m : m) << (q % 32);  // below 2^85
  const std::int64_t mask = 0xffffffff;
  const std::int64_t d[3] = {static_cast<std::int64_t>(v) & mask, static_cast<std::int64_t>(v >> 32) & mask,
                             static_cast<std::int64_t>(v >> 64)};
  for (int i = 0; i < 3; ++i) digits_[k + i] += m < 0 ? -d[i] : d[i];
  // Each digit moves by less than 2^32 per term: normalise long before 2^63.
  if (++pending_ >= (1u << 30)) {
    digits_ = normalized(digits_);
    pending_ = 0;
  }
}

ExactSum::Digits ExactSum::normalized(Digits d) {
  for (int k = 0; k + 1 < kDigits; ++k) {
    const std::int64_t low = d[k] & 0xffffffff;  // the residue mod 2^32, in [0, 2^32)
    const std::int64_t carry = (d[k] - low) / (std::int64_t{1} << 32);  // exact
    d[k] = low;
    d[k + 1] += carry;
  }
  return d;
}

void ExactSum::merge(const ExactSum& o) {
  digits_ = normalized(digits_);
  const Digits other = normalized(o.digits_);
  for (int k = 0; k < kDigits; ++k) digits_[k] += other[k];
  digits_ = normalized(digits_);
  pending_ = 0;
}

bool ExactSum::operator==(const ExactSum& o) const { return normalized(digits_) == normalized(o.digits_); }

double ExactSum::value() const {
  Digits a = normalized(digits_);
  const bool negative = a[kDigits - 1] < 0;
  if (negative) {
    for (auto& d : a) d = -d;
    a = normalized(a);
  }
  int top = kDigits - 1;
  while (top >= 0 && a[top] == 0) --top;
  if (top < 0) return 0.0;
  // The top three digits (at least 65 significant bits) and a sticky bit for
  // everything below: one correctly rounded conversion.
  const int low = std::max(top - 2, 0);
  Uint128 v = 0;
  for (int k = top; k >= low; --k) v = (v << 32) | static_cast<std::uint64_t>(a[k]);
  bool sticky = false;
  for (int k = 0; k < low; ++k) sticky = sticky || a[k] != 0;
  if (sticky) v |= 1;
  const double r = std::ldexp(static_cast<double>(v), 32 * low - kOffset);
  return negative ? -r : r;
}

void ExactSum::write(ByteWriter& out) const {
  const Digits d = normalized(digits_);
  int first = 0, last = kDigits - 1;
  while (first < kDigits && d[first] == 0) ++first;
  while (last >= first && d[last] == 0) --last;
  out.put<std::int32_t>(first);
  out.put<std::int32_t>(last);
  for (int k = first; k <= last; ++k) out.put(d[k]);
}

ExactSum ExactSum::read(ByteReader& in) {
  ExactSum s;
  const auto first = in.get<std::int32_t>();
  const auto last = in.get<std::int32_t>();
  if (first < 0 || first > kDigits || last >= kDigits || last < first - 1)
    throw Error("a summary received from another process is malformed (sum digits)");
  for (int k = first; k <= last; ++k) s.digits_[k] = in.get<std::int64_t>();
  return s;
}

void Distribution::add(double x) {
  if (!std::isfinite(x)) return;
  min_ = count_ ? std::min(min_, x) : x;
  max_ = count_ ? std::max(max_, x) : x;
  ++count_;
  sum_.add(x);
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
  sum_.merge(o.sum_);
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

double Distribution::mean() const { return count_ ? sum_.value() / static_cast<double>(count_) : std::nan(""); }
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

void Distribution::write(ByteWriter& out) const {
  out.put<std::uint64_t>(count_);
  sum_.write(out);
  out.put(min_);
  out.put(max_);
  out.put<std::uint8_t>(sketched_);
  out.put_vector(values_);
  out.put<std::uint64_t>(buckets_.size());
  for (const auto& [b, n] : buckets_) {
    out.put(b);
    out.put<std::uint64_t>(n);
  }
}

Distribution Distribution::read(ByteReader& in) {
  Distribution d;
  d.count_ = in.get<std::uint64_t>();
  d.sum_ = ExactSum::read(in);
  d.min_ = in.get<double>();
  d.max_ = in.get<double>();
  d.sketched_ = in.get<std::uint8_t>() != 0;
  d.values_ = in.get_vector<double>();
  d.sorted_ = std::is_sorted(d.values_.begin(), d.values_.end());
  const auto buckets = in.get<std::uint64_t>();
  std::uint64_t counted = 0;
  for (std::uint64_t i = 0; i < buckets; ++i) {
    const auto b = in.get<std::int64_t>();
    const auto n = in.get<std::uint64_t>();
    d.buckets_[b] += n;
    counted += n;
  }
  if ((d.sketched_ ? counted : d.values_.size()) != d.count_ || (d.sketched_ && !d.values_.empty()))
    throw Error("a summary received from another process is malformed (distribution counts)");
  return d;
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
