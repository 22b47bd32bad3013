// RestorePoint on a real store: what the CLI cannot show deterministically (an interrupt at a known moment) and
// metadata at the edges of what file systems take.
#include "scnfs/restore.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <functional>
#include <fstream>
#include <optional>
#include <set>

#include <gtest/gtest.h>

#include "scnfs/backup.h"
#include "scnfs/store.h"
#include "temp_dir.h"

namespace scnfs {
namespace {
namespace fs = std::filesystem;

class RestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(src_);
    for (int i = 0; i < 4; ++i) std::ofstream(src_ + "/f" + std::to_string(i), std::ios::binary) << std::string(3 << 20, char('a' + i));
    ASSERT_TRUE(Store::Create(tmp_ / "store").ok());
  }
  void Backup() {
    auto w = Store::Open(tmp_ / "store", Store::Mode::kWriter);
    ASSERT_TRUE(w.ok());
    BackupOptions o;
    o.db = "raw";
    o.sources = {src_};
    auto r = RunBackup(w.value().get(), o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  Result<RestoreReport> Restore(const std::string& dest, const std::atomic<bool>* cancel = nullptr) {
    auto s = Store::Open(tmp_ / "store", Store::Mode::kReader);
    if (!s.ok()) return s.status();
    RestoreOptions o;
    o.db = "raw";
    o.dest = dest;
    o.cancel = cancel;
    return RestorePoint(s.value().get(), o);
  }

  testing::TempDir tmp_;
  std::string src_ = tmp_ / "src";
};

TEST_F(RestoreTest, InterruptStopsTheRestoreWithAClearError) {
  Backup();
  std::atomic<bool> cancel{true};  // as after SIGINT: the workers must not write another unit
  auto r = Restore(tmp_ / "r", &cancel);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kAborted);
  EXPECT_NE(r.status().message().find("restore interrupted"), std::string::npos) << r.status().ToString();
  EXPECT_NE(r.status().message().find("failed (it was removed)"), std::string::npos) << r.status().ToString();
  // Files were created and sized with no data in them: left, they looked like the backup's files. The new DEST goes.
  EXPECT_FALSE(fs::exists(tmp_ / "r"));
  // Into an existing empty DEST, what the restore made goes, and DEST stays.
  fs::create_directories(tmp_ / "e");
  auto e = Restore(tmp_ / "e", &cancel);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("failed (the files it had begun were removed)"), std::string::npos) << e.status().ToString();
  EXPECT_TRUE(fs::is_directory(tmp_ / "e"));
  EXPECT_TRUE(fs::is_empty(tmp_ / "e"));
  // Not interrupted, the same restore completes.
  auto ok = Restore(tmp_ / "e");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_TRUE(fs::exists(tmp_ / "e/f0"));
}

// A restore holds DEST while it writes: a second one into the same place is told so. It was told that the first
// one's partial files were "the leftover of an interrupted restore: remove it and restore again", which would have
// destroyed a restore that was running fine (review, 2026-12-02). Restores of single files (--file) into one
// directory may run together.
TEST_F(RestoreTest, ASecondRestoreIntoADestBeingWrittenIsToldSo) {
  Backup();
  const std::string dest = tmp_ / "r";
  fs::create_directories(dest);
  std::ofstream(dest + "/.scnfs-partial-0", std::ios::binary) << "";  // what a running restore has made so far
  const auto held = [&](int how, const std::function<void()>& during) {
    const int fd = ::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::flock(fd, how | LOCK_NB), 0);
    during();
    ::close(fd);
  };
  const std::string busy = "restore destination " + dest + " is being written by another scnfs restore now: wait "
                           "for it to finish, or restore elsewhere";
  held(LOCK_EX, [&] {
    auto r = Restore(dest);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Status::Code::kBusy);
    EXPECT_EQ(r.status().message(), busy);
  });
  // Nobody holds it: the partial file is an interrupted restore's.
  auto left = Restore(dest);
  ASSERT_FALSE(left.ok());
  EXPECT_NE(left.status().message().find("interrupted restore: remove it and restore again"), std::string::npos)
      << left.status().ToString();
  fs::remove(dest + "/.scnfs-partial-0");
  // --file restores share the directory; a whole restore does not.
  auto s = Store::Open(tmp_ / "store", Store::Mode::kReader);
  ASSERT_TRUE(s.ok());
  RestoreOptions one;
  one.db = "raw";
  one.dest = dest;
  one.only = {"f1"};
  held(LOCK_SH, [&] {
    auto f = RestorePoint(s.value().get(), one);
    ASSERT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_EQ(fs::file_size(dest + "/f1"), 3u << 20);
    fs::remove(dest + "/f1");
    auto whole = Restore(dest);
    ASSERT_FALSE(whole.ok());
    EXPECT_EQ(whole.status().message(), busy);
  });
  held(LOCK_EX, [&] {
    auto f = RestorePoint(s.value().get(), one);
    ASSERT_FALSE(f.ok());
    EXPECT_EQ(f.status().message(), busy);
  });
  auto whole = Restore(dest);
  ASSERT_TRUE(whole.ok()) << whole.status().ToString();
}

