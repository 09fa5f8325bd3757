// ONNX import/export: round trips, folding, hand-built graphs, bad files.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/affine_map.hpp"
#include "core/error.hpp"
#include "core/limits.hpp"
#include "io/file_util.hpp"
#include "core/forward.hpp"
#include "io/onnx_io.hpp"
#include "tests/support/onnx_builder.hpp"
#include "tests/support/random_networks.hpp"

namespace tessera {
namespace {

using test::OnnxBuilder;
using test::relative_error;

// Expects parse_onnx(bytes) to throw an Error whose message contains every
// fragment.
void expect_error(const std::string& bytes, const std::vector<std::string>& fragments) {
  try {
    parse_onnx(bytes, "model.onnx");
    ADD_FAILURE() << "no error; expected one containing '" << fragments.front() << "'";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_EQ(msg.find('\n'), std::string::npos) << "multi-line error: " << msg;
    for (const auto& f : fragments) EXPECT_NE(msg.find(f), std::string::npos) << "message: " << msg;
  }
}

// The user guide's table of operators ("Supported models") lists exactly the
// importer's operators, and each of them is handled (a model using it gets
// past the "unsupported operator" check, whatever else is wrong with it).
std::string guide_section(const std::string& title) {
  std::ifstream in(std::string(TESSERA_SOURCE_DIR) + "/docs/user-guide.md");
  const std::string text((std::istreambuf_iterator<char>(in)), {});
  const auto a = text.find("\n" + title + "\n");
  if (a == std::string::npos) return "";
  const auto b = text.find("\n## ", a + 1);
  return text.substr(a, b == std::string::npos ? std::string::npos : b - a);
}

// First cells of the table rows that follow `header` in `section`.
std::vector<std::string> first_cells(const std::string& section, const std::string& header) {
  std::vector<std::string> out;
  std::istringstream in(section.substr(section.find(header)));
  std::string line;
  std::getline(in, line);  // the header
  std::getline(in, line);  // |---|---|
  while (std::getline(in, line) && line.rfind("| ", 0) == 0) {
    const auto a = line.find('`'), b = line.find('`', a + 1);
    if (a != std::string::npos && b != std::string::npos && a < line.find(" |", 1)) out.push_back(line.substr(a + 1, b - a - 1));
  }
  return out;
}

// The rows that follow `header` in `section`, as (first cell, second cell)
// (further cells ignored)
// with the Markdown escape \| undone.
std::vector<std::pair<std::string, std::string>> two_cells(const std::string& section, const std::string& header) {
  std::vector<std::pair<std::string, std::string>> out;
  std::istringstream in(section.substr(section.find(header)));
  std::string line;
  std::getline(in, line);
  std::getline(in, line);
  while (std::getline(in, line) && line.rfind("| ", 0) == 0) {
    std::string cells;
    for (size_t i = 0; i < line.size(); ++i) {
      if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
        cells += '\x01';  // an escaped bar, not a cell border
        ++i;
      } else {
        cells += line[i];
      }
    }
    const auto b1 = cells.find(" | ", 2);
    const auto b2 = cells.find(" | ", b1 + 3);
    const auto end = b2 != std::string::npos ? b2 : cells.rfind(" |");
    std::string first = cells.substr(2, b1 - 2), second = cells.substr(b1 + 3, end - b1 - 3);
    for (auto& c : second)
      if (c == '\x01') c = '|';
    if (first.size() > 2 && first.front() == '`' && first.back() == '`') first = first.substr(1, first.size() - 2);
    out.emplace_back(first, second);
  }
  return out;
}

TEST(OnnxImport, TheGuidesOperatorTableIsTheImportersList) {
  const std::string section = guide_section("## Supported models");
  ASSERT_FALSE(section.empty()) << "docs/user-guide.md has no 'Supported models' section";
  std::vector<std::string> documented = first_cells(section, "| ONNX operator | becomes | attributes |");
  std::sort(documented.begin(), documented.end());
  EXPECT_EQ(documented, supported_onnx_operators());
  // Row for row, the same text as the table `tessera info --operators` prints.
  const auto rows = two_cells(section, "| ONNX operator | becomes | attributes |");
  ASSERT_EQ(rows.size(), onnx_operator_table().size());
  for (size_t i = 0; i < rows.size(); ++i) {
    EXPECT_EQ(rows[i].first, onnx_operator_table()[i].name);
    EXPECT_EQ(rows[i].second, onnx_operator_table()[i].becomes) << rows[i].first;
  }
  for (const std::string& op : supported_onnx_operators()) {
    SCOPED_TRACE(op);
    OnnxBuilder b;
    b.input({1, 4});
    b.node(op, {"input"}, {"y"});
    b.output("y");
    try {
      parse_onnx(b.bytes(), "m.onnx");
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).find("unsupported operator"), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).find("internal"), std::string::npos) << e.what();
    }
  }
  // An attribute the handler does not understand is refused, naming it.
  {
    OnnxBuilder b;
    b.input({1, 4});
    auto& n = b.node("Relu", {"input"}, {"y"});
    auto* a = n.add_attribute();
    a->set_name("alpha");
    a->set_type(onnx::AttributeProto::FLOAT);
    a->set_f(0.5f);
    b.output("y");
    expect_error(b.bytes(), {"(Relu): attribute 'alpha' is not supported (this operator takes none)"});
    n.set_op_type("LeakyRelu");
    a->set_name("beta");
    expect_error(b.bytes(), {"(LeakyRelu): attribute 'beta' is not supported (supported: alpha)"});
  }
  for (const char* op : {"Sigmoid", "Tanh", "Softplus", "Elu", "Gelu", "LSTM"}) {
    OnnxBuilder b;
    b.input({1, 4});
    b.node(op, {"input"}, {"y"});
    b.output("y");
    expect_error(b.bytes(), {"unsupported operator '" + std::string(op) + "'"});
  }
}

