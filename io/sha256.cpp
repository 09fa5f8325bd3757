#include "io/sha256.hpp"

#include <openssl/evp.h>

#include <memory>

#include "core/error.hpp"

namespace tessera {

std::string sha256_hex(const std::vector<std::string_view>& pieces) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1) throw Error("SHA-256: libcrypto cannot start a digest");
  for (std::string_view p : pieces)
    if (EVP_DigestUpdate(ctx.get(), p.data(), p.size()) != 1) throw Error("SHA-256: libcrypto digest update failed");
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx.get(), md, &len) != 1) throw Error("SHA-256: libcrypto digest failed");
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < len; ++i) {
    out.push_back(hex[md[i] >> 4]);
    out.push_back(hex[md[i] & 15]);
  }
  return out;
}

}  // namespace tessera
