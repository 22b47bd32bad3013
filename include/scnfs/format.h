// Datafile formats: how scnfs reads, versions and checks the blocks of one file.
//
// A FileFormat is made for one file (it may carry facts parsed from that file's header, such as the Oracle block
// size and relative file number, or the PostgreSQL segment number). Backup asks it for every block's change number
// (the version key) and for a DBVERIFY-style check; verify asks the same of restored or mounted files.
//
// Thread-safety: a FileFormat is immutable after creation; Check() may be called from many threads at once.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "scnfs/status.h"

namespace scnfs {

using ByteSpan = std::span<const std::byte>;

enum class FormatId : unsigned char {
  kRaw = 0,       // any file; blocks versioned by the backup that read them
  kOracle = 1,    // Oracle datafile; blocks versioned by their header SCN
  kPostgres = 2,  // PostgreSQL relation file (8 KiB pages); pages versioned by pd_lsn
};
std::string_view FormatName(FormatId id);                    // "raw", "oracle", "postgres"
std::optional<FormatId> ParseFormatName(std::string_view s);  // inverse of FormatName
// What a DBA of that database calls a block's change number: "SCN" (Oracle), "LSN" (PostgreSQL), "SCN/LSN" (raw,
// which has none; used in messages that cover any format).
std::string_view ChangeNumberName(FormatId id);
// A change number as that database writes it: an Oracle SCN in decimal, a PostgreSQL LSN as "X/Y" in hex
// (pg_controldata, pg_current_wal_lsn()), so that it can be compared and pasted back into --at scn:.
std::string ChangeNumberText(FormatId id, uint64_t change);

// What a block check found. Names follow DBVERIFY / V$DATABASE_BLOCK_CORRUPTION where a DBA knows them.
enum class BlockKind : unsigned char {
  kOk = 0,             // a valid, used block
  kEmpty = 1,          // formatted but never used (Oracle type 0 "new"; PostgreSQL all-zero new page)
  kAllZero = 2,        // every byte is zero (normal for raw and PostgreSQL; "ALL ZERO" corruption in Oracle)
  kFractured = 3,      // header and tail disagree (a split read of a block being written)
  kBadChecksum = 4,    // the block's checksum does not verify
  kWrongAddress = 5,   // the block says it belongs elsewhere (Oracle rdba)
  kMarkedCorrupt = 6,  // the database marked it corrupt (Oracle seq 0xFF)
  kBadHeader = 7,      // header fields impossible for this format (Oracle frmt, PostgreSQL pd_lower/pd_upper...)
};
std::string_view BlockKindName(BlockKind k);  // "ok", "empty", "all zero", "fractured", "checksum", ...
// The kinds that are corruption in every format (kAllZero is in Oracle only: BlockCheck::corrupt says, per format).
inline bool AlwaysCorrupt(BlockKind k) { return k >= BlockKind::kFractured; }

struct BlockCheck {
  BlockKind kind = BlockKind::kOk;
  bool corrupt = false;   // whether `kind` counts as corruption in this format
  uint64_t change = 0;    // SCN (Oracle) or page LSN (PostgreSQL); 0 when the block has none
  uint8_t type = 0;       // format-specific block type (Oracle type byte); 0 otherwise
  // A cheap identity that, together with `change`, proves the content is the same as a stored version with the
  // same pair, so backup may skip hashing. Absent where the format cannot promise that (see docs/format-oracle.md, docs/format-postgres.md).
  std::optional<uint32_t> fingerprint;
};

// A block that fails a check may be one the database is writing: backup and `verify --file` read it again before
// calling it corrupt. Once this many blocks of one file have stayed bad through every re-read, the file has damage,
// and its further bad blocks are waited on less (backup: two re-reads; verify --file: none), or 400 of them cost
// seconds of pauses (docs/backup.md).
inline constexpr uint64_t kRereadBudget = 16;

class FileFormat {
 public:
  virtual ~FileFormat() = default;
  virtual FormatId id() const = 0;
  virtual uint32_t block_size() const = 0;
  // True when blocks are versioned by the change number in their header; false when by the backup.
  virtual bool versioned_by_change() const = 0;
  // Checks one block. `blockno` is the block number within this file (0-based, the file's first byte is block 0).
  // REQUIRES: block.size() == block_size().
  virtual BlockCheck Check(uint64_t blockno, ByteSpan block) const = 0;
  // Whether a file of `size` bytes is acceptable (e.g. a whole number of blocks). Returns InvalidArgument with a
  // message a DBA understands otherwise.
  virtual Status CheckSize(uint64_t size) const = 0;
};

// True when every byte of `b` is zero. Fast (word at a time).
bool IsAllZero(ByteSpan b);

}  // namespace scnfs
