#include "clone/clone_meta.h"

#include <charconv>
#include <stdexcept>

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include <fmt/format.h>

#include "scnfs/store.h"
#include "store/rocks_status.h"
#include "util/clock.h"
#include "util/coding.h"
#include "util/json_text.h"

namespace scnfs {

namespace {

class QuietLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};
}  // namespace

struct stat CloneInode::Stat() const {
  struct stat st {};
  st.st_ino = ino;
  st.st_mode = mode;
  st.st_nlink = nlink;
  st.st_uid = uid;
  st.st_gid = gid;
  st.st_size = S_ISLNK(mode) ? off_t(target.size()) : off_t(size);
  st.st_blksize = block_size;
  st.st_blocks = blkcnt_t((size + 511) / 512);
  st.st_atim = TimespecFromNs(atime_ns);
  st.st_mtim = TimespecFromNs(mtime_ns);
  st.st_ctim = TimespecFromNs(ctime_ns);
  return st;
}

namespace {
// Paths and link targets are bytes: one that is not UTF-8 (which a JSON string cannot hold) is kept as
// "<key>_hex", so that it comes back exactly.
void PutBytes(nlohmann::json& j, const char* key, const std::string& v) {
  if (v.empty()) return;
  if (IsUtf8(v)) {
    j[key] = v;
    return;
  }
  std::string hex;
  for (unsigned char c : v) hex += fmt::format("{:02x}", c);
  j[std::string(key) + "_hex"] = hex;
}
std::string GetBytes(const nlohmann::json& j, const char* key) {
  if (auto it = j.find(std::string(key) + "_hex"); it != j.end()) {
    const std::string hex = it->get<std::string>();
    std::string v;
    for (size_t k = 0; k + 1 < hex.size(); k += 2) {
      unsigned byte = 0;
      std::from_chars(hex.data() + k, hex.data() + k + 2, byte, 16);
      v.push_back(char(byte));
    }
    return v;
  }
  return j.value(key, "");
}
}  // namespace

void to_json(nlohmann::json& j, const CloneInode& i) {
  j = {{"ino", i.ino},         {"mode", i.mode},     {"uid", i.uid},       {"gid", i.gid},
       {"nlink", i.nlink},     {"size", i.size},     {"atime_ns", i.atime_ns}, {"mtime_ns", i.mtime_ns},
       {"ctime_ns", i.ctime_ns}, {"block_size", i.block_size}, {"base_blocks", i.base_blocks}};
  PutBytes(j, "target", i.target);
  PutBytes(j, "base_path", i.base_path);
}

void from_json(const nlohmann::json& j, CloneInode& i) {
  i.ino = j.at("ino");
  i.mode = j.at("mode");
  i.uid = j.at("uid");
  i.gid = j.at("gid");
  i.nlink = j.at("nlink");
  i.size = j.at("size");
  i.atime_ns = j.at("atime_ns");
  i.mtime_ns = j.at("mtime_ns");
  i.ctime_ns = j.at("ctime_ns");
  i.block_size = j.at("block_size");
  // Every block size a backup can have (raw: 512 B to 1 MiB). 0 was a division by zero at the first read of the
  // file, which killed the mount and every clone and backup it served (found 2026-12-02, damaged metadata).
  if (i.block_size < 512 || i.block_size > (1u << 20))
    throw std::invalid_argument(fmt::format("inode {} has block size {}", i.ino, i.block_size));
  i.base_blocks = j.at("base_blocks");
  i.target = GetBytes(j, "target");
  i.base_path = GetBytes(j, "base_path");
}

std::string CloneInodeKey(uint64_t ino) {
  std::string k = "i";
  PutBE64(&k, ino);
  return k;
}

std::string CloneDirentPrefix(uint64_t parent) {
  std::string k = "d";
  PutBE64(&k, parent);
  return k;
}

std::string CloneDirentKey(uint64_t parent, std::string_view name) { return CloneDirentPrefix(parent) + std::string(name); }

CloneInode InodeFromRecord(const FileRecord& r, uint64_t ino) {
  CloneInode i;
  i.ino = ino;
  uint32_t type = r.type == "dir" ? S_IFDIR : r.type == "symlink" ? S_IFLNK : S_IFREG;
  i.mode = type | (r.mode & 07777);
  i.uid = r.uid;
  i.gid = r.gid;
  i.nlink = r.type == "dir" ? 2 : 1;
  i.atime_ns = r.atime_ns;
  i.mtime_ns = r.mtime_ns;
  i.ctime_ns = r.ctime_ns;
  i.target = r.target;
  if (r.type == "file") {
    i.size = r.size;
    i.block_size = r.block_size ? r.block_size : kCloneBlockSize;
    i.base_path = r.path;
    i.base_blocks = r.blocks();
  }
  return i;
}

Result<std::unique_ptr<rocksdb::DB>> OpenCloneMeta(const std::string& dir, bool create) {
  rocksdb::Options o;
  o.create_if_missing = create;
  o.error_if_exists = create;
  o.info_log = std::make_shared<QuietLogger>();
  o.max_background_jobs = 1;
  o.keep_log_file_num = 2;
  o.write_buffer_size = 4u << 20;
  rocksdb::DB* db = nullptr;
  auto st = rocksdb::DB::Open(o, dir, &db);
  if (!st.ok()) return FromRocksStatus(st, fmt::format("cannot open clone metadata {}", dir));
  return std::unique_ptr<rocksdb::DB>(db);
}

Result<std::unique_ptr<rocksdb::DB>> OpenCloneMetaReadOnly(const std::string& dir) {
  rocksdb::Options o;
  o.info_log = std::make_shared<QuietLogger>();
  rocksdb::DB* db = nullptr;
  auto st = rocksdb::DB::OpenForReadOnly(o, dir, &db);
  if (!st.ok()) return FromRocksStatus(st, fmt::format("cannot open clone metadata {}", dir));
  return std::unique_ptr<rocksdb::DB>(db);
}

Status WriteCloneMeta(rocksdb::DB* db, rocksdb::WriteBatch* b, bool sync) {
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  return FromRocksStatus(db->Write(wo, b), "writing clone metadata");
}

}  // namespace scnfs
