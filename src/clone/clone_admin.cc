// clone create / list / destroy: the clone's directory, its record and its initial metadata.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <chrono>
#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "clone/clone_meta.h"
#include "restore/point_reader.h"
#include "scnfs/clone.h"
#include "scnfs/backup.h"
#include "scnfs/store.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/durable_file.h"
#include "util/json_text.h"
#include "util/names.h"
#include "util/record_path.h"

namespace scnfs {
namespace fs = std::filesystem;

namespace {

fs::path ClonesDir(const std::string& store_dir) { return fs::path(store_dir) / "clones"; }

Status CheckName(const std::string& name) {
  if (!IsPlainName(name, "._-"))
    return Status::InvalidArgument(fmt::format("bad clone name '{}': use up to 64 letters, digits, '.', '_' or '-', not starting with '.'", name));
  return Status::OK();
}

nlohmann::json ToJson(const CloneInfo& c) {
  nlohmann::json j{{"name", c.name}, {"db", c.db}, {"spec", c.spec}, {"base_backup", c.base_backup}, {"created_us", c.created_us}};
  if (c.scn) j["scn"] = *c.scn;
  if (c.last_backup) j["last_backup"] = c.last_backup;
  return j;
}

// Who holds the clone's lock (0: nobody).
int LockHolder(const fs::path& dir) {
  int fd = ::open((dir / "lock").c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return 0;
  int pid = 0;
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char buf[64] = {};
    if (::pread(fd, buf, sizeof buf - 1, 0) > 0) std::sscanf(buf, "pid=%d", &pid);
    if (pid == 0) pid = -1;
  }
  ::close(fd);
  return pid;
}

Status PopulateMeta(const fs::path& meta_dir, const std::vector<FileRecord>& files, int64_t now_ns) {
  SCNFS_ASSIGN_OR_RETURN(auto db, OpenCloneMeta(meta_dir.string(), /*create=*/true));
  rocksdb::WriteBatch b;
  CloneInode root;
  root.ino = kCloneRootIno;
  root.mode = S_IFDIR | 0755;
  root.nlink = 2;
  root.atime_ns = root.mtime_ns = root.ctime_ns = now_ns;
  std::map<std::string, uint64_t> dirs{{"", kCloneRootIno}};
  std::map<uint64_t, CloneInode> inodes;
  uint64_t next = kCloneRootIno + 1;
  for (const auto& r : files) {
    if (r.path == ".") {
      root = InodeFromRecord(r, kCloneRootIno);
      continue;
    }
  }
  inodes[kCloneRootIno] = root;
  // Records come in path order, so a directory's record precedes its children; directories a backup of single
  // files never recorded are made here.
  std::vector<FileRecord> sorted = files;
  std::sort(sorted.begin(), sorted.end(), [](const FileRecord& a, const FileRecord& b) { return a.path < b.path; });
  auto ensure_dir = [&](const std::string& path, auto&& self) -> uint64_t {
    if (auto it = dirs.find(path); it != dirs.end()) return it->second;
    uint64_t parent = self(std::string(ParentPath(path)), self);
    CloneInode d = root;
    d.ino = next++;
    d.nlink = 2;
    inodes[d.ino] = d;
    b.Put(CloneDirentKey(parent, LeafName(path)), [&] {
      std::string v;
      PutBE64(&v, d.ino);
      return v;
    }());
    dirs[path] = d.ino;
    return d.ino;
  };
  for (const auto& r : sorted) {
    if (r.path == ".") continue;
    uint64_t parent = ensure_dir(std::string(ParentPath(r.path)), ensure_dir);
    uint64_t ino;
    if (r.type == "dir" && dirs.count(r.path)) {
      ino = dirs[r.path];
      CloneInode i = InodeFromRecord(r, ino);
      inodes[ino] = i;
      continue;
    }
    ino = next++;
    inodes[ino] = InodeFromRecord(r, ino);
    if (r.type == "dir") dirs[r.path] = ino;
    std::string v;
    PutBE64(&v, ino);
    b.Put(CloneDirentKey(parent, LeafName(r.path)), v);
  }
  // A directory's link count is 2 plus its subdirectories, as on the file system the backup read (and as mkdir,
  // rmdir and rename in the clone keep it); every directory said 2 (found 2026-12-01 by a clone attack).
  for (const auto& [path, ino] : dirs) {
    if (path.empty()) continue;
    inodes[dirs.at(std::string(ParentPath(path)))].nlink++;
  }
  for (const auto& [ino, i] : inodes) b.Put(CloneInodeKey(ino), nlohmann::json(i).dump());
  std::string n;
  PutBE64(&n, next);
  b.Put(std::string(kCloneNextInoKey), n);
  return WriteCloneMeta(db.get(), &b, /*sync=*/true);
}

}  // namespace

std::string CloneDir(const std::string& store_dir, const std::string& name) { return (ClonesDir(store_dir) / name).string(); }

Result<CloneInfo> CreateClone(Store* store, const std::string& db, const std::string& spec, const std::string& name) {
  SCNFS_RETURN_IF_ERROR(CheckName(name));
  const fs::path dir = ClonesDir(store->dir()) / name;
  std::error_code ec;
  if (fs::exists(dir, ec)) return Status::Busy(fmt::format("a clone named '{}' already exists", name));
  SCNFS_ASSIGN_OR_RETURN(OpenedPoint point, OpenPoint(store, db, spec));
  CloneInfo info;
  info.name = name;
  info.db = db;
  info.spec = spec;
  info.base_backup = point.reader->point().base.id;
  if (const BackupRecord& base = point.reader->point().base; base.hot && !base.self_consistent_hot())
    info.warning = fmt::format("backup {} was {}", base.id, HotBackupNote(base));
  info.scn = point.reader->point().scn;
  if (info.scn) {
    SCNFS_ASSIGN_OR_RETURN(auto backups, Catalog(store).ListBackups(point.reader->database().id));
    for (const auto& b : backups)
      if (b.state == BackupState::kComplete) info.last_backup = std::max(info.last_backup, b.id);
  }
  info.created_us = NowMicros();

  // Built under a temporary name and renamed into place: a clone exists whole or not at all.
  const fs::path tmp = ClonesDir(store->dir()) / fmt::format(".new-{}-{}", name, ::getpid());
  fs::remove_all(tmp, ec);
  // STORE/clones, made by the first clone, synced in the store's directory: a power cut must not take it back.
  SCNFS_RETURN_IF_ERROR(CreateDirectoriesDurably(ClonesDir(store->dir()).string()));
  fs::create_directories(tmp / "data", ec);
  if (ec) return Status::FromErrno(ec.value(), fmt::format("cannot create {}", tmp.string()));
  Status st = PopulateMeta(tmp / "meta", point.files, info.created_us * 1000);
  if (st.ok()) st = WriteFileDurably((tmp / "clone.json").string(), JsonText(ToJson(info), 2) + "\n");
  if (st.ok()) st = WriteFileDurably((tmp / "lock").string(), "");
  if (st.ok()) st = SyncDirectory(tmp.string());
  if (st.ok()) {
    if (::rename(tmp.c_str(), dir.c_str()) != 0)
      st = errno == ENOTEMPTY || errno == EEXIST ? Status::Busy(fmt::format("a clone named '{}' already exists", name))
                                                 : Status::FromErrno(errno, fmt::format("cannot create clone {}", name));
  }
  if (!st.ok()) {
    fs::remove_all(tmp, ec);
    return st;
  }
  // Created: the rename is in place. A failed sync of it leaves the clone there now but perhaps not after a power
  // cut, which its creator must know.
  SCNFS_RETURN_IF_ERROR(SyncDirectory(ClonesDir(store->dir()).string())
                            .WithContext(fmt::format("clone {} created, but not made durable", name)));
  return info;
}

namespace {
// The space a clone's delta takes and the process serving it, without reading its record.
void AddUsage(const fs::path& dir, CloneInfo* c) {
  // With an error_code: a mount asks this on lookups, and a `clone destroy` may remove the directory meanwhile.
  std::error_code dec;
  for (fs::directory_iterator it(dir / "data", fs::directory_options::skip_permission_denied, dec), end; !dec && it != end;
       it.increment(dec)) {
    struct stat st;
    if (::stat(it->path().c_str(), &st) == 0) c->delta_bytes += uint64_t(st.st_blocks) * 512;
  }
  c->in_use_pid = LockHolder(dir);
}
}  // namespace

Result<CloneInfo> ReadClone(const std::string& store_dir, const std::string& name) {
  SCNFS_RETURN_IF_ERROR(CheckName(name));
  const fs::path dir = ClonesDir(store_dir) / name;
  std::ifstream in(dir / "clone.json");
  if (!in) {
    std::error_code ec;
    if (!fs::exists(dir, ec)) return Status::NotFound(fmt::format("no clone named '{}'", name));
    // The directory without its record (create and destroy both work by rename: this is damage).
    return Status::Corruption(fmt::format("clone {}: clone.json cannot be read ({})", name, std::strerror(errno ? errno : EIO)));
  }
  auto j = nlohmann::json::parse(in, nullptr, false);
  CloneInfo c;
  try {  // a damaged record is a clear error, not an exception out of a FUSE lookup or `clone list`
    if (!j.is_object()) throw std::invalid_argument("not a JSON object");
    // The directory's name is the clone's: the record's own (which names it too) is checked, never used. Taken
    // from the record, a damaged one named "a/b" and the mount's listing of clones/ failed (EIO), the others with
    // it, and `clone list` printed "../../etc" (found 2026-12-02 by an attack on error boundaries).
    if (j.contains("name") && j["name"] != name)
      throw std::invalid_argument(fmt::format("it names the clone '{}'", j["name"].is_string() ? j["name"].get<std::string>() : j["name"].dump()));
    c.name = name;
    c.db = j.at("db").get<std::string>();
    c.spec = j.value("spec", "");
    c.base_backup = j.at("base_backup").get<uint32_t>();
    if (j.contains("scn")) c.scn = j["scn"].get<uint64_t>();
    c.last_backup = j.value("last_backup", 0u);
    c.created_us = j.value("created_us", int64_t{0});
  } catch (const std::exception& e) {
    return Status::Corruption(fmt::format("clone {}: clone.json cannot be read ({})", name, e.what()));
  }
  return c;
}

namespace {
// Removes what a `clone create` or `clone destroy` killed half-way left: `.new-<name>-<pid>` and
// `.destroy-<name>-<pid>` directories whose process is gone (neither is a clone; a destroy that died would
// otherwise keep its space for good, unlisted).
void RemoveAbandoned(const fs::path& clones) {
  std::error_code ec;
  for (fs::directory_iterator it(clones, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string n = it->path().filename().string();
    if (n.rfind(".new-", 0) != 0 && n.rfind(".destroy-", 0) != 0) continue;
    const auto dash = n.rfind('-');
    int pid = 0;
    auto [p, err] = std::from_chars(n.data() + dash + 1, n.data() + n.size(), pid);
    if (err != std::errc() || p != n.data() + n.size() || pid <= 0) continue;
    if (::kill(pid, 0) == 0 || errno != ESRCH) continue;  // its process still runs
    // A pid from another PID namespace (a container) or host reads as dead: only what has not changed for ten
    // minutes (a create or destroy takes seconds) is taken as abandoned.
    std::error_code tec;
    const auto age = fs::file_time_type::clock::now() - fs::last_write_time(it->path(), tec);
    if (tec || age < std::chrono::minutes(10)) continue;
    std::error_code rec;
    fs::remove_all(it->path(), rec);
  }
}
}  // namespace

Result<std::vector<CloneInfo>> ListClones(const std::string& store_dir) {
  std::vector<CloneInfo> out;
  std::error_code ec;
  if (!fs::exists(ClonesDir(store_dir), ec)) return out;
  RemoveAbandoned(ClonesDir(store_dir));
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(ClonesDir(store_dir), ec)) {
    std::string n = e.path().filename();
    if (!n.empty() && n[0] != '.') names.push_back(n);
  }
  if (ec) return Status::FromErrno(ec.value(), fmt::format("cannot list {}", ClonesDir(store_dir).string()));
  std::sort(names.begin(), names.end());
  for (const auto& n : names) {
    auto c = ReadClone(store_dir, n);
    if (!c.ok() && c.status().IsNotFound()) continue;  // destroyed since the listing
    CloneInfo info;
    if (c.ok()) {
      info = std::move(c).value();
    } else {
      // Listed, not skipped: it still takes space and still pins (ListPins refuses it), and the DBA must see it.
      info.name = n;
      info.damaged = c.status().message();
    }
    AddUsage(ClonesDir(store_dir) / n, &info);
    out.push_back(std::move(info));
  }
  return out;
}

namespace {
constexpr char kReleaseFile[] = "release";
// The mount's answer, beside the request: written into the request, it renewed the request's time every second,
// and a request left by a destroy that died counted for as long as a file of the clone stayed open, and released
// the clone whenever that file closed (found by review, 2026-12-01).
constexpr char kAnswerFile[] = "release.answer";
// How long a release request counts, and how long destroy waits for a mount to answer it (mounts look about once
// a second: MountTree::Upkeep).
constexpr auto kReleaseFresh = std::chrono::seconds(10);
constexpr auto kReleaseWait = std::chrono::seconds(3);
}  // namespace

bool ReleaseRequested(const std::string& store_dir, const std::string& name) {
  struct stat st;
  if (::stat((ClonesDir(store_dir) / name / kReleaseFile).c_str(), &st) != 0) return false;
  const auto age = std::chrono::system_clock::now() -
                   std::chrono::system_clock::time_point(std::chrono::seconds(st.st_mtim.tv_sec) +
                                                         std::chrono::nanoseconds(st.st_mtim.tv_nsec));
  return age < kReleaseFresh;
}

void AnswerReleaseRequest(const std::string& store_dir, const std::string& name, const std::string& reason) {
  const fs::path dir = ClonesDir(store_dir) / name;
  struct stat st;
  if (::stat((dir / kReleaseFile).c_str(), &st) != 0) return;  // no request, no answer
  // Whole or not at all: a destroy reading it meanwhile gets the last answer or this one, never an empty one.
  const std::string tmp = (dir / fmt::format("{}.{}", kAnswerFile, ::getpid())).string();
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  const bool written = ::write(fd, reason.data(), reason.size()) == ssize_t(reason.size());
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), (dir / kAnswerFile).c_str()) != 0) ::unlink(tmp.c_str());
}

