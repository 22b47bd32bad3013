// MountTree: the mount's namespace, independent of libfuse so that it can be tested without a kernel.
//
// Inode numbers are computed, not stored, and stable for the life of the mount:
//   1                        the root: one directory per database
//   16 + 8*d + k             database slot d (in order of first sight): k = 0 its directory, 1 backups/, 2 at/,
//                            3 the `latest` symlink, 4 clones/
//   (p+1) << 32 | 0          point p (a backups/<id> or at/<SPEC> directory, numbered in order of first sight)
//   (p+1) << 32 | 1          its .scnfs-backup.json
//   (p+1) << 32 | (2 + e)    entry e of the point (PointEntries: a file's file number less one; a directory's or
//                            link's 2^31 + a hash of its path), the same whenever the point is read again
//   1 << 63 | c << 40 | n    inode n of clone slot c (the clone's own numbers, 1 = its top directory)
//
// A point's slot keeps what resolved it (database record, visible backups, base backup and SCN), so a point means
// the same thing on every lookup while it is remembered. Its PointView (the readers) and PointEntries (the records
// of the names met in it) live while the kernel holds a lookup on any of its inodes or a file is open on it; then
// they are dropped, which bounds memory by what is in use rather than by what the store holds (plus the 16 most
// recently unused views, kept for a quick return). Every live view is pinned (scnfs/pins.h). Views are built, and
// records read from the catalog, without holding the tree's lock.
//
// Slots of unused points (no kernel reference, no open file, no view) are remembered up to kRememberedPoints, then
// forgotten, oldest first: a monitoring job looking up at/time:<now> every minute made a slot (2.7 KB) a minute for
// the mount's life (found 2026-11-30). A backup's number is kept for the mount's life (4 bytes per backup), so
// backups/<id> has the same inode numbers whenever it is looked up; a forgotten at/<SPEC> is resolved anew, against
// the backups committed by then, under a new number. Numbers are never reused.
//
// Thread-safety: all methods are safe from many threads. Lock order: catch_up_mu_ (never held with another), then
// pins_write_mu_, then mu_; PinHolder's own lock is taken with pins_write_mu_ alone. The store's catch-up with a
// running backup (Store::Refresh) runs under catch_up_mu_ alone, so requests on views already built never wait for it.
#pragma once

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "fuse/clone_fs.h"
#include "fuse/point_view.h"
#include "scnfs/catalog.h"
#include "scnfs/pins.h"
#include "scnfs/store.h"
#include "store/content_codec.h"
#include "store/versions.h"

namespace scnfs {

inline constexpr std::string_view kInfoFileName = ".scnfs-backup.json";

struct MountTreeOptions {
  std::chrono::milliseconds refresh{1000};  // how long a catalog listing is trusted
  // For tests: runs before each catch-up with the store's writer, in the thread that does it.
  std::function<void()> before_catch_up;
  // Told of a catch-up that failed while the mount goes on serving what it had (a foreground mount prints it).
  std::function<void(const Status&)> on_catch_up_failure;
  // Told, from the checker thread, once per backup whose file set check found damage (FileSetCheck); `what`
  // names it ("<db> backup <id>").
  std::function<void(const std::string& what, const Status&)> on_file_set_damage;
  // Told, from Upkeep and without the tree's lock, of a clone the mount let go of for `clone destroy`: the kernel
  // is to forget the name `name` in directory `dir` (a clones/ directory).
  std::function<void(uint64_t dir, const std::string& name)> on_clone_released;
};

class MountTree {
 public:
  static constexpr uint64_t kRootIno = 1;
  const std::string& store_dir() const { return store_->dir(); }
  // How many times the database and backup lists were read from the catalog (tests: a catch-up that found
  // nothing new must not read them again).
  uint64_t catalog_listings() const { return catalog_listings_.load(); }

