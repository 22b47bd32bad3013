// PointView: one point in time (a backup, or an scn:/time: point) as a directory tree the mount serves.
//
// The tree is read from the point's file records as the mount meets names (PointEntries): a lookup reads one record,
// a directory's listing reads the records directly in it, a stat of a directory counts its subdirectories. Nothing
// reads the whole file set but .scnfs-backup.json: the first byte of a file of a 20,000-file backup took 57-74 ms
// while the whole list was decoded and sorted (found 2026-12-01).
//
// Entry numbers (docs/mount.md, "Inode numbers"): a regular file's is its file number in the database (the catalog's
// file_id) less one, below 2^31; a directory's or a link's is 2^31 plus a hash of its path, probed past another
// path's. Both are the same whenever the point is read again, so backups/<id> keeps its inode numbers for the
// life of the mount, without a table (but for the rare probed number, which keeps its slot's table).
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "restore/point_reader.h"
#include "scnfs/catalog.h"

namespace scnfs {

// The entries of one point's file set met so far, by number. Made with the point's slot and shared by each view
// built for it: a view dropped and built again while the kernel holds inodes of it (a superseded at/ point) finds
// them here. Memory: about 400 bytes per entry met, not per file of the backup.
//
// Thread-safety: all methods are safe from many threads; catalog reads run without the lock, so a slow read does
// not hold up readers of entries already met.
class PointEntries {
 public:
  static constexpr uint32_t kRoot = UINT32_MAX;  // the point's top directory
  static constexpr uint32_t kFirstHashed = 1u << 31;  // entry numbers of directories and links start here

  // `store` outlives this; `base`: the backup whose file set the point serves.
  PointEntries(Store* store, BackupRecord base);

  // The entry called `name` in directory `dir` (kRoot or a directory's entry), if any. Reads its record the first
  // time; a name the directory does not hold costs one read each time, unless the directory was listed.
  Result<std::optional<uint32_t>> Lookup(uint32_t dir, std::string_view name);
  // The record of an entry met before (kRoot: once Root() or a listing read it); nullptr otherwise. The record
  // stays where it is while this lives.
  const FileRecord* Find(uint32_t e) const;
  // The top directory's record: the source directory's own (".") when the backup read one, else made up.
  Result<const FileRecord*> Root();
  // The entries of directory `dir` in name order; read once, then kept.
  Result<std::shared_ptr<const std::vector<uint32_t>>> Children(uint32_t dir);
  // Attributes of entry e (kRoot included; st_ino left to the caller): EntryStat, with a directory's link count 2
  // + its subdirectories, as on the file system it was backed up from.
  Result<struct stat> Stat(uint32_t e);
  const BackupRecord& base() const { return base_; }
  // Whether a directory or link was numbered past another path's hash (the number then depends on the order names
  // were met): such entries are kept while the point's directory is held (MountTree).
  bool HasProbedNumbers() const;
  Store* store() const { return store_; }

 private:
  struct Node {
    FileRecord record;
    std::optional<size_t> subdirs;                          // GUARDED_BY(mu_)
    std::shared_ptr<const std::vector<uint32_t>> children;  // GUARDED_BY(mu_): once listed, by name
  };
  Node* NodeLocked(uint32_t e);
  const Node* NodeLocked(uint32_t e) const;
  Result<uint32_t> AddLocked(FileRecord r);  // the entry of `r`, numbered now if it is new
  Result<FileRecord> MadeUpDirectory(std::string path);
  Result<std::string> DirPath(uint32_t dir) const;  // "" for the root

