// Small files and directories that must survive a crash whole: store markers, seals, clone records.
#pragma once

#include <string>
#include <string_view>

#include "scnfs/status.h"

namespace scnfs {

// Writes `bytes` to `path` through `path`.tmp, fsync, rename and an fsync of the directory: a reader sees the old
// content or the new, never a part, and once it returns OK a crash leaves the new content. The .tmp is removed on
// failure.
Status WriteFileDurably(const std::string& path, std::string_view bytes);
// The same without the fsyncs: atomic for readers while the machine runs, for files that mean nothing after a
// crash (a mount's pins: their holder is dead then, and ListPins ignores them).
Status WriteFileAtomically(const std::string& path, std::string_view bytes);

// fsync of a directory, so that names created, renamed or removed in it survive a crash. EINVAL (a file system that
// cannot sync directories) is not an error.
Status SyncDirectory(const std::string& dir);
// mkdir -p whose result survives a crash: each directory made is fsynced in its parent. OK if `dir` exists.
Status CreateDirectoriesDurably(const std::string& dir);

}  // namespace scnfs
