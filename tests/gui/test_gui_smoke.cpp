// The desktop app on a virtual X server (xvfb-run): open the shipped models,
// compute a slice, move along a ray, save a screenshot. The picture must not
// be blank and the scene must hold exactly the regions that `tessera slice`
// finds on the same window.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <map>
#include <set>
#include <sstream>

#include "core/example_networks.hpp"
#include "io/input_io.hpp"
#include "core/network.hpp"
#include "io/onnx_io.hpp"

namespace fs = std::filesystem;

namespace {

struct Result {
  int status = -1;
  std::string out;
};

Result sh(const std::string& cmd) {
  Result r;
  FILE* p = popen(("cd '" + std::string(TESSERA_SOURCE_DIR) + "' && " + cmd + " 2>&1").c_str(), "r");
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int st = pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  // The app's own exit status, as gui() reports it: xvfb-run sometimes fails
  // to clean up its temporary directory when several run at once and then
  // exits 5 whatever the app did.
  const std::string mark = "[tessera-gui exit ";
  const std::size_t at = r.out.rfind(mark);
  if (at != std::string::npos) {
    r.status = std::atoi(r.out.c_str() + at + mark.size());
    r.out.erase(at, r.out.find(']', at) + 2 - at);
  }
  return r;
}

bool have_xvfb() { return sh("command -v xvfb-run").status == 0; }

// The app under a virtual X server; it prints its exit status on its own
// line, which sh() reads back.
std::string gui(const std::string& args) {
  return std::string("xvfb-run -a -s '-screen 0 1600x1000x24' sh -c '\"$@\"; echo \"[tessera-gui exit $?]\"' sh '") +
         TESSERA_GUI_EXE + "' " + args;
}

// Distinct colours in a PNG (read through the core's reader).
std::size_t distinct_colours(const std::string& path) {
  const tessera::Image img = tessera::read_image(path);
  std::set<std::array<int, 3>> colours;
  const int plane = img.height * img.width;
  for (int i = 0; i < plane; i += 7) {
    std::array<int, 3> c{};
    for (int ch = 0; ch < std::min(3, img.channels); ++ch) c[ch] = static_cast<int>(img.values[ch * plane + i] * 255 + 0.5);
    colours.insert(c);
  }
  return colours.size();
}

// Pixel counts of a PNG: pixels that are not (near) white, the share of the
// most common of their colours, near-black pixels and bright red ones.
struct PixelStats {
  std::size_t total = 0, non_white = 0, top_colour = 0, near_black = 0, red = 0;
};
PixelStats pixel_stats(const std::string& path) {
  const tessera::Image img = tessera::read_image(path);
  PixelStats s;
  std::map<std::array<int, 3>, std::size_t> counts;
  const int plane = img.height * img.width;
  for (int i = 0; i < plane; ++i) {
    std::array<int, 3> c{};
    for (int ch = 0; ch < 3; ++ch) c[ch] = static_cast<int>(img.values[std::min(ch, img.channels - 1) * plane + i] * 255 + 0.5);
    ++s.total;
    if (c[0] < 40 && c[1] < 40 && c[2] < 40) ++s.near_black;
    if (c[0] > 180 && c[1] < 60 && c[2] < 60) ++s.red;
    if (c[0] >= 245 && c[1] >= 245 && c[2] >= 245) continue;
    ++s.non_white;
    s.top_colour = std::max(s.top_colour, ++counts[c]);
  }
  return s;
}

void check_against_cli(const nlohmann::json& report, const std::string& model, const std::string& plane_args) {
  char window[256];
  const auto& w = report["window"];
  std::snprintf(window, sizeof window, "%.17g:%.17g:%.17g:%.17g", w[0].get<double>(), w[1].get<double>(), w[2].get<double>(),
                w[3].get<double>());
  const Result cli = sh(std::string("'") + TESSERA_EXE + "' slice " + model + " " + plane_args + " --window=" + window + " --json");
  ASSERT_EQ(cli.status, 0) << cli.out;
  const auto j = nlohmann::json::parse(cli.out);
  EXPECT_EQ(report["scene_cells"].get<std::size_t>(), j["regions"].get<std::size_t>()) << "the scene holds exactly the CLI's regions";
  EXPECT_EQ(j["polygons"].size(), j["regions"].get<std::size_t>());
}

// A verification-benchmark-style ConvNet (conv 16 4x4/2, conv 32 4x4/2,
// average pool, dense 100) whose first-layer biases are tiny, as in trained
// models: the lines of the units over the background all pass within 1e-4
// of the digit, so a slice through a digit is very slow.
void save_convsmall(const std::string& model) {
  using namespace tessera;
  SeededRandom rng(3);
  NetworkBuilder b;
  Window2d w;
  w.kernel_h = w.kernel_w = 4;
  w.stride_h = w.stride_w = 2;
  w.pad_top = w.pad_left = w.pad_bottom = w.pad_right = 1;
  int n = b.input(Shape{1, 28, 28});
  n = b.relu(b.conv2d(n, rng.he_uniform(16, 16, 16), rng.uniform_vector(16, -1e-4, 1e-4), w));
  n = b.relu(b.conv2d(n, rng.he_uniform(32, 256, 256), rng.uniform_vector(32, -0.1, 0.1), w));
  Window2d pool;
  pool.kernel_h = pool.kernel_w = pool.stride_h = pool.stride_w = 2;
  n = b.reshape(b.avg_pool2d(n, pool, false), Shape{288});
  n = b.relu(b.dense(n, rng.he_uniform(100, 288, 288), rng.uniform_vector(100, -0.1, 0.1)));
  n = b.dense(n, rng.he_uniform(10, 100, 100), rng.uniform_vector(10, -0.1, 0.1));
  save_onnx(b.build(n), model);
}

// Pixels of a PNG as RGB triples (row-major), with its size.
struct Pixels {
  int width = 0, height = 0;
  std::vector<std::array<int, 3>> rgb;
  const std::array<int, 3>& at(int x, int y) const { return rgb[static_cast<std::size_t>(y) * width + x]; }
};
Pixels read_pixels(const std::string& path) {
  const tessera::Image img = tessera::read_image(path);
  Pixels p;
  p.width = img.width;
  p.height = img.height;
  const int plane = img.height * img.width;
  p.rgb.resize(plane);
  for (int i = 0; i < plane; ++i)
    for (int ch = 0; ch < 3; ++ch)
      p.rgb[i][ch] = static_cast<int>(img.values[std::min(ch, img.channels - 1) * plane + i] * 255 + 0.5);
  return p;
}

class GuiSmoke : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!have_xvfb()) GTEST_SKIP() << "xvfb-run is not installed (Debian package xvfb)";
    dir_ = fs::temp_directory_path() / ("tessera_gui_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

}  // namespace

