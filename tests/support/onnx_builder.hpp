// Builds small ONNX models by hand for importer tests (including broken ones).
#pragma once

#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace tessera::test {

class OnnxBuilder {
 public:
  explicit OnnxBuilder(int opset = 13);
  // Graph input "input" with dims (first dim symbolic when batch_symbolic).
  OnnxBuilder& input(const std::vector<std::int64_t>& dims, const std::string& name = "input");
  // Graph input with exactly these dims (0: symbolic, named "N").
  OnnxBuilder& input_exact(const std::vector<std::int64_t>& dims, const std::string& name = "input");
  OnnxBuilder& output(const std::string& name);
  OnnxBuilder& initializer(const std::string& name, const std::vector<std::int64_t>& dims,
                           const std::vector<float>& values);
  OnnxBuilder& int_initializer(const std::string& name, const std::vector<std::int64_t>& values);
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs, const std::string& name = "");
  static void set_int(onnx::NodeProto& n, const std::string& name, std::int64_t v);
  static void set_ints(onnx::NodeProto& n, const std::string& name, const std::vector<std::int64_t>& v);
  static void set_float(onnx::NodeProto& n, const std::string& name, float v);
  std::string bytes() const;
  onnx::ModelProto& model() { return model_; }

 private:
  onnx::ModelProto model_;
};

}  // namespace tessera::test
