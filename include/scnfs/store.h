// Store: one directory holding a RocksDB database with four column families (docs/store-format.md).
//
//   DIR/SCNFS_STORE   marker: "scnfs store" and the format version, so that a wrong --store is named plainly
//   DIR/lock          flock()ed by the one writer; holds "pid=<pid> op=<what>" for the error a second writer sees,
//                     and "pidns=<n>", its PID namespace, for WriterActive
//   DIR/db/           RocksDB: default (store identity), catalog, versions, content
//
// One writer at a time (init, backup); any number of readers (list, restore, verify, mount) open a RocksDB secondary
// instance and see what the writer has committed when they call Refresh().
//
// Thread-safety: all methods are safe to call from many threads (RocksDB is). Readers of versions and contents
// hold what data() returns for as long as they use it (iterators included), so Refresh() may replace it meanwhile.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>
#include <string_view>

#include "scnfs/status.h"

namespace rocksdb {
class DB;
class Status;
class ColumnFamilyHandle;
class Iterator;
class WriteBatch;
class Cache;
}  // namespace rocksdb

namespace scnfs {

class ContentHasher;
struct CatalogView;

// The on-disk format version this build writes and reads. Do not change without a migration (docs/store-format.md).
inline constexpr int kStoreFormatVersion = 1;

struct StoreOptions {
  // Bytes of RocksDB block cache (index, filter and data blocks). Default: 64 MiB.
  size_t block_cache_bytes = 64u << 20;
  // What the writer is doing, written into DIR/lock for the message a second writer gets. Default: "write".
  std::string writer_activity = "write";
  // A writer that finds another writer at work waits for it instead of failing with Busy: `on_wait` is called once
  // with the other writer's "pid=... op=...", then the lock is polled until it is free or `cancelled` returns true
  // (Aborted). Backups of different databases started together thus all complete, one after another. Default: off.
  bool wait_for_writer = false;
  std::function<void(const std::string& other)> on_wait;
  std::function<bool()> cancelled;
  // A reader whose catch-up failed opens the store's data anew (Refresh) at most this often: a store that is
  // really damaged fails every catch-up, and each attempt opens every table file again. Tests shorten it.
  std::chrono::milliseconds reopen_interval{1000};
  // How many table files a reader keeps open at most (RocksDB's max_open_files); 0: the default, 1,000, or a
  // quarter of the process's descriptor limit when that is lower. A reader opens table files as its lookups need
  // them, so its start and its memory do not grow with the store (docs/mount.md, "Start-up against the store's
  // size"). The writer keeps every one open. Tests lower it.
  int reader_open_tables = 0;
  // The size of the table files the writer makes (RocksDB's target_file_size_base); 0: RocksDB's 64 MiB. Tests
  // shrink it to make a store of many table files from little data.
  uint64_t table_file_bytes = 0;
};

class Store {
 public:
  enum class Mode { kWriter, kReader };

  // Creates a new, empty store in `dir` (created if missing; must be empty if it exists).
  static Status Create(const std::string& dir);
  // Whether a process holds `dir`'s writer lock now, seen without taking it: from the kernel's lock table
  // (/proc/locks), since taking the lock even for a moment would make a writer that starts then fail with Busy.
  // nullopt when it cannot tell (no lock table, no lock file). A lock on another file with the same inode number
  // reads as held: the error is towards "running", never towards calling a live backup interrupted.
  static std::optional<bool> WriterActive(const std::string& dir);
  // Opens an existing store. kWriter fails with Busy when another process writes to it.
  static Result<std::unique_ptr<Store>> Open(const std::string& dir, Mode mode, const StoreOptions& options = {});

  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  const std::string& dir() const { return dir_; }
  Mode mode() const { return mode_; }
  const ContentHasher& hasher() const { return *hasher_; }

  // Catalog key/value access (keys and JSON values are specified in docs/store-format.md).
  Status GetCatalog(std::string_view key, std::string* value) const;  // NotFound when absent
  Status PutCatalog(std::string_view key, std::string_view value, bool sync);
  std::unique_ptr<rocksdb::Iterator> NewCatalogIterator() const;
  // The sequence number of the newest write the catalog reads see (of any family: RocksDB numbers writes store-wide).
  // Equal numbers mean an unchanged catalog, so a long-lived reader (a mount) need not parse it again after a
  // catch-up that found nothing new.
  uint64_t CatalogSequence() const;

