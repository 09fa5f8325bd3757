// End-to-end tests of the `tessera` executable: exit statuses, one-line
// errors, JSON that scripts can rely on.
#include <gtest/gtest.h>

#include "tests/support/run_command.hpp"
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <nlohmann/json.hpp>

#include "core/affine_map.hpp"
#include "core/forward.hpp"
#include "io/input_io.hpp"
#include "io/onnx_io.hpp"

namespace {

using Result = tessera::test::CommandResult;

// Runs `tessera ARGS` from the source tree; captures stdout and stderr.
Result run(const std::string& args) {
  return tessera::test::run_command(std::string("cd '") + TESSERA_SOURCE_DIR + "' && '" + TESSERA_EXE + "' " + args, "cli");
}

// Runs a shell command from the source tree with stderr merged into stdout:
// (exit status, output).
std::pair<int, std::string> run_shell(const std::string& command) {
  const std::string cmd = std::string("cd '") + TESSERA_SOURCE_DIR + "' && " + command + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  const int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

// One line on stderr containing every fragment; the given exit status.
void expect_failure(const std::string& args, int status, const std::vector<std::string>& fragments) {
  const Result r = run(args);
  EXPECT_EQ(r.status, status) << args << "\n" << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << "not one line: " << r.err;
  for (const auto& f : fragments) EXPECT_NE(r.err.find(f), std::string::npos) << args << ": " << r.err;
}

const char* kModels[] = {"toy2d", "toy2d_leaky", "mnist_mlp", "mnist_cnn"};

TEST(Cli, InfoWorksOnEveryExampleModel) {
  for (const char* m : kModels) {
    const Result r = run(std::string("info data/models/") + m + ".onnx");
    EXPECT_EQ(r.status, 0) << m << r.err;
    EXPECT_NE(r.out.find("piecewise"), std::string::npos) << m;
    const Result j = run(std::string("info --json data/models/") + m + ".onnx");
    ASSERT_EQ(j.status, 0);
    const auto doc = nlohmann::json::parse(j.out);
    const tessera::Network net = tessera::load_onnx(std::string(TESSERA_SOURCE_DIR) + "/data/models/" + m + ".onnx");
    EXPECT_EQ(doc["parameters"].get<std::int64_t>(), net.parameter_count());
    EXPECT_EQ(doc["nodes"].size(), net.nodes.size());
  }
}

TEST(Cli, AffineJsonHasEveryNumberAndReproducesTheLogits) {
  const Result r = run("affine data/models/mnist_cnn.onnx --input data/inputs/seven.pgm --json --layers");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  const tessera::Network net = tessera::load_onnx(std::string(TESSERA_SOURCE_DIR) + "/data/models/mnist_cnn.onnx");
  const tessera::Vector x = tessera::read_input(std::string(TESSERA_SOURCE_DIR) + "/data/inputs/seven.pgm");
  const tessera::ForwardPass fp = tessera::forward_pass(net, x);
  ASSERT_EQ(j["V"].size(), 10u);
  ASSERT_EQ(j["V"][0].size(), 784u);
  for (int k = 0; k < 10; ++k) {
    double fk = j["a"][k].get<double>();
    for (int i = 0; i < 784; ++i) fk += j["V"][k][i].get<double>() * x[i];
    EXPECT_NEAR(fk, fp.logits()[k], 1e-9);
    EXPECT_DOUBLE_EQ(j["logits"][k].get<double>(), fp.logits()[k]);
  }
  EXPECT_EQ(j["pattern_hash"], fp.pattern.hash_hex());
  EXPECT_EQ(j["layers"].size(), fp.pattern.layers.size());
  // Inputs of relu1, pool1, relu2, pool2, relu3: conv1, relu1, conv2, relu2, fc1.
  EXPECT_EQ(j["hidden_maps"].size(), 5u);
}

TEST(Cli, AffineHumanOutputOnTheToyModel) {
  const Result r = run("affine data/models/toy2d.onnx --input data/inputs/toy2d_point.txt");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("activation pattern"), std::string::npos);
  EXPECT_NE(r.out.find("] . x + "), std::string::npos);
}

TEST(Cli, HelpAndUsageErrors) {
  EXPECT_EQ(run("--help").status, 0);
  EXPECT_EQ(run("affine --help").status, 0);
  EXPECT_NE(run("affine --help").out.find("Examples:"), std::string::npos);
  expect_failure("frobnicate", 2, {"unknown command 'frobnicate'"});
  expect_failure("affine data/models/toy2d.onnx", 2, {"usage error", "input"});
  expect_failure("info data/models/toy2d.onnx --bogus", 2, {"usage error", "bogus"});
}

TEST(Cli, BadInputsGiveOneLineAndStatusOne) {
  expect_failure("info /nonexistent.onnx", 1, {"/nonexistent.onnx: cannot open"});
  expect_failure("info data/inputs/toy2d_point.txt", 1, {"toy2d_point.txt", "not a valid ONNX model"});
  expect_failure("affine data/models/mnist_mlp.onnx --input data/inputs/toy2d_point.txt", 1,
                 {"toy2d_point.txt: has 2 values but the network expects 784"});
  const std::string bad = std::filesystem::temp_directory_path() / "tessera_cli_nan.txt";
  std::ofstream(bad) << "1 inf\n";
  expect_failure("affine data/models/toy2d.onnx --input " + bad, 1, {"line 1", "not finite"});
  std::filesystem::remove(bad);
  expect_failure("affine data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --precision 0", 1,
                 {"--precision"});
}

TEST(Cli, ConvertRoundTripsAndLeavesNoTemporaryFiles) {
  const auto dir = std::filesystem::temp_directory_path() / "tessera_cli_convert";
  std::filesystem::create_directories(dir);
  const Result r = run("convert data/models/mnist_cnn.onnx " + (dir / "out.onnx").string());
  ASSERT_EQ(r.status, 0) << r.err;
  const tessera::Network a = tessera::load_onnx(std::string(TESSERA_SOURCE_DIR) + "/data/models/mnist_cnn.onnx");
  const tessera::Network b = tessera::load_onnx((dir / "out.onnx").string());
  const tessera::Vector x = tessera::read_input(std::string(TESSERA_SOURCE_DIR) + "/data/inputs/seven.pgm");
  EXPECT_EQ(tessera::logits(a, x), tessera::logits(b, x));
  int files = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) {
    (void)e;
    ++files;
  }
  EXPECT_EQ(files, 1);
  std::filesystem::remove_all(dir);
}

