#include "fuse/mount_tree.h"

#include <malloc.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "scnfs/clone.h"
#include "util/clock.h"

namespace scnfs {

namespace {

constexpr uint64_t kDbBase = 16;
constexpr uint32_t kLocalDir = 0, kLocalInfo = 1, kLocalFirstEntry = 2;
enum DbK { kDbDir = 0, kBackupsDir = 1, kAtDir = 2, kLatest = 3, kClonesDir = 4 };
constexpr uint64_t kDbStride = 8;

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

struct MountTree::Decoded {
  enum Kind { kInvalid, kRoot, kDb, kPoint, kClone } kind = kInvalid;
  uint32_t slot = 0;   // database or point slot
  uint32_t local = 0;  // DbK, or the point's local number
  static Decoded Of(uint64_t ino) {
    Decoded d;
    if (ino == kRootIno) {
      d.kind = kRoot;
    } else if (MountTree::IsCloneIno(ino)) {
      d.kind = kClone;
      d.slot = CloneSlotOf(ino);
      d.local = 0;
    } else if (ino >= (uint64_t(1) << 32)) {
      d.kind = kPoint;
      d.slot = uint32_t((ino >> 32) - 1);
      d.local = uint32_t(ino);
    } else if (ino >= kDbBase) {
      d.kind = kDb;
      d.slot = uint32_t((ino - kDbBase) / kDbStride);
      d.local = uint32_t((ino - kDbBase) % kDbStride);
    }
    return d;
  }
};

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
  if (done > 0 && now && caught_up_ >= requested) return Status::OK();  // one begun since this request covers it
  if (done > 0 && !now && at - caught_up_ < options_.refresh) return Status::OK();
  if (done > 0) {  // the first counts the open, which saw everything committed until then
    if (options_.before_catch_up) options_.before_catch_up();
    SCNFS_RETURN_IF_ERROR(store_->Refresh());
  }
  caught_up_ = at;
  catch_ups_.store(done + 1, std::memory_order_release);
  return Status::OK();
}

Status MountTree::CatchUpFor(uint64_t ino) {
  Decoded d = Decoded::Of(ino);
  return d.kind == Decoded::kRoot || d.kind == Decoded::kDb ? CatchUp() : Status::OK();
}

Status MountTree::CatchUpForLookup(uint64_t parent, std::string_view name) {
  Decoded d = Decoded::Of(parent);
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
    bool known = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      known = point_by_key_.count(std::pair(d.slot, fmt::format("{}/{}", d.local == kAtDir ? "at" : "backups", name))) > 0;
    }
    if (could_be && !known) return CatchUp(/*now=*/true);
  }
  return CatchUpFor(parent);
}

Status MountTree::RefreshLocked() {
  const uint64_t done = catch_ups_.load(std::memory_order_acquire);
  if (done == listed_after_) return Status::OK();
  SCNFS_ASSIGN_OR_RETURN(auto dbs, Catalog(store_).ListDatabases());
  for (auto& s : dbs_) s.record.reset();
  for (auto& rec : dbs) {
    DbSlot& s = dbs_[DbSlotFor(rec.name)];
    s.record = std::move(rec);
    s.backups_fresh = false;
  }
  listed_after_ = done;
  return Status::OK();
}

