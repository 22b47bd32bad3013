#include "fuse/mount_tree.h"
#include "fuse/mount_tree_inodes.h"

#include <malloc.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "scnfs/clone.h"
#include "util/clock.h"
#include "util/record_path.h"

namespace scnfs {
namespace {
// An inode of a clone the mount let go of (`clone destroy`): ESTALE, so that the kernel looks its path up again
// (finding a clone made since under the name, or nothing) instead of taking the inode for gone or read-only.
Status LetGoStatus(const std::string& name) {
  return Status::FromErrno(ESTALE, fmt::format("clone {} was let go by the mount for clone destroy", name));
}

timespec Ts(int64_t us) { return timespec{time_t(us / 1000000), long(us % 1000000) * 1000}; }

struct stat DirStat(int64_t us) {
  struct stat st {};
  st.st_mode = S_IFDIR | 0555;
  st.st_nlink = 2;
  st.st_atim = st.st_mtim = st.st_ctim = Ts(us);
  return st;
}

}  // namespace

uint64_t DbIno(uint32_t db_slot, int k) { return kDbBase + kDbStride * uint64_t(db_slot) + uint64_t(k); }
uint64_t PointIno(uint32_t point_slot, uint32_t local) { return (uint64_t(point_slot) + 1) << 32 | local; }

MountTree::MountTree(Store* store, PinHolder* pins, MountTreeOptions options)
    : store_(store), pins_(pins), options_(options), mounted_us_(NowMicros()),
      dicts_(std::make_shared<Dictionaries>(store)) {}

Status MountTree::CatchUp(bool now) {
  // Not under mu_: catching up reads the writer's new WAL and took 5-300 ms a time during a backup, and the reads,
  // lookups, opens and releases of views already built must not wait for it. One thread at a time does it; the
  // catalog listing that follows (RefreshLocked) is quick and done under mu_.
  const auto requested = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> c(catch_up_mu_, std::try_to_lock);
  if (!c.owns_lock()) {
    if (!now) return Status::OK();  // another request is catching up: the listing it replaces is recent enough
    c.lock();
  }
  const auto at = std::chrono::steady_clock::now();
  const uint64_t done = catch_ups_.load(std::memory_order_acquire);
  if (done > 0 && now && caught_up_ >= requested) return caught_up_status_;  // one begun since this request covers it
  if (done > 0 && !now && at - caught_up_ < options_.refresh) return caught_up_status_;
  // A failed catch-up counts as begun too: a store that cannot be caught up with is tried again `refresh` after the
  // failure, also for requests that want the newest state (each attempt opens a catalog instance and waits out two
  // retries), not on every request.
  if (done > 0 && now && !caught_up_status_.ok() && at - caught_up_ < options_.refresh) return caught_up_status_;
  caught_up_ = at;
  caught_up_status_ = Status::OK();
  if (done > 0) {  // the first counts the open, which saw everything committed until then
    if (options_.before_catch_up) options_.before_catch_up();
    caught_up_status_ = store_->Refresh();
    SCNFS_RETURN_IF_ERROR(caught_up_status_);
  }
  catch_ups_.store(done + 1, std::memory_order_release);
  return Status::OK();
}

void MountTree::NoteCatchUpFailure(const Status& st) {
  if (!st.ok() && options_.on_catch_up_failure) options_.on_catch_up_failure(st);
}

void MountTree::CatchUpFor(uint64_t ino) {
  Decoded d = Decoded::Of(ino);
  if (d.kind == Decoded::kRoot || d.kind == Decoded::kDb) NoteCatchUpFailure(CatchUp());
}

Status MountTree::CatchUpForLookup(uint64_t parent, std::string_view name) {
  Decoded d = Decoded::Of(parent);
  if (d.kind == Decoded::kRoot) {
    // A database this mount has not listed: its first backup may have ended a moment ago (`scnfs backup` of a new
    // database, then `ls MOUNT/<db>` waited for the next listing, up to `refresh`).
    bool known = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = db_by_name_.find(name);
      known = it != db_by_name_.end() && dbs_[it->second].record.has_value();
    }
    Status st = CatchUp(/*now=*/!known);
    if (known) NoteCatchUpFailure(st);
    return known ? Status::OK() : st;
  }
  if (d.kind == Decoded::kDb && d.local == kClonesDir) {
    // A clone's record names the newest backup it reads (clone.json, written by another process): a clone made
    // moments ago may name one this mount has not seen, whose failed neighbours it could then not hide. So the
    // first lookup of an existing clone, before the mount opens it, always catches up.
    bool open = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      auto it = clone_by_key_.find(std::pair(d.slot, std::string(name)));
      open = it != clone_by_key_.end() && clones_[it->second].fs != nullptr;
    }
    std::error_code ec;
    if (!open && std::filesystem::exists(CloneDir(store_->dir(), std::string(name)) + "/clone.json", ec))
      return CatchUp(/*now=*/true);
  }
  if (d.kind == Decoded::kDb && (d.local == kAtDir || d.local == kBackupsDir)) {
    // A point this mount has not resolved yet is resolved against everything committed before the lookup: with a
    // listing up to `refresh` old, at/scn:X right after the backup that reached X served the backup before, and
    // kept serving it for the mount's life (found 2026-11-30); backups/N of a backup that just ended was ENOENT.
    // Names that cannot be points do not pay for a catch-up.
    const bool could_be = d.local == kAtDir ? ParsePointSpec(name).ok()
                                            : !name.empty() && name.find_first_not_of("0123456789") == std::string_view::npos;
    bool known = false, open_ended = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (d.local == kAtDir) {
        auto it = point_by_key_.find(std::pair(d.slot, fmt::format("at/{}", name)));
        known = it != point_by_key_.end();
        open_ended = known && points_.at(it->second).open_ended;  // a newer backup may select differently
      } else if (d.slot < dbs_.size()) {  // a backup the listing has as complete needs no catch-up to be found
        uint32_t id = 0;
        std::from_chars(name.data(), name.data() + name.size(), id);
        const auto& backups = dbs_[d.slot].backups;
        known = dbs_[d.slot].backups_fresh &&
                std::any_of(backups.begin(), backups.end(),
                            [&](const BackupRecord& b) { return b.id == id && b.state == BackupState::kComplete; });
      }
    }
    if (could_be && !known) return CatchUp(/*now=*/true);
    // An open-ended point asks for the newest backups, but serves what it has if the store cannot say.
    if (open_ended) {
      NoteCatchUpFailure(CatchUp(/*now=*/true));
      return Status::OK();
    }
  }
  CatchUpFor(parent);
  return Status::OK();
}