TEST(Cli, ExamplesAreReproducible) {
  // The shipped example models are exactly what `tessera examples` makes.
  const auto dir = std::filesystem::temp_directory_path() / "tessera_cli_examples";
  const Result r = run("examples " + dir.string());
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* m : kModels) {
    std::ifstream a(std::string(TESSERA_SOURCE_DIR) + "/data/models/" + m + ".onnx", std::ios::binary);
    std::ifstream b((dir / "models" / (std::string(m) + ".onnx")).string(), std::ios::binary);
    const std::string sa((std::istreambuf_iterator<char>(a)), {}), sb((std::istreambuf_iterator<char>(b)), {});
    EXPECT_FALSE(sa.empty());
    EXPECT_EQ(sa, sb) << m;
  }
  std::filesystem::remove_all(dir);
}

TEST(Cli, RayJsonSegmentsCoverTheRayAndEndInTheLastRegion) {
  const Result r = run("ray data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_TRUE(j["complete"].get<bool>());
  const auto& segs = j["segments"];
  ASSERT_GT(segs.size(), 1u);
  EXPECT_DOUBLE_EQ(segs[0]["t_begin"].get<double>(), 1e-6);
  for (size_t i = 1; i < segs.size(); ++i)
    EXPECT_EQ(segs[i]["t_begin"].get<double>(), segs[i - 1]["t_end"].get<double>());
  EXPECT_TRUE(segs.back()["t_end"].is_null());  // +inf
  for (const char* key : {"pattern_hash", "class", "confidence_min", "confidence_max"})
    EXPECT_TRUE(segs[0].contains(key)) << key;
  const Result csv = run("ray data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --csv");
  ASSERT_EQ(csv.status, 0);
  EXPECT_EQ(static_cast<size_t>(std::count(csv.out.begin(), csv.out.end(), '\n')), segs.size() + 1);
}

TEST(Cli, CertifyJsonHasTheDocumentedFields) {
  const Result r = run("certify data/models/mnist_mlp.onnx --input data/inputs/seven.pgm --json --threshold 0.99");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"limit_class", "limit_confidence", "limit_is_tie", "last_region_alpha", "alpha_star",
                          "alpha_star_times_max_abs_x", "first_alpha", "box_exit_alpha", "max_confidence_in_box",
                          "segments", "method", "unknown", "regions_visited"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["limit_confidence"].get<double>(), 1.0);
  EXPECT_EQ(j["method"], "from-infinity");
  EXPECT_TRUE(j["unknown"].is_array());
  // --full walks every region and gives the same fields, plus the count.
  const Result full = run("certify data/models/mnist_mlp.onnx --input data/inputs/seven.pgm --json --threshold 0.99 --full");
  ASSERT_EQ(full.status, 0) << full.err;
  const auto f = nlohmann::json::parse(full.out);
  EXPECT_EQ(f["method"], "full");
  EXPECT_TRUE(f["segments"].is_number());
  for (const char* key : {"limit_class", "limit_confidence", "last_region_alpha", "last_region_hash", "limit_logits",
                          "box_exit_alpha"})
    EXPECT_EQ(j[key], f[key]) << key;
  for (const char* key : {"alpha_star", "first_alpha"})
    EXPECT_NEAR(j[key].get<double>(), f[key].get<double>(), 1e-12 * f[key].get<double>()) << key;
  EXPECT_TRUE(j["box_exit_alpha"].is_null());  // a flat 784-vector model: no box by default
  const Result boxed =
      run("certify data/models/mnist_mlp.onnx --input data/inputs/seven.pgm --json --box 0:1 --threshold 0.99");
  ASSERT_EQ(boxed.status, 0) << boxed.err;
  EXPECT_DOUBLE_EQ(nlohmann::json::parse(boxed.out)["box_exit_alpha"].get<double>(), 1.0);  // brightest pixel is 1
}

