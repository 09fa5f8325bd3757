// Evaluation: metrics against hand-computed cases, the table formats, the
// torch execution of any Network against the core, and evaluate() itself.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>
#include <random>
#include <regex>
#include <set>

#include "core/error.hpp"
#include "io/file_util.hpp"
#include "core/forward.hpp"
#include "io/onnx_io.hpp"
#include "regions/certificate.hpp"
#include "tests/support/random_networks.hpp"
#include "training/dataset.hpp"
#include "training/eval_table.hpp"
#include "training/evaluation.hpp"
#include "training/metrics.hpp"
#include "training/network_module.hpp"

namespace fs = std::filesystem;
using namespace tessera;
using namespace tessera::training;

namespace {

template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

std::string temp_dir(const std::string& name) {
  const fs::path p = fs::temp_directory_path() / ("tessera_eval_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

}  // namespace

TEST(Metrics, AurocHandCases) {
  EXPECT_DOUBLE_EQ(auroc({0.9, 0.8, 0.7}, {0.1, 0.2}), 1.0);
  EXPECT_DOUBLE_EQ(auroc({0.1, 0.2}, {0.9, 0.8, 0.7}), 0.0);
  EXPECT_DOUBLE_EQ(auroc({0.5, 0.5, 0.5}, {0.5, 0.5}), 0.5);  // all tied
  // Pairs (in, out): (1,2) lost, (1,0) won, (2,2) tie, (2,0) won -> 2.5 / 4.
  EXPECT_DOUBLE_EQ(auroc({1, 2}, {2, 0}), 0.625);
  // Identical sets: 0.5 whatever the values.
  EXPECT_DOUBLE_EQ(auroc({0.1, 0.4, 0.3, 0.9}, {0.9, 0.3, 0.1, 0.4}), 0.5);
  EXPECT_NE(error_of([] { auroc({}, {1.0}); }).find("empty"), std::string::npos);
}

TEST(Metrics, PercentileAndFprAt95OnAKnownDistribution) {
  std::vector<double> in(100), out(100);
  for (int i = 0; i < 100; ++i) in[i] = out[i] = i;
  // numpy.percentile(range(100), 5) = 4.95: values >= 4.95 are 5..99.
  EXPECT_DOUBLE_EQ(percentile(in, 5), 4.95);
  EXPECT_DOUBLE_EQ(percentile(in, 0), 0);
  EXPECT_DOUBLE_EQ(percentile(in, 100), 99);
  EXPECT_DOUBLE_EQ(percentile({3, 1, 2}, 50), 2);
  EXPECT_DOUBLE_EQ(percentile({1, 2}, 25), 1.25);
  EXPECT_DOUBLE_EQ(fpr_at_95(in, out), 0.95);
  // Out-distribution entirely below the threshold / above it.
  EXPECT_DOUBLE_EQ(fpr_at_95(in, {0, 1, 2, 3, 4}), 0.0);
  EXPECT_DOUBLE_EQ(fpr_at_95(in, {50, 60}), 1.0);
  // Ties at the threshold count as false positives (>=).
  EXPECT_DOUBLE_EQ(fpr_at_95({1, 1, 1, 1}, {1, 0}), 0.5);
}

TEST(Metrics, AveragePrecisionHandCases) {
  EXPECT_DOUBLE_EQ(aupr_in({3, 2}, {1}), 1.0);
  EXPECT_DOUBLE_EQ(aupr_in({1}, {2}), 0.5);   // one negative first, then the positive at precision 1/2
  EXPECT_DOUBLE_EQ(aupr_in({1}, {1}), 0.5);   // a tie: one threshold, precision 1/2
  // in {3, 1}, out {2}: thresholds 3 (R 1/2, P 1), 2 (R 1/2, P 1/2), 1 (R 1, P 2/3).
  EXPECT_DOUBLE_EQ(aupr_in({3, 1}, {2}), 0.5 * 1 + 0.5 * (2.0 / 3));
  // AUPR-Out swaps the roles and the sign of the score.
  EXPECT_DOUBLE_EQ(aupr_out({3, 1}, {2}), average_precision({-2}, {-3, -1}));
  EXPECT_DOUBLE_EQ(aupr_out({0.9}, {0.1, 0.2}), 1.0);
}

TEST(Metrics, RocCurveRunsFromCornerToCorner) {
  const auto c = roc_curve({0.9, 0.5, 0.5, 0.2}, {0.5, 0.1, 0.3});
  ASSERT_GE(c.size(), 3u);
  EXPECT_EQ(c.front(), std::make_pair(0.0, 0.0));
  EXPECT_EQ(c.back(), std::make_pair(1.0, 1.0));
  for (std::size_t i = 1; i < c.size(); ++i) {
    EXPECT_GE(c[i].first, c[i - 1].first);
    EXPECT_GE(c[i].second, c[i - 1].second);
  }
  // The trapezoid area under the curve is the AUROC (ties as diagonal steps).
  double area = 0;
  for (std::size_t i = 1; i < c.size(); ++i) area += (c[i].first - c[i - 1].first) * 0.5 * (c[i].second + c[i - 1].second);
  EXPECT_NEAR(area, auroc({0.9, 0.5, 0.5, 0.2}, {0.5, 0.1, 0.3}), 1e-15);
}

TEST(EvalTable, FormatsParseBackToTheSameNumbers) {
  EvalTable t;
  t.data = "mnist";
  t.data_label = "MNIST";
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (const char* name : {"plain", "ceda", "acet"}) {
    ModelEvaluation m;
    m.name = name;
    m.path = std::string("models/") + name + ".onnx";
    m.test_error = u(rng) * 0.1;
    m.in_mmc = u(rng);
    m.test_count = 1996;
    for (const char* o : {"fmnist", "uniform", "adv-samples", "far-test:inf"}) {
      OutDistributionResult r;
      r.name = o;
      r.label = std::string(o) == "far-test:inf" ? "α→∞ · test" : o;
      r.count = std::string(o) == "adv-samples" && std::string(name) == "acet" ? 0 : 1000;
      if (r.count) {
        r.mmc = u(rng);
        r.auroc = u(rng);
        r.fpr95 = u(rng);
        r.aupr_in = u(rng);
        r.aupr_out = u(rng);
      }
      m.outs.push_back(r);
    }
    t.models.push_back(m);
  }
  // The fields: a row without points has no metrics; scores are not stored.
  const nlohmann::json j = to_json(t);
  EXPECT_EQ(j.size(), 4u);
  EXPECT_EQ(j["models"][0].size(), 6u);
  for (const auto& o : j["models"][0]["out_distributions"]) EXPECT_EQ(o.size(), o["count"].get<int>() > 0 ? 8u : 3u) << o;
  const EvalTable from_json = table_from_json(nlohmann::json::parse(to_json(t).dump()));
  const EvalTable from_csv = table_from_csv(to_csv(t));
  for (const EvalTable* back : {&from_json, &from_csv}) {
    ASSERT_EQ(back->models.size(), 3u);
    EXPECT_EQ(back->data, "mnist");
    for (std::size_t i = 0; i < 3; ++i) {
      EXPECT_EQ(back->models[i].name, t.models[i].name);
      EXPECT_EQ(back->models[i].test_error, t.models[i].test_error);
      EXPECT_EQ(back->models[i].in_mmc, t.models[i].in_mmc);
      EXPECT_EQ(back->models[i].test_count, 1996);
      ASSERT_EQ(back->models[i].outs.size(), 4u);
      for (std::size_t j = 0; j < 4; ++j) {
        const auto &a = back->models[i].outs[j], &b = t.models[i].outs[j];
        EXPECT_EQ(a.name, b.name);
        EXPECT_EQ(a.label, b.label);
        EXPECT_EQ(a.count, b.count);
        EXPECT_EQ(a.mmc, b.mmc);
        EXPECT_EQ(a.auroc, b.auroc);
        EXPECT_EQ(a.fpr95, b.fpr95);
        EXPECT_EQ(a.aupr_in, b.aupr_in);
        EXPECT_EQ(a.aupr_out, b.aupr_out);
      }
    }
  }
  // Markdown: the Table 1 block, three decimals, "n/a" where nothing was scored.
  const std::string md = to_markdown(t);
  std::istringstream lines(md);
  std::string line;
  std::vector<std::vector<std::string>> rows;
  while (std::getline(lines, line) && !line.empty()) {
    std::vector<std::string> cells;
    std::stringstream ss(line.substr(1));
    std::string cell;
    while (std::getline(ss, cell, '|')) cells.push_back(std::regex_replace(cell, std::regex("^ +| +$"), ""));
    rows.push_back(cells);
  }
  ASSERT_EQ(rows.size(), 4u + 4u);  // heading, rule, sub-heading, in-distribution, four rows
  char te[32];
  std::snprintf(te, sizeof te, "plain (TE: %.2f%%)", 100 * t.models[0].test_error);
  EXPECT_EQ(rows[0][1], te);
  EXPECT_EQ(rows[2][1], "MMC");
  EXPECT_EQ(rows[3][1], std::to_string(t.models[0].in_mmc).substr(0, 5).size() ? rows[3][1] : "");
  EXPECT_NEAR(std::stod(rows[3][1]), t.models[0].in_mmc, 5e-4);
  for (std::size_t j = 0; j < 4; ++j)
    for (std::size_t i = 0; i < 3; ++i) {
      const auto& o = t.models[i].outs[j];
      const auto& r = rows[4 + j];
      EXPECT_EQ(r[0], t.models[0].outs[j].label);
      if (o.count == 0) {
        EXPECT_EQ(r[1 + 3 * i], "n/a");
        continue;
      }
      EXPECT_NEAR(std::stod(r[1 + 3 * i]), o.mmc, 5e-4);
      EXPECT_NEAR(std::stod(r[2 + 3 * i]), o.auroc, 5e-4);
      EXPECT_NEAR(std::stod(r[3 + 3 * i]), o.fpr95, 5e-4);
      EXPECT_EQ(r[1 + 3 * i].size(), 5u) << "three decimals";
    }
}

// The torch execution of a Network computes what the core computes, on
// networks of every node kind.
TEST(NetworkModule, MatchesTheCoreOnEveryNodeKind) {
  SeededRandom rng(42);
  const auto nets = test::random_networks_of_every_kind(17);
  std::set<OpKind> kinds;
  for (const auto& n : nets)
    for (const Node& node : n.net.nodes) kinds.insert(node.kind);
  EXPECT_EQ(kinds.size(), 12u) << "every node kind is covered";
  for (const auto& [name, net] : nets) {
    NetworkModule module(net, torch::kFloat64);
    std::vector<Vector> xs;
    for (int i = 0; i < 5; ++i) xs.push_back(test::random_input(net, rng));
    torch::Tensor batch = torch::empty({5, net.input_size()}, torch::kFloat64);
    for (int i = 0; i < 5; ++i)
      for (int j = 0; j < net.input_size(); ++j) batch[i][j] = xs[i][j];
    const torch::Tensor out = module.forward(batch).contiguous();
    for (int i = 0; i < 5; ++i) {
      const Vector want = logits(net, xs[i]);
      const Vector got = Eigen::Map<const Vector>(out[i].data_ptr<double>(), out.size(1));
      EXPECT_LT(test::relative_error(got, want), 1e-12) << name;
      EXPECT_GT(want.cwiseAbs().maxCoeff(), 0.0) << name;
    }
    // Gradients flow to the input (what the attacks need).
    torch::Tensor x = batch.clone().requires_grad_(true);
    module.forward(x).sum().backward();
    EXPECT_TRUE(x.grad().defined()) << name;
  }
}

class Evaluate : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = temp_dir("evaluate");
    for (int i = 0; i < 2; ++i) {
      Network net = random_mlp(2, {12, 12}, 2, 100 + i);
      paths_.push_back(dir_ + "/m" + std::to_string(i) + ".onnx");
      save_onnx(net, paths_.back());
    }
    opts_.data = "moons";
    opts_.data_options.synthetic_train = 100;
    opts_.data_options.synthetic_test = 80;
    opts_.count = 60;
    opts_.device = "cpu";
    opts_.adv_noise.steps = 10;
    opts_.adv_samples.steps = 10;
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string dir_;
  std::vector<std::string> paths_;
  EvalOptions opts_;
};

TEST_F(Evaluate, FarAwayRowsAreTheCoresNumbersAndTheLimitIsTheCertificate) {
  opts_.out_distributions = {"uniform", "far-test:10", "far-test:inf", "far-noise:1000", "adv-noise", "adv-samples"};
  const EvalTable t = evaluate(paths_, {"a", "b"}, opts_);
  ASSERT_TRUE(t.complete);
  ASSERT_EQ(t.models.size(), 2u);
  DataOptions d = opts_.data_options;
  const Dataset data = load_dataset("moons", d);
  const Network net = load_onnx(paths_[0]);
  const ModelEvaluation& m = t.models[0];
  EXPECT_EQ(m.name, "a");
  EXPECT_EQ(m.test_count, 80);
  ASSERT_EQ(m.outs.size(), 6u);
  // Test error and in-distribution scores from the core.
  int wrong = 0;
  for (int i = 0; i < 80; ++i) {
    const Vector x = Eigen::Vector2d(data.test_x[i][0].item<double>(), data.test_x[i][1].item<double>());
    const Vector l = logits(net, x);
    Eigen::Index k;
    l.maxCoeff(&k);
    wrong += k != data.test_y[i].item<std::int64_t>();
    EXPECT_NEAR(m.in_scores[i], softmax(l).maxCoeff(), 1e-12);
    if (i < 60) {
      EXPECT_NEAR(m.outs[1].scores[i], softmax(logits(net, (10.0 * x).eval())).maxCoeff(), 1e-12);
      const Certificate c = certify(net, x, CertifyOptions{});
      EXPECT_EQ(m.outs[2].scores[i], c.limit_confidence);
    }
  }
  EXPECT_NEAR(m.test_error, wrong / 80.0, 1e-12);
  EXPECT_EQ(m.outs[0].count, 60);
  EXPECT_EQ(m.outs[3].label, "1000 · uniform");
  // The attack raises the confidence of the noise it starts from.
  EXPECT_GE(m.outs[4].mmc, m.outs[0].mmc - 0.02);
  // Adversarial samples: only misclassified ones, at most count.
  EXPECT_LE(m.outs[5].count, 60);
  EXPECT_NEAR(m.outs[2].auroc, auroc(m.in_scores, m.outs[2].scores), 0);
}

TEST_F(Evaluate, BadCallsAreRefusedWithAReason) {
  save_onnx(random_mlp(3, {4}, 2, 9), dir_ + "/three.onnx");
  EXPECT_NE(error_of([&] { evaluate({paths_[0], dir_ + "/three.onnx"}, {}, opts_); }).find("different shapes"), std::string::npos);
  EXPECT_NE(error_of([&] { evaluate({dir_ + "/three.onnx"}, {}, opts_); }).find("takes inputs of shape 3"), std::string::npos);
  EXPECT_NE(error_of([&] { evaluate(paths_, {"only-one"}, opts_); }).find("--names"), std::string::npos);
  EXPECT_NE(error_of([&] { evaluate({}, {}, opts_); }).find("no model"), std::string::npos);
  opts_.out_distributions = {"cifar"};
  EXPECT_NE(error_of([&] { evaluate(paths_, {}, opts_); }).find("unknown out-distribution 'cifar'"), std::string::npos);
  opts_.out_distributions = {"far-test:-3"};
  EXPECT_NE(error_of([&] { evaluate(paths_, {}, opts_); }).find("positive number"), std::string::npos);
  // An IDX file whose items have another size.
  write_idx_images(dir_ + "/img.idx", torch::zeros({3, 1, 5, 5}, torch::kUInt8));
  opts_.out_distributions = {"file:" + dir_ + "/img.idx"};
  EXPECT_NE(error_of([&] { evaluate(paths_, {}, opts_); }).find("hold 25 values"), std::string::npos);
  opts_.count = 0;
  EXPECT_NE(error_of([&] { evaluate(paths_, {}, opts_); }).find("--count"), std::string::npos);
}

// evaluate() draws each row's points and attacks from the seed and the row
// alone, so models evaluated apart and merged give the joint run's table,
// score for score (what `tessera eval --merge` relies on).
TEST_F(Evaluate, ModelsEvaluatedApartMergeIntoTheJointTable) {
  opts_.out_distributions = {"uniform", "noise", "adv-noise", "adv-samples", "far-test:10", "far-noise:inf"};
  const EvalTable joint = evaluate(paths_, {"a", "b"}, opts_);
  const EvalTable a = evaluate({paths_[0]}, {"a"}, opts_), b = evaluate({paths_[1]}, {"b"}, opts_);
  const EvalTable merged = merge_tables({a, b}, {"a.json", "b.json"});
  ASSERT_TRUE(joint.complete);
  EXPECT_EQ(to_json(merged), to_json(joint));
  EXPECT_EQ(merged.settings["count"], 60);
  ASSERT_EQ(merged.models.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(merged.models[i].in_scores, joint.models[i].in_scores);
    for (std::size_t r = 0; r < joint.models[i].outs.size(); ++r)
      EXPECT_EQ(merged.models[i].outs[r].scores, joint.models[i].outs[r].scores) << joint.models[i].outs[r].name;
  }
  // The two models differ, so the comparison above can fail.
  EXPECT_NE(joint.models[0].in_scores, joint.models[1].in_scores);
  EXPECT_EQ(merged.settings["device"], "cpu");
  // Two runs of one model merge under new names, not under the same one.
  EXPECT_EQ(merge_tables({a, a}, {"a.json", "a2.json"}, {"x", "y"}).models[1].name, "y");
  EXPECT_NE(error_of([&] { merge_tables({a, a}, {"a.json", "a2.json"}); }).find("rename the columns with --names"), std::string::npos);
  EXPECT_NE(error_of([&] { merge_tables({a, a}, {"a.json", "a2.json"}, {"x", "x"}); }).find("--names gives the name 'x' twice"),
            std::string::npos);
  // Another seed draws other points: those tables do not merge.
  EvalOptions other_seed = opts_;
  other_seed.seed = 2;
  const EvalTable c = evaluate({paths_[1]}, {"c"}, other_seed);
  EXPECT_NE(error_of([&] { merge_tables({a, c}, {"a.json", "c.json"}); }).find("c.json was evaluated with other settings than a.json: /seed is 2"),
            std::string::npos);
  // Other data behind the same name and counts (here a larger training
  // pool for the permuted noise): the fingerprints tell.
  EvalOptions other_data = opts_;
  other_data.data_options.synthetic_train = 120;
  const EvalTable d = evaluate({paths_[1]}, {"d"}, other_data);
  EXPECT_NE(error_of([&] { merge_tables({a, d}, {"a.json", "d.json"}); }).find("d.json was evaluated on other data than a.json under the same names (the points of 'pool' differ"), std::string::npos);

  // The paper's evaluation (whole batches of 128, noise batch by batch,
  // adversarial noise from that noise, its PGD start) merges the same way.
  apply_paper_evaluation(opts_);
  opts_.data_options.synthetic_test = 300;  // two whole batches
  opts_.adv_noise.steps = opts_.adv_samples.steps = 5;
  const EvalTable pj = evaluate(paths_, {"a", "b"}, opts_);
  const EvalTable pm = merge_tables({evaluate({paths_[0]}, {"a"}, opts_), evaluate({paths_[1]}, {"b"}, opts_)}, {"a", "b"});
  EXPECT_EQ(pj.models[0].test_count, 256);
  EXPECT_EQ(pj.settings["adv_noise_start"], "noise");
  EXPECT_EQ(to_json(pm), to_json(pj));
  for (std::size_t i = 0; i < 2; ++i)
    for (std::size_t r = 0; r < pj.models[i].outs.size(); ++r)
      EXPECT_EQ(pm.models[i].outs[r].scores, pj.models[i].outs[r].scores) << pj.models[i].outs[r].name;
}

TEST(EvalTableMerge, RefusesTablesThatWereNotEvaluatedAlike) {
  const auto table = [](const std::string& model, int uniform_count, int adv_count) {
    EvalTable t;
    t.data = "mnist";
    t.data_label = "MNIST";
    t.settings = {{"seed", 1}, {"count", 1000}};
    ModelEvaluation m;
    m.name = model;
    m.test_count = 1996;
    for (const auto& [name, count] : std::vector<std::pair<std::string, int>>{{"uniform", uniform_count}, {"adv-samples", adv_count}}) {
      OutDistributionResult r;
      r.name = r.label = name;
      r.count = count;
      m.outs.push_back(r);
    }
    t.models.push_back(m);
    return t;
  };
  // Adversarial samples count per model; every other row must agree.
  EXPECT_EQ(merge_tables({table("a", 1000, 17), table("b", 1000, 400)}, {"x", "y"}).models.size(), 2u);
  const auto refused = [](std::vector<EvalTable> ts) { return error_of([&] { merge_tables(ts, {"x.json", "y.json"}); }); };
  EXPECT_NE(refused({table("a", 1000, 1), table("b", 999, 1)}).find("y.json scores 999 points in the row uniform but x.json 1000"),
            std::string::npos);
  EXPECT_NE(refused({table("a", 1000, 1), table("a", 1000, 1)}).find("'a' is in x.json and in y.json: rename the columns with --names"),
            std::string::npos);
  EvalTable partial = table("b", 1000, 1);
  partial.complete = false;
  EXPECT_NE(refused({table("a", 1000, 1), partial}).find("y.json holds a partial table"), std::string::npos);
  EvalTable old = table("b", 1000, 1);
  old.settings = nlohmann::json();
  EXPECT_NE(refused({table("a", 1000, 1), old}).find("y.json does not record the evaluation's settings"), std::string::npos);
  EvalTable other = table("b", 1000, 1);
  other.data = "fmnist";
  EXPECT_NE(refused({table("a", 1000, 1), other}).find("y.json evaluates on fmnist but x.json on mnist"), std::string::npos);
  EvalTable rows = table("b", 1000, 1);
  rows.models[0].outs.pop_back();
  EXPECT_NE(refused({table("a", 1000, 1), rows}).find("y.json has the rows uniform but x.json uniform,adv-samples"), std::string::npos);
  EvalTable tests = table("b", 1000, 1);
  tests.models[0].test_count = 10;
  EXPECT_NE(refused({table("a", 1000, 1), tests}).find("y.json scores 10 test points but x.json 1996"), std::string::npos);
  EvalTable count = table("b", 1000, 1);
  count.settings["count"] = 500;
  EXPECT_NE(refused({table("a", 1000, 1), count}).find("/count is 500 there, 1000 in x.json"), std::string::npos);
  EXPECT_NE(error_of([] { merge_tables({}, {}); }).find("no evaluation to merge"), std::string::npos);
  // Settings survive the JSON round trip (absent in older files).
  const EvalTable back = table_from_json(to_json(table("a", 1000, 1)));
  EXPECT_EQ(back.settings, table("a", 1000, 1).settings);
  nlohmann::json j = to_json(table("a", 1000, 1));
  j.erase("settings");
  EXPECT_TRUE(table_from_json(j).settings.is_null());
}

TEST_F(Evaluate, StopsEarlyWithAPartialTable) {
  std::atomic<bool> stop{true};
  opts_.should_stop = [&] { return stop.load(); };
  opts_.out_distributions = {"uniform"};
  const EvalTable t = evaluate(paths_, {}, opts_);
  EXPECT_FALSE(t.complete);
  EXPECT_EQ(t.stop_reason, kStopRequested);
  EXPECT_LT(t.models.size(), 2u);
}
