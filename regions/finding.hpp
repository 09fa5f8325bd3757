// Finding<T>: a result that is a value, proved absent, or unknown.
#pragma once

#include <optional>

namespace tessera {

// A result that is a value, proved absent ("never"), or unknown (a limit
// stopped the walk before it could tell). Reads like std::optional.
template <typename T>
struct Finding {
  bool known = false;
  std::optional<T> value;

  static Finding at(T v) { return Finding{true, v}; }
  static Finding never() { return Finding{true, std::nullopt}; }
  static Finding unknown() { return Finding{}; }
  bool has_value() const { return value.has_value(); }
  explicit operator bool() const { return value.has_value(); }
  const T& operator*() const { return *value; }
  bool is_never() const { return known && !value; }
};

}  // namespace tessera
