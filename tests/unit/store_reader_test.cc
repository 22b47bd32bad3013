// A long-lived reader (a mount) that caught up while the writer's catalog held one value must see the value that
// replaced it, whatever the writer did in between. RocksDB 7.8's secondary instance keeps entries it replayed from
// a WAL the writer has since flushed and serves them before the newer value (facebook/rocksdb#15051): a backup
// record stayed "running" in a mount for good, which hid that backup's blocks from every view built after it.
#include <memory>
#include <string>

#include <gtest/gtest.h>
#include <rocksdb/iterator.h>
#include <rocksdb/write_batch.h>

#include "scnfs/store.h"
#include "temp_dir.h"

namespace scnfs {
namespace {

std::unique_ptr<Store> OpenOrDie(const std::string& dir, Store::Mode mode) {
  auto s = Store::Open(dir, mode);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(s.value()) : nullptr;
}

std::string Value(const Store& s, const std::string& key) {
  std::string v;
  Status st = s.GetCatalog(key, &v);
  return st.ok() ? v : st.ToString();
}

TEST(StoreReader, ALongLivedReaderSeesAValueTheWriterReplacedAndFlushed) {
  testing::TempDir root;
  const std::string dir = root / "store";
  ASSERT_TRUE(Store::Create(dir).ok());
  auto reader = OpenOrDie(dir, Store::Mode::kReader);
  {
    auto writer = OpenOrDie(dir, Store::Mode::kWriter);
    ASSERT_TRUE(writer->PutCatalog("backup/1", "running", /*sync=*/true).ok());
    ASSERT_TRUE(reader->Refresh().ok());
    EXPECT_EQ(Value(*reader, "backup/1"), "running");
    ASSERT_TRUE(writer->PutCatalog("backup/1", "complete", /*sync=*/true).ok());
  }
  // The next writer's open recovers the WAL into a table file and starts a new WAL.
  auto writer = OpenOrDie(dir, Store::Mode::kWriter);
  ASSERT_TRUE(writer->PutCatalog("backup/2", "running", /*sync=*/true).ok());
  auto before = reader->NewCatalogIterator();  // made on the catalog the Refresh below replaces
  ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_EQ(Value(*reader, "backup/2"), "running");
  EXPECT_EQ(Value(*reader, "backup/1"), "complete");
  int n = 0;
  for (before->SeekToFirst(); before->Valid(); before->Next()) ++n;
  EXPECT_TRUE(before->status().ok());
  EXPECT_EQ(n, 1) << "the iterator reads the catalog it was made on";
  ASSERT_TRUE(writer->PutCatalog("backup/2", "complete", /*sync=*/true).ok());
  writer.reset();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_EQ(Value(*reader, "backup/2"), "complete");
}

// A mount catches up on every listing, at most once a second, and most catch-ups find nothing new: only one that
// does makes readers remake their iterators (Store::data_generation). Counted on every catch-up, a monitoring `ls`
// each second remade every cursor of the mount each second (found by review, 2026-12-01).
TEST(StoreReader, TheDataGenerationChangesWithTheWritersDataOnly) {
  testing::TempDir root;
  const std::string dir = root / "store";
  ASSERT_TRUE(Store::Create(dir).ok());
  auto reader = OpenOrDie(dir, Store::Mode::kReader);
  auto writer = OpenOrDie(dir, Store::Mode::kWriter);
  ASSERT_TRUE(reader->Refresh().ok());
  const uint64_t idle = reader->data_generation();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(reader->Refresh().ok());
  ASSERT_TRUE(writer->PutCatalog("backup/1", "running", /*sync=*/true).ok());  // the catalog is no data
  ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_EQ(reader->data_generation(), idle);
  rocksdb::WriteBatch b;
  ASSERT_TRUE(b.Put(writer->data()->content, "some content key", "bytes").ok());
  ASSERT_TRUE(writer->WriteUnlogged(&b).ok());
  ASSERT_TRUE(writer->FlushData().ok());
  ASSERT_TRUE(reader->Refresh().ok());
  EXPECT_GT(reader->data_generation(), idle);
}

}  // namespace
}  // namespace scnfs
