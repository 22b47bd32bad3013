// PointView: one point in time (a backup, or an scn:/time: point) as a directory tree the mount serves.
//
// Built from the point's file records when the mount first needs it; immutable afterwards (a backup never changes),
// so every method is safe from many threads. Entries are numbered 0..n-1 in path order; the mount turns an entry
// number into an inode number and back without a table.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "restore/point_reader.h"
#include "scnfs/catalog.h"

namespace scnfs {

class PointView {
 public:
  static constexpr uint32_t kRoot = UINT32_MAX;  // the point's top directory

  // `what` names the point for people ("backups/3", "at/scn:1200").
  PointView(OpenedPoint point, std::string what);

  const ResolvedPoint& point() const { return reader_->point(); }
  const DatabaseRecord& database() const { return reader_->database(); }
  const std::string& what() const { return what_; }
  size_t entries() const { return files_.size(); }
  const FileRecord& entry(uint32_t i) const { return files_[i]; }
  // The top directory's own record (owner, mode, times of a single-directory source); synthesised otherwise.
  const FileRecord& root() const { return root_; }
  const FileRecord& record(uint32_t i) const { return i == kRoot ? root_ : files_[i]; }

  // The entry called `name` in directory `dir` (kRoot or a "dir" entry), if any.
  std::optional<uint32_t> Lookup(uint32_t dir, std::string_view name) const;
  // The entries of directory `dir` in name order.
  std::span<const uint32_t> Children(uint32_t dir) const;
  // Leaf name of entry i.
  std::string_view Name(uint32_t i) const;
  // Attributes of entry i (or kRoot) as the mount reports them (st_ino left to the caller): EntryStat, with a
  // directory's link count 2 + its subdirectories, as on the file system it was backed up from.
  struct stat Stat(uint32_t i) const;

  // Reads up to `out.size()` bytes of file entry `i` at `offset`; *n is what was read (0 at or past the end).
  // Whole blocks inside the range are decompressed straight into `out`.
  Status Read(uint32_t i, uint64_t offset, std::span<std::byte> out, size_t* n) const;

  // .scnfs-backup.json: what a DBA asks of this point. Built on first use.
  const std::string& info() const;

  // Files open on this view. Its cursors (each a RocksDB iterator, a zstd context and the cache blocks its last
  // read pinned: about 1 MB) are kept for the next read while a file is open and freed with the last one: a view
  // kept for the kernel's dentries held one per thread that had read it, 668 MB for 180 points read once with 8
  // threads (found 2026-11-30).
  void FileOpened() const;
  void FileClosed() const;
  bool HasOpenFiles() const;

 private:
  class CursorLease;
  // Read's work on blocks: bytes [offset, end) of `f` into `out`.
  Status ReadBlocks(const FileRecord& f, uint64_t offset, uint64_t end, std::span<std::byte> out, CursorLease& cursor) const;
  void BuildTree();
  void BuildInfo() const;

  std::unique_ptr<PointReader> reader_;
  std::string what_;
  std::vector<FileRecord> files_;             // path order, without "."
  FileRecord root_;
  std::vector<std::vector<uint32_t>> children_;  // per entry (dirs only non-empty), by name
  std::vector<uint32_t> root_children_;
  std::vector<uint32_t> subdirs_;  // per entry, then one for the root: how many of its children are directories
  mutable std::once_flag info_once_;
  mutable std::string info_;

  // Cursors carry per-thread RocksDB iterators and zstd contexts: pooled, one per concurrent reader.
  mutable std::mutex pool_mu_;
  mutable std::vector<std::unique_ptr<PointReader::Cursor>> pool_;
  mutable size_t open_files_ = 0;  // guarded by pool_mu_
};

// Attributes of a file record (st_ino is left to the caller); a directory's link count is 2, PointView::Stat
// adds its subdirectories.
struct stat EntryStat(const FileRecord& r);

// The top directory's attributes as PointView(files of `base`).Stat(kRoot) gives them, from the top of the file set
// alone (Catalog::ListTopLevel): a stat of a point's directory (`ls -l backups/`) needs no tree, reader or pin.
struct stat PointRootStat(const BackupRecord& base, const Catalog::TopLevel& top);

}  // namespace scnfs
