// A plain byte encoding for sending summaries between processes (MPI ranks):
// numbers in this machine's representation, strings and vectors with their
// lengths. Both ends run the same build, so no byte-order conversion is made.
// The reader throws tessera::Error on a short or malformed buffer rather
// than reading past it.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "core/error.hpp"

namespace tessera {

class ByteWriter {
 public:
  template <class T>
  void put(const T& v) {
    static_assert(std::is_trivially_copyable_v<T>, "ByteWriter::put takes plain values");
    const auto* p = reinterpret_cast<const char*>(&v);
    bytes_.append(p, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<std::uint64_t>(s.size());
    bytes_.append(s);
  }
  template <class T>
  void put_vector(const std::vector<T>& v) {
    put<std::uint64_t>(v.size());
    for (const T& x : v) put(x);
  }
  const std::string& bytes() const { return bytes_; }
  std::string take() { return std::move(bytes_); }

 private:
  std::string bytes_;
};

class ByteReader {
 public:
  explicit ByteReader(const std::string& bytes) : p_(bytes.data()), end_(bytes.data() + bytes.size()) {}
  template <class T>
  T get() {
    static_assert(std::is_trivially_copyable_v<T>, "ByteReader::get returns plain values");
    need(sizeof(T));
    T v;
    std::memcpy(&v, p_, sizeof(T));
    p_ += sizeof(T);
    return v;
  }
  std::string get_string() {
    const auto n = get<std::uint64_t>();
    need(n);
    std::string s(p_, n);
    p_ += n;
    return s;
  }
  template <class T>
  std::vector<T> get_vector() {
    const auto n = get<std::uint64_t>();
    if (n > static_cast<std::uint64_t>(end_ - p_) / (sizeof(T) ? sizeof(T) : 1)) fail();
    std::vector<T> v;
    v.reserve(n);
    for (std::uint64_t i = 0; i < n; ++i) v.push_back(get<T>());
    return v;
  }
  bool done() const { return p_ == end_; }

 private:
  void need(std::uint64_t n) const {
    if (n > static_cast<std::uint64_t>(end_ - p_)) fail();
  }
  [[noreturn]] static void fail() { throw Error("a summary received from another process is truncated or malformed"); }
  const char* p_;
  const char* end_;
};

}  // namespace tessera
