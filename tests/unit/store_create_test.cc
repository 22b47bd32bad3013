// Store::Create against another init of the same directory at the same moment, and writers queued on the lock.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

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
// A writer writes its line in the lock file just after taking the lock. A writer queued behind it read the line of
// the writer before, a process that had ended, and named it (found 2026-11-30): it names the holder once the holder's
// own line is there.
TEST(StoreLock, AQueuedWriterNamesTheHolderOnceItsLineIsWritten) {
  testing::TempDir tmp;
  const std::string dir = tmp / "store";
  ASSERT_TRUE(Store::Create(dir).ok());
  const pid_t gone = ::fork();
  if (gone == 0) ::_exit(0);
  ::waitpid(gone, nullptr, 0);
  struct stat ns {};
  ASSERT_EQ(::stat("/proc/self/ns/pid", &ns), 0);
  const auto line = [&](pid_t pid) { return "pid=" + std::to_string(pid) + " op=backup\npidns=" + std::to_string(ns.st_ino) + "\n"; };
  const int fd = ::open((dir + "/lock").c_str(), O_RDWR);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX), 0);  // the holder, before it writes its line: the file names its predecessor
  const std::string before = line(gone);
  ASSERT_EQ(::pwrite(fd, before.data(), before.size(), 0), ssize_t(before.size()));
  std::mutex mu;
  std::vector<std::string> said;
  std::thread queued([&] {
    StoreOptions o;
    o.wait_for_writer = true;
    o.on_wait = [&](const std::string& who) {
      std::lock_guard<std::mutex> l(mu);
      said.push_back(who);
    };
    auto w = Store::Open(dir, Store::Mode::kWriter, o);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_TRUE(said.empty()) << said.front();
  }
  const std::string mine = line(::getpid());
  ASSERT_EQ(::pwrite(fd, mine.data(), mine.size(), 0), ssize_t(mine.size()));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ASSERT_EQ(::flock(fd, LOCK_UN), 0);
  queued.join();
  ::close(fd);
  EXPECT_EQ(said, std::vector<std::string>{"pid=" + std::to_string(::getpid()) + " op=backup"});

  // A holder on another host sharing the store: its pid means nothing here, so it is named as its line says.
  const int again = ::open((dir + "/lock").c_str(), O_RDWR);
  ASSERT_GE(again, 0);
  ASSERT_EQ(::flock(again, LOCK_EX), 0);
  const std::string elsewhere = line(gone) + "host=elsewhere.example\n";
  ASSERT_EQ(::pwrite(again, elsewhere.data(), elsewhere.size(), 0), ssize_t(elsewhere.size()));
  auto busy = Store::Open(dir, Store::Mode::kWriter);
  ASSERT_FALSE(busy.ok());
  EXPECT_NE(busy.status().message().find("in use by another writer (pid=" + std::to_string(gone) + " op=backup)"),
            std::string::npos) << busy.status().ToString();
  ::close(again);
}

}  // namespace scnfs