Status MountTree::RefreshLocked() {
  const uint64_t done = catch_ups_.load(std::memory_order_acquire);
  if (done == listed_after_) return Status::OK();
  // Read before the lists: a write between the two makes the next catch-up read them again, never miss it.
  const uint64_t sequence = store_->CatalogSequence();
  if (sequence != listed_sequence_) {
    SCNFS_ASSIGN_OR_RETURN(auto dbs, Catalog(store_).ListDatabases());
    for (auto& s : dbs_) s.record.reset();
    for (auto& rec : dbs) {
      DbSlot& s = dbs_[DbSlotFor(rec.name)];
      s.record = std::move(rec);
      s.backups_fresh = false;
    }
    listed_sequence_ = sequence;
    catalog_listings_.fetch_add(1);
  }
  listed_after_ = done;
  return Status::OK();
}

uint32_t MountTree::DbSlotFor(const std::string& name) {
  if (auto it = db_by_name_.find(name); it != db_by_name_.end()) return it->second;
  uint32_t slot = uint32_t(dbs_.size());
  dbs_.push_back(DbSlot{name, std::nullopt, {}, false, {}});
  db_by_name_.emplace(name, slot);
  return slot;
}

Status MountTree::LoadBackupsLocked(DbSlot& db) {
  if (db.backups_fresh) return Status::OK();
  if (!db.record) return Status::NotFound(fmt::format("database '{}' is no longer in the store", db.name));
  SCNFS_ASSIGN_OR_RETURN(db.backups, Catalog(store_).ListBackups(db.record->id));
  db.backups_fresh = true;
  return Status::OK();
}

const BackupRecord* MountTree::NewestComplete(const DbSlot& db) const { return scnfs::NewestComplete(db.backups); }

MountTree::PointSlot* MountTree::SlotLocked(uint32_t p) {
  auto it = points_.find(p);
  return it == points_.end() ? nullptr : &it->second;
}

Result<uint32_t> MountTree::NewPointLocked() {
  // (p+1) << 32 must stay below the clone bit (1 << 63): 2^31 points, one a second for 68 years.
  if (next_point_ >= (uint32_t(1) << 31) - 1) return Status::Busy("this mount has used every point number; remount it");
  return next_point_++;
}

Result<uint32_t> MountTree::BackupPointNumberLocked(uint32_t d, uint32_t id) {
  DbSlot& db = dbs_[d];
  if (db.backup_points.size() <= id) db.backup_points.resize(size_t(id) + 1, 0);
  if (db.backup_points[id] == 0) {
    SCNFS_ASSIGN_OR_RETURN(uint32_t p, NewPointLocked());
    db.backup_points[id] = p + 1;
  }
  return db.backup_points[id] - 1;
}

Result<uint32_t> MountTree::BackupPointLocked(uint32_t d, uint32_t id) {
  SCNFS_ASSIGN_OR_RETURN(const uint32_t p, BackupPointNumberLocked(d, id));
  if (!points_.count(p)) {
    PointSpec spec;
    spec.kind = PointSpec::Kind::kBackup;
    spec.number = id;
    points_.emplace(p, PointSlot{d, fmt::format("backups/{}", id), spec, std::nullopt, nullptr, nullptr, 0, 0, 0, std::nullopt});
  }
  return p;
}

Result<uint32_t> MountTree::KeyedPointLocked(uint32_t d, const std::string& key, const PointSpec& spec) {
  if (auto it = point_by_key_.find(std::pair(d, key)); it != point_by_key_.end()) return it->second;
  SCNFS_ASSIGN_OR_RETURN(uint32_t p, NewPointLocked());
  points_.emplace(p, PointSlot{d, key, spec, std::nullopt, nullptr, nullptr, 0, 0, 0, std::nullopt});
  point_by_key_.emplace(std::pair(d, key), p);
  return p;
}

void MountTree::ParkLocked(uint32_t p) {
  PointSlot* s = SlotLocked(p);
  if (s == nullptr || s->refs > 0 || s->view || s->parked != 0) return;
  s->entries.reset();
  s->parked = ++park_stamps_;
  unused_.emplace_back(p, s->parked);
  while (unused_.size() > kRememberedPoints) {
    auto [old, stamp] = unused_.front();
    unused_.pop_front();
    PointSlot* o = SlotLocked(old);
    // Stale entries (used again since, or parked again later under a newer stamp) are skipped.
    if (o == nullptr || o->parked != stamp || o->refs > 0 || o->view) continue;
    // Its key may name a newer slot by now (an open-ended point resolved again): that mapping stays.
    if (auto it = point_by_key_.find(std::pair(o->db_slot, o->key)); it != point_by_key_.end() && it->second == old)
      point_by_key_.erase(it);
    points_.erase(old);
  }
}

void MountTree::DropEntriesIfUnusedLocked(PointSlot& s) {
  // Entries that numbered a path past another's hash keep it while the kernel holds the point's directory: met in
  // another order they would swap numbers under its cached listing (rare: about one backup of 1,000 directories
  // in 2,000 has such a pair).
  if (!s.view && s.refs == s.dir_refs && s.entries && !s.entries->HasProbedNumbers()) s.entries.reset();
}

