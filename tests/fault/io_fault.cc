// An LD_PRELOAD fault injector for the crash tests: makes chosen reads, writes or syncs of chosen files fail, to
// test what scnfs does when the real disk under a real store fails (there is no device-mapper in these VMs).
//
// Environment (all but IO_FAULT_PATH optional):
//   IO_FAULT_PATH   a substring of the file's path (/proc/self/fd/N) that selects the files; no faults without it
//   IO_FAULT_WHOLE  set: IO_FAULT_PATH must be the whole path (a directory's own fsync, not its files')
//   IO_FAULT_OP     which calls fail: any of r (read, pread, preadv), w (write, pwrite), s (fsync, fdatasync,
//                   syncfs); "r"
//   IO_FAULT_AFTER  let this many matching calls through first (0)
//   IO_FAULT_COUNT  fail at most this many calls, then let every call through (no limit)
//   IO_FAULT_FLAG   a path: faults only while it exists (a test turns the fault on and off)
//   IO_FAULT_ERRNO  the error (EIO)
#include <dlfcn.h>
#include <errno.h>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

static std::atomic<long> matched, failed;

// Whether this call on `fd` fails; sets errno when it does.
namespace {

int Fails(int fd, char op) {
  const char* path = getenv("IO_FAULT_PATH");
  if (path == nullptr || fd < 0) return 0;
  const char* ops = getenv("IO_FAULT_OP");
  if (std::strchr(ops ? ops : "r", op) == nullptr) return 0;
  const char* flag = getenv("IO_FAULT_FLAG");
  if (flag != nullptr && access(flag, F_OK) != 0) return 0;
  char link[64], target[4096];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  const ssize_t n = readlink(link, target, sizeof target - 1);
  if (n <= 0) return 0;
  target[n] = '\0';
  if (getenv("IO_FAULT_WHOLE") != nullptr ? std::strcmp(target, path) != 0 : std::strstr(target, path) == nullptr) return 0;
  const char* after = getenv("IO_FAULT_AFTER");
  if (matched.fetch_add(1) < (after ? std::atol(after) : 0)) return 0;
  const char* count = getenv("IO_FAULT_COUNT");
  if (count != nullptr && failed.fetch_add(1) >= std::atol(count)) return 0;
  const char* e = getenv("IO_FAULT_ERRNO");
  errno = e ? std::atoi(e) : EIO;
  return 1;
}

}  // namespace

#define REAL(name) \
  static auto* real_##name = reinterpret_cast<decltype(&::name)>(dlsym(RTLD_NEXT, #name))

extern "C" {
ssize_t read(int fd, void* b, size_t n) { REAL(read); return fd > 2 && Fails(fd, 'r') ? -1 : real_read(fd, b, n); }
ssize_t pread(int fd, void* b, size_t n, off_t o) { REAL(pread); return Fails(fd, 'r') ? -1 : real_pread(fd, b, n, o); }
ssize_t pread64(int fd, void* b, size_t n, off_t o) { REAL(pread64); return Fails(fd, 'r') ? -1 : real_pread64(fd, b, n, o); }
ssize_t preadv(int fd, const struct iovec* v, int c, off_t o) { REAL(preadv); return Fails(fd, 'r') ? -1 : real_preadv(fd, v, c, o); }
ssize_t preadv64(int fd, const struct iovec* v, int c, off_t o) { REAL(preadv64); return Fails(fd, 'r') ? -1 : real_preadv64(fd, v, c, o); }
ssize_t write(int fd, const void* b, size_t n) { REAL(write); return fd > 2 && Fails(fd, 'w') ? -1 : real_write(fd, b, n); }
ssize_t pwrite(int fd, const void* b, size_t n, off_t o) { REAL(pwrite); return Fails(fd, 'w') ? -1 : real_pwrite(fd, b, n, o); }
ssize_t pwrite64(int fd, const void* b, size_t n, off_t o) { REAL(pwrite64); return Fails(fd, 'w') ? -1 : real_pwrite64(fd, b, n, o); }
int fsync(int fd) { REAL(fsync); return Fails(fd, 's') ? -1 : real_fsync(fd); }
int fdatasync(int fd) { REAL(fdatasync); return Fails(fd, 's') ? -1 : real_fdatasync(fd); }
int syncfs(int fd) { REAL(syncfs); return Fails(fd, 's') ? -1 : real_syncfs(fd); }
}  // extern "C"
