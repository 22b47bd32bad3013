// Pins: live holders are listed with their pins, a holder that dies without cleaning up is ignored and its files
// removed, and a holder that ends cleanly leaves nothing behind. A holder's log costs O(1) per change, stays bounded
// by its live pins, and a change that fails leaves it as it was.
#include "scnfs/pins.h"

#include <sched.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <functional>
#include <fstream>
#include <random>
#include <sstream>

#include <gtest/gtest.h>

#include "temp_dir.h"

namespace scnfs {
namespace {
namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

size_t Lines(const std::string& path) {
  const std::string bytes = ReadFile(path);
  return size_t(std::count(bytes.begin(), bytes.end(), '\n'));
}

// Bytes this process has passed to write() so far (/proc/self/io "wchar").
uint64_t BytesWritten() {
  std::ifstream in("/proc/self/io");
  std::string key;
  uint64_t value = 0;
  while (in >> key >> value)
    if (key == "wchar:") return value;
  return 0;
}

}  // namespace

// For gtest's messages.
void PrintTo(const Pin& p, std::ostream* os) {
  *os << "{" << p.db << " " << p.backup << " scn=" << (p.scn ? std::to_string(*p.scn) : "-")
      << " last=" << (p.last_backup ? std::to_string(*p.last_backup) : "-") << " " << p.what << "}";
}

namespace {

Pin BackupPin(uint32_t id) { return Pin{"ORA", id, std::nullopt, std::nullopt, "ORA/backups/" + std::to_string(id)}; }

class PinsTest : public ::testing::Test {
 protected:
  std::string LogOf(const PinHolder& h) const { return dir_ + "/pins/" + h.holder() + ".pins"; }
  std::vector<Pin> ListedPins() { return ListedPins(dir_); }
  std::vector<Pin> ListedPins(const std::string& store) {
    auto sets = ListPins(store);
    EXPECT_TRUE(sets.ok()) << sets.status().ToString();
    if (!sets.ok() || sets->size() != 1) {
      ADD_FAILURE() << "one pin set expected";
      return {};
    }
    return sets->at(0).pins;
  }

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
  EXPECT_EQ(empty->at(0).holder, h.value()->holder());

  ASSERT_TRUE(h.value()->Change({Pin{"ORA", 3, std::nullopt, std::nullopt, "backups/3"},
                                 Pin{"ORA", 2, 81234567, 5, "at/scn:81234567"}}, {}).ok());
  auto two = ListPins(dir_);
  ASSERT_TRUE(two.ok());
  ASSERT_EQ(two->size(), 1u);
  ASSERT_EQ(two->at(0).pins.size(), 2u);
  EXPECT_EQ(two->at(0).pins[1], (Pin{"ORA", 2, 81234567, 5, "at/scn:81234567"}));
  EXPECT_EQ(two->at(0).pins[0].scn, std::nullopt);

  // A re-add replaces in place, a removal of a name not pinned is ignored, and a change of nothing writes nothing.
  ASSERT_TRUE(h.value()->Change({Pin{"ORA", 4, std::nullopt, std::nullopt, "backups/3"}}, {"backups/9"}).ok());
  const auto size = fs::file_size(LogOf(*h.value()));
  ASSERT_TRUE(h.value()->Change({Pin{"ORA", 4, std::nullopt, std::nullopt, "backups/3"}}, {"backups/9"}).ok());
  EXPECT_EQ(fs::file_size(LogOf(*h.value())), size);
  EXPECT_EQ(ListedPins(), (std::vector<Pin>{Pin{"ORA", 4, std::nullopt, std::nullopt, "backups/3"},
                                            Pin{"ORA", 2, 81234567, 5, "at/scn:81234567"}}));
  ASSERT_TRUE(h.value()->Change({}, {"backups/3"}).ok());
  EXPECT_EQ(ListedPins(), (std::vector<Pin>{Pin{"ORA", 2, 81234567, 5, "at/scn:81234567"}}));

