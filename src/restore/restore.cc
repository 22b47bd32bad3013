#include "scnfs/restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "restore/point_reader.h"
#include "util/clock.h"

namespace scnfs {
namespace fs = std::filesystem;
namespace {

// 64 blocks (512 KiB at 8 KiB) per unit: a unit's buffer is decompressed into and then copied into the page cache,
// and at this size it is still in the core's L2 cache for the copy (measured: 128 and 32 were 5-10% slower).
constexpr uint64_t kBlocksPerUnit = 64;

struct OutFile {
  const FileRecord* rec;
  int fd = -1;
};

struct Unit {
  OutFile* file;
  uint64_t first, count;
};

Status WriteAll(int fd, const std::byte* p, size_t n, uint64_t off, const std::string& path) {
  while (n > 0) {
    ssize_t w = ::pwrite(fd, p, n, off_t(off));
    if (w < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, fmt::format("cannot write {}", path));
    }
    p += w;
    n -= size_t(w);
    off += uint64_t(w);
  }
  return Status::OK();
}

struct timespec Ts(int64_t ns) { return {time_t(ns / 1000000000), long(ns % 1000000000)}; }

// Ownership, mode and times, applied after the data (directories last, deepest first, so their mtimes stick).
void ApplyMetadata(const std::string& path, const FileRecord& r, bool* chown_failed) {
  if (::lchown(path.c_str(), r.uid, r.gid) != 0) *chown_failed = true;
  if (r.type != "symlink") ::chmod(path.c_str(), r.mode & 07777);
  struct timespec ts[2] = {Ts(r.atime_ns), Ts(r.mtime_ns)};
  ::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW);
}

}  // namespace

