// The operator table: every ONNX operator (default domain) the importer
// handles, what it becomes, the attributes its handler understands (others
// are refused: ignoring one could change what the node computes) and the
// handler. `tessera info --operators` prints it; docs/user-guide.md lists it
// in this order (tests/io/test_onnx_io.cpp keeps the two equal).
#include <algorithm>

#include "io/onnx/importer.hpp"

namespace tessera {
namespace onnx_import {

const std::vector<OperatorEntry>& operator_entries() {
  static const std::vector<std::string> window = {"auto_pad", "dilations", "kernel_shape", "pads", "strides"};
  auto with = [](std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    std::sort(a.begin(), a.end());
    return a;
  };
  static const std::vector<OperatorEntry> table = {
      {"Gemm", "Dense (transA only on a column vector; the weight may also come first: `Gemm(W, x)`)",
       {"alpha", "beta", "transA", "transB"}, op_gemm},
      {"MatMul", "Dense: `x W` with x a row vector, or `W x` with x a column vector (W constant)", {}, op_matmul},
      {"Conv", "Conv2d (2-D, groups = 1, strides, pads, dilations, auto_pad)", with(window, {"group"}), op_conv},
      {"MaxPool", "MaxPool2d (ceil_mode supported)", with(window, {"ceil_mode", "storage_order"}), op_pool},
      {"GlobalMaxPool", "MaxPool2d over the whole image", {}, op_pool},
      {"AveragePool", "AvgPool2d (count_include_pad)", with(window, {"ceil_mode", "count_include_pad"}), op_pool},
      {"GlobalAveragePool", "AvgPool2d over the whole image", {}, op_pool},
      {"Relu", "ReLU", {}, op_activation},
      {"LeakyRelu", "LeakyReLU, any slope (also above 1 or negative)", {"alpha"}, op_activation},
      {"PRelu", "LeakyReLU when the slope is one number, else Piecewise (a slope per unit or channel)", {},
       op_activation},
      {"Clip",
       "Piecewise with three pieces (ReLU6, Hardtanh; constant bounds); with one bound, max(x, lo) or min(x, hi)",
       {"max", "min"}, op_activation},
      {"Abs", "Piecewise: |x|", {}, op_activation},
      {"Max", "with a constant: Piecewise max(x, c); of two activations: b + ReLU(a − b) (exact, same regions)", {},
       op_max_min},
      {"Min", "with a constant: Piecewise min(x, c); of two activations: a − ReLU(a − b)", {}, op_max_min},
      {"HardSigmoid", "ElementwiseAffine, then Clip to [0, 1]", {"alpha", "beta"}, op_activation},
      {"Add", "Add of two activations (residual); with a constant, folded or ElementwiseAffine", {}, op_arithmetic},
      {"Sub", "of two activations: Add of the negated second; with a constant, folded or ElementwiseAffine", {},
       op_arithmetic},
      {"Mul", "by a constant: folded into the previous Dense/Conv (or next Dense) when exact, else ElementwiseAffine",
       {}, op_arithmetic},
      {"Div", "by a constant: as Mul", {}, op_arithmetic},
      {"Neg", "ElementwiseAffine (−x)", {}, op_activation},
      {"BatchNormalization", "inference mode: folded like Mul and Add",
       {"epsilon", "momentum", "spatial", "training_mode"}, op_batch_norm},
      {"Flatten", "Reshape", {"axis"}, op_flatten},
      {"Reshape", "Reshape (constant or constant-foldable target shape)", {"allowzero"}, op_reshape},
      {"Squeeze", "Reshape", {"axes"}, op_squeeze},
      {"Unsqueeze", "Reshape (and folded on constants)", {"axes"}, op_squeeze},
      {"Transpose", "Permute", {"perm"}, op_transpose},
      {"Pad", "Permute (constant 0, edge, reflect)", {"mode", "pads", "value"}, op_pad},
      {"Gather", "Permute along axis 1 of an activation; folded on constants", {"axis"}, op_gather},
      {"Concat", "Permute with constants along axis 1; folded on constants", {"axis"}, op_concat},
      {"Shape", "folded at load time", {"end", "start"}, op_shape},
      {"Cast", "folded at load time (constants)", {"saturate", "to"}, op_cast},
      {"Constant", "a constant", {"value", "value_float", "value_floats", "value_int", "value_ints"}, op_constant},
      {"Identity", "nothing", {}, op_identity},
      {"Dropout", "nothing (inference)", {"ratio", "seed"}, op_identity},
      {"Softmax", "only as the last operation: recorded (`softmax_output`); Tessera reports logits", {"axis"},
       op_softmax}};
  return table;
}

const OperatorEntry* find_operator(const std::string& op_type) {
  for (const OperatorEntry& e : operator_entries())
    if (e.name == op_type) return &e;
  return nullptr;
}

}  // namespace onnx_import

const std::vector<OnnxOperator>& onnx_operator_table() {
  static const std::vector<OnnxOperator> table = [] {
    std::vector<OnnxOperator> v;
    for (const auto& e : onnx_import::operator_entries()) v.push_back({e.name, e.becomes, e.attributes});
    return v;
  }();
  return table;
}

const std::vector<std::string>& supported_onnx_operators() {
  static const std::vector<std::string> ops = [] {
    std::vector<std::string> v;
    for (const OnnxOperator& o : onnx_operator_table()) v.push_back(o.name);
    std::sort(v.begin(), v.end());
    return v;
  }();
  return ops;
}

}  // namespace tessera
