// /proc/self/mountinfo, read without touching the mounts themselves (a dead FUSE mount answers stat with ENOTCONN,
// and our own mount cannot be stat()ed before its session loop runs).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "scnfs/status.h"

namespace scnfs {

struct MountInfo {
  std::string point;   // absolute, unescaped
  std::string fstype;  // "fuse.scnfs", "ext4"
  unsigned major = 0, minor = 0;
};

Result<std::vector<MountInfo>> ReadMountInfo();
// The topmost mount whose mount point is exactly `path` (made absolute: AbsolutePath).
Result<std::optional<MountInfo>> FindMount(const std::string& path);
// `path` made absolute and normalised, its links resolved as the kernel records a mount point (the last part only
// when it is itself a link: a dead mount is never stat()ed), no trailing '/'. "" for "".
std::string AbsolutePath(const std::string& path);

}  // namespace scnfs