  h.value().reset();
  auto none = ListPins(dir_);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  EXPECT_TRUE(fs::is_empty(dir_ + "/pins"));
}

TEST_F(PinsTest, TheLogHasOneLinePerChangedPin) {
  auto h = PinHolder::Create(dir_, "mount /mnt/x");
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(h.value()->Change({Pin{"ORA", 2, 81234567, 5, "ORA/at/scn:81234567"}, BackupPin(3)}, {}).ok());
  ASSERT_TRUE(h.value()->Change({}, {"ORA/backups/3"}).ok());
  std::istringstream log(ReadFile(LogOf(*h.value())));
  std::string line;
  ASSERT_TRUE(std::getline(log, line));
  EXPECT_EQ(line.rfind("{\"description\":\"mount /mnt/x\",\"holder\":\"" + h.value()->holder() + "\",\"pid\":", 0), 0u)
      << line;
  ASSERT_TRUE(std::getline(log, line));
  EXPECT_EQ(line, R"({"pin":{"backup":2,"db":"ORA","last_backup":5,"scn":81234567,"what":"ORA/at/scn:81234567"}})");
  ASSERT_TRUE(std::getline(log, line));
  EXPECT_EQ(line, R"({"pin":{"backup":3,"db":"ORA","what":"ORA/backups/3"}})");
  ASSERT_TRUE(std::getline(log, line));
  EXPECT_EQ(line, R"({"unpin":"ORA/backups/3"})");
  EXPECT_FALSE(std::getline(log, line));
}

TEST_F(PinsTest, HolderThatDiedPinsNothing) {
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto h = PinHolder::Create(dir_, "mount that will be killed");
    if (!h.ok() || !h.value()->Change({Pin{"PG", 1, std::nullopt, std::nullopt, "backups/1"}}, {}).ok()) _exit(1);
    // As if it had died in a rewrite of its log, and as a mount of an earlier build (a .json) would leave it.
    const std::string base = dir_ + "/pins/" + h.value()->holder();
    std::ofstream(base + ".pins.tmp") << "{";
    std::ofstream(base + ".json") << "{}";
    _exit(0);  // no destructor: as after SIGKILL, the files stay and only the kernel drops the lock
  }
  int ws = 0;
  ASSERT_EQ(::waitpid(pid, &ws, 0), pid);
  ASSERT_TRUE(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
  size_t files = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir_ + "/pins")) files++;
  EXPECT_EQ(files, 5u);  // .lock, .pins, .reserve, .pins.tmp and .json left behind

  auto live = PinHolder::Create(dir_, "live mount");
  ASSERT_TRUE(live.ok());
  auto sets = ListPins(dir_);
  ASSERT_TRUE(sets.ok());
  ASSERT_EQ(sets->size(), 1u);
  EXPECT_EQ(sets->at(0).description, "live mount");
  std::vector<std::string> left;
  for (const auto& e : fs::directory_iterator(dir_ + "/pins")) left.push_back(e.path().filename());
  std::sort(left.begin(), left.end());
  const std::string name = live.value()->holder();
  EXPECT_EQ(left, (std::vector<std::string>{name + ".lock", name + ".pins", name + ".reserve"}));
}

