// Restore: writes a point in time (backup:ID, scn:N, time:ISO8601, latest) as ordinary files with their metadata.
// Every block is one version lookup (a "virtual full"): no chain is replayed.
//
// Thread-safety: RestorePoint runs its own worker threads.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "scnfs/catalog.h"
#include "scnfs/status.h"

namespace scnfs {

class Store;

struct RestoreProgress {
  uint64_t bytes_done = 0, bytes_total = 0;
  double seconds = 0;
};

struct RestoreOptions {
  std::string db;
  std::string at = "latest";
  std::string dest;      // must not exist, or be an empty directory (but see `only`)
  // Restore only these files or directories (paths as in the backup, e.g. "users01.dbf" or "base/16384"), with what
  // lies below them and the directories above them that `dest` lacks; empty: everything. A DBA's "restore datafile 7"
  // into the database's own directory: `dest` may then hold other files, but none of these paths may exist in it
  // (a restore never overwrites), and directories already in `dest` keep their owners, modes and times.
  std::vector<std::string> only;
  int threads = 0;       // Default (0): four per core, 4 to 16 (a cold restore waits on the store's disk)
  // Aligned runs of blocks are written with O_DIRECT, around the page cache (docs/backup.md). False: everything
  // through the page cache (destinations where direct I/O is slow, such as NFS, or a database about to read it all).
  bool direct_io = true;
  std::function<void(const RestoreProgress&)> progress;
  // Set (by a signal handler) to stop: workers finish the unit they are writing and the restore fails with
  // "restore interrupted", leaving the partial files in `dest`.
  const std::atomic<bool>* cancel = nullptr;
};

struct RestoreReport {
  ResolvedPoint point;
  uint64_t files = 0, directories = 0, symlinks = 0, bytes = 0;
  double seconds = 0;
  std::string warning;   // e.g. ownership not restored when not run as root
};

Result<RestoreReport> RestorePoint(Store* store, const RestoreOptions& options);

}  // namespace scnfs
