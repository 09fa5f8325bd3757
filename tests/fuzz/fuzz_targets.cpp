// libFuzzer targets for every reader of user files (built by scripts/fuzz.sh
// with clang, -fsanitize=fuzzer,address,undefined). Each returns normally on
// success or on tessera::Error (a clear refusal); anything else — a crash, a
// sanitizer report, another exception, a hang — is a finding. One source,
// one target per TESSERA_FUZZ_TARGET value.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "core/error.hpp"
#include "core/forward.hpp"
#include "io/input_box.hpp"
#include "io/input_io.hpp"
#include "core/limits.hpp"
#include "io/onnx_io.hpp"
#include "tests/fuzz/generators.hpp"

namespace {

// The readers take paths: write the input to a private temporary file.
std::string as_file(const uint8_t* data, size_t size) {
  static const std::string path = "/tmp/tessera_fuzz_" + std::to_string(::getpid());
  FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) __builtin_trap();
  if (size) std::fwrite(data, 1, size, f);
  std::fclose(f);
  return path;
}

}  // namespace

// A memory budget well under libFuzzer's -rss_limit_mb (2048): whatever the
// budget lets through must fit, and whatever is larger must be refused
// before it is allocated. 64 MiB also bounds the work of legitimate large
// tables, which is linear in their size (a 40 M-entry Pad gather takes
// 0.3 s natively but more than the 10 s timeout under ASan).
extern "C" int LLVMFuzzerInitialize(int*, char***) {
  tessera::set_memory_budget(std::int64_t{64} << 20);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
#if TESSERA_FUZZ_TARGET == 1  // ONNX models: parse, then run the network once
    const tessera::Network net = tessera::parse_onnx(std::string(reinterpret_cast<const char*>(data), size), "fuzz.onnx");
    if (net.input_size() <= 100000) tessera::logits(net, tessera::Vector::Zero(net.input_size()));
#elif TESSERA_FUZZ_TARGET == 2  // IDX files (gzipped or not): all items, and a slice of them
    const std::string path = as_file(data, size);
    tessera::read_idx(path);
    tessera::read_idx(path, 1, 2, false);
#elif TESSERA_FUZZ_TARGET == 3  // text / CSV vectors: the whole file and one row
    const std::string path = as_file(data, size);
    tessera::read_vector_file(path);
    tessera::read_vector_file(path, 2);
#elif TESSERA_FUZZ_TARGET == 4  // PNG and PGM images, and input dispatch by content
    const std::string path = as_file(data, size);
    try {
      tessera::read_image(path);
    } catch (const tessera::Error&) {
    }
    tessera::read_input_for(tessera::Shape({1, 4, 4}), path);
#elif TESSERA_FUZZ_TARGET == 5  // shape arithmetic: structured models with extreme sizes
    tessera::fuzz::Bytes b{data, size};
    const tessera::Network net = tessera::parse_onnx(tessera::fuzz::shape_model(b), "shapes.onnx");
    if (net.input_size() <= 100000) tessera::logits(net, tessera::Vector::Zero(net.input_size()));
#elif TESSERA_FUZZ_TARGET == 6  // compressed IDX: the bytes gzipped, read with a model's item size and a range
    const std::string gz = tessera::fuzz::gzipped(data, size);
    const std::string path = as_file(reinterpret_cast<const uint8_t*>(gz.data()), gz.size());
    const int64_t item = size > 0 ? 1 + data[0] % 64 : 4;
    try {
      tessera::read_idx_header(path);
    } catch (const tessera::Error&) {
    }
    try {
      tessera::read_idx(path, 0, 3, true, item);
    } catch (const tessera::Error&) {
    }
    tessera::read_input_for(tessera::Shape({static_cast<int>(item)}), path, size > 1 ? data[1] % 4 : 0);
#elif TESSERA_FUZZ_TARGET == 7  // input boxes: VNN-LIB input bounds or two rows, for 1..8 and 784 inputs
    const std::string text(reinterpret_cast<const char*>(data), size);
    try {
      tessera::parse_input_box(text, size > 0 ? 1 + data[0] % 8 : 2, "fuzz.vnnlib");
    } catch (const tessera::Error&) {
    }
    tessera::parse_input_box(text, 784, "fuzz.vnnlib");
#else
#error "set TESSERA_FUZZ_TARGET to 1..7"
#endif
  } catch (const tessera::Error&) {
  }
  return 0;
}
