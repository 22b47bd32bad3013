#include "scnfs/pins.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <filesystem>
#include <fstream>
#include <optional>
#include <iterator>
#include <random>
#include <stdexcept>
#include <string_view>
#include <unordered_map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "util/clock.h"
#include "util/durable_file.h"
#include "util/json_text.h"

namespace scnfs {
namespace fs = std::filesystem;

namespace {

constexpr const char* kPinsDir = "pins";

nlohmann::json PinToJson(const Pin& p) {
  nlohmann::json j{{"db", p.db}, {"backup", p.backup}};
  if (p.scn) j["scn"] = *p.scn;
  if (p.last_backup) j["last_backup"] = *p.last_backup;
  j["what"] = p.what;
  return j;
}

// Throws nlohmann::json::exception on a missing field or one of the wrong type; the readers turn that into a Status.
Pin PinFromJson(const nlohmann::json& p, bool what_required) {
  Pin pin;
  pin.db = p.at("db").get<std::string>();
  pin.backup = p.at("backup").get<uint32_t>();
  if (p.contains("scn")) pin.scn = p["scn"].get<uint64_t>();
  if (p.contains("last_backup")) pin.last_backup = p["last_backup"].get<uint32_t>();
  pin.what = what_required ? p.at("what").get<std::string>() : p.value("what", "");
  return pin;
}

std::string HeaderLine(const PinSet& s) {
  return JsonText({{"holder", s.holder}, {"pid", s.pid}, {"description", s.description}, {"since_us", s.since_us}}) +
         "\n";
}

std::string PinLine(const Pin& p) { return JsonText({{"pin", PinToJson(p)}}) + "\n"; }
std::string UnpinLine(const std::string& what) { return JsonText({{"unpin", what}}) + "\n"; }

// A <holder>.json of an earlier build: the whole set in one object. Read while its holder lives (a mount started
// before an upgrade), removed with its holder otherwise (docs/pins.md).
PinSet FromJson(const nlohmann::json& j) {
  PinSet s;
  s.holder = j.value("holder", "");
  s.pid = j.value("pid", 0);
  s.description = j.value("description", "");
  s.since_us = j.value("since_us", int64_t{0});
  for (const auto& p : j.value("pins", nlohmann::json::array())) s.pins.push_back(PinFromJson(p, false));
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

Status Unreadable(const fs::path& path, std::string_view why) {
  return Status::Corruption(fmt::format("the pins in {} cannot be read ({}); nothing may be pruned until it is "
                                        "repaired or removed", path.string(), why));
}

// The bytes of a pin file of a live holder or a clone. nullopt: the file is gone (its holder ended, the clone was
// destroyed, since the directory was listed). Anything else that keeps it from being read is an error: a prune
// trusts this list, and a pin skipped because it could not be read would let it delete what is being served.
Result<std::optional<std::string>> ReadPinBytes(const fs::path& path) {
  errno = 0;
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    const int err = errno ? errno : EIO;
    // Gone: a holder's file goes when it ends; a clone's record goes with its directory (renamed away, then
    // deleted). A clone directory without its record is damage, not the absence of a pin.
    std::error_code ec;
    if (err == ENOENT && (path.filename() != "clone.json" || !fs::exists(path.parent_path(), ec)))
      return std::optional<std::string>();
    return Status::FromErrno(err, fmt::format("cannot read the pins in {}", path.string()));
  }
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return Status::FromErrno(errno ? errno : EIO, fmt::format("cannot read the pins in {}", path.string()));
  return std::optional<std::string>(std::move(bytes));
}

// A whole JSON object (clone.json, an earlier build's <holder>.json), written by rename: one that opens is whole, so
// one that does not parse is damaged, not half-written.
template <typename Parse>
Result<std::optional<PinSet>> ReadPinObject(const fs::path& path, Parse parse) {
  SCNFS_ASSIGN_OR_RETURN(std::optional<std::string> bytes, ReadPinBytes(path));
  if (!bytes) return std::optional<PinSet>();
  auto j = nlohmann::json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  try {
    if (!j.is_object()) throw std::invalid_argument("not a JSON object");
    return std::optional<PinSet>(parse(j));
  } catch (const std::exception& e) {
    return Unreadable(path, e.what());
  }
}

// Replays a holder's log. Its first line is the header (Create writes it by rename, so a log never lacks it); a last
// line without "\n" is a change still being written, whose holder has answered no request for it yet: ignored.
// Any complete line that is not what the holder writes is damage.
Result<PinSet> ReplayPinLog(const fs::path& path, std::string_view bytes) {
  PinSet set;
  // The pins in the order first added; an unpinned one leaves an empty slot, so that a removal costs O(1).
  std::vector<std::optional<Pin>> slots;
  std::unordered_map<std::string, size_t> slot_of;
  size_t line_no = 0;
  try {
    for (size_t pos = 0, eol; (eol = bytes.find('\n', pos)) != std::string_view::npos; pos = eol + 1) {
      ++line_no;
      auto j = nlohmann::json::parse(bytes.substr(pos, eol - pos), nullptr, /*allow_exceptions=*/false);
      if (!j.is_object()) throw std::invalid_argument("not a JSON object");
      if (line_no == 1) {
        set.holder = j.at("holder").get<std::string>();
        set.pid = j.at("pid").get<int>();
        set.description = j.at("description").get<std::string>();
        set.since_us = j.at("since_us").get<int64_t>();
      } else if (j.size() == 1 && j.contains("pin")) {
        Pin pin = PinFromJson(j["pin"], true);
        if (auto it = slot_of.find(pin.what); it != slot_of.end()) {
          slots[it->second] = std::move(pin);  // replaced in place
        } else {
          slot_of.emplace(pin.what, slots.size());
          slots.push_back(std::move(pin));
        }
      } else if (j.size() == 1 && j.contains("unpin")) {
        if (auto it = slot_of.find(j["unpin"].get<std::string>()); it != slot_of.end()) {
          slots[it->second].reset();
          slot_of.erase(it);
        }
      } else {
        throw std::invalid_argument("neither a pin nor an unpin");
      }
    }
  } catch (const std::exception& e) {
    return Unreadable(path, fmt::format("line {}: {}", line_no, e.what()));
  }
  if (line_no == 0) return Unreadable(path, "no header line");
  for (auto& s : slots)
    if (s) set.pins.push_back(std::move(*s));
  return set;
}

}  // namespace

Result<std::unique_ptr<PinHolder>> PinHolder::Create(const std::string& store_dir, const std::string& description) {
  static std::atomic<int> counter{0};
  std::unique_ptr<PinHolder> h(new PinHolder());
  h->dir_ = (fs::path(store_dir) / kPinsDir).string();
  std::error_code ec;
  fs::create_directories(h->dir_, ec);
  if (ec) return Status::FromErrno(ec.value(), fmt::format("cannot create {}", h->dir_));
  h->header_.pid = ::getpid();
  h->header_.description = description;
  h->header_.since_us = NowMicros();
  // The name must be the holder's alone. A pid is not: mounts in two containers (PID namespaces) sharing a store,
  // or two hosts sharing it over NFS, had the same pid, and the second one, failing to take the first's lock,
  // removed the first's pin files on its way out (found 2026-11-30). A random part makes a clash all but
  // impossible; a lock that is taken even so is some other holder's: another name is tried, its files untouched.
  std::random_device random;
  for (int attempt = 0;; ++attempt) {
    h->header_.holder = fmt::format("mount-{}-{}-{:08x}", ::getpid(), counter++, random());
    const std::string lock = fmt::format("{}/{}.lock", h->dir_, h->header_.holder);
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
  // Room for the log to grow once the disk is full (Change): a point is served only when its pin is written, and a
  // full disk is when a DBA most needs to read a backup. Best effort: without it, pins fail with the disk.
  const std::string reserve = fmt::format("{}/{}.reserve", h->dir_, h->header_.holder);
  if (int fd = ::open(reserve.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644); fd >= 0) {
    h->reserved_ = ::posix_fallocate(fd, 0, kPinReserveBytes) == 0;
    ::close(fd);
    if (!h->reserved_) ::unlink(reserve.c_str());
  }
  std::lock_guard<std::mutex> l(h->mu_);
  // By rename, so that a log exists only with its whole header: a reader takes one without it for damage.
  SCNFS_RETURN_IF_ERROR(h->RewriteLocked());
  return h;
}

PinHolder::~PinHolder() {
  if (lock_fd_ < 0) return;
  // The log goes first: a lister that finds a .lock without a .pins ignores it.
  ::unlink(LogPath().c_str());
  ::unlink(fmt::format("{}/{}.reserve", dir_, header_.holder).c_str());
  ::unlink(fmt::format("{}/{}.lock", dir_, header_.holder).c_str());
  if (log_fd_ >= 0) ::close(log_fd_);
  ::close(lock_fd_);
}

std::string PinHolder::LogPath() const { return fmt::format("{}/{}.pins", dir_, header_.holder); }

Status PinHolder::Change(const std::vector<Pin>& add, const std::vector<std::string>& remove) {
  std::lock_guard<std::mutex> l(mu_);
  // The lines, and what each does to live_ once written. `staged` is what this change has made of a name so far
  // (nullptr: removed): live_ itself changes only once the write succeeded, so a failed change leaves the holder
  // as it leaves the file, and the same change asked for again is written again.
  std::string lines;
  std::vector<std::pair<const std::string*, const Pin*>> ops;  // (name, its pin or nullptr for an unpin)
  std::unordered_map<std::string_view, const Pin*> staged;
  auto current = [&](const std::string& what) -> const Pin* {
    if (auto it = staged.find(what); it != staged.end()) return it->second;
    auto it = by_what_.find(what);
    return it == by_what_.end() ? nullptr : &*it->second;
  };
  for (const auto& what : remove) {
    if (current(what) == nullptr) continue;
    lines += UnpinLine(what);
    ops.emplace_back(&what, nullptr);
    staged[what] = nullptr;
  }
  for (const auto& pin : add) {
    if (const Pin* now = current(pin.what); now != nullptr && *now == pin) continue;
    lines += PinLine(pin);
    ops.emplace_back(&pin.what, &pin);
    staged[pin.what] = &pin;
  }
  if (ops.empty()) return Status::OK();

  Status st = AppendLocked(lines);
  if (st.IsNoSpace() && reserved_) {  // the disk is full: give the reserve up to the pins
    ::unlink(fmt::format("{}/{}.reserve", dir_, header_.holder).c_str());
    reserved_ = false;
    st = AppendLocked(lines);
  }
  if (!st.ok()) return st;

  for (const auto& [what, pin] : ops) {
    auto it = by_what_.find(*what);
    if (pin == nullptr) {
      live_.erase(it->second);
      by_what_.erase(it);
    } else if (it != by_what_.end()) {
      *it->second = *pin;  // in place: the log's replay keeps a pin where it was first added
    } else {
      by_what_.emplace(*what, live_.insert(live_.end(), *pin));
    }
  }
  log_lines_ += ops.size();
  CompactIfDueLocked();
  return Status::OK();
}

// One write() per change (looped only on a short write), so that a reader sees the change's lines all at once or as
// a last line without its "\n". No fsync: a pin means something only while its holder's lock is held, so after a
// crash (the only thing an fsync guards against) it is void anyway. It was ~1 ms of every first lookup of a backup
// through a mount.
Status PinHolder::AppendLocked(const std::string& lines) {
  const std::string path = LogPath();
  if (log_fd_ < 0) {
    log_fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
    if (log_fd_ < 0) return Status::FromErrno(errno, fmt::format("cannot open {}", path));
  }
  if (cut_pending_) {
    if (::ftruncate(log_fd_, log_bytes_) != 0) return Status::FromErrno(errno, fmt::format("cannot write {}", path));
    cut_pending_ = false;
  }
  size_t done = 0;
  int err = 0;
  while (done < lines.size()) {
    const ssize_t n = ::write(log_fd_, lines.data() + done, lines.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      err = n < 0 ? errno : ENOSPC;
      break;
    }
    done += size_t(n);
  }
  if (err == 0) {
    log_bytes_ += off_t(lines.size());
    return Status::OK();
  }
  // Cut what got in: a partial line left there would be glued to the next change's first line, and the log would
  // say what no change said. Shrinking a file needs no space, so this works on a full disk.
  if (done > 0 && ::ftruncate(log_fd_, log_bytes_) != 0) cut_pending_ = true;
  return Status::FromErrno(err, fmt::format("cannot write {}", path));
}

Status PinHolder::RewriteLocked() {
  const std::string path = LogPath();
  std::string bytes = HeaderLine(header_);
  for (const auto& pin : live_) bytes += PinLine(pin);
  SCNFS_RETURN_IF_ERROR(WriteFileAtomically(path, bytes));
  if (log_fd_ >= 0) ::close(log_fd_);  // the replaced log's: appends to it would reach no reader
  log_fd_ = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  log_bytes_ = off_t(bytes.size());
  log_lines_ = live_.size() + 1;
  cut_pending_ = false;
  // The log on disk is the new one either way; one that did not reopen is reopened by the next append.
  if (log_fd_ < 0) return Status::FromErrno(errno, fmt::format("cannot open {}", path));
  return Status::OK();
}

// Keeps the log bounded by the live pins. Never fails a change: the change is in the log already, and a log that
// could not be rewritten (a full disk) only stays longer. The next try waits for live pins + 1024 more lines, so that a
// full disk does not cost a rewrite of every live pin per change.
void PinHolder::CompactIfDueLocked() {
  if (log_lines_ <= 2 * live_.size() + kPinLogSlackLines || log_lines_ < rewrite_not_before_lines_) return;
  const Status st = RewriteLocked();
  if (!st.ok()) rewrite_not_before_lines_ = log_lines_ + live_.size() + kPinLogSlackLines;
}

Result<std::vector<PinSet>> ListPins(const std::string& store_dir) {
  std::vector<PinSet> out;
  const fs::path dir = fs::path(store_dir) / kPinsDir;
  std::error_code ec;
  const bool have_holders = fs::exists(dir, ec);
  for (const auto& e : have_holders ? fs::directory_iterator(dir, ec) : fs::directory_iterator()) {
    // A holder's name has no '.': what follows the first one says which of its files this is.
    const std::string name = e.path().filename();
    const std::string holder = name.substr(0, name.find('.'));
    const std::string kind = name.substr(holder.size());
    const fs::path lock = dir / (holder + ".lock");
    if (kind == ".reserve" || kind == ".pins.tmp") {  // a dead holder's reserve, or its rewrite cut short, goes with it
      int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) == 0) fs::remove(e.path(), ec);
      if (fd >= 0) ::close(fd);
      continue;
    }
    // .json: the whole set, as earlier builds wrote it (docs/pins.md); a mount started before an upgrade still does.
    if (kind != ".pins" && kind != ".json") continue;
    // Read-only is enough for flock, and works for a lister that is not the holder's user.
    int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {  // a holder never creates its pins before its .lock: this one is a leftover
      fs::remove(e.path(), ec);
      continue;
    }
    if (fd < 0) return Status::FromErrno(errno, fmt::format("cannot check the holder of {}", e.path().string()));
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) {  // nobody holds it: the holder died without cleaning up
      fs::remove(e.path(), ec);
      fs::remove(dir / (holder + ".reserve"), ec);
      fs::remove(lock, ec);
      ::close(fd);
      continue;
    }
    ::close(fd);
    std::optional<PinSet> set;
    if (kind == ".json") {
      SCNFS_ASSIGN_OR_RETURN(set, ReadPinObject(e.path(), [](const nlohmann::json& j) { return FromJson(j); }));
    } else {
      SCNFS_ASSIGN_OR_RETURN(std::optional<std::string> bytes, ReadPinBytes(e.path()));
      if (bytes) {
        SCNFS_ASSIGN_OR_RETURN(set, ReplayPinLog(e.path(), *bytes));
      }
    }
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
      SCNFS_ASSIGN_OR_RETURN(std::optional<PinSet> set, ReadPinObject(e.path() / "clone.json", [&](const nlohmann::json& j) {
                               return FromCloneJson(j, name);
                             }));
      if (set) out.push_back(std::move(*set));
    }
    if (ec) return Status::FromErrno(ec.value(), fmt::format("cannot read {}", clones.string()));
  }
  return out;
}

}  // namespace scnfs
