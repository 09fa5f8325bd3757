#include "io/idx_write.hpp"

#include <zlib.h>

#include <algorithm>
#include <cstdint>

#include "core/error.hpp"

namespace tessera {

std::string idx_ubyte_header(const std::vector<int>& dims) {
  if (dims.empty() || dims.size() > 8) throw Error("IDX: 1 to 8 dimensions, not " + std::to_string(dims.size()));
  std::string h{'\0', '\0', '\x08', static_cast<char>(dims.size())};
  for (int d : dims) {
    if (d < 0) throw Error("IDX: negative dimension " + std::to_string(d));
    for (int shift = 24; shift >= 0; shift -= 8) h.push_back(static_cast<char>((static_cast<std::uint32_t>(d) >> shift) & 0xFF));
  }
  return h;
}

std::string gzip_compress(const std::vector<std::string_view>& pieces, const std::atomic<bool>* cancel,
                          bool* cancelled) {
  if (cancelled) *cancelled = false;
  z_stream zs{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) throw Error("gzip: deflateInit failed");
  std::string out;
  char buffer[1 << 16];
  constexpr std::size_t kBlock = std::size_t{4} << 20;
  auto pump = [&](int flush) {
    do {
      zs.next_out = reinterpret_cast<Bytef*>(buffer);
      zs.avail_out = sizeof buffer;
      const int rc = deflate(&zs, flush);
      if (rc == Z_STREAM_ERROR) {
        deflateEnd(&zs);
        throw Error("gzip: deflate failed");
      }
      out.append(buffer, sizeof buffer - zs.avail_out);
    } while (zs.avail_out == 0);
  };
  for (std::size_t p = 0; p < pieces.size(); ++p) {
    const std::string_view piece = pieces[p];
    for (std::size_t at = 0; at < piece.size(); at += kBlock) {
      if (cancel && cancel->load()) {
        deflateEnd(&zs);
        if (cancelled) *cancelled = true;
        return {};
      }
      const std::size_t n = std::min(kBlock, piece.size() - at);
      zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(piece.data() + at));
      zs.avail_in = static_cast<uInt>(n);
      pump(Z_NO_FLUSH);
    }
  }
  zs.next_in = nullptr;
  zs.avail_in = 0;
  pump(Z_FINISH);
  deflateEnd(&zs);
  return out;
}

}  // namespace tessera
