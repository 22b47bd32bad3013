// What the readers of a point (restore, the mount, clones, verify) do with a store damaged below RocksDB's own
// checks: a content whose bytes changed, a lost version key, lost or misplaced catalog records. Each is an error
// naming the damage, never wrong bytes served with success (found 2026-12-01 by an attack on damaged stores).
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "catalog/catalog_keys.h"
#include "restore/point_reader.h"
#include "scnfs/backup.h"
#include "scnfs/catalog.h"
#include "scnfs/restore.h"
#include "scnfs/store.h"
#include "store/versions.h"
#include "temp_dir.h"

namespace scnfs {
namespace {
namespace fs = std::filesystem;

class DamagedStoreTest : public ::testing::Test {
 protected:
  // A raw database of one backup: d/inner (random bytes, so its blocks are stored uncompressed and a flipped byte
  // still decodes) and top.dat, 16 blocks each.
  void SetUp() override {
    src_ = tmp_ / "src";
    store_dir_ = tmp_ / "store";
    fs::create_directories(src_ + "/d");
    std::mt19937_64 rng(7);
    for (const char* name : {"/d/inner", "/top.dat"}) {
      std::string bytes(16 * 8192, '\0');
      for (auto& c : bytes) c = char(rng());
      std::ofstream(src_ + name, std::ios::binary) << bytes;
    }
    fs::create_symlink("top.dat", src_ + "/link");
    ASSERT_TRUE(Store::Create(store_dir_).ok());
    auto w = Store::Open(store_dir_, Store::Mode::kWriter);
    ASSERT_TRUE(w.ok());
    store_ = std::move(w).value();
    BackupOptions o;
    o.db = "raw";
    o.format = FormatId::kRaw;
    o.sources = {src_};
    ASSERT_TRUE(RunBackup(store_.get(), o).ok());
  }

  // Reads every block of every file of the latest point, one at a time and in runs; returns the first error of
  // each way.
  std::pair<Status, Status> ReadAll() {
    auto op = OpenPoint(store_.get(), "raw", "latest");
    if (!op.ok()) return {op.status(), op.status()};
    PointReader::Cursor c(*op->reader);
    std::vector<std::byte> buf(16 * 8192);
    std::vector<PointReader::Cursor::BlockRead> info;
    Status one, run;
    for (const auto& f : op->files) {
      if (f.type != "file") continue;
      for (uint64_t b = 0; b < f.blocks() && one.ok(); ++b) {
        size_t len = 0;
        one = c.Read(f, b, buf, &len);
      }
      if (run.ok()) run = c.ReadRun(f, 0, uint32_t(f.blocks()), buf, &info);
    }
    return {one, run};
  }

  Status Restore() {
    RestoreOptions o;
    o.db = "raw";
    o.dest = tmp_ / "restored";
    return RestorePoint(store_.get(), o).status();
  }

  testing::TempDir tmp_;
  std::string src_, store_dir_;
  std::unique_ptr<Store> store_;
};

TEST_F(DamagedStoreTest, AContentWhoseBytesChangedIsAnErrorNotWrongBytes) {
  ASSERT_TRUE(ReadAll().first.ok());
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(rocksdb::ReadOptions(), store_->content_cf()));
  for (it->SeekToFirst(); it->Valid() && !(it->value().size() == 8193 && it->value()[0] == 0); it->Next()) {
  }
  ASSERT_TRUE(it->Valid()) << "a block stored as it is (codec 0: random bytes do not compress)";
  std::string value = it->value().ToString();
  value[200] = char(value[200] ^ 0x10);
  ASSERT_TRUE(store_->db()->Put(rocksdb::WriteOptions(), store_->content_cf(), it->key(), value).ok());
  auto [one, run] = ReadAll();
  EXPECT_TRUE(one.code() == Status::Code::kCorruption) << one.ToString();
  EXPECT_NE(one.message().find("stored content does not match its hash"), std::string::npos) << one.ToString();
  EXPECT_TRUE(run.code() == Status::Code::kCorruption) << run.ToString();
  EXPECT_NE(run.message().find("stored content does not match its hash"), std::string::npos) << run.ToString();
  Status r = Restore();
  EXPECT_FALSE(r.ok());
  EXPECT_NE(r.message().find("does not match its hash"), std::string::npos) << r.ToString();
}

TEST_F(DamagedStoreTest, ABlockWhoseVersionWasLostIsAnErrorAtABackupsPoint) {
  std::unique_ptr<rocksdb::Iterator> it(store_->db()->NewIterator(rocksdb::ReadOptions(), store_->versions_cf()));
  int deleted = 0;
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (DecodeVersionKey(std::string_view(it->key().data(), it->key().size())).block != 5) continue;
    ASSERT_TRUE(store_->db()->Delete(rocksdb::WriteOptions(), store_->versions_cf(), it->key()).ok());
    ++deleted;
  }
  ASSERT_EQ(deleted, 2);  // block 5 of both files
  auto [one, run] = ReadAll();
  EXPECT_TRUE(one.code() == Status::Code::kCorruption) << one.ToString();
  EXPECT_NE(one.message().find("block 5: no stored version"), std::string::npos) << one.ToString();
  EXPECT_TRUE(run.code() == Status::Code::kCorruption) << run.ToString();
  EXPECT_NE(run.message().find("block 5: no stored version"), std::string::npos) << run.ToString();
  EXPECT_FALSE(Restore().ok());
}

