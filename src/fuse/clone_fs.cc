#include "fuse/clone_fs.h"

#define FUSE_USE_VERSION 314
#include <fcntl.h>
#include <fuse3/fuse_lowlevel.h>
#include <linux/falloc.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "scnfs/store.h"
#include "store/rocks_status.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/durable_file.h"

namespace scnfs {
namespace fs = std::filesystem;

// Raises a count that only grows to `to` (a concurrent raise to more wins).
static void RaiseTo(std::atomic<uint64_t>& count, uint64_t to) {
  for (uint64_t s = count.load(); s < to && !count.compare_exchange_weak(s, to);) {
  }
}

struct CloneFs::FileState {
  std::shared_mutex data;        // Read shares it; Write, truncate and fallocate take it alone
  int fd = -1;                   // the delta file; -1 while it does not exist (all holes: nothing written yet)
  std::string delta_path;
  std::atomic<int> map_fd{-1};   // its presence map, data/<ino>.present (docs/clones.md); -1 until needed
  std::string map_path;
  std::atomic<bool> map_unsynced{false};  // a bit was set since the map was last synced
  std::atomic<uint64_t>* deltas_made = nullptr;  // the clone's count of delta files created (CloneFs::deltas_made_)
  std::atomic<uint64_t>* deltas_synced = nullptr;  // how many of them data/'s last sync covered (CloneFs::deltas_synced_)
  int opens = 0;
  bool has_base = false;
  uint32_t base_entry = 0;
  std::vector<bool> present;     // per block below base_blocks: the delta holds it
  bool times_dirty = false;      // mtime/ctime changed by writes, not yet in the metadata (guarded by mu_)
  ~FileState() {
    if (fd >= 0) ::close(fd);
    if (map_fd >= 0) ::close(map_fd.load());
  }
  // Block b is still the backup's: it is below the file's base blocks and the delta does not hold it.
  bool FromBase(uint64_t b, uint64_t base_blocks) const { return has_base && b < base_blocks && b < present.size() && !present[b]; }
  // Records that the delta now holds block b (its bytes are written): in memory, and in the map file's page
  // cache, which outlives this process; Fsync makes it durable after the delta. Caller holds `data` alone.
  Status MarkPresent(uint64_t b) {
    if (b >= present.size() || present[b]) return Status::OK();
    if (map_fd < 0) SCNFS_RETURN_IF_ERROR(CreateMap());
    present[b] = true;
    uint8_t byte = 0;
    for (uint64_t k = b & ~uint64_t(7); k < std::min<uint64_t>((b | 7) + 1, present.size()); ++k)
      if (present[k]) byte |= uint8_t(1u << (k & 7));
    if (::pwrite(map_fd, &byte, 1, off_t(b / 8)) != 1) {
      present[b] = false;
      return Status::FromErrno(errno ? errno : EIO, "recording a clone block");
    }
    map_unsynced = true;
    return Status::OK();
  }
  // Before any change to the delta. The delta file is made by the file's first change, not by an open or a read:
  // reading an untouched file of a clone must not need a free inode (it failed with ENOSPC on a full file system).
  // A file that has backup blocks gets its map here too: without one, a reopen would fall back to extents, and an
  // append's allocation unit may cover the last backup block.
  Status PrepareWrite() {
    if (fd < 0) {
      fd = ::open(delta_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
      if (fd < 0) return Status::FromErrno(errno, "cannot create the clone file's delta");
      if (deltas_made) deltas_made->fetch_add(1);  // its name in data/ is synced by the next fsync (CloneFs::Fsync)
    }
    return has_base && map_fd < 0 ? CreateMap() : Status::OK();
  }
  // The file's first write makes its map from `present` (so that reads never need to write, even on a full
  // disk). Written under a temporary name, synced and renamed: a map that exists is always whole.
  Status CreateMap() {
    const size_t bytes = (present.size() + 7) / 8;
    std::vector<uint8_t> map(bytes, 0);
    for (uint64_t b = 0; b < present.size(); ++b)
      if (present[b]) map[b / 8] |= uint8_t(1u << (b & 7));
    const std::string tmp = map_path + ".new";
    int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Status::FromErrno(errno, "cannot create a clone file's presence map");
    if ((bytes > 0 && ::pwrite(fd, map.data(), bytes, 0) != ssize_t(bytes)) || ::fdatasync(fd) != 0 ||
        ::rename(tmp.c_str(), map_path.c_str()) != 0) {
      Status st = Status::FromErrno(errno ? errno : EIO, "cannot write a clone file's presence map");
      ::close(fd);
      ::unlink(tmp.c_str());
      return st;
    }
    // Its name synced before the map is used: on failure the next change makes it again (a rename over this one).
    // The map is in data/ beside the deltas, so this sync also covers every delta made before it, this file's
    // own included: the file's next fsync need not sync data/ again for them.
    const uint64_t made = deltas_made ? deltas_made->load() : 0;
    if (Status st = SyncDirectory(map_path.substr(0, map_path.rfind('/'))); !st.ok()) {
      ::close(fd);
      return st;
    }
    if (deltas_synced) RaiseTo(*deltas_synced, made);
    map_fd = fd;
    return Status::OK();
  }
};

namespace {

int64_t NowNs() { return NowMicros() * 1000; }

Status Errno(int err, std::string_view what) { return Status::FromErrno(err, what); }

// Statuses made from an errno carry it to the kernel unchanged (Status::ToErrno).
Status Posix(int err, std::string msg) { return Status::FromErrno(err, msg); }

bool IsDir(const CloneInode& i) { return S_ISDIR(i.mode); }

}  // namespace

std::string CloneFs::DeltaPath(uint64_t ino) const { return fmt::format("{}/data/{}", dir_, ino); }
std::string CloneFs::MapPath(uint64_t ino) const { return DeltaPath(ino) + ".present"; }

Result<std::unique_ptr<CloneFs>> CloneFs::Open(const std::string& dir, std::shared_ptr<const PointView> base) {
  std::unique_ptr<CloneFs> c(new CloneFs());
  c->dir_ = dir;
  c->base_ = std::move(base);
  const std::string lock = dir + "/lock";
  c->lock_fd_ = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (c->lock_fd_ < 0) return Errno(errno, fmt::format("cannot open {}", lock));
  // `clone list` and `clone destroy` learn whether a clone is in use by taking its lock for a moment (LockHolder in
  // clone_admin.cc): a first access during that moment failed with EBUSY although nobody served the clone (found
  // 2026-12-01). Such holds last microseconds; another mount's lasts until it unmounts. The wait (50 ms) is short because
  // the caller holds the mount's tree lock (MountTree::OpenCloneLocked).
  bool locked = false;
  for (int i = 0; i < 25 && !(locked = ::flock(c->lock_fd_, LOCK_EX | LOCK_NB) == 0); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  if (!locked) {
    char buf[64] = {};
    ::pread(c->lock_fd_, buf, sizeof buf - 1, 0);
    return Status::Busy(fmt::format("clone {} is served by another process ({})", fs::path(dir).filename().string(), buf));
  }
  std::string who = fmt::format("pid={}\n", ::getpid());
  if (::ftruncate(c->lock_fd_, 0) != 0 || ::pwrite(c->lock_fd_, who.data(), who.size(), 0) < 0) {
  }
  auto meta = OpenCloneMeta(dir + "/meta", /*create=*/false);
  if (!meta.ok() && meta.status().IsNoSpace()) {
    // A full disk, the moment a DBA most needs to read: the clone is served read-only until it is opened again.
    meta = OpenCloneMetaReadOnly(dir + "/meta");
    c->meta_read_only_ = true;
  }
  if (!meta.ok()) return meta.status();
  c->meta_ = std::move(meta).value();
  SCNFS_RETURN_IF_ERROR(c->Load());
  return c;
}

CloneFs::~CloneFs() {
  files_.clear();
  if (meta_ && meta_failed_) {
    // Not flushed or closed: RocksDB asserts on a WAL writer that failed (see meta_failed_). Left as a crash
    // would leave it, which the next open recovers; kept reachable so that leak checkers do not report it.
    static std::mutex abandoned_mu;
    static auto* abandoned = new std::vector<rocksdb::DB*>;
    std::lock_guard<std::mutex> l(abandoned_mu);
    abandoned->push_back(meta_.release());
  }
  if (meta_) {
    meta_->FlushWAL(true).PermitUncheckedError();
    meta_->Close().PermitUncheckedError();
    meta_.reset();
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
}

Status CloneFs::Load() {
  std::unique_ptr<rocksdb::Iterator> it(meta_->NewIterator(rocksdb::ReadOptions()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto k = it->key();
    auto v = it->value();
    if (k == kCloneNextInoKey && v.size() == 8) {
      next_ino_ = GetBE64(v.data());
    } else if (k.size() == 9 && k[0] == 'i') {
      auto j = nlohmann::json::parse(std::string_view(v.data(), v.size()), nullptr, false);
      CloneInode i;
      try {
        if (j.is_discarded()) throw std::invalid_argument("not JSON");
        i = j.get<CloneInode>();
      } catch (const std::exception& e) {
        return Status::Corruption(fmt::format("clone {}: an inode record cannot be read ({})", dir_, e.what()));
      }
      inodes_[i.ino] = i;
    } else if (k.size() > 9 && k[0] == 'd') {
      if (v.size() != 8) return Status::Corruption(fmt::format("clone {}: a directory entry has a bad value", dir_));
      uint64_t parent = GetBE64(k.data() + 1);
      uint64_t child = GetBE64(v.data());
      dirs_[parent].emplace(std::string(k.data() + 9, k.size() - 9), child);
    }
  }
  if (!it->status().ok()) return FromRocksStatus(it->status(), "reading clone metadata");
  if (!inodes_.count(kCloneRootIno)) return Status::Corruption(fmt::format("clone {} has no top directory", dir_));
  for (auto& [ino, i] : inodes_)
    if (IsDir(i)) dirs_[ino];
  for (const auto& [parent, children] : dirs_)
    for (const auto& [name, child] : children)
      if (auto c = inodes_.find(child); c != inodes_.end() && IsDir(c->second)) parent_of_[child] = parent;
  if (meta_read_only_) return Status::OK();  // the repairs below write; nothing they fix is visible to a reader
  // Files unlinked while open when the last mount died: nothing refers to them any more.
  rocksdb::WriteBatch b;
  std::vector<uint64_t> orphans;
  for (const auto& [ino, i] : inodes_)
    if (i.nlink == 0) orphans.push_back(ino);
  for (uint64_t ino : orphans) DropInodeLocked(&b, ino);
  if (!orphans.empty()) SCNFS_RETURN_IF_ERROR(CommitLocked(&b, /*sync=*/true));
  RepairDeltasLocked();
  // Deltas a mount killed before any fsync made: their names are synced now, since this mount's counts
  // (deltas_made_) know nothing of them (review, 2026-12-02).
  return SyncDirectory(dir_ + "/data");
}

// What a power cut can leave between a synced metadata change and the change of the files it orders: delta files
// of inodes that were dropped (unlink, rename-over), and deltas longer than their file after a truncation (their
// bytes past the end would show through if the file grew again). Both are finished here.
void CloneFs::RepairDeltasLocked() {
  std::error_code ec;
  for (fs::directory_iterator it(fs::path(dir_) / "data", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    uint64_t ino = 0;
    auto [p, err] = std::from_chars(name.data(), name.data() + name.size(), ino);
    if (err != std::errc() || p == name.data()) continue;
    const std::string_view rest(p, size_t(name.data() + name.size() - p));
    if (rest != "" && rest != ".present") continue;
    auto i = inodes_.find(ino);
    if (i == inodes_.end() || IsDir(i->second)) {
      ::unlink(it->path().c_str());
    } else if (rest.empty()) {
      struct stat st;
      if (::stat(it->path().c_str(), &st) == 0 && uint64_t(st.st_size) > i->second.size)
        (void)::truncate(it->path().c_str(), off_t(i->second.size));
    }
  }
}

void CloneFs::PutInodeLocked(rocksdb::WriteBatch* b, const CloneInode& i) {
  b->Put(CloneInodeKey(i.ino), nlohmann::json(i).dump());
}

Status CloneFs::Retired() const {
  return Errno(ESTALE, fmt::format("clone {} was let go by the mount for clone destroy", dir_));
}

Status CloneFs::Writable() const {
  if (retired_) return Retired();
  if (!meta_read_only_ && !meta_failed_) return Status::OK();
  if (meta_read_only_)
    return Errno(ENOSPC, fmt::format("clone {} was opened on a full disk and is read-only until it is mounted again "
                                     "(free space, then scnfs umount and mount)", dir_));
  return Errno(EIO, fmt::format("clone {}: its metadata could not be written (a full disk?); it takes no more changes "
                                "until it is mounted again (free space, then scnfs umount and mount)", dir_));
}

Status CloneFs::CommitLocked(rocksdb::WriteBatch* b, bool sync) {
  ++meta_written_;
  // A batch that drops inodes is synced before their delta files go: the other way round, a power cut could
  // keep the unlink (or rename-over) in the file system and lose it in the metadata, and the file came back
  // with its fsynced blocks read as zeros from the missing delta.
  const bool drops = !dropped_.empty();
  Status st = Writable();
  if (st.ok()) st = WriteCloneMeta(meta_.get(), b, /*sync=*/sync || drops);
  if (!st.ok() && !meta_read_only_) meta_failed_ = true;
  if (st.ok() && (sync || drops)) meta_synced_ = meta_written_;
  if (st.ok())
    for (uint64_t ino : dropped_) {
      ::unlink(DeltaPath(ino).c_str());
      ::unlink(MapPath(ino).c_str());
    }
  dropped_.clear();  // after a failed write the files stay with the inode the metadata still holds
  return st;
}

void CloneFs::DropInodeLocked(rocksdb::WriteBatch* b, uint64_t ino) {
  b->Delete(CloneInodeKey(ino));
  inodes_.erase(ino);
  dirs_.erase(ino);
  parent_of_.erase(ino);
  files_.erase(ino);
  maps_unsynced_.erase(ino);
  dropped_.push_back(ino);  // its files are removed by the commit of `b`
}

Result<CloneInode*> CloneFs::InodeLocked(uint64_t ino) {
  auto it = inodes_.find(ino);
  if (it == inodes_.end()) return Status::NotFound(fmt::format("no inode {} in the clone", ino));
  return &it->second;
}

Result<uint64_t> CloneFs::ChildLocked(uint64_t parent, std::string_view name) {
  auto d = dirs_.find(parent);
  if (d == dirs_.end()) return Errno(ENOTDIR, "not a directory");
  auto c = d->second.find(name);
  if (c == d->second.end()) return Status::NotFound(std::string(name));
  return c->second;
}

Result<struct stat> CloneFs::Lookup(uint64_t parent, std::string_view name) {
  std::lock_guard<std::mutex> l(mu_);
  SCNFS_ASSIGN_OR_RETURN(uint64_t ino, ChildLocked(parent, name));
  SCNFS_ASSIGN_OR_RETURN(CloneInode * i, InodeLocked(ino));
  return i->Stat();
}

Result<struct stat> CloneFs::GetAttr(uint64_t ino) {
  std::lock_guard<std::mutex> l(mu_);
  SCNFS_ASSIGN_OR_RETURN(CloneInode * i, InodeLocked(ino));
  return i->Stat();
}

Result<std::vector<CloneFs::Dirent>> CloneFs::ReadDir(uint64_t ino) {
  std::lock_guard<std::mutex> l(mu_);
  auto d = dirs_.find(ino);
  if (d == dirs_.end()) return Errno(ENOTDIR, "not a directory");
  std::vector<Dirent> out;
  for (const auto& [name, child] : d->second) {
    auto i = inodes_.find(child);
    out.push_back({name, child, i == inodes_.end() ? mode_t(0) : mode_t(i->second.mode & S_IFMT)});
  }
  return out;
}

Result<std::string> CloneFs::ReadLink(uint64_t ino) {
  std::lock_guard<std::mutex> l(mu_);
  SCNFS_ASSIGN_OR_RETURN(CloneInode * i, InodeLocked(ino));
  if (!S_ISLNK(i->mode)) return Errno(EINVAL, "not a symbolic link");
  return i->target;
}

Result<struct stat> CloneFs::Make(uint64_t parent, std::string_view name, mode_t mode, uid_t uid, gid_t gid) {
  if (!S_ISREG(mode) && !S_ISDIR(mode)) return Errno(EPERM, "only files and directories can be made in a clone");
  CloneInode i;
  i.mode = mode;
  i.uid = uid;
  i.gid = gid;
  i.nlink = S_ISDIR(mode) ? 2 : 1;
  return AddEntry(parent, name, std::move(i));
}

Result<struct stat> CloneFs::Symlink(uint64_t parent, std::string_view name, const std::string& target, uid_t uid, gid_t gid) {
  CloneInode i;
  i.mode = S_IFLNK | 0777;
  i.uid = uid;
  i.gid = gid;
  i.target = target;
  return AddEntry(parent, name, std::move(i));
}

Result<struct stat> CloneFs::AddEntry(uint64_t parent, std::string_view name, CloneInode i) {
  SCNFS_RETURN_IF_ERROR(Writable());
  if (name.size() > 255) return Errno(ENAMETOOLONG, "name too long");
  std::lock_guard<std::mutex> l(mu_);
  if (retired_) return Retired();
  SCNFS_ASSIGN_OR_RETURN(CloneInode * p, InodeLocked(parent));
  if (!IsDir(*p)) return Errno(ENOTDIR, "not a directory");
  if (dirs_[parent].count(name)) return Posix(EEXIST, std::string(name));
  const bool dir = S_ISDIR(i.mode);
  i.ino = next_ino_++;
  // As in a setgid directory on disk: its group, and for a directory the bit too, so that the group carries down
  // (a subdirectory lacked it, and its own subdirectories got the creator's group: found 2026-11-30).
  if (p->mode & S_ISGID) {
    i.gid = p->gid;
    if (dir) i.mode |= S_ISGID;
  }
  i.atime_ns = i.mtime_ns = i.ctime_ns = NowNs();
  p->mtime_ns = p->ctime_ns = i.ctime_ns;
  if (dir) p->nlink++;
  rocksdb::WriteBatch b;
  std::string v, n;
  PutBE64(&v, i.ino);
  PutBE64(&n, next_ino_);
  b.Put(CloneDirentKey(parent, name), v);
  b.Put(std::string(kCloneNextInoKey), n);
  PutInodeLocked(&b, i);
  PutInodeLocked(&b, *p);
  // The inode counter is written without a sync: after a machine crash a number can be handed out again, and a
  // delta or presence map left under it would show its old bytes through the new file's holes.
  if (!dir) {
    ::unlink(DeltaPath(i.ino).c_str());
    ::unlink(MapPath(i.ino).c_str());
  }
  SCNFS_RETURN_IF_ERROR(CommitLocked(&b));
  inodes_[i.ino] = i;
  dirs_[parent].emplace(std::string(name), i.ino);
  if (dir) {
    dirs_[i.ino];
    parent_of_[i.ino] = parent;
  }
  return i.Stat();
}

Result<struct stat> CloneFs::Link(uint64_t ino, uint64_t parent, std::string_view name) {
  SCNFS_RETURN_IF_ERROR(Writable());
  if (name.size() > 255) return Errno(ENAMETOOLONG, "name too long");  // as AddEntry: statvfs says 255
  std::lock_guard<std::mutex> l(mu_);
  SCNFS_ASSIGN_OR_RETURN(CloneInode * i, InodeLocked(ino));
  SCNFS_ASSIGN_OR_RETURN(CloneInode * p, InodeLocked(parent));
  if (IsDir(*i)) return Errno(EPERM, "hard links to directories");
  if (!IsDir(*p)) return Errno(ENOTDIR, "not a directory");
  if (dirs_[parent].count(name)) return Posix(EEXIST, std::string(name));
  i->nlink++;
  i->ctime_ns = p->mtime_ns = p->ctime_ns = NowNs();
  rocksdb::WriteBatch b;
  std::string v;
  PutBE64(&v, ino);
  b.Put(CloneDirentKey(parent, name), v);
  PutInodeLocked(&b, *i);
  PutInodeLocked(&b, *p);
  SCNFS_RETURN_IF_ERROR(CommitLocked(&b));
  dirs_[parent].emplace(std::string(name), ino);
  return i->Stat();
}

Status CloneFs::Unlink(uint64_t parent, std::string_view name) {
  SCNFS_RETURN_IF_ERROR(Writable());
  std::lock_guard<std::mutex> l(mu_);
  SCNFS_ASSIGN_OR_RETURN(uint64_t ino, ChildLocked(parent, name));
  SCNFS_ASSIGN_OR_RETURN(CloneInode * i, InodeLocked(ino));
  if (IsDir(*i)) return Errno(EISDIR, std::string(name));
  SCNFS_ASSIGN_OR_RETURN(CloneInode * p, InodeLocked(parent));
  rocksdb::WriteBatch b;
  b.Delete(CloneDirentKey(parent, name));
  p->mtime_ns = p->ctime_ns = i->ctime_ns = NowNs();
  PutInodeLocked(&b, *p);
  i->nlink = i->nlink > 0 ? i->nlink - 1 : 0;
  auto f = files_.find(ino);
  const bool open = f != files_.end() && f->second->opens > 0;
  if (i->nlink == 0 && !open) {
    DropInodeLocked(&b, ino);
  } else {
    PutInodeLocked(&b, *i);  // nlink 0 while open: dropped at the last release, or at the next load after a crash
  }
  SCNFS_RETURN_IF_ERROR(CommitLocked(&b));
  dirs_[parent].erase(std::string(name));
  return Status::OK();
}

Status CloneFs::Rmdir(uint64_t parent, std::string_view name) {
  SCNFS_RETURN_IF_ERROR(Writable());
  std::lock_guard<std::mutex> l(mu_);
  SCNFS_ASSIGN_OR_RETURN(uint64_t ino, ChildLocked(parent, name));
  SCNFS_ASSIGN_OR_RETURN(CloneInode * i, InodeLocked(ino));
  if (!IsDir(*i)) return Errno(ENOTDIR, std::string(name));
  if (!dirs_[ino].empty()) return Errno(ENOTEMPTY, std::string(name));
  SCNFS_ASSIGN_OR_RETURN(CloneInode * p, InodeLocked(parent));
  rocksdb::WriteBatch b;
  b.Delete(CloneDirentKey(parent, name));
  p->nlink = p->nlink > 2 ? p->nlink - 1 : 2;
  p->mtime_ns = p->ctime_ns = NowNs();
  PutInodeLocked(&b, *p);
  DropInodeLocked(&b, ino);
  SCNFS_RETURN_IF_ERROR(CommitLocked(&b));
  dirs_[parent].erase(std::string(name));
  return Status::OK();
}

Status CloneFs::Rename(uint64_t parent, std::string_view name, uint64_t newparent, std::string_view newname, unsigned flags) {
  SCNFS_RETURN_IF_ERROR(Writable());
  if (flags & ~unsigned(RENAME_NOREPLACE)) return Errno(EINVAL, "rename flags other than RENAME_NOREPLACE");
  if (newname.size() > 255) return Errno(ENAMETOOLONG, "name too long");
  std::lock_guard<std::mutex> l(mu_);
  SCNFS_ASSIGN_OR_RETURN(uint64_t ino, ChildLocked(parent, name));
  SCNFS_ASSIGN_OR_RETURN(CloneInode * i, InodeLocked(ino));
  SCNFS_ASSIGN_OR_RETURN(CloneInode * np, InodeLocked(newparent));
  if (!IsDir(*np)) return Errno(ENOTDIR, "not a directory");
  if (IsDir(*i)) {  // not into itself or below
    for (uint64_t a = newparent; a != kCloneRootIno && a != 0; a = parent_of_.count(a) ? parent_of_[a] : 0)
      if (a == ino) return Errno(EINVAL, "a directory cannot move below itself");
  }
  rocksdb::WriteBatch b;
  auto existing = ChildLocked(newparent, newname);
  if (existing.ok()) {
    uint64_t victim = existing.value();
    if (victim == ino) return Status::OK();
    if (flags & RENAME_NOREPLACE) return Posix(EEXIST, std::string(newname));
    SCNFS_ASSIGN_OR_RETURN(CloneInode * v, InodeLocked(victim));
    if (IsDir(*v)) {
      if (!IsDir(*i)) return Errno(EISDIR, std::string(newname));
      if (!dirs_[victim].empty()) return Errno(ENOTEMPTY, std::string(newname));
      np->nlink = np->nlink > 2 ? np->nlink - 1 : 2;
      DropInodeLocked(&b, victim);
    } else {
      if (IsDir(*i)) return Errno(ENOTDIR, std::string(newname));
      v->nlink = v->nlink > 0 ? v->nlink - 1 : 0;
      v->ctime_ns = NowNs();
      auto f = files_.find(victim);
      if (v->nlink == 0 && !(f != files_.end() && f->second->opens > 0)) DropInodeLocked(&b, victim);
      else PutInodeLocked(&b, *v);
    }
  }
  SCNFS_ASSIGN_OR_RETURN(CloneInode * p, InodeLocked(parent));
  SCNFS_ASSIGN_OR_RETURN(np, InodeLocked(newparent));  // pointers may have moved if an inode was dropped
  const int64_t now = NowNs();
  p->mtime_ns = p->ctime_ns = np->mtime_ns = np->ctime_ns = i->ctime_ns = now;
  if (IsDir(*i) && parent != newparent) {
    p->nlink = p->nlink > 2 ? p->nlink - 1 : 2;
    np->nlink++;
  }
  std::string v;
  PutBE64(&v, ino);
  b.Delete(CloneDirentKey(parent, name));
  b.Put(CloneDirentKey(newparent, newname), v);
  PutInodeLocked(&b, *p);
  PutInodeLocked(&b, *np);
  PutInodeLocked(&b, *i);
  SCNFS_RETURN_IF_ERROR(CommitLocked(&b));
  dirs_[parent].erase(std::string(name));
  dirs_[newparent][std::string(newname)] = ino;
  if (IsDir(*i)) parent_of_[ino] = newparent;
  return Status::OK();
}

Result<std::shared_ptr<CloneFs::FileState>> CloneFs::FileLocked(uint64_t ino) {
  if (auto it = files_.find(ino); it != files_.end()) return it->second;
  SCNFS_ASSIGN_OR_RETURN(CloneInode * i, InodeLocked(ino));
  if (!S_ISREG(i->mode)) return Errno(EISDIR, "not a regular file");
  auto f = std::make_shared<FileState>();
  f->delta_path = DeltaPath(ino);
  f->deltas_made = &deltas_made_;
  f->deltas_synced = &deltas_synced_;
  f->fd = ::open(f->delta_path.c_str(), O_RDWR | O_CLOEXEC);  // made by the first change (PrepareWrite)
  if (f->fd < 0 && errno != ENOENT) return Errno(errno, fmt::format("cannot open the delta of inode {}", ino));
  if (!i->base_path.empty() && i->base_blocks > 0) {
    uint32_t dir = PointEntries::kRoot;
    std::optional<uint32_t> e;
    for (auto part : fs::path(i->base_path)) {
      SCNFS_ASSIGN_OR_RETURN(e, base_->entries().Lookup(dir, part.string()));
      if (!e) return Status::Corruption(fmt::format("clone file {} is missing from its backup", i->base_path));
      dir = *e;
    }
    f->has_base = true;
    f->base_entry = *e;
    f->present.assign(i->base_blocks, false);
    SCNFS_RETURN_IF_ERROR(LoadPresenceLocked(ino, *i, f.get()));
  }
  files_[ino] = f;
  return f;
}

// Which base blocks the delta holds. The presence map says so exactly. Without one (a file not written since it
// was cloned, or a clone written before maps existed) the delta's allocated extents stand in: exact for a file
// with no writes, and for older clones where the file system allocates in units no larger than the clone's block
// (ext4 and 8 KiB pages), not on ZFS records, ext4 bigalloc or huge-page tmpfs, where untouched neighbours of a
// written block would read as zeros. The first write then makes the map (FileState::CreateMap).
Status CloneFs::LoadPresenceLocked(uint64_t ino, const CloneInode& i, FileState* f) {
  f->map_path = MapPath(ino);
  f->map_fd = ::open(f->map_path.c_str(), O_RDWR | O_CLOEXEC);
  if (f->map_fd >= 0) {
    const size_t bytes = (f->present.size() + 7) / 8;
    std::vector<uint8_t> map(bytes, 0);
    if (::pread(f->map_fd, map.data(), bytes, 0) < 0) return Errno(errno, fmt::format("cannot read the presence map of inode {}", ino));
    for (uint64_t b = 0; b < f->present.size(); ++b) f->present[b] = (map[b / 8] >> (b & 7)) & 1;
    return Status::OK();
  }
  if (errno != ENOENT) return Errno(errno, fmt::format("cannot open the presence map of inode {}", ino));
  off_t off = 0;
  const uint64_t bs = i.block_size;
  for (;;) {
    off_t d = ::lseek(f->fd, off, SEEK_DATA);
    if (d < 0) break;
    off_t h = ::lseek(f->fd, d, SEEK_HOLE);
    if (h < 0) break;
    for (uint64_t b = uint64_t(d) / bs; b * bs < uint64_t(h) && b < f->present.size(); ++b) f->present[b] = true;
    off = h;
  }
  return Status::OK();
}

Status CloneFs::Open(uint64_t ino, bool truncate) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (retired_) return Retired();
    SCNFS_ASSIGN_OR_RETURN(auto f, FileLocked(ino));
    f->opens++;
  }
  if (!truncate) return Status::OK();
  Status st = TruncateFile(ino, 0);
  if (!st.ok()) Release(ino);  // the open fails, so no release will come from the kernel for it
  return st;
}

void CloneFs::Release(uint64_t ino) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = files_.find(ino);
  if (it == files_.end()) return;
  if (--it->second->opens > 0) return;
  // A truncate by path (SetAttr) may still be working on this state, with no descriptor of its own. Dropped now,
  // a new open would build a second state from the presence map before the truncate marked the block it copied,
  // and that block would read the backup's bytes past the cut (and a write through it would store the stale map
  // byte; found 2026-12-01 by a test that raced truncate(2) with a close and an open). SetAttr closes it when done.
  if (it->second.use_count() > 1) return;
  CloseLastLocked(it);
}

size_t CloneFs::RetireIfIdle() {
  std::lock_guard<std::mutex> l(mu_);
  size_t n = 0;
  for (const auto& [ino, f] : files_) n += f->opens > 0 ? 1 : 0;
  if (n == 0) retired_ = true;
  return n;
}

void CloneFs::CloseLastLocked(std::unordered_map<uint64_t, std::shared_ptr<FileState>>::iterator it) {
  const uint64_t ino = it->first;
  const bool times_dirty = it->second->times_dirty;
  // Presence bits the state set and did not sync are remembered for the inode, so that an fsync through a later
  // descriptor (PostgreSQL's checkpointer, after the backend that wrote has closed) syncs them.
  if (it->second->map_unsynced) maps_unsynced_.insert(ino);
  files_.erase(it);
  auto i = inodes_.find(ino);
  if (i != inodes_.end() && i->second.nlink > 0 && times_dirty) {
    rocksdb::WriteBatch b;
    PutInodeLocked(&b, i->second);
    (void)CommitLocked(&b);
  }
  if (i != inodes_.end() && i->second.nlink == 0) {
    rocksdb::WriteBatch b;
    DropInodeLocked(&b, ino);
    (void)CommitLocked(&b);
  }
}

Status CloneFs::Materialize(FileState& f, const CloneInode& inode, uint64_t block) {
  const uint64_t bs = inode.block_size;
  std::vector<std::byte> buf(bs);
  size_t n = 0;
  SCNFS_RETURN_IF_ERROR(base_->Read(f.base_entry, block * bs, buf, &n));
  if (::pwrite(f.fd, buf.data(), bs, off_t(block * bs)) != ssize_t(bs)) return Errno(errno ? errno : EIO, "writing the clone's delta");
  return f.MarkPresent(block);
}

Status CloneFs::Read(uint64_t ino, uint64_t offset, std::span<std::byte> out, size_t* n) {
  *n = 0;
  std::shared_ptr<FileState> f;
  uint64_t size, bs, base_blocks;
  {
    std::lock_guard<std::mutex> l(mu_);
    SCNFS_ASSIGN_OR_RETURN(f, FileLocked(ino));
    const CloneInode& i = inodes_.at(ino);
    size = i.size;
    bs = i.block_size;
    base_blocks = i.base_blocks;
  }
  std::shared_lock<std::shared_mutex> dl(f->data);
  if (offset >= size) return Status::OK();
  const uint64_t end = std::min<uint64_t>(size, offset + out.size());
  uint64_t pos = offset;
  while (pos < end) {
    const uint64_t b = pos / bs;
    const bool from_base = f->FromBase(b, base_blocks);
    uint64_t run_end = (b + 1) * bs;  // extend the run while the source stays the same
    while (run_end < end) {
      uint64_t nb = run_end / bs;
      bool nb_base = f->FromBase(nb, base_blocks);
      if (nb_base != from_base) break;
      run_end += bs;
    }
    run_end = std::min(run_end, end);
    std::span<std::byte> dst = out.subspan(pos - offset, run_end - pos);
    if (from_base) {
      size_t got = 0;
      SCNFS_RETURN_IF_ERROR(base_->Read(f->base_entry, pos, dst, &got));
      if (got < dst.size()) std::memset(dst.data() + got, 0, dst.size() - got);
    } else {
      size_t done = f->fd < 0 ? dst.size() : 0;  // no delta yet: holes
      if (f->fd < 0) std::memset(dst.data(), 0, dst.size());
      while (done < dst.size()) {
        ssize_t r = ::pread(f->fd, dst.data() + done, dst.size() - done, off_t(pos + done));
        if (r < 0) {
          if (errno == EINTR) continue;
          return Errno(errno, "reading the clone's delta");
        }
        if (r == 0) {  // past the delta's end: a hole
          std::memset(dst.data() + done, 0, dst.size() - done);
          break;
        }
        done += size_t(r);
      }
    }
    pos = run_end;
  }
  *n = size_t(end - offset);
  return Status::OK();
}

Status CloneFs::Write(uint64_t ino, uint64_t offset, std::span<const std::byte> data) {
  if (data.empty()) return Status::OK();
  SCNFS_RETURN_IF_ERROR(Writable());
  std::shared_ptr<FileState> f;
  CloneInode snapshot;
  {
    std::lock_guard<std::mutex> l(mu_);
    SCNFS_ASSIGN_OR_RETURN(f, FileLocked(ino));
  }
  std::unique_lock<std::shared_mutex> dl(f->data);
  SCNFS_RETURN_IF_ERROR(f->PrepareWrite());
  {
    std::lock_guard<std::mutex> l(mu_);
    snapshot = inodes_.at(ino);
  }
  const uint64_t bs = snapshot.block_size, end = offset + data.size();
  // Blocks the write covers only in part, still in the backup: copy them into the delta first.
  for (uint64_t b : {offset / bs, (end - 1) / bs}) {
    const bool partial = b * bs < offset || (b + 1) * bs > end;
    if (partial && f->FromBase(b, snapshot.base_blocks))
      SCNFS_RETURN_IF_ERROR(Materialize(*f, snapshot, b));
  }
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = ::pwrite(f->fd, data.data() + done, data.size() - done, off_t(offset + done));
    if (w < 0) {
      if (errno == EINTR) continue;
      const int e = errno;
      // What the failed write put past the file's end (a full disk took the rest) goes: the file keeps its size,
      // and growing it later must read zeros there, not these bytes (found 2026-11-30: 256 KiB of a write that
      // failed with ENOSPC came back after an ftruncate up). Within the size, the blocks it did not mark present
      // keep reading the backup.
      struct stat st;
      if (offset + done > snapshot.size && ::fstat(f->fd, &st) == 0 && uint64_t(st.st_size) > snapshot.size)
        (void)::ftruncate(f->fd, off_t(snapshot.size));
      return Errno(e, "writing the clone's delta");
    }
    done += size_t(w);
  }
  for (uint64_t b = offset / bs; b * bs < end && b < f->present.size(); ++b) SCNFS_RETURN_IF_ERROR(f->MarkPresent(b));
  std::lock_guard<std::mutex> l(mu_);
  CloneInode& i = inodes_.at(ino);
  i.mtime_ns = i.ctime_ns = NowNs();
  if (end <= i.size) {
    // An overwrite (a database rewriting its pages and WAL) changes only times: recorded at fsync or close, not
    // once per write. fdatasync need not wait for them, as on a local filesystem.
    f->times_dirty = true;
    return Status::OK();
  }
  i.size = end;
  f->times_dirty = false;
  rocksdb::WriteBatch b;
  PutInodeLocked(&b, i);
  return CommitLocked(&b);
}

Status CloneFs::TruncateFile(uint64_t ino, uint64_t size) {
  SCNFS_RETURN_IF_ERROR(Writable());
  std::shared_ptr<FileState> f;
  {
    std::lock_guard<std::mutex> l(mu_);
    SCNFS_ASSIGN_OR_RETURN(f, FileLocked(ino));
  }
  std::unique_lock<std::shared_mutex> dl(f->data);
  CloneInode snapshot;
  {
    std::lock_guard<std::mutex> l(mu_);
    snapshot = inodes_.at(ino);
  }
  const uint64_t bs = snapshot.block_size;
  uint64_t base_blocks = snapshot.base_blocks;
  const bool shrink = size < snapshot.size;
  // Growing changes the size alone (the delta has holes past what was written, zeros): a file never written keeps
  // no delta or presence map, which cost space, and on a full disk failed an extend that needs none (ENOSPC, where a
  // local file system only adds a hole; found 2026-12-01).
  if (shrink) {
    SCNFS_RETURN_IF_ERROR(f->PrepareWrite());
    // The block the new end falls in keeps its head; its tail must read as zeros if the file grows again.
    const uint64_t b = size / bs;
    if (size % bs != 0 && f->FromBase(b, base_blocks)) {
      SCNFS_RETURN_IF_ERROR(Materialize(*f, snapshot, b));
      // Durable before the metadata that stops reading it from the backup (base_blocks below) is.
      if (::fdatasync(f->fd) != 0) return Errno(errno, "syncing the clone's delta");
      if (const int mfd = f->map_fd; mfd >= 0 && ::fdatasync(mfd) != 0) return Errno(errno, "syncing the clone's presence map");
    }
    base_blocks = std::min(base_blocks, (size + bs - 1) / bs);
  }
  {
    // The new size is durable before the delta is cut: the other way round, a power cut could keep the cut and
    // lose the size, and blocks the DBA had fsynced read as zeros. A cut that the power cut loses instead is
    // finished when the clone is next opened (RepairDeltasLocked).
    std::lock_guard<std::mutex> l(mu_);
    CloneInode& i = inodes_.at(ino);
    i.size = size;
    i.base_blocks = base_blocks;
    i.mtime_ns = i.ctime_ns = NowNs();
    rocksdb::WriteBatch b;
    PutInodeLocked(&b, i);
    SCNFS_RETURN_IF_ERROR(CommitLocked(&b, /*sync=*/shrink));
  }
  if (shrink) {
    struct stat st;
    if (::fstat(f->fd, &st) == 0 && uint64_t(st.st_size) > size && ::ftruncate(f->fd, off_t(size)) != 0)
      return Errno(errno, "truncating the clone's delta");
    if (f->present.size() > base_blocks) f->present.resize(base_blocks);
  }
  return Status::OK();
}

Result<struct stat> CloneFs::SetAttr(uint64_t ino, const struct stat& a, int to_set) {
  SCNFS_RETURN_IF_ERROR(Writable());
  if (to_set & FUSE_SET_ATTR_SIZE) {
    {
      std::lock_guard<std::mutex> l(mu_);
      SCNFS_ASSIGN_OR_RETURN(CloneInode * i, InodeLocked(ino));
      if (S_ISDIR(i->mode)) return Errno(EISDIR, "truncate of a directory");
    }
    Status ts = TruncateFile(ino, uint64_t(a.st_size));
    {
      // truncate(2) by path: the file is not open, and no release will drop the state TruncateFile loaded.
      std::lock_guard<std::mutex> l(mu_);
      // Only if nobody else holds it: a concurrent truncate still working on this state would otherwise race a new
      // one, each writing whole map bytes from its own bits.
      if (auto it = files_.find(ino); it != files_.end() && it->second->opens == 0 && it->second.use_count() == 1)
        CloseLastLocked(it);
    }
    SCNFS_RETURN_IF_ERROR(ts);
  }
  std::lock_guard<std::mutex> l(mu_);
  SCNFS_ASSIGN_OR_RETURN(CloneInode * i, InodeLocked(ino));
  const int64_t now = NowNs();
  if (to_set & FUSE_SET_ATTR_MODE) i->mode = (i->mode & S_IFMT) | (a.st_mode & 07777);
  if (to_set & FUSE_SET_ATTR_UID) i->uid = a.st_uid;
  if (to_set & FUSE_SET_ATTR_GID) i->gid = a.st_gid;
  if (to_set & FUSE_SET_ATTR_ATIME) i->atime_ns = NsFromTimespec(a.st_atim);
  if (to_set & FUSE_SET_ATTR_MTIME) i->mtime_ns = NsFromTimespec(a.st_mtim);
  if (to_set & FUSE_SET_ATTR_ATIME_NOW) i->atime_ns = now;
  if (to_set & FUSE_SET_ATTR_MTIME_NOW) i->mtime_ns = now;
  if (to_set & FUSE_SET_ATTR_CTIME) i->ctime_ns = NsFromTimespec(a.st_ctim);
  else i->ctime_ns = now;
  rocksdb::WriteBatch b;
  PutInodeLocked(&b, *i);
  SCNFS_RETURN_IF_ERROR(CommitLocked(&b));
  return i->Stat();
}

Status CloneFs::Fsync(uint64_t ino, bool datasync) {
  std::shared_ptr<FileState> f;
  bool map_pending = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (auto it = files_.find(ino); it != files_.end()) f = it->second;
    map_pending = f && maps_unsynced_.erase(ino) > 0;  // kept for a later fsync when no state is loaded
  }
  if (f && f->fd >= 0 && (datasync ? ::fdatasync(f->fd) : ::fsync(f->fd)) != 0) {
    if (map_pending) {
      std::lock_guard<std::mutex> l(mu_);
      maps_unsynced_.insert(ino);
    }
    return Errno(errno, "syncing the clone's delta");
  }
  // A delta created since data/ was last synced: its name, or a power cut on a file system that does not sync
  // a new file's name with the file (ext2, ext4 without a journal) kept the size the metadata recorded and lost
  // the bytes, read back as zeros (found by a durability audit, 2026-12-02). Counts, as for the metadata below.
  if (const uint64_t made = deltas_made_.load(); deltas_synced_.load() < made) {
    if (Status st = SyncDirectory(dir_ + "/data"); !st.ok()) {
      if (map_pending) {
        std::lock_guard<std::mutex> l(mu_);
        maps_unsynced_.insert(ino);
      }
      return st;
    }
    RaiseTo(deltas_synced_, made);
  }
  // The map after the delta: a bit that is durable names bytes that are durable.
  if (f && (f->map_unsynced.exchange(false) || map_pending)) {
    const int mfd = f->map_fd;
    if (mfd >= 0 && ::fdatasync(mfd) != 0) {
      f->map_unsynced = true;
      return Errno(errno, "syncing the clone's presence map");
    }
  }
  {
    std::lock_guard<std::mutex> l(mu_);
    if (f && f->times_dirty && !datasync) {
      f->times_dirty = false;
      rocksdb::WriteBatch b;
      PutInodeLocked(&b, inodes_.at(ino));
      SCNFS_RETURN_IF_ERROR(CommitLocked(&b));
    }
    if (meta_synced_ >= meta_written_) return Status::OK();  // nothing recorded since the last sync
  }
  return SyncMetadata();
}

// Counts, not a flag: an fsync may return only once a WAL sync that *started after* the last change it must cover
// has finished. With a flag cleared before the sync, a second fsync arriving during the first one's FlushWAL saw
// "nothing unsynced" and returned while that sync was still in flight.
Status CloneFs::SyncMetadata() {
  uint64_t covers;
  {
    std::lock_guard<std::mutex> l(mu_);
    covers = meta_written_;  // every batch counted so far is in the WAL's buffer, which this sync writes
    if (meta_synced_ >= covers) return Status::OK();
  }
  if (meta_read_only_) return Status::OK();  // nothing was written
  SCNFS_RETURN_IF_ERROR(Writable());
  if (Status st = FromRocksStatus(meta_->FlushWAL(/*sync=*/true), "syncing clone metadata"); !st.ok()) {
    meta_failed_ = true;
    return st;
  }
  std::lock_guard<std::mutex> l(mu_);
  meta_synced_ = std::max(meta_synced_, covers);
  return Status::OK();
}

Status CloneFs::GrowLocked(uint64_t ino, uint64_t end) {
  CloneInode& i = inodes_.at(ino);
  if (end <= i.size) return Status::OK();
  i.size = end;
  i.ctime_ns = i.mtime_ns = NowNs();
  rocksdb::WriteBatch b;
  PutInodeLocked(&b, i);
  return CommitLocked(&b);
}

Status CloneFs::Fallocate(uint64_t ino, int mode, uint64_t offset, uint64_t length) {
  SCNFS_RETURN_IF_ERROR(Writable());
  if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
    return Errno(EOPNOTSUPP, "fallocate mode");
  if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE)) {
    uint64_t size, base_end;
    {
      std::lock_guard<std::mutex> l(mu_);
      SCNFS_ASSIGN_OR_RETURN(CloneInode * i, InodeLocked(ino));
      size = i->size;
      base_end = i->base_blocks * uint64_t(i->block_size);
    }
    uint64_t end = offset + length;
    if (mode & FALLOC_FL_KEEP_SIZE) end = std::min(end, size);
    // Where the backup's bytes could show through (below base_end), zeros are written: a hole in the delta would
    // read the backup. Past it, and within the file, a hole in the delta is zeros already: punched, so that
    // zeroing a large range takes no space (it took as much as a write of it).
    const uint64_t zero_end = std::min(end, std::max(offset, base_end));
    std::vector<std::byte> zeros(std::min<uint64_t>(1u << 20, zero_end > offset ? zero_end - offset : 0));
    for (uint64_t pos = offset; pos < zero_end; pos += zeros.size()) {
      uint64_t n = std::min<uint64_t>(zeros.size(), zero_end - pos);
      SCNFS_RETURN_IF_ERROR(Write(ino, pos, std::span<const std::byte>(zeros.data(), n)));
    }
    const uint64_t from = std::max(offset, base_end);
    if (end <= from) return Status::OK();
    std::shared_ptr<FileState> f;
    {
      std::lock_guard<std::mutex> l(mu_);
      SCNFS_ASSIGN_OR_RETURN(f, FileLocked(ino));
    }
    std::unique_lock<std::shared_mutex> dl(f->data);
    const uint64_t punch_end = std::min(end, size);
    if (f->fd >= 0 && punch_end > from &&
        ::fallocate(f->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off_t(from), off_t(punch_end - from)) != 0) {
      // A file system without hole punching: write the zeros after all.
      dl.unlock();
      if (zeros.empty()) zeros.resize(1u << 20);
      for (uint64_t pos = from; pos < punch_end; pos += zeros.size()) {
        uint64_t n = std::min<uint64_t>(zeros.size(), punch_end - pos);
        SCNFS_RETURN_IF_ERROR(Write(ino, pos, std::span<const std::byte>(zeros.data(), n)));
      }
      dl.lock();
    }
    std::lock_guard<std::mutex> l(mu_);
    if (end > size) return GrowLocked(ino, end);  // ZERO_RANGE without KEEP_SIZE grows the file (holes: zeros)
    CloneInode& i = inodes_.at(ino);  // a change of content: times as for a write, recorded at fsync or close
    i.mtime_ns = i.ctime_ns = NowNs();
    f->times_dirty = true;
    return Status::OK();
  }
  // Plain allocation: reserve the delta's space past what the backup provides, and grow the file unless KEEP_SIZE.
  std::shared_ptr<FileState> f;
  CloneInode snapshot;
  {
    std::lock_guard<std::mutex> l(mu_);
    SCNFS_ASSIGN_OR_RETURN(f, FileLocked(ino));
    snapshot = inodes_.at(ino);
  }
  std::unique_lock<std::shared_mutex> dl(f->data);
  SCNFS_RETURN_IF_ERROR(f->PrepareWrite());
  const uint64_t end = offset + length;
  const uint64_t from = std::max<uint64_t>(offset, snapshot.base_blocks * snapshot.block_size);
  if (end > from && ::fallocate(f->fd, FALLOC_FL_KEEP_SIZE, off_t(from), off_t(end - from)) != 0)
    return Errno(errno, "allocating space for the clone");
  if (!(mode & FALLOC_FL_KEEP_SIZE)) {
    std::lock_guard<std::mutex> l(mu_);
    SCNFS_RETURN_IF_ERROR(GrowLocked(ino, end));
  }
  return Status::OK();
}

Status CloneFs::Statfs(struct statvfs* out) {
  if (::statvfs(dir_.c_str(), out) != 0) return Errno(errno, "statfs");
  return Status::OK();
}

}  // namespace scnfs