Status MountTree::SeedLocked(PointSlot& s) {
  if (s.seed) {
    if (!s.entries) s.entries = std::make_shared<PointEntries>(store_, s.seed->point.base);  // dropped while unused
    return Status::OK();
  }
  DbSlot& db = dbs_[s.db_slot];
  SCNFS_RETURN_IF_ERROR(LoadBackupsLocked(db));
  auto seed = std::make_shared<PointSeed>();
  seed->db = *db.record;
  if (s.fixed) {
    auto b = std::find_if(db.backups.begin(), db.backups.end(), [&](const BackupRecord& r) { return r.id == s.fixed->base; });
    if (b == db.backups.end() || b->state != BackupState::kComplete)
      return Status::NotFound(fmt::format("backup {} of '{}' is gone", s.fixed->base, db.name));
    seed->point.base = *b;
    seed->point.scn = s.fixed->scn;
    seed->point.format = seed->db.format;  // Describe(): LSNs in PostgreSQL's notation
  } else {
    SCNFS_ASSIGN_OR_RETURN(seed->point, ResolvePoint(seed->db, db.backups, s.spec));
  }
  uint32_t last = 0;
  for (const auto& b : db.backups) {
    if (b.state != BackupState::kComplete) seed->vis.Hide(b.id);
    else seed->last_complete = std::max(seed->last_complete, b.id);
    last = std::max(last, b.id);
  }
  if (s.fixed && s.fixed->last_backup != 0) {  // a clone reads what it read when it was made
    // Every backup up to it must be known here, or a failed one this list lacks would not be hidden.
    if (s.fixed->last_backup > last)
      return Status::Busy(fmt::format("this mount has not caught up with backup {} of '{}' yet", s.fixed->last_backup, db.name));
    last = s.fixed->last_backup;
    seed->last_complete = std::min(seed->last_complete, last);
  }
  seed->vis.HideAfter(last);
  s.open_ended = !s.fixed && s.key.starts_with("at/") && s.spec.kind != PointSpec::Kind::kBackup &&
                 seed->point.base.id == seed->last_complete;  // backup:N selects the same whatever comes later
  s.entries = std::make_shared<PointEntries>(store_, seed->point.base);
  s.seed = std::move(seed);
  return Status::OK();
}

std::shared_ptr<const PointView> MountTree::BuildView(const PointSeed& seed, std::shared_ptr<PointEntries> entries,
                                                      const std::string& key) {
  return std::make_shared<const PointView>(std::make_unique<PointReader>(store_, seed.db, seed.vis, seed.point, dicts_),
                                           std::move(entries), FileSetCheckFor(seed.point.base), key);
}

std::shared_ptr<FileSetCheck> MountTree::FileSetCheckFor(const BackupRecord& base) {
  std::lock_guard<std::mutex> l(check_mu_);
  auto& check = checks_[std::pair(base.db, base.id)];
  if (check) return check;
  check = std::make_shared<FileSetCheck>();
  check_queue_.push_back(QueuedCheck{base, check, std::chrono::steady_clock::now() + kFileSetCheckDelay});
  if (!checker_.joinable()) checker_ = std::thread([this] { CheckFileSets(); });
  check_cv_.notify_one();
  return check;
}

void MountTree::CheckFileSets() {
  std::unique_lock<std::mutex> l(check_mu_);
  for (;;) {
    check_cv_.wait(l, [this] { return check_stop_ || !check_queue_.empty(); });
    if (check_stop_) return;
    // Not at once: the requests that made the view (a first lookup, open and read) go first, without this scan of
    // the whole set on the other core and the disk (it added 1-3 ms to the first byte on a cold page cache).
    if (check_cv_.wait_until(l, check_queue_.front().not_before, [this] { return check_stop_; })) return;
    QueuedCheck next = std::move(check_queue_.front());
    check_queue_.pop_front();
    const BackupRecord& base = next.base;
    const std::shared_ptr<FileSetCheck>& check = next.check;
    l.unlock();
    // An exception here would end the mount (std::terminate on this thread): a damaged set's, or a failed
    // allocation's, is that set's error like any other.
    auto files = [&]() -> Result<std::vector<FileRecord>> {
      try {
        return Catalog(store_).ListFiles(base);
      } catch (const std::exception& e) {
        return Status::Corruption(fmt::format("reading the file set: {}", e.what()));
      }
    }();
    check->Finish(files.ok() ? Status::OK() : files.status());
    if (!files.ok() && options_.on_file_set_damage) {
      std::string db = std::to_string(base.db);  // the name, if this mount knows it
      {
        std::lock_guard<std::mutex> ml(mu_);
        for (const auto& d : dbs_)
          if (d.record && d.record->id == base.db) db = d.name;
      }
      options_.on_file_set_damage(fmt::format("{} backup {}", db, base.id), files.status());
    }
    l.lock();
  }
}

MountTree::~MountTree() {
  {
    std::lock_guard<std::mutex> l(check_mu_);
    check_stop_ = true;
  }
  check_cv_.notify_all();
  if (checker_.joinable()) checker_.join();
}

Result<std::shared_ptr<const PointView>> MountTree::ViewLocked(uint32_t p) {
  PointSlot* slot = SlotLocked(p);
  if (slot == nullptr) return Status::NotFound("no such point");
  PointSlot& s = *slot;
  if (s.view) return s.view;
  SCNFS_RETURN_IF_ERROR(SeedLocked(s));
  s.view = BuildView(*s.seed, s.entries, s.key);
  PinLocked(s);
  return s.view;
}

