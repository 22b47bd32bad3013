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
// The topmost mount whose mount point is exactly `path` (made absolute and normalised lexically).
Result<std::optional<MountInfo>> FindMount(const std::string& path);
// `path` made absolute and normalised without resolving symlinks, no trailing '/'.
std::string AbsolutePath(const std::string& path);

}  // namespace scnfs
