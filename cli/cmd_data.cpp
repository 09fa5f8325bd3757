// tessera data SOURCE --in DIR --out OUT: a public image data set, as
// distributed, converted to the IDX files `tessera train --data idx:OUT`
// and `tessera eval` read (io/dataset_convert.hpp).
#include <iostream>
#include <sstream>

#include "cli/commands.hpp"
#include "cli/common.hpp"
#include "cli/progress.hpp"
#include "cli/stop.hpp"
#include "core/error.hpp"
#include "io/dataset_convert.hpp"

namespace tessera::cli {

namespace {

const char* kDataUsage =
    "tessera data SOURCE --in DIR --out OUT [--force] [--json]\n\n"
    "Converts a public image data set, as distributed (extract the archive first), into\n"
    "OUT/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz (unsigned bytes, labels from 0) and\n"
    "OUT/classes.txt (one class name a line, label 0 first), for --data idx:OUT. Prints each file's\n"
    "number of items, shape and the SHA-256 of its uncompressed content (zcat FILE | sha256sum).\n\n"
    "Sources (the files read from DIR):\n"
    "  emnist-letters  emnist-letters-{train,test}-{images-idx3,labels-idx1}-ubyte[.gz]: 28x28 images,\n"
    "                  transposed to read upright as MNIST does; labels 1..26 (letters a..z) written\n"
    "                  as 0..25\n"
    "  cifar10         data_batch_1.bin .. data_batch_5.bin, test_batch.bin (the binary version):\n"
    "                  3x32x32 colour images; labels 0..9 (airplane .. truck)\n"
    "  cifar100        train.bin, test.bin (the binary version): 3x32x32; --labels fine (0..99, the\n"
    "                  default) or coarse (0..19); names from fine_label_names.txt or\n"
    "                  coarse_label_names.txt when DIR has them\n"
    "  cifar10-gray    CIFAR-10's files made gray and 28x28, N x 28 x 28 as MNIST: the paper's\n"
    "                  out-distribution for MNIST, made as its code does (--resize pil: each colour\n"
    "                  resized by Pillow's antialiased bilinear filter, then the mean of R, G, B)\n"
    "  svhn            train_32x32.mat, test_32x32.mat [extra_32x32.mat with --extra, added to\n"
    "                  train] (cropped digits): 3x32x32; labels 1..10 with 10 meaning the digit 0,\n"
    "                  written as the digit 0..9\n\n"
    "Existing output files are refused unless --force; Ctrl-C stops before anything is written\n"
    "(exit status 4).";

const char* kDataExamples =
    "  tar xf cifar-10-binary.tar.gz && tessera data cifar10 --in cifar-10-batches-bin --out data/cifar10\n"
    "  tessera data cifar10-gray --in cifar-10-batches-bin --out data/cifar10-gray\n"
    "  tessera data cifar100 --in cifar-100-binary --out data/cifar100-coarse --labels coarse\n"
    "  unzip gzip.zip && tessera data emnist-letters --in gzip --out data/emnist-letters\n"
    "  tessera data svhn --in svhn --out data/svhn --json > svhn.json\n"
    "  tessera eval model.onnx --data mnist --out-dist idx:data/cifar10-gray,idx:data/emnist-letters\n";

std::string shape_text(const std::vector<int>& dims) {
  std::string s = "[";
  for (std::size_t i = 0; i < dims.size(); ++i) s += (i ? ", " : "") + std::to_string(dims[i]);
  return s + "]";
}

}  // namespace

int run_data(const std::vector<std::string>& args) {
  po::options_description opts("Options");
  opts.add_options()("help,h", "show this help")(
      "in", po::value<std::string>()->required(), "folder of the extracted data set")(
      "out", po::value<std::string>()->required(), "output folder (created when missing)")(
      "labels", po::value<std::string>(), "cifar100: fine (100 classes, the default) or coarse (20)")(
      "resize", po::value<std::string>(),
      "cifar10-gray: pil (the paper's: Pillow's antialiased bilinear per colour, then the mean of R, G, B; the "
      "default), or luma 0.2989 R + 0.5870 G + 0.1140 B resized by bilinear (half-pixel centres, TF2's "
      "tf.image.resize) or legacy (TF1's resize_bilinear: source = destination * 32/28)")(
      "extra", "svhn: append extra_32x32.mat (531131 images) to the training split")(
      "force", "overwrite existing output files")("json", "print the summary as one JSON object");
  opts.add(limit_options());
  po::options_description hidden;
  hidden.add_options()("source", po::value<std::string>()->required(), "data set");
  po::positional_options_description pos;
  pos.add("source", 1);
  po::variables_map vm;
  if (!parse(args, opts, pos, vm, kDataUsage, kDataExamples, &hidden, /*out_is_folder=*/true)) return kOk;

  DatasetConvertOptions o;
  try {
    o.source = parse_data_source(vm["source"].as<std::string>());
  } catch (const Error& e) {
    throw po::error(e.what());  // like an unknown command: a usage error
  }
  o.in_dir = vm["in"].as<std::string>();
  o.out_dir = vm["out"].as<std::string>();
  o.force = vm.count("force") > 0;
  if (vm.count("labels")) {
    if (o.source != DataSource::kCifar100) throw Error("--labels is for cifar100 only");
    const std::string l = vm["labels"].as<std::string>();
    if (l != "fine" && l != "coarse") throw Error("--labels '" + l + "': expected fine or coarse");
    o.cifar100_labels = l == "fine" ? CifarLabel::kCifar100Fine : CifarLabel::kCifar100Coarse;
  }
  if (vm.count("resize")) {
    if (o.source != DataSource::kCifar10Gray) throw Error("--resize is for cifar10-gray only");
    o.resize = parse_resize_method(vm["resize"].as<std::string>());
  }
  if (vm.count("extra")) {
    if (o.source != DataSource::kSvhn) throw Error("--extra is for svhn only");
    o.svhn_extra = true;
  }
  const bool json = vm.count("json") > 0;
  LabelledProgress progress(progress_wanted(vm, json));
  o.monitor.cancel = stop_flag();
  o.monitor.progress = [&](std::size_t done, std::size_t total, const std::string& label) {
    progress.update(done, total, label);
  };

  const DatasetConvertSummary s = convert_dataset(o);
  progress.finish();
  const std::string source = data_source_name(o.source);
  if (!s.complete) {
    std::cerr << "tessera data: " << describe_stop(s.stop_reason) << " before writing: no output file was written\n";
    return kIncomplete;
  }
  std::ostringstream out;
  if (json) {
    nlohmann::json j;
    j["dataset"] = source;
    j["in"] = o.in_dir;
    j["out"] = o.out_dir;
    j["inputs"] = s.inputs;
    j["images"] = s.images;
    j["labels"] = s.labels;
    j["classes"] = s.classes;
    j["classes_file"] = s.classes_path;
    j["files"] = nlohmann::json::array();
    for (const ConvertedFile& f : s.files)
      j["files"].push_back({{"path", f.path}, {"items", f.dims[0]}, {"shape", f.dims}, {"sha256", f.sha256},
                            {"bytes", f.bytes}});
    out << j.dump(2) << "\n";
  } else {
    out << source << ": read " << s.inputs.size() << " file" << (s.inputs.size() == 1 ? "" : "s") << " from "
        << o.in_dir << "\n";
    for (const ConvertedFile& f : s.files)
      out << "  wrote " << f.path << ": " << f.dims[0] << (f.dims.size() > 1 ? " image" : " label")
          << (f.dims[0] == 1 ? " " : "s ") << shape_text(f.dims) << ", sha256 " << f.sha256 << "\n";
    out << "  wrote " << s.classes_path << ": " << s.classes.size() << " class names\n";
    out << "images: " << s.images << "\n";
    out << "labels: " << s.labels << "\n";
    out << "(sha256 of the uncompressed content: zcat FILE | sha256sum; use the set as --data idx:" << o.out_dir
        << ")\n";
  }
  std::cout << out.str();
  return kOk;
}

}  // namespace tessera::cli