  // Applies `batch` atomically. `sync` makes it durable (and everything written before it) before returning.
  Status Write(rocksdb::WriteBatch* batch, bool sync);
  // Applies `batch` to the memtables only, without RocksDB's WAL: the bulk data of a backup (contents, versions).
  // Such writes are lost in a crash until FlushData() returns; a backup calls FlushData() before its synced commit
  // record, so a committed backup never refers to data that is not on disk (docs/store-format.md).
  Status WriteUnlogged(rocksdb::WriteBatch* batch);
  // Flushes the content and versions column families to SST files and waits for it, sealed with the number of the
  // commit that follows (docs/store-format.md, "Seals"). A failure (a full disk) is a failed write: the store must
  // not be written or closed afterwards.
  Status FlushData();
  // The synced write that makes a backup visible: `batch` plus the catalog's seal. REQUIRES: FlushData() since the
  // last Commit. Then the catalog is flushed and DIR/sealed records the commit (neither can undo it if it fails).
  Status Commit(rocksdb::WriteBatch* batch);
  // Waits until RocksDB has no flush or compaction running or pending. A backup calls it after its commit, so that
  // the compaction its own data made necessary is done before the process exits instead of being abandoned and
  // redone by the next backup (which would pay for it in its time). Aborted when `cancelled` returns true.
  Status WaitForCompactions(const std::function<bool()>& cancelled = {});

  // Stops (false) or resumes (true) automatic compactions of the content and versions families. A backup stops
  // them from its final flush to its commit record: the compaction its own flush triggers must not take the disk
  // space the commit record needs (seen on a nearly full disk: the backup "failed at commit").
  Status SetAutoCompactions(bool on);

  // True once a write to the store has failed (a full disk): RocksDB refuses further writes until reopened.
  bool write_failed() const { return write_failed_; }
  // Whether this process left a store open after a failed write (see write_failed_): its RocksDB threads still
  // run, so the process must end with _exit(), not through exit()'s destructors of static objects.
  static bool AbandonedAny();

  // The writer's failure that the store could not record (after write_failed(): a backup's record stays
  // "running"). Kept in DIR/lock as a line "failed pid=P: why", in the block its holder line already occupies, so a
  // full disk does not refuse it on most file systems. Later writers carry such lines over (a writer that fails on
  // a disk still full must not lose an earlier one) until ForgetWriterFailures(); up to kKeptWriterFailures.
  void NoteWriterFailure(std::string_view why);
  struct WriterFailure {
    int64_t pid = 0;
    std::string reason;
  };
  static constexpr size_t kKeptWriterFailures = 4;
  // The failures earlier writers noted and nobody has recorded yet (writers only).
  const std::vector<WriterFailure>& writer_failures() const { return writer_failures_; }
  // The same, read from `dir`'s lock file by anyone, without the lock: what `list` says of a backup still recorded
  // as running whose process is gone. Empty when there are none or the file cannot be read.
  static std::vector<WriterFailure> NotedWriterFailures(const std::string& dir);
  // Drops the noted failures from DIR/lock, once they are recorded (their backups marked failed, committed).
  void ForgetWriterFailures();

  // Open() and Refresh() fail with Corruption when the store does not hold every commit it made: a RocksDB table
  // file that cannot be read, or a damaged MANIFEST, would otherwise roll a column family back without an error
  // (docs/store-format.md, "Seals").
  //
  // For a reader: catch up with what the writer has committed since Open() or the last Refresh(). The catalog is
  // read from then on from a new RocksDB secondary of the catalog alone, opened before the data catches up (so
  // that every backup it shows committed has its data visible): a long-lived secondary can go on serving a
  // catalog value the writer has since replaced, when the writer flushed it before the reader replayed it (RocksDB
  // 7.8, facebook/rocksdb#15051; a mount kept a backup "running" for good and hid its blocks). Costs the open of
  // the catalog's few table files and a replay of its WAL, a few milliseconds.
  //
  // A secondary instance whose catch-up failed once (a table file unreadable for a moment: a transient I/O error,
  // no free descriptors) never applies the edits it skipped, so it stayed behind the store for good and a mount
  // answered EIO until remounted (found 2026-12-01). When the catch-up fails, Refresh() opens a new instance of
  // the data families (at most once a second) and, if that one sees every commit, reads from it from then on. The
  // one it replaces closes once the last reader inside it lets go of it (see data()). Thread-safe: callers take
  // turns (readers may run meanwhile).
  Status Refresh();