// A mount of an earlier build, still running after an upgrade, keeps its whole set in <holder>.json: a prune must
// see its pins while it lives.
TEST_F(PinsTest, ALiveHolderOfAnEarlierBuildIsReadFromItsJson) {
  fs::create_directories(dir_ + "/pins");
  const std::string base = dir_ + "/pins/mount-77-0-0000abcd";
  const int lock = ::open((base + ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(lock, 0);
  ASSERT_EQ(::flock(lock, LOCK_EX | LOCK_NB), 0);  // ListPins opens the file again: a lock of its own, refused
  std::ofstream(base + ".json") << R"({"holder":"mount-77-0-0000abcd","pid":77,"description":"mount /old",)"
                                   R"("since_us":1,"pins":[{"db":"ORA","backup":3,"what":"backups/3"}]})";
  auto sets = ListPins(dir_);
  ASSERT_TRUE(sets.ok()) << sets.status().ToString();
  ASSERT_EQ(sets->size(), 1u);
  EXPECT_EQ(sets->at(0).pid, 77);
  EXPECT_EQ(sets->at(0).pins, (std::vector<Pin>{Pin{"ORA", 3, std::nullopt, std::nullopt, "backups/3"}}));
  ::close(lock);  // it ends without cleaning up
  sets = ListPins(dir_);
  ASSERT_TRUE(sets.ok());
  EXPECT_TRUE(sets->empty());
  EXPECT_TRUE(fs::is_empty(dir_ + "/pins"));
}

TEST_F(PinsTest, TheHoldersPinsAreTheirOwn) {
  auto a = PinHolder::Create(dir_, "mount a");
  auto b = PinHolder::Create(dir_, "mount b");
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE(a.value()->Change({BackupPin(1), BackupPin(2)}, {}).ok());
  ASSERT_TRUE(b.value()->Change({BackupPin(2)}, {}).ok());
  ASSERT_TRUE(a.value()->Change({}, {"ORA/backups/2"}).ok());
  auto sets = ListPins(dir_);
  ASSERT_TRUE(sets.ok());
  ASSERT_EQ(sets->size(), 2u);
  for (const auto& set : *sets) {
    if (set.holder == a.value()->holder()) EXPECT_EQ(set.pins, std::vector<Pin>{BackupPin(1)});
    else EXPECT_EQ(set.pins, std::vector<Pin>{BackupPin(2)});
  }
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

// 2,000 lookups through a mount made 2,000 pins, each rewriting every pin so far: O(N^2) bytes, 1.9 s. A pin added
// now costs its own line, however many there are.
TEST_F(PinsTest, APinCostsItsOwnLineHoweverManyThereAre) {
  auto h = PinHolder::Create(dir_, "mount /mnt/x");
  ASSERT_TRUE(h.ok());
  constexpr uint32_t kPins = 5000;
  const uint64_t before = BytesWritten();
  for (uint32_t i = 1; i <= kPins; ++i) ASSERT_TRUE(h.value()->Change({BackupPin(i)}, {}).ok());
  const uint64_t written = BytesWritten() - before;
  const uint64_t line = std::string_view(R"({"pin":{"backup":5000,"db":"ORA","what":"ORA/backups/5000"}})" "\n").size();
  EXPECT_LE(written, kPins * line) << "bytes written for " << kPins << " pins";
  EXPECT_EQ(ListedPins().size(), kPins);
}

// Random changes (fixed seed) against a model: the log always lists exactly the live pins, in the order first
// added, and is rewritten often enough that it never holds more than 2 * live + 1024 lines plus its header.
TEST_F(PinsTest, TheLogListsTheLivePinsAndStaysBoundedByThem) {
  auto h = PinHolder::Create(dir_, "mount /mnt/x");
  ASSERT_TRUE(h.ok());
  std::vector<Pin> model;  // in the order first added
  std::mt19937 rng_engine(20261130);
  auto rng = [&] { return uint32_t(rng_engine()); };
  auto name = [&] { return "ORA/at/scn:" + std::to_string(rng() % 200); };
  size_t most_lines = 0, rewrites = 0, last_lines = 1;
  uint64_t appended = 0, before = BytesWritten();
  for (int round = 0; round < 20000; ++round) {
    std::vector<Pin> add;
    std::vector<std::string> remove;
    // Mostly one pin or one unpin, as a mount does; sometimes several, a name in both, or a name twice.
    for (int i = rng() % 4 == 0 ? int(rng() % 4) : int(rng() % 2); i > 0; --i) remove.push_back(name());
    for (int i = rng() % 4 == 0 ? int(rng() % 4) : int(rng() % 2); i > 0; --i)
      add.push_back(Pin{"ORA", rng() % 5, uint64_t(rng() % 1000), rng() % 2 ? std::optional<uint32_t>(7) : std::nullopt, name()});
    ASSERT_TRUE(h.value()->Change(add, remove).ok());
    for (const auto& what : remove)
      std::erase_if(model, [&](const Pin& p) { return p.what == what; });
    for (const auto& pin : add) {
      auto it = std::find_if(model.begin(), model.end(), [&](const Pin& p) { return p.what == pin.what; });
      if (it != model.end()) *it = pin;
      else model.push_back(pin);
    }
    if (round % 50 == 0 || round > 19900) {
      const size_t lines = Lines(LogOf(*h.value()));
      EXPECT_LE(lines, 2 * model.size() + kPinLogSlackLines + 1) << "round " << round;
      most_lines = std::max(most_lines, lines);
      if (lines < last_lines) rewrites++;
      last_lines = lines;
      ASSERT_EQ(ListedPins(), model) << "round " << round;
      appended += BytesWritten() - before;
      before = BytesWritten();
    }
  }
  EXPECT_GT(most_lines, kPinLogSlackLines) << "never near its bound: the test tests nothing";
  EXPECT_GT(rewrites, 5u);
  // Rewrites and appends together: a few hundred bytes per change at most (a line is under 100).
  EXPECT_LT(appended, uint64_t(20000) * 400);
}

// A log that cannot be rewritten (a full disk) keeps taking changes: a rewrite only keeps it short.
TEST_F(PinsTest, ARewriteThatFailsDoesNotFailTheChange) {
  auto h = PinHolder::Create(dir_, "mount /mnt/x");
  ASSERT_TRUE(h.ok());
  const std::string log = LogOf(*h.value());
  fs::create_directories(log + ".tmp");  // the rewrite's temporary file cannot be made
  ASSERT_TRUE(h.value()->Change({BackupPin(1)}, {}).ok());
  for (int i = 0; i < 3000; ++i) {
    ASSERT_TRUE(h.value()->Change({BackupPin(2)}, {}).ok()) << i;
    ASSERT_TRUE(h.value()->Change({}, {"ORA/backups/2"}).ok()) << i;
  }
  EXPECT_EQ(Lines(log), 6002u);
  EXPECT_EQ(ListedPins(), std::vector<Pin>{BackupPin(1)});  // the holder's .tmp is its own while it lives
  fs::remove(log + ".tmp");
  // Not retried at every change (a full disk would cost a rewrite of every live pin per change), but soon.
  bool rewritten = false;
  for (uint32_t i = 0; i < 1100 && !rewritten; ++i) {
    const auto size = fs::file_size(log);
    ASSERT_TRUE(h.value()->Change({BackupPin(3 + i)}, {"ORA/backups/" + std::to_string(2 + i)}).ok());
    rewritten = fs::file_size(log) < size;
  }
  EXPECT_TRUE(rewritten) << "never rewritten once it could be";
  EXPECT_EQ(Lines(log), 3u);
  EXPECT_EQ(ListedPins().size(), 2u);
}

// A change is one write() of whole lines: a reader that finds a last line without its "\n" has raced the write, and
// its holder has answered no request for that change yet. A complete line that is not one the holder writes is
// damage.
TEST_F(PinsTest, ALastLineWithoutItsNewlineIsAChangeStillBeingWritten) {
  auto h = PinHolder::Create(dir_, "mount /mnt/x");
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(h.value()->Change({BackupPin(1)}, {}).ok());
  const std::string log = LogOf(*h.value());
  std::ofstream(log, std::ios::app) << R"({"pin":{"backup":2,"db":"ORA","what":"ORA/back)";
  EXPECT_EQ(ListedPins(), std::vector<Pin>{BackupPin(1)});
  std::ofstream(log, std::ios::app) << R"(ups/2"}})";  // whole, but its "\n" still to come
  EXPECT_EQ(ListedPins(), std::vector<Pin>{BackupPin(1)});
  std::ofstream(log, std::ios::app) << "\n";
  EXPECT_EQ(ListedPins(), (std::vector<Pin>{BackupPin(1), BackupPin(2)}));
  std::ofstream(log, std::ios::app) << "{\"pin\":{\"backup\":3,\"db\n";  // a complete line, cut inside
  auto cut = ListPins(dir_);
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().code(), Status::Code::kCorruption) << cut.status().ToString();
  EXPECT_NE(cut.status().message().find(log), std::string::npos) << cut.status().ToString();
}

