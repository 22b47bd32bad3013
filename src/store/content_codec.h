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
// Thread-safety: Dictionaries is thread-safe. BlockCompressor/BlockDecompressor are per thread (they own contexts)
// and must not outlive the Dictionaries they were given (they keep its dictionaries' pointers).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
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
// Level 1 for every format. Measured on pgbench -s 100 (two backups): level 3 stores 7.9% of the source
// instead of 8.6% with one dictionary, but only 6.67% instead of 6.78% with the second dictionary, for ~20%
// more CPU; Oracle blocks compress at ~230 MB/s/core at level 1 already. The level is the writer's choice
// alone (frames decode the same at any level), so it can differ per database later.
inline constexpr int kDefaultCompressionLevel = 1;

// Loaded dictionaries, shared by a process's threads. A dictionary never changes once stored, and a loaded one is
// kept until the Dictionaries is destroyed, so the pointers it returns stay valid until then.
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

// The dictionaries a database's backups compress with (DatabaseRecord dict_id, dict2_id, dict2_threshold).
struct DictionaryChoice {
  uint32_t id = kNoDictionary;
  uint32_t second_id = kNoDictionary;
  uint32_t second_threshold = 0;  // frames with `id` larger than this many bytes are retried with `second_id`
  uint64_t stored_bytes = 0;  // of the dictionaries TrainAndStoreDictionaries stored (0 for a choice read back)
};

class BlockCompressor {
 public:
  BlockCompressor(Dictionaries* dicts, int level = kDefaultCompressionLevel);
  ~BlockCompressor();
  // Replaces *value with the encoded content of `block`. dict_id may be kNoDictionary.
  Status Encode(ByteSpan block, uint32_t dict_id, std::string* value);
  // Encodes with choice.id and, when that frame is larger than choice.second_threshold, also with
  // choice.second_id; keeps the smaller value.
  Status Encode(ByteSpan block, const DictionaryChoice& choice, std::string* value);
  // True when this compressor's last frame with a dictionary copied the dictionary's table (see below).
  bool copied_dictionary() const { return bound_copy_; }

 private:
  // A frame's dictionary is either referenced in place ("attach": zstd's choice for 8 KiB inputs) or its match
  // table is copied into the context first ("copy"). Copying costs a fixed ~2-3 us per frame (the table of a level-1
  // dictionary is 32 KiB); attaching makes every position searched slower, because each lookup probes two tables.
  // Which wins depends on how much searching a frame needs, and the size of its output is a fair measure of that.
  // Measured on this machine's vCPUs (8 KiB frames, level 1, 112 KiB dictionaries): scnfs-oragen blocks (frames
  // of ~3.3 KiB) compress 11-12% faster copied; pgbench heap pages (frames of ~0.8 KiB) 27% slower. Frames are
  // identical in format either way, and decode the same.
  static constexpr double kCopyDictionaryFromFrameBytes = 2048;
  // Compresses `block` into dst with `cd` in the mode the average picks; *n is the frame's size.
  Status EncodeWithDictionary(ByteSpan block, const ZSTD_CDict_s* cd, size_t dst_capacity, char* dst, size_t* n);

  std::string alt_;
  Dictionaries* dicts_;
  int level_;
  ZSTD_CCtx_s* cctx_;
  // The dictionaries this thread used last (a database has at most two): no lock on the shared map per block.
  std::pair<uint32_t, const ZSTD_CDict_s*> recent_[2] = {};
  // The dictionary and attach mode cctx_'s parameters hold (set again only when either changes), and a moving
  // average of the recent dictionary frames' sizes in bytes, which picks the mode.
  const ZSTD_CDict_s* bound_dict_ = nullptr;
  bool bound_copy_ = false;
  double frame_bytes_avg_ = 0;
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
  // As in BlockCompressor: the last dictionaries used, found without the shared map's lock.
  std::pair<uint32_t, const ZSTD_DDict_s*> recent_[2] = {};
};

// Trains a dictionary from sample blocks, stores it under a new id in the catalog (the caller's batch is not
// involved: the dictionary is written and synced first, so content that names it can never exist without it).
// choice.id is kNoDictionary when the samples are too few or too uniform to train on. When the samples are
// bimodal (at least 5% of them compress to over 4x the median frame with the first dictionary: PostgreSQL b-tree
// pages and the WAL that logged them, next to heap pages) a second dictionary is trained from them
// and kept if it makes them at least 10% smaller.
Result<DictionaryChoice> TrainAndStoreDictionaries(Store* store, const std::vector<std::string>& samples,
                                                    int level = kDefaultCompressionLevel);

std::string DictionaryKey(uint32_t id);

}  // namespace scnfs