TEST(Cli, CertifyNoiseSetSummarises) {
  const Result r = run("certify data/models/mnist_mlp.onnx --noise uniform --count 20 --json --no-progress");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["summary"]["count"].get<int>(), 20);
  EXPECT_EQ(j["certificates"].size(), 20u);
  EXPECT_LT(j["summary"]["max_bias_free_residual"].get<double>(), 1e-9);
  // The tie count is the number of certificates whose limit is a tie.
  std::size_t ties = 0;
  for (const auto& c : j["certificates"]) ties += c["limit_is_tie"].get<bool>();
  EXPECT_EQ(j["summary"]["ties"].get<std::size_t>(), ties);
  EXPECT_EQ(j["summary"]["last_region_found"].get<int>(), 20);
  EXPECT_TRUE(j["summary"]["median_regions_from_infinity"].is_number());
}

TEST(Cli, RayAndCertifyBadInputs) {
  const std::string zero = std::filesystem::temp_directory_path() / "tessera_cli_zero.txt";
  std::ofstream(zero) << "0 0\n";
  expect_failure("certify data/models/toy2d.onnx --input " + zero, 1, {"zero vector"});
  expect_failure("ray data/models/toy2d.onnx --origin data/inputs/toy2d_point.txt --direction " + zero, 1,
                 {"direction: is zero"});
  std::filesystem::remove(zero);
  expect_failure("certify data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --threshold 1.5", 1,
                 {"threshold must lie strictly between 0 and 1"});
  expect_failure("certify data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --alpha0 0", 1,
                 {"alpha0 must be a positive"});
  expect_failure("ray data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --alpha0 -1", 1,
                 {"alpha0 must be a positive"});
  expect_failure("certify data/models/mnist_mlp.onnx --input data/inputs/toy2d_point.txt", 1,
                 {"has 2 values but the network expects 784"});
  expect_failure("certify data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --box 1:0", 1, {"lo < hi"});
  expect_failure("certify data/models/toy2d.onnx --noise pink", 1, {"expected uniform or permuted"});
  expect_failure("ray data/models/toy2d.onnx", 2, {"exactly one of --input"});
}

