// The clone's metadata database (STORE/clones/<name>/meta, one RocksDB per clone): inodes and directory entries.
//
// Keys (docs/clones.md):
//   "n"                          next inode number, u64 big-endian
//   "i" ino(u64 BE)              inode record, JSON (see CloneInode)
//   "d" parent(u64 BE) name      child inode, u64 BE
// Inode 1 is the clone's top directory.
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "scnfs/catalog.h"
#include "scnfs/status.h"

namespace rocksdb {
class DB;
class WriteBatch;
}  // namespace rocksdb

namespace scnfs {

inline constexpr uint64_t kCloneRootIno = 1;
inline constexpr uint32_t kCloneBlockSize = 8192;  // block size of files created in a clone

struct CloneInode {
  uint64_t ino = 0;
  uint32_t mode = 0;  // with the S_IF* type bits
  uint32_t uid = 0, gid = 0, nlink = 1;
  uint64_t size = 0;
  int64_t atime_ns = 0, mtime_ns = 0, ctime_ns = 0;
  std::string target;     // symlink target
  std::string base_path;  // the file in the point this inode started as ("" for files created in the clone)
  // Leading blocks that may still come from the base (blocks at or past it never do: the file was truncated below
  // them, or they were never in the base). A block below it comes from the delta once written.
  uint64_t base_blocks = 0;
  uint32_t block_size = kCloneBlockSize;
  struct stat Stat() const;
};

void to_json(nlohmann::json& j, const CloneInode& i);
void from_json(const nlohmann::json& j, CloneInode& i);

std::string CloneInodeKey(uint64_t ino);
std::string CloneDirentKey(uint64_t parent, std::string_view name);
std::string CloneDirentPrefix(uint64_t parent);
inline constexpr std::string_view kCloneNextInoKey = "n";

// The inode a point entry starts as.
CloneInode InodeFromRecord(const FileRecord& r, uint64_t ino);

// Opens (creating if asked) a clone's metadata database. The caller owns the pointer.
Result<std::unique_ptr<rocksdb::DB>> OpenCloneMeta(const std::string& dir, bool create);
// For reading a clone when its metadata cannot be opened for writing (a full disk: the open writes a new MANIFEST).
Result<std::unique_ptr<rocksdb::DB>> OpenCloneMetaReadOnly(const std::string& dir);
Status WriteCloneMeta(rocksdb::DB* db, rocksdb::WriteBatch* b, bool sync);

}  // namespace scnfs