  // For a reader whose lookup met a table file that is gone (IsLostTable): readers open table files only as
  // lookups need them, so a file the writer's compaction deleted since the reader's last catch-up can be one it
  // never opened. Its data moved to the compaction's output, which a catch-up brings in: this catches up (Refresh)
  // unless another thread did since `seen_generation` (data_generation() when the failed read took data()), and the
  // read is then tried again. Thread-safe, also beside Refresh(); a writer's lookups never meet this (RocksDB
  // deletes its own files only once no read uses them): for a writer it returns `lost` unchanged.
  Status CatchUpAfterLostTable(uint64_t seen_generation, const Status& lost) const;
  static bool IsLostTable(const rocksdb::Status& st);
  // How many catch-ups CatchUpAfterLostTable() made (tests).
  uint64_t lost_table_catch_ups() const { return lost_table_catch_ups_.load(); }

  // Reads every block of the catalog's table files against its checksum, the meta blocks included: RocksDB opens a
  // table whose properties block is damaged and may then read it as holding fewer records, with no error (a
  // database vanished from `list` and `verify --all`; found 2026-12-02). Corruption naming the file; a file a
  // compaction removed meanwhile is skipped. The catalog is small (kilobytes per backup), so this is cheap.
  Status VerifyCatalogTables() const;

  // The layers in src/ (versions, content) use RocksDB directly through these.
  rocksdb::DB* db() const { return db_; }
  rocksdb::ColumnFamilyHandle* catalog_cf() const { return catalog_cf_; }
  rocksdb::ColumnFamilyHandle* versions_cf() const { return versions_cf_; }
  rocksdb::ColumnFamilyHandle* content_cf() const { return content_cf_; }

  // Where a reader reads block versions and contents: one RocksDB instance and its two families, taken together
  // in one call. A reader's instance can be replaced by Refresh() (below), so code that may run in a reader takes
  // this once per lookup instead of calling db() and a family separately, and holds the pointer for as long as it
  // uses the instance: while it reads, and while an iterator or a PinnableSlice made from it lives (destroy those
  // first). A replaced instance closes when the last holder lets go, so a mount that recovers from many failed
  // catch-ups keeps the current instance and the first open, not one per failure (until 2026-12-01 each stayed
  // open until unmount, at most 16, and the 17th failure needed a remount).
  struct Data {
    rocksdb::DB* db = nullptr;
    rocksdb::ColumnFamilyHandle* versions = nullptr;
    rocksdb::ColumnFamilyHandle* content = nullptr;
  };
  std::shared_ptr<const Data> data() const { return data_.load(std::memory_order_acquire); }
  // How many times Refresh() replaced the reader's data instance (tests).
  uint64_t data_replacements() const { return data_replacements_.load(); }
  // Changes whenever the data instance caught up with a change of the writer's (a flush, a compaction) or was
  // replaced. An iterator made before keeps the
  // table files of what it saw open, those the writer's compactions have deleted since included: readers kept for
  // long (a mount's pooled cursors) make theirs again when it changed (VersionReader::Follow).
  uint64_t data_generation() const { return data_generation_.load(std::memory_order_acquire); }
  // How many replaced data instances are still open (tests): the current one and those a reader still holds. The
  // instance Open() made is not counted: it stays open until the Store closes (it serves the catalog too).
  static uint64_t OpenReplacedInstances();

