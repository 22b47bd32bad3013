// Content addresses: XXH3-128 keyed with the store's secret.
//
// Why keyed: a store holds many databases, and a block is stored once by its address. With a public hash anybody
// who can write rows into one database could craft a block that collides with another database's block and have it
// served in its place. The 192-byte secret is created at `scnfs init` and never leaves the store.
//
// Thread-safety: ContentHasher is immutable after construction.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "scnfs/format.h"

namespace scnfs {

inline constexpr size_t kStoreSecretSize = 192;

struct ContentHash {
  std::array<unsigned char, 16> bytes{};
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }
  static ContentHash FromBytes(const char* p) {
    ContentHash h;
    std::memcpy(h.bytes.data(), p, 16);
    return h;
  }
  bool operator==(const ContentHash&) const = default;
  std::string Hex() const;
};

struct ContentHashHasher {
  size_t operator()(const ContentHash& h) const {
    size_t v;
    std::memcpy(&v, h.bytes.data(), sizeof v);
    return v;
  }
};

class ContentHasher {
 public:
  // REQUIRES: secret.size() == kStoreSecretSize.
  explicit ContentHasher(std::string secret) : secret_(std::move(secret)) {}
  ContentHash Hash(ByteSpan data) const;
  // A fresh random secret for a new store.
  static std::string NewSecret();

 private:
  std::string secret_;
};

}  // namespace scnfs