  struct Entry {
    uint64_t ino = 0;
    struct stat attr {};
    bool immutable = false;  // the content and attributes never change: the kernel may cache them for long
  };
  struct DirEntry {
    std::string name;
    uint64_t ino = 0;
    mode_t type = 0;  // S_IFDIR, S_IFREG, S_IFLNK
  };
  // An open file: holds its point's view alive (and pinned) until Release.
  struct OpenFile {
    std::shared_ptr<const PointView> view;
    uint32_t point_slot = 0;
    bool info = false;   // .scnfs-backup.json
    uint32_t entry = 0;  // otherwise the entry
    const FileRecord* record = nullptr;  // and its record (the view's, held with it): no lookup per read
  };

  // REQUIRES: store opened as a reader; pins may be null (tests).
  MountTree(Store* store, PinHolder* pins, MountTreeOptions options = {});
  ~MountTree();
  MountTree(const MountTree&) = delete;
  MountTree& operator=(const MountTree&) = delete;

  // A successful Lookup counts one kernel reference on the returned inode (FUSE's nlookup); Forget takes them back.
  Result<Entry> Lookup(uint64_t parent, std::string_view name);
  void Forget(uint64_t ino, uint64_t nlookup);
  // Called about once a second by the mount (a thread of its own): writes pins that ended, lets go of clones `clone
  // destroy` asks for, gives the memory of dropped views back to the system, and drops idle cursors after a
  // catch-up.
  void Upkeep();
  Result<Entry> GetAttr(uint64_t ino);
  Result<std::string> ReadLink(uint64_t ino);
  // The entries of a directory (without "." and ".."), in a stable order, for an open directory handle. A point's
  // directory is listed from its view in place, which the listing holds: a copy per opendir made 2,000 open
  // handles on a directory of 50,000 files take 9.7 GB (found 2026-11-30).
  class DirListing {
   public:
    size_t size() const { return view_ ? info_ + children_->size() : entries_.size(); }
    DirEntry at(size_t i) const;  // REQUIRES: i < size()

   private:
    friend class MountTree;
    std::vector<DirEntry> entries_;          // the mount's own directories and clones
    std::shared_ptr<const PointView> view_;  // a point's directory
    std::shared_ptr<const std::vector<uint32_t>> children_;  // of view_
    uint32_t point_slot_ = 0;
    bool info_ = false;                      // .scnfs-backup.json first
  };
  Result<DirListing> OpenDir(uint64_t ino);
  // OpenDir's entries, copied.
  Result<std::vector<DirEntry>> ReadDir(uint64_t ino);
  Result<OpenFile> Open(uint64_t ino);
  void Release(const OpenFile& f);
  Status Read(const OpenFile& f, uint64_t offset, std::span<std::byte> out, size_t* n) const;

  // Points with a live view (what is pinned). For tests and for `scnfs mount --foreground` messages.
  size_t LiveViews() const;
  // Points whose slots are remembered (in use, or among the kRememberedPoints unused ones). For tests.
  size_t RememberedPoints() const;

  // The clone an inode belongs to, held for the request; null when the inode is not a clone's, or its clone was let
  // go (ReleaseRequestedClones).
  std::shared_ptr<CloneFs> Clone(uint64_t ino, uint64_t* local) const;
  static bool IsCloneIno(uint64_t ino) { return (ino >> 63) != 0; }
  static uint64_t CloneIno(uint32_t clone_slot, uint64_t local) { return uint64_t(1) << 63 | uint64_t(clone_slot) << 40 | local; }
  static uint32_t CloneSlotOf(uint64_t clone_ino) { return uint32_t((clone_ino >> 40) & 0x7fffff); }
  static uint64_t CloneLocal(uint64_t clone_ino) { return clone_ino & ((uint64_t(1) << 40) - 1); }