void MountTree::EnsureView(uint64_t ino, bool attr_only) {
  Decoded d = Decoded::Of(ino);
  if (d.kind != Decoded::kPoint) return;
  std::shared_ptr<const PointSeed> seed;
  std::shared_ptr<PointEntries> entries;
  std::string key;
  {
    std::lock_guard<std::mutex> l(mu_);
    PointSlot* slot = SlotLocked(d.slot);
    if (slot == nullptr) return;
    PointSlot& s = *slot;
    if (attr_only && d.local == kLocalDir && s.root_attr) return;
    if (s.view || !SeedLocked(s).ok()) return;
    seed = s.seed;
    entries = s.entries;
    key = s.key;
  }
  if (attr_only && d.local == kLocalDir) {
    // The top directory's attributes alone, from the top of the file set: no view or pin for a stat (`ls -l
    // backups/` built and pinned a view per backup, then dropped it, at twice the time this takes).
    auto attr = entries->Stat(PointEntries::kRoot);
    if (!attr.ok()) return;  // the caller's own lookup reports the error
    std::lock_guard<std::mutex> l(mu_);
    if (PointSlot* s = SlotLocked(d.slot); s != nullptr && !s->root_attr) s->root_attr = attr.value();
    return;
  }
  // Made without the tree's lock, so requests on other points (reads of open files) are not held up.
  auto view = BuildView(*seed, entries, key);
  {
    std::lock_guard<std::mutex> l(mu_);
    PointSlot* s = SlotLocked(d.slot);
    // Another thread was first, the point was forgotten meanwhile, or its entries went and came back (the request
    // builds its view under the lock then): a view serves its slot's entries.
    if (s == nullptr || s->view || s->entries != entries) return;
    s->view = std::move(view);
    s->parked = 0;
    PinLocked(*s);
  }
  (void)FlushPins();  // a failure is retried by the next change; Lookup refuses unpinned points
}

void MountTree::WarmEntries(uint64_t ino, Warm what, std::string_view name) {
  const Decoded d = Decoded::Of(ino);
  if (d.kind != Decoded::kPoint) return;
  std::shared_ptr<PointEntries> entries;
  std::shared_ptr<const PointView> view;
  {
    std::lock_guard<std::mutex> l(mu_);
    const PointSlot* s = SlotLocked(d.slot);
    if (s == nullptr || !s->entries) return;
    entries = s->entries;
    view = s->view;
  }
  // Errors are left for the request's own locked part to meet and report.
  if (d.local == kLocalInfo) {
    if (view) (void)view->Info();
    return;
  }
  const uint32_t e = d.local == kLocalDir ? PointEntries::kRoot : d.local - kLocalFirstEntry;
  switch (what) {
    case Warm::kStat:
      (void)entries->Stat(e);
      break;
    case Warm::kListing:
      (void)entries->Children(e);
      if (d.local == kLocalDir) (void)entries->Lookup(e, kInfoFileName);  // whether the listing shows the description
      break;
    case Warm::kName: {
      auto found = entries->Lookup(e, name);
      if (found.ok() && found->has_value()) (void)entries->Stat(**found);
      if (d.local == kLocalDir && name == kInfoFileName && view) (void)view->Info();
      break;
    }
  }
}

void MountTree::AddRefLocked(uint64_t ino, uint64_t n) {
  Decoded d = Decoded::Of(ino);
  if (d.kind != Decoded::kPoint) return;
  if (PointSlot* s = SlotLocked(d.slot); s != nullptr) {
    s->refs += n;
    if (d.local == kLocalDir) s->dir_refs += n;
    s->parked = 0;
  }
}

void MountTree::DropRefLocked(uint32_t p, uint64_t n, bool dir) {
  PointSlot* slot = SlotLocked(p);
  if (slot == nullptr) return;
  PointSlot& s = *slot;
  s.refs = s.refs > n ? s.refs - n : 0;
  if (dir) s.dir_refs = s.dir_refs > n ? s.dir_refs - n : 0;
  s.dir_refs = std::min(s.dir_refs, s.refs);
  SettleLocked(p);
}

void MountTree::SettleLocked(uint32_t p) {
  PointSlot* slot = SlotLocked(p);
  if (slot == nullptr) return;
  PointSlot& s = *slot;
  if (s.view && s.superseded && !s.view->HasOpenFiles()) {  // files open on the view hold it themselves
    s.view.reset();
    UnpinLocked(s);
    DropEntriesIfUnusedLocked(s);
    views_dropped_.fetch_add(1, std::memory_order_relaxed);
    ParkLocked(p);
    return;
  }
  if (s.view && s.refs == s.dir_refs) {
    // Nothing inside the point is in use: the view joins the idle ones, even while the kernel holds the top
    // directory (its attributes are kept in the slot). `ls -l backups/` over 2,000 backups kept 2,000 file lists
    // (400 bytes per file each) and their pins for as long as the kernel cached the names (found 2026-11-30).
    // Kept a while: the kernel forgets inodes under memory pressure and `ls` followed by `cat` looks a backup up
    // again at once. The oldest unused views beyond kIdleViews are dropped (open files keep their own reference).
    std::erase(idle_, p);  // once, at its latest place: an older entry would get it dropped as if long unused
    idle_.push_back(p);
    while (idle_.size() > kIdleViews) {
      uint32_t old = idle_.front();
      idle_.pop_front();
      PointSlot* o = SlotLocked(old);
      if (o != nullptr && o->refs == o->dir_refs && o->view) {
        o->view.reset();
        UnpinLocked(*o);
        DropEntriesIfUnusedLocked(*o);
        views_dropped_.fetch_add(1, std::memory_order_relaxed);
        ParkLocked(old);
      }
    }
  } else {
    DropEntriesIfUnusedLocked(s);  // a superseded point's, once the kernel has forgotten the inodes inside it
    ParkLocked(p);  // unused and without a view (never built, or its build failed)
  }
}

