// Writing IDX arrays (the MNIST file format), gzipped: the header and a
// gzip compressor that can be cancelled between blocks.
#pragma once

#include <atomic>
#include <string>
#include <string_view>
#include <vector>

namespace tessera {

// The IDX header of an unsigned-byte array (type 0x08) with the given dims
// (dims[0] = number of items; 1 to 8 dims, each 0..2^31-1): the magic number
// 0x000008NN, then each dim as a big-endian 32-bit integer. The data follows
// it row-major. Throws tessera::Error for dims out of range.
std::string idx_ubyte_header(const std::vector<int>& dims);

// The gzip stream (RFC 1952, zlib level 6) of the pieces, concatenated.
// Compresses in blocks of 4 MiB; when *cancel becomes true between blocks it
// stops and returns an empty string with *cancelled = true (cancel and
// cancelled may be null). Throws tessera::Error if zlib fails.
std::string gzip_compress(const std::vector<std::string_view>& pieces, const std::atomic<bool>* cancel = nullptr,
                          bool* cancelled = nullptr);

}  // namespace tessera
