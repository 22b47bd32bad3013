// Seals: a store that lost a commit to a table file it cannot read, or to a MANIFEST that lost records, is refused
// by readers and by the writer. Without them, a RocksDB secondary rolls the column family back to before the file,
// without an error: the newest backup was restored with the previous backup's blocks, exit 0.
#include <filesystem>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/metadata.h>
#include <rocksdb/write_batch.h>

#include "scnfs/store.h"
#include "store/versions.h"
#include "temp_dir.h"

namespace scnfs {
namespace {
namespace fs = std::filesystem;

class StoreSealTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(Store::Create(dir_).ok()); }

  // One backup's worth of writes: a version, a content and a catalog record, committed as a backup commits. Returns
  // the table files the commit added, by column family.
  std::map<std::string, std::vector<std::string>> Commit(int n) {
    auto s = Store::Open(dir_, Store::Mode::kWriter);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    if (!s.ok()) return {};
    return CommitOn(*s.value(), n);
  }
  static std::map<std::string, std::vector<std::string>> CommitOn(Store& w, int n) {
    const auto before = Tables(w);
    rocksdb::WriteBatch data;
    const std::string key(24, char('a' + n));
    data.Put(w.versions_cf(), key, "v" + std::to_string(n));
    data.Put(w.content_cf(), std::string(16, char('a' + n)), "c" + std::to_string(n));
    EXPECT_TRUE(w.WriteUnlogged(&data).ok());
    EXPECT_TRUE(w.FlushData().ok());
    rocksdb::WriteBatch commit;
    commit.Put(w.catalog_cf(), "backup/" + std::to_string(n), "complete");
    EXPECT_TRUE(w.Commit(&commit).ok());
    std::map<std::string, std::vector<std::string>> added;
    for (const auto& [cf, files] : Tables(w))
      for (const auto& f : files)
        if (!before.count(cf) || !std::count(before.at(cf).begin(), before.at(cf).end(), f)) added[cf].push_back(f);
    return added;
  }
  static std::map<std::string, std::vector<std::string>> Tables(Store& s) {
    std::vector<rocksdb::LiveFileMetaData> live;
    s.db()->GetLiveFilesMetaData(&live);
    std::map<std::string, std::vector<std::string>> out;
    for (const auto& f : live) out[f.column_family_name].push_back(f.db_path + f.name);
    return out;
  }
  Status OpenStatus(Store::Mode mode) {
    auto s = Store::Open(dir_, mode);
    return s.ok() ? Status::OK() : s.status();
  }

  testing::TempDir root_;
  const std::string dir_ = root_ / "store";
};

TEST_F(StoreSealTest, ASoundStoreOpensAfterEveryCommit) {
  for (int n = 1; n <= 3; ++n) {
    Commit(n);
    EXPECT_TRUE(OpenStatus(Store::Mode::kReader).ok());
    EXPECT_TRUE(OpenStatus(Store::Mode::kWriter).ok());
  }
  std::ifstream sealed(dir_ + "/sealed");
  std::string line;
  std::getline(sealed, line);
  EXPECT_EQ(line, "commit 3");
}

TEST_F(StoreSealTest, AVersionsTableThatCannotBeReadIsRefusedNotRolledBack) {
  Commit(1);
  auto added = Commit(2);
  ASSERT_EQ(added["versions"].size(), 1u);
  fs::resize_file(added["versions"][0], fs::file_size(added["versions"][0]) / 2);  // its footer is gone
  Status r = OpenStatus(Store::Mode::kReader);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.code(), Status::Code::kCorruption) << r.ToString();
  EXPECT_NE(r.message().find("block versions end at commit 1, but its catalog records commit 2"), std::string::npos)
      << r.ToString();
  EXPECT_FALSE(OpenStatus(Store::Mode::kWriter).ok());  // RocksDB's own open fails on the file
}

TEST_F(StoreSealTest, AMissingContentTableIsRefused) {
  Commit(1);
  auto added = Commit(2);
  ASSERT_EQ(added["content"].size(), 1u);
  fs::remove(added["content"][0]);
  Status r = OpenStatus(Store::Mode::kReader);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("block contents end at commit 1"), std::string::npos) << r.ToString();
}