// Every input shape of the guide's table loads (as a vector of d = 6 values,
// or an image of 1x2x3 / 2x3x1) and keeps its declared shape; a shape with
// two large dimensions that is not an image is refused.
TEST(OnnxImport, TheGuidesInputShapesLoad) {
  const std::string section = guide_section("## Supported models");
  const std::vector<std::string> shapes = first_cells(section, "| input shape | read as |");
  ASSERT_GE(shapes.size(), 6u);
  auto model = [](const std::vector<std::int64_t>& dims) {
    OnnxBuilder b;
    b.input_exact(dims);
    b.int_initializer("flat", {1, -1});
    b.initializer("W", {6, 2}, {1, 0, 0, 1, 1, 1, -1, 0, 0.5f, 2, 0, -1});
    b.node("Reshape", {"input", "flat"}, {"x"});
    b.node("MatMul", {"x", "W"}, {"y"});
    b.output("y");
    return b.bytes();
  };
  for (const std::string& shape : shapes) {
    SCOPED_TRACE(shape);
    std::vector<std::int64_t> dims;
    std::istringstream in(shape.substr(1, shape.size() - 2));
    std::string tok;
    while (std::getline(in, tok, ',')) {
      tok.erase(0, tok.find_first_not_of(' '));
      dims.push_back(tok == "N" ? 0 : tok == "d" ? 6 : tok == "C" ? 1 : tok == "H" ? 2 : tok == "W" ? 3 : std::stoll(tok));
    }
    const Network net = parse_onnx(model(dims), "m.onnx");
    EXPECT_EQ(net.input_size(), 6);
    EXPECT_EQ(net.declared_input_dims, dims);
    EXPECT_EQ(net.input_shape().is_image(), dims.size() == 4);
    EXPECT_EQ(net.output_size(), 2);
  }
  expect_error(model({0, 2, 3}), {"has shape [1,2,3]", "supported are"});
  expect_error(model({2, 3}), {"has shape [2,3]"});
  expect_error(model({2, 1, 3, 1}), {"batch dimension 2"});
}

