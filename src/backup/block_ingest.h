// Block ingest: the per-thread worker of a backup. For each block of a unit it checks the block, finds the newest
// stored version, and writes a new version (and new content) only when the content changed.
//
// Thread-safety: one BlockIngest per worker thread; IngestShared is shared and thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_set>
#include <vector>

#include <rocksdb/write_batch.h>

#include "backup/file_plan.h"
#include "scnfs/backup.h"
#include "store/content_codec.h"
#include "store/versions.h"
#include "util/content_hash.h"

namespace scnfs {

struct IngestShared {
  Store* store = nullptr;
  uint32_t db = 0;
  uint32_t backup = 0;
  DictionaryChoice dicts_choice;
  int level = kDefaultCompressionLevel;
  int fracture_retries = 5;
  std::function<void(const std::string&, uint64_t)> before_reread;  // BackupOptions::before_reread
  const Visibility* vis = nullptr;
  Dictionaries* dicts = nullptr;

  std::atomic<uint64_t> bytes_read{0}, blocks_read{0}, blocks_changed{0}, zero_blocks{0}, corrupt_blocks{0};
  std::atomic<uint64_t> new_contents{0}, new_bytes_raw{0}, new_bytes_stored{0}, max_key_change{0};
  uint64_t prev_ceiling = 0;  // the database's change_ceiling before this backup
  // The highest scn_position() of the complete backups before this one (0: none), where this backup stands just
  // after unless it reads a higher SCN (BackupRecord::ScnStandsAt).
  uint64_t prev_highest = 0;
  // Blocks whose own change number was below their stored version's key, and the lowest such change number.
  std::atomic<uint64_t> went_back_blocks{0}, went_back_to{UINT64_MAX};

  // New content that a worker has taken on but not yet written: until its batch is in the store, another
  // worker's lookup would not find it and would store it twice. A claim lives only until the claiming worker's batch
  // is written (then the store answers; BlockIngest::kFlushEntries), so this set holds at most threads x 256 hashes,
  // not one per new block of the backup (a 1 TiB full would have needed gigabytes).
  std::mutex mu;
  std::unordered_set<ContentHash, ContentHashHasher> in_flight;  // GUARDED_BY(mu)
  std::vector<BadBlock> bad_blocks;                              // GUARDED_BY(mu)
  // Versions of blocks with no change number of their own (corrupt, a partial page, change 0: IngestBlock) that
  // have an earlier version. Their keys are written at commit, at the backup's highest valid change number
  // (WriteDeferredVersions): a garbage SCN would hide the block from every scn: point and lift the backup's
  // highest SCN; 0 would put this version at every scn: point, before the earlier backups'.
  struct DeferredVersion {
    uint32_t file = 0;
    uint32_t block = 0;
    uint64_t prev_key_change = 0;  // the key order must stay backup order
    VersionValue value;
  };
  static constexpr size_t kMaxDeferred = 1 << 20;  // ~100 MiB; beyond it see BlockIngest::IngestBlock
  std::vector<DeferredVersion> deferred;  // GUARDED_BY(mu)
  size_t max_deferred = kMaxDeferred;     // (tests set fewer)
  bool Defer(DeferredVersion d);          // false when max_deferred are held

  // True if `h` was not claimed: the caller then looks it up and writes it if the store lacks it.
  bool ClaimContent(const ContentHash& h);
  void ReleaseClaims(const std::vector<ContentHash>& claimed);
  void ReportBad(BadBlock b);
};

struct Unit {
  FileJob* job;
  uint64_t first;
  uint64_t count;
};

// Writes the deferred versions (IngestShared::deferred), keyed at max(highest_valid_change, the block's previous
// key), and raises shared->max_key_change to match. Call after every unit is ingested, before the data is flushed.
Status WriteDeferredVersions(IngestShared* shared, uint64_t highest_valid_change);

class BlockIngest {
 public:
  explicit BlockIngest(IngestShared* shared);
  // Reads and ingests one unit. Its writes join this worker's batch, which is written once it holds a full unit's
  // worth (kFlushEntries); call Flush() after the last unit. Returns the first error.
  Status Run(const Unit& u);
  // Writes the batch and releases its claims.
  Status Flush();

 private:
  // `past_end`: the block lies past where a read met the file's end (it shrank while it was read): ingested as read
  // (zeros), but counted as read by no figure of the report, since the file's record ends before it.
  Status IngestBlock(FileJob* job, uint64_t blockno, std::span<std::byte> block, size_t len,
                     const std::optional<Version>& prev, bool past_end);
  BlockCheck CheckWithReread(FileJob* job, uint64_t blockno, std::span<std::byte> block);
  Status ContentMissing(const ContentHash& h, bool* missing);

  // A changed-block list gives units of one or a few blocks: one store write per unit cost 12% of such an
  // incremental's CPU (perf, 7,872 one-block units). A unit of 128 blocks writes up to 256 entries at once, as before;
  // smaller units share a batch up to that size, which keeps the claims held at threads x 256 hashes at most
  // (Run flushes before a unit that could take the batch past either bound).
  static constexpr int kFlushEntries = 256;

  IngestShared* s_;
  VersionReader versions_;
  BlockCompressor compressor_;
  rocksdb::WriteBatch batch_;
  std::vector<ContentHash> claimed_;  // the batch's claims, released once batch_ is written
  std::vector<std::byte> buf_;
  std::vector<std::optional<Version>> prev_;
  std::string value_;
};

}  // namespace scnfs
