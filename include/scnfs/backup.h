// Backup: reads datafiles and stores what changed since the database's last complete backup.
//
// The first backup of a database is full; every later one is incremental (blocks whose content is unchanged cost no
// write). A backup is atomic: its record is "running" while it writes and turns "complete" in one synced write at
// the end; until then its versions are invisible, and a crash or a failure leaves it "failed" (docs/backup.md).
//
// Thread-safety: RunBackup uses its own worker threads; call it once per process at a time (one writer per store).
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "scnfs/catalog.h"
#include "scnfs/format.h"
#include "scnfs/status.h"

namespace scnfs {

class Store;

struct BackupProgress {
  uint64_t bytes_done = 0, bytes_total = 0;
  uint64_t blocks_changed = 0;
  double seconds = 0;
};

struct BackupOptions {
  std::string db;                        // database name (created at its first backup)
  std::vector<std::string> sources;      // files and directories
  std::optional<FormatId> format;        // default: the database's, or detected at its first backup
  std::string changed_blocks_file;       // lines "relative/path from to": read only these blocks
  uint32_t raw_block_size = 8192;        // block size of raw files. Default: 8 KiB
  int threads = 0;                       // worker threads. Default (0): one per core
  int fracture_retries = 5;              // re-reads of a block in flux before it is called corrupt (docs/backup.md)
  // For tests: called before each re-read of a block in flux (path relative to its source, block number).
  std::function<void(const std::string&, uint64_t)> before_reread;
  // For tests: called once every file is planned (sizes and Oracle headers read), before the first block is read.
  std::function<void()> before_ingest;
  // For tests: called once every file has been read, before the backup looks at the source again (PostgreSQL's
  // pg_control, for a cluster started while it was read) and commits.
  std::function<void()> after_read;
  // For tests: how many blocks without a change number of their own are keyed at the backup's end (the rest are
  // keyed as they are read; docs/points-in-time.md). 0: the default, 2^20.
  size_t max_deferred = 0;
  // PostgreSQL: back the running cluster up with the server's help (docs/backup.md, "Hot PostgreSQL backups"):
  // connect with this libpq connection string ("" takes PGHOST, PGPORT, PGUSER... from the environment), bracket
  // the copy with pg_backup_start / pg_backup_stop, and keep the backup_label and the WAL up to the stop LSN, so
  // that a server started on a restore or clone recovers to a consistent state by itself.
  std::optional<std::string> pg_connect;
  bool pg_fast_checkpoint = false;  // pg_backup_start's checkpoint at once (else spread, as pg_basebackup's default)
  // For tests: PostgreSQL, called once pg_wal is listed for its read after every other file (after pg_backup_stop
  // with pg_connect), before the WAL is read.
  std::function<void()> before_wal_read;
  const std::atomic<bool>* cancel = nullptr;  // set by a signal handler to stop the backup cleanly
  std::function<void(const BackupProgress&)> progress;  // called about twice a second from a monitor thread
};

struct BadBlock {
  std::string path;
  uint64_t block = 0;
  BlockKind kind = BlockKind::kOk;
  uint64_t change = 0;
  uint8_t type = 0;
  // verify, Oracle: the bad block's header as DBVERIFY dumps it (rdba, scn, seq, flg, tail, chkval, residual, frmt);
  // null otherwise.
  nlohmann::json header;
};

struct BackupReport {
  BackupRecord record;
  FormatId format = FormatId::kRaw;  // the database's: how its change numbers are written for people
  std::vector<BadBlock> bad_blocks;  // at most 1000 are listed; record.corrupt_blocks counts all
  double seconds = 0;             // from start to the end, compaction included
  double compaction_seconds = 0;  // of `seconds`: waiting, after the commit, for the compaction of this backup's data
  std::string warning;            // set when the backup committed but the compaction after it failed
  std::vector<std::string> notes;  // what a DBA should know about the source (datafiles of two databases, ...)
  uint64_t scn_served_from = 0;    // when the backup started a new line: ScnServedFrom (catalog.h); else 0
  uint64_t dictionary_bytes = 0;   // of record.new_bytes_stored: the database's compression dictionaries (first backup)
  // Oracle datafiles shorter than their headers say (Oracle refuses to open them: ORA-01200), stored as read. A
  // backup with any is complete and exits 2, as one with corrupt blocks: verify of it finds them.
  struct ShortDatafile {
    std::string path;
    uint64_t blocks = 0;         // whole blocks in the file, block 0 included
    uint64_t header_blocks = 0;  // what its header says it holds, block 0 included
  };
  std::vector<ShortDatafile> short_datafiles;
};

// Runs one backup. REQUIRES: `store` opened as the writer. On failure the backup (if it was started) is recorded
// as failed and every earlier backup is untouched.
Result<BackupReport> RunBackup(Store* store, const BackupOptions& options);

// What a DBA must know about a backup of a running PostgreSQL cluster (BackupRecord::hot), in one sentence: the
// backup's NOTE, a restore's warning and `list`'s line.
std::string HotBackupNote(const BackupRecord& r);

// Marks backups left "running" by a process that died as failed. Called by the writer at open.
Status FailInterruptedBackups(Store* store);

}  // namespace scnfs
