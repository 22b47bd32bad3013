// Big-endian fixed-width encodings for RocksDB keys (so that byte order is numeric order) and little helpers for
// values. Every persistent encoding of scnfs goes through here; docs/store-format.md specifies the layouts.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace scnfs {

inline void PutBE32(std::string* dst, uint32_t v) {
  char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
  dst->append(b, 4);
}
inline void PutBE64(std::string* dst, uint64_t v) {
  PutBE32(dst, uint32_t(v >> 32));
  PutBE32(dst, uint32_t(v));
}
inline uint32_t GetBE32(const char* p) {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  return (uint32_t(u[0]) << 24) | (uint32_t(u[1]) << 16) | (uint32_t(u[2]) << 8) | uint32_t(u[3]);
}
inline uint64_t GetBE64(const char* p) { return (uint64_t(GetBE32(p)) << 32) | GetBE32(p + 4); }

inline void EncodeBE32(char* p, uint32_t v) {
  p[0] = char(v >> 24); p[1] = char(v >> 16); p[2] = char(v >> 8); p[3] = char(v);
}
inline void EncodeBE64(char* p, uint64_t v) {
  EncodeBE32(p, uint32_t(v >> 32));
  EncodeBE32(p + 4, uint32_t(v));
}

// Little-endian loads for parsing datafile headers (Oracle and PostgreSQL on x86-64 are little endian).
template <typename T>
inline T LoadLE(const void* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;  // x86-64 only (docs/formats): the host order is the file order.
}

}  // namespace scnfs
