#include "training/metrics.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "core/error.hpp"

namespace tessera::training {
namespace {

void check(const std::vector<double>& v, const char* what) {
  if (v.empty()) throw Error(std::string(what) + ": the set is empty");
  for (double x : v)
    if (!std::isfinite(x)) throw Error(std::string(what) + ": a score is not finite");
}

// (score, is_positive) sorted by descending score.
std::vector<std::pair<double, bool>> ranked(const std::vector<double>& pos, const std::vector<double>& neg) {
  std::vector<std::pair<double, bool>> all;
  all.reserve(pos.size() + neg.size());
  for (double s : pos) all.emplace_back(s, true);
  for (double s : neg) all.emplace_back(s, false);
  std::sort(all.begin(), all.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  return all;
}

}  // namespace

double mean(const std::vector<double>& v) {
  check(v, "mean");
  return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}

double auroc(const std::vector<double>& in, const std::vector<double>& out) {
  check(in, "AUROC (in-distribution)");
  check(out, "AUROC (out-distribution)");
  // Mann-Whitney U with average ranks for ties.
  std::vector<std::pair<double, bool>> all = ranked(in, out);
  std::reverse(all.begin(), all.end());  // ascending
  double rank_sum = 0;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) ++j;
    const double avg_rank = 0.5 * (static_cast<double>(i + 1) + static_cast<double>(j));
    for (std::size_t k = i; k < j; ++k)
      if (all[k].second) rank_sum += avg_rank;
    i = j;
  }
  const double np = static_cast<double>(in.size()), nn = static_cast<double>(out.size());
  return (rank_sum - np * (np + 1) / 2) / (np * nn);
}

double percentile(std::vector<double> v, double p) {
  check(v, "percentile");
  std::sort(v.begin(), v.end());
  const double pos = p / 100.0 * static_cast<double>(v.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(std::floor(pos));
  const std::size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

double fpr_at_95(const std::vector<double>& in, const std::vector<double>& out) {
  check(out, "FPR@95 (out-distribution)");
  const double t = percentile(in, 5.0);
  const auto above = std::count_if(out.begin(), out.end(), [t](double s) { return s >= t; });
  return static_cast<double>(above) / static_cast<double>(out.size());
}

double average_precision(const std::vector<double>& positive, const std::vector<double>& negative) {
  check(positive, "AUPR (positives)");
  check(negative, "AUPR (negatives)");
  const auto all = ranked(positive, negative);
  double tp = 0, fp = 0, ap = 0, last_recall = 0;
  const double np = static_cast<double>(positive.size());
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) {
      (all[j].second ? tp : fp) += 1;
      ++j;
    }
    const double recall = tp / np, precision = tp / (tp + fp);
    ap += (recall - last_recall) * precision;
    last_recall = recall;
    i = j;
  }
  return ap;
}

double aupr_in(const std::vector<double>& in, const std::vector<double>& out) { return average_precision(in, out); }

double aupr_out(const std::vector<double>& in, const std::vector<double>& out) {
  std::vector<double> neg_in(in.size()), neg_out(out.size());
  std::transform(in.begin(), in.end(), neg_in.begin(), [](double s) { return -s; });
  std::transform(out.begin(), out.end(), neg_out.begin(), [](double s) { return -s; });
  return average_precision(neg_out, neg_in);
}

std::vector<std::pair<double, double>> roc_curve(const std::vector<double>& in, const std::vector<double>& out) {
  check(in, "ROC (in-distribution)");
  check(out, "ROC (out-distribution)");
  const auto all = ranked(in, out);
  std::vector<std::pair<double, double>> curve{{0.0, 0.0}};
  double tp = 0, fp = 0;
  for (std::size_t i = 0; i < all.size();) {
    std::size_t j = i;
    while (j < all.size() && all[j].first == all[i].first) {
      (all[j].second ? tp : fp) += 1;
      ++j;
    }
    curve.emplace_back(fp / static_cast<double>(out.size()), tp / static_cast<double>(in.size()));
    i = j;
  }
  return curve;
}

}  // namespace tessera::training