uint32_t MountTree::DbSlotFor(const std::string& name) {
  if (auto it = db_by_name_.find(name); it != db_by_name_.end()) return it->second;
  uint32_t slot = uint32_t(dbs_.size());
  dbs_.push_back(DbSlot{name, std::nullopt, {}, false});
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

const BackupRecord* MountTree::NewestComplete(const DbSlot& db) const {
  const BackupRecord* newest = nullptr;
  for (const auto& b : db.backups)
    if (b.state == BackupState::kComplete && (newest == nullptr || b.id > newest->id)) newest = &b;
  return newest;
}

uint32_t MountTree::PointSlotFor(uint32_t d, const std::string& key, const PointSpec& spec) {
  if (auto it = point_by_key_.find(std::pair(d, key)); it != point_by_key_.end()) return it->second;
  uint32_t p = uint32_t(points_.size());
  points_.push_back(PointSlot{d, key, spec, std::nullopt, nullptr, nullptr, 0});
  point_by_key_.emplace(std::pair(d, key), p);
  return p;
}

Status MountTree::SeedLocked(PointSlot& s) {
  if (s.seed) return Status::OK();
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
  s.seed = std::move(seed);
  return Status::OK();
}

Result<std::shared_ptr<const PointView>> MountTree::BuildView(const PointSeed& seed, const std::string& key) const {
  OpenedPoint opened;
  SCNFS_ASSIGN_OR_RETURN(opened.files, Catalog(store_).ListFiles(seed.db.id, seed.point.base.id));
  opened.reader = std::make_unique<PointReader>(store_, seed.db, seed.vis, seed.point, dicts_);
  return std::make_shared<const PointView>(std::move(opened), key);
}

Result<std::shared_ptr<const PointView>> MountTree::ViewLocked(uint32_t p) {
  if (p >= points_.size()) return Status::NotFound("no such point");
  PointSlot& s = points_[p];
  if (s.view) return s.view;
  SCNFS_RETURN_IF_ERROR(SeedLocked(s));
  SCNFS_ASSIGN_OR_RETURN(s.view, BuildView(*s.seed, s.key));
  UpdatePinsLocked();
  return s.view;
}

void MountTree::EnsureView(uint64_t ino) {
  Decoded d = Decoded::Of(ino);
  if (d.kind != Decoded::kPoint) return;
  std::shared_ptr<const PointSeed> seed;
  std::string key;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (d.slot >= points_.size()) return;
    PointSlot& s = points_[d.slot];
    if (s.view || !SeedLocked(s).ok()) return;
    seed = s.seed;
    key = s.key;
  }
  // Reading a backup's file list and building its tree takes milliseconds for a data directory of a thousand files:
  // done without the tree's lock, so requests on other points (reads of open files) are not held up.
  auto built = BuildView(*seed, key);
  if (!built.ok()) return;  // the caller's own lookup reports the error
  auto view = std::move(built).value();
  {
    std::lock_guard<std::mutex> l(mu_);
    PointSlot& s = points_[d.slot];
    if (s.view) return;  // another thread was first
    s.view = std::move(view);
    UpdatePinsLocked();
  }
  (void)FlushPins();  // a failure is retried by the next change; Lookup refuses unpinned points
}

void MountTree::UpdatePinsLocked(bool lazy) {
  if (pins_ == nullptr) return;
  if (lazy) {
    unpins_pending_ = true;
    return;
  }
  unpins_pending_ = false;
  pins_built_ = std::chrono::steady_clock::now();
  pending_pins_.clear();
  for (const auto& s : points_) {
    if (!s.view || !s.seed) continue;
    std::optional<uint32_t> last;
    if (s.seed->point.scn) last = s.seed->last_complete;
    pending_pins_.push_back(Pin{s.seed->db.name, s.seed->point.base.id, s.seed->point.scn, last, PinWhatLocked(s)});
  }
  pins_gen_++;
}

// The point's path under the mount ("ORA/backups/3"): its key alone is one per database, and the pins of two
// databases' "backups/3" must not be taken for one.
std::string MountTree::PinWhatLocked(const PointSlot& s) const { return dbs_[s.db_slot].name + "/" + s.key; }