TEST_F(GuiSmoke, RegionMapOfTheToyModel) {
  const std::string png = dir_ / "map.png", report = dir_ / "map.json";
  const Result r = sh(gui("data/models/toy2d.onnx --screenshot " + png + " --report " + report));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(std::ifstream(report));
  EXPECT_TRUE(j["complete"].get<bool>());
  EXPECT_GT(j["regions"].get<int>(), 100);
  EXPECT_EQ(j["scene_cells"], j["regions"]);
  EXPECT_GT(distinct_colours(png), 3u) << "the picture is not blank";
  check_against_cli(j, "data/models/toy2d.onnx", "");
}

// --box-file: the map holds exactly the CLI's regions of the window clipped
// to the box; a bad box file is refused with its reason.
TEST_F(GuiSmoke, InputBoxClipsTheMap) {
  const std::string png = dir_ / "box.png", report = dir_ / "box.json";
  const Result r = sh(gui("data/models/toy2d.onnx --box-file data/inputs/toy2d_box.vnnlib --point 0.5,0.25 "
                          "--screenshot " + png + " --report " + report));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(std::ifstream(report));
  EXPECT_TRUE(j["complete"].get<bool>());
  EXPECT_GT(j["ray_segments"].get<int>(), 1);
  check_against_cli(j, "data/models/toy2d.onnx", "--box-file data/inputs/toy2d_box.vnnlib");
  const Result bad = sh(gui("data/models/toy2d.onnx --box-file data/inputs/toy2d_point.txt --screenshot " + png));
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.out.find("expected 2 x 2"), std::string::npos) << bad.out;
}

