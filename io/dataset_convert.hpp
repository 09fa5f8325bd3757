// Public image data sets converted to the IDX layout Tessera's loaders read
// (`tessera data`; training/dataset.cpp reads the result as --data idx:OUT):
//   OUT/train-images-idx3-ubyte.gz   unsigned bytes, N x H x W or N x C x H x W
//   OUT/train-labels-idx1-ubyte.gz   unsigned bytes, N, labels from 0
//   OUT/t10k-images-idx3-ubyte.gz    the test split, same layout
//   OUT/t10k-labels-idx1-ubyte.gz
//   OUT/classes.txt                  one class name per line, label 0 first
// Every source is read as distributed, after its archive was extracted.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "io/gray_resize.hpp"

namespace tessera {

enum class DataSource {
  kEmnistLetters,  // emnist-letters-{train,test}-{images-idx3,labels-idx1}-ubyte[.gz]: 28x28, transposed back
  kCifar10,        // data_batch_{1..5}.bin, test_batch.bin: N x 3 x 32 x 32
  kCifar100,       // train.bin, test.bin: N x 3 x 32 x 32, fine or coarse labels
  kCifar10Gray,    // CIFAR-10 as N x 28 x 28 gray images (gray_resize)
  kSvhn,           // train_32x32.mat, test_32x32.mat [, extra_32x32.mat]: N x 3 x 32 x 32
};

// {"emnist-letters", "..."}, ...: the names `tessera data` takes, with one
// line each on what is read.
std::vector<std::pair<std::string, std::string>> data_source_names();
// tessera::Error "unknown data set 'x' (expected ...)" for another name.
DataSource parse_data_source(const std::string& name);
const char* data_source_name(DataSource source);

// Images and labels of one split, as they will be written.
struct ImageSet {
  std::vector<int> dims;             // [N, H, W] or [N, C, H, W]
  std::vector<std::uint8_t> images;  // N x item bytes, row-major
  std::vector<std::uint8_t> labels;  // N labels, from 0
  std::int64_t count() const { return dims.empty() ? 0 : dims[0]; }
};

// Thrown by the readers when the monitor's cancel flag is set;
// convert_dataset() catches it and writes nothing.
struct ConvertCancelled : std::exception {
  const char* what() const noexcept override { return "cancelled"; }
};

// Cancellation and progress, polled between records.
struct ConvertMonitor {
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(std::size_t done, std::size_t total, const std::string& label)> progress;
  // Reports progress (if set), then throws ConvertCancelled if *cancel.
  void poll(std::size_t done, std::size_t total, const std::string& label) const;
};

// The readers, one per format. Each throws tessera::Error naming the file
// and what is wrong (missing, truncated with the byte offset or the expected
// and actual sizes, a label out of range, a variable of the wrong size).
//
// EMNIST (IDX, gzipped or not): images N x 28 x 28 stored transposed, so
// each is transposed back (out[r][c] = in[c][r]); labels 1..26 become
// 0..25 (a..z).
ImageSet read_emnist_letters(const std::string& images_path, const std::string& labels_path,
                             const ConvertMonitor& monitor = {});
// Which label of a CIFAR record is kept: CIFAR-10's one byte, or CIFAR-100's
// first (coarse, 0..19) or second (fine, 0..99) byte.
enum class CifarLabel { kCifar10, kCifar100Coarse, kCifar100Fine };
// Appends the records of one CIFAR binary batch to `set`: each record is the
// label byte(s), then 3072 bytes (1024 red, 1024 green, 1024 blue, each
// 32 x 32 row-major), kept as 3 x 32 x 32, or, with `gray`, made 28 x 28 gray
// by gray_resize(*gray). The file must be a whole number of records.
void append_cifar_batch(const std::string& path, CifarLabel label, const ResizeMethod* gray, ImageSet& set,
                        const ConvertMonitor& monitor = {});
// SVHN's cropped digits (MATLAB v5/v7 .mat, read with libmatio): X is uint8
// 32 x 32 x 3 x N, column-major, i.e. X(row, col, channel, n); y is N x 1
// with labels 1..10, 10 meaning the digit 0. Returns N x 3 x 32 x 32
// row-major images, labels 0..9.
ImageSet read_svhn_mat(const std::string& path, const ConvertMonitor& monitor = {});

struct DatasetConvertOptions {
  DataSource source = DataSource::kCifar10;
  std::string in_dir;   // the extracted archive's folder
  std::string out_dir;  // created when missing
  CifarLabel cifar100_labels = CifarLabel::kCifar100Fine;        // kCifar100: fine or coarse
  ResizeMethod resize = ResizeMethod::kPil;                      // kCifar10Gray
  bool svhn_extra = false;  // kSvhn: append extra_32x32.mat to the training split
  bool force = false;       // overwrite existing output files
  ConvertMonitor monitor;
  // tessera::Error naming the option, for options that do not fit the source.
  void validate() const;
};

struct ConvertedFile {
  std::string path;         // OUT/train-images-idx3-ubyte.gz, ...
  std::vector<int> dims;    // the IDX dims, dims[0] = items
  std::string sha256;       // of the uncompressed IDX content (zcat FILE | sha256sum)
  std::int64_t bytes = 0;   // on disk, gzipped
};

struct DatasetConvertSummary {
  bool complete = false;           // false: cancelled, nothing was written
  std::string stop_reason;         // "cancelled" when not complete
  std::vector<std::string> inputs;            // the files read
  std::vector<ConvertedFile> files;           // train images, train labels, test images, test labels
  std::string classes_path;                   // OUT/classes.txt
  std::vector<std::string> classes;           // label i's name
  std::string labels;                         // how the files' labels were mapped
  std::string images;                         // what the images are (shape, transforms)
};

// The output paths (the four IDX files, then classes.txt) for OUT.
std::vector<std::string> dataset_output_paths(const std::string& out_dir);

// Reads every input, then compresses and writes the outputs: nothing is
// written when reading fails or is cancelled, and each file is replaced
// atomically. Refuses (tessera::Error) before reading anything when an
// output file exists and force is off, or when an input is missing (naming
// it, and telling to extract an archive found instead). Memory: the images
// of both splits, about twice over, checked against the memory budget.
DatasetConvertSummary convert_dataset(const DatasetConvertOptions& options);

}  // namespace tessera