Status MountTree::FlushPins() {
  if (pins_ == nullptr) return Status::OK();
  // One writer at a time, and each writes the newest set: an older set never lands after a newer one.
  std::lock_guard<std::mutex> w(pins_write_mu_);
  std::vector<Pin> pins;
  uint64_t gen;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (unpins_pending_ && std::chrono::steady_clock::now() - pins_built_ >= std::chrono::seconds(1)) UpdatePinsLocked();
    if (pins_gen_ == pins_written_gen_) return Status::OK();
    pins = pending_pins_;
    gen = pins_gen_;
  }
  // The holder records changes: what differs from the set last written.
  std::set<std::string> keys;
  std::vector<Pin> add;
  std::vector<std::string> remove;
  for (const auto& p : pins) {
    keys.insert(p.what);
    if (auto it = pins_written_.find(p.what); it == pins_written_.end() || !(it->second == p)) add.push_back(p);
  }
  for (const auto& [what, pin] : pins_written_)
    if (!keys.count(what)) remove.push_back(what);
  // A change that cannot be written (a full disk) is retried by the next flush, as part of its own diff against the
  // same pins_written_; until then Lookup serves no point that is not in the last set written (pinned_keys_).
  Status st = pins_->Change(add, remove);
  if (!st.ok()) return st;
  for (const auto& what : remove) pins_written_.erase(what);
  for (const auto& p : add) pins_written_.insert_or_assign(p.what, p);
  pins_written_gen_ = gen;
  std::lock_guard<std::mutex> l(mu_);
  pinned_keys_ = std::move(keys);
  return Status::OK();
}

void MountTree::AddRefLocked(uint64_t ino, uint64_t n) {
  Decoded d = Decoded::Of(ino);
  if (d.kind == Decoded::kPoint && d.slot < points_.size()) points_[d.slot].refs += n;
}

void MountTree::DropRefLocked(uint32_t p, uint64_t n) {
  if (p >= points_.size()) return;
  PointSlot& s = points_[p];
  s.refs = s.refs > n ? s.refs - n : 0;
  if (s.refs == 0 && s.view) {
    // Kept a while: the kernel forgets inodes under memory pressure and `ls` followed by `cat` looks a backup up
    // again at once. The oldest unused views beyond kIdleViews are dropped (open files keep their own reference).
    std::erase(idle_, p);  // once, at its latest place: an older entry would get it dropped as if long unused
    idle_.push_back(p);
    while (idle_.size() > kIdleViews) {
      uint32_t old = idle_.front();
      idle_.pop_front();
      if (points_[old].refs == 0 && points_[old].view) {
        points_[old].view.reset();
        UpdatePinsLocked(/*lazy=*/true);
        views_dropped_.fetch_add(1, std::memory_order_relaxed);
      }
    }
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
          e.attr.st_nlink += k.first == d.slot && k.second.starts_with("at/") && points_[p].seed ? 1 : 0;
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
      if (d.slot >= clones_.size() || !clones_[d.slot].fs) return Status::NotFound(fmt::format("no inode {}", ino));
      SCNFS_ASSIGN_OR_RETURN(e.attr, clones_[d.slot].fs->GetAttr(CloneLocal(ino)));
      break;
    }
    case Decoded::kPoint: {
      SCNFS_ASSIGN_OR_RETURN(auto view, ViewLocked(d.slot));
      e.immutable = true;
      if (d.local == kLocalDir) {
        e.attr = view->Stat(PointView::kRoot);
      } else if (d.local == kLocalInfo) {
        e.attr = EntryStat(view->root());
        e.attr.st_mode = S_IFREG | 0444;
        e.attr.st_nlink = 1;
        e.attr.st_size = off_t(view->info().size());
        e.attr.st_blocks = (e.attr.st_size + 511) / 512;
      } else if (d.local - kLocalFirstEntry < view->entries()) {
        e.attr = view->Stat(d.local - kLocalFirstEntry);
      } else {
        return Status::NotFound(fmt::format("no inode {}", ino));
      }
      break;
    }
  }
  e.attr.st_ino = ino;
  return e;
}

uint32_t MountTree::CloneSlotFor(uint32_t d, const std::string& name) {
  if (auto it = clone_by_key_.find(std::pair(d, name)); it != clone_by_key_.end()) return it->second;
  uint32_t c = uint32_t(clones_.size());
  std::unique_lock<std::shared_mutex> cl(clones_mu_);
  clones_.push_back(CloneSlot{d, name, nullptr});
  clone_by_key_.emplace(std::pair(d, name), c);
  return c;
}

