// Store::WaitForCompactions: after it returns, RocksDB has nothing to compact, so the next writer of the store
// starts with no compaction debt (a backup calls it after its commit).
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "scnfs/store.h"

namespace scnfs {
namespace {
namespace fs = std::filesystem;

uint64_t IntProperty(Store* s, const std::string& name) {
  uint64_t v = 0;
  EXPECT_TRUE(s->db()->GetIntProperty(s->content_cf(), name, &v)) << name;
  return v;
}

// "num-files-at-level<N>" is a string property, not an integer one.
uint64_t Level0Files(Store* s) {
  std::string v;
  EXPECT_TRUE(s->db()->GetProperty(s->content_cf(), "rocksdb.num-files-at-level0", &v));
  return std::stoull(v.empty() ? "0" : v);
}

TEST(StoreCompaction, WaitLeavesNoPendingCompactionAndFewLevel0Files) {
  char tmpl[] = "/var/tmp/scnfs-compact-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/store";
  ASSERT_TRUE(Store::Create(dir).ok());
  {
    auto s = Store::Open(dir, Store::Mode::kWriter);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    Store* store = s.value().get();
    // Eight flushes of 1 MiB each: eight level-0 files of random keys, twice RocksDB's compaction trigger (4).
    std::string value(1024, 'x');
    uint64_t key = 0;
    for (int f = 0; f < 8; ++f) {
      rocksdb::WriteBatch b;
      for (int i = 0; i < 1024; ++i, ++key) {
        const uint64_t k = key * 0x9E3779B97F4A7C15ULL;  // spread over the key space, as content hashes are
        b.Put(store->content_cf(), rocksdb::Slice(reinterpret_cast<const char*>(&k), sizeof k), value);
      }
      ASSERT_TRUE(store->WriteUnlogged(&b).ok());
      ASSERT_TRUE(store->FlushData().ok());
    }
    ASSERT_TRUE(store->WaitForCompactions().ok());
    EXPECT_EQ(IntProperty(store, "rocksdb.compaction-pending"), 0u);
    EXPECT_EQ(IntProperty(store, "rocksdb.num-running-compactions"), 0u);
    EXPECT_LT(Level0Files(store), 4u);
    EXPECT_EQ(IntProperty(store, "rocksdb.estimate-num-keys") > 0, true);

    // Cancelled at once while there is work: Aborted, and the store stays usable.
    for (int f = 0; f < 6; ++f) {
      rocksdb::WriteBatch b;
      for (int i = 0; i < 1024; ++i, ++key) {
        const uint64_t k = key * 0x9E3779B97F4A7C15ULL;
        b.Put(store->content_cf(), rocksdb::Slice(reinterpret_cast<const char*>(&k), sizeof k), value);
      }
      ASSERT_TRUE(store->WriteUnlogged(&b).ok());
      ASSERT_TRUE(store->FlushData().ok());
    }
    Status c = store->WaitForCompactions([] { return true; });
    if (!c.ok()) {
      EXPECT_EQ(c.code(), Status::Code::kAborted) << c.ToString();
    }
    ASSERT_TRUE(store->WaitForCompactions().ok());
    EXPECT_LT(Level0Files(store), 4u);
  }
  // Everything written is still there after reopening.
  auto r = Store::Open(dir, Store::Mode::kReader);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::string v;
  const uint64_t k = 5 * 0x9E3779B97F4A7C15ULL;
  EXPECT_TRUE(r.value()->db()->Get(rocksdb::ReadOptions(), r.value()->content_cf(),
                                   rocksdb::Slice(reinterpret_cast<const char*>(&k), sizeof k), &v).ok());
  EXPECT_EQ(v.size(), 1024u);
  r.value().reset();
  fs::remove_all(tmpl);
}

// RocksDB can report compaction debt and schedule nothing for it (here: automatic compactions switched off). The
// wait must then end instead of polling forever, which would hang every backup at its end.
TEST(StoreCompaction, WaitEndsWhenRocksDbSchedulesNothing) {
  char tmpl[] = "/var/tmp/scnfs-compact-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/store";
  ASSERT_TRUE(Store::Create(dir).ok());
  {
    auto s = Store::Open(dir, Store::Mode::kWriter);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    Store* store = s.value().get();
    ASSERT_TRUE(store->db()->SetOptions(store->content_cf(), {{"disable_auto_compactions", "true"}}).ok());
    std::string value(1024, 'x');
    uint64_t key = 0;
    for (int f = 0; f < 8; ++f) {
      rocksdb::WriteBatch b;
      for (int i = 0; i < 256; ++i, ++key) {
        const uint64_t k = key * 0x9E3779B97F4A7C15ULL;
        b.Put(store->content_cf(), rocksdb::Slice(reinterpret_cast<const char*>(&k), sizeof k), value);
      }
      ASSERT_TRUE(store->WriteUnlogged(&b).ok());
      ASSERT_TRUE(store->FlushData().ok());
    }
    EXPECT_EQ(IntProperty(store, "rocksdb.compaction-pending"), 1u);  // the debt is there, and stays
    // A deadline through the cancel hook: a wait that would poll forever comes back Aborted after 10 s instead.
    const auto start = std::chrono::steady_clock::now();
    Status w = store->WaitForCompactions([start] { return std::chrono::steady_clock::now() - start > std::chrono::seconds(10); });
    EXPECT_TRUE(w.ok()) << "the wait did not end by itself: " << w.ToString();
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    EXPECT_EQ(Level0Files(store), 8u);  // nothing was compacted: the wait gave up, it did not do the work itself
  }
  fs::remove_all(tmpl);
}

}  // namespace
}  // namespace scnfs
