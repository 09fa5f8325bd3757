// Out-of-distribution detection metrics with the maximum softmax probability
// as the score; in-distribution points are the positives. Definitions (also
// in docs/user-guide.md):
//   MMC      mean of max_k p_k(x) over a set;
//   AUROC    P(s_in > s_out) + P(s_in = s_out) / 2 (ties count half);
//   FPR@95   fraction of out-distribution points with s >= the 5th percentile
//            of the in-distribution scores (linear interpolation between
//            order statistics, as numpy.percentile), i.e. the false-positive
//            rate at a threshold keeping 95 % of the in-distribution;
//   AUPR-In  average precision with in-distribution positive, score s;
//   AUPR-Out average precision with out-distribution positive, score -s;
//            average precision = sum over distinct thresholds of
//            (R_k - R_{k-1}) P_k (scikit-learn's definition).
// Torch-free, so they are easy to test by hand.
#pragma once

#include <vector>

namespace tessera::training {

double mean(const std::vector<double>& v);
double auroc(const std::vector<double>& in, const std::vector<double>& out);
double percentile(std::vector<double> v, double p);  // p in [0, 100], numpy's linear rule
double fpr_at_95(const std::vector<double>& in, const std::vector<double>& out);
double average_precision(const std::vector<double>& positive, const std::vector<double>& negative);
double aupr_in(const std::vector<double>& in, const std::vector<double>& out);
double aupr_out(const std::vector<double>& in, const std::vector<double>& out);

// ROC curve points (FPR, TPR) from (0,0) to (1,1), one per distinct threshold.
std::vector<std::pair<double, double>> roc_curve(const std::vector<double>& in, const std::vector<double>& out);

}  // namespace tessera::training