Result<MountTree::Entry> MountTree::AttrLocked(uint64_t ino) {
  Decoded d = Decoded::Of(ino);
  Entry e;
  e.ino = ino;
  switch (d.kind) {
    case Decoded::kInvalid:
      return Status::NotFound(fmt::format("no inode {}", ino));
    case Decoded::kRoot:
      e.attr = DirStat(mounted_us_);
      // Link counts are 2 + the subdirectories, as readdir lists them now.
      for (const auto& db : dbs_) e.attr.st_nlink += db.record ? 1 : 0;
      break;
    case Decoded::kDb: {
      if (d.slot >= dbs_.size() || !dbs_[d.slot].record || d.local > kClonesDir) return Status::NotFound("database gone");
      DbSlot& db = dbs_[d.slot];
      e.attr = DirStat(db.record->created_us);
      if (d.local == kDbDir) e.attr.st_nlink += 3;  // backups, at, clones
      if (d.local == kAtDir) {
        for (const auto& [k, p] : point_by_key_)
          e.attr.st_nlink += k.first == d.slot && k.second.starts_with("at/") && points_.at(p).seed ? 1 : 0;
      }
      // clones/: 1, "not counted", as find and fts read it. Counting would mean the whole clone listing (every
      // clone's metadata and files) under the tree's lock at each stat, and a stat failing with it.
      if (d.local == kClonesDir) e.attr.st_nlink = 1;
      if (d.local == kBackupsDir || d.local == kLatest) {
        SCNFS_RETURN_IF_ERROR(LoadBackupsLocked(db));
        const BackupRecord* newest = NewestComplete(db);
        if (newest != nullptr) e.attr.st_mtim = e.attr.st_ctim = Ts(newest->end_us);
        if (d.local == kBackupsDir)
          for (const auto& b : db.backups) e.attr.st_nlink += b.state == BackupState::kComplete ? 1 : 0;
        if (d.local == kLatest) {
          if (newest == nullptr) return Status::NotFound("no complete backup");
          e.attr.st_mode = S_IFLNK | 0777;
          e.attr.st_nlink = 1;
          e.attr.st_size = off_t(fmt::format("backups/{}", newest->id).size());
        }
      }
      break;
    }
    case Decoded::kClone: {
      if (d.slot >= clones_.size()) return Status::NotFound(fmt::format("no inode {}", ino));
      if (!clones_[d.slot].fs) return LetGoStatus(clones_[d.slot].name);
      SCNFS_ASSIGN_OR_RETURN(e.attr, clones_[d.slot].fs->GetAttr(CloneLocal(ino)));
      break;
    }
    case Decoded::kPoint: {
      e.immutable = true;
      if (d.local == kLocalDir) {  // without the view if the slot has them: a stat alone does not load the point
        if (const PointSlot* s = SlotLocked(d.slot); s != nullptr && s->root_attr) {
          e.attr = *s->root_attr;
          break;
        }
      }
      SCNFS_ASSIGN_OR_RETURN(auto view, ViewLocked(d.slot));
      if (d.local == kLocalDir) {
        SCNFS_ASSIGN_OR_RETURN(e.attr, view->entries().Stat(PointEntries::kRoot));
        points_.at(d.slot).root_attr = e.attr;
      } else if (d.local == kLocalInfo) {
        SCNFS_ASSIGN_OR_RETURN(const FileRecord* root, view->entries().Root());
        SCNFS_ASSIGN_OR_RETURN(const std::string* info, view->Info());
        e.attr = EntryStat(*root);
        e.attr.st_mode = S_IFREG | 0444;
        e.attr.st_nlink = 1;
        e.attr.st_size = off_t(info->size());
        e.attr.st_blocks = (e.attr.st_size + 511) / 512;
      } else {
        SCNFS_ASSIGN_OR_RETURN(e.attr, view->entries().Stat(d.local - kLocalFirstEntry));
      }
      break;
    }
  }
  e.attr.st_ino = ino;
  return e;
}

Result<MountTree::Entry> MountTree::Lookup(uint64_t parent, std::string_view name) {
  SCNFS_RETURN_IF_ERROR(CatchUpForLookup(parent, name));
  EnsureView(parent);
  WarmEntries(parent, Warm::kName, name);
  uint64_t ino;
  {
    std::lock_guard<std::mutex> l(mu_);
    Result<uint64_t> resolved = ResolveLocked(parent, name);
    if (!resolved.ok()) {
      // The parent's view was built for this lookup: a name that is not there (PostgreSQL probes for files that
      // may not exist) must not leave it loaded and pinned outside the idle ones (found 2026-11-30).
      if (const Decoded pd = Decoded::Of(parent); pd.kind == Decoded::kPoint) SettleLocked(pd.slot);
      return resolved.status();
    }
    ino = resolved.value();
    // The kernel's reference counts from here, not from when the attributes are read: in between, unreferenced,
    // the point's entries could go (its view idle and dropped, or superseded) and the number resolved here name
    // nothing (ENOENT for a name the backup holds, which the kernel keeps for a day; found 2026-12-01).
    AddRefLocked(ino, 1);
  }
  EnsureView(ino, /*attr_only=*/true);
  Result<Entry> e = Status::NotFound("");
  {
    std::lock_guard<std::mutex> l(mu_);
    e = AttrLocked(ino);
    if (const Decoded d = Decoded::Of(ino); d.kind == Decoded::kPoint) {
      if (!e.ok()) DropRefLocked(d.slot, 1, d.local == kLocalDir);
      // The kernel keeps an open-ended point's name only for the refresh time, so that it asks again (above).
      if (const PointSlot* s = SlotLocked(d.slot); e.ok() && d.local == kLocalDir && s != nullptr && s->open_ended)
        e.value().immutable = false;
      SettleLocked(d.slot);
    }
  }
  const Status pinned = FlushPins();
  if (const Decoded d = Decoded::Of(ino); e.ok() && !pinned.ok() && d.kind == Decoded::kPoint) {
    // A point is served only once its pin is on disk (docs/pins.md): with the store's disk full it was served
    // unpinned, and a prune would not have seen it (found 2026-11-30). Points pinned before still serve.
    std::lock_guard<std::mutex> l(mu_);
    const PointSlot* s = SlotLocked(d.slot);
    if (s != nullptr && s->view && !pinned_.count(PinWhatLocked(*s))) {
      const std::string key = s->key;
      DropRefLocked(d.slot, 1, d.local == kLocalDir);
      return pinned.WithContext(fmt::format("{}: not served until its pin is recorded in the store (docs/pins.md)", key));
    }
  }
  return e;
}

