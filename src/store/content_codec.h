// Content values: how a block's bytes are stored under its content hash (docs/store-format.md).
//
//   value = codec u8 | [dictionary id u32 BE, codec 2 only] | payload
//   codec 0: payload is the block as is (it did not compress)
//   codec 1: payload is one zstd frame
//   codec 2: payload is one zstd frame made with dictionary <id> (catalog key "dict/<id BE32>")
//
// Dictionaries are trained per database at its first backup (zstd on single 8 KiB pages gains about a third from a
// dictionary: shared/docs/measured-here.md) and never change; content made with one is readable by any database.
//
// Thread-safety: Dictionaries is thread-safe. BlockCompressor/BlockDecompressor are per thread (they own contexts).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scnfs/format.h"
#include "scnfs/status.h"

struct ZSTD_CCtx_s;
struct ZSTD_DCtx_s;
struct ZSTD_CDict_s;
struct ZSTD_DDict_s;

namespace scnfs {

class Store;

enum class Codec : unsigned char { kStored = 0, kZstd = 1, kZstdDict = 2 };
inline constexpr uint32_t kNoDictionary = 0;
inline constexpr int kDefaultCompressionLevel = 1;

class Dictionaries {
 public:
  explicit Dictionaries(const Store* store, int level = kDefaultCompressionLevel) : store_(store), level_(level) {}
  ~Dictionaries();
  Result<const ZSTD_CDict_s*> Encoder(uint32_t id);
  Result<const ZSTD_DDict_s*> Decoder(uint32_t id);

 private:
  Status Load(uint32_t id, std::string* bytes);
  const Store* store_;
  int level_;
  std::mutex mu_;
  std::map<uint32_t, ZSTD_CDict_s*> cdicts_;  // GUARDED_BY(mu_)
  std::map<uint32_t, ZSTD_DDict_s*> ddicts_;  // GUARDED_BY(mu_)
};

class BlockCompressor {
 public:
  BlockCompressor(Dictionaries* dicts, int level = kDefaultCompressionLevel);
  ~BlockCompressor();
  // Replaces *value with the encoded content of `block`. dict_id may be kNoDictionary.
  Status Encode(ByteSpan block, uint32_t dict_id, std::string* value);

 private:
  Dictionaries* dicts_;
  int level_;
  ZSTD_CCtx_s* cctx_;
};

class BlockDecompressor {
 public:
  explicit BlockDecompressor(Dictionaries* dicts);
  ~BlockDecompressor();
  // Decodes a content value into `out`; *len is the content length. Corruption when the value is malformed or the
  // content does not fit `out`.
  Status Decode(std::string_view value, std::span<std::byte> out, size_t* len);

 private:
  Dictionaries* dicts_;
  ZSTD_DCtx_s* dctx_;
};

// Trains a dictionary from sample blocks, stores it under a new id in the catalog (the caller's batch is not
// involved: the dictionary is written and synced first, so content that names it can never exist without it).
// Returns kNoDictionary when the samples are too few or too uniform to train on.
Result<uint32_t> TrainAndStoreDictionary(Store* store, const std::vector<std::string>& samples);

std::string DictionaryKey(uint32_t id);

}  // namespace scnfs