TEST_F(GuiSmoke, RayAndAlphaSliderOnTheAcetModel) {
  const std::string png = dir_ / "ray.png", report = dir_ / "ray.json";
  const Result r = sh(gui("data/models/trained/moons_acet.onnx --colour confidence --point 1,0.5 --alpha 100 --view window "
                          "--screenshot " + png + " --report " + report));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(std::ifstream(report));
  EXPECT_NEAR(j["alpha"].get<double>(), 100, 1e-9);
  EXPECT_GT(j["ray_segments"].get<int>(), 1);
  EXPECT_EQ(j["width"], 1280);
  EXPECT_GT(distinct_colours(png), 20u);
  // The ray's regions match tessera ray from the same start.
  const Result ray = sh(std::string("echo '1 0.5' > ") + (dir_ / "p.txt").string() + " && '" + TESSERA_EXE +
                        "' ray data/models/trained/moons_acet.onnx --input " + (dir_ / "p.txt").string() + " --alpha0 0.01 --json");
  ASSERT_EQ(ray.status, 0) << ray.out;
  EXPECT_EQ(nlohmann::json::parse(ray.out)["segments"].size(), j["ray_segments"].get<std::size_t>());
}

TEST_F(GuiSmoke, ImageModelSlicedThroughAnInput) {
  const std::string png = dir_ / "mnist.png", report = dir_ / "mnist.json";
  const Result r = sh(gui("data/models/mnist_mlp.onnx --input data/inputs/seven.pgm --colour region --screenshot " + png +
                          " --report " + report));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(std::ifstream(report));
  EXPECT_GT(j["regions"].get<int>(), 10);
  EXPECT_GT(distinct_colours(png), 10u);
  check_against_cli(j, "data/models/mnist_mlp.onnx", "--input data/inputs/seven.pgm --seed 1");
}

// Through a digit, the first layer of the CNN cuts the window into more
// pieces than the app's region cap: the slice stops inside that cut and the
// app says why (before: it waited for the slice forever).
TEST_F(GuiSmoke, ASliceThatStopsInsideACutSaysWhyAndEnds) {
  // A verification-benchmark-style ConvNet (conv 16 4x4/2, conv 32 4x4/2,
  // average pool, dense 100) whose first-layer biases are tiny, as in
  // trained models: the lines of the units over the background all pass
  // within 1e-4 of the digit.
  const std::string model = dir_ / "convsmall.onnx";
  save_convsmall(model);
  const std::string png = dir_ / "cnn.png";
  const Result r = sh(gui(model + " --input data/inputs/seven.pgm --screenshot " + png));
  EXPECT_EQ(r.status, 4) << r.out;
  EXPECT_NE(r.out.find("no regions: stopped at 50000 regions (--max-regions): layer"), std::string::npos) << r.out;
  EXPECT_TRUE(std::filesystem::exists(png));
}

TEST_F(GuiSmoke, LogitSurfaceHasAFacetPerClassCell) {
  const std::string png = dir_ / "surface.png", report = dir_ / "surface.json";
  const Result r = sh(gui("data/models/toy2d.onnx --view 3d --screenshot " + png + " --report " + report));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(std::ifstream(report));
  // Every region contributes one facet per class cell: at least one each,
  // more where the decision boundary crosses it.
  EXPECT_GE(j["surface_cells"].get<int>(), j["regions"].get<int>());
  EXPECT_GT(distinct_colours(png), 10u);
}

// The 3-D view of an MNIST model (few, large regions): the facets are lit
// (not one flat colour, not a black plane), the axes are labelled and the
// legend names the classes on the surface.
TEST_F(GuiSmoke, LogitSurfaceIsLitAndLabelled) {
  const std::string png = dir_ / "mnist3d.png", report = dir_ / "mnist3d.json";
  const Result r = sh(gui("data/models/trained/mnist_plain.onnx --view 3d --screenshot " + png + " --report " + report));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(std::ifstream(report));
  EXPECT_EQ(j["surface"]["axes"], nlohmann::json({"u", "v", "largest logit"}));
  ASSERT_FALSE(j["surface"]["legend"].empty());
  for (const auto& e : j["surface"]["legend"]) EXPECT_EQ(e.get<std::string>().rfind("class ", 0), 0u) << e;
  const PixelStats p = pixel_stats(png);
  EXPECT_GT(p.non_white, p.total / 20) << "the surface is drawn";
  EXPECT_LT(p.top_colour, 0.6 * p.non_white) << "one colour covers most of the surface: no shading between facets";
  EXPECT_LT(p.near_black, p.total / 5) << "mostly black: the facets are not lit";
}