// A prune trusts ListPins: a pin that exists but cannot be read must stop it, not count as no pin. Before, a damaged
// pin file of a live mount or a damaged clone.json was skipped (its point unpinned), and a field of the wrong type
// threw out of ListPins.
TEST_F(PinsTest, APinThatCannotBeReadIsAnErrorNotAnAbsentPin) {
  auto h = PinHolder::Create(dir_, "mount /mnt/x");
  ASSERT_TRUE(h.ok());
  const std::string file = LogOf(*h.value());
  const std::string header = ReadFile(file);
  auto expect_corrupt = [&](const std::string& bytes) {
    std::ofstream(file, std::ios::trunc) << bytes;
    auto listed = ListPins(dir_);
    ASSERT_FALSE(listed.ok()) << bytes;
    EXPECT_EQ(listed.status().code(), Status::Code::kCorruption) << listed.status().ToString();
    EXPECT_NE(listed.status().message().find(file), std::string::npos) << listed.status().ToString();
  };
  expect_corrupt("");  // a holder's log is made by rename, with its header
  expect_corrupt(R"({"holder":"mount-1-0","pid":1,"description":"x")");  // nor is its header ever cut
  expect_corrupt(R"({"pin":{"backup":3,"db":"ORA","what":"ORA/backups/3"}})" "\n");  // no header
  expect_corrupt(R"({"holder":"mount-1-0","pid":"one","description":"x","since_us":1})" "\n");
  expect_corrupt(header + R"({"pin":{"backup":"three","db":"ORA","what":"ORA/backups/3"}})" "\n");
  expect_corrupt(header + R"({"pin":{"backup":3,"db":"ORA"}})" "\n");  // no what
  expect_corrupt(header + R"({"unpin":3})" "\n");
  expect_corrupt(header + R"({"pinned":"ORA/backups/3"})" "\n");
  expect_corrupt(header + "\n");

  std::ofstream(file, std::ios::trunc) << header;
  ASSERT_TRUE(h.value()->Change({Pin{"ORA", 3, std::nullopt, std::nullopt, "backups/3"}}, {}).ok());
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

// Writes `path` full of zeros until the file system has no room left.
void FillUp(const std::string& path) {
  std::ofstream out(path, std::ios::binary);
  const std::string block(4096, '\0');
  while (out.write(block.data(), block.size()) && out.flush()) {}
}

// The store's disk fills: the reserve gives the pins room; once that is used up too, a change that does not fit
// fails and leaves the log as it was, not with a part of a line that the next change would be glued to, and the
// same change is written once there is room again. The mount retries a failed change with its next flush; a change
// taken as written before its write made the retry write nothing, and the file kept saying "no pins" for good.
TEST_F(PinsTest, AChangeThatDoesNotFitLeavesTheLogAsItWasAndIsWrittenWhenRetried) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  const std::string small = tmp_.path() + "/small";
  fs::create_directories(small);
  ASSERT_EQ(::mount("tmpfs", small.c_str(), "tmpfs", 0, "size=2m"), 0) << std::strerror(errno);
  struct Unmount {
    std::string path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{small};
  auto h = PinHolder::Create(small, "mount /mnt/x");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  const std::string log = small + "/pins/" + h.value()->holder() + ".pins";
  ASSERT_TRUE(fs::exists(small + "/pins/" + h.value()->holder() + ".reserve"));
  ASSERT_TRUE(h.value()->Change({BackupPin(1)}, {}).ok());

  FillUp(small + "/fill1");
  std::vector<Pin> many;  // more than the room left in the log's last page
  for (uint32_t i = 100; i < 300; ++i) many.push_back(Pin{"ORA", i, std::nullopt, std::nullopt, std::string(60, 'x') + std::to_string(i)});
  ASSERT_TRUE(h.value()->Change(many, {}).ok()) << "the reserve is for this";
  EXPECT_FALSE(fs::exists(small + "/pins/" + h.value()->holder() + ".reserve"));

  FillUp(small + "/fill2");
  const std::string before = ReadFile(log);
  std::vector<Pin> more;
  for (uint32_t i = 300; i < 500; ++i) more.push_back(Pin{"ORA", i, std::nullopt, std::nullopt, std::string(60, 'y') + std::to_string(i)});
  more.push_back(BackupPin(2));
  for (int attempt = 0; attempt < 2; ++attempt) {
    const Status st = h.value()->Change(more, {"ORA/backups/1"});
    ASSERT_FALSE(st.ok());
    EXPECT_TRUE(st.IsNoSpace()) << st.ToString();
    EXPECT_EQ(ReadFile(log), before) << "a part of the change is left in the log";
  }
  std::vector<Pin> expected{BackupPin(1)};
  expected.insert(expected.end(), many.begin(), many.end());
  EXPECT_EQ(ListedPins(small), expected);

  fs::remove(small + "/fill2");
  ASSERT_TRUE(h.value()->Change(more, {"ORA/backups/1"}).ok());
  ASSERT_TRUE(h.value()->Change({BackupPin(3)}, {}).ok());
  expected.erase(expected.begin());
  expected.insert(expected.end(), more.begin(), more.end());
  expected.push_back(BackupPin(3));
  EXPECT_EQ(ListedPins(small), expected);
  h.value().reset();  // its files, before the tmpfs goes
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
    if (!h.ok() || !h.value()->Change({Pin{"ORA", 1, std::nullopt, std::nullopt, "backups/1"}}, {}).ok()) return 1;
    if (::write(ready[1], "k", 1) != 1) return 2;
    for (int i = 0; i < 3000 && !fs::exists(release); ++i) ::usleep(10000);
    return 0;
  });
  char c = 0;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  const pid_t second = InNewPidNamespace([&] {
    auto h = PinHolder::Create(dir_, "mount in container 2");
    return h.ok() && h.value()->Change({Pin{"ORA", 2, std::nullopt, std::nullopt, "backups/2"}}, {}).ok() ? 0 : 1;
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