TEST_F(DamagedStoreTest, ALostFileRecordIsAnErrorNotAFileLeftOut) {
  ASSERT_TRUE(store_->db()->Delete(rocksdb::WriteOptions(), store_->catalog_cf(), catalog_keys::File(1, 1, "top.dat")).ok());
  Catalog cat(store_.get());
  auto b = cat.GetBackup(1, 1);
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  auto files = cat.ListFiles(b.value());
  ASSERT_TRUE(files.status().code() == Status::Code::kCorruption) << files.status().ToString();
  EXPECT_NE(files.status().message().find("lists 1 files, 2 directories and 1 links, its record counts 2, 2 and 1"),
            std::string::npos)
      << files.status().ToString();
  Status r = Restore();
  EXPECT_TRUE(r.code() == Status::Code::kCorruption) << r.ToString();
}

TEST_F(DamagedStoreTest, ALostLinkRecordIsAnError) {
  ASSERT_TRUE(store_->db()->Delete(rocksdb::WriteOptions(), store_->catalog_cf(), catalog_keys::File(1, 1, "link")).ok());
  Catalog cat(store_.get());
  auto files = cat.ListFiles(cat.GetBackup(1, 1).value());
  ASSERT_TRUE(files.status().code() == Status::Code::kCorruption) << files.status().ToString();
  EXPECT_NE(files.status().message().find("2 directories and 0 links, its record counts 2, 2 and 1"), std::string::npos)
      << files.status().ToString();
}

// A record's size or block size changed: the first restored a short file, the second fetched other blocks' 8 KiB
// contents for 16 KiB blocks and padded them with zeros, both with success.
TEST_F(DamagedStoreTest, AFileRecordsSizeOrBlockSizeChangedIsAnError) {
  Catalog cat(store_.get());
  const BackupRecord b = cat.GetBackup(1, 1).value();
  FileRecord top;
  for (const auto& f : cat.ListFiles(1, 1).value())
    if (f.path == "top.dat") top = f;
  ASSERT_EQ(top.size, 16u * 8192);
  const auto put = [&](const FileRecord& f) {
    rocksdb::WriteBatch wb;
    Catalog::PutFile(&wb, store_.get(), 1, 1, f);
    ASSERT_TRUE(store_->Write(&wb, false).ok());
  };
  FileRecord smaller = top;
  smaller.size = 4 * 8192;
  put(smaller);
  auto files = cat.ListFiles(b);
  ASSERT_TRUE(files.status().code() == Status::Code::kCorruption) << files.status().ToString();
  EXPECT_NE(files.status().message().find("its files' sizes add up to 163840 bytes, its record says 262144"),
            std::string::npos) << files.status().ToString();
  FileRecord wider = top;
  wider.block_size = 16384;
  put(wider);
  auto [one, run] = ReadAll();
  EXPECT_TRUE(one.code() == Status::Code::kCorruption) << one.ToString();
  EXPECT_NE(one.message().find("top.dat block 0: stored content has 8192 bytes where the file has 16384"), std::string::npos)
      << one.ToString();
  EXPECT_TRUE(run.code() == Status::Code::kCorruption) << run.ToString();
}