TEST(OnnxRoundTrip, EveryNodeKindReloadsWithIdenticalOutputs) {
  for (bool float64 : {false, true}) {
    for (const auto& [name, net] : test::random_networks_of_every_kind(7)) {
      OnnxSaveOptions o;
      o.float64 = float64;
      const Network back = parse_onnx(serialize_onnx(net, o), name);
      SeededRandom rng(3);
      for (int t = 0; t < 4; ++t) {
        const Vector x = test::random_input(net, rng);
        const ForwardPass a = forward_pass(net, x), b = forward_pass(back, x);
        EXPECT_LT(relative_error(b.logits(), a.logits()), 1e-13) << name;
        EXPECT_EQ(a.pattern.hash(), b.pattern.hash()) << name;
        EXPECT_LT(relative_error(affine_map(back, b.pattern).V, affine_map(net, a.pattern).V), 1e-13) << name;
      }
    }
  }
}

TEST(OnnxRoundTrip, SoftmaxIsRecordedNotModelled) {
  Network net = random_mlp(3, {4}, 2, 1);
  net.softmax_output = true;
  const Network back = parse_onnx(serialize_onnx(net), "m");
  EXPECT_TRUE(back.softmax_output);
  EXPECT_EQ(back.nodes.size(), net.nodes.size());
}

TEST(OnnxRoundTrip, ClassNamesTravelInTheMetadata) {
  Network net = random_mlp(2, {4}, 3, 7);
  EXPECT_EQ(net.class_name(1), "class 1");
  net.class_names = {"cat", "dog", "bird with space"};
  const Network back = parse_onnx(serialize_onnx(net), "m");
  EXPECT_EQ(back.class_names, net.class_names);
  EXPECT_EQ(back.class_name(2), "bird with space");
  EXPECT_EQ(parse_class_names(" a , b,c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_THROW(parse_class_names("a,,b"), Error);
  // A list that does not fit the outputs names the file and both counts.
  net.class_names = {"cat", "dog"};
  try {
    parse_onnx(serialize_onnx(net), "pets.onnx");
    FAIL() << "two names for three outputs loaded";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("pets.onnx: metadata class_names lists 2 names for 3 outputs"), std::string::npos)
        << e.what();
  }
}

TEST(OnnxRoundTrip, SaveIsAtomicAndLoadReadsTheFile) {
  const auto dir = std::filesystem::temp_directory_path() / "tessera_onnx_test";
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "m.onnx").string();
  const Network net = random_mlp(2, {3}, 2, 4);
  save_onnx(net, path);
  const Network back = load_onnx(path);
  EXPECT_EQ(back.parameter_count(), net.parameter_count());
  for (const auto& e : std::filesystem::directory_iterator(dir))
    EXPECT_EQ(e.path().string().find(".tmp."), std::string::npos) << "temporary file left: " << e.path();
  std::filesystem::remove_all(dir);
}

// Gemm with transB=0, alpha and beta: y = alpha * x B + beta * c.
// Sizes are computed in 64 bits and checked against the memory budget
// before anything is allocated.
TEST(Limits, SizeArithmeticNeverOverflows) {
  EXPECT_EQ(mul_or_neg(std::int64_t{1} << 40, std::int64_t{1} << 30), -1);
  EXPECT_EQ(mul_or_neg(-1, 5), -1);
  EXPECT_EQ(mul_or_neg(1 << 20, 1 << 20), std::int64_t{1} << 40);
  EXPECT_EQ(add_or_neg(INT64_MAX, 1), -1);
  EXPECT_EQ(Shape({65536, 65536, 65536}).size(), std::int64_t{1} << 48);
  EXPECT_EQ(Shape({2147483647, 2147483647, 2147483647}).size(), -1);
  // A dilation and a kernel of 65 536: a span of 2^32 cells does not fit 28.
  EXPECT_THROW(window_output_size(28, 65536, 1, 0, 0, 65536), Error);
  EXPECT_EQ(window_output_size(28, 3, 1, 65536, 65536, 1), 28 + 2 * 65536 - 2);
  EXPECT_EQ(format_bytes(512), "512 B");
  EXPECT_EQ(format_bytes(std::int64_t{3} << 30), "3 GiB");
  EXPECT_EQ(format_bytes(-1), "more than 8 EiB");
}