Status MountTree::OpenCloneLocked(uint32_t c) {
  CloneSlot& slot = clones_[c];
  if (slot.fs) return Status::OK();
  SCNFS_ASSIGN_OR_RETURN(CloneInfo info, ReadClone(store_->dir(), slot.name));
  if (info.db != dbs_[slot.db_slot].name) return Status::NotFound(fmt::format("clone {} is of another database", slot.name));
  PointSpec spec;
  spec.kind = PointSpec::Kind::kBackup;
  spec.number = info.base_backup;
  uint32_t p = PointSlotFor(slot.db_slot, "clones/" + slot.name, spec);
  points_[p].fixed = PointSlot::Fixed{info.base_backup, info.scn, info.last_backup};
  SCNFS_ASSIGN_OR_RETURN(auto view, ViewLocked(p));
  auto fs = CloneFs::Open(CloneDir(store_->dir(), slot.name), view);
  if (!fs.ok()) {
    // Another mount serves it (Busy), or it is damaged: the view built for it joins the idle ones, so that it is
    // dropped and unpinned in turn instead of pinning its backup for the life of this mount.
    DropRefLocked(p, 0);
    return fs.status();
  }
  {
    std::unique_lock<std::shared_mutex> cl(clones_mu_);
    slot.fs = std::move(fs).value();
  }
  points_[p].refs++;  // the clone reads its backup for as long as the mount serves it
  return Status::OK();
}

CloneFs* MountTree::Clone(uint64_t ino, uint64_t* local) const {
  if (!IsCloneIno(ino)) return nullptr;
  // Not mu_: every read, write and fsync of a clone comes here, and mu_ is held across the store's catch-up with
  // a running backup (RefreshLocked), which took up to 0.3 s a second and stalled a database's clone I/O with it.
  std::shared_lock<std::shared_mutex> cl(clones_mu_);
  uint32_t c = CloneSlotOf(ino);
  if (c >= clones_.size()) return nullptr;
  *local = CloneLocal(ino);
  return clones_[c].fs.get();
}