Result<uint64_t> MountTree::ResolveLocked(uint64_t parent, std::string_view name) {
  Decoded d = Decoded::Of(parent);
  uint64_t ino = 0;
  auto not_found = [&] { return Status::NotFound(fmt::format("no '{}' here", name)); };
  switch (d.kind) {
    case Decoded::kInvalid:
      return not_found();
    case Decoded::kRoot: {
      SCNFS_RETURN_IF_ERROR(RefreshLocked());
      auto it = db_by_name_.find(name);
      if (it == db_by_name_.end() || !dbs_[it->second].record) return not_found();
      ino = DbIno(it->second, kDbDir);
      break;
    }
    case Decoded::kDb: {
      if (d.slot >= dbs_.size()) return not_found();
      if (d.local == kDbDir) {
        if (name == "backups") ino = DbIno(d.slot, kBackupsDir);
        else if (name == "at") ino = DbIno(d.slot, kAtDir);
        else if (name == "latest") ino = DbIno(d.slot, kLatest);
        else if (name == "clones") ino = DbIno(d.slot, kClonesDir);
        else return not_found();
        break;
      }
      if (d.local == kLatest || d.local > kClonesDir) return not_found();
      if (d.local == kClonesDir) {
        SCNFS_RETURN_IF_ERROR(RefreshLocked());  // the backups as of the catch-up above (CatchUpFor)
        auto info = ReadClone(store_->dir(), std::string(name));
        if (!info.ok() && !info.status().IsNotFound()) return info.status();  // damaged: EIO, not "no such clone"
        if (!info.ok() || info->db != dbs_[d.slot].name) return not_found();
        uint32_t c = CloneSlotFor(d.slot, std::string(name));
        SCNFS_RETURN_IF_ERROR(OpenCloneLocked(c));
        ino = CloneIno(c, kCloneRootIno);
        break;
      }
      SCNFS_RETURN_IF_ERROR(RefreshLocked());
      DbSlot& db = dbs_[d.slot];
      SCNFS_RETURN_IF_ERROR(LoadBackupsLocked(db));
      uint32_t p;
      if (d.local == kBackupsDir) {
        uint32_t id = 0;
        auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
        if (ec != std::errc() || end != name.data() + name.size() || (name.size() > 1 && name[0] == '0')) return not_found();
        auto b = std::find_if(db.backups.begin(), db.backups.end(), [&](const BackupRecord& r) { return r.id == id; });
        if (b == db.backups.end() || b->state != BackupState::kComplete) return not_found();
        SCNFS_ASSIGN_OR_RETURN(p, BackupPointLocked(d.slot, id));
      } else {  // at/
        auto parsed = ParsePointSpec(name);
        if (!parsed.ok() || parsed.value().kind == PointSpec::Kind::kLatest) return not_found();
        const std::string key = fmt::format("at/{}", name);
        auto it = point_by_key_.find(std::pair(d.slot, key));
        uint32_t generation = 0;
        // "Resolved on lookup": a point that lay at or past the newest backup (scn: above its SCNs, time: after it
        // ended) selects differently once a newer backup is complete, and kept serving the old state while restore
        // of the same SPEC gave the new one (found 2026-12-01). Its name now gets a new slot, with new inode
        // numbers; the old slot serves what is open in it until it is forgotten.
        if (it != point_by_key_.end()) {
          const uint32_t replaced = it->second;
          PointSlot& old = points_.at(replaced);
          const BackupRecord* newest = NewestComplete(db);
          if (old.open_ended && old.seed && newest != nullptr && newest->id > old.seed->last_complete) {
            generation = old.generation + 1;
            old.superseded = true;
            point_by_key_.erase(it);
            it = point_by_key_.end();
            SettleLocked(replaced);
          }
        }
        if (it != point_by_key_.end()) {
          p = it->second;
        } else {
          // Resolve before taking a slot: a name that resolves to nothing (an SCN before the first backup) must not
          // leave a slot behind for every such lookup.
          PointSlot tmp{d.slot, key, parsed.value(), std::nullopt, nullptr, nullptr, 0, 0, 0, std::nullopt, false, generation};
          if (Status st = SeedLocked(tmp); !st.ok())
            return st.IsNotFound() || st.code() == Status::Code::kInvalidArgument ? not_found() : st;
          SCNFS_ASSIGN_OR_RETURN(p, NewPointLocked());
          points_.emplace(p, std::move(tmp));
          point_by_key_.emplace(std::pair(d.slot, key), p);
        }
      }
      PointSlot& s = points_.at(p);
      // In use from here on: not forgotten before this lookup is answered (Lookup parks it again if it fails).
      s.parked = 0;
      if (Status st = SeedLocked(s); !st.ok()) {
        ParkLocked(p);
        return st;
      }
      ino = PointIno(p, kLocalDir);
      break;
    }
    case Decoded::kClone: {
      if (d.slot >= clones_.size()) return not_found();
      if (!clones_[d.slot].fs) return LetGoStatus(clones_[d.slot].name);
      SCNFS_ASSIGN_OR_RETURN(struct stat st, clones_[d.slot].fs->Lookup(CloneLocal(parent), name));
      ino = CloneIno(d.slot, st.st_ino);
      break;
    }
    case Decoded::kPoint: {
      SCNFS_ASSIGN_OR_RETURN(auto view, ViewLocked(d.slot));
      uint32_t dir;
      if (d.local == kLocalDir) {
        // A backed-up file of the same name wins: the mount shows what the backup holds (`cp -a` of the directory
        // gave the description instead, or failed on the name listed twice; found 2026-11-30).
        if (name == kInfoFileName) {
          SCNFS_ASSIGN_OR_RETURN(std::optional<uint32_t> backed_up, view->entries().Lookup(PointEntries::kRoot, name));
          if (!backed_up) {
            ino = PointIno(d.slot, kLocalInfo);
            break;
          }
        }
        dir = PointEntries::kRoot;
      } else if (d.local >= kLocalFirstEntry && view->Find(d.local - kLocalFirstEntry) != nullptr) {
        dir = d.local - kLocalFirstEntry;
      } else {
        return not_found();
      }
      SCNFS_ASSIGN_OR_RETURN(std::optional<uint32_t> i, view->entries().Lookup(dir, name));
      if (!i) return not_found();
      ino = PointIno(d.slot, kLocalFirstEntry + *i);
      break;
    }
  }
  return ino;
}

