// Walks backup sources into the entries a backup records: relative path, absolute path and lstat.
#pragma once

#include <sys/stat.h>

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "scnfs/status.h"

namespace scnfs {

struct SourceEntry {
  std::string rel;  // '/'-separated, relative to the source directory (a file source: its base name)
  std::string abs;
  struct stat st {};
  std::string target;  // a symlink's target, read during the scan; for a followed link (below), the link's text
  bool is_dir() const { return S_ISDIR(st.st_mode); }
  bool is_file() const { return S_ISREG(st.st_mode); }
  bool is_symlink() const { return S_ISLNK(st.st_mode); }
  bool followed_link() const { return !is_symlink() && !target.empty(); }  // a link the scan followed (ScanOptions)
};

// Which symlinks a scan follows: those for which `follow_link(rel, abs, target)` holds, `target` being the stat of what
// the link points to. Such an entry is recorded as that directory or file (its lstat replaced by `target`, the
// entry's `target` keeping the link's text), and a directory is walked; every other symlink, and a dangling one, is
// recorded as a symlink. For PostgreSQL's pg_wal and pg_tblspc/<oid> and for Oracle datafiles kept on another
// disk: their contents are part of the database but live elsewhere.
struct ScanOptions {
  std::string skip_dir;  // see ScanSources
  // `abs`: the link's own path (as the walk reached it), for a predicate that looks at what the link leads to.
  std::function<bool(std::string_view rel, const std::string& abs, const struct stat& target)> follow_link;  // empty: none
};

// Directories are walked recursively without following symlinks (but see ScanOptions); sockets, fifos and devices are skipped. Two
// sources yielding the same relative path is an error. Entries are sorted by path. A live database creates and
// removes files (PostgreSQL's pgsql_tmp) while it is walked: an entry or directory that is gone by the time it is
// read (ENOENT) is left out, as if the walk had come a moment later; any other error fails the scan. The directory
// `skip_dir` (the store, when it lies inside a source: it would be backed up into itself, growing by its own size
// with each backup) is left out with everything in it; a source that is that directory, or inside it, is refused,
// and a link into it is never followed (kept as a link).
Result<std::vector<SourceEntry>> ScanSources(const std::vector<std::string>& sources, const ScanOptions& options = {});

}  // namespace scnfs