Result<MountTree::Entry> MountTree::Lookup(uint64_t parent, std::string_view name) {
  SCNFS_RETURN_IF_ERROR(CatchUpForLookup(parent, name));
  EnsureView(parent);
  uint64_t ino;
  {
    std::lock_guard<std::mutex> l(mu_);
    SCNFS_ASSIGN_OR_RETURN(ino, ResolveLocked(parent, name));
  }
  EnsureView(ino);
  Result<Entry> e = Status::NotFound("");
  {
    std::lock_guard<std::mutex> l(mu_);
    e = AttrLocked(ino);
    if (e.ok()) AddRefLocked(ino, 1);
  }
  const Status pinned = FlushPins();
  if (const Decoded d = Decoded::Of(ino); e.ok() && !pinned.ok() && d.kind == Decoded::kPoint) {
    // A point is served only once its pin is on disk (docs/pins.md): with the store's disk full it was served
    // unpinned, and a prune would not have seen it (found 2026-11-30). Points pinned before still serve.
    std::lock_guard<std::mutex> l(mu_);
    const uint32_t slot = d.slot;
    if (slot < points_.size() && !pinned_keys_.count(PinWhatLocked(points_[slot]))) {
      DropRefLocked(slot, 1);
      return pinned.WithContext(fmt::format("{}: not served until its pin is recorded in the store (docs/pins.md)",
                                            points_[slot].key));
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
      PointSpec spec;
      std::string key;
      if (d.local == kBackupsDir) {
        uint32_t id = 0;
        auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), id);
        if (ec != std::errc() || end != name.data() + name.size() || (name.size() > 1 && name[0] == '0')) return not_found();
        auto b = std::find_if(db.backups.begin(), db.backups.end(), [&](const BackupRecord& r) { return r.id == id; });
        if (b == db.backups.end() || b->state != BackupState::kComplete) return not_found();
        spec.kind = PointSpec::Kind::kBackup;
        spec.number = id;
        key = fmt::format("backups/{}", id);
      } else {  // at/
        auto parsed = ParsePointSpec(name);
        if (!parsed.ok() || parsed.value().kind == PointSpec::Kind::kLatest) return not_found();
        spec = parsed.value();
        key = fmt::format("at/{}", name);
      }
      uint32_t p;
      if (auto it = point_by_key_.find(std::pair(d.slot, key)); it != point_by_key_.end()) {
        p = it->second;
      } else {
        // Resolve before taking a slot: a name that resolves to nothing (an SCN before the first backup) must not
        // leave a slot behind for every such lookup.
        PointSlot tmp{d.slot, key, spec, std::nullopt, nullptr, nullptr, 0};
        if (Status st = SeedLocked(tmp); !st.ok())
          return st.IsNotFound() || st.code() == Status::Code::kInvalidArgument ? not_found() : st;
        p = uint32_t(points_.size());
        points_.push_back(std::move(tmp));
        point_by_key_.emplace(std::pair(d.slot, key), p);
      }
      SCNFS_RETURN_IF_ERROR(SeedLocked(points_[p]));
      ino = PointIno(p, kLocalDir);
      break;
    }
    case Decoded::kClone: {
      if (d.slot >= clones_.size() || !clones_[d.slot].fs) return not_found();
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
        if (name == kInfoFileName && !view->Lookup(PointView::kRoot, name)) {
          ino = PointIno(d.slot, kLocalInfo);
          break;
        }
        dir = PointView::kRoot;
      } else if (d.local >= kLocalFirstEntry && d.local - kLocalFirstEntry < view->entries()) {
        dir = d.local - kLocalFirstEntry;
      } else {
        return not_found();
      }
      auto i = view->Lookup(dir, name);
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
    if (d.kind == Decoded::kPoint) DropRefLocked(d.slot, nlookup);
  }
  (void)FlushPins();  // a failure is retried by the next change; Lookup refuses unpinned points
}

void MountTree::Upkeep() {
  // Pins that ended are written lazily by the next request (UpdatePinsLocked): here too, so an idle mount's pins
  // do not stay longer than a second or so.
  (void)FlushPins();
  // A view is about 400 bytes per file of its point, in many small allocations: after a `find` over hundreds of
  // points the kernel forgets them and the views go, but malloc kept the freed memory (a mount with --cache-mb 8
  // stayed at 300-490 MiB; found 2026-11-30). Given back once views were dropped.
  if (views_dropped_.exchange(0, std::memory_order_relaxed) > 0) ::malloc_trim(0);
}

Result<MountTree::Entry> MountTree::GetAttr(uint64_t ino) {
  SCNFS_RETURN_IF_ERROR(CatchUpFor(ino));
  EnsureView(ino);
  std::lock_guard<std::mutex> l(mu_);
  Decoded d = Decoded::Of(ino);
  if (d.kind == Decoded::kRoot || (d.kind == Decoded::kDb && d.local != kDbDir)) SCNFS_RETURN_IF_ERROR(RefreshLocked());
  return AttrLocked(ino);
}

Result<std::string> MountTree::ReadLink(uint64_t ino) {
  SCNFS_RETURN_IF_ERROR(CatchUpFor(ino));
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
    if (d.local - kLocalFirstEntry < view->entries()) {
      const FileRecord& r = view->entry(d.local - kLocalFirstEntry);
      if (r.type == "symlink") return r.target;
    }
  }
  return Status::InvalidArgument("not a symbolic link");
}