// With confidence colours the legend is the colour bar, and the picked ray
// is drawn in red over the surface.
TEST_F(GuiSmoke, LogitSurfaceShowsTheRay) {
  const std::string png = dir_ / "ray3d.png", report = dir_ / "ray3d.json";
  const Result r = sh(gui("data/models/trained/moons_acet.onnx --colour confidence --point 1.5,-1 --alpha 1.5 --view 3d "
                          "--screenshot " + png + " --report " + report));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(std::ifstream(report));
  EXPECT_EQ(j["surface"]["legend"], nlohmann::json({"largest\nconfidence"}));
  EXPECT_GT(j["ray_segments"].get<int>(), 1);
  EXPECT_GT(pixel_stats(png).red, 200u) << "the ray's path and marker";
  // Without a point there is no red at all (viridis has none).
  const Result plain = sh(gui("data/models/trained/moons_acet.onnx --colour confidence --view 3d --screenshot " + png));
  ASSERT_EQ(plain.status, 0) << plain.out;
  EXPECT_LT(pixel_stats(png).red, 20u);
}

TEST_F(GuiSmoke, PlainCedaAndAcetSideBySide) {
  const std::string png = dir_ / "compare.png", report = dir_ / "compare.json";
  const Result r = sh(gui("data/models/trained/moons_plain.onnx --compare data/models/trained/moons_ceda.onnx,"
                          "data/models/trained/moons_acet.onnx --point 1.5,1 --alpha 20 --view compare --screenshot " + png +
                          " --report " + report));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(std::ifstream(report));
  ASSERT_EQ(j["models"], 3);
  for (int i = 0; i < 3; ++i) {
    EXPECT_GT(j["cells"][i].get<int>(), 100) << i;
    EXPECT_GT(j["ray_segments"][i].get<int>(), 1) << i;
  }
  EXPECT_GT(distinct_colours(png), 20u);
  // Models of another input size cannot share the slice.
  const Result bad = sh(gui("data/models/trained/moons_plain.onnx --compare data/models/mnist_mlp.onnx --view compare --screenshot " +
                            (dir_ / "bad.png").string()));
  EXPECT_EQ(bad.status, 1) << bad.out;
  EXPECT_NE(bad.out.find("takes 784 inputs but the slice lives in R^2"), std::string::npos) << bad.out;
}

TEST_F(GuiSmoke, BadModelsAreRefusedWithAMessage) {
  const Result r = sh(gui("data/inputs/seven.pgm --screenshot " + (dir_ / "x.png").string()));
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("tessera-gui: error:"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "x.png"));
  const Result wrong_input = sh(gui("data/models/mnist_mlp.onnx --input data/inputs/toy2d_point.txt --screenshot " + (dir_ / "y.png").string()));
  EXPECT_EQ(wrong_input.status, 1) << wrong_input.out;
  EXPECT_NE(wrong_input.out.find("toy2d_point.txt"), std::string::npos) << wrong_input.out;
}

