// Seals: the check that a reader (and the writer) sees every commit the store made (docs/store-format.md, "Seals").
//
// A RocksDB secondary instance that cannot open a table file (missing, truncated, a damaged footer) does not fail:
// it quietly serves that column family as it was before the file was added (RocksDB 7.8, point-in-time recovery
// of the MANIFEST). A damaged versions table then made `restore --at latest` write the previous backup's blocks
// with exit 0, and `verify` called it clean. A MANIFEST cut at a record boundary does the same to the primary.
// Neither can be seen from inside RocksDB, so every commit leaves its number in each column family it relies on,
// in the table file that commit flushed, and in DIR/sealed outside RocksDB; a rollback loses the number.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "scnfs/store.h"
#include "store/rocks_status.h"
#include "util/coding.h"
#include "util/durable_file.h"

namespace scnfs {
namespace fs = std::filesystem;
namespace {

constexpr char kSealFile[] = "sealed";
// In `versions` a key of one zero byte sorts before every 24-byte version key (of database 0 too), so a scan that
// steps back past a database's first key meets it as it would meet any other prefix: and stops.
const rocksdb::Slice kDataSealKey("\0", 1);
const rocksdb::Slice kCatalogSealKey("seal");

std::string EncodeSeal(uint64_t n) {
  std::string v;
  PutBE64(&v, n);
  return v;
}

// 0 when absent (a store made before seals, or no backup committed since).
Result<uint64_t> GetSeal(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const rocksdb::Slice& key, const char* what) {
  std::string v;
  rocksdb::Status st = db->Get(rocksdb::ReadOptions(), cf, key, &v);
  if (st.IsNotFound()) return uint64_t{0};
  if (!st.ok()) return FromRocksStatus(st, fmt::format("reading the seal of the store's {}", what));
  if (v.size() != 8) return Status::Corruption(fmt::format("the seal of the store's {} is damaged", what));
  return GetBE64(v.data());
}

// A flush the caller waits for, also while writes are stalled (its own data is what it flushes).
rocksdb::FlushOptions WaitingFlush() {
  rocksdb::FlushOptions fo;
  fo.wait = true;
  fo.allow_write_stall = true;
  return fo;
}

}  // namespace

Result<uint64_t> Store::ReadSealFile() const {
  const fs::path path = fs::path(dir_) / kSealFile;
  std::ifstream in(path);
  if (!in) {
    std::error_code ec;
    if (!fs::exists(path, ec)) return uint64_t{0};  // no commit made with seals yet
    return Status::IOError(fmt::format("cannot read {}", path.string()));
  }
  std::string word, rest;
  uint64_t n = 0;
  if (!(in >> word >> n) || word != "commit" || (in >> rest))
    return Status::Corruption(fmt::format("{} is damaged (it should read 'commit N')", path.string()));
  return n;
}

Status Store::CheckSeals(rocksdb::DB* catalog_db, rocksdb::ColumnFamilyHandle* catalog_cf, uint64_t recorded) {
  const auto d = data();
  return CheckSealsOf(catalog_db, catalog_cf, d->db, d->versions, d->content, recorded);
}

Status Store::CheckSealsOf(rocksdb::DB* catalog_db, rocksdb::ColumnFamilyHandle* catalog_cf, rocksdb::DB* data_db,
                           rocksdb::ColumnFamilyHandle* versions_cf, rocksdb::ColumnFamilyHandle* content_cf,
                           uint64_t recorded) {
  SCNFS_ASSIGN_OR_RETURN(uint64_t catalog, GetSeal(catalog_db, catalog_cf, kCatalogSealKey, "catalog"));
  SCNFS_ASSIGN_OR_RETURN(uint64_t versions, GetSeal(data_db, versions_cf, kDataSealKey, "block versions"));
  SCNFS_ASSIGN_OR_RETURN(uint64_t contents, GetSeal(data_db, content_cf, kDataSealKey, "block contents"));
  seal_ = std::max({seal_, catalog, versions, contents, recorded});
  const std::string where = (fs::path(dir_) / "db").string();
  if (catalog < recorded)
    return Status::Corruption(fmt::format(
        "store {} is damaged: its catalog ends at commit {}, but commit {} was made ({}/{}): a table file or the "
        "MANIFEST in {} is missing or damaged, and the newest backups are not visible; the store must not be written",
        dir_, catalog, recorded, dir_, kSealFile, where));
  for (auto [seal, what] : {std::pair{versions, "block versions"}, std::pair{contents, "block contents"}})
    if (seal < catalog)
      return Status::Corruption(fmt::format(
          "store {} is damaged: its {} end at commit {}, but its catalog records commit {}: a table file in {} is "
          "missing or damaged, and the newest backups would read older blocks",
          dir_, what, seal, catalog, where));
  return Status::OK();
}

Status Store::CheckSealsAtOpen(uint64_t recorded) {
  if (mode_ == Mode::kWriter) return CheckSeals(db_, catalog_cf_, recorded);  // as checked before the open, still
  // A reader's one catch-up can read the MANIFEST just before the writer's data flush and its WAL just after the
  // commit that follows it: data seals one behind the catalog's, with nothing damaged. Another catch-up sees the
  // flush; a damaged file stays damaged.
  Status st;
  for (int attempt = 0; attempt < 3; ++attempt) {
    st = CheckSealsWithCatalogView(recorded);
    if (st.ok() || st.code() != Status::Code::kCorruption) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * (attempt + 1)));
    SCNFS_RETURN_IF_ERROR(FromRocksStatus(db_->TryCatchUpWithPrimary(), "catching up with the store's writer"));
  }
  return st;
}

Status Store::FlushData() {
  if (mode_ != Mode::kWriter) return Status::ReadOnly("store opened for reading");
  if (write_failed_) return Status::IOError("an earlier write to the store failed");
  // The seal of the commit that follows goes into the table files this flush writes (no WAL, like the data).
  rocksdb::WriteBatch seal;
  const std::string n = EncodeSeal(seal_ + 1);
  seal.Put(versions_cf_, kDataSealKey, n);
  seal.Put(content_cf_, kDataSealKey, n);
  SCNFS_RETURN_IF_ERROR(WriteUnlogged(&seal));
  Status st = FromRocksStatus(db_->Flush(WaitingFlush(), {content_cf_, versions_cf_}), "flushing backup data to the store");
  if (!st.ok()) {
    write_failed_ = true;
    return st;
  }
  data_sealed_ = seal_ + 1;
  return Status::OK();
}

Status Store::Commit(rocksdb::WriteBatch* batch) {
  if (mode_ != Mode::kWriter) return Status::ReadOnly("store opened for reading");
  if (data_sealed_ != seal_ + 1) return Status::InvalidArgument("a commit needs FlushData() first");
  const uint64_t n = data_sealed_;
  batch->Put(catalog_cf_, kCatalogSealKey, EncodeSeal(n));
  SCNFS_RETURN_IF_ERROR(Write(batch, /*sync=*/true));
  seal_ = n;
  // Committed. The catalog's seal now goes into a table file of its own (so that a damaged older one loses it),
  // then into DIR/sealed. Either can fail on a full disk without harm to the commit: the check is then as of the
  // previous commit until the next one.
  if (!db_->Flush(WaitingFlush(), catalog_cf_).ok()) {
    write_failed_ = true;  // RocksDB holds a background error now: leave it as a crash would (see write_failed_)
    return Status::OK();
  }
  (void)WriteFileDurably((fs::path(dir_) / kSealFile).string(), fmt::format("commit {}\n", n));
  return Status::OK();
}

}  // namespace scnfs
