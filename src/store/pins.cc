#include "scnfs/pins.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <random>
#include <stdexcept>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/clock.h"
#include "util/durable_file.h"
#include "util/json_text.h"

namespace scnfs {
namespace fs = std::filesystem;

namespace {

constexpr const char* kPinsDir = "pins";

nlohmann::json ToJson(const PinSet& s) {
  nlohmann::json pins = nlohmann::json::array();
  for (const auto& p : s.pins) {
    nlohmann::json j{{"db", p.db}, {"backup", p.backup}, {"what", p.what}};
    if (p.scn) j["scn"] = *p.scn;
    if (p.last_backup) j["last_backup"] = *p.last_backup;
    pins.push_back(std::move(j));
  }
  return {{"holder", s.holder}, {"pid", s.pid}, {"description", s.description}, {"since_us", s.since_us},
          {"pins", std::move(pins)}};
}

// Throws nlohmann::json::exception on a field of the wrong type; ReadPinFile turns that into a Status.
PinSet FromJson(const nlohmann::json& j) {
  PinSet s;
  s.holder = j.value("holder", "");
  s.pid = j.value("pid", 0);
  s.description = j.value("description", "");
  s.since_us = j.value("since_us", int64_t{0});
  for (const auto& p : j.value("pins", nlohmann::json::array())) {
    Pin pin;
    pin.db = p.at("db").get<std::string>();
    pin.backup = p.at("backup").get<uint32_t>();
    if (p.contains("scn")) pin.scn = p["scn"].get<uint64_t>();
    if (p.contains("last_backup")) pin.last_backup = p["last_backup"].get<uint32_t>();
    pin.what = p.value("what", "");
    s.pins.push_back(std::move(pin));
  }
  return s;
}

// A clone's record (clone.json) as the pin of its point.
PinSet FromCloneJson(const nlohmann::json& j, const std::string& name) {
  PinSet set;
  set.holder = "clone-" + name;
  set.description = "clone " + name;
  set.since_us = j.value("created_us", int64_t{0});
  Pin pin;
  pin.db = j.at("db").get<std::string>();
  pin.backup = j.at("base_backup").get<uint32_t>();
  if (j.contains("scn")) pin.scn = j["scn"].get<uint64_t>();
  if (pin.scn && j.contains("last_backup")) pin.last_backup = j["last_backup"].get<uint32_t>();
  pin.what = "clones/" + name;
  set.pins.push_back(std::move(pin));
  return set;
}

// Reads a pin file of a live holder or a clone. nullopt: the file is gone (its holder ended, the clone was
// destroyed, since the directory was listed). Anything else that keeps it from being read is an error: a prune
// trusts this list, and a pin skipped because it could not be read would let it delete what is being served.
template <typename Parse>
Result<std::optional<PinSet>> ReadPinFile(const fs::path& path, Parse parse) {
  errno = 0;
  std::ifstream in(path);
  if (!in) {
    const int err = errno ? errno : EIO;
    // Gone: a holder's file goes when it ends; a clone's record goes with its directory (renamed away, then
    // deleted). A clone directory without its record is damage, not the absence of a pin.
    std::error_code ec;
    if (err == ENOENT && (path.filename() != "clone.json" || !fs::exists(path.parent_path(), ec)))
      return std::optional<PinSet>();
    return Status::FromErrno(err, fmt::format("cannot read the pins in {}", path.string()));
  }
  auto j = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  try {
    if (!j.is_object()) throw std::invalid_argument("not a JSON object");
    return std::optional<PinSet>(parse(j));
  } catch (const std::exception& e) {
    return Status::Corruption(fmt::format("the pins in {} cannot be read ({}); nothing may be pruned until it is "
                                          "repaired or removed", path.string(), e.what()));
  }
}

}  // namespace

Result<std::unique_ptr<PinHolder>> PinHolder::Create(const std::string& store_dir, const std::string& description) {
  static std::atomic<int> counter{0};
  std::unique_ptr<PinHolder> h(new PinHolder());
  h->dir_ = (fs::path(store_dir) / kPinsDir).string();
  std::error_code ec;
  fs::create_directories(h->dir_, ec);
  if (ec) return Status::FromErrno(ec.value(), fmt::format("cannot create {}", h->dir_));
  h->set_.pid = ::getpid();
  h->set_.description = description;
  h->set_.since_us = NowMicros();
  // The name must be the holder's alone. A pid is not: mounts in two containers (PID namespaces) sharing a store,
  // or two hosts sharing it over NFS, had the same pid, and the second one, failing to take the first's lock,
  // removed the first's pin files on its way out (found 2026-11-30). A random part makes a clash all but
  // impossible; a lock that is taken even so is some other holder's: another name is tried, its files untouched.
  std::random_device random;
  for (int attempt = 0;; ++attempt) {
    h->set_.holder = fmt::format("mount-{}-{}-{:08x}", ::getpid(), counter++, random());
    const std::string lock = fmt::format("{}/{}.lock", h->dir_, h->set_.holder);
    const int fd = ::open(lock.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno(errno, fmt::format("cannot create {}", lock));
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {
      h->lock_fd_ = fd;  // from here on the files are this holder's, removed by its destructor
      break;
    }
    const int err = errno;
    ::close(fd);
    if (err != EWOULDBLOCK || attempt == 7) return Status::FromErrno(err, fmt::format("cannot lock {}", lock));
  }
  // Room for the pin file to grow once the disk is full (Set): a point is served only when its pin is written, and a
  // full disk is when a DBA most needs to read a backup. Best effort: without it, pins fail with the disk.
  const std::string reserve = fmt::format("{}/{}.reserve", h->dir_, h->set_.holder);
  if (int fd = ::open(reserve.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644); fd >= 0) {
    h->reserved_ = ::posix_fallocate(fd, 0, kPinReserveBytes) == 0;
    ::close(fd);
    if (!h->reserved_) ::unlink(reserve.c_str());
  }
  std::lock_guard<std::mutex> l(h->mu_);
  SCNFS_RETURN_IF_ERROR(h->WriteLocked());
  return h;
}

PinHolder::~PinHolder() {
  if (lock_fd_ < 0) return;
  // The .json goes first: a lister that finds a .lock without a .json ignores it.
  ::unlink(fmt::format("{}/{}.json", dir_, set_.holder).c_str());
  ::unlink(fmt::format("{}/{}.reserve", dir_, set_.holder).c_str());
  ::unlink(fmt::format("{}/{}.lock", dir_, set_.holder).c_str());
  ::close(lock_fd_);
}

Status PinHolder::Set(std::vector<Pin> pins) {
  std::lock_guard<std::mutex> l(mu_);
  if (pins == set_.pins && written_) return Status::OK();
  set_.pins = std::move(pins);
  // Until a write succeeds the file still says the old set: the same set asked for again must be written again
  // (the mount retries on its next change; a full disk must not leave what it serves unpinned for good).
  Status st = WriteLocked();
  if (st.IsNoSpace() && reserved_) {  // the disk is full: give the reserve up to the pins
    ::unlink(fmt::format("{}/{}.reserve", dir_, set_.holder).c_str());
    reserved_ = false;
    st = WriteLocked();
  }
  written_ = st.ok();
  return st;
}

// No fsync: a pin set means something only while its holder's lock is held, so after a crash (the only thing an
// fsync guards against) it is void anyway. It was ~1 ms of every first lookup of a backup through a mount.
Status PinHolder::WriteLocked() {
  return WriteFileAtomically((fs::path(dir_) / (set_.holder + ".json")).string(), JsonText(ToJson(set_), 2) + "\n");
}

Result<std::vector<PinSet>> ListPins(const std::string& store_dir) {
  std::vector<PinSet> out;
  const fs::path dir = fs::path(store_dir) / kPinsDir;
  std::error_code ec;
  const bool have_holders = fs::exists(dir, ec);
  for (const auto& e : have_holders ? fs::directory_iterator(dir, ec) : fs::directory_iterator()) {
    if (e.path().extension() == ".reserve") {  // a dead holder's reserve goes with it
      int fd = ::open(fs::path(e.path()).replace_extension(".lock").c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) == 0) fs::remove(e.path(), ec);
      if (fd >= 0) ::close(fd);
      continue;
    }
    if (e.path().extension() != ".json") continue;
    const fs::path lock = fs::path(e.path()).replace_extension(".lock");
    // Read-only is enough for flock, and works for a lister that is not the holder's user.
    int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {  // a holder never creates a .json before its .lock: this one is a leftover
      fs::remove(e.path(), ec);
      continue;
    }
    if (fd < 0) return Status::FromErrno(errno, fmt::format("cannot check the holder of {}", e.path().string()));
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {  // nobody holds it: the holder died without cleaning up
      fs::remove(e.path(), ec);
      fs::remove(fs::path(e.path()).replace_extension(".reserve"), ec);
      fs::remove(lock, ec);
      ::close(fd);
      continue;
    }
    ::close(fd);
    // Written by rename, so a file that opens is whole: one that does not parse is damaged, not half-written.
    SCNFS_ASSIGN_OR_RETURN(std::optional<PinSet> set, ReadPinFile(e.path(), [](const nlohmann::json& j) { return FromJson(j); }));
    if (set) out.push_back(std::move(*set));
  }
  if (ec) return Status::FromErrno(ec.value(), fmt::format("cannot read {}", dir.string()));
  // Every clone pins its point for as long as it exists (docs/clones.md), mounted or not. A clone's directory gets
  // its name by rename once complete, and loses it by rename before it is deleted ('.'-names are neither).
  const fs::path clones = fs::path(store_dir) / "clones";
  if (fs::exists(clones, ec)) {
    for (const auto& e : fs::directory_iterator(clones, ec)) {
      const std::string name = e.path().filename();
      if (name.empty() || name[0] == '.') continue;
      SCNFS_ASSIGN_OR_RETURN(std::optional<PinSet> set,
                             ReadPinFile(e.path() / "clone.json", [&](const nlohmann::json& j) { return FromCloneJson(j, name); }));
      if (set) out.push_back(std::move(*set));
    }
    if (ec) return Status::FromErrno(ec.value(), fmt::format("cannot read {}", clones.string()));
  }
  return out;
}

}  // namespace scnfs