Result<std::vector<MountTree::DirEntry>> MountTree::ReadDir(uint64_t ino) {
  SCNFS_RETURN_IF_ERROR(CatchUpFor(ino));
  EnsureView(ino);
  std::lock_guard<std::mutex> l(mu_);
  Decoded d = Decoded::Of(ino);
  std::vector<DirEntry> out;
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
      return out;
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
          std::string key = fmt::format("backups/{}", b.id);
          PointSpec spec;
          spec.kind = PointSpec::Kind::kBackup;
          spec.number = b.id;
          uint32_t p = PointSlotFor(d.slot, key, spec);
          out.push_back({std::to_string(b.id), PointIno(p, kLocalDir), S_IFDIR});
        }
      } else if (d.local == kAtDir) {
        // Any scn:/time: name resolves on lookup; the listing shows the points this mount has resolved so far.
        for (const auto& [k, p] : point_by_key_)
          if (k.first == d.slot && k.second.starts_with("at/") && points_[p].seed) out.push_back({k.second.substr(3), PointIno(p, kLocalDir), S_IFDIR});
      } else {
        return Status::InvalidArgument("not a directory");
      }
      return out;
    }
    case Decoded::kClone: {
      if (d.slot >= clones_.size() || !clones_[d.slot].fs) return Status::NotFound(fmt::format("no inode {}", ino));
      SCNFS_ASSIGN_OR_RETURN(auto list, clones_[d.slot].fs->ReadDir(CloneLocal(ino)));
      for (auto& e : list) out.push_back({std::move(e.name), CloneIno(d.slot, e.ino), e.type});
      return out;
    }
    case Decoded::kPoint: {
      SCNFS_ASSIGN_OR_RETURN(auto view, ViewLocked(d.slot));
      uint32_t dir;
      if (d.local == kLocalDir) {
        if (!view->Lookup(PointView::kRoot, kInfoFileName))  // else the backed-up file of that name (Lookup)
          out.push_back({std::string(kInfoFileName), PointIno(d.slot, kLocalInfo), S_IFREG});
        dir = PointView::kRoot;
      } else if (d.local >= kLocalFirstEntry && d.local - kLocalFirstEntry < view->entries()) {
        dir = d.local - kLocalFirstEntry;
        if (view->entry(dir).type != "dir") return Status::InvalidArgument("not a directory");
      } else {
        return Status::InvalidArgument("not a directory");
      }
      for (uint32_t i : view->Children(dir)) {
        const auto& r = view->entry(i);
        mode_t t = r.type == "dir" ? S_IFDIR : r.type == "symlink" ? S_IFLNK : S_IFREG;
        out.push_back({std::string(view->Name(i)), PointIno(d.slot, kLocalFirstEntry + i), t});
      }
      return out;
    }
  }
  return out;
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
    if (f.entry >= view->entries()) return Status::NotFound(fmt::format("no inode {}", ino));
    if (view->entry(f.entry).type != "file") return Status::InvalidArgument("not a file");
  }
  f.view = std::move(view);
  points_[d.slot].refs++;
  return f;
}

void MountTree::Release(const OpenFile& f) {
  {
    std::lock_guard<std::mutex> l(mu_);
    DropRefLocked(f.point_slot, 1);
  }
  (void)FlushPins();  // a failure is retried by the next change; Lookup refuses unpinned points
}

Status MountTree::Read(const OpenFile& f, uint64_t offset, std::span<std::byte> out, size_t* n) const {
  if (f.info) {
    const std::string& s = f.view->info();
    *n = offset >= s.size() ? 0 : std::min<size_t>(out.size(), s.size() - offset);
    if (*n > 0) std::memcpy(out.data(), s.data() + offset, *n);
    return Status::OK();
  }
  return f.view->Read(f.entry, offset, out, n);
}

size_t MountTree::LiveViews() const {
  std::lock_guard<std::mutex> l(mu_);
  return size_t(std::count_if(points_.begin(), points_.end(), [](const PointSlot& s) { return bool(s.view); }));
}

}  // namespace scnfs