 private:
  Store() = default;
  Status OpenRocks(Mode mode, const StoreOptions& options, bool create);
  Status LockWriter(const StoreOptions& options);
  Result<std::shared_ptr<CatalogView>> OpenCatalogView();
  rocksdb::Status OpenCatalogView(std::shared_ptr<CatalogView>* out);  // *out stays null when it fails
  std::shared_ptr<CatalogView> catalog() const;
  // Seals (src/store/seals.cc). `recorded`: DIR/sealed, read before RocksDB was opened or caught up.
  Result<uint64_t> ReadSealFile() const;
  Status CheckSeals(rocksdb::DB* catalog_db, rocksdb::ColumnFamilyHandle* catalog_cf, uint64_t recorded);
  Status CheckSealsOf(rocksdb::DB* catalog_db, rocksdb::ColumnFamilyHandle* catalog_cf, rocksdb::DB* data_db,
                      rocksdb::ColumnFamilyHandle* versions_cf, rocksdb::ColumnFamilyHandle* content_cf, uint64_t recorded);
  Status CheckSealsAtOpen(uint64_t recorded);
  Status CheckSealsWithCatalogView(uint64_t recorded);  // CheckSeals with what catalog() returns
  // Refresh()'s catch-up of the current instances; `fresh`: the new catalog view it opened.
  Status CatchUpWithWriter(std::shared_ptr<CatalogView>* fresh);
  // Refresh()'s way out of a failed catch-up: new catalog view and data instance, used only if they see every commit.
  Status ReplaceData(std::shared_ptr<CatalogView>* fresh);
  Status RefreshLocked();  // REQUIRES: refresh_mu_ held
  // The writer's check before its open: RocksDB's primary open deletes every table file its MANIFEST does not list,
  // so a store that lost commits must be refused from a read-only instance, which deletes nothing.
  Status CheckSealsBeforeWriting(uint64_t recorded);

  std::string dir_;
  Mode mode_ = Mode::kReader;
  // Set when a write failed (a full disk): RocksDB (Debian builds keep its assertions) must not be flushed or
  // closed then. The store is left as a crash would leave it, which recovery at the next open handles.
  std::atomic<bool> write_failed_{false};
  int lock_fd_ = -1;
  std::string lock_holder_;                   // this writer's line in DIR/lock
  std::vector<WriterFailure> writer_failures_;  // noted there by earlier writers, not yet recorded
  void WriteLockFile();
  std::string secondary_dir_;
  int reader_lock_fd_ = -1;
  std::shared_ptr<rocksdb::Cache> cache_;
  rocksdb::DB* db_ = nullptr;
  rocksdb::ColumnFamilyHandle* default_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* catalog_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* versions_cf_ = nullptr;
  rocksdb::ColumnFamilyHandle* content_cf_ = nullptr;
  std::unique_ptr<ContentHasher> hasher_;
  // Where catalog reads go: db_ itself (the writer; a reader until its first Refresh), or the newest catalog-only
  // secondary. Iterators hold the one they were made on.
  mutable std::mutex catalog_mu_;
  std::shared_ptr<CatalogView> catalog_;  // GUARDED_BY(catalog_mu_)
  uint64_t catalog_opens_ = 0;            // names the secondary directory of each
  // A reader's data instance: the one OpenRocks opened (initial_data_, over db_, owned by the Store), or the newest
  // that ReplaceData() opened (owned by the pointers to it).
  struct DataInstance;
  Data initial_data_;
  std::atomic<std::shared_ptr<const Data>> data_;
  std::atomic<uint64_t> data_replacements_{0};
  std::atomic<uint64_t> data_generation_{0};
  uint64_t data_instances_opened_ = 0;  // names their secondary directories (only Refresh() opens them)
  // Refresh() and CatchUpAfterLostTable() one at a time (the mount's catch-ups and its readers' lost tables).
  mutable std::mutex refresh_mu_;
  mutable std::atomic<uint64_t> lost_table_catch_ups_{0};
  int reader_open_tables_ = -1;  // max_open_files of the reader's data instances (see StoreOptions)
  uint64_t table_file_bytes_ = 0;
  std::chrono::milliseconds reopen_interval_{1000};
  std::chrono::steady_clock::time_point last_replace_attempt_{};
  uint64_t seal_ = 0;         // the highest commit number seen (the writer's last commit)
  uint64_t data_sealed_ = 0;  // the writer: the commit number FlushData() sealed the data with
};

// Converts a RocksDB status into ours, keeping "no space" apart from other I/O errors.
Status FromRocks(const void* rocksdb_status, std::string_view context);

}  // namespace scnfs
