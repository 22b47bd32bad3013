// The one place a Status becomes an errno for fuse_reply_err: ENOSPC, EROFS, ENOENT and EIO stay distinct.
#pragma once

#include <cerrno>

#include "scnfs/status.h"

namespace scnfs {

inline int ToErrno(const Status& st) {
  switch (st.code()) {
    case Status::Code::kOk: return 0;
    case Status::Code::kNotFound: return ENOENT;
    case Status::Code::kInvalidArgument: return EINVAL;
    case Status::Code::kNoSpace: return ENOSPC;
    case Status::Code::kBusy: return EBUSY;
    case Status::Code::kReadOnly: return EROFS;
    case Status::Code::kNotSupported: return EOPNOTSUPP;
    case Status::Code::kAborted: return EINTR;
    case Status::Code::kCorruption:
    case Status::Code::kIOError: return EIO;
  }
  return EIO;
}

}  // namespace scnfs
