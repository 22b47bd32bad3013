// The open-file limit of this process.
#pragma once

namespace scnfs {

// Raises the soft RLIMIT_NOFILE to the hard limit, and first the hard limit to the kernel's ceiling (fs.nr_open)
// where the process may (root). Many systems start processes at a soft limit of 1024, while a store opened by
// RocksDB keeps every table file open (one per 64 MiB of content) and a mount keeps the files its clients have
// open. (A restore needs only a bounded window of files open, whatever their number.) Best effort: on failure the
// limit stays as it was.
void RaiseOpenFileLimit();

}  // namespace scnfs