TEST_F(StoreSealTest, ACatalogThatLostACommitIsRefusedByReadersAndTheWriter) {
  Commit(1);
  auto added = Commit(2);
  ASSERT_FALSE(added["catalog"].empty());
  // As a MANIFEST that lost its last records: the whole store as of commit 1, and DIR/sealed says 2.
  const std::string saved = root_ / "sealed-2";
  fs::copy_file(dir_ + "/sealed", saved);
  fs::remove_all(dir_);
  ASSERT_TRUE(Store::Create(dir_).ok());
  Commit(1);
  fs::copy_file(saved, dir_ + "/sealed", fs::copy_options::overwrite_existing);
  for (auto mode : {Store::Mode::kReader, Store::Mode::kWriter}) {
    Status r = OpenStatus(mode);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.code(), Status::Code::kCorruption) << r.ToString();
    EXPECT_NE(r.message().find("catalog ends at commit 1, but commit 2 was made"), std::string::npos) << r.ToString();
  }
}

TEST_F(StoreSealTest, ALongLivedReaderRefusesARefreshOntoADamagedStore) {
  Commit(1);
  auto reader = Store::Open(dir_, Store::Mode::kReader);
  ASSERT_TRUE(reader.ok());
  auto added = Commit(2);
  ASSERT_EQ(added["versions"].size(), 1u);
  fs::resize_file(added["versions"][0], fs::file_size(added["versions"][0]) / 2);
  Status r = reader.value()->Refresh();
  EXPECT_EQ(r.code(), Status::Code::kCorruption) << r.ToString();
}

TEST_F(StoreSealTest, ADamagedSealFileIsNamed) {
  Commit(1);
  std::ofstream(dir_ + "/sealed") << "commit two\n";
  Status r = OpenStatus(Store::Mode::kReader);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("sealed is damaged"), std::string::npos) << r.ToString();
}

TEST_F(StoreSealTest, TheWriterRefusesAStoreWhoseManifestLostACommitAndDeletesNothing) {
  // A MANIFEST cut at a record boundary: RocksDB's primary open recovers the shorter history without a word and
  // deletes the table files it no longer lists, so the check must come before that open.
  Commit(1);
  std::string manifest;
  uint64_t cut = 0;
  std::vector<std::string> second;
  {
    auto w = Store::Open(dir_, Store::Mode::kWriter);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    CommitOn(*w.value(), 2);
    for (const auto& e : fs::directory_iterator(dir_ + "/db"))
      if (e.path().filename().string().rfind("MANIFEST-", 0) == 0) manifest = e.path().string();
    cut = fs::file_size(manifest);
    for (const auto& [cf, files] : CommitOn(*w.value(), 3)) second.insert(second.end(), files.begin(), files.end());
  }
  ASSERT_FALSE(second.empty());
  fs::resize_file(manifest, cut);  // commit 3's records are gone; its table files are still there
  Status r = OpenStatus(Store::Mode::kWriter);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.message().find("catalog ends at commit 2, but commit 3 was made"), std::string::npos) << r.ToString();
  for (const auto& f : second) EXPECT_TRUE(fs::exists(f)) << f << " was deleted by the refused open";
  EXPECT_FALSE(OpenStatus(Store::Mode::kReader).ok());
}

