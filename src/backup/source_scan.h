// Walks backup sources into the entries a backup records: relative path, absolute path and lstat.
#pragma once

#include <sys/stat.h>

#include <string>
#include <vector>

#include "scnfs/status.h"

namespace scnfs {

struct SourceEntry {
  std::string rel;  // '/'-separated, relative to the source directory (a file source: its base name)
  std::string abs;
  struct stat st {};
  bool is_dir() const { return S_ISDIR(st.st_mode); }
  bool is_file() const { return S_ISREG(st.st_mode); }
  bool is_symlink() const { return S_ISLNK(st.st_mode); }
};

// Directories are walked recursively without following symlinks; sockets, fifos and devices are skipped. Two
// sources yielding the same relative path is an error. Entries are sorted by path.
Result<std::vector<SourceEntry>> ScanSources(const std::vector<std::string>& sources);

}  // namespace scnfs
