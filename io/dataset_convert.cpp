#include "io/dataset_convert.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "core/error.hpp"
#include "core/limits.hpp"
#include "io/file_util.hpp"
#include "io/idx_write.hpp"
#include "io/input_io.hpp"
#include "io/sha256.hpp"

namespace tessera {

namespace fs = std::filesystem;

namespace {

constexpr int kCifarPixels = 3 * 32 * 32;  // bytes of one CIFAR image
constexpr std::size_t kPollEvery = 1000;   // records between polls

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_archive(const std::string& name) {
  for (const char* ext : {".tar.gz", ".tgz", ".tar", ".zip", ".tar.bz2", ".tar.xz"})
    if (ends_with(name, ext)) return true;
  return false;
}

// How to extract an archive next to itself.
std::string extract_command(const std::string& path) {
  const std::string parent = fs::path(path).parent_path().empty() ? "." : fs::path(path).parent_path().string();
  return ends_with(path, ".zip") ? "unzip " + path + " -d " + parent : "tar xf " + path + " -C " + parent;
}

// Refuses an --in that is not a folder; an archive is named as such.
void check_input_folder(const std::string& dir) {
  std::error_code ec;
  const fs::file_status st = fs::status(dir, ec);
  if (!fs::exists(st)) throw Error(dir + ": input folder does not exist");
  if (fs::is_directory(st)) return;
  if (is_archive(dir))
    throw Error(dir + ": is an archive; extract it first (" + extract_command(dir) + ") and give the folder it makes");
  throw Error(dir + ": is a file, not the folder of the extracted data set");
}

// DIR/name (or, with gz, DIR/name.gz); when missing, says so and points at
// an archive in DIR still to be extracted, or a subfolder that holds it.
std::string input_file(const std::string& dir, const std::string& name, bool gz = false) {
  const std::vector<std::string> candidates = gz ? std::vector<std::string>{name + ".gz", name} : std::vector<std::string>{name};
  for (const std::string& c : candidates)
    if (fs::is_regular_file(fs::path(dir) / c)) return (fs::path(dir) / c).string();
  const std::string missing = (fs::path(dir) / name).string() + (gz ? "[.gz]" : "") + ": missing";
  std::string archive;
  std::error_code ec;
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory(ec))
      for (const std::string& c : candidates)
        if (fs::is_regular_file(e.path() / c))
          throw Error(missing + "; it is in " + e.path().string() + ": give --in " + e.path().string());
    if (archive.empty() && e.is_regular_file(ec) && is_archive(e.path().filename().string())) archive = e.path().string();
  }
  if (!archive.empty())
    throw Error(missing + "; " + dir + " holds " + fs::path(archive).filename().string() + ": extract it first (" +
                extract_command(archive) + ")");
  throw Error(missing);
}

// OUT is a writable folder, or can be made in the nearest folder above it
// that exists.
void check_output_folder(const std::string& out_dir) {
  std::error_code ec;
  fs::path p = fs::absolute(out_dir, ec);
  if (fs::exists(p, ec) && !fs::is_directory(p, ec)) throw Error(out_dir + ": exists and is not a folder");
  while (!p.empty() && !fs::exists(p, ec)) p = p.parent_path();
  if (p.empty() || !fs::is_directory(p, ec)) throw Error(out_dir + ": cannot create the output folder");
  if (::access(p.c_str(), W_OK) != 0)
    throw Error(out_dir + ": cannot write in " + p.string() + ": " + std::strerror(errno));
}

std::string read_whole(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (!ec) check_memory(static_cast<std::int64_t>(size), path);
  return read_file(path);
}

// Class names from a text file of the release (one a line), or none.
std::vector<std::string> read_class_names(const std::string& path, std::size_t expected) {
  if (!fs::is_regular_file(path)) return {};
  std::ifstream in(path);
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    if (!line.empty()) names.push_back(line);
  }
  if (names.size() != expected)
    throw Error(path + ": holds " + std::to_string(names.size()) + " class names; expected " + std::to_string(expected));
  return names;
}

std::vector<std::string> numbers(int n) {
  std::vector<std::string> v;
  for (int i = 0; i < n; ++i) v.push_back(std::to_string(i));
  return v;
}

std::string idx_file_name(const std::string& split, bool images) {
  return split + (images ? "-images-idx3-ubyte.gz" : "-labels-idx1-ubyte.gz");
}

}  // namespace

std::vector<std::pair<std::string, std::string>> data_source_names() {
  return {{"emnist-letters", "EMNIST letters (IDX release): 124800 + 20800 images 28x28, labels a..z as 0..25"},
          {"cifar10", "CIFAR-10 binary version: 50000 + 10000 colour images 3x32x32, 10 classes"},
          {"cifar100", "CIFAR-100 binary version: 50000 + 10000 colour images 3x32x32, 100 fine or 20 coarse classes"},
          {"cifar10-gray", "CIFAR-10 made gray and resized to 28x28 (an out-distribution for MNIST models)"},
          {"svhn", "SVHN cropped digits (.mat): 73257 + 26032 colour images 3x32x32, digits 0..9"}};
}

