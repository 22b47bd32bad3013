#include "util/durable_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>

#include <fmt/format.h>

namespace scnfs {

namespace {
namespace fs = std::filesystem;

std::string ParentOf(const std::string& path) {
  const std::string parent = fs::path(path).parent_path().string();
  return parent.empty() ? "." : parent;
}

Status WriteThroughTmp(const std::string& path, std::string_view bytes, bool sync) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, fmt::format("cannot write {}", tmp));
  ssize_t n = ::write(fd, bytes.data(), bytes.size());
  int err = (n == ssize_t(bytes.size())) ? 0 : (n < 0 ? errno : ENOSPC);
  if (err == 0 && sync && ::fsync(fd) != 0) err = errno;
  if (::close(fd) != 0 && err == 0) err = errno;  // NFS reports a failed write-back here
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    return Status::FromErrno(err, fmt::format("cannot write {}", path));
  }
  // The rename is only durable once the directory is: without this a power cut could bring back the old file
  // (found by a durability audit, 2026-12-02: DIR/sealed after a commit).
  return sync ? SyncDirectory(ParentOf(path)).WithContext(fmt::format("cannot write {}", path)) : Status::OK();
}

}  // namespace

Status WriteFileDurably(const std::string& path, std::string_view bytes) { return WriteThroughTmp(path, bytes, true); }
Status WriteFileAtomically(const std::string& path, std::string_view bytes) { return WriteThroughTmp(path, bytes, false); }

Status SyncDirectory(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, fmt::format("cannot open directory {} to sync it", dir));
  // EINVAL: a file system that cannot sync a directory (some network and FUSE ones), where names are as durable
  // as it makes them; PostgreSQL's fsync_fname takes it the same way.
  const int err = ::fsync(fd) != 0 && errno != EINVAL ? errno : 0;
  ::close(fd);
  return err != 0 ? Status::FromErrno(err, fmt::format("cannot sync directory {}", dir)) : Status::OK();
}

Status CreateDirectoriesDurably(const std::string& dir) {
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) {
    return S_ISDIR(st.st_mode) ? Status::OK() : Status::FromErrno(ENOTDIR, fmt::format("cannot create {}", dir));
  }
  const std::string parent = ParentOf(dir);
  if (parent != dir) SCNFS_RETURN_IF_ERROR(CreateDirectoriesDurably(parent));
  if (::mkdir(dir.c_str(), 0777) != 0) {
    // EEXIST with stat's ENOENT above: a dangling symlink (else another process made it just now).
    const int err = errno;
    if (err != EEXIST) return Status::FromErrno(err, fmt::format("cannot create {}", dir));
    if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
      return Status::FromErrno(ENOTDIR, fmt::format("cannot create {}: it is a link to nothing, or not a directory", dir));
  }
  return SyncDirectory(parent);
}

}  // namespace scnfs