void MountTree::Forget(uint64_t ino, uint64_t nlookup) {
  {
    std::lock_guard<std::mutex> l(mu_);
    Decoded d = Decoded::Of(ino);
    if (d.kind == Decoded::kPoint) DropRefLocked(d.slot, nlookup, d.local == kLocalDir);
  }
  (void)FlushPins();  // a failure is retried by the next change; Lookup refuses unpinned points
}

void MountTree::Upkeep() {
  // Pins that ended are written lazily by the next request (FlushPins): here too, so an idle mount's pins
  // do not stay longer than a second or so.
  (void)FlushPins();
  ReleaseRequestedClones();
  // A point's entries are about 400 bytes per name met (a `find` meets them all), in many small allocations: after
  // a `find` over hundreds of points the kernel forgets them and the views go, but malloc kept the freed memory (a
  // mount with --cache-mb 8 stayed at 300-490 MiB; found 2026-11-30). Given back once views were dropped.
  if (views_dropped_.exchange(0, std::memory_order_relaxed) > 0) ::malloc_trim(0);
  // Idle cursors made before the store last caught up hold its table files of then open, those a backup's
  // compaction deleted since included: a point read now and then (a clone a database runs on, a file held open
  // for days) kept them, 2.4 files a minute in a soak test. Readers in use remake theirs at their next read.
  if (const uint64_t g = store_->data_generation(); g != swept_generation_) {
    swept_generation_ = g;
    std::vector<std::shared_ptr<const PointView>> views;
    {
      std::lock_guard<std::mutex> l(mu_);
      for (const auto& [p, s] : points_)
        if (s.view) views.push_back(s.view);
    }
    for (const auto& v : views) v->DropPooledCursors();
  }
}

Result<MountTree::Entry> MountTree::GetAttr(uint64_t ino) {
  CatchUpFor(ino);
  EnsureView(ino, /*attr_only=*/true);
  WarmEntries(ino, Warm::kStat);
  std::lock_guard<std::mutex> l(mu_);
  Decoded d = Decoded::Of(ino);
  if (d.kind == Decoded::kRoot || (d.kind == Decoded::kDb && d.local != kDbDir)) SCNFS_RETURN_IF_ERROR(RefreshLocked());
  auto e = AttrLocked(ino);
  if (d.kind == Decoded::kPoint) SettleLocked(d.slot);
  return e;
}

Result<std::string> MountTree::ReadLink(uint64_t ino) {
  CatchUpFor(ino);
  EnsureView(ino);
  std::lock_guard<std::mutex> l(mu_);
  Decoded d = Decoded::Of(ino);
  if (d.kind == Decoded::kDb && d.local == kLatest && d.slot < dbs_.size()) {
    SCNFS_RETURN_IF_ERROR(RefreshLocked());
    DbSlot& db = dbs_[d.slot];
    SCNFS_RETURN_IF_ERROR(LoadBackupsLocked(db));
    const BackupRecord* newest = NewestComplete(db);
    if (newest == nullptr) return Status::NotFound("no complete backup");
    return fmt::format("backups/{}", newest->id);
  }
  if (d.kind == Decoded::kPoint && d.local >= kLocalFirstEntry) {
    SCNFS_ASSIGN_OR_RETURN(auto view, ViewLocked(d.slot));
    if (const FileRecord* r = view->Find(d.local - kLocalFirstEntry); r != nullptr && r->type == "symlink") return r->target;
  }
  return Status::InvalidArgument("not a symbolic link");
}

MountTree::DirEntry MountTree::DirListing::at(size_t i) const {
  if (!view_) return entries_[i];
  if (info_ && i == 0) return {std::string(kInfoFileName), PointIno(point_slot_, kLocalInfo), S_IFREG};
  const uint32_t e = (*children_)[i - info_];
  const FileRecord* r = view_->Find(e);  // met: listed
  const std::string& type = r->type;
  return {std::string(LeafName(r->path)), PointIno(point_slot_, kLocalFirstEntry + e),
          mode_t(type == "dir" ? S_IFDIR : type == "symlink" ? S_IFLNK : S_IFREG)};
}

Result<std::vector<MountTree::DirEntry>> MountTree::ReadDir(uint64_t ino) {
  SCNFS_ASSIGN_OR_RETURN(DirListing listing, OpenDir(ino));
  std::vector<DirEntry> out;
  out.reserve(listing.size());
  for (size_t i = 0; i < listing.size(); ++i) out.push_back(listing.at(i));
  return out;
}