TEST_F(StoreSealTest, AReaderRecoversFromEveryFailedCatchUpAndKeepsOneInstanceOpen) {
  // A reader whose catch-up failed (a table file unreadable for a moment) opens the data anew. Each replaced
  // instance stayed open until the Store closed, at most 16 of them: the 17th failure of a long-lived mount needed a
  // remount (2026-12-01). They now close when the last reader lets go of them.
  Commit(1);
  const std::string tmp = root_ / "tmp";  // where the reader keeps its secondaries' directories
  fs::create_directories(tmp);
  struct TmpDirFor {  // set for this test alone, also when an assertion ends it early
    std::optional<std::string> was;
    explicit TmpDirFor(const std::string& dir) {
      if (const char* t = std::getenv("TMPDIR")) was = t;
      ::setenv("TMPDIR", dir.c_str(), 1);
    }
    ~TmpDirFor() { was ? (void)::setenv("TMPDIR", was->c_str(), 1) : (void)::unsetenv("TMPDIR"); }
  } tmpdir(tmp);
  StoreOptions o;
  o.reopen_interval = std::chrono::milliseconds(0);
  auto opened = Store::Open(dir_, Store::Mode::kReader, o);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Store& reader = *opened.value();
  auto writer = Store::Open(dir_, Store::Mode::kWriter);
  ASSERT_TRUE(writer.ok()) << writer.status().ToString();
  // No compaction may take a table file this test moves away into one it does not.
  ASSERT_TRUE(writer.value()->SetAutoCompactions(false).ok());
  const uint64_t open_before = Store::OpenReplacedInstances();
  const auto value_of = [&](int n, const char* family) {
    const auto d = reader.data();
    std::string v;
    auto st = d->db->Get(rocksdb::ReadOptions(), family[0] == 'v' ? d->versions : d->content,
                         family[0] == 'v' ? std::string(24, char('a' + n)) : std::string(16, char('a' + n)), &v);
    return st.ok() ? v : st.ToString();
  };
  std::shared_ptr<const Store::Data> held;  // a reader still inside the instance of round 5
  Visibility vis;
  std::optional<VersionReader> versions;
  const int rounds = 20;
  for (int n = 2; n < 2 + rounds; ++n) {
    std::vector<std::string> moved;
    for (const auto& [cf, files] : CommitOn(*writer.value(), n))
      if (cf != "catalog") moved.insert(moved.end(), files.begin(), files.end());
    ASSERT_FALSE(moved.empty());
    std::error_code ec;
    for (const auto& f : moved) fs::rename(f, f + ".away", ec);
    ASSERT_FALSE(ec) << ec.message();
    EXPECT_FALSE(reader.Refresh().ok()) << "round " << n;
    for (const auto& f : moved) fs::rename(f + ".away", f, ec);
    ASSERT_FALSE(ec) << ec.message();
    Status st = reader.Refresh();
    ASSERT_TRUE(st.ok()) << "round " << n << ": " << st.ToString();
    EXPECT_EQ(value_of(n, "versions"), "v" + std::to_string(n));
    EXPECT_EQ(value_of(n, "content"), "c" + std::to_string(n));
    if (n == 5) held = reader.data();
    if (n == 8) versions.emplace(reader, 1, vis);  // a long-lived version reader on the instance of round 8
    // The current instance, and the ones still held.
    EXPECT_LE(Store::OpenReplacedInstances() - open_before, n >= 8 ? 3u : n >= 5 ? 2u : 1u) << "round " << n;
  }
  EXPECT_EQ(reader.data_replacements(), uint64_t(rounds));
  std::string v;
  ASSERT_TRUE(held->db->Get(rocksdb::ReadOptions(), held->versions, std::string(24, 'f'), &v).ok());
  EXPECT_EQ(v, "v5");  // the held instance still reads
  held.reset();
  EXPECT_EQ(Store::OpenReplacedInstances() - open_before, 2u);
  // A reader kept for long (a mount's pooled cursor) sees that its instance was replaced, and lets go of it.
  ASSERT_TRUE(versions->OnReplacedInstance());
  versions->Refresh();
  EXPECT_FALSE(versions->OnReplacedInstance());
  EXPECT_EQ(Store::OpenReplacedInstances() - open_before, 1u);
  size_t dirs = 0;  // each replaced instance's secondary directory went with it
  for (const auto& e : fs::directory_iterator(tmp))
    for (const auto& d : fs::directory_iterator(e.path()))
      if (d.path().filename().string().rfind("data-", 0) == 0) ++dirs;
  EXPECT_EQ(dirs, 1u);
  versions.reset();
  opened.value().reset();
  EXPECT_EQ(Store::OpenReplacedInstances(), open_before);
}

}  // namespace
}  // namespace scnfs