TEST(Cli, RayWalksEveryPairOfRows) {
  // Three segments of toy2d, as rows of two files: each pair's result
  // equals the single-segment command's, in order, and the CSV has a pair
  // column.
  const auto dir = std::filesystem::temp_directory_path();
  const std::string from = dir / "tessera_cli_from.txt", to = dir / "tessera_cli_to.txt";
  const std::vector<std::string> a = {"-3 -2", "0.5 -0.25", "2, 2"}, b = {"3 2.5", "-1 4", "-2.5 0.1"};
  {
    std::ofstream f(from), g(to);
    f << "# three starts\n";
    for (size_t i = 0; i < a.size(); ++i) {
      f << a[i] << "\n\n";
      g << b[i] << "\n";
    }
  }
  const Result r = run("ray data/models/toy2d.onnx --from " + from + " --to " + to + " --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 3u);
  std::size_t rows = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(j[i]["pair"].get<size_t>(), i);
    const std::string one_a = dir / "tessera_cli_a.txt", one_b = dir / "tessera_cli_b.txt";
    std::ofstream(one_a) << a[i] << "\n";
    std::ofstream(one_b) << b[i] << "\n";
    const Result single = run("ray data/models/toy2d.onnx --from " + one_a + " --to " + one_b + " --json");
    ASSERT_EQ(single.status, 0) << single.err;
    const auto s = nlohmann::json::parse(single.out);
    EXPECT_EQ(j[i]["segments"], s["segments"]) << "pair " << i;
    EXPECT_GT(s["segments"].size(), 1u);
    rows += s["segments"].size();
    std::filesystem::remove(one_a);
    std::filesystem::remove(one_b);
  }
  const Result csv = run("ray data/models/toy2d.onnx --from " + from + " --to " + to + " --csv");
  ASSERT_EQ(csv.status, 0) << csv.err;
  EXPECT_EQ(csv.out.rfind("pair,index,t_begin", 0), 0u);
  EXPECT_EQ(static_cast<size_t>(std::count(csv.out.begin(), csv.out.end(), '\n')), rows + 1);
  const Result text = run("ray data/models/toy2d.onnx --from " + from + " --to " + to);
  ASSERT_EQ(text.status, 0) << text.err;
  EXPECT_NE(text.out.find("3 segments (row i of --from to row i of --to)"), std::string::npos) << text.out;
  // --origin/--direction rows work the same way.
  const Result lines = run("ray data/models/toy2d.onnx --origin " + from + " --direction " + to + " --t1 1 --json");
  ASSERT_EQ(lines.status, 0) << lines.err;
  EXPECT_EQ(nlohmann::json::parse(lines.out).size(), 3u);
  // Bad pairs: unequal row counts, a pair of equal rows.
  std::ofstream(to) << "3 2.5\n-1 4\n";
  expect_failure("ray data/models/toy2d.onnx --from " + from + " --to " + to, 1,
                 {"has 3 rows but --to", "has 2"});
  std::ofstream(to) << "3 2.5\n0.5 -0.25\n1 1\n";
  expect_failure("ray data/models/toy2d.onnx --from " + from + " --to " + to, 1,
                 {"pair 1: the two rows are equal"});
  // A line of the wrong width is named.
  std::ofstream(to) << "3 2.5\n0.5\n1 1\n";
  expect_failure("ray data/models/toy2d.onnx --from " + from + " --to " + to, 1,
                 {"input 1 (one per non-empty line) has 1 values but the network expects 2"});
  std::filesystem::remove(from);
  std::filesystem::remove(to);
}

TEST(Cli, SegmentLimitGivesAPartialResultAndStatusFour) {
  const Result r = run("ray data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --max-segments 3 --json");
  EXPECT_EQ(r.status, 4);
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_FALSE(j["complete"].get<bool>());
  EXPECT_EQ(j["segments"].size(), 3u);
  const Result c = run("certify data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --max-segments 3 --full");
  EXPECT_EQ(c.status, 4);
  EXPECT_NE(c.out.find("PARTIAL"), std::string::npos);
  EXPECT_NE(c.out.find("last region    unknown"), std::string::npos);
  // The default method finds the last region first; what it could not
  // establish says unknown, never "never", and is null in JSON.
  const Result d = run("certify data/models/mnist_mlp.onnx --input data/inputs/seven.pgm --box 0:1 --max-segments 1");
  EXPECT_EQ(d.status, 4) << d.out;
  EXPECT_NE(d.out.find("PARTIAL"), std::string::npos) << d.out;
  EXPECT_NE(d.out.find("unknown"), std::string::npos) << d.out;
  EXPECT_EQ(d.out.find("never"), std::string::npos) << d.out;
  const Result dj = run("certify data/models/mnist_mlp.onnx --input data/inputs/seven.pgm --box 0:1 --max-segments 1 --json");
  EXPECT_EQ(dj.status, 4);
  const auto p = nlohmann::json::parse(dj.out);
  EXPECT_FALSE(p["complete"].get<bool>());
  ASSERT_FALSE(p["unknown"].empty());
  for (const auto& key : p["unknown"]) EXPECT_TRUE(p[key.get<std::string>()].is_null()) << key;
}

TEST(Cli, SliceJsonTilesTheWindowAndTheSvgIsWritten) {
  const std::string svg = std::filesystem::temp_directory_path() / "tessera_cli_slice.svg";
  const Result r = run("slice data/models/toy2d.onnx --window -3:3:-2:2 --json --svg " + svg);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["regions"].get<size_t>(), j["polygons"].size());
  double area = 0;
  for (const auto& p : j["polygons"]) {
    for (const char* key : {"vertices", "pattern_hash", "class", "area", "confidence_min", "confidence_max"})
      EXPECT_TRUE(p.contains(key)) << key;
    EXPECT_GE(p["vertices"].size(), 3u);
    area += p["area"].get<double>();
  }
  EXPECT_NEAR(area, 24.0, 24.0 * 1e-9);
  std::ifstream in(svg);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("<svg"), std::string::npos);
  EXPECT_NE(text.find("</svg>"), std::string::npos);
  std::filesystem::remove(svg);
  // Every example model slices: the input plane for 2-D models, a plane
  // through an example image for the others. (Through the seven, whose
  // background puts it on thousands of max-pool ties at once, the CNN has a
  // fan of tens of thousands of regions at every scale.)
  EXPECT_EQ(run("slice data/models/toy2d_leaky.onnx").status, 0);
  EXPECT_EQ(run("slice data/models/mnist_mlp.onnx --input data/inputs/seven.pgm --window -0.5:0.5:-0.5:0.5").status, 0);
  EXPECT_EQ(run("slice data/models/mnist_cnn.onnx --input data/inputs/noise.pgm --window -0.05:0.05:-0.05:0.05").status, 0);
}

