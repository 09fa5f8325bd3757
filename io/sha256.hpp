// SHA-256 checksums (OpenSSL's libcrypto, EVP interface).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace tessera {

// The SHA-256 of the pieces, concatenated, as 64 lowercase hex digits (what
// `sha256sum` prints; for a .gz file, what `zcat FILE | sha256sum` prints
// when the pieces are its uncompressed content). Throws tessera::Error if
// libcrypto fails.
std::string sha256_hex(const std::vector<std::string_view>& pieces);

}  // namespace tessera