TEST(Limits, TheMemoryBudgetRefusesBeforeAllocating) {
  const std::int64_t saved = memory_budget();
  set_memory_budget(std::int64_t{1} << 20);
  try {
    check_memory(std::int64_t{2} << 20, "the thing");
    ADD_FAILURE() << "not refused";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()),
              "the thing needs 2 MiB, over the memory budget of 1 MiB (raise it with --max-memory MB or "
              "TESSERA_MAX_MEMORY_MB)");
  }
  EXPECT_THROW(check_memory(-1, "an overflowed estimate"), Error);
  EXPECT_NO_THROW(check_memory(1000, "small"));
  // A Pad to 2000x2000 (48 MB with its table) is refused under 1 MiB.
  OnnxBuilder b;
  b.input({1, 1, 28, 28}).output("y");
  b.int_initializer("pads", {0, 0, 986, 986, 0, 0, 986, 986});
  b.node("Pad", {"input", "pads"}, {"p"}, "pad");
  b.node("Flatten", {"p"}, {"y"});
  try {
    parse_onnx(b.bytes(), "m.onnx");
    ADD_FAILURE() << "not refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("m.onnx: node 'pad' (Pad): the padded output [1,1,2000,2000]"),
              std::string::npos)
        << e.what();
  }
  set_memory_budget(saved);
  EXPECT_NO_THROW(parse_onnx(b.bytes(), "m.onnx"));
  EXPECT_THROW(set_memory_budget(0), Error);
  EXPECT_THROW(parse_mebibytes("-3", "--max-memory"), Error);
  EXPECT_EQ(parse_mebibytes("1.5", "--max-memory"), 3 << 19);
}

TEST(OnnxImport, GemmAttributesAreApplied) {
  OnnxBuilder b;
  b.input({1, 2}).output("y");
  b.initializer("B", {2, 3}, {1, 2, 3, 4, 5, 6}).initializer("C", {3}, {1, 1, 1});
  auto& g = b.node("Gemm", {"input", "B", "C"}, {"y"});
  OnnxBuilder::set_float(g, "alpha", 2.0f);
  OnnxBuilder::set_float(g, "beta", 0.5f);
  const Network net = parse_onnx(b.bytes(), "m");
  // x = (1, -1): x B = (1-4, 2-5, 3-6) = (-3,-3,-3); 2*that + 0.5 = -5.5
  EXPECT_EQ(logits(net, Eigen::Vector2d(1, -1)), Eigen::Vector3d(-5.5, -5.5, -5.5));
}

// Input normalisation (x - m) / s feeding MatMul + Add folds into one Dense.
TEST(OnnxImport, NormalisationAndMatMulBiasFoldIntoOneDenseNode) {
  OnnxBuilder b;
  b.input({1, 2}).output("y");
  b.initializer("m", {2}, {1, 2}).initializer("s", {2}, {2, 4});
  b.initializer("W", {2, 1}, {3, 5}).initializer("c", {1}, {7});
  b.node("Sub", {"input", "m"}, {"z1"});
  b.node("Div", {"z1", "s"}, {"z2"});
  b.node("MatMul", {"z2", "W"}, {"z3"});
  b.node("Add", {"z3", "c"}, {"y"});
  const Network net = parse_onnx(b.bytes(), "m");
  EXPECT_EQ(net.nodes.size(), 2u);  // input, one Dense
  // x = (3, 10): ((3-1)/2, (10-2)/4) = (1, 2); 3*1 + 5*2 + 7 = 20
  EXPECT_DOUBLE_EQ(logits(net, Eigen::Vector2d(3, 10))[0], 20.0);
}

