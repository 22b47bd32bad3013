// Store::Create against another init of the same directory at the same moment.
#include <filesystem>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "scnfs/store.h"
#include "temp_dir.h"

namespace scnfs {
namespace {
namespace fs = std::filesystem;

// Two inits of one directory at once: the one that lost removed the winner's files (its lock file, part of its
// db/ while it was made), and into a new directory it said "cannot create DIR: Success" (found 2026-11-30). One
// must win, the other fail with a reason, and the store stay whole.
TEST(StoreCreate, TwoInitsAtOnceLeaveOneWholeStore) {
  testing::TempDir tmp;
  int lost_lock = 0, said_success = 0;
  for (int round = 0; round < 20; ++round) {
    for (bool existing : {true, false}) {
      const std::string dir = tmp / ("s" + std::to_string(round) + (existing ? "e" : "n"));
      if (existing) fs::create_directories(dir);
      Status a, b;
      std::thread other([&] { b = Store::Create(dir); });
      a = Store::Create(dir);
      other.join();
      ASSERT_NE(a.ok(), b.ok()) << dir << ": " << a.ToString() << " / " << b.ToString();
      const Status& loser = a.ok() ? b : a;
      said_success += loser.message().find("Success") != std::string::npos;
      lost_lock += !fs::exists(fs::path(dir) / "lock");
      auto s = Store::Open(dir, Store::Mode::kWriter);
      ASSERT_TRUE(s.ok()) << dir << ": " << s.status().ToString();
    }
  }
  EXPECT_EQ(lost_lock, 0);
  EXPECT_EQ(said_success, 0);
}

}  // namespace
}  // namespace scnfs
