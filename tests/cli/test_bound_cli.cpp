// tessera bound: JSON fields, the three methods' order, the argmax input,
// set mode, partial results and one-line errors.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support/run_command.hpp"

namespace {

using Result = tessera::test::CommandResult;

Result run(const std::string& args) {
  return tessera::test::run_command(std::string("cd '") + TESSERA_SOURCE_DIR + "' && '" + TESSERA_EXE + "' " + args,
                                    "bound_cli");
}

void expect_failure(const std::string& args, int status, const std::string& fragment) {
  const Result r = run(args);
  EXPECT_EQ(r.status, status) << args << "\n" << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line: " << r.err;
  EXPECT_NE(r.err.find(fragment), std::string::npos) << args << ": " << r.err;
}

TEST(BoundCli, ExactJsonAndItsArgmaxInputAgreeWithAffine) {
  const std::string argmax = (std::filesystem::temp_directory_path() / "tessera_bound_argmax.txt").string();
  const Result r = run("bound data/models/trained/moons_plain.onnx --box -3:3 --method exact --json --argmax-out " + argmax);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* f : {"upper_bound", "lower_bound", "method", "complete", "argmax_input", "argmax_class", "class_upper",
                        "class_lower", "branches", "leaves", "lps", "certified", "refuted", "threshold"})
    EXPECT_TRUE(j.contains(f)) << f;
  EXPECT_EQ(j["method"], "exact");
  EXPECT_TRUE(j["complete"].get<bool>());
  const double upper = j["upper_bound"], lower = j["lower_bound"];
  EXPECT_LE(upper - lower, 1e-6);
  ASSERT_EQ(j["argmax_input"].size(), 2u);
  // The file holds the same input; affine evaluates it to the lower bound.
  const Result a = run("affine data/models/trained/moons_plain.onnx --input " + argmax + " --json");
  ASSERT_EQ(a.status, 0) << a.err;
  EXPECT_NEAR(nlohmann::json::parse(a.out)["confidence"].get<double>(), lower, 1e-12);
  std::filesystem::remove(argmax);
  // The relaxations are above the exact value.
  for (const char* m : {"crown", "ibp"}) {
    const Result b = run(std::string("bound data/models/trained/moons_plain.onnx --box -3:3 --json --method ") + m);
    ASSERT_EQ(b.status, 0) << b.err;
    EXPECT_GE(nlohmann::json::parse(b.out)["upper_bound"].get<double>(), upper - 1e-12) << m;
  }
}

TEST(BoundCli, AllComparesTheThreeMethodsOnOneBall) {
  const Result r = run("bound data/models/trained/mnist_plain.onnx --noise uniform --count 1 --eps 0.01 --method all --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["methods"].size(), 3u);
  const double ibp = j["methods"][0]["upper_bound"], crown = j["methods"][1]["upper_bound"],
               exact = j["methods"][2]["upper_bound"], lower = j["methods"][2]["lower_bound"];
  EXPECT_EQ(j["methods"][2]["method"], "exact");
  EXPECT_TRUE(j["methods"][2]["complete"].get<bool>());
  EXPECT_LE(lower, exact);
  EXPECT_LE(exact, crown + 1e-12);
  EXPECT_LE(crown, ibp + 1e-12);
  EXPECT_EQ(j["methods"][2]["argmax_input"].size(), 784u);
  // The text report has the three rows and a verdict.
  const Result t = run("bound data/models/trained/mnist_plain.onnx --noise uniform --count 1 --eps 0.01 --method all");
  ASSERT_EQ(t.status, 0) << t.err;
  for (const char* f : {"\nibp ", "\ncrown ", "\nexact ", "REFUTED"}) EXPECT_NE(t.out.find(f), std::string::npos) << f << t.out;
}

TEST(BoundCli, SetsSummariseEveryBox) {
  const Result r = run("bound data/models/trained/mnist_acet.onnx --noise uniform --count 6 --eps 0.01 --json --threshold 0.5");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["bounds"].size(), 6u);
  std::size_t certified = 0;
  for (const auto& b : j["bounds"]) certified += b["upper_bound"].get<double>() < 0.5;
  EXPECT_EQ(j["summary"]["count"].get<std::size_t>(), 6u);
  EXPECT_EQ(j["summary"]["certified"].get<std::size_t>(), certified);
  EXPECT_TRUE(j["set_complete"].get<bool>());
}

TEST(BoundCli, ATimeLimitGivesAMarkedPartialInterval) {
  const Result r = run("bound data/models/trained/mnist_plain.onnx --noise uniform --count 1 --eps 0.05 --method exact "
                       "--json --time-limit 1");
  EXPECT_EQ(r.status, 4) << r.err;
  const auto j = nlohmann::json::parse(r.out);  // a set of one box
  EXPECT_FALSE(j["set_complete"].get<bool>());
  ASSERT_EQ(j["bounds"].size(), 1u);
  const auto& b = j["bounds"][0];
  EXPECT_FALSE(b["complete"].get<bool>());
  EXPECT_NE(b["stop_reason"].get<std::string>().find("time limit"), std::string::npos) << b["stop_reason"];
  // Stopped during the search the upper bound is the largest open one; on a
  // slow (sanitized) build the stop may come before the root bound, and it
  // is then 1. Either way the interval holds.
  EXPECT_LE(b["lower_bound"].get<double>(), b["upper_bound"].get<double>());
}

TEST(BoundCli, BadUsageGivesOneLine) {
  const std::string far = (std::filesystem::temp_directory_path() / "tessera_bound_far.txt").string();
  std::ofstream(far) << "5 0.5\n";
  expect_failure("bound data/models/toy2d.onnx --input " + far + " --box 0:1 --eps 0.1", 1,
                 "value 0 = 5 lies more than --eps 0.1 outside the domain");
  std::filesystem::remove(far);
  expect_failure("bound data/models/toy2d.onnx --input data/inputs/toy2d_point.txt", 2, "give --eps");
  expect_failure("bound data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --eps -1", 1, "--eps must be");
  expect_failure("bound data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --eps 0.1 --method lp", 1,
                 "expected ibp, crown, exact or all");
  expect_failure("bound data/models/toy2d.onnx --box 0:1 --eps 0.1", 2, "--eps needs centres");
  expect_failure("bound data/models/toy2d.onnx", 2, "give --input FILE or --noise KIND with --eps E");
  expect_failure("bound data/models/toy2d.onnx --noise uniform --count 3 --eps 0.1 --method all", 2, "one box");
  expect_failure("bound data/models/toy2d.onnx --box 0:1 --time-per-input 0", 1, "--time-per-input");
  expect_failure("bound data/models/toy2d.onnx --box 0:1 --tolerance 0", 1, "--tolerance");
  expect_failure("bound data/models/toy2d.onnx --box 0:1 --argmax-out /nonexistent/dir/x.txt", 1, "does not exist");
}

}  // namespace