// Conv + BatchNormalization folds into the conv, and equals conv followed by
// the per-channel affine map of batch norm built by hand.
TEST(OnnxImport, BatchNormFoldsIntoTheConvolution) {
  OnnxBuilder b;
  b.input({1, 1, 3, 3}).output("y");
  b.initializer("W", {2, 1, 2, 2}, {1, 0, 0, -1, 0.5, 0.5, 0.5, 0.5}).initializer("B", {2}, {0.1f, -0.2f});
  b.initializer("g", {2}, {2, 3}).initializer("be", {2}, {1, -1});
  b.initializer("mu", {2}, {0.5, -0.5}).initializer("var", {2}, {4, 0.25});
  b.node("Conv", {"input", "W", "B"}, {"c"});
  auto& bn = b.node("BatchNormalization", {"c", "g", "be", "mu", "var"}, {"bn"});
  OnnxBuilder::set_float(bn, "epsilon", 0.0f);
  b.node("Flatten", {"bn"}, {"y"});
  const Network net = parse_onnx(b.bytes(), "m");
  for (const Node& n : net.nodes) EXPECT_NE(n.kind, OpKind::ElementwiseAffine);
  // Reference: unfolded.
  NetworkBuilder rb;
  int x = rb.input(Shape{1, 3, 3});
  Matrix W(2, 4);
  W << 1, 0, 0, -1, 0.5, 0.5, 0.5, 0.5;
  x = rb.conv2d(x, W, Eigen::Vector2d(static_cast<float>(0.1), static_cast<float>(-0.2)), test::window(2));
  Vector s(8), t(8);
  for (int i = 0; i < 8; ++i) {
    const int c = i / 4;
    const double g = c ? 3 : 2, be = c ? -1 : 1, mu = c ? -0.5 : 0.5, var = c ? 0.25 : 4;
    s[i] = g / std::sqrt(var);
    t[i] = be - mu * s[i];
  }
  x = rb.elementwise_affine(x, s, t);
  const Network ref = rb.build(rb.reshape(x, Shape{8}));
  SeededRandom rng(1);
  for (int k = 0; k < 5; ++k) {
    const Vector in = test::random_input(ref, rng);
    EXPECT_LT(relative_error(logits(net, in), logits(ref, in)), 1e-14);
  }
}

// PyTorch's x.view(x.size(0), -1): Shape -> Gather -> Unsqueeze -> Concat -> Reshape.
TEST(OnnxImport, ConstantFoldableReshapeChain) {
  OnnxBuilder b(11);
  b.input({1, 2, 2, 2}).output("y");
  b.int_initializer("zero", {0}).int_initializer("minus1", {-1});
  b.node("Shape", {"input"}, {"shape"});
  auto& gth = b.node("Gather", {"shape", "zero_scalar"}, {"n"});
  OnnxBuilder::set_int(gth, "axis", 0);
  auto& k = b.node("Constant", {}, {"zero_scalar"});
  {
    auto* a = k.add_attribute();
    a->set_name("value");
    a->set_type(onnx::AttributeProto::TENSOR);
    a->mutable_t()->set_data_type(onnx::TensorProto::INT64);
    a->mutable_t()->add_int64_data(0);
  }
  // Constant must come first: reorder.
  auto* nodes = b.model().mutable_graph()->mutable_node();
  std::rotate(nodes->begin(), nodes->end() - 1, nodes->end());
  auto& u = b.node("Unsqueeze", {"n"}, {"n1"});
  OnnxBuilder::set_ints(u, "axes", {0});
  auto& c = b.node("Concat", {"n1", "minus1"}, {"target"});
  OnnxBuilder::set_int(c, "axis", 0);
  b.node("Reshape", {"input", "target"}, {"y"});
  // Reshape alone is an empty network: add a Relu so that there is a layer.
  b.model().mutable_graph()->mutable_output(0)->set_name("r");
  b.node("Relu", {"y"}, {"r"});
  const Network net = parse_onnx(b.bytes(), "m");
  EXPECT_EQ(net.output_shape(), Shape{8});
  Vector x(8);
  x << 1, -2, 3, -4, 5, -6, 7, -8;
  EXPECT_EQ(logits(net, x), x.cwiseMax(0.0));
}

// Pad (zeros) + AveragePool equals average pooling that counts padding.
TEST(OnnxImport, PadThenAveragePoolEqualsCountIncludePad) {
  OnnxBuilder b;
  b.input({1, 1, 3, 3}).output("y");
  b.int_initializer("pads", {0, 0, 1, 1, 0, 0, 1, 1});
  b.node("Pad", {"input", "pads"}, {"p"});
  auto& ap = b.node("AveragePool", {"p"}, {"a"});
  OnnxBuilder::set_ints(ap, "kernel_shape", {2, 2});
  OnnxBuilder::set_ints(ap, "strides", {2, 2});
  b.node("Flatten", {"a"}, {"y"});
  const Network net = parse_onnx(b.bytes(), "m");
  NetworkBuilder rb;
  const Network ref = rb.build(rb.reshape(rb.avg_pool2d(rb.input(Shape{1, 3, 3}), test::window(2, 2, 1), true), Shape{4}));
  Vector x(9);
  x << 1, 2, 3, 4, 5, 6, 7, 8, 9;
  EXPECT_LT(relative_error(logits(net, x), logits(ref, x)), 1e-15);
  // Top-left window holds only x0 of 4 cells: 1/4.
  EXPECT_DOUBLE_EQ(logits(net, x)[0], 0.25);
}