 private:
  struct DbSlot {
    std::string name;
    std::optional<DatabaseRecord> record;  // nullopt: gone from the catalog
    std::vector<BackupRecord> backups;     // all states, id order
    bool backups_fresh = false;
    std::vector<uint32_t> backup_points;   // backup id -> its point number + 1 (0: none yet), for the mount's life
  };
  struct PointSeed {
    DatabaseRecord db;
    Visibility vis;
    ResolvedPoint point;
    uint32_t last_complete = 0;  // the newest complete backup it reads versions of (a pin's last_backup)
  };
  struct PointSlot {
    uint32_t db_slot = 0;
    std::string key;   // "backups/3", "at/scn:1200": unique per database
    PointSpec spec;
    // A clone's point is fixed by its record (base backup, SCN, last backup read), not re-resolved from its SPEC.
    struct Fixed {
      uint32_t base = 0;
      std::optional<uint64_t> scn;
      uint32_t last_backup = 0;  // 0: not recorded, the newest at this mount's resolution
    };
    std::optional<Fixed> fixed;
    std::shared_ptr<const PointSeed> seed;  // resolved on first use, then kept
    std::shared_ptr<const PointView> view;
    uint64_t refs = 0;      // kernel lookups on its inodes + open files (+1 while a clone of it is open)
    uint64_t dir_refs = 0;  // those of them on its top directory: the view is idle when they are all there are
    uint64_t parked = 0;  // its stamp in unused_ while unused (0: in use, or not parked yet)
    std::optional<struct stat> root_attr;  // its top directory's attributes, once a view gave them
    // An at/ point whose base was the newest complete backup when it was resolved: a later backup may change what
    // it selects, so its name is resolved again once one is complete (ResolveLocked).
    bool open_ended = false;
    // How many slots of this key came before it (resolved again): part of its pin's name, so that the slot it
    // replaced, still serving what is open in it, keeps its own pin (docs/pins.md).
    uint32_t generation = 0;
    // Its name now selects a newer slot (an open-ended point resolved again): once no file of it is open, its view
    // and pin go, even while the kernel still holds its inodes (kept until memory pressure: 60 resolutions of one
    // name stayed pinned, found 2026-12-01). A later request on such an inode builds the view again, as resolved.
    bool superseded = false;
    // The entries of its file set met so far, numbered: made with the seed, shared by its views, kept while its
    // view lives or the kernel holds an inode inside it (a superseded point's, after its view went).
    std::shared_ptr<PointEntries> entries = nullptr;
  };
  struct Decoded;
  struct CloneSlot {
    uint32_t db_slot = 0;
    std::string name;
    // Open from its first lookup until `clone destroy` asks the mount to let go of it (ReleaseRequestedClones);
    // then null for good, and a later lookup of the name gets a new slot. Requests in flight hold it.
    std::shared_ptr<CloneFs> fs;
    uint32_t point = 0;  // the point it reads, while fs is open
  };
  uint32_t CloneSlotFor(uint32_t db, const std::string& name);
  Status OpenCloneLocked(uint32_t c);