DataSource parse_data_source(const std::string& name) {
  if (name == "emnist-letters") return DataSource::kEmnistLetters;
  if (name == "cifar10") return DataSource::kCifar10;
  if (name == "cifar100") return DataSource::kCifar100;
  if (name == "cifar10-gray") return DataSource::kCifar10Gray;
  if (name == "svhn") return DataSource::kSvhn;
  std::string all;
  for (const auto& [n, what] : data_source_names()) all += (all.empty() ? "" : ", ") + n;
  throw Error("unknown data set '" + name + "' (expected one of: " + all + ")");
}

const char* data_source_name(DataSource source) {
  switch (source) {
    case DataSource::kEmnistLetters: return "emnist-letters";
    case DataSource::kCifar10: return "cifar10";
    case DataSource::kCifar100: return "cifar100";
    case DataSource::kCifar10Gray: return "cifar10-gray";
    case DataSource::kSvhn: return "svhn";
  }
  return "?";
}

void ConvertMonitor::poll(std::size_t done, std::size_t total, const std::string& label) const {
  if (progress) progress(done, total, label);
  if (cancel && cancel->load()) throw ConvertCancelled();
}

ImageSet read_emnist_letters(const std::string& images_path, const std::string& labels_path,
                             const ConvertMonitor& monitor) {
  IdxBytes img = read_idx_bytes(images_path);
  if (img.dims.size() != 3 || img.dims[1] != 28 || img.dims[2] != 28) {
    std::string shape;
    for (std::size_t i = 0; i < img.dims.size(); ++i) shape += (i ? " x " : "") + std::to_string(img.dims[i]);
    throw Error(images_path + ": expected N x 28 x 28 images (EMNIST), found " + shape);
  }
  const IdxBytes lab = read_idx_bytes(labels_path);
  if (lab.dims.size() != 1) throw Error(labels_path + ": expected a 1-dimensional label file");
  if (lab.dims[0] != img.dims[0])
    throw Error(labels_path + " holds " + std::to_string(lab.dims[0]) + " labels but " + images_path + " holds " +
                std::to_string(img.dims[0]) + " images");
  ImageSet set;
  set.dims = img.dims;
  const std::size_t n = static_cast<std::size_t>(img.dims[0]);
  set.images.resize(img.bytes.size());
  set.labels.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    if (i % kPollEvery == 0) monitor.poll(i, n, fs::path(images_path).filename().string());
    const int label = lab.bytes[i];
    if (label < 1 || label > 26)
      throw Error(labels_path + ": label " + std::to_string(label) + " of item " + std::to_string(i) +
                  " is outside 1..26 (is this the letters split?)");
    set.labels[i] = static_cast<std::uint8_t>(label - 1);
    const std::uint8_t* in = img.bytes.data() + i * 784;
    std::uint8_t* out = set.images.data() + i * 784;
    for (int r = 0; r < 28; ++r)
      for (int c = 0; c < 28; ++c) out[r * 28 + c] = in[c * 28 + r];
  }
  return set;
}

