#include "util/content_hash.h"

#include <random>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include <fmt/format.h>

namespace scnfs {

std::string ContentHash::Hex() const {
  std::string s;
  for (unsigned char b : bytes) s += fmt::format("{:02x}", b);
  return s;
}

ContentHash ContentHasher::Hash(ByteSpan data) const {
  XXH128_hash_t h = XXH3_128bits_withSecret(data.data(), data.size(), secret_.data(), secret_.size());
  XXH128_canonical_t c;
  XXH128_canonicalFromHash(&c, h);
  ContentHash out;
  std::memcpy(out.bytes.data(), c.digest, 16);
  return out;
}

std::string ContentHasher::NewSecret() {
  // Seed material from the kernel; XXH3_generateSecret spreads it into a well-formed secret.
  std::random_device rd;
  std::string seed(64, '\0');
  for (auto& ch : seed) ch = static_cast<char>(rd());
  std::string secret(kStoreSecretSize, '\0');
  XXH3_generateSecret(secret.data(), secret.size(), seed.data(), seed.size());
  return secret;
}

}  // namespace scnfs
