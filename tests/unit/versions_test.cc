// VersionReader against a real store: a run's answer for blocks with long chains, and what it costs.
#include <optional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <rocksdb/write_batch.h>

#include "scnfs/store.h"
#include "store/versions.h"
#include "temp_dir.h"

namespace scnfs {
namespace {

// Blocks 0-5 of file 1 of database 1; block b has versions at changes 10, 20, ..., 10 * n(b) written by backups
// 1..n(b) (n = 1, 2, 3, 60, 5, 120), and block 3's change 300 once more by backup 100 (a tie after the base).
class VersionsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Store::Create(tmp_ / "store").ok());
    auto w = Store::Open(tmp_ / "store", Store::Mode::kWriter);
    ASSERT_TRUE(w.ok()) << w.status().ToString();
    store_ = std::move(w.value());
    rocksdb::WriteBatch b;
    VersionValue v;
    v.zero = true;
    const std::string value = EncodeVersionValue(v);
    for (uint32_t block = 0; block < kBlocks; ++block)
      for (uint32_t i = 1; i <= kVersions[block]; ++i)
        b.Put(store_->versions_cf(), EncodeVersionKey(VersionKey{1, 1, block, 10ull * i, i}), value);
    b.Put(store_->versions_cf(), EncodeVersionKey(VersionKey{1, 1, 3, 300, 100}), value);
    ASSERT_TRUE(store_->Write(&b, /*sync=*/false).ok());
  }
  static constexpr uint32_t kBlocks = 6;
  static constexpr uint32_t kVersions[kBlocks] = {1, 2, 3, 60, 5, 120};
  testing::TempDir tmp_;
  std::unique_ptr<Store> store_;
  Visibility vis_;
};

// Stepping through every version of a block made reads and backups of often-changed blocks slower with each backup
// (2-3x at 300 versions; found 2026-11-30). A run visits a few keys per block, whatever the chain.
TEST_F(VersionsTest, ARunVisitsAFewKeysPerBlockWhateverItsChain) {
  VersionReader r(*store_, 1, vis_);
  std::vector<std::optional<Version>> out;
  ASSERT_TRUE(r.LatestRun(1, 0, kBlocks, &out).ok());
  ASSERT_EQ(out.size(), kBlocks);
  for (uint32_t b = 0; b < kBlocks; ++b) {
    ASSERT_TRUE(out[b].has_value()) << b;
    EXPECT_EQ(out[b]->key.change, 10ull * kVersions[b]) << b;
  }
  EXPECT_LE(r.keys_visited(), kBlocks * 6u) << "not one step per version (192 of them)";
}

// The run gives what the one-block lookups give, at every change number and base, long chains included.
TEST_F(VersionsTest, ARunAgreesWithOneBlockLookups) {
  VersionReader run(*store_, 1, vis_), one(*store_, 1, vis_);
  std::vector<std::optional<Version>> out;
  for (uint64_t change : {uint64_t{5}, uint64_t{10}, uint64_t{25}, uint64_t{300}, uint64_t{555}, uint64_t{1200}, kAnyChange}) {
    for (uint32_t base : {1u, 7u, 60u, 100u, kAnyBackup}) {
      ASSERT_TRUE(run.RunAsOf(1, 0, kBlocks, kAnyBackup, change, &out, base).ok());
      for (uint32_t b = 0; b < kBlocks; ++b) {
        auto want = one.AsOfChange(1, b, change, base);
        ASSERT_TRUE(want.ok());
        ASSERT_EQ(out[b].has_value(), want->has_value()) << "block " << b << " change " << change << " base " << base;
        if (out[b]) {
          EXPECT_EQ(out[b]->key.change, (*want)->key.change) << "block " << b << " change " << change << " base " << base;
          EXPECT_EQ(out[b]->key.backup, (*want)->key.backup) << "block " << b << " change " << change << " base " << base;
        }
      }
    }
    // By backup, as a point of a raw file is read: the newest written by backups <= 30.
    ASSERT_TRUE(run.RunAsOf(1, 0, kBlocks, 30, kAnyChange, &out).ok());
    for (uint32_t b = 0; b < kBlocks; ++b) {
      auto want = one.AsOfBackup(1, b, 30);
      ASSERT_TRUE(want.ok());
      ASSERT_EQ(out[b].has_value(), want->has_value()) << b;
      if (out[b]) {
        EXPECT_EQ(out[b]->key.backup, (*want)->key.backup) << b;
      }
    }
  }
  // The tie at block 3's change 300: the newest written by the base or before, else the oldest after it.
  ASSERT_TRUE(run.RunAsOf(1, 3, 1, kAnyBackup, 300, &out, 60).ok());
  EXPECT_EQ(out[0]->key.backup, 30u);
  ASSERT_TRUE(run.RunAsOf(1, 3, 1, kAnyBackup, 300, &out, kAnyBackup).ok());
  EXPECT_EQ(out[0]->key.backup, 100u);
  // A run that starts or ends inside the long chains.
  ASSERT_TRUE(run.RunAsOf(1, 3, 3, kAnyBackup, 400, &out).ok());
  EXPECT_EQ(out[0]->key.change, 400u);
  EXPECT_EQ(out[1]->key.change, 50u);
  EXPECT_EQ(out[2]->key.change, 400u);
}

}  // namespace
}  // namespace scnfs
