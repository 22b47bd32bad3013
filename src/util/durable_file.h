// Small files that must survive a crash whole: pin sets, clone records.
#pragma once

#include <string>
#include <string_view>

#include "scnfs/status.h"

namespace scnfs {

// Writes `bytes` to `path` through `path`.tmp, fsync and rename: a reader sees the old content or the new, never a
// part, and after a crash the file holds one of them. The .tmp is removed on failure.
Status WriteFileDurably(const std::string& path, std::string_view bytes);
// The same without the fsync: atomic for readers while the machine runs, for files that mean nothing after a
// crash (a mount's pins: their holder is dead then, and ListPins ignores them).
Status WriteFileAtomically(const std::string& path, std::string_view bytes);

// fsync of a directory, so that names created or renamed in it survive a crash. Best effort: errors are ignored.
void SyncDirectory(const std::string& dir);

}  // namespace scnfs