TEST(Cli, SlicePngAndVtpFilesAreValid) {
  const auto dir = std::filesystem::temp_directory_path() / "tessera_cli_slice_files";
  std::filesystem::create_directories(dir);
  const std::string png = (dir / "s.png").string(), vtp = (dir / "s.vtp").string();
  const Result r = run("slice data/models/toy2d.onnx --window -3:3:-3:3 --color confidence --json --png " + png +
                       " --vtp " + vtp);
  ASSERT_EQ(r.status, 0) << r.err;
  const size_t regions = nlohmann::json::parse(r.out)["regions"].get<size_t>();
  // The PNG decodes (through Tessera's own libpng reader) at the layout's size.
  const tessera::Image im = tessera::read_image(png);
  EXPECT_EQ(im.width, 800 + 20 + 80);
  EXPECT_EQ(im.channels, 3);
  // The .vtp: one polygon per region, offsets ending at the number of points.
  std::ifstream in(vtp);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("NumberOfPolys=\"" + std::to_string(regions) + "\""), std::string::npos);
  const auto points_at = text.find("NumberOfPoints=\"") + 16;
  const long points = std::stol(text.substr(points_at));
  // VTK writes empty Verts/Lines/Strips sections before Polys.
  const auto offsets = text.find("Name=\"offsets\"", text.find("<Polys>"));
  const auto end = text.find("</DataArray>", offsets);
  std::istringstream numbers(text.substr(text.find('>', offsets) + 1, end - text.find('>', offsets) - 1));
  long value = 0, last = 0, count = 0;
  while (numbers >> value) {
    EXPECT_GT(value, last);
    last = value;
    ++count;
  }
  EXPECT_EQ(count, static_cast<long>(regions));
  EXPECT_EQ(last, points);
  for (const char* name : {"region_id", "pattern_hash_hi", "pattern_hash_lo", "class", "confidence_min",
                           "confidence_max", "area"})
    EXPECT_NE(text.find(std::string("Name=\"") + name + "\""), std::string::npos) << name;
  std::filesystem::remove_all(dir);
}

TEST(Cli, Slice3dJsonAndVtp) {
  const std::string vtp = std::filesystem::temp_directory_path() / "tessera_cli_slice3d.vtp";
  const Result r = run("slice data/models/mnist_mlp.onnx --dims 3 --input data/inputs/noise.pgm --box -2:2:-2:2:-2:2 "
                       "--json --vtp " + vtp);
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  double volume = 0;
  for (const auto& p : j["polyhedra"]) {
    EXPECT_GE(p["faces"].size(), 4u);
    volume += p["volume"].get<double>();
  }
  EXPECT_NEAR(volume, 64.0, 64.0 * 1e-9);
  std::ifstream in(vtp);
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("Name=\"volume\""), std::string::npos);
  std::filesystem::remove(vtp);
  expect_failure("slice data/models/mnist_mlp.onnx --dims 3 --input data/inputs/noise.pgm --svg x.svg", 1, {"--vtp"});
  expect_failure("slice data/models/toy2d.onnx --dims 3", 2, {"choose a 3-D slice"});
  expect_failure("slice data/models/toy2d.onnx --dims 4", 1, {"--dims must be 2 or 3"});
}

TEST(Cli, SliceBadInputs) {
  expect_failure("slice data/models/toy2d.onnx --window 1:-1:0:1", 1, {"window is empty or inverted"});
  expect_failure("slice data/models/toy2d.onnx --window 1:2", 1, {"expected u0:u1:v0:v1"});
  expect_failure("slice data/models/mnist_mlp.onnx", 2, {"choose a plane"});
  expect_failure("slice data/models/toy2d.onnx --points data/inputs/toy2d_point.txt data/inputs/toy2d_point.txt "
                 "data/inputs/toy2d_point.txt",
                 1, {"is zero"});
  expect_failure("slice data/models/toy2d.onnx --color rainbow", 1, {"--color 'rainbow'"});
  const Result partial = run("slice data/models/toy2d.onnx --window -3:3:-3:3 --max-regions 5 --json");
  EXPECT_EQ(partial.status, 4);
  const auto j = nlohmann::json::parse(partial.out);
  EXPECT_FALSE(j["complete"].get<bool>());
  EXPECT_EQ(j["polygons"].size(), 5u);
}

