// Status and Result<T>: errors as values.
//
// Every function that can fail at a RocksDB, filesystem or FUSE boundary returns a Status or a Result<T>; no
// exception crosses those boundaries. The code keeps the errno classes a caller must tell apart (ENOSPC, EROFS,
// ENOENT, EIO, EBUSY) so that the CLI and the FUSE layer map them in one place each.
//
// Thread-safety: values; safe to copy and move between threads.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace scnfs {

class [[nodiscard]] Status {
 public:
  enum class Code : unsigned char {
    kOk = 0,
    kNotFound,         // unknown database, backup, file, point in time
    kInvalidArgument,  // bad input from the user: wrong format, bad SPEC, size not a block multiple
    kCorruption,       // stored data or a datafile failed a check
    kIOError,          // the OS or RocksDB failed an I/O
    kNoSpace,          // ENOSPC / EDQUOT: the disk is full
    kBusy,             // the store or mountpoint is held by someone else
    kReadOnly,         // a write to something that is read-only (EROFS)
    kNotSupported,     // a store format version or feature this build does not know
    kAborted,          // the operation was interrupted (signal, cancelled)
  };

  Status() = default;  // OK
  static Status OK() { return Status(); }
  static Status NotFound(std::string msg) { return Status(Code::kNotFound, std::move(msg)); }
  static Status InvalidArgument(std::string msg) { return Status(Code::kInvalidArgument, std::move(msg)); }
  static Status Corruption(std::string msg) { return Status(Code::kCorruption, std::move(msg)); }
  static Status IOError(std::string msg) { return Status(Code::kIOError, std::move(msg)); }
  static Status NoSpace(std::string msg) { return Status(Code::kNoSpace, std::move(msg)); }
  static Status Busy(std::string msg) { return Status(Code::kBusy, std::move(msg)); }
  static Status ReadOnly(std::string msg) { return Status(Code::kReadOnly, std::move(msg)); }
  static Status NotSupported(std::string msg) { return Status(Code::kNotSupported, std::move(msg)); }
  static Status Aborted(std::string msg) { return Status(Code::kAborted, std::move(msg)); }

  // Status for a failed system call: maps errno to the matching code and appends strerror(err) to `context`.
  static Status FromErrno(int err, std::string_view context);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return msg_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsNoSpace() const { return code_ == Code::kNoSpace; }

  // The errno a FUSE reply should carry for this status (0 for OK): the system call's own errno for a status made
  // by FromErrno (EEXIST, ENOTEMPTY and EISDIR must reach the kernel as they are), else the code's errno.
  int ToErrno() const;
  // "message" for OK-less statuses, "OK" otherwise.
  std::string ToString() const { return ok() ? std::string("OK") : msg_; }

  // Returns a copy whose message is prefixed with `context: `.
  Status WithContext(std::string_view context) const;

 private:
  static Status FromErrnoCode(int err, std::string_view context);
  Status(Code code, std::string msg, int sys_errno = 0) : code_(code), sys_errno_(sys_errno), msg_(std::move(msg)) {}
  Code code_ = Code::kOk;
  int sys_errno_ = 0;
  std::string msg_;
};

// Result<T>: a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT(google-explicit-constructor)
  Result(Status status) : v_(std::move(status)) {}   // NOLINT(google-explicit-constructor)  REQUIRES: !status.ok()

  bool ok() const { return v_.index() == 0; }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<1>(v_);
  }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  // By value, not T&&: `for (auto& f : Get().value())` would otherwise iterate a temporary already destroyed.
  T value() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace scnfs

// Propagates a non-OK Status from an expression that yields a Status.
#define SCNFS_RETURN_IF_ERROR(expr)      \
  do {                                   \
    ::scnfs::Status _st = (expr);        \
    if (!_st.ok()) return _st;           \
  } while (0)

#define SCNFS_CONCAT_INNER(a, b) a##b
#define SCNFS_CONCAT(a, b) SCNFS_CONCAT_INNER(a, b)
// Declares `lhs` from a Result<T> expression or returns its Status.
#define SCNFS_ASSIGN_OR_RETURN(lhs, expr)                          \
  auto SCNFS_CONCAT(_res_, __LINE__) = (expr);                     \
  if (!SCNFS_CONCAT(_res_, __LINE__).ok())                         \
    return SCNFS_CONCAT(_res_, __LINE__).status();                 \
  lhs = std::move(SCNFS_CONCAT(_res_, __LINE__)).value()