TEST_F(DamagedStoreTest, ARecordUnderAnotherKeyOrUnderALinkIsAnError) {
  Catalog cat(store_.get());
  auto b = cat.GetBackup(1, 1);
  ASSERT_TRUE(b.ok());
  auto files = cat.ListFiles(b.value());
  ASSERT_TRUE(files.ok()) << files.status().ToString();
  // The directory d's record turned into a link's (a link to /etc would have had restore write through it).
  for (FileRecord f : files.value()) {
    if (f.path != "d") continue;
    f.type = "symlink";
    f.target = "/etc";
    rocksdb::WriteBatch wb;
    Catalog::PutFile(&wb, store_.get(), 1, 1, f);
    ASSERT_TRUE(store_->Write(&wb, false).ok());
  }
  auto under = cat.ListFiles(b.value());
  ASSERT_TRUE(under.status().code() == Status::Code::kCorruption) << under.status().ToString();
  EXPECT_NE(under.status().message().find("'d/inner' lies under 'd', which is no directory"), std::string::npos)
      << under.status().ToString();
  // A record under the key of another path.
  std::string top;
  ASSERT_TRUE(store_->GetCatalog(catalog_keys::File(1, 1, "top.dat"), &top).ok());
  ASSERT_TRUE(store_->db()->Put(rocksdb::WriteOptions(), store_->catalog_cf(), catalog_keys::File(1, 1, "zzz"), top).ok());
  auto moved = cat.ListFiles(1, 1);
  ASSERT_TRUE(moved.status().code() == Status::Code::kCorruption) << moved.status().ToString();
  EXPECT_NE(moved.status().message().find("it names 'top.dat' under the key of 'zzz'"), std::string::npos)
      << moved.status().ToString();
  // A backup record under another backup's key would serve that backup's files as this one's.
  std::string rec;
  ASSERT_TRUE(store_->GetCatalog(catalog_keys::Backup(1, 1), &rec).ok());
  ASSERT_TRUE(store_->db()->Put(rocksdb::WriteOptions(), store_->catalog_cf(), catalog_keys::Backup(1, 7), rec).ok());
  auto listed = cat.ListBackups(1);
  ASSERT_TRUE(listed.status().code() == Status::Code::kCorruption) << listed.status().ToString();
  EXPECT_TRUE(cat.GetBackup(1, 7).status().code() == Status::Code::kCorruption);
  EXPECT_TRUE(cat.NewestBackup(1).status().code() == Status::Code::kCorruption);
}

TEST_F(DamagedStoreTest, ADatabaseRecordUnderAnotherNameOrAnotherDatabasesIdIsAnError) {
  // A second database, then its record copied under the first one's key: a restore of "raw" would have written
  // "other"'s files under the name "raw".
  BackupOptions o;
  o.db = "other";
  o.format = FormatId::kRaw;
  o.sources = {src_ + "/d"};
  ASSERT_TRUE(RunBackup(store_.get(), o).ok());
  Catalog cat(store_.get());
  ASSERT_TRUE(cat.ListDatabases().ok());
  std::string raw, other;
  ASSERT_TRUE(store_->GetCatalog(catalog_keys::Database("raw"), &raw).ok());
  ASSERT_TRUE(store_->GetCatalog(catalog_keys::Database("other"), &other).ok());
  ASSERT_TRUE(store_->PutCatalog(catalog_keys::Database("raw"), other, false).ok());
  auto got = cat.GetDatabase("raw");
  ASSERT_TRUE(got.status().code() == Status::Code::kCorruption) << got.status().ToString();
  EXPECT_NE(got.status().message().find("database 'other' is under the key of 'raw'"), std::string::npos)
      << got.status().ToString();
  EXPECT_TRUE(cat.ListDatabases().status().code() == Status::Code::kCorruption);
  EXPECT_TRUE(Restore().code() == Status::Code::kCorruption);

  // Both names kept, but "raw"'s record now claims "other"'s id (its backups would be "other"'s).
  auto rec = nlohmann::json::parse(raw);
  rec["id"] = nlohmann::json::parse(other)["id"];
  ASSERT_TRUE(store_->PutCatalog(catalog_keys::Database("raw"), rec.dump(), false).ok());
  auto listed = cat.ListDatabases();
  ASSERT_TRUE(listed.status().code() == Status::Code::kCorruption) << listed.status().ToString();
  EXPECT_NE(listed.status().message().find("two databases claim id"), std::string::npos) << listed.status().ToString();
}

}  // namespace
}  // namespace scnfs
