#include "scnfs/status.h"

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace scnfs {

Status Status::FromErrno(int err, std::string_view context) {
  Status st = FromErrnoCode(err, context);
  st.sys_errno_ = err;
  return st;
}

Status Status::FromErrnoCode(int err, std::string_view context) {
  std::string msg = fmt::format("{}: {}", context, std::strerror(err));
  switch (err) {
    case ENOENT:
      return NotFound(std::move(msg));
    case ENOSPC:
    case EDQUOT:
      return NoSpace(std::move(msg));
    case EROFS:
      return ReadOnly(std::move(msg));
    case EBUSY:
    case EWOULDBLOCK:
      return Busy(std::move(msg));
    case EINVAL:
    case EISDIR:
    case ENOTDIR:
      return InvalidArgument(std::move(msg));
    case EINTR:
      return Aborted(std::move(msg));
    default:
      return IOError(std::move(msg));
  }
}

int Status::ToErrno() const {
  if (sys_errno_ != 0) return sys_errno_;
  switch (code_) {
    case Code::kOk: return 0;
    case Code::kNotFound: return ENOENT;
    case Code::kInvalidArgument: return EINVAL;
    case Code::kNoSpace: return ENOSPC;
    case Code::kBusy: return EBUSY;
    case Code::kReadOnly: return EROFS;
    case Code::kNotSupported: return EOPNOTSUPP;
    case Code::kAborted: return EINTR;
    case Code::kCorruption:
    case Code::kIOError: return EIO;
  }
  return EIO;
}

Status Status::WithContext(std::string_view context) const {
  if (ok()) return *this;
  return Status(code_, fmt::format("{}: {}", context, msg_), sys_errno_);
}

}  // namespace scnfs
