// Store::WaitForCompactions: after it returns, RocksDB has nothing to compact, so the next writer of the store
// starts with no compaction debt (a backup calls it after its commit); and it returns when RocksDB reports debt
// it will not work on.
#include <chrono>
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "scnfs/store.h"
#include "temp_dir.h"

namespace scnfs {
namespace {

class StoreCompaction : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = root_ / "store";
    ASSERT_TRUE(Store::Create(dir_).ok());
    auto s = Store::Open(dir_, Store::Mode::kWriter);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
  }

  // `files` flushes of `keys` 1 KiB values each: that many level-0 files of keys spread over the key space, as
  // content hashes are.
  void WriteLevel0Files(int files, int keys) {
    const std::string value(1024, 'x');
    for (int f = 0; f < files; ++f) {
      rocksdb::WriteBatch b;
      for (int i = 0; i < keys; ++i, ++next_key_) {
        const uint64_t k = next_key_ * 0x9E3779B97F4A7C15ULL;
        b.Put(store_->content_cf(), rocksdb::Slice(reinterpret_cast<const char*>(&k), sizeof k), value);
      }
      ASSERT_TRUE(store_->WriteUnlogged(&b).ok());
      ASSERT_TRUE(store_->FlushData().ok());
    }
  }
  uint64_t IntProperty(const std::string& name) {
    uint64_t v = 0;
    EXPECT_TRUE(store_->db()->GetIntProperty(store_->content_cf(), name, &v)) << name;
    return v;
  }
  // "num-files-at-level<N>" is a string property, not an integer one.
  uint64_t Level0Files() {
    std::string v;
    EXPECT_TRUE(store_->db()->GetProperty(store_->content_cf(), "rocksdb.num-files-at-level0", &v));
    return std::stoull(v.empty() ? "0" : v);
  }

  int Level0Trigger() { return store_->db()->GetOptions(store_->content_cf()).level0_file_num_compaction_trigger; }

  testing::TempDir root_;  // outlives store_ (members die in reverse order)
  std::string dir_;
  std::unique_ptr<Store> store_;
  uint64_t next_key_ = 0;
};

TEST_F(StoreCompaction, WaitLeavesNoPendingCompactionAndFewLevel0Files) {
  const int trigger = Level0Trigger();
  WriteLevel0Files(2 * trigger, 1024);
  ASSERT_TRUE(store_->WaitForCompactions().ok());
  EXPECT_EQ(IntProperty("rocksdb.compaction-pending"), 0u);
  EXPECT_EQ(IntProperty("rocksdb.num-running-compactions"), 0u);
  EXPECT_LT(Level0Files(), uint64_t(trigger));
  EXPECT_GT(IntProperty("rocksdb.estimate-num-keys"), 0u);

  // Cancelled at once while there is work: Aborted, and the store stays usable.
  WriteLevel0Files(trigger + 2, 1024);
  Status c = store_->WaitForCompactions([] { return true; });
  if (!c.ok()) {
    EXPECT_EQ(c.code(), Status::Code::kAborted) << c.ToString();
  }
  ASSERT_TRUE(store_->WaitForCompactions().ok());
  EXPECT_LT(Level0Files(), uint64_t(trigger));

  // Everything written is still there after reopening.
  store_.reset();
  auto r = Store::Open(dir_, Store::Mode::kReader);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string v;
  const uint64_t k = 5 * 0x9E3779B97F4A7C15ULL;
  EXPECT_TRUE(r.value()->db()->Get(rocksdb::ReadOptions(), r.value()->content_cf(),
                                   rocksdb::Slice(reinterpret_cast<const char*>(&k), sizeof k), &v).ok());
  EXPECT_EQ(v.size(), 1024u);
}

// Content keys are hashes, so every level-0 file overlaps all of level 1 and every level-0 compaction rewrites
// level 1 whole. The content family therefore flushes memtables twice RocksDB's default size and compacts them into
// a level 1 sized to take a whole level 0: a 2 GiB full backup writes its 750 MB of content 1.25 GB, not 2.0 GB.
TEST_F(StoreCompaction, ContentCompactsLargeMemtablesIntoALevelOneSizedForThem) {
  const rocksdb::Options o = store_->db()->GetOptions(store_->content_cf());
  EXPECT_EQ(o.write_buffer_size, size_t(128) << 20);
  EXPECT_EQ(o.max_bytes_for_level_base, uint64_t(o.level0_file_num_compaction_trigger) * o.write_buffer_size);
  EXPECT_LE(o.level0_file_num_compaction_trigger, 4);  // each level-0 file is one more probe per content read
  EXPECT_GT(o.level0_slowdown_writes_trigger, o.level0_file_num_compaction_trigger);  // no stall before a compaction

  // Below the trigger the flushes stay in level 0 with nothing compacted; at the trigger one compaction takes all.
  const int trigger = o.level0_file_num_compaction_trigger;
  WriteLevel0Files(trigger - 1, 256);
  ASSERT_TRUE(store_->WaitForCompactions().ok());
  EXPECT_EQ(Level0Files(), uint64_t(trigger - 1));
  std::string l1;
  ASSERT_TRUE(store_->db()->GetProperty(store_->content_cf(), "rocksdb.num-files-at-level1", &l1));
  EXPECT_EQ(l1, "0");
  WriteLevel0Files(1, 256);
  ASSERT_TRUE(store_->WaitForCompactions().ok());
  EXPECT_EQ(Level0Files(), 0u);
  ASSERT_TRUE(store_->db()->GetProperty(store_->content_cf(), "rocksdb.num-files-at-level1", &l1));
  EXPECT_NE(l1, "0");
}

// RocksDB can report compaction debt and schedule nothing for it (here: automatic compactions switched off). The
// wait must then end instead of polling forever, which would hang every backup at its end.
TEST_F(StoreCompaction, WaitEndsWhenRocksDbSchedulesNothing) {
  ASSERT_TRUE(store_->db()->SetOptions(store_->content_cf(), {{"disable_auto_compactions", "true"}}).ok());
  const uint64_t files = Level0Trigger() + 4;
  WriteLevel0Files(files, 256);
  EXPECT_EQ(IntProperty("rocksdb.compaction-pending"), 1u);  // the debt is there, and stays
  // A deadline through the cancel hook: a wait that would poll forever comes back Aborted after 10 s instead.
  const auto start = std::chrono::steady_clock::now();
  Status w = store_->WaitForCompactions([start] { return std::chrono::steady_clock::now() - start > std::chrono::seconds(10); });
  EXPECT_TRUE(w.ok()) << "the wait did not end by itself: " << w.ToString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(Level0Files(), files);  // nothing was compacted: the wait gave up, it did not do the work itself
}

}  // namespace
}  // namespace scnfs