// The map of a trained MNIST model, which one class covers entirely, must
// still show its regions (shaded by confidence), with axes and a legend.
TEST_F(GuiSmoke, TrainedMnistMapIsNotOneFlatColourAndHasAxesAndLegend) {
  const std::string png = dir_ / "mnist.png", report = dir_ / "mnist.json";
  const Result r = sh(gui("data/models/trained/mnist_plain.onnx --screenshot " + png + " --report " + report));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(std::ifstream(report));
  EXPECT_EQ(j["colouring"], "shaded");
  EXPECT_EQ(j["colour_box"], "shaded");
  ASSERT_FALSE(j["legend"].empty());
  EXPECT_EQ(j["legend"][0]["name"].get<std::string>().rfind("class ", 0), 0u);
  EXPECT_GE(j["axes"]["u_ticks"].size(), 2u);
  EXPECT_NE(j["axes"]["u"].get<std::string>().find("e1"), std::string::npos);
  const Pixels px = read_pixels(png);
  ASSERT_GT(px.width, 300);
  ASSERT_GT(px.height, 300);
  // The map's interior (clear of the axes and the legend): no colour covers
  // more than 60 % of it, and it has several colours.
  std::map<std::array<int, 3>, int> count;
  int total = 0;
  for (int y = px.height / 3; y < px.height * 9 / 10 - 40; y += 2)
    for (int x = 90; x < px.width * 6 / 10; x += 2, ++total) ++count[px.at(x, y)];
  int top = 0;
  for (const auto& [c, n] : count) top = std::max(top, n);
  EXPECT_LT(top, 0.6 * total) << "one colour covers " << 100.0 * top / total << "% of the map";
  EXPECT_GE(count.size(), 4u);
  // Axes: dark tick labels in the bottom strip and along the left edge.
  auto dark_pixels = [&](int x0, int x1, int y0, int y1) {
    int n = 0;
    for (int y = y0; y < y1; ++y)
      for (int x = x0; x < x1; ++x) {
        const auto& c = px.at(x, y);
        n += c[0] + c[1] + c[2] < 200;
      }
    return n;
  };
  EXPECT_GT(dark_pixels(60, px.width, px.height - 40, px.height), 40) << "no tick labels under the map";
  EXPECT_GT(dark_pixels(0, 60, 0, px.height - 40), 40) << "no tick labels left of the map";
  // Legend: a white box in the top right corner with dark text in it.
  int white = 0, box = 0;
  for (int y = 10; y < 60; ++y)
    for (int x = px.width - 120; x < px.width - 20; ++x, ++box) {
      const auto& c = px.at(x, y);
      white += c[0] > 235 && c[1] > 235 && c[2] > 235;
    }
  EXPECT_GT(white, box / 3) << "no legend box";
  EXPECT_GT(dark_pixels(px.width - 200, px.width - 10, 10, 40), 20) << "no legend title";
}

TEST_F(GuiSmoke, APartialMapIsLabelledOnTheMap) {
  const std::string png = dir_ / "partial.png", report = dir_ / "partial.json";
  const Result r = sh(gui("data/models/toy2d.onnx --max-regions 20 --screenshot " + png + " --report " + report));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(std::ifstream(report));
  EXPECT_FALSE(j["complete"].get<bool>());
  EXPECT_EQ(j["regions"], 20);
  EXPECT_NE(j["partial"].get<std::string>().find("stopped at 20 regions"), std::string::npos) << j.dump();
  // The banner (light red) is on the picture, and the part not computed is grey.
  const Pixels px = read_pixels(png);
  int banner = 0, grey = 0;
  for (const auto& c : px.rgb) {
    banner += c[0] > 245 && c[1] > 215 && c[1] < 235 && c[2] > 205 && c[2] < 230;
    grey += c[0] == c[1] && c[1] == c[2] && c[0] > 190 && c[0] < 210;
  }
  EXPECT_GT(banner, 2000);
  EXPECT_GT(grey, static_cast<int>(px.rgb.size() / 10));
  // A complete map has neither.
  const Result full = sh(gui("data/models/toy2d.onnx --screenshot " + png + " --report " + report));
  ASSERT_EQ(full.status, 0) << full.out;
  EXPECT_EQ(nlohmann::json::parse(std::ifstream(report))["partial"], "");
}

TEST_F(GuiSmoke, TheColourBoxShowsTheColouringInUse) {
  std::set<std::size_t> colours;
  for (const std::string c : {"region", "confidence"}) {
    const std::string png = dir_ / (c + ".png"), report = dir_ / (c + ".json");
    const Result r = sh(gui("data/models/toy2d.onnx --colour " + c + " --screenshot " + png + " --report " + report));
    ASSERT_EQ(r.status, 0) << r.out;
    const auto j = nlohmann::json::parse(std::ifstream(report));
    EXPECT_EQ(j["colouring"], c);
    EXPECT_EQ(j["colour_box"], c);
  }
  const Result bad = sh(gui("data/models/toy2d.onnx --colour rainbow --screenshot " + (dir_ / "x.png").string()));
  EXPECT_EQ(bad.status, 2);
  EXPECT_NE(bad.out.find("--colour must be region, class, confidence or shaded (not 'rainbow')"), std::string::npos) << bad.out;
}