TEST(Cli, RegionJsonHasTheDocumentedFields) {
  const Result r = run("region data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  for (const char* key : {"facets", "bounded", "chebyshev_center", "inradius"}) EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_TRUE(j["bounded"].get<bool>());
  EXPECT_GT(j["facets"].size(), 2u);  // a bounded 2-D polygon has at least three sides
  EXPECT_GT(j["inradius"].get<double>(), 0);
  // The other small example models.
  for (const char* m : {"toy2d_leaky", "mnist_mlp"}) {
    const std::string in = std::string(m) == "mnist_mlp" ? "data/inputs/noise.pgm" : "data/inputs/toy2d_point.txt";
    EXPECT_EQ(run(std::string("region data/models/") + m + ".onnx --input " + in).status, 0) << m;
  }
  // (The CNN's region has ~18 000 rows over 784 inputs; its two LPs take about
  // a minute on this machine, too long for the default suite.)
}

TEST(Cli, RegionBadInputs) {
  expect_failure("region data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --box 2:1", 1, {"lo < hi"});
  expect_failure("region data/models/toy2d.onnx", 2, {"input"});
  expect_failure("region data/models/mnist_mlp.onnx --input data/inputs/toy2d_point.txt", 1,
                 {"has 2 values but the network expects 784"});
}

// `info --operators`: the importer's table, without a model; JSON parses.
// The .vtp writer is a plugin next to the executable, loaded only for
// --vtp: a copy of `tessera` without it runs every other command and
// refuses --vtp in one line before any work; no other command loads VTK.
TEST(Cli, VtpPluginIsLoadedOnlyForVtp) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("tessera_noplugin_" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::filesystem::path exe = dir / "tessera";
  std::filesystem::copy_file(TESSERA_EXE, exe, std::filesystem::copy_options::overwrite_existing);
  auto run_copy = [&](const std::string& args) { return run_shell("'" + exe.string() + "' " + args); };
  const auto plain = run_copy("slice data/models/toy2d.onnx --window -1:1:-1:1");
  EXPECT_EQ(plain.first, 0) << plain.second;
  const auto vtp = run_copy("slice data/models/toy2d.onnx --vtp " + (dir / "r.vtp").string());
  EXPECT_EQ(vtp.first, 1) << vtp.second;
  EXPECT_NE(vtp.second.find("this build of tessera has no VTK plugin for .vtp files"), std::string::npos) << vtp.second;
  EXPECT_FALSE(std::filesystem::exists(dir / "r.vtp"));
  std::filesystem::remove_all(dir);
  // The real executable does not link VTK (it would load it at every start).
  const std::string libs = run_shell(std::string("ldd '") + TESSERA_EXE + "'").second;
  EXPECT_EQ(libs.find("libvtk"), std::string::npos) << libs;
}

TEST(Cli, InfoListsTheOperators) {
  const Result r = run("info --operators");
  ASSERT_EQ(r.status, 0) << r.err;
  for (const char* op : {"Gemm", "Clip", "PRelu", "Max", "Softmax"}) EXPECT_NE(r.out.find(std::string("  ") + op + " "), std::string::npos) << op;
  const Result j = run("info --operators --json");
  ASSERT_EQ(j.status, 0) << j.err;
  const auto a = nlohmann::json::parse(j.out);
  EXPECT_EQ(a.size(), tessera::onnx_operator_table().size());
  EXPECT_EQ(a[0]["operator"], tessera::onnx_operator_table()[0].name);
  EXPECT_EQ(a[0]["attributes"], nlohmann::json(tessera::onnx_operator_table()[0].attributes));
  expect_failure("info --operators data/models/toy2d.onnx", 2, {"--operators takes no model"});
  expect_failure("info --operators --json --markdown", 2, {"not both"});
  // The user guide's table is this output, verbatim.
  const Result m = run("info --operators --markdown");
  ASSERT_EQ(m.status, 0) << m.err;
  EXPECT_EQ(m.out.rfind("| ONNX operator | becomes | attributes |\n", 0), 0u);
  std::ifstream guide(std::string(TESSERA_SOURCE_DIR) + "/docs/user-guide.md");
  const std::string text((std::istreambuf_iterator<char>(guide)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find(m.out), std::string::npos)
      << "docs/user-guide.md does not contain the output of `tessera info --operators --markdown`; paste it in";
}

// --box-file: the VNN-LIB example of the user guide and the same box as two
// rows give the same answers; the box appears in the JSON.
TEST(Cli, BoxFileForCertifyRegionAndSlice) {
  const std::string point = " --input data/inputs/toy2d_point.txt";
  const Result a = run("certify data/models/toy2d.onnx --input data/inputs/toy2d_inside.txt --threshold 0.6 "
                       "--box-file data/inputs/toy2d_box.vnnlib --json");
  ASSERT_EQ(a.status, 0) << a.err;
  const auto ja = nlohmann::json::parse(a.out);
  EXPECT_EQ(ja["box"]["lower"], nlohmann::json({-1.0, -0.5}));
  EXPECT_EQ(ja["box"]["upper"], nlohmann::json({0.75, 2.0}));
  ASSERT_TRUE(ja["box_exit_alpha"].is_number());
  const Result b = run("certify data/models/toy2d.onnx --input data/inputs/toy2d_inside.txt --threshold 0.6 "
                       "--box-file data/inputs/toy2d_box.txt --json");
  ASSERT_EQ(b.status, 0) << b.err;
  const auto jb = nlohmann::json::parse(b.out);
  for (const char* k : {"box_entry_alpha", "box_exit_alpha", "max_confidence_in_box", "first_alpha_in_box"})
    EXPECT_EQ(ja[k], jb[k]) << k;
  // The input (0.5, 0.25) leaves the box where x1 = 0.75: alpha = 1.5.
  EXPECT_DOUBLE_EQ(ja["box_exit_alpha"].get<double>(), 1.5);

  const Result r = run("region data/models/toy2d.onnx --input data/inputs/toy2d_inside.txt --box-file "
                       "data/inputs/toy2d_box.vnnlib --json");
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["box"]["file"], "data/inputs/toy2d_box.vnnlib");

  const Result sl = run("slice data/models/toy2d.onnx --window -3:3:-3:3 --box-file data/inputs/toy2d_box.vnnlib --json");
  ASSERT_EQ(sl.status, 0) << sl.err;
  const auto js = nlohmann::json::parse(sl.out);
  EXPECT_NEAR(js["window_area"].get<double>(), 1.75 * 2.5, 1e-12);
  for (const auto& p : js["polygons"])
    for (const auto& v : p["vertices"]) {
      EXPECT_GE(v[0].get<double>(), -1 - 1e-12);
      EXPECT_LE(v[0].get<double>(), 0.75 + 1e-12);
      EXPECT_GE(v[1].get<double>(), -0.5 - 1e-12);
      EXPECT_LE(v[1].get<double>(), 2 + 1e-12);
    }

  expect_failure("certify data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --box 0:1 --box-file data/inputs/toy2d_box.txt", 1,
                 {"--box and --box-file"});
  expect_failure("certify data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --box-file data/inputs/toy2d_point.txt", 1,
                 {"toy2d_point.txt", "has 2 numbers; expected 2 x 2"});
  expect_failure("certify data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --box-file missing.vnnlib", 1, {"missing.vnnlib"});
  expect_failure("region data/models/toy2d.onnx --input data/inputs/toy2d_point.txt --box-file data/inputs/toy2d_point.txt", 1,
                 {"expected 2 x 2"});
  expect_failure("slice data/models/toy2d.onnx --box-file data/models/toy2d.onnx", 1, {"toy2d.onnx"});
  const std::string narrow = std::filesystem::temp_directory_path() / ("tessera_box_" + std::to_string(::getpid()));
  std::ofstream(narrow) << "(assert (>= X_0 0))\n(assert (<= X_0 1))\n(assert (>= X_1 0))\n(assert (<= X_1 1))\n";
  expect_failure("region data/models/toy2d.onnx" + point + " --box-file " + narrow, 1,
                 {"outside the box", "value 1 is -0.25"});
  std::filesystem::remove(narrow);
  expect_failure("slice data/models/toy2d.onnx --window 5:6:5:6 --box-file data/inputs/toy2d_box.vnnlib", 1,
                 {"does not meet the box"});
}

}  // namespace

