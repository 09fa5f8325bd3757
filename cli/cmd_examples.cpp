// tessera examples DIR: regenerate the example models and inputs of data/.
#include <cmath>
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "core/error.hpp"
#include "core/example_networks.hpp"
#include "io/file_util.hpp"
#include "io/onnx_io.hpp"

namespace tessera::cli {

namespace {

// A 28x28 gray "7" drawn with two thick strokes (binary PGM), so that the
// image models have a shipped input that looks like a digit.
std::string seven_pgm() {
  std::string pixels(28 * 28, '\0');
  auto stroke = [&](double x0, double y0, double x1, double y1) {
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        const double dx = x1 - x0, dy = y1 - y0;
        double t = ((x - x0) * dx + (y - y0) * dy) / (dx * dx + dy * dy);
        t = std::clamp(t, 0.0, 1.0);
        const double d = std::hypot(x - (x0 + t * dx), y - (y0 + t * dy));
        const int v = static_cast<int>(std::lround(255.0 * std::clamp(2.2 - d, 0.0, 1.0)));
        auto& p = reinterpret_cast<unsigned char&>(pixels[y * 28 + x]);
        p = static_cast<unsigned char>(std::max<int>(p, v));
      }
  };
  stroke(7, 7, 21, 7);
  stroke(21, 7, 12, 23);
  return "P5\n# a hand-drawn seven made by `tessera examples`\n28 28\n255\n" + pixels;
}

}  // namespace

int run_examples(const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help");
  po::options_description hidden;
  hidden.add_options()("dir", po::value<std::string>()->default_value("data"), "data directory");
  po::positional_options_description pos;
  pos.add("dir", 1);
  opts.add(limit_options());
  po::variables_map vm;
  if (!parse(args, opts, pos, vm, "tessera examples [DATA_DIR]",
             "  tessera examples data      # rewrites data/models/*.onnx and data/inputs/*\n", &hidden))
    return kOk;
  namespace fs = std::filesystem;
  const fs::path dir = vm["dir"].as<std::string>();
  std::error_code ec;
  fs::create_directories(dir / "models", ec);
  fs::create_directories(dir / "inputs", ec);
  if (ec) throw Error(dir.string() + ": cannot create directories: " + ec.message());
  struct Made {
    const char* file;
    Network net;
  };
  const Made models[] = {
      {"toy2d.onnx", random_mlp(2, {8, 8}, 3, 1)},
      {"toy2d_leaky.onnx", random_mlp(2, {16, 16}, 3, 11, 0.1)},
      {"mnist_mlp.onnx", random_mlp(784, {64, 32}, 10, 2)},
      {"mnist_cnn.onnx", random_lenet(3, 8, 16, 64)},
  };
  for (const Made& m : models) {
    const fs::path p = dir / "models" / m.file;
    save_onnx(m.net, p.string());
    std::cout << "wrote " << p.string() << " (" << m.net.parameter_count() << " parameters)\n";
  }
  write_file_atomically((dir / "inputs" / "toy2d_point.txt").string(), "# a point in the plane\n0.5 -0.25\n");
  write_file_atomically((dir / "inputs" / "seven.pgm").string(), seven_pgm());
  {
    // Seeded uniform noise as a 28x28 image: a generic point, on no
    // max-pool tie (unlike the seven's constant background).
    SeededRandom rng(28);
    std::string pixels(28 * 28, '\0');
    for (char& p : pixels) p = static_cast<char>(static_cast<unsigned char>(rng.next() >> 56));
    write_file_atomically((dir / "inputs" / "noise.pgm").string(), "P5\n# uniform noise made by `tessera examples`\n28 28\n255\n" + pixels);
  }
  std::cout << "wrote " << (dir / "inputs").string() << "/toy2d_point.txt, seven.pgm, noise.pgm\n";
  return kOk;
}

}  // namespace tessera::cli
