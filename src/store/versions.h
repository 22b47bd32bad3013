// Block versions: (database, file, block, change number, backup) -> content (docs/store-format.md).
//
//   key   (24 bytes, big endian): db u32 | file u32 | block u32 | change u64 | backup u32
//   value: flags u8 | kind u8 | [hash 16, unless flags&kZero] | [actual change u64, flags&kRaised]
//          | [fingerprint u32, flags&kFingerprint]
//
// Keys of one block are ordered by (change, backup). Backup keeps them monotonic in backup order: when a block's
// change number went backwards (RESETLOGS, pg_resetwal, a file restored from an older copy), its key change is
// raised to the previous version's and the real one is kept in the value (flags&kRaised). Hence, for every block,
// key order == backup order, and "the version as of backup N" is the last visible key with backup <= N.
//
// Thread-safety: VersionReader is per thread; the free functions are pure.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "scnfs/format.h"
#include "scnfs/status.h"
#include "scnfs/store.h"
#include "util/content_hash.h"

namespace rocksdb {
class Iterator;
}

namespace scnfs {

class Store;

inline constexpr size_t kVersionKeySize = 24;
inline constexpr size_t kVersionPrefixSize = 12;  // db | file | block
inline constexpr uint32_t kAnyBackup = UINT32_MAX;
inline constexpr uint64_t kAnyChange = UINT64_MAX;

struct VersionKey {
  uint32_t db = 0;
  uint32_t file = 0;
  uint32_t block = 0;
  uint64_t change = 0;
  uint32_t backup = 0;
};

struct VersionValue {
  enum Flags : unsigned char { kZero = 1, kRaised = 2, kFingerprint = 4 };
  bool zero = false;  // an all-zero block: no content stored
  BlockKind kind = BlockKind::kOk;
  ContentHash hash;
  std::optional<uint64_t> actual_change;  // set when the key's change was raised
  std::optional<uint32_t> fingerprint;
};

struct Version {
  VersionKey key;
  VersionValue value;
  uint64_t change() const { return value.actual_change.value_or(key.change); }
};

void EncodeVersionKey(const VersionKey& k, char out[kVersionKeySize]);
std::string EncodeVersionKey(const VersionKey& k);
VersionKey DecodeVersionKey(std::string_view key);  // REQUIRES: key.size() == kVersionKeySize
std::string EncodeVersionValue(const VersionValue& v);
Result<VersionValue> DecodeVersionValue(std::string_view v);

// Which backups of one database may be seen: failed and unfinished backups are hidden, so their versions are never
// served or compared against (a later prune removes them).
class Visibility {
 public:
  void Hide(uint32_t backup) { hidden_.insert(backup); }
  // Hides every backup after `backup` too: a long-lived reader (a mount) must not see a backup that started after
  // it resolved its point, whose id it could not have hidden.
  void HideAfter(uint32_t backup) { last_ = backup; }
  bool Visible(uint32_t backup) const { return backup <= last_ && !hidden_.contains(backup); }

 private:
  std::unordered_set<uint32_t> hidden_;
  uint32_t last_ = UINT32_MAX;
};

// Finds versions of one database's blocks. Each lookup is one seek (plus a step back over versions a later
// backup wrote, which are rare: see the key-order rule above).
class VersionReader {
 public:
  VersionReader(const Store& store, uint32_t db, const Visibility& vis);
  ~VersionReader();
  // Starts a new iterator. An iterator reads as of its creation, and seeking backwards over entries written after
  // it costs a step each: a writer calls this before each unit of work so that its lookups stay one seek.
  void Refresh() { Refresh(store_.data()); }
  // Refresh() onto `current` (what Store::data() returned) if the iterator reads another instance: a reader kept
  // for long (a mount's pooled cursor) would otherwise hold an instance the store replaced, and its table files.
  // Also when the instance caught up since (Store::data_generation): the old iterator pinned the table files of
  // what it saw, and a mount's cursors kept files the writer had deleted open for as long as they lived (a soak
  // test: 87 deleted table files, 20 MB, after 35 minutes; found 2026-12-01).
  void Follow(const std::shared_ptr<const Store::Data>& current) {
    if (current != data_ || store_.data_generation() != generation_) Refresh(current);
  }
  // Whether the iterator failed on a table file that is gone (Store::CatchUpAfterLostTable says what a reader does).
  bool LostTable() const;
  // Whether the store's data instance was replaced (Store::Refresh) since the iterator was made (tests).
  bool OnReplacedInstance() const { return data_ != store_.data(); }
  // The version of (file, block) as of backup `backup` (kAnyBackup: the newest). nullopt when there is none.
  // `ceiling` is a change number no version written by backups <= `backup` exceeds (the backup record's
  // change_ceiling; the backup id for files versioned by backup): seeking there skips every later version of a
  // block that changed since, so the lookup stays one seek however long the chain after `backup` is.
  Result<std::optional<Version>> AsOfBackup(uint32_t file, uint32_t block, uint32_t backup,
                                            uint64_t ceiling = kAnyChange);
  // The newest visible version of each block first..first+count-1 of `file`, in one forward scan (a backup reads
  // runs of blocks: one seek per run instead of one per block). out->size() becomes count.
  Status LatestRun(uint32_t file, uint32_t first, uint32_t count, std::vector<std::optional<Version>>* out);
  // For each block first..first+count-1 of `file`, in one forward scan: the last visible version with
  // backup <= max_backup and key change <= max_change (what AsOfBackup / AsOfChange return for one block), with
  // AsOfChange's tie rule for `base` (kAnyBackup: none, the last one wins). A block with more than
  // kScanPerBlock versions is looked up from its end instead (LastAsOf) and the scan goes on at the next block:
  // stepping through every version made reads and backups of often-changed blocks slower with each backup (2-3x
  // at 300 versions; found 2026-11-30), against the design's one lookup per block.
  Status RunAsOf(uint32_t file, uint32_t first, uint32_t count, uint32_t max_backup, uint64_t max_change,
                 std::vector<std::optional<Version>>* out, uint32_t base = kAnyBackup);
  // The newest version of (file, block) whose key change number is <= scn. Among versions with that same key
  // change number (contents that changed without their change number: PostgreSQL's visibility-map pages, hint
  // bits), the newest written by a backup <= `base` (the point's base backup), else the oldest after it: the one
  // that was in the database at the point (docs/points-in-time.md).
  Result<std::optional<Version>> AsOfChange(uint32_t file, uint32_t block, uint64_t scn, uint32_t base);

  // Versions of one block a run steps through before it looks the block up from its end instead.
  static constexpr int kScanPerBlock = 4;
  // Keys RunAsOf has stepped onto since this reader was made (for tests of its cost).
  uint64_t keys_visited() const { return keys_visited_; }

 private:
  void Refresh(std::shared_ptr<const Store::Data> d);
  // AsOfChange with a limit on the backup too: one seek from the block's end (RunAsOf's rule for one block).
  Result<std::optional<Version>> LastAsOf(uint32_t file, uint32_t block, uint64_t max_change, uint32_t max_backup,
                                          uint32_t base);
  Result<std::optional<Version>> StepBackToVisible(uint32_t file, uint32_t block, uint32_t max_backup);
  const Store& store_;
  uint32_t db_;
  const Visibility& vis_;
  std::shared_ptr<const Store::Data> data_;  // the instance it_ reads: declared first, so it closes after it_
  std::unique_ptr<rocksdb::Iterator> it_;
  uint64_t generation_ = 0;  // Store::data_generation() when it_ was made
  uint64_t keys_visited_ = 0;
};

}  // namespace scnfs
