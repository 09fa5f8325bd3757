// The one exception type Tessera throws for bad input. Its message is a single
// line that names what was wrong and where (file, node, index) so that the
// command-line tools can print it unchanged.
#pragma once
#include <stdexcept>
#include <string>

namespace tessera {

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

}  // namespace tessera
