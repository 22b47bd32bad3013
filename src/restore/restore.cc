#include "scnfs/restore.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_set>

#include <fmt/format.h>

#include "restore/point_reader.h"
#include "scnfs/backup.h"
#include "util/clock.h"

namespace scnfs {
namespace fs = std::filesystem;
namespace {

// 64 blocks (512 KiB at 8 KiB) per unit: a unit's buffer is decompressed into and then written out, and at this
// size it is still in the core's L2 cache for the write (measured: 128 and 32 were 5-10% slower).
constexpr uint64_t kBlocksPerUnit = 64;
// O_DIRECT needs the buffer, the file offset and the length aligned; 4 KiB covers every device and page size here.
constexpr uint64_t kDirectAlign = 4096;

// Each file is written through two descriptors: `direct_fd` (O_DIRECT) takes the runs of blocks that are aligned,
// `fd` the rest (a short last block, runs of 2 KiB Oracle blocks that start mid-page) and everything when the file
// system refuses O_DIRECT. A 4 KiB page is only ever written through one of them: a direct write covers whole pages
// that hold only its own blocks, and every block is written once.
//
// Descriptors are opened when the first unit of the file is taken and closed when its last unit is done, so that a
// restore of a cluster with tens of thousands of files does not need twice as many descriptors (see kOpenWindow).
struct OutFile {
  const FileRecord* rec = nullptr;
  std::string partial;  // where it is written until every file is (PartialName)
  size_t undo_at = 0;   // undo.created[undo_at] names it
  std::mutex mu;
  int fd = -1;
  int direct_fd = -1;
  size_t units_left = 0;  // guarded by mu once the workers run
};

// Units are planned over a sliding window of this many files: a file enters the window when one leaves it, and
// the window's files take turns, one unit each. Open files are then at most the window plus one per worker (units
// taken but not finished), whatever the point's file count: about 2 x (32 + 16) descriptors next to the store's.
constexpr size_t kOpenWindow = 32;

struct FreeDeleter {
  void operator()(std::byte* p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<std::byte[], FreeDeleter>;

AlignedBuffer NewAlignedBuffer(size_t bytes) {
  const size_t rounded = (bytes + kDirectAlign - 1) / kDirectAlign * kDirectAlign;
  return AlignedBuffer(static_cast<std::byte*>(std::aligned_alloc(kDirectAlign, std::max<size_t>(rounded, kDirectAlign))));
}

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

// A regular file is written under this name beside its own and renamed to it once every file's data is on disk:
// a restore killed before then (SIGKILL, a crash of the machine: nothing can take its files back) leaves no file
// under a datafile's name. Left under its own name, a file of holes where blocks were not written yet was one a
// database could start on: PostgreSQL reads an all-zero page as an empty one, so rows were missing without an
// error. A name too long for the suffix, or one the restored set itself holds (a backup of a directory where a
// restore had been killed holds X and X.scnfs-partial), gets a short one, numbered: `n` is the file's number in
// the restore.
constexpr std::string_view kPartialSuffix = ".scnfs-partial";

// The partial name of `rel` (a path of the point), relative like it, never one of `taken` (the point's paths).
std::string PartialName(const std::string& rel, size_t n, const std::unordered_set<std::string>& taken) {
  const fs::path p(rel);
  std::string name = rel + std::string(kPartialSuffix);
  if (p.filename().string().size() + kPartialSuffix.size() <= NAME_MAX && !taken.contains(name)) return name;
  for (size_t k = 0;; ++k) {
    name = (p.parent_path() / (k == 0 ? fmt::format(".scnfs-partial-{}", n) : fmt::format(".scnfs-partial-{}-{}", n, k)))
               .string();
    if (!taken.contains(name)) return name;
  }
}

// Gives `from` the name `to`, which must not exist (a restore never overwrites). RENAME_NOREPLACE where the file
// system has it; where it does not (EINVAL: some network and FUSE file systems), a check and a plain rename.
Status RenameNoReplace(const std::string& from, const std::string& to) {
  if (::renameat2(AT_FDCWD, from.c_str(), AT_FDCWD, to.c_str(), RENAME_NOREPLACE) == 0) return Status::OK();
  if (errno == EINVAL) {
    struct stat st;
    if (::lstat(to.c_str(), &st) == 0) errno = EEXIST;
    else if (errno == ENOENT && ::rename(from.c_str(), to.c_str()) == 0) return Status::OK();
  }
  if (errno == EEXIST)
    return Status::InvalidArgument(fmt::format("{} appeared while it was restored: a restore never overwrites", to));
  return Status::FromErrno(errno, fmt::format("cannot rename {} to {}", from, to));
}

// What a DBA restoring a backup's point must hear before opening it: the files that backup held corrupt blocks
// of (read corrupt then, and stored as read: a backup is byte-faithful). Restoring one datafile into a live
// database said nothing of them (DBA walkthrough, 2026-12-02). An scn: point takes each block from the version at
// that SCN, which no record says anything of: verify --at checks it.
std::string HeldCorruptWarning(const std::string& db, const ResolvedPoint& point, const std::vector<FileRecord>& restored) {
  if (point.scn) return "";
  std::vector<std::string> named;
  size_t files = 0;
  for (const auto& r : restored) {
    if (r.type != "file") continue;
    const bool too_many = !r.held_corrupt.empty() && r.held_corrupt.back() == FileRecord::kTooManyHeldCorrupt;
    const uint64_t n = r.held_corrupt_known && !too_many ? r.held_corrupt.size() : r.corrupt_blocks;
    if (n == 0) continue;
    if (++files > 3) continue;
    std::string blocks;
    if (r.held_corrupt_known && !too_many) {
      for (size_t i = 0; i < std::min<size_t>(r.held_corrupt.size(), 5); ++i)
        blocks += fmt::format("{}{}", i ? ", " : "", r.held_corrupt[i]);
      if (r.held_corrupt.size() > 5) blocks += ", ...";
    }
    named.push_back(fmt::format("{} ({}{} block{}{}{})", r.path, too_many ? "more than " : "",
                                too_many ? FileRecord::kMaxHeldCorrupt : n, n == 1 && !too_many ? "" : "s",
                                blocks.empty() ? "" : ": ", blocks));
  }
  if (files == 0) return "";
  return fmt::format("backup {} read corrupt blocks of {} restored file{}, and they are restored as read: {}{}; "
                     "`scnfs verify --db {} --at backup:{}` reports them, and an earlier point may hold sound copies",
                     point.base.id, files, files == 1 ? "" : "s", fmt::join(named, "; "), files > 3 ? "; ..." : "", db,
                     point.base.id);
}

// The file systems a restore writes to, each synced before the restore reports success: files restored into an
// existing database directory reach other disks through its links (pg_wal, pg_tblspc/<oid>), and a syncfs of
// DEST's alone left their data unsynced when they took their names (review, 2026-12-01). A directory of each is
// opened when the restore first writes there: syncfs reports the write-back errors since its descriptor was
// opened, and one opened only at the end could miss an error another process's syncfs had collected meanwhile
// (durability audit, 2026-12-02).
class FileSystemsWritten {
 public:
  FileSystemsWritten() = default;
  FileSystemsWritten(const FileSystemsWritten&) = delete;
  FileSystemsWritten& operator=(const FileSystemsWritten&) = delete;
  ~FileSystemsWritten() {
    for (const auto& [dev, d] : dirs_)
      if (d.fd >= 0) ::close(d.fd);
  }
  // `dir` is on file system `dev`, which this restore is about to write to.
  void Add(dev_t dev, const std::string& dir) {
    if (dirs_.contains(dev)) return;
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    dirs_.emplace(dev, Dir{dir, fd, fd < 0 ? errno : 0});
  }
  Status SyncAll() const {
    for (const auto& [dev, d] : dirs_)
      if (d.fd < 0 || ::syncfs(d.fd) != 0)
        return Status::FromErrno(d.fd < 0 ? d.open_errno : errno, fmt::format("syncing {} to disk failed", d.path));
    return Status::OK();
  }

 private:
  struct Dir {
    std::string path;
    int fd;
    int open_errno;  // why fd is -1
  };
  std::map<dev_t, Dir> dirs_;
};

// Whether DEST holds what a killed restore left (names ending in kPartialSuffix), looking at no more than a few
// thousand entries: for the message that refuses a DEST that is not empty.
bool HoldsPartialFiles(const std::string& dest) {
  std::error_code ec;
  size_t seen = 0;
  for (fs::recursive_directory_iterator it(dest, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end && seen < 10000; it.increment(ec), ++seen) {
    const std::string name = it->path().filename().string();
    if (name.ends_with(kPartialSuffix) || name.starts_with(".scnfs-partial-")) return true;
  }
  return false;
}

// Ownership, mode and times, applied after the data (directories last, deepest first, so their mtimes stick).
// Ownership needs root, so its failure is a warning; a mode or time that cannot be set fails the restore.
// A file whose owner could not be set keeps no setuid or setgid bit, as `cp -p` and `tar` do: it would run as the
// restoring user, whom the backup never named.
Status ApplyMetadata(const std::string& path, const FileRecord& r, bool* chown_failed) {
  mode_t mode = r.mode & 07777;
  if (::lchown(path.c_str(), r.uid, r.gid) != 0) {
    *chown_failed = true;
    if (r.type == "file") mode &= ~mode_t(S_ISUID | S_ISGID);
  }
  if (r.type != "symlink" && ::chmod(path.c_str(), mode) != 0)
    return Status::FromErrno(errno, fmt::format("cannot set the mode of {}", path));
  struct timespec ts[2] = {TimespecFromNs(r.atime_ns), TimespecFromNs(r.mtime_ns)};
  if (::utimensat(AT_FDCWD, path.c_str(), ts, AT_SYMLINK_NOFOLLOW) != 0)
    return Status::FromErrno(errno, fmt::format("cannot set the times of {}", path));
  return Status::OK();
}

// The records `only` selects from a point's file list (sorted by path), for a restore into `dest` ("" when it is
// new): each named path with everything below it, and the directories above them that `dest` lacks. Fails on a
// path the point (described as `point`) does not hold, naming same-named files elsewhere, and on one in `dest`.
Result<std::vector<FileRecord>> ChooseFiles(const std::vector<FileRecord>& all, const std::vector<std::string>& only,
                                            const std::string& dest, const std::string& point) {
  std::vector<FileRecord> out;
  if (only.empty()) return out;
  std::set<std::string> wanted;  // the named paths and their ancestors
  std::vector<std::string> named;
  for (std::string p : only) {
    while (p.starts_with("./")) p.erase(0, 2);
    while (p.size() > 1 && p.ends_with('/')) p.pop_back();
    if (p == "." || p.empty())
      return Status::InvalidArgument("--file names a file or directory in the backup, not its top ('.'): to restore "
                                     "all of it, leave out --file (DEST must then be new or empty)");
    const bool held = std::any_of(all.begin(), all.end(), [&](const FileRecord& r) { return r.path == p; });
    if (!held) {
      std::vector<std::string> alike;
      const std::string base = fs::path(p).filename().string();
      for (const auto& r : all)
        if (!base.empty() && fs::path(r.path).filename() == base && alike.size() < 3) alike.push_back(r.path);
      // "restore datafile 7": a DBA names an Oracle datafile by its FILE#, which the headers carry.
      std::vector<std::string> numbered;
      if (!p.empty() && p.size() <= 10 && std::all_of(p.begin(), p.end(), [](char c) { return c >= '0' && c <= '9'; }))
        for (const auto& r : all)
          if (r.header.is_object() && r.header.contains("file_number") &&
              std::to_string(r.header.value("file_number", 0u)) == p && numbered.size() < 3)
            numbered.push_back(r.path);
      std::string hint;
      if (!numbered.empty()) hint = fmt::format(" (FILE# {} is '{}')", p, fmt::join(numbered, "', '"));
      else if (!alike.empty()) hint = fmt::format(" (it holds '{}')", fmt::join(alike, "', '"));
      return Status::NotFound(fmt::format("{} holds no file or directory '{}'{}", point, p, hint));
    }
    if (!dest.empty()) {
      struct stat st;
      if (::lstat((fs::path(dest) / p).c_str(), &st) == 0)
        return Status::InvalidArgument(fmt::format("{}/{} exists: a restore never overwrites; move it away first", dest, p));
    }
    named.push_back(p);
    for (fs::path a = fs::path(p).parent_path(); !a.empty(); a = a.parent_path()) wanted.insert(a.string());
  }
  const auto below_named = [&](const std::string& path) {
    return std::any_of(named.begin(), named.end(), [&](const std::string& n) { return path == n || path.starts_with(n + "/"); });
  };
  for (const auto& r : all) {
    if (below_named(r.path)) {
      out.push_back(r);
    } else if (wanted.contains(r.path)) {
      // A directory above a named path: made (with its metadata) when `dest` lacks it, left alone when it has it.
      struct stat st;
      if (dest.empty() || ::lstat((fs::path(dest) / r.path).c_str(), &st) != 0) out.push_back(r);
    } else if (r.path == "." && dest.empty()) {
      out.push_back(r);  // a new destination gets the backed-up root's owner, mode and times, as in a full restore
    }
  }
  return out;
}

}  // namespace

// A restore's hold on DEST for its life: flock() on the directory, exclusive for a whole point (DEST new or
// empty), shared for --file (restores of other files into the same directory may run together; each refuses a name
// another made). A second restore into the same new DEST was told that its partial files were "the leftover of an
// interrupted restore: remove it and restore again", which would have destroyed the running one (review,
// 2026-12-02). Best effort: a file system that refuses flock on a directory (some NFS) goes without.
class DestLock {
 public:
  DestLock() = default;
  DestLock(const DestLock&) = delete;
  DestLock& operator=(const DestLock&) = delete;
  ~DestLock() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status Take(const std::string& dest, bool exclusive) {
    fd_ = ::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) return Status::OK();  // the restore's own checks and writes say what is wrong with DEST
    if (::flock(fd_, (exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) == 0 || errno != EWOULDBLOCK) return Status::OK();
    return Status::Busy(fmt::format("restore destination {} is being written by another scnfs restore now: wait for "
                                    "it to finish, or restore elsewhere", dest));
  }

 private:
  int fd_ = -1;
};

Result<RestoreReport> RestorePoint(Store* store, const RestoreOptions& opt) {
  Stopwatch clock;
  SCNFS_ASSIGN_OR_RETURN(OpenedPoint op, OpenPoint(store, opt.db, opt.at));
  std::error_code ec;
  {
    // Into the store would write files among its table files (and a later backup of a source holding it skips it).
    const fs::path d = fs::weakly_canonical(opt.dest, ec), st = fs::weakly_canonical(store->dir(), ec);
    const auto [mismatch, rest] = std::mismatch(st.begin(), st.end(), d.begin(), d.end());
    if (!st.empty() && mismatch == st.end())
      return Status::InvalidArgument(fmt::format("restore destination {} is inside the store {}", opt.dest, store->dir()));
  }
  const bool dest_existed = fs::exists(opt.dest, ec);
  // A link to nothing: fs::exists follows it, and creating DEST then said "File exists".
  if (!dest_existed && fs::is_symlink(fs::symlink_status(opt.dest, ec)))
    return Status::InvalidArgument(fmt::format("restore destination {} is a symbolic link to {}, which does not exist",
                                               opt.dest, fs::read_symlink(opt.dest, ec).string()));
  if (dest_existed && !fs::is_directory(opt.dest, ec))
    return Status::InvalidArgument(fmt::format("restore destination {} exists and is not a directory", opt.dest));
  DestLock dest_lock;
  if (dest_existed) SCNFS_RETURN_IF_ERROR(dest_lock.Take(opt.dest, opt.only.empty()));
  if (dest_existed && opt.only.empty() && !fs::is_empty(opt.dest, ec))
    return Status::InvalidArgument(fmt::format(
        "restore destination {} exists and is not an empty directory{}", opt.dest,
        HoldsPartialFiles(opt.dest) ? " (it holds the *.scnfs-partial files of an interrupted restore: remove it and "
                                      "restore again)"
                                    : ": restore into a new directory, or name the files to restore beside what is "
                                      "there with --file"));
  SCNFS_ASSIGN_OR_RETURN(const std::vector<FileRecord> chosen,
                         ChooseFiles(op.files, opt.only, dest_existed ? opt.dest : std::string(),
                                     fmt::format("{} of '{}'", op.reader->point().Describe(), opt.db)));
  const std::vector<FileRecord>& restored = opt.only.empty() ? op.files : chosen;
  // DEST's missing parents are made as `mkdir -p` makes them, one at a time, so that only those this restore made
  // (mkdir succeeded: not EEXIST) are taken back with it, innermost first. Not by asking what exists first: in
  // `new/../scratch/r` the existing `scratch` looked missing (through the missing `new`) and went too (review).
  std::vector<std::string> made_parents;
  if (!dest_existed) {
    fs::path target = fs::absolute(opt.dest, ec);
    if (!target.has_filename()) target = target.parent_path();  // "dest/"
    fs::path p;
    for (const auto& part : target.parent_path()) {
      p /= part;
      if (::mkdir(p.c_str(), 0777) == 0) made_parents.insert(made_parents.begin(), p.string());
      else if (errno != EEXIST) return Status::FromErrno(errno, fmt::format("cannot create {}", p.string()));
    }
  }
  if (!dest_existed && !fs::create_directories(opt.dest, ec))
    return ec ? Status::FromErrno(ec.value(), fmt::format("cannot create {}", opt.dest))
              : Status::Busy(fmt::format("restore destination {} was made by another process as this restore began "
                                         "(another restore into it?): run this one again", opt.dest));
  if (!dest_existed) SCNFS_RETURN_IF_ERROR(dest_lock.Take(opt.dest, true));
  // Until every block is written, a failure (a full disk, Ctrl-C, a store error) takes back what this restore
  // created: left behind, full-size files of holes looked like datafiles a DBA could start a database on (found
  // 2026-11-30). A new DEST goes whole; in an existing one (restore --file), the entries made here.
  struct Undo {
    std::string dest;  // "" when DEST existed
    std::vector<std::string> parents;  // DEST's parents made for it, innermost first: removed when still empty
    std::vector<std::string> created;
    bool keep = false;
    // Removes what this restore made, newest first, and nothing else: a file someone else put in a new DEST
    // meanwhile stays, and so does DEST around it. Returns whether a new DEST is gone.
    bool TakeBack() {
      if (keep) return false;
      keep = true;
      for (auto it = created.rbegin(); it != created.rend(); ++it)
        if (::unlink(it->c_str()) != 0 && (errno == EISDIR || errno == EPERM)) ::rmdir(it->c_str());
      if (dest.empty() || ::rmdir(dest.c_str()) != 0) return false;
      for (const auto& p : parents) ::rmdir(p.c_str());
      return true;
    }
    // What a failed restore says of its files.
    std::string TakenBack() {
      if (dest.empty()) return (TakeBack(), "the files it had begun were removed");
      return TakeBack() ? "it was removed" : "what it had made was removed; DEST holds files it did not make";
    }
    ~Undo() { TakeBack(); }
  } undo{dest_existed ? std::string() : opt.dest, std::move(made_parents), {}};
  RestoreReport report;
  report.point = op.reader->point();
  const fs::path dest(opt.dest);

  // Directories and files first (owner-writable while we fill them), symlinks as they are.
  struct Planned {
    const FileRecord* rec;
    std::string partial;
    size_t undo_at;
  };
  std::vector<Planned> planned;  // the regular files (OutFile's fields, before the files are made)
  // Every path of the point, not only those restored: `restore --file x` into a directory that holds the point's
  // real `x.scnfs-partial` (a full restore of it, earlier) was refused as the leftover of an interrupted restore
  // (names attack, 2026-12-02).
  std::unordered_set<std::string> point_paths;
  for (const auto& r : op.files) point_paths.insert(r.path);
  FileSystemsWritten written;
  {
    struct stat st;
    if (::stat(opt.dest.c_str(), &st) == 0) written.Add(st.st_dev, opt.dest);
  }
  // A name made in `path`'s directory is written to that directory's file system, which may be another disk
  // than DEST's when the directory is reached through a link (`restore --file` of pg_wal/archive_status).
  const auto name_made = [&written](const std::string& path) {
    struct stat st;
    const std::string dir = fs::path(path).parent_path().string();
    if (::stat(dir.c_str(), &st) == 0) written.Add(st.st_dev, dir);
  };
  uint64_t bytes_total = 0;
  for (const auto& r : restored) {
    const std::string path = (dest / r.path).string();
    if (r.type == "dir") {
      if (::mkdir(path.c_str(), 0700) == 0) {
        undo.created.push_back(path);
        name_made(path);
      } else if (errno != EEXIST) {
        return Status::FromErrno(errno, fmt::format("cannot create {}", path));
      }
      ++report.directories;
    } else if (r.type == "symlink") {
      if (::symlink(r.target.c_str(), path.c_str()) != 0) return Status::FromErrno(errno, fmt::format("cannot create symlink {}", path));
      undo.created.push_back(path);
      name_made(path);
      ++report.symlinks;
    } else {
      struct stat st;
      if (::lstat(path.c_str(), &st) == 0)  // a restore never overwrites (the rename below would not either)
        return Status::InvalidArgument(fmt::format("{} exists: a restore never overwrites; move it away first", path));
      std::string partial = (dest / PartialName(r.path, planned.size(), point_paths)).string();
      int fd = ::open(partial.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
      if (fd < 0 && errno == EEXIST)
        return Status::InvalidArgument(fmt::format(
            "{} exists: the leftover of an interrupted restore, or of one running now; remove it first", partial));
      if (fd < 0) return Status::FromErrno(errno, fmt::format("cannot create {}", partial));
      const size_t undo_at = undo.created.size();
      undo.created.push_back(partial);
      if (::ftruncate(fd, off_t(r.size)) != 0) {
        int e = errno;
        ::close(fd);
        return Status::FromErrno(e, fmt::format("cannot size {}", path));
      }
      if (::fstat(fd, &st) == 0) written.Add(st.st_dev, fs::path(partial).parent_path().string());
      ::close(fd);
      planned.push_back(Planned{&r, std::move(partial), undo_at});
      bytes_total += r.size;
      ++report.files;
    }
  }
  std::vector<OutFile> files(planned.size());  // OutFile holds a mutex: made in place
  for (size_t i = 0; i < planned.size(); ++i) {
    files[i].rec = planned[i].rec;
    files[i].partial = std::move(planned[i].partial);
    files[i].undo_at = planned[i].undo_at;
  }
  std::vector<Unit> units;
  {
    // Units are dealt round-robin over the window's files: buffered writers of one file serialize on its inode
    // lock, so threads that take consecutive units should be writing different files.
    std::vector<uint64_t> next_block(files.size(), 0);
    size_t next_file = 0;
    // The next file that has blocks to write (empty files need no unit), if any is left.
    const auto admit = [&]() -> std::optional<size_t> {
      for (; next_file < files.size(); ++next_file)
        if (files[next_file].rec->blocks() > 0) return next_file++;
      return std::nullopt;
    };
    std::vector<size_t> window;
    for (std::optional<size_t> f; window.size() < kOpenWindow && (f = admit());) window.push_back(*f);
    while (!window.empty()) {
      for (size_t k = 0; k < window.size();) {
        const size_t i = window[k];
        const uint64_t n = files[i].rec->blocks();
        units.push_back(Unit{&files[i], next_block[i], std::min(kBlocksPerUnit, n - next_block[i])});
        next_block[i] += kBlocksPerUnit;
        ++files[i].units_left;
        if (next_block[i] < n) {
          ++k;
        } else if (std::optional<size_t> f = admit()) {
          window[k++] = *f;  // the file that leaves the window makes room for the next
        } else {
          window.erase(window.begin() + ptrdiff_t(k));
        }
      }
    }
  }
  // Opens the unit's file for writing if no unit of it is under way. Caller: a worker that took a unit of `f`.
  const auto acquire = [&](OutFile& f) -> Status {
    std::lock_guard<std::mutex> l(f.mu);
    if (f.fd >= 0) return Status::OK();
    const std::string& path = f.partial;
    f.fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (f.fd < 0) return Status::FromErrno(errno, fmt::format("cannot open {} for writing", path));
    // Data goes around the page cache: a restore of terabytes must not evict the cache of the databases running
    // on this host, and on virtual machines that hand free memory back to the host, every fresh page-cache page
    // is a costly fault (measured: a 2 GiB Oracle restore 7.5-10.4 s buffered, 6.1-7.2 s direct). -1 (EINVAL): a
    // file system without O_DIRECT (older tmpfs, some FUSE file systems) gets buffered writes only.
    f.direct_fd = opt.direct_io ? ::open(path.c_str(), O_WRONLY | O_DIRECT | O_CLOEXEC) : -1;
    return Status::OK();
  };
  // Marks one unit of `f` done; the last one closes the file. A failed close is a failed write (NFS, quotas).
  const auto release = [&](OutFile& f) -> Status {
    std::lock_guard<std::mutex> l(f.mu);
    if (--f.units_left > 0 || f.fd < 0) return Status::OK();
    if (f.direct_fd >= 0) ::close(f.direct_fd);
    f.direct_fd = -1;
    const int rc = ::close(f.fd);
    f.fd = -1;
    return rc == 0 ? Status::OK() : Status::FromErrno(errno, fmt::format("cannot write {}", f.rec->path));
  };

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
      AlignedBuffer buf;
      size_t buf_size = 0;
      std::vector<PointReader::Cursor::BlockRead> info;
      for (size_t i; !stop && (i = next.fetch_add(1)) < units.size();) {
        if (opt.cancel && opt.cancel->load()) {
          std::lock_guard<std::mutex> l(mu);
          if (first_error.ok()) first_error = Status::Aborted("restore interrupted");
          stop = true;
          break;
        }
        const Unit& u = units[i];
        const FileRecord& r = *u.file->rec;
        const std::string path = (dest / r.path).string();
        // Blocks are gathered into runs and written with one pwrite per run; all-zero blocks end a run and stay
        // holes (the file was sized with ftruncate).
        const size_t unit_bytes = size_t(u.count) * r.block_size;
        if (unit_bytes > buf_size) {
          buf = NewAlignedBuffer(unit_bytes);
          buf_size = unit_bytes;
          if (!buf) {
            std::lock_guard<std::mutex> l(mu);
            if (first_error.ok()) first_error = Status::NoSpace("out of memory for a restore buffer");
            stop = true;
            break;
          }
        }
        Status st = acquire(*u.file);
        uint64_t run_start = u.first;
        size_t run_bytes = 0;
        const auto flush = [&] {
          if (run_bytes > 0 && st.ok()) {
            const std::byte* p = buf.get() + (run_start - u.first) * r.block_size;
            const uint64_t off = run_start * r.block_size;
            const bool aligned = u.file->direct_fd >= 0 && off % kDirectAlign == 0 && run_bytes % kDirectAlign == 0 &&
                                 reinterpret_cast<uintptr_t>(p) % kDirectAlign == 0;
            st = WriteAll(aligned ? u.file->direct_fd : u.file->fd, p, run_bytes, off, path);
            // EINVAL from a direct write: this file system wants a larger alignment than 4 KiB. Write it buffered.
            if (aligned && st.ToErrno() == EINVAL) st = WriteAll(u.file->fd, p, run_bytes, off, path);
          }
          run_bytes = 0;
        };
        if (st.ok()) st = cur.ReadRun(r, u.first, uint32_t(u.count), std::span<std::byte>(buf.get(), unit_bytes), &info);
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
        // Start writeback of what went through the page cache now (nothing, for direct writes). Left to the kernel,
        // writeback begins only once dirty pages reach dirty_background_ratio (gigabytes on a large machine), so it
        // would all be written by the final syncfs, after the CPU work instead of alongside it. WRITE only queues
        // the I/O; it does not wait.
        if (st.ok())
          ::sync_file_range(u.file->fd, off_t(u.first * r.block_size), off_t(u.count * r.block_size), SYNC_FILE_RANGE_WRITE);
        if (Status closed = release(*u.file); st.ok()) st = closed;
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
  // After a failure, the files whose units were not all done are still open.
  for (auto& f : files) {
    if (f.fd >= 0) ::close(f.fd);
    if (f.direct_fd >= 0) ::close(f.direct_fd);
  }
  const auto failed = [&](const Status& st) {
    return st.WithContext(fmt::format("restore into {} failed ({})", opt.dest, undo.TakenBack()));
  };
  if (!first_error.ok()) return failed(first_error);
  // Every file's data on disk before any file takes its name (PartialName): a crash between the two leaves files
  // missing, never a file of holes under a datafile's name.
  if (Status st = written.SyncAll(); !st.ok()) return failed(st);
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string final_path = (dest / files[i].rec->path).string();
    if (Status st = RenameNoReplace(files[i].partial, final_path); !st.ok()) return failed(st);
    undo.created[files[i].undo_at] = final_path;  // a later failure takes it back under its name
  }
  undo.keep = true;  // the data is written: what fails from here (metadata, sync) leaves it, and says so

  bool chown_failed = false;
  Status meta_error;  // the first; the others are still applied, and the data still synced, before it is returned
  for (auto it = restored.rbegin(); it != restored.rend(); ++it)
    if (Status ms = ApplyMetadata((dest / it->path).string(), *it, &chown_failed); !ms.ok() && meta_error.ok())
      meta_error = ms;
  // The warning's clauses, each a sentence of its own ("; " between them).
  const auto warn = [&report](const std::string& clause) {
    if (!clause.empty()) report.warning += (report.warning.empty() ? "" : "; ") + clause;
  };
  if (chown_failed) warn("file ownership was not restored (run as root to restore owners)");
  // A hot backup taken with pg_backup_start recovers by itself (its backup_label and WAL are restored with it).
  if (report.point.base.hot && !report.point.base.self_consistent_hot())
    warn(fmt::format("backup {} was ", report.point.base.id) + HotBackupNote(report.point.base));
  warn(report.point.past_newest);
  warn(HeldCorruptWarning(opt.db, report.point, restored));
  // A restore is reported done only once it is on disk: a DBA who starts the database and then loses power must not
  // find half-written datafiles. This covers the names, modes and times set since the data's.
  if (Status st = written.SyncAll(); !st.ok())
    return st.WithContext(fmt::format("restore into {} failed (the data is written)", opt.dest));
  if (!meta_error.ok())
    return meta_error.WithContext(fmt::format("restore into {} failed (the data is written and synced)", opt.dest));
  report.bytes = done_bytes;
  report.seconds = clock.Seconds();
  return report;
}

}  // namespace scnfs
