// The open-file limit of this process.
#pragma once

namespace scnfs {

// Raises the soft RLIMIT_NOFILE to the hard limit. Many systems start processes at a soft limit of 1024, while a
// restore of a PostgreSQL cluster holds each of its ~1,000 files open (twice: buffered and O_DIRECT), a store
// opened by RocksDB keeps every table file open, and a mount keeps the files its clients have open. Best effort:
// on failure the limit stays as it was.
void RaiseOpenFileLimit();

}  // namespace scnfs
