#include "util/durable_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

#include <fmt/format.h>

namespace scnfs {

namespace {
Status WriteThroughTmp(const std::string& path, std::string_view bytes, bool sync) {
  const std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, fmt::format("cannot write {}", tmp));
  ssize_t n = ::write(fd, bytes.data(), bytes.size());
  int err = (n == ssize_t(bytes.size())) ? 0 : (n < 0 ? errno : ENOSPC);
  if (err == 0 && sync && ::fsync(fd) != 0) err = errno;
  ::close(fd);
  if (err == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) err = errno;
  if (err != 0) {
    ::unlink(tmp.c_str());
    return Status::FromErrno(err, fmt::format("cannot write {}", path));
  }
  return Status::OK();
}

}  // namespace

Status WriteFileDurably(const std::string& path, std::string_view bytes) { return WriteThroughTmp(path, bytes, true); }
Status WriteFileAtomically(const std::string& path, std::string_view bytes) { return WriteThroughTmp(path, bytes, false); }

void SyncDirectory(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

}  // namespace scnfs