// ---------------------------------------------------------------- bad input

TEST(OnnxBadInput, MissingFile) {
  try {
    load_onnx("/nonexistent/model.onnx");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/model.onnx: cannot open"), std::string::npos) << e.what();
  }
}

TEST(OnnxBadInput, EmptyCorruptAndTruncatedFiles) {
  expect_error("", {"model.onnx", "empty"});
  expect_error(std::string("\xff\xfe garbage \x01\x02\x03", 14), {"model.onnx", "not a valid ONNX model"});
  const std::string good = serialize_onnx(random_mlp(20, {30}, 5, 1));
  for (size_t cut : {good.size() / 2, good.size() - 3, size_t{7}}) {
    try {
      parse_onnx(good.substr(0, cut), "model.onnx");
      ADD_FAILURE() << "truncated at " << cut << " of " << good.size() << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind("model.onnx:", 0), 0u) << e.what();
    }
  }
}

TEST(OnnxBadInput, UnsupportedOperatorIsNamedWithItsNode) {
  OnnxBuilder b;
  b.input({1, 2}).output("y");
  b.node("Sin", {"input"}, {"y"}, "my_sine");
  expect_error(b.bytes(), {"model.onnx", "node 'my_sine'", "(Sin)", "unsupported operator 'Sin'"});
}

TEST(OnnxBadInput, ShapesThatDoNotFit) {
  OnnxBuilder b;
  b.input({1, 3}).output("y");
  b.initializer("W", {2, 4}, std::vector<float>(8, 1.0f));
  auto& g = b.node("Gemm", {"input", "W"}, {"y"}, "fc");
  OnnxBuilder::set_int(g, "transB", 1);
  expect_error(b.bytes(), {"node 'fc'", "does not fit an input of 3 values"});
}

TEST(OnnxBadInput, NanOrInfInWeights) {
  for (float bad : {std::nanf(""), INFINITY}) {
    OnnxBuilder b;
    b.input({1, 2}).output("y");
    b.initializer("W", {2, 2}, {1, bad, 0, 1});
    b.node("MatMul", {"input", "W"}, {"y"});
    expect_error(b.bytes(), {"initializer 'W'", std::isnan(bad) ? "NaN" : "Inf", "index 1"});
  }
}

TEST(OnnxBadInput, EmptyNetwork) {
  OnnxBuilder b;
  b.input({1, 2}).output("input");
  expect_error(b.bytes(), {"the network is empty"});
  OnnxBuilder c;
  c.input({1, 2}).output("y");
  c.node("Identity", {"input"}, {"y"});
  expect_error(c.bytes(), {"the network is empty"});
}

TEST(OnnxBadInput, UnsupportedInputShapesAndGraphs) {
  OnnxBuilder b;
  b.input({1, 2, 3}).output("y");
  b.node("Relu", {"input"}, {"y"});
  expect_error(b.bytes(), {"input 'input'", "[1,2,3]"});

  OnnxBuilder g;
  g.input({1, 1, 4, 4}).output("y");
  g.initializer("W", {2, 1, 1, 1}, {1, 1});
  auto& conv = g.node("Conv", {"input", "W"}, {"y"}, "grouped");
  OnnxBuilder::set_int(conv, "group", 2);
  expect_error(g.bytes(), {"node 'grouped'", "group=2"});

  OnnxBuilder s;
  s.input({1, 3}).output("y");
  s.node("Softmax", {"input"}, {"p"}, "sm");
  s.node("Relu", {"p"}, {"y"});
  expect_error(s.bytes(), {"node 'sm'", "only as the last operation"});

  OnnxBuilder u;
  u.input({1, 3}).output("y");
  u.node("Relu", {"nowhere"}, {"y"}, "r");
  expect_error(u.bytes(), {"node 'r'", "'nowhere' is not defined"});
}

