// Planning a backup: which files, in which format, under which file id, and which blocks to read.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backup/changed_blocks.h"
#include "backup/source_scan.h"
#include "scnfs/catalog.h"
#include "scnfs/format.h"
#include "scnfs/oracle_format.h"

namespace scnfs {

// A source file is open only while the backup reads it, so that a cluster of tens of thousands of files does not
// need as many descriptors: PlanFiles opens it for its checks and closes it; the ingest opens it when a worker
// takes its first unit (OpenForIngest) and closes it when its last unit is done (UnitDone).
struct FileJob {
  SourceEntry entry;
  int fd = -1;  // set under open_mu; workers read it only after OpenForIngest, and it stays until the last unit
  std::mutex open_mu;
  bool vanished = false;  // removed before the ingest could open it: left out of the backup's file list
  std::atomic<uint64_t> units_left{0};
  std::unique_ptr<FileFormat> format;
  uint32_t file_id = 0;
  bool new_file_id = false;
  const FileRecord* prev = nullptr;  // the same path in the previous complete backup
  BlockRanges to_read;               // inclusive block ranges this backup reads
  std::string read_mode;             // "full", "changed blocks", "unchanged"
  nlohmann::json header;             // format facts for the catalog
  uint64_t checkpoint_change = 0;    // Oracle: the file header's checkpoint SCN
  std::atomic<uint64_t> max_change{0};
  std::atomic<uint64_t> corrupt{0};
  std::atomic<uint64_t> stayed_bad{0};  // blocks that failed every re-read (BlockIngest::CheckWithReread)
  // The corrupt blocks this backup read, for FileRecord::held_corrupt; at most kMaxHeldCorrupt + 1 are kept.
  mutable std::mutex corrupt_mu;
  std::vector<uint32_t> corrupt_found;  // GUARDED_BY(corrupt_mu), in no order
  void NoteCorrupt(uint32_t block);
  // FileRecord::held_corrupt of this backup: the blocks noted, ascending, or the too-many mark. Call once the
  // workers are joined.
  std::vector<uint32_t> HeldCorrupt() const;
  // How many of the corrupt blocks noted (at most kMaxHeldCorrupt + 1 are) are `block` or later.
  uint64_t CorruptFrom(uint64_t block) const;
  // The lowest offset at which a read met the end of the file before its planned size; UINT64_MAX when none did.
  // Every byte below it was read from the file; bytes at or past it may be zeros it never held, even when the file
  // has grown back since (rewritten in place with O_TRUNC, a relation truncated and extended again).
  std::atomic<uint64_t> end_met{UINT64_MAX};
  bool shrank() const { return end_met.load() != UINT64_MAX; }
  // Oracle: blocks 0 and 1 as the ingest read (and stored) them, when both were sound; empty otherwise. Written by
  // the one worker that reads them, read once the workers are joined.
  std::vector<std::byte> head;

  FileJob() = default;
  FileJob(FileJob&&) = delete;
  ~FileJob();
  uint64_t blocks() const;
  // Opens the source for its units unless open; ENOENT sets `vanished` and is not an error.
  Status OpenForIngest();
  // One unit of this file is finished (or skipped); the last one closes the source, and with `check_name_at_end`
  // looks whether the path still names the inode read (`named_at_end`).
  void UnitDone();
  // A PostgreSQL WAL segment: a checkpoint recycles one by renaming it, then overwrites it when it is used again.
  // Looked at right after the file's last unit, not once the whole WAL is read: a segment renamed after it was read
  // whole was read right (found by review, 2026-12-01).
  bool check_name_at_end = false;
  std::atomic<bool> named_at_end{true};
};

// Opens a source file of the scan again for reading. A live system may have put something else at its path since
// the scan: a FIFO (a blocking open waits for a writer for ever, and no interrupt reaches it), a link the scan did
// not follow, a directory, or a file where one of its directories was. Those are taken as the file removed: -1,
// not an error, and the backup leaves the file out as if the scan had come a moment later; so are a socket and a
// device. Any other failure to open is an error naming the path.
Result<int> OpenSource(const SourceEntry& e);

struct PlanInputs {
  const DatabaseRecord* db = nullptr;             // the database (its format is decided)
  const std::vector<FileRecord>* prev_files = nullptr;  // files of the previous complete backup (may be empty)
  const std::map<std::string, BlockRanges>* changed = nullptr;  // --changed-blocks, or null
  uint32_t raw_block_size = 8192;
  bool pg_checksums = false;
  // PostgreSQL: the cluster is on another line of changes than at the previous backup (another timeline, or another
  // cluster). A changed-blocks list then is not trusted (nor is an Oracle datafile's whose incarnation changed):
  // blocks the old line changed after the fork and the new line did not are back at older versions, and no list
  // names them.
  bool pg_new_line = false;
};

// An Oracle datafile header's facts as the catalog keeps them (FileRecord::header).
nlohmann::json OracleHeaderJson(const oracle::FileHeader& h);

// An Oracle datafile header's line of changes, "DBID 7 resetlogs id 100 at SCN 1", from its catalog JSON; empty when
// the header says nothing of it (not Oracle, or damaged).
std::string IncarnationOf(const nlohmann::json& header);

// An Oracle datafile header's identity, "FILE# 5 (relative 5) created at SCN 1000", from its catalog JSON; empty when
// the header says nothing of it. A path whose identity changed holds another datafile (a tablespace dropped and
// its file name reused): no changed-blocks list of the old one applies to it.
std::string DatafileIdentityOf(const nlohmann::json& header);

// Whether the sources are one PostgreSQL data directory (a directory holding PG_VERSION and global/pg_control).
bool IsPostgresDataDirectory(const std::vector<std::string>& sources);

// Decides the format of a database at its first backup: a directory holding PG_VERSION and global/pg_control is
// PostgreSQL; a first regular file with the Oracle block-0 magic is Oracle; anything else is raw.
FormatId DetectFormat(const std::vector<std::string>& sources, const std::vector<SourceEntry>& entries);

// Opens every regular file in turn (and closes it again), checks it against the database format (a file that is
// not what the format says is an error naming it), assigns file ids (the previous complete backup's for the same file; new ones advance db->next_file_id) and plans
// the blocks to read. A file removed since the scan (ENOENT at open) gets no job; the caller leaves it out.
Result<std::vector<std::unique_ptr<FileJob>>> PlanFiles(const std::vector<SourceEntry>& entries, DatabaseRecord* db,
                                                        const PlanInputs& in);

}  // namespace scnfs