// The usual case: the first restore makes DEST itself. It holds DEST from then on, so a second restore into it
// while the first writes is told so; it was told that the first one's partial files were an interrupted restore's
// (review, 2026-12-02). The lock taken after DEST is made had no test: the test above makes DEST first.
TEST_F(RestoreTest, ASecondRestoreIntoADestTheFirstOneMadeIsToldSo) {
  Backup();
  const std::string dest = tmp_ / "new";
  auto s = Store::Open(tmp_ / "store", Store::Mode::kReader);
  ASSERT_TRUE(s.ok());
  RestoreOptions first;
  first.db = "raw";
  first.dest = dest;
  first.direct_io = false;
  first.threads = 1;  // progress is reported by the first worker, at its units 0, 64, ...: one worker takes unit 0
  std::optional<Status> second;
  first.progress = [&](const RestoreProgress&) {
    if (second) return;
    auto r = Restore(dest);
    second = r.ok() ? Status::OK() : r.status();
  };
  auto r = RestorePoint(s.value().get(), first);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_TRUE(second.has_value()) << "the restore never reported progress";
  EXPECT_EQ(second->code(), Status::Code::kBusy) << second->ToString();
  EXPECT_EQ(second->message(), "restore destination " + dest + " is being written by another scnfs restore now: wait "
                               "for it to finish, or restore elsewhere");
  EXPECT_EQ(fs::file_size(dest + "/f3"), 3u << 20);
}

// A backup of a directory where a restore had been killed holds X and X.scnfs-partial: the partial name of X is
// then another, and the backup's own X.scnfs-partial (a file, a directory, a link) restores as it was. Before, the
// restore failed on the file, and took a directory's name for X's data and lost the directory (review, 2026-12-01).
TEST_F(RestoreTest, ABackupHoldingPartialNamesOfItsOwnRestoresWhole) {
  std::ofstream(src_ + "/f0.scnfs-partial", std::ios::binary) << "a file of the backup";
  fs::create_directories(src_ + "/f1.scnfs-partial");
  std::ofstream(src_ + "/f1.scnfs-partial/inner", std::ios::binary) << "inside";
  fs::create_symlink("f2", src_ + "/f2.scnfs-partial");
  Backup();
  auto r = Restore(tmp_ / "r");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::set<std::string> want, got;
  for (const auto& e : fs::recursive_directory_iterator(src_)) want.insert(fs::relative(e.path(), src_).string());
  for (const auto& e : fs::recursive_directory_iterator(tmp_ / "r")) got.insert(fs::relative(e.path(), tmp_ / "r").string());
  EXPECT_EQ(got, want);
  const auto read = [](const std::string& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  };
  EXPECT_EQ(read(tmp_ / "r/f0.scnfs-partial"), "a file of the backup");
  EXPECT_EQ(read(tmp_ / "r/f1.scnfs-partial/inner"), "inside");
  EXPECT_EQ(fs::read_symlink(tmp_ / "r/f2.scnfs-partial"), "f2");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(read(tmp_ / ("r/f" + std::to_string(i))), std::string(3 << 20, char('a' + i)));
  // Restoring f0 alone into that directory, beside the point's own f0.scnfs-partial: refused as "the leftover of an
  // interrupted restore", which a DBA would have removed, losing a file of the backup (names attack, 2026-12-02).
  fs::remove(tmp_ / "r/f0");
  auto s = Store::Open(tmp_ / "store", Store::Mode::kReader);
  ASSERT_TRUE(s.ok());
  RestoreOptions o;
  o.db = "raw";
  o.dest = tmp_ / "r";
  o.only = {"f0"};
  auto one = RestorePoint(s.value().get(), o);
  ASSERT_TRUE(one.ok()) << one.status().ToString();
  EXPECT_EQ(read(tmp_ / "r/f0"), std::string(3 << 20, 'a'));
  EXPECT_EQ(read(tmp_ / "r/f0.scnfs-partial"), "a file of the backup");
}

// A file someone puts under a restored name while the restore runs is never overwritten, and never removed with
// what the failed restore takes back (it was: the new DEST went whole; review, 2026-12-01).
TEST_F(RestoreTest, AFileThatAppearsUnderARestoredNameIsKept) {
  Backup();
  auto s = Store::Open(tmp_ / "store", Store::Mode::kReader);
  ASSERT_TRUE(s.ok());
  RestoreOptions o;
  o.db = "raw";
  o.dest = tmp_ / "r";
  o.threads = 1;  // progress is reported by the first worker: it then takes the first unit for sure
  std::atomic<bool> once{false};
  o.progress = [&](const RestoreProgress&) {  // during the data phase, before any file takes its name
    if (!once.exchange(true)) std::ofstream(o.dest + "/f3", std::ios::binary) << "not the restore's";
  };
  auto r = RestorePoint(s.value().get(), o);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("f3 appeared while it was restored: a restore never overwrites"), std::string::npos)
      << r.status().ToString();
  EXPECT_NE(r.status().message().find("what it had made was removed; DEST holds files it did not make"),
            std::string::npos) << r.status().ToString();
  std::set<std::string> left;
  for (const auto& e : fs::directory_iterator(tmp_ / "r")) left.insert(e.path().filename().string());
  EXPECT_EQ(left, std::set<std::string>{"f3"});
  std::ifstream in(tmp_ / "r/f3", std::ios::binary);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "not the restore's");
}

TEST_F(RestoreTest, TimesBefore1970WithAFractionAreRestored) {
  // -1.5 s: tv_sec -2, tv_nsec 500,000,000. Truncating division made that {-1, -500000000}, which utimensat
  // refuses, and the restored file kept the time of the restore.
  struct timespec ts[2] = {{-2, 500000000}, {-2, 500000000}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (src_ + "/f1").c_str(), ts, 0), 0);
  Backup();
  auto r = Restore(tmp_ / "r");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat((tmp_ / "r/f1").c_str(), &st), 0);
  EXPECT_EQ(st.st_mtim.tv_sec, -2);
  EXPECT_EQ(st.st_mtim.tv_nsec, 500000000);
  EXPECT_EQ(st.st_atim.tv_sec, -2);
}

}  // namespace
}  // namespace scnfs
