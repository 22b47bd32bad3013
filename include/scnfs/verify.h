// Verify: a DBVERIFY-like report per datafile, for a point in the store or for a file on disk, plus (for the store)
// a check that every content a point references decompresses to its hash.
//
// Thread-safety: the functions run their own worker threads.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scnfs/backup.h"
#include "scnfs/catalog.h"
#include "scnfs/format.h"
#include "scnfs/status.h"

namespace scnfs {

class Store;

struct FileVerification {
  std::string path;
  FormatId format = FormatId::kRaw;
  uint64_t examined = 0;      // blocks checked (Oracle: block 0 excluded, as DBVERIFY counts)
  uint64_t processed = 0;     // valid, used blocks
  // Oracle: `processed` split as DBVERIFY's "Total Pages Processed (Data / Index / Other)": type 6 blocks whose
  // transaction header says data (1) or index (2), and every other sound block (file header, segment headers,
  // bitmaps, undo). Zero for other formats.
  uint64_t processed_data = 0, processed_index = 0, processed_other = 0;
  // `verify --file`: blocks that failed a check on the first read and passed on a re-read (being written), as
  // DBVERIFY's "Influx". A point in the store holds blocks as the backup read them: none there.
  uint64_t influx = 0;
  uint64_t empty = 0;         // formatted never used / new pages
  uint64_t zero = 0;          // all-zero blocks (normal outside Oracle)
  uint64_t corrupt = 0;
  uint64_t missing = 0;       // Oracle: blocks the file header counts that the file does not have (truncated)
  // PostgreSQL: a last page cut short (a crash while the relation was extended), in `examined` but not checked: it
  // is not a page (docs/format-postgres.md). Counted apart so that examined = processed + empty + zero + corrupt +
  // partial, and "processed" stays "valid blocks in use" (it was counted there until 2026-12-01).
  uint64_t partial = 0;
  std::map<std::string, uint64_t> corrupt_by_kind;
  uint64_t highest_change = 0;
  static constexpr size_t kMaxBadListed = 10000;  // DBVERIFY lists every one; a bound keeps a wrecked file's report readable
  std::vector<BadBlock> bad_blocks;  // the first kMaxBadListed of the file's `corrupt`
  nlohmann::json header;
  std::string note;  // how the file was checked, where it is not evident (`verify --file` of a PostgreSQL page file)
  // DBVERIFY's HIGH_SCN: with VerifyOptions::high_change, the sound blocks whose change number is above it (the
  // blocks changed since that SCN/LSN), counted, and listed up to kMaxHighListed per file.
  static constexpr size_t kMaxHighListed = 1000;
  uint64_t high_count = 0;
  std::vector<std::pair<uint64_t, uint64_t>> high_blocks;  // (block, change number)
};

struct VerifyProgress {
  uint64_t bytes_done = 0, bytes_total = 0;  // of the datafiles' logical sizes
  uint64_t files_done = 0, files_total = 0;
  uint64_t corrupt = 0;                      // corrupt blocks found so far
  double seconds = 0;
};

struct VerifyOptions {
  int threads = 0;                         // VerifyPoint: workers (default: one per core)
  // Called about twice a second from a thread of its own while the check runs (VerifyPoint and VerifyFile), and
  // once more on the caller's thread when it has finished, with everything done.
  std::function<void(const VerifyProgress&)> progress;
  std::optional<uint64_t> high_change;     // list the blocks whose change number is above this
  // VerifyFile of a PostgreSQL relation file: whether its cluster has data checksums (unset: the pg_control of the
  // data directory above the file, else a guess from its pages, which stale checksums of a cluster whose checksums
  // were turned off mislead).
  std::optional<bool> pg_checksums;
  // Tests: called before each re-read of a block that failed (VerifyFile), with its number and the attempt (1-3).
  std::function<void(uint64_t block, int attempt)> before_reread;
};

struct VerifyReport {
  std::string point;          // what was verified
  std::string note;           // what a DBA must know about it (a hot PostgreSQL backup: what recovers it); may be empty
  std::optional<uint64_t> high_change;  // VerifyOptions::high_change it was made with (each file's high_* then)
  std::vector<FileVerification> files;
  uint64_t contents_checked = 0;
  std::vector<std::string> store_errors;  // missing or undecodable content, hash mismatches (at most 100)
  uint64_t store_error_count = 0;
  uint64_t corrupt_blocks() const;
  uint64_t missing_blocks() const;
  bool clean() const { return corrupt_blocks() == 0 && missing_blocks() == 0 && store_error_count == 0; }
};

// Verifies the datafiles of a point in the store.
Result<VerifyReport> VerifyPoint(Store* store, const std::string& db, const std::string& at, const VerifyOptions& options = {});
// Verifies one file on disk. Format: given, or detected (Oracle block-0 magic; a PostgreSQL relation path inside a
// data directory); raw files only get the all-zero count. A block that fails a check is re-read up to 3 times
// (2, 4, 8 ms apart) before it is counted corrupt: a live database may be writing it (`influx`).
Result<VerifyReport> VerifyFile(const std::string& path, std::optional<FormatId> format, const VerifyOptions& options = {});

nlohmann::json ToJson(const VerifyReport& r);

}  // namespace scnfs