  Store* const store_;
  const BackupRecord base_;
  mutable std::shared_mutex mu_;
  Node root_;                 // GUARDED_BY(mu_)
  bool root_read_ = false;    // GUARDED_BY(mu_): root_.record is the point's own
  bool probed_ = false;       // GUARDED_BY(mu_)
  std::unordered_map<uint32_t, std::unique_ptr<Node>> by_number_;  // GUARDED_BY(mu_)
  std::unordered_map<std::string_view, uint32_t> by_path_;          // GUARDED_BY(mu_): views of by_number_'s paths
};

// The check of one backup's whole file set that the lookups do not make (Catalog::ListFiles(BackupRecord): the
// files', directories' and links' counts and sizes against the backup's record, no path under a file), run once
// per backup per mount in the background (MountTree): a damaged catalog had a record made smaller served as a short
// file, with success, once the mount no longer read the whole set first (found 2026-12-01). A point's files are
// served while it runs (the first byte does not wait for it) and fail with its error once it found damage.
class FileSetCheck {
 public:
  void Finish(Status st);
  // OK while the check runs and once it found the file set sound.
  Status status() const;
  bool damaged() const { return damaged_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mu_;
  Status status_;  // GUARDED_BY(mu_)
  std::atomic<bool> damaged_{false};
};

class PointView {
 public:
  static constexpr uint32_t kRoot = PointEntries::kRoot;

  // `what` names the point for people ("backups/3", "at/scn:1200"); `entries`: its slot's, of the same point.
  // `check`: its base backup's (null: none).
  PointView(std::unique_ptr<PointReader> reader, std::shared_ptr<PointEntries> entries,
            std::shared_ptr<const FileSetCheck> check, std::string what);
  // The file set check's verdict: not OK once it found the backup's catalog damaged (Read fails then too).
  Status FileSetStatus() const { return check_ ? check_->status() : Status::OK(); }

  const ResolvedPoint& point() const { return reader_->point(); }
  const DatabaseRecord& database() const { return reader_->database(); }
  const std::string& what() const { return what_; }
  PointEntries& entries() const { return *entries_; }
  // An entry's record, as PointEntries::Find.
  const FileRecord* Find(uint32_t e) const { return entries_->Find(e); }

  // Reads up to `out.size()` bytes of file entry `e` at `offset`; *n is what was read (0 at or past the end).
  // Whole blocks inside the range are decompressed straight into `out`.
  Status Read(uint32_t e, uint64_t offset, std::span<std::byte> out, size_t* n) const;
  // The same for a file record of this view's entries (PointEntries::Find), without finding it.
  Status Read(const FileRecord& f, uint64_t offset, std::span<std::byte> out, size_t* n) const;

  // .scnfs-backup.json: what a DBA asks of this point. Built on first use, from the whole file set (checked
  // against the backup's counts, as a restore reads it).
  Result<const std::string*> Info() const;

  // Files open on this view. Its cursors (each a RocksDB iterator, a zstd context and the cache blocks its last
  // read pinned: about 1 MB) are kept for the next read while a file is open and freed with the last one: a view
  // kept for the kernel's dentries held one per thread that had read it, 668 MB for 180 points read once with 8
  // threads (found 2026-11-30).
  void FileOpened() const;
  void FileClosed() const;
  bool HasOpenFiles() const;
  // Drops the pooled cursors no reader holds now: their iterators keep the store's table files of when they were
  // made open, deleted ones included, for as long as they live (the mount's upkeep, after a catch-up).
  void DropPooledCursors() const;

 private:
  class CursorLease;
  // Read's work on blocks: bytes [offset, end) of `f` into `out`.
  Status ReadBlocks(const FileRecord& f, uint64_t offset, uint64_t end, std::span<std::byte> out, CursorLease& cursor) const;
  Status BuildInfo() const;

  std::unique_ptr<PointReader> reader_;
  std::shared_ptr<PointEntries> entries_;
  std::shared_ptr<const FileSetCheck> check_;
  std::string what_;
  mutable std::mutex info_mu_;
  mutable std::optional<std::string> info_;  // GUARDED_BY(info_mu_)

  // Cursors carry per-thread RocksDB iterators and zstd contexts: pooled, one per concurrent reader.
  mutable std::mutex pool_mu_;
  mutable std::vector<std::unique_ptr<PointReader::Cursor>> pool_;
  mutable size_t open_files_ = 0;  // guarded by pool_mu_
};

// Attributes of a file record (st_ino is left to the caller); a directory's link count is 2, PointEntries::Stat
// adds its subdirectories.
struct stat EntryStat(const FileRecord& r);

}  // namespace scnfs