// A slice of a CNN through a digit takes minutes; Cancel must end it, and
// give the app back, within a second.
TEST_F(GuiSmoke, CancellingASliceReturnsControlWithinASecond) {
  const std::string model = dir_ / "convsmall.onnx", report = dir_ / "cancel.json";
  save_convsmall(model);
  const Result r = sh(gui(model + " --input data/inputs/seven.pgm --max-regions 100000000 --cancel-after 1500 --screenshot " +
                          (dir_ / "cancel.png").string() + " --report " + report));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(std::ifstream(report));
  ASSERT_TRUE(j.contains("cancel_ms")) << j.dump() << "\n" << r.out;
  EXPECT_LT(j["cancel_ms"].get<double>(), 1000) << j.dump();
  EXPECT_GE(j["cancel_ms"].get<double>(), 0);
}

// The tour from the start to its end, step after step as the Next button
// goes, and one step alone as the docs' pictures are made.
TEST_F(GuiSmoke, TheTourRunsEndToEnd) {
  const std::string png = dir_ / "tour.png", report = dir_ / "tour.json";
  Result r = sh(gui("--tour-step all --screenshot " + png + " --report " + report));
  ASSERT_EQ(r.status, 0) << r.out;
  auto j = nlohmann::json::parse(std::ifstream(report));
  EXPECT_EQ(j["tour_step"], 6);
  EXPECT_TRUE(j["compare"].get<bool>()) << "the last step compares plain, CEDA and ACET";
  EXPECT_GT(j["ray_segments"].get<int>(), 1);
  r = sh(gui("--tour-step 4 --screenshot " + png + " --report " + report));
  ASSERT_EQ(r.status, 0) << r.out;
  j = nlohmann::json::parse(std::ifstream(report));
  EXPECT_EQ(j["tour_step"], 4);
  EXPECT_FALSE(j["legend"].empty());
  EXPECT_GT(distinct_colours(png), 50u);
  r = sh(gui("--tour-step 9 --screenshot " + png));
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--tour-step must be 1 to 6 (not '9')"), std::string::npos) << r.out;
}

// A dense slice that takes seconds: the map grows on screen while it runs
// (regions are shown as they arrive), and Cancel keeps what was found as a
// labelled partial map.
TEST_F(GuiSmoke, RegionsAppearWhileTheSliceRunsAndCancelKeepsThem) {
  const std::string model = dir_ / "wide.onnx", report = dir_ / "grow.json";
  tessera::save_onnx(tessera::random_mlp(784, {200, 200, 200}, 10, 5), model);
  const Result r = sh(gui(model + " --input data/inputs/seven.pgm --window=-60:60:-60:60 --max-regions 10000000 --cancel-after 1000 --screenshot " +
                          (dir_ / "grow.png").string() + " --report " + report));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(std::ifstream(report));
  ASSERT_TRUE(j.contains("preview_at_cancel")) << "the slice ended before the cancel: " << j.dump();
  EXPECT_GT(j["preview_at_cancel"].get<double>(), 0) << "no region was on the map while the slice ran";
  EXPECT_LT(j["cancel_ms"].get<double>(), 1000);
  EXPECT_FALSE(j["complete"].get<bool>());
  EXPECT_NE(j["partial"].get<std::string>().find("cancel"), std::string::npos) << j.dump();
}

