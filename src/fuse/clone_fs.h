// CloneFs: one writable clone as a POSIX directory tree over its point in time (docs/clones.md).
//
// Metadata (inodes, directory entries) lives in the clone's own RocksDB and in memory; file data lives in sparse
// delta files, one per inode, written at the file's own offsets. A block of a file that came from the backup is
// read from the backup until its first write; a write that covers part of such a block first copies the block from
// the backup into the delta (copy-on-write at block granularity), so the first write to a 1 GiB file costs one block.
// Which blocks the delta holds is read back from the delta file's allocated extents (SEEK_DATA), so it survives a
// crash without a separate map.
//
// Inode numbers here are the clone's own (1 = its top directory); the mount maps them into its inode space.
// Thread-safety: all methods are safe from many threads. Lock order: a file's data lock, then mu_.
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "clone/clone_meta.h"
#include "fuse/point_view.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace scnfs {

class CloneFs {
 public:
  struct Dirent {
    std::string name;
    uint64_t ino;
    mode_t type;
  };

  // Takes the clone's lock (Busy if another process serves it), loads its metadata, drops inodes left unlinked by a
  // crash. `base` is the clone's point.
  static Result<std::unique_ptr<CloneFs>> Open(const std::string& dir, std::shared_ptr<const PointView> base);
  ~CloneFs();

  Result<struct stat> Lookup(uint64_t parent, std::string_view name);
  Result<struct stat> GetAttr(uint64_t ino);
  // `to_set`: FUSE_SET_ATTR_* bits.
  Result<struct stat> SetAttr(uint64_t ino, const struct stat& attr, int to_set);
  Result<std::vector<Dirent>> ReadDir(uint64_t ino);
  Result<std::string> ReadLink(uint64_t ino);
  // mode carries the type: S_IFREG, S_IFDIR (mkdir), S_IFIFO...; only regular files and directories are made.
  Result<struct stat> Make(uint64_t parent, std::string_view name, mode_t mode, uid_t uid, gid_t gid);
  Result<struct stat> Symlink(uint64_t parent, std::string_view name, const std::string& target, uid_t uid, gid_t gid);
  Result<struct stat> Link(uint64_t ino, uint64_t parent, std::string_view name);
  Status Unlink(uint64_t parent, std::string_view name);
  Status Rmdir(uint64_t parent, std::string_view name);
  Status Rename(uint64_t parent, std::string_view name, uint64_t newparent, std::string_view newname, unsigned flags);

  // Open files: Open counts an open (an unlinked file lives until its last Release).
  Status Open(uint64_t ino, bool truncate);
  void Release(uint64_t ino);
  // For a mount letting go of the clone (`clone destroy`): when none of its files is open, retires it in the same
  // step, and returns 0; else returns how many are open. A retired clone opens, creates and changes nothing (ESTALE): an
  // open that had found the clone just before it was let go was counted after the check, and kept a clone the
  // destroy then waited for in vain (found by review, 2026-12-01).
  size_t RetireIfIdle();
  Status Read(uint64_t ino, uint64_t offset, std::span<std::byte> out, size_t* n);
  Status Write(uint64_t ino, uint64_t offset, std::span<const std::byte> data);
  // Durable when it returns: the file's delta data and all metadata.
  Status Fsync(uint64_t ino, bool datasync);
  Status SyncMetadata();
  Status Fallocate(uint64_t ino, int mode, uint64_t offset, uint64_t length);
  Status Statfs(struct statvfs* out);

 private:
  struct FileState;
  CloneFs() = default;
  Status Load();
  Result<struct stat> AddEntry(uint64_t parent, std::string_view name, CloneInode inode);  // a new inode and its name
  Result<std::shared_ptr<FileState>> FileLocked(uint64_t ino);  // REQUIRES: mu_ held
  void PutInodeLocked(rocksdb::WriteBatch* b, const CloneInode& i);
  // Writes `b` to the metadata (synced if `sync`, or if it drops inodes: their files are removed after it).
  Status CommitLocked(rocksdb::WriteBatch* b, bool sync = false);
  void RepairDeltasLocked();
  Status GrowLocked(uint64_t ino, uint64_t end);  // size = max(size, end), committed (REQUIRES: mu_ held)  // at Load: files a power cut left behind a metadata change (REQUIRES: mu_ held)
  void DropInodeLocked(rocksdb::WriteBatch* b, uint64_t ino);
  Result<CloneInode*> InodeLocked(uint64_t ino);
  Result<uint64_t> ChildLocked(uint64_t parent, std::string_view name);
  Status Materialize(FileState& f, const CloneInode& inode, uint64_t block);
  Status TruncateFile(uint64_t ino, uint64_t size);
  std::string DeltaPath(uint64_t ino) const;
  std::string MapPath(uint64_t ino) const;
  Status LoadPresenceLocked(uint64_t ino, const CloneInode& i, FileState* f);  // REQUIRES: mu_ held
  // The last close of a file nobody else holds: drops its state, stores its times, drops an unlinked inode.
  void CloseLastLocked(std::unordered_map<uint64_t, std::shared_ptr<FileState>>::iterator it);  // REQUIRES: mu_ held

  std::string dir_;
  int lock_fd_ = -1;
  std::shared_ptr<const PointView> base_;
  std::unique_ptr<rocksdb::DB> meta_;

  std::mutex mu_;
  uint64_t next_ino_ = 2;
  std::unordered_map<uint64_t, CloneInode> inodes_;
  std::unordered_map<uint64_t, std::map<std::string, uint64_t, std::less<>>> dirs_;
  std::unordered_map<uint64_t, uint64_t> parent_of_;  // directories only
  std::unordered_map<uint64_t, std::shared_ptr<FileState>> files_;
  std::unordered_set<uint64_t> maps_unsynced_;  // inodes whose dropped state left map bits unsynced (GUARDED_BY(mu_))
  // Set by the first metadata write or sync that fails (a full disk): RocksDB 7.8 as Debian builds it asserts when a
  // WAL writer that failed is used again, which aborted the whole mount once space was freed. From then on the
  // clone refuses changes (EIO) until it is opened again; its metadata is recovered by that open.
  std::atomic<bool> meta_failed_{false};
  // Opened on a full disk: metadata opened read-only, every change refused with ENOSPC until opened again.
  bool meta_read_only_ = false;
  std::atomic<bool> retired_{false};  // set under mu_ (RetireIfIdle), read anywhere
  // OK while the clone takes changes; else why not (the message names the remedy).
  Status Writable() const;
  Status Retired() const;  // the error of a retired clone
  std::vector<uint64_t> dropped_;  // inodes dropped in the batch being built (GUARDED_BY(mu_))
  uint64_t meta_written_ = 0;  // metadata batches written to the WAL (GUARDED_BY(mu_))
  uint64_t meta_synced_ = 0;   // of those, how many a finished WAL sync covers (GUARDED_BY(mu_))
  std::atomic<uint64_t> deltas_made_{0};    // delta files created in data/ by first changes
  std::atomic<uint64_t> deltas_synced_{0};  // of those, how many a finished fsync of data/ covers
};

}  // namespace scnfs