  // Without mu_: the store catches up with its writer, at most once per options_.refresh unless `now`.
  Status CatchUp(bool now = false);
  // CatchUp() if a request on `ino` reads the catalog (the root, a database's dirs). A catch-up that fails (a
  // store file unreadable: docs/mount.md) leaves the listing the mount has, which this serves; the failure goes to
  // on_catch_up_failure, and the next catch-up (at most `refresh` later) tries again.
  void CatchUpFor(uint64_t ino);
  // As CatchUpFor(parent), and at once for a name the mount does not know yet (a new database, backup or point,
  // the first lookup of an existing clone): for such a name a failed catch-up is the lookup's error, since the
  // store may hold what it names.
  Status CatchUpForLookup(uint64_t parent, std::string_view name);
  void NoteCatchUpFailure(const Status& st);
  Status RefreshLocked();  // lists the databases again after a catch-up; REQUIRES: CatchUp() called first
  Status LoadBackupsLocked(DbSlot& db);
  uint32_t DbSlotFor(const std::string& name);
  const BackupRecord* NewestComplete(const DbSlot& db) const;
  PointSlot* SlotLocked(uint32_t p);  // nullptr: no such point, or forgotten
  Result<uint32_t> NewPointLocked();  // a number never used before
  // The number of backups/<id> of database `db` (taken now if it has none); BackupPointLocked also makes its slot
  // if it has none (never made, or forgotten).
  Result<uint32_t> BackupPointNumberLocked(uint32_t db, uint32_t id);
  Result<uint32_t> BackupPointLocked(uint32_t db, uint32_t id);
  Result<uint32_t> KeyedPointLocked(uint32_t db, const std::string& key, const PointSpec& spec);  // clones/<name>
  // Once a point is unused (no references, no view), it joins unused_; beyond kRememberedPoints the oldest goes.
  void ParkLocked(uint32_t p);
  Status SeedLocked(PointSlot& s);  // also makes its entries again if they were dropped
  // The entries (records met, ~400 bytes each) go with the view once no inode inside the point is held: they are
  // read again if it is used again, under the same numbers.
  void DropEntriesIfUnusedLocked(PointSlot& s);
  std::shared_ptr<const PointView> BuildView(const PointSeed& seed, std::shared_ptr<PointEntries> entries,
                                             const std::string& key);
  // The check of a backup's file set, queued for the checker thread the first time a view of it is built.
  std::shared_ptr<FileSetCheck> FileSetCheckFor(const BackupRecord& base);
  void CheckFileSets();  // the checker thread's loop
  Result<std::shared_ptr<const PointView>> ViewLocked(uint32_t p);  // builds under the lock if it must
  // Builds the view of a point inode without holding mu_; `attr_only`: only what GetAttr needs (not the view of a
  // top directory whose attributes the slot has).
  void EnsureView(uint64_t ino, bool attr_only = false);
  // Reads from the catalog, without the tree's lock, what a request on point inode `ino` will need (a name's
  // record and attributes, the inode's attributes, a directory's listing, the description), so that its locked
  // part finds them in memory: a catalog read under mu_ held up every request of the mount.
  enum class Warm { kName, kStat, kListing };
  void WarmEntries(uint64_t ino, Warm what, std::string_view name = {});
  Result<uint64_t> ResolveLocked(uint64_t parent, std::string_view name);
  Status FlushPins();             // writes the newest pin set, outside mu_; the write's error, if it failed
  Result<Entry> AttrLocked(uint64_t ino);
  void AddRefLocked(uint64_t ino, uint64_t n);
  void DropRefLocked(uint32_t p, uint64_t n, bool dir = false);
  // After a point's references or view changed: a view with nothing inside it in use goes idle (kIdleViews kept),
  // a point without references or view is parked (ParkLocked).
  void SettleLocked(uint32_t p);
  // A new view is pinned before it serves (queued now, written by the FlushPins that follows); a dropped one is
  // unpinned lazily (written with the next addition, or a second after the last write), since a pin held a little
  // longer only delays a prune. Each costs O(log points): the whole set rebuilt and rewritten per new view made
  // `ls -l` over 2,000 backups O(N^2) (found 2026-11-30), and per dropped view a forget storm of 5,000 points took
  // 35 s of CPU.
  void PinLocked(const PointSlot& s);
  void UnpinLocked(const PointSlot& s);
  std::string PinWhatLocked(const PointSlot& s) const;  // a pin's `what`, one per point of the mount
  std::atomic<uint64_t> views_dropped_{0};   // since the last Upkeep

  Store* store_;
  PinHolder* pins_;
  MountTreeOptions options_;
  const int64_t mounted_us_;
  const std::shared_ptr<Dictionaries> dicts_;  // decompression dictionaries, shared by every point's reader

  std::mutex catch_up_mu_;
  std::chrono::steady_clock::time_point caught_up_{};  // GUARDED_BY(catch_up_mu_): the last catch-up begun
  Status caught_up_status_;                             // GUARDED_BY(catch_up_mu_): how it ended
  std::atomic<uint64_t> catch_ups_{0};                 // how many catch-ups have completed (the first: the open)