Result<MountTree::DirListing> MountTree::OpenDir(uint64_t ino) {
  CatchUpFor(ino);
  EnsureView(ino);
  WarmEntries(ino, Warm::kListing);
  std::lock_guard<std::mutex> l(mu_);
  Decoded d = Decoded::Of(ino);
  DirListing listing;
  std::vector<DirEntry>& out = listing.entries_;
  switch (d.kind) {
    case Decoded::kInvalid:
      return Status::NotFound(fmt::format("no inode {}", ino));
    case Decoded::kRoot:
      SCNFS_RETURN_IF_ERROR(RefreshLocked());
      for (const auto& [name, slot] : db_by_name_) {
        // A name no directory entry can have (a '/', "..": taken by builds that did not check names) is left out:
        // the kernel answers EIO for the whole listing when one entry has such a name.
        const bool entry_name = !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
                                name.find_first_of(std::string_view("/\0", 2)) == std::string::npos;
        if (dbs_[slot].record && entry_name) out.push_back({name, DbIno(slot, kDbDir), S_IFDIR});
      }
      return listing;
    case Decoded::kDb: {
      if (d.slot >= dbs_.size()) return Status::NotFound("database gone");
      SCNFS_RETURN_IF_ERROR(RefreshLocked());
      DbSlot& db = dbs_[d.slot];
      SCNFS_RETURN_IF_ERROR(LoadBackupsLocked(db));
      if (d.local == kDbDir) {
        out.push_back({"backups", DbIno(d.slot, kBackupsDir), S_IFDIR});
        out.push_back({"at", DbIno(d.slot, kAtDir), S_IFDIR});
        if (NewestComplete(db) != nullptr) out.push_back({"latest", DbIno(d.slot, kLatest), S_IFLNK});
        out.push_back({"clones", DbIno(d.slot, kClonesDir), S_IFDIR});
      } else if (d.local == kClonesDir) {
        SCNFS_ASSIGN_OR_RETURN(auto clones, ListClones(store_->dir()));
        for (const auto& c : clones)
          if (c.db == db.name) out.push_back({c.name, CloneIno(CloneSlotFor(d.slot, c.name), kCloneRootIno), S_IFDIR});
      } else if (d.local == kBackupsDir) {
        for (const auto& b : db.backups) {
          if (b.state != BackupState::kComplete) continue;
          // The number only: a slot is made when the kernel looks the backup up (ls of 2,000 backups made 2,000).
          SCNFS_ASSIGN_OR_RETURN(uint32_t p, BackupPointNumberLocked(d.slot, b.id));
          out.push_back({std::to_string(b.id), PointIno(p, kLocalDir), S_IFDIR});
        }
      } else if (d.local == kAtDir) {
        // Any scn:/time: name resolves on lookup; the listing shows the points this mount has resolved so far.
        for (const auto& [k, p] : point_by_key_)
          if (k.first == d.slot && k.second.starts_with("at/") && points_.at(p).seed) out.push_back({k.second.substr(3), PointIno(p, kLocalDir), S_IFDIR});
      } else {
        return Status::InvalidArgument("not a directory");
      }
      return listing;
    }
    case Decoded::kClone: {
      if (d.slot >= clones_.size()) return Status::NotFound(fmt::format("no inode {}", ino));
      if (!clones_[d.slot].fs) return LetGoStatus(clones_[d.slot].name);
      SCNFS_ASSIGN_OR_RETURN(auto list, clones_[d.slot].fs->ReadDir(CloneLocal(ino)));
      for (auto& e : list) out.push_back({std::move(e.name), CloneIno(d.slot, e.ino), e.type});
      return listing;
    }
    case Decoded::kPoint: {
      SCNFS_ASSIGN_OR_RETURN(auto view, ViewLocked(d.slot));
      uint32_t dir;
      if (d.local == kLocalDir) {
        SCNFS_ASSIGN_OR_RETURN(std::optional<uint32_t> backed_up, view->entries().Lookup(PointEntries::kRoot, kInfoFileName));
        listing.info_ = !backed_up;  // else the backed-up file of that name
        dir = PointEntries::kRoot;
      } else if (const FileRecord* r = d.local >= kLocalFirstEntry ? view->Find(d.local - kLocalFirstEntry) : nullptr;
                 r != nullptr && r->type == "dir") {
        dir = d.local - kLocalFirstEntry;
      } else {
        return Status::InvalidArgument("not a directory");
      }
      SCNFS_ASSIGN_OR_RETURN(listing.children_, view->entries().Children(dir));
      listing.view_ = std::move(view);
      listing.point_slot_ = d.slot;
      SettleLocked(d.slot);
      return listing;
    }
  }
  return listing;
}

Result<MountTree::OpenFile> MountTree::Open(uint64_t ino) {
  EnsureView(ino);
  std::lock_guard<std::mutex> l(mu_);
  Decoded d = Decoded::Of(ino);
  if (d.kind != Decoded::kPoint || d.local == kLocalDir) return Status::InvalidArgument("not a file");
  SCNFS_ASSIGN_OR_RETURN(auto view, ViewLocked(d.slot));
  OpenFile f;
  f.point_slot = d.slot;
  if (d.local == kLocalInfo) {
    f.info = true;
  } else {
    f.entry = d.local - kLocalFirstEntry;
    const FileRecord* r = view->Find(f.entry);
    if (r == nullptr) return Status::NotFound(fmt::format("no inode {}", ino));
    if (r->type != "file") return Status::InvalidArgument("not a file");
    SCNFS_RETURN_IF_ERROR(view->FileSetStatus());
    f.record = r;
  }
  f.view = std::move(view);
  f.view->FileOpened();
  points_.at(d.slot).refs++;
  return f;
}

void MountTree::Release(const OpenFile& f) {
  f.view->FileClosed();
  {
    std::lock_guard<std::mutex> l(mu_);
    DropRefLocked(f.point_slot, 1);
  }
  (void)FlushPins();  // a failure is retried by the next change; Lookup refuses unpinned points
}

Status MountTree::Read(const OpenFile& f, uint64_t offset, std::span<std::byte> out, size_t* n) const {
  if (f.info) {
    SCNFS_ASSIGN_OR_RETURN(const std::string* info, f.view->Info());
    const std::string& s = *info;
    *n = offset >= s.size() ? 0 : std::min<size_t>(out.size(), s.size() - offset);
    if (*n > 0) std::memcpy(out.data(), s.data() + offset, *n);
    return Status::OK();
  }
  return f.view->Read(*f.record, offset, out, n);
}

size_t MountTree::LiveViews() const {
  std::lock_guard<std::mutex> l(mu_);
  return size_t(std::count_if(points_.begin(), points_.end(), [](const auto& s) { return bool(s.second.view); }));
}

size_t MountTree::RememberedPoints() const {
  std::lock_guard<std::mutex> l(mu_);
  return points_.size();
}

}  // namespace scnfs