void append_cifar_batch(const std::string& path, CifarLabel label, const ResizeMethod* gray, ImageSet& set,
                        const ConvertMonitor& monitor) {
  const int label_bytes = label == CifarLabel::kCifar10 ? 1 : 2;
  const int label_at = label == CifarLabel::kCifar100Fine ? 1 : 0;
  const int classes = label == CifarLabel::kCifar10 ? 10 : label == CifarLabel::kCifar100Fine ? 100 : 20;
  const std::int64_t record = label_bytes + kCifarPixels;
  const std::string bytes = read_whole(path);
  const auto size = static_cast<std::int64_t>(bytes.size());
  if (size == 0) throw Error(path + ": empty (expected records of " + std::to_string(record) + " bytes)");
  if (size % record != 0) {
    const std::int64_t whole = size / record;
    throw Error(path + ": truncated: " + std::to_string(size) + " bytes are not a whole number of " +
                std::to_string(record) + "-byte records; record " + std::to_string(whole) + " (at byte offset " +
                std::to_string(whole * record) + ") has only " + std::to_string(size - whole * record) + " of its " +
                std::to_string(record) + " bytes");
  }
  const std::int64_t n = size / record;
  const std::vector<int> item = gray ? std::vector<int>{28, 28} : std::vector<int>{3, 32, 32};
  if (set.dims.empty()) {
    set.dims = {0};
    set.dims.insert(set.dims.end(), item.begin(), item.end());
  }
  const std::int64_t item_bytes = gray ? 28 * 28 : kCifarPixels;
  const std::int64_t before = set.count();
  if (before + n > (std::int64_t{1} << 30)) throw Error(path + ": too many images in total");
  check_memory(mul_or_neg(before + n, item_bytes + 1), path + ": " + std::to_string(before + n) + " images");
  set.images.resize(static_cast<std::size_t>((before + n) * item_bytes));
  set.labels.resize(static_cast<std::size_t>(before + n));
  const std::string name = fs::path(path).filename().string();
  for (std::int64_t i = 0; i < n; ++i) {
    if (i % kPollEvery == 0) monitor.poll(static_cast<std::size_t>(i), static_cast<std::size_t>(n), name);
    const auto* rec = reinterpret_cast<const std::uint8_t*>(bytes.data()) + i * record;
    const int y = rec[label_at];
    if (y >= classes)
      throw Error(path + ": record " + std::to_string(i) + " (byte offset " + std::to_string(i * record + label_at) +
                  "): label " + std::to_string(y) + " is outside 0.." + std::to_string(classes - 1) +
                  (label == CifarLabel::kCifar10 ? " (is this a CIFAR-100 file?)" : ""));
    set.labels[before + i] = static_cast<std::uint8_t>(y);
    std::uint8_t* out = set.images.data() + (before + i) * item_bytes;
    if (gray)
      gray_resize(rec + label_bytes, 32, 32, 28, 28, *gray, out);
    else
      std::copy(rec + label_bytes, rec + record, out);
  }
  set.dims[0] = static_cast<int>(before + n);
}

void DatasetConvertOptions::validate() const {
  if (in_dir.empty()) throw Error("no input folder given (--in)");
  if (out_dir.empty()) throw Error("no output folder given (--out)");
  if (source != DataSource::kCifar100 && cifar100_labels != CifarLabel::kCifar100Fine)
    throw Error("--labels is for cifar100 only");
  if (source == DataSource::kCifar100 && cifar100_labels == CifarLabel::kCifar10)
    throw Error("cifar100: labels must be fine or coarse");
  if (source != DataSource::kCifar10Gray && resize != ResizeMethod::kPil)
    throw Error("--resize is for cifar10-gray only");
  if (source != DataSource::kSvhn && svhn_extra) throw Error("--extra is for svhn only");
}

std::vector<std::string> dataset_output_paths(const std::string& out_dir) {
  std::vector<std::string> paths;
  for (const char* split : {"train", "t10k"})
    for (bool images : {true, false}) paths.push_back((fs::path(out_dir) / idx_file_name(split, images)).string());
  paths.push_back((fs::path(out_dir) / "classes.txt").string());
  return paths;
}

