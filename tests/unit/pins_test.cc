// Pins: live holders are listed with their pins, a holder that dies without cleaning up is ignored and its files
// removed, and a holder that ends cleanly leaves nothing behind.
#include "scnfs/pins.h"

#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <functional>
#include <fstream>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace scnfs {
namespace {
namespace fs = std::filesystem;

class PinsTest : public ::testing::Test {
 protected:
  testing::TempDir tmp_;
  const std::string dir_ = tmp_.path();
};

TEST_F(PinsTest, LiveHolderIsListedWithItsPins) {
  auto h = PinHolder::Create(dir_, "mount /mnt/x");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  auto empty = ListPins(dir_);
  ASSERT_TRUE(empty.ok());
  ASSERT_EQ(empty->size(), 1u);
  EXPECT_TRUE(empty->at(0).pins.empty());
  EXPECT_EQ(empty->at(0).pid, ::getpid());
  EXPECT_EQ(empty->at(0).description, "mount /mnt/x");

  ASSERT_TRUE(h.value()->Set({Pin{"ORA", 3, std::nullopt, std::nullopt, "backups/3"},
                              Pin{"ORA", 2, 81234567, 5, "at/scn:81234567"}}).ok());
  auto two = ListPins(dir_);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 1u);
  ASSERT_EQ(two->at(0).pins.size(), 2u);
  EXPECT_EQ(two->at(0).pins[1], (Pin{"ORA", 2, 81234567, 5, "at/scn:81234567"}));
  EXPECT_EQ(two->at(0).pins[0].scn, std::nullopt);

  h.value().reset();
  auto none = ListPins(dir_);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_TRUE(fs::is_empty(dir_ + "/pins"));
}

TEST_F(PinsTest, HolderThatDiedPinsNothing) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto h = PinHolder::Create(dir_, "mount that will be killed");
    if (!h.ok() || !h.value()->Set({Pin{"PG", 1, std::nullopt, std::nullopt, "backups/1"}}).ok()) _exit(1);
    _exit(0);  // no destructor: as after SIGKILL, the files stay and only the kernel drops the lock
  }
  int ws = 0;
  ASSERT_EQ(::waitpid(pid, &ws, 0), pid);
  ASSERT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_ + "/pins")) files++;
  EXPECT_EQ(files, 3u);  // .lock, .json and .reserve left behind

  auto live = PinHolder::Create(dir_, "live mount");
  ASSERT_TRUE(live.ok());
  auto sets = ListPins(dir_);
  ASSERT_TRUE(sets.ok());
  ASSERT_EQ(sets->size(), 1u);
  EXPECT_EQ(sets->at(0).description, "live mount");
  files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_ + "/pins")) files++;
  EXPECT_EQ(files, 3u);  // only the live holder's files remain
}

TEST_F(PinsTest, EveryClonePinsItsPoint) {
  fs::create_directories(dir_ + "/clones/c1");
  std::ofstream(dir_ + "/clones/c1/clone.json") << R"({"name":"c1","db":"PG","spec":"scn:99","base_backup":4,"scn":99,"last_backup":6,"created_us":5})";
  fs::create_directories(dir_ + "/clones/.new-c2-1");  // a clone being built is not one yet
  auto sets = ListPins(dir_);
  ASSERT_TRUE(sets.ok());
  ASSERT_EQ(sets->size(), 1u);
  EXPECT_EQ(sets->at(0).holder, "clone-c1");
  ASSERT_EQ(sets->at(0).pins.size(), 1u);
  EXPECT_EQ(sets->at(0).pins[0], (Pin{"PG", 4, 99, 6, "clones/c1"}));
}

TEST_F(PinsTest, AFailedWriteIsRetriedByTheNextSetOfTheSamePins) {
  // The mount retries a failed pin write with its next change, often the same set. The set was taken as written
  // before the write: the retry returned OK and wrote nothing, and the file kept saying "no pins" for good.
  auto h = PinHolder::Create(dir_, "mount /mnt/x");
  ASSERT_TRUE(h.ok());
  const std::string tmp = dir_ + "/pins/" + h.value()->holder() + ".json.tmp";
  fs::create_directories(tmp);  // the write's temporary file cannot be made: as with a full disk
  const std::vector<Pin> pins{Pin{"ORA", 3, std::nullopt, std::nullopt, "backups/3"}};
  EXPECT_FALSE(h.value()->Set(pins).ok());
  fs::remove(tmp);
  ASSERT_TRUE(h.value()->Set(pins).ok());
  auto listed = ListPins(dir_);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ(listed->at(0).pins, pins);
}