  mutable std::mutex mu_;
  uint64_t listed_after_ = ~uint64_t(0);  // the catch_ups_ count the database list was read after
  // The catalog's sequence number (Store::CatalogSequence) when the lists were last read: a catch-up that brought
  // nothing new keeps them. Parsing every backup record again after each one cost ~20 ms per new at/ point of a
  // database with 1,500 backups (found 2026-12-01).
  uint64_t listed_sequence_ = ~uint64_t(0);
  std::atomic<uint64_t> catalog_listings_{0};  // how often the lists were read (tests)
  std::deque<DbSlot> dbs_;
  std::map<std::string, uint32_t, std::less<>> db_by_name_;
  std::unordered_map<uint32_t, PointSlot> points_;  // remembered points by number
  uint32_t next_point_ = 0;
  // at/ and clones/ points by (database, key); backups/ points by DbSlot::backup_points.
  std::map<std::pair<uint32_t, std::string>, uint32_t, std::less<>> point_by_key_;
  std::deque<uint32_t> idle_;  // points whose views nobody references, oldest first
 public:
  static constexpr size_t kIdleViews = 16;
  static constexpr size_t kRememberedPoints = 1024;  // unused points without views, beyond the kIdleViews
 private:
  std::deque<std::pair<uint32_t, uint64_t>> unused_;  // (point, its parked stamp), oldest first; stale ones skipped
  uint64_t park_stamps_ = 0;
  std::map<std::string, Pin> pins_wanted_;             // GUARDED_BY(mu_): a pin per point with a view, by `what`
  std::set<std::string> pins_to_add_, pins_to_remove_;  // GUARDED_BY(mu_): changes not written yet
  std::set<std::string> pinned_;                        // GUARDED_BY(mu_): what the holder's log says is pinned
  std::chrono::steady_clock::time_point pins_written_at_{};  // GUARDED_BY(mu_)
  std::mutex pins_write_mu_;   // after mu_ is released, never while holding it
  std::deque<CloneSlot> clones_;          // GUARDED_BY(mu_) for its users; changes also hold clones_mu_
  mutable std::shared_mutex clones_mu_;   // taken after mu_; alone by Clone(), the hot path of clone I/O
  std::map<std::pair<uint32_t, std::string>, uint32_t, std::less<>> clone_by_key_;

  // File set checks (FileSetCheck): one per backup a view was built of, for the mount's life (~100 bytes each).
  // check_mu_ is taken alone or after mu_.
  std::mutex check_mu_;
  std::condition_variable check_cv_;
  std::map<std::pair<uint32_t, uint32_t>, std::shared_ptr<FileSetCheck>> checks_;       // GUARDED_BY(check_mu_)
  struct QueuedCheck {
    BackupRecord base;
    std::shared_ptr<FileSetCheck> check;
    std::chrono::steady_clock::time_point not_before;
  };
  static constexpr std::chrono::milliseconds kFileSetCheckDelay{250};
  std::deque<QueuedCheck> check_queue_;  // GUARDED_BY(check_mu_), oldest first
  bool check_stop_ = false;                                                             // GUARDED_BY(check_mu_)
  std::thread checker_;  // started with the first check

  // Lets go of the clones `clone destroy` asks for (clone.h, ReleaseRequested) when none of their files is open,
  // and answers why not when one is. Run by Upkeep.
  void ReleaseRequestedClones();
  uint64_t swept_generation_ = 0;  // Store::data_generation() at Upkeep's last sweep of pooled cursors (Upkeep only)
};

// Inode arithmetic (see the table above), exposed for tests.
uint64_t DbIno(uint32_t db_slot, int k);  // k: 0 directory, 1 backups/, 2 at/, 3 latest, 4 clones/
uint64_t PointIno(uint32_t point_slot, uint32_t local);

}  // namespace scnfs