// The user-settable limit on model memory (TESSERA_MAX_MODEL_MB): refused
// before the tensors are allocated, with the limit named.
TEST(Cli, ModelMemoryLimitIsUserSettable) {
  auto run_with = [](const std::string& env, const std::string& args) {
    return run_shell(env + " '" + TESSERA_EXE + "' " + args);
  };
  // mnist_mlp holds 52 650 parameters: 411 KiB in double precision.
  auto [status, out] = run_with("TESSERA_MAX_MODEL_MB=0.25", "info data/models/mnist_mlp.onnx");
  EXPECT_EQ(status, 1) << out;
  EXPECT_NE(out.find("need more than the limit of 0.25"), std::string::npos) << out;
  EXPECT_NE(out.find("TESSERA_MAX_MODEL_MB"), std::string::npos) << out;
  EXPECT_EQ(run_with("TESSERA_MAX_MODEL_MB=0.5", "info data/models/mnist_mlp.onnx").first, 0);
  EXPECT_EQ(run_with("TESSERA_MAX_MODEL_MB=0.25", "info data/models/toy2d.onnx").first, 0);
  auto [bad, bad_out] = run_with("TESSERA_MAX_MODEL_MB=lots", "info data/models/toy2d.onnx");
  EXPECT_EQ(bad, 1);
  EXPECT_NE(bad_out.find("TESSERA_MAX_MODEL_MB='lots' is not a positive number of MiB"), std::string::npos) << bad_out;
}

