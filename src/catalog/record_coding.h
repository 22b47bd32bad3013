// Bounds-checked pieces of the catalog's binary record layouts (docs/store-format.md: file and backup records).
//
// Every read is checked against the value's end, so a damaged value gives an error, never a crash or a read past
// it. Strings are a u32 length and the bytes; extension fields are a tag byte, a u32 length and the bytes.
//
// Thread-safety: values; a RecordReader belongs to one thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/coding.h"

namespace scnfs {

inline void PutRecordString(std::string* dst, std::string_view s) {
  PutBE32(dst, uint32_t(s.size()));
  dst->append(s);
}

// Reads a value front to back; a read that would pass its end returns false and takes nothing.
class RecordReader {
 public:
  explicit RecordReader(std::string_view v) : v_(v) {}
  bool U32(uint32_t* out) {
    if (v_.size() < 4) return false;
    *out = GetBE32(v_.data());
    v_.remove_prefix(4);
    return true;
  }
  bool U64(uint64_t* out) {
    if (v_.size() < 8) return false;
    *out = GetBE64(v_.data());
    v_.remove_prefix(8);
    return true;
  }
  bool I64(int64_t* out) {
    uint64_t u;
    if (!U64(&u)) return false;
    *out = int64_t(u);
    return true;
  }
  bool String(std::string_view* out) {
    uint32_t n;
    if (!U32(&n) || v_.size() < n) return false;
    *out = v_.substr(0, n);
    v_.remove_prefix(n);
    return true;
  }
  bool Skip(size_t n) {
    if (v_.size() < n) return false;
    v_.remove_prefix(n);
    return true;
  }
  bool Byte(unsigned char* out) {
    if (v_.empty()) return false;
    *out = static_cast<unsigned char>(v_[0]);
    v_.remove_prefix(1);
    return true;
  }
  // An extension field: its tag and its bytes (a reader skips the tags it does not know by ignoring them).
  bool Extension(unsigned char* tag, std::string_view* bytes) {
    uint32_t n;
    if (!Byte(tag) || !U32(&n) || v_.size() < n) return false;
    *bytes = v_.substr(0, n);
    v_.remove_prefix(n);
    return true;
  }
  bool done() const { return v_.empty(); }

 private:
  std::string_view v_;
};

}  // namespace scnfs