// A prune trusts ListPins: a pin that exists but cannot be read must stop it, not count as no pin. Before, a damaged
// pin file of a live mount or a damaged clone.json was skipped (its point unpinned), and a field of the wrong type
// threw out of ListPins.
TEST_F(PinsTest, APinThatCannotBeReadIsAnErrorNotAnAbsentPin) {
  auto h = PinHolder::Create(dir_, "mount /mnt/x");
  ASSERT_TRUE(h.ok());
  const std::string file = dir_ + "/pins/" + h.value()->holder() + ".json";
  std::ofstream(file) << "{\"holder\": \"mount-1-0\", \"pins\": [";  // cut short
  auto cut = ListPins(dir_);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), Status::Code::kCorruption) << cut.status().ToString();
  EXPECT_NE(cut.status().message().find(file), std::string::npos) << cut.status().ToString();

  std::ofstream(file) << R"({"holder":"mount-1-0","pins":[{"db":"ORA","backup":"three","what":"backups/3"}]})";
  auto typed = ListPins(dir_);
  ASSERT_FALSE(typed.ok());
  EXPECT_EQ(typed.status().code(), Status::Code::kCorruption) << typed.status().ToString();

  ASSERT_TRUE(h.value()->Set({Pin{"ORA", 3, std::nullopt, std::nullopt, "backups/3"}}).ok());
  ASSERT_TRUE(ListPins(dir_).ok());
  fs::create_directories(dir_ + "/clones/c1");
  std::ofstream(dir_ + "/clones/c1/clone.json") << R"({"name":"c1","db":"PG","spec":"latest","created_us":5})";  // no base_backup
  auto clone = ListPins(dir_);
  ASSERT_FALSE(clone.ok());
  EXPECT_EQ(clone.status().code(), Status::Code::kCorruption) << clone.status().ToString();
  EXPECT_NE(clone.status().message().find("clone.json"), std::string::npos) << clone.status().ToString();

  fs::remove(dir_ + "/clones/c1/clone.json");  // the directory without its record: damage, still an error
  EXPECT_FALSE(ListPins(dir_).ok());
  fs::remove_all(dir_ + "/clones/c1");  // a clone destroyed since: gone, not damaged
  auto after = ListPins(dir_);
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(after->size(), 1u);
}

// Runs `body` as pid 1 of a new PID namespace (as a mount in a container is); returns the pid of the process that
// waits for it, whose exit status is body's.
pid_t InNewPidNamespace(const std::function<int()>& body) {
  const pid_t outer = ::fork();
  if (outer != 0) return outer;
  if (::unshare(CLONE_NEWPID) != 0) _exit(90);
  const pid_t inner = ::fork();
  if (inner < 0) _exit(91);
  if (inner == 0) _exit(body());
  int ws = 0;
  ::waitpid(inner, &ws, 0);
  _exit(WIFEXITED(ws) ? WEXITSTATUS(ws) : 92);
}

// Two mounts, each pid 1 of its own PID namespace, on one store: the second failed to take "mount-1-0"'s lock and
// removed the first's pin files on its way out, leaving what the first served unpinned (found 2026-11-30).
TEST_F(PinsTest, HoldersWithTheSamePidInTwoPidNamespacesKeepTheirOwnPins) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: unshare(CLONE_NEWPID)";
  // The first holder lives until this file appears (a pipe's end would stay open in the processes in between).
  const std::string release = tmp_.path() + "/release";
  struct Release {  // however the test ends
    std::string path;
    ~Release() { std::ofstream(path).put('x'); }
  } release_at_end{release};
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  const pid_t first = InNewPidNamespace([&] {
    auto h = PinHolder::Create(dir_, "mount in container 1");
    if (!h.ok() || !h.value()->Set({Pin{"ORA", 1, std::nullopt, std::nullopt, "backups/1"}}).ok()) return 1;
    if (::write(ready[1], "k", 1) != 1) return 2;
    for (int i = 0; i < 3000 && !fs::exists(release); ++i) ::usleep(10000);
    return 0;
  });
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  const pid_t second = InNewPidNamespace([&] {
    auto h = PinHolder::Create(dir_, "mount in container 2");
    return h.ok() && h.value()->Set({Pin{"ORA", 2, std::nullopt, std::nullopt, "backups/2"}}).ok() ? 0 : 1;
  });
  int ws = 0;
  ASSERT_EQ(::waitpid(second, &ws, 0), second);
  EXPECT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0) << "the second mount could not pin";
  auto sets = ListPins(dir_);
  ASSERT_TRUE(sets.ok()) << sets.status().ToString();
  ASSERT_EQ(sets->size(), 1u) << "the first mount's pins are gone";
  EXPECT_EQ(sets->at(0).description, "mount in container 1");
  EXPECT_EQ(sets->at(0).pid, 1);
  std::ofstream(release).put('x');
  ASSERT_EQ(::waitpid(first, &ws, 0), first);
  EXPECT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
  ::close(ready[0]);
  ::close(ready[1]);
}

}  // namespace
}  // namespace scnfs