// A model with a last-layer Laplace posterior (data/fit_laplace_examples.sh):
// every command that reads it reports the predictive, consistently.
TEST(Cli, LaplaceModelsInAffineRaySliceAndInfo) {
  const std::string m = "data/models/trained/moons_plain.laplace.onnx";
  const Result info = run("info " + m + " --json");
  ASSERT_EQ(info.status, 0) << info.err;
  EXPECT_EQ(nlohmann::json::parse(info.out)["laplace"]["structure"], "full");
  const Result a = run("affine " + m + " --input data/inputs/toy2d_point.txt --json");
  ASSERT_EQ(a.status, 0) << a.err;
  const auto aj = nlohmann::json::parse(a.out);
  const double at_input = aj["laplace"]["confidence"].get<double>();
  EXPECT_GT(at_input, 0.5);
  EXPECT_LT(at_input, aj["confidence"].get<double>());  // less sure than the network here
  // ray: the Laplace confidence at both ends of every segment: from alpha0 = 1
  // on, the first is the affine value at the input; at infinity certify's limit.
  const Result r = run("ray " + m + " --input data/inputs/toy2d_point.txt --alpha0 1 --json");
  ASSERT_EQ(r.status, 0) << r.err;
  const auto segs = nlohmann::json::parse(r.out)["segments"];
  ASSERT_GT(segs.size(), 2u);
  for (const auto& seg : segs) ASSERT_TRUE(seg.contains("laplace_confidence"));
  EXPECT_EQ(segs[0]["t_begin"].get<double>(), 1.0);
  EXPECT_NEAR(segs[0]["laplace_confidence"][0].get<double>(), at_input, 1e-12);
  const Result c = run("certify " + m + " --input data/inputs/toy2d_point.txt --json");
  ASSERT_EQ(c.status, 0) << c.err;
  const double limit = nlohmann::json::parse(c.out)["laplace"]["limit_confidence"].get<double>();
  EXPECT_LT(limit, 1.0);
  EXPECT_NEAR(segs.back()["laplace_confidence"][1].get<double>(), limit, 1e-12);
  const Result csv = run("ray " + m + " --input data/inputs/toy2d_point.txt --csv");
  EXPECT_NE(csv.out.find("laplace_confidence_begin,laplace_confidence_end"), std::string::npos);
  // slice: one value per polygon, and the picture coloured by them.
  const std::string png = (std::filesystem::temp_directory_path() / ("tessera_laplace_slice_" + std::to_string(::getpid()) + ".png")).string();
  const Result s = run("slice " + m + " --window -3:3:-3:3 --json --color laplace --png " + png);
  ASSERT_EQ(s.status, 0) << s.err;
  const auto sj = nlohmann::json::parse(s.out);
  ASSERT_EQ(sj["laplace_confidence_at_centres"].size(), sj["polygons"].size());
  // Region 0's value is affine's Laplace confidence at its centre (the slice's
  // default plane is spanned by the two coordinates of this 2-D model).
  const auto& verts = sj["polygons"][0]["vertices"];
  double cu = 0, cv = 0;
  for (const auto& v : verts) cu += v[0].get<double>(), cv += v[1].get<double>();
  cu /= verts.size();
  cv /= verts.size();
  const std::string point = (std::filesystem::temp_directory_path() / ("tessera_laplace_centre_" + std::to_string(::getpid()) + ".txt")).string();
  {
    std::ofstream f(point);
    f.precision(17);
    f << cu << " " << cv << "\n";
  }
  const Result centre = run("affine " + m + " --input " + point + " --json");
  std::filesystem::remove(point);
  ASSERT_EQ(centre.status, 0) << centre.err;
  EXPECT_NEAR(sj["laplace_confidence_at_centres"][0].get<double>(),
              nlohmann::json::parse(centre.out)["laplace"]["confidence"].get<double>(), 1e-12);
  EXPECT_TRUE(std::filesystem::exists(png));
  std::filesystem::remove(png);
  expect_failure("slice data/models/toy2d.onnx --color laplace --svg /tmp/never.svg", 1, {"--color laplace needs a model"});
}
