// Structured inputs for the fuzzers (tests/fuzz/fuzz_targets.cpp) and their
// replay in the normal suite (tests/fuzz/test_regressions.cpp): the same
// bytes give the same model or file in both.
#pragma once

#include <onnx/onnx_pb.h>
#include <zlib.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace tessera::fuzz {

// Reads the fuzzer's bytes as a stream of numbers (0 when exhausted).
struct Bytes {
  const uint8_t* p;
  size_t n;
  uint32_t u8() { return n ? (--n, *p++) : 0; }
  int64_t i64() {  // mostly small, sometimes huge or negative
    const uint32_t kind = u8() % 8;
    const uint32_t a = u8() | (u8() << 8);
    switch (kind) {
      case 0: return -static_cast<int64_t>(a);
      case 1: return static_cast<int64_t>(a) << 16;
      case 2: return static_cast<int64_t>(a) << 31;
      case 3: return INT64_C(1) << (a % 63);
      default: return a % 64;
    }
  }
};

// A structured generator for the importer's shape arithmetic: an input
// [1, C, H, W] (or [1, d]) followed by a chain of windowed and layout
// operators (Conv, MaxPool, AveragePool, Pad, Concat of constants,
// Reshape, Flatten, Transpose) whose sizes, pads, strides and dilations come
// from the fuzzer, often extreme.
// The product of the dims, saturating at INT64_MAX (0 for a negative one).
inline int64_t product(std::initializer_list<int64_t> dims) {
  int64_t r = 1;
  for (int64_t d : dims) {
    if (d < 0) return 0;
    if (__builtin_mul_overflow(r, d, &r)) return INT64_MAX;
  }
  return r;
}

inline std::string shape_model(Bytes& b) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(13);
  auto* g = m.mutable_graph();
  auto* in = g->add_input();
  in->set_name("x0");
  auto* tt = in->mutable_type()->mutable_tensor_type();
  tt->set_elem_type(onnx::TensorProto::FLOAT);
  const bool image = b.u8() % 4 != 0;
  std::vector<int64_t> dims{1};
  if (image) {
    dims.push_back(1 + b.u8() % 4);
    dims.push_back(1 + b.u8() % 32);
    dims.push_back(1 + b.u8() % 32);
  } else {
    dims.push_back(1 + b.u8() % 64);
  }
  for (size_t i = 0; i < dims.size(); ++i) tt->mutable_shape()->add_dim()->set_dim_value(dims[i]);
  auto ints = [](onnx::NodeProto* n, const char* name, std::vector<int64_t> v) {
    auto* a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INTS);
    for (auto x : v) a->add_ints(x);
  };
  auto constant = [&](const std::string& name, const std::vector<int64_t>& shape, bool integer, int64_t count) {
    auto* t = g->add_initializer();
    t->set_name(name);
    t->set_data_type(integer ? onnx::TensorProto::INT64 : onnx::TensorProto::FLOAT);
    for (auto d : shape) t->add_dims(d);
    count = std::max<int64_t>(0, std::min<int64_t>(count, 1 << 16));  // what is stored stays small
    for (int64_t i = 0; i < count; ++i) {
      if (integer)
        t->add_int64_data(b.i64());
      else
        t->add_float_data(static_cast<float>(b.u8()) / 64.0f - 2.0f);
    }
  };
  std::string cur = "x0";
  const int ops = 1 + b.u8() % 6;
  for (int k = 0; k < ops; ++k) {
    const std::string out = "x" + std::to_string(k + 1), w = "w" + std::to_string(k);
    auto* n = g->add_node();
    n->set_name("op" + std::to_string(k));
    const uint32_t op = b.u8() % 8;
    if (op == 0) {  // Conv
      const int64_t co = b.i64(), ci = 1 + b.u8() % 4, kh = b.i64(), kw = b.i64();
      constant(w, {co, ci, kh, kw}, false, product({co, ci, kh, kw}));
      n->set_op_type("Conv");
      n->add_input(cur);
      n->add_input(w);
      ints(n, "pads", {b.i64(), b.i64(), b.i64(), b.i64()});
      ints(n, "strides", {b.i64(), b.i64()});
      ints(n, "dilations", {b.i64(), b.i64()});
    } else if (op == 1 || op == 2) {  // pooling
      n->set_op_type(op == 1 ? "MaxPool" : "AveragePool");
      n->add_input(cur);
      ints(n, "kernel_shape", {b.i64(), b.i64()});
      ints(n, "pads", {b.i64(), b.i64(), b.i64(), b.i64()});
      ints(n, "strides", {b.i64(), b.i64()});
      if (b.u8() % 2) ints(n, "dilations", {b.i64(), b.i64()});
      if (b.u8() % 2) {
        auto* a = n->add_attribute();
        a->set_name("ceil_mode");
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(1);
      }
    } else if (op == 3) {  // Pad
      const int64_t r = static_cast<int64_t>(image ? 4 : 2);
      std::vector<int64_t> pads;
      for (int64_t i = 0; i < 2 * r; ++i) pads.push_back(i % r == 0 ? 0 : b.i64());
      auto* t = g->add_initializer();
      t->set_name(w);
      t->set_data_type(onnx::TensorProto::INT64);
      t->add_dims(2 * r);
      for (auto p : pads) t->add_int64_data(p);
      n->set_op_type("Pad");
      n->add_input(cur);
      n->add_input(w);
      const uint32_t mode = b.u8() % 3;
      auto* a = n->add_attribute();
      a->set_name("mode");
      a->set_type(onnx::AttributeProto::STRING);
      a->set_s(mode == 0 ? "constant" : mode == 1 ? "edge" : "reflect");
    } else if (op == 4) {  // Concat of a constant with itself, repeatedly, then unused
      constant(w, {1, b.i64()}, b.u8() % 2, b.i64());
      std::string c = w;
      const int times = b.u8() % 24;
      for (int i = 0; i < times; ++i) {
        auto* cn = g->add_node();
        cn->set_op_type("Concat");
        cn->add_input(c);
        cn->add_input(c);
        c = w + "_" + std::to_string(i);
        cn->add_output(c);
        auto* a = cn->add_attribute();
        a->set_name("axis");
        a->set_type(onnx::AttributeProto::INT);
        a->set_i(1);
      }
      n->set_op_type("Identity");
      n->add_input(cur);
    } else if (op == 5) {  // Reshape to fuzzed dims
      auto* t = g->add_initializer();
      t->set_name(w);
      t->set_data_type(onnx::TensorProto::INT64);
      const int r = 1 + b.u8() % 4;
      t->add_dims(r);
      for (int i = 0; i < r; ++i) t->add_int64_data(i == 0 ? 1 : b.i64());
      n->set_op_type("Reshape");
      n->add_input(cur);
      n->add_input(w);
    } else if (op == 6) {
      n->set_op_type("Flatten");
      n->add_input(cur);
    } else {
      n->set_op_type("Transpose");
      n->add_input(cur);
      if (image) ints(n, "perm", {0, 1 + b.u8() % 3, 1 + b.u8() % 3, 1 + b.u8() % 3});
    }
    n->add_output(out);
    cur = out;
  }
  g->add_output()->set_name(cur);
  return m.SerializeAsString();
}

// gzip of the bytes (the compressed IDX target inflates them).
inline std::string gzipped(const uint8_t* data, size_t size) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, size) + 64, '\0');
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = static_cast<uInt>(size);
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

}  // namespace tessera::fuzz