// File > Export figure: an SVG with the legend's text and the axes' titles,
// a PNG of the chosen width; another extension is refused by name.
TEST_F(GuiSmoke, FiguresExportAsSvgAndPngWithTheirLegend) {
  const std::string svg = dir_ / "fig.svg", png = dir_ / "fig.png", shot = dir_ / "shot.png";
  Result r = sh(gui("data/models/toy2d.onnx --point 1,0.5 --screenshot " + shot + " --figure " + svg));
  ASSERT_EQ(r.status, 0) << r.out;
  std::stringstream text;
  text << std::ifstream(svg).rdbuf();
  const std::string s = text.str();
  EXPECT_NE(s.find("<svg"), std::string::npos);
  for (const char* want : {"class 0", "class 1", "class 2", "x1", "x2", "picked", "toy2d.onnx"})
    EXPECT_NE(s.find(want), std::string::npos) << "the SVG lacks '" << want << "'";
  r = sh(gui("data/models/toy2d.onnx --screenshot " + shot + " --figure " + png));
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(read_pixels(png).width, 1200);
  r = sh(gui("data/models/toy2d.onnx --screenshot " + shot + " --figure " + (dir_ / "fig.jpg").string()));
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("fig.jpg: a figure is saved as .svg or .png"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(dir_ / "fig.jpg"));
}

// Analysis → Bound: the ball around the picked point is drawn on the map
// with its bound; for a two-input model sliced in its own plane the ball is
// the square around the point, and the bound equals `tessera bound`'s.
TEST_F(GuiSmoke, TheBoundedBallIsDrawnWithItsBound) {
  const std::string png = dir_ / "ball.png", report = dir_ / "ball.json";
  const Result r = sh(gui("data/models/trained/moons_plain.onnx --point 0.5,0.25 --bound 0.3 --view map --screenshot " + png +
                          " --report " + report));
  ASSERT_EQ(r.status, 0) << r.out;
  const auto j = nlohmann::json::parse(std::ifstream(report));
  ASSERT_TRUE(j.contains("ball")) << j.dump();
  const auto& b = j["ball"];
  EXPECT_TRUE(b["exact_complete"].get<bool>());
  ASSERT_EQ(b["outline"].size(), 4u);  // the square [0.2, 0.8] x [-0.05, 0.55]
  double umin = 1e9, umax = -1e9, vmin = 1e9, vmax = -1e9;
  for (const auto& v : b["outline"]) {
    umin = std::min(umin, v[0].get<double>());
    umax = std::max(umax, v[0].get<double>());
    vmin = std::min(vmin, v[1].get<double>());
    vmax = std::max(vmax, v[1].get<double>());
  }
  EXPECT_NEAR(umin, 0.2, 1e-9);
  EXPECT_NEAR(umax, 0.8, 1e-9);
  EXPECT_NEAR(vmin, -0.05, 1e-9);
  EXPECT_NEAR(vmax, 0.55, 1e-9);
  ASSERT_TRUE(b["argmax_on_map"].is_array());
  EXPECT_NE(b["label"].get<std::string>().find("eps 0.3"), std::string::npos);
  // The same ball on the command line.
  const Result cli = sh(std::string("echo '0.5 0.25' > ") + (dir_ / "c.txt").string() + " && '" + TESSERA_EXE +
                        "' bound data/models/trained/moons_plain.onnx --input " + (dir_ / "c.txt").string() +
                        " --eps 0.3 --method exact --json");
  ASSERT_EQ(cli.status, 0) << cli.out;
  const auto c = nlohmann::json::parse(cli.out);
  EXPECT_NEAR(b["exact_upper"].get<double>(), c["upper_bound"].get<double>(), 1e-6);
  EXPECT_LE(b["exact_upper"].get<double>(), b["crown_upper"].get<double>() + 1e-12);
  EXPECT_GT(distinct_colours(png), 20u);
  // Misuse ends with a message, not a two-minute wait.
  const Result no_point = sh(gui("data/models/trained/moons_plain.onnx --bound 0.3 --screenshot " + png));
  EXPECT_EQ(no_point.status, 2) << no_point.out;
  EXPECT_NE(no_point.out.find("--bound needs --point"), std::string::npos) << no_point.out;
  const Result negative = sh(gui("data/models/trained/moons_plain.onnx --point 0.5,0.25 --bound -1 --screenshot " + png));
  EXPECT_EQ(negative.status, 1) << negative.out;
  EXPECT_NE(negative.out.find("radius"), std::string::npos) << negative.out;
}
