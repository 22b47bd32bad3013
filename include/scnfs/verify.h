// Verify: a DBVERIFY-like report per datafile, for a point in the store or for a file on disk, plus (for the store)
// a check that every content a point references decompresses to its hash.
//
// Thread-safety: the functions run their own worker threads.
#pragma once

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
  uint64_t empty = 0;         // formatted never used / new pages
  uint64_t zero = 0;          // all-zero blocks (normal outside Oracle)
  uint64_t corrupt = 0;
  uint64_t missing = 0;       // Oracle: blocks the file header counts that the file does not have (truncated)
  std::map<std::string, uint64_t> corrupt_by_kind;
  uint64_t highest_change = 0;
  std::vector<BadBlock> bad_blocks;  // at most 100 listed per file
  nlohmann::json header;
};

struct VerifyReport {
  std::string point;          // what was verified
  std::vector<FileVerification> files;
  uint64_t contents_checked = 0;
  std::vector<std::string> store_errors;  // missing or undecodable content, hash mismatches (at most 100)
  uint64_t store_error_count = 0;
  uint64_t corrupt_blocks() const;
  uint64_t missing_blocks() const;
  bool clean() const { return corrupt_blocks() == 0 && missing_blocks() == 0 && store_error_count == 0; }
};

// Verifies the datafiles of a point in the store.
Result<VerifyReport> VerifyPoint(Store* store, const std::string& db, const std::string& at, int threads = 0);
// Verifies one file on disk. Format: given, or detected (Oracle block-0 magic; a PostgreSQL relation path inside a
// data directory); raw files only get the all-zero count.
Result<VerifyReport> VerifyFile(const std::string& path, std::optional<FormatId> format);

nlohmann::json ToJson(const VerifyReport& r);

}  // namespace scnfs