Result<RestoreReport> RestorePoint(Store* store, const RestoreOptions& opt) {
  Stopwatch clock;
  SCNFS_ASSIGN_OR_RETURN(OpenedPoint op, OpenPoint(store, opt.db, opt.at));
  std::error_code ec;
  if (fs::exists(opt.dest, ec)) {
    if (!fs::is_directory(opt.dest, ec) || !fs::is_empty(opt.dest, ec))
      return Status::InvalidArgument(fmt::format("restore destination {} exists and is not an empty directory", opt.dest));
  } else if (!fs::create_directories(opt.dest, ec)) {
    return Status::FromErrno(ec.value(), fmt::format("cannot create {}", opt.dest));
  }
  RestoreReport report;
  report.point = op.reader->point();
  const fs::path dest(opt.dest);

  // Directories and files first (owner-writable while we fill them), symlinks as they are.
  std::vector<OutFile> files;
  files.reserve(op.files.size());
  uint64_t bytes_total = 0;
  for (const auto& r : op.files) {
    const std::string path = (dest / r.path).string();
    if (r.type == "dir") {
      if (::mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) return Status::FromErrno(errno, fmt::format("cannot create {}", path));
      ++report.directories;
    } else if (r.type == "symlink") {
      if (::symlink(r.target.c_str(), path.c_str()) != 0) return Status::FromErrno(errno, fmt::format("cannot create symlink {}", path));
    } else {
      int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0) return Status::FromErrno(errno, fmt::format("cannot create {}", path));
      if (::ftruncate(fd, off_t(r.size)) != 0) {
        int e = errno;
        ::close(fd);
        return Status::FromErrno(e, fmt::format("cannot size {}", path));
      }
      files.push_back(OutFile{&r, fd});
      bytes_total += r.size;
      ++report.files;
    }
  }
  std::vector<Unit> units;
  // Units are dealt round-robin over the files: buffered writers of one file serialize on its inode lock, so
  // threads that take consecutive units should be writing different files.
  std::vector<uint64_t> next_block(files.size(), 0);
  for (bool more = true; more;) {
    more = false;
    for (size_t i = 0; i < files.size(); ++i) {
      const uint64_t b = next_block[i], n = files[i].rec->blocks();
      if (b >= n) continue;
      units.push_back(Unit{&files[i], b, std::min(kBlocksPerUnit, n - b)});
      next_block[i] += kBlocksPerUnit;
      more = true;
    }
  }

  std::atomic<size_t> next{0};
  std::atomic<uint64_t> done_bytes{0};
  std::atomic<bool> stop{false};
  std::mutex mu;
  Status first_error;
  // More threads than cores: a cold restore waits on random SST reads, and each thread has one read in flight.
  const int threads = opt.threads > 0 ? opt.threads : int(std::clamp(4u * std::thread::hardware_concurrency(), 4u, 16u));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&, t] {
      PointReader::Cursor cur(*op.reader);
      std::vector<std::byte> buf;
      std::vector<PointReader::Cursor::BlockRead> info;
      for (size_t i; !stop && (i = next.fetch_add(1)) < units.size();) {
        const Unit& u = units[i];
        const FileRecord& r = *u.file->rec;
        const std::string path = (dest / r.path).string();
        // Blocks are gathered into runs and written with one pwrite per run; all-zero blocks end a run and stay
        // holes (the file was sized with ftruncate).
        buf.resize(size_t(u.count) * r.block_size);
        Status st;
        uint64_t run_start = u.first;
        size_t run_bytes = 0;
        const auto flush = [&] {
          if (run_bytes > 0 && st.ok())
            st = WriteAll(u.file->fd, buf.data() + (run_start - u.first) * r.block_size, run_bytes, run_start * r.block_size, path);
          run_bytes = 0;
        };
        st = cur.ReadRun(r, u.first, uint32_t(u.count), buf, &info);
        for (uint64_t b = u.first; st.ok() && b < u.first + u.count; ++b) {
          const auto& bi = info[b - u.first];
          done_bytes += bi.len;
          if (bi.hole) {
            flush();
            continue;
          }
          if (run_bytes == 0) run_start = b;
          run_bytes += bi.len;
        }
        flush();
        // Start writeback of this unit now. Left to the kernel, writeback begins only once dirty pages reach
        // dirty_background_ratio (gigabytes on a large machine), so the whole restore would be written by the
        // final syncfs, after the CPU work instead of alongside it. WRITE only queues the I/O; it does not wait.
        if (st.ok())
          ::sync_file_range(u.file->fd, off_t(u.first * r.block_size), off_t(u.count * r.block_size), SYNC_FILE_RANGE_WRITE);
        if (!st.ok()) {
          std::lock_guard<std::mutex> l(mu);
          if (first_error.ok()) first_error = st;
          stop = true;
        }
        if (opt.progress && t == 0 && i % 64 == 0)
          opt.progress(RestoreProgress{done_bytes.load(), bytes_total, clock.Seconds()});
      }
    });
  }
  for (auto& w : workers) w.join();
  for (auto& f : files) {
    if (first_error.ok() && ::close(f.fd) != 0) first_error = Status::FromErrno(errno, fmt::format("cannot write {}", f.rec->path));
    else if (!first_error.ok()) ::close(f.fd);
  }
  if (!first_error.ok()) return first_error.WithContext(fmt::format("restore into {} failed (partial files left there)", opt.dest));

  bool chown_failed = false;
  for (auto it = op.files.rbegin(); it != op.files.rend(); ++it) ApplyMetadata((dest / it->path).string(), *it, &chown_failed);
  if (chown_failed) report.warning = "file ownership was not restored (run as root to restore owners)";
  // A restore is reported done only once it is on disk: a DBA who starts the database and then loses power must not
  // find half-written datafiles. One syncfs covers every file and directory written above.
  int dfd = ::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0 || ::syncfs(dfd) != 0) {
    Status st = Status::FromErrno(errno, fmt::format("restore into {}: syncing to disk failed", opt.dest));
    if (dfd >= 0) ::close(dfd);
    return st;
  }
  ::close(dfd);
  report.bytes = done_bytes;
  report.seconds = clock.Seconds();
  return report;
}

}  // namespace scnfs