Result<uint64_t> DestroyClone(const std::string& store_dir, const std::string& name) {
  SCNFS_RETURN_IF_ERROR(CheckName(name));
  const fs::path dir = ClonesDir(store_dir) / name;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::NotFound(fmt::format("no clone named '{}'", name));
  int fd = ::open((dir / "lock").c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, fmt::format("cannot open the lock of clone {}", name));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    // A mount serves it: ask it to let go. A mount lives for months and serves every clone it was ever asked
    // about, so "unmount it first" meant unmounting every backup a DBA's jobs were reading to destroy one clone
    // (found by a soak test, 2026-12-01: 46 clones a mount had served, 404 MiB, none destroyable).
    const std::string request = (dir / kReleaseFile).string(), answer = (dir / kAnswerFile).string();
    ::unlink(answer.c_str());  // an earlier destroy's
    if (int r = ::open(request.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644); r >= 0) ::close(r);
    bool locked = false;
    for (auto until = std::chrono::steady_clock::now() + kReleaseWait;
         !(locked = ::flock(fd, LOCK_EX | LOCK_NB) == 0) && std::chrono::steady_clock::now() < until;)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!locked) {
      std::string reason;
      if (std::ifstream in(answer); in) std::getline(in, reason);
      ::unlink(request.c_str());
      ::unlink(answer.c_str());
      ::close(fd);
      const int pid = LockHolder(dir);
      if (reason.empty())
        return Status::Busy(fmt::format("clone '{}' is in use by a mount (pid {}) that did not let go of it; unmount "
                                        "it first", name, pid));
      return Status::Busy(fmt::format("clone '{}' is in use by a mount (pid {}): {} (a database still running on "
                                      "it?); stop what uses it and destroy again", name, pid, reason));
    }
  }
  // The lock taken may be the one of a clone another destroy removed while this one waited: a clone made again
  // under the name since has a lock file of its own, and deleting it here destroyed a clone a mount was serving,
  // without its lock (found by review, 2026-12-01).
  struct stat held {}, now {};
  if (::fstat(fd, &held) != 0 || ::stat((dir / "lock").c_str(), &now) != 0 || held.st_dev != now.st_dev ||
      held.st_ino != now.st_ino) {
    ::close(fd);
    return Status::NotFound(fmt::format("clone '{}' was destroyed meanwhile (by another destroy)", name));
  }
  CloneInfo usage;  // what its writes took: returned by the delete
  AddUsage(dir, &usage);
  // Renamed away while locked, then deleted: a crash halfway leaves a hidden directory, never half a clone.
  const fs::path trash = ClonesDir(store_dir) / fmt::format(".destroy-{}-{}", name, ::getpid());
  if (::rename(dir.c_str(), trash.c_str()) != 0) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno(err, fmt::format("cannot destroy clone {}", name));
  }
  ::close(fd);
  fs::remove_all(trash, ec);
  RemoveAbandoned(ClonesDir(store_dir));
  if (ec) return Status::FromErrno(ec.value(), fmt::format("clone {} destroyed, but removing its files failed", name));
  SCNFS_RETURN_IF_ERROR(SyncDirectory(ClonesDir(store_dir).string())
                            .WithContext(fmt::format("clone {} destroyed, but not made durable", name)));
  return usage.delta_bytes;
}

}  // namespace scnfs