DatasetConvertSummary convert_dataset(const DatasetConvertOptions& o) {
  o.validate();
  check_input_folder(o.in_dir);
  const std::string& in = o.in_dir;
  DatasetConvertSummary s;

  // Every input is found, and every output checked, before anything is read.
  std::vector<std::string> train_files, test_files;
  switch (o.source) {
    case DataSource::kEmnistLetters:
      train_files = {input_file(in, "emnist-letters-train-images-idx3-ubyte", true),
                     input_file(in, "emnist-letters-train-labels-idx1-ubyte", true)};
      test_files = {input_file(in, "emnist-letters-test-images-idx3-ubyte", true),
                    input_file(in, "emnist-letters-test-labels-idx1-ubyte", true)};
      break;
    case DataSource::kCifar10:
    case DataSource::kCifar10Gray:
      for (int b = 1; b <= 5; ++b) train_files.push_back(input_file(in, "data_batch_" + std::to_string(b) + ".bin"));
      test_files = {input_file(in, "test_batch.bin")};
      break;
    case DataSource::kCifar100:
      train_files = {input_file(in, "train.bin")};
      test_files = {input_file(in, "test.bin")};
      break;
    case DataSource::kSvhn:
      train_files = {input_file(in, "train_32x32.mat")};
      if (o.svhn_extra) train_files.push_back(input_file(in, "extra_32x32.mat"));
      test_files = {input_file(in, "test_32x32.mat")};
      break;
  }
  s.inputs = train_files;
  s.inputs.insert(s.inputs.end(), test_files.begin(), test_files.end());

  check_output_folder(o.out_dir);
  std::error_code ec;
  const std::vector<std::string> outputs = dataset_output_paths(o.out_dir);
  if (!o.force)
    for (const std::string& p : outputs)
      if (fs::exists(fs::symlink_status(p, ec)))
        throw Error(p + ": exists; give --force to overwrite it (nothing was written)");

  // Class names and what the labels mean.
  switch (o.source) {
    case DataSource::kEmnistLetters:
      for (char c = 'a'; c <= 'z'; ++c) s.classes.push_back(std::string(1, c));
      s.labels = "labels 1..26 (letters a..z) in the files, written as 0..25";
      s.images = "28x28 gray, transposed back from EMNIST's column-major storage (upright, as MNIST)";
      break;
    case DataSource::kCifar10:
    case DataSource::kCifar10Gray:
      s.classes = {"airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"};
      s.labels = "labels 0..9 as in the files";
      s.images = o.source == DataSource::kCifar10
                     ? "3x32x32 colour, channel planes R, G, B"
                 : o.resize == ResizeMethod::kPil
                     ? "28x28 gray as the paper: each colour resized 32 -> 28 by Pillow's antialiased bilinear filter, "
                       "then the mean of R, G, B rounded to bytes"
                     : std::string("28x28 gray: 0.2989 R + 0.5870 G + 0.1140 B on [0,1], resized 32 -> 28 ") +
                           (o.resize == ResizeMethod::kBilinearHalfPixel ? "bilinear with half-pixel centres"
                                                                         : "legacy TF1 bilinear (src = dst * 32/28)") +
                           ", rounded to bytes";
      break;
    case DataSource::kCifar100: {
      const bool fine = o.cifar100_labels == CifarLabel::kCifar100Fine;
      s.classes = read_class_names((fs::path(in) / (fine ? "fine_label_names.txt" : "coarse_label_names.txt")).string(),
                                   fine ? 100 : 20);
      if (s.classes.empty()) s.classes = numbers(fine ? 100 : 20);
      s.labels = fine ? "fine labels 0..99 (each record's second byte)" : "coarse labels 0..19 (each record's first byte)";
      s.images = "3x32x32 colour, channel planes R, G, B";
      break;
    }
    case DataSource::kSvhn:
      s.classes = numbers(10);
      s.labels = "labels 1..10 in the files, 10 meaning the digit 0: written as the digit, 0..9";
      s.images = "3x32x32 colour, channel planes R, G, B (from MATLAB's column-major X(row, col, channel, n))";
      break;
  }

  try {
    // Reading.
    ImageSet train, test;
    auto read = [&](const std::vector<std::string>& files, ImageSet& set) {
      const ResizeMethod* gray = o.source == DataSource::kCifar10Gray ? &o.resize : nullptr;
      switch (o.source) {
        case DataSource::kEmnistLetters: set = read_emnist_letters(files[0], files[1], o.monitor); break;
        case DataSource::kCifar10:
        case DataSource::kCifar10Gray:
          for (const std::string& f : files) append_cifar_batch(f, CifarLabel::kCifar10, gray, set, o.monitor);
          break;
        case DataSource::kCifar100: append_cifar_batch(files[0], o.cifar100_labels, nullptr, set, o.monitor); break;
        case DataSource::kSvhn:
          for (const std::string& f : files) {
            ImageSet part = read_svhn_mat(f, o.monitor);
            if (set.dims.empty()) {
              set = std::move(part);
              continue;
            }
            set.images.insert(set.images.end(), part.images.begin(), part.images.end());
            set.labels.insert(set.labels.end(), part.labels.begin(), part.labels.end());
            set.dims[0] += part.dims[0];
          }
          break;
      }
    };
    read(train_files, train);
    read(test_files, test);

    // Compressing, with checksums of the uncompressed content.
    std::vector<std::string> compressed;
    for (const ImageSet* set : {&train, &test}) {
      for (bool images : {true, false}) {
        ConvertedFile f;
        f.path = outputs[s.files.size()];
        f.dims = images ? set->dims : std::vector<int>{set->dims[0]};
        const std::string header = idx_ubyte_header(f.dims);
        const std::vector<std::uint8_t>& data = images ? set->images : set->labels;
        const std::vector<std::string_view> pieces{header, {reinterpret_cast<const char*>(data.data()), data.size()}};
        f.sha256 = sha256_hex(pieces);
        o.monitor.poll(s.files.size(), 4, "compressing");
        bool cancelled = false;
        compressed.push_back(gzip_compress(pieces, o.monitor.cancel, &cancelled));
        if (cancelled) throw ConvertCancelled();
        f.bytes = static_cast<std::int64_t>(compressed.back().size());
        s.files.push_back(f);
      }
    }

    // Writing: from here on, no more polls.
    fs::create_directories(o.out_dir, ec);
    if (ec) throw Error(o.out_dir + ": cannot create the output folder: " + ec.message());
    for (std::size_t i = 0; i < compressed.size(); ++i) write_file_atomically(s.files[i].path, compressed[i]);
    std::string names;
    for (const std::string& c : s.classes) names += c + "\n";
    s.classes_path = outputs.back();
    write_file_atomically(s.classes_path, names);
    s.complete = true;
  } catch (const ConvertCancelled&) {
    s.complete = false;
    s.stop_reason = "cancelled";
    s.files.clear();
  }
  return s;
}

}  // namespace tessera
