// Reading and atomically writing whole files.
#pragma once

#include <string>

namespace tessera {

// The bytes of a file; throws tessera::Error "PATH: cannot open: REASON".
std::string read_file(const std::string& path);

// Writes to a temporary file next to `path`, flushes it to disk and renames
// it over `path`, so that a reader (or a crash) never sees a half-written
// file. Throws tessera::Error on failure, leaving any old file untouched.
void write_file_atomically(const std::string& path, const std::string& bytes);

}  // namespace tessera