TEST(OnnxBadInput, OversizedModelIsRefusedBeforeAllocation) {
  // Declared shapes alone (no data stored) must be refused before anything
  // is allocated: over the memory limit, and beyond what an index can hold.
  for (const auto& [rows, fragment] :
       {std::pair<std::int64_t, std::string>{1 << 8, "limit"}, {std::int64_t{1} << 20, "too large"}}) {
    OnnxBuilder b;
    b.input({1, 2}).output("y");
    auto* t = b.model().mutable_graph()->add_initializer();
    t->set_name("W");
    t->set_data_type(onnx::TensorProto::FLOAT);
    t->add_dims(1 << 20);
    t->add_dims(rows);
    b.node("MatMul", {"input", "W"}, {"y"});
    OnnxLoadOptions o;
    o.max_parameter_bytes = std::int64_t{1} << 30;
    try {
      parse_onnx(b.bytes(), "big.onnx", o);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
    }
  }
}

TEST(OnnxBadInput, MalformedAttributesAndGraphs) {
  // Zero stride with SAME padding (would divide by zero).
  OnnxBuilder a;
  a.input({1, 1, 4, 4}).output("y");
  auto& mp = a.node("MaxPool", {"input"}, {"y"}, "pool");
  OnnxBuilder::set_ints(mp, "kernel_shape", {2, 2});
  OnnxBuilder::set_ints(mp, "strides", {0, 1});
  auto* ap = mp.add_attribute();
  ap->set_name("auto_pad");
  ap->set_type(onnx::AttributeProto::STRING);
  ap->set_s("SAME_UPPER");
  expect_error(a.bytes(), {"node 'pool'", "strides"});
  // Concat without inputs.
  OnnxBuilder c;
  c.input({1, 2}).output("y");
  c.node("Concat", {}, {"k"}, "cat");
  c.node("Relu", {"input"}, {"y"});
  expect_error(c.bytes(), {"node 'cat'", "no inputs"});
  // A value defined twice.
  OnnxBuilder d;
  d.input({1, 2}).output("y");
  d.node("Relu", {"input"}, {"y"});
  d.node("Relu", {"input"}, {"y"}, "again");
  expect_error(d.bytes(), {"'y' is defined twice"});
  // Concatenated constants that differ off the axis.
  OnnxBuilder e;
  e.input({1, 2}).output("y");
  e.initializer("p", {2, 1}, {1, 2}).initializer("q", {1, 1}, {3});
  auto& cat = e.node("Concat", {"p", "q"}, {"k"}, "cat");
  OnnxBuilder::set_int(cat, "axis", 1);
  e.node("Relu", {"input"}, {"y"});
  expect_error(e.bytes(), {"node 'cat'", "differ off the concatenation axis"});
}

TEST(AffineMap, ResidualOfANodeWithItselfKeepsEveryLayerMap) {
  // y = relu(h + h): the same input twice must not lose h's map.
  NetworkBuilder b;
  int x = b.input(Shape{2});
  int h = b.dense(x, Matrix::Identity(2, 2), Eigen::Vector2d(1, -1));
  int s = b.add(h, h);
  const Network net = b.build(b.relu(s));
  const auto maps = node_affine_maps(net, activation_pattern(net, Eigen::Vector2d(1, 3)), {1, 2, 3});
  EXPECT_EQ(maps[0].map.V, Matrix::Identity(2, 2));
  EXPECT_EQ(maps[1].map.V, 2 * Matrix::Identity(2, 2));
  EXPECT_EQ(maps[1].map.a, Eigen::Vector2d(2, -2));
}

TEST(InputChecks, WrongDimensionAndNonFiniteInputs) {
  const Network net = random_mlp(3, {4}, 2, 1);
  try {
    forward_pass(net, Eigen::Vector2d(1, 2), "x.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "x.txt: has 2 values but the network expects 3");
  }
  try {
    forward_pass(net, Eigen::Vector3d(1, std::nan(""), 2), "x.txt");
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "x.txt: value 1 is NaN");
  }
}

}  // namespace
}  // namespace tessera
