// Readers open the store's table files as their lookups need them, a bounded number at a time: a reader's start,
// its descriptors and its memory must not grow with the store (issue 3: "ready at once, whatever the store holds").
// A table file the writer's compaction deletes before a reader opened it is then met by the reader's lookup; the
// reader catches up and reads again (Store::CatchUpAfterLostTable).
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "scnfs/backup.h"
#include "scnfs/restore.h"
#include "scnfs/store.h"
#include "temp_dir.h"

namespace scnfs {
namespace {
namespace fs = std::filesystem;

constexpr int kFiles = 6;
constexpr size_t kFileBytes = 1 << 20;
// Table files a reader opened with reader_open_tables = 40 may hold: RocksDB's cache of 30 (the bound less 10 for
// its other files), the few it pinned at the start (a quarter of the cache per column family, 4 families), and
// the catalog's own instance, which keeps all of its few.
constexpr int kBound = 40 + 4 * 7 + 8;

std::string RandomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s(n, '\0');
  for (auto& c : s) c = char(rng());
  return s;
}

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The store's table files this process holds open.
int OpenTableFiles(const std::string& store) {
  int n = 0;
  for (const auto& e : fs::directory_iterator("/proc/self/fd")) {
    std::error_code ec;
    const fs::path target = fs::read_symlink(e.path(), ec);
    if (!ec && target.extension() == ".sst" && target.string().rfind(store, 0) == 0) ++n;
  }
  return n;
}

int TableFiles(const std::string& store) {
  int n = 0;
  for (const auto& e : fs::directory_iterator(store + "/db")) n += e.path().extension() == ".sst";
  return n;
}

class ReaderTableFiles : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Store::Create(store_).ok()); }

  // Backup number `n` of new random files (every content new, so that each backup's flush adds level-0 files and
  // every fourth compacts them into level 1, rewriting its small table files).
  void Backup(uint32_t n) {
    fs::remove_all(src_);
    fs::create_directories(src_);
    for (int i = 0; i < kFiles; ++i)
      std::ofstream(src_ + "/f" + std::to_string(i), std::ios::binary) << RandomBytes(kFileBytes, n * 100 + i);
    StoreOptions so;
    so.table_file_bytes = 64 << 10;
    auto w = Store::Open(store_, Store::Mode::kWriter, so);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    BackupOptions o;
    o.db = "raw";
    o.format = FormatId::kRaw;
    o.sources = {src_};
    auto r = RunBackup(w.value().get(), o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }

  // Restores backup `n` through `reader` and compares it with what that backup read.
  void ExpectRestores(Store* reader, uint32_t n) {
    RestoreOptions o;
    o.db = "raw";
    o.at = "backup:" + std::to_string(n);
    o.dest = tmp_ / ("r" + std::to_string(n));
    auto r = RestorePoint(reader, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (int i = 0; i < kFiles; ++i)
      ASSERT_EQ(ReadAll(o.dest + "/f" + std::to_string(i)), RandomBytes(kFileBytes, n * 100 + i)) << "backup " << n << " f" << i;
  }

  testing::TempDir tmp_;
  std::string store_ = tmp_ / "store";
  std::string src_ = tmp_ / "src";
};

TEST_F(ReaderTableFiles, AReaderKeepsABoundedNumberOfTableFilesOpen) {
  for (uint32_t n = 1; n <= 4; ++n) Backup(n);
  const int tables = TableFiles(store_);
  ASSERT_GT(tables, 150) << "the test needs a store of many table files";
  StoreOptions so;
  so.reader_open_tables = 40;
  auto reader = Store::Open(store_, Store::Mode::kReader, so);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  // RocksDB keeps up to the bound open, and besides it those it opened at the start (at most 16 per column
  // family, and a quarter of the bound), which it pins.
  EXPECT_LE(OpenTableFiles(store_), kBound) << "of " << tables;
  // Reading every block of a backup opens the files that hold them, and closes the least recently used.
  for (uint32_t n = 1; n <= 4; ++n) ExpectRestores(reader.value().get(), n);
  EXPECT_LE(OpenTableFiles(store_), kBound) << "of " << tables;
  EXPECT_EQ(reader.value()->lost_table_catch_ups(), 0u) << "no writer ran: nothing was lost";
}

TEST_F(ReaderTableFiles, AReaderCatchesUpWhenTheWriterDeletedATableFileItHadNotOpened) {
  for (uint32_t n = 1; n <= 4; ++n) Backup(n);
  StoreOptions so;
  so.reader_open_tables = 40;
  auto reader = Store::Open(store_, Store::Mode::kReader, so);
  ASSERT_TRUE(reader.ok()) << reader.status().ToString();
  // Four more backups: their level-0 files compact into level 1, whose table files are all rewritten (content
  // keys are hashes, so every level-0 file overlaps all of level 1) and the old ones deleted.
  const auto before = fs::directory_iterator(store_ + "/db");
  std::set<std::string> old;
  for (const auto& e : before) old.insert(e.path().filename());
  for (uint32_t n = 5; n <= 8; ++n) Backup(n);
  int deleted = 0;
  for (const auto& f : old) deleted += fs::path(f).extension() == ".sst" && !fs::exists(store_ + "/db/" + f);
  ASSERT_GT(deleted, 100) << "the writer must have deleted table files the reader still lists";
  // Backups 1-4 are what the reader sees; their blocks now lie in files it has never heard of.
  for (uint32_t n = 1; n <= 4; ++n) ExpectRestores(reader.value().get(), n);
  EXPECT_GT(reader.value()->lost_table_catch_ups(), 0u);
  EXPECT_LE(OpenTableFiles(store_), kBound);
}

}  // namespace
}  // namespace scnfs
