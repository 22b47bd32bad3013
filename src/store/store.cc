#include "scnfs/store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>
#include <chrono>
#include <vector>

#include <fmt/format.h>
#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/options_util.h>

#include "store/rocks_status.h"
#include "util/durable_file.h"
#include "util/host_name.h"
#include "util/content_hash.h"

namespace scnfs {
namespace fs = std::filesystem;
namespace {

constexpr char kMarkerFile[] = "SCNFS_STORE";
constexpr char kLockFile[] = "lock";
constexpr size_t kLockNoteMax = 3072;  // DIR/lock stays within its first 4 KiB block
constexpr char kRocksDir[] = "db";
// Keys of the default column family: the store's identity.
constexpr char kFormatVersionKey[] = "scnfs.format_version";
constexpr char kSecretKey[] = "scnfs.secret";
constexpr char kCreatedKey[] = "scnfs.created";

// This process's PID namespace (the inode of /proc/self/ns/pid; 0 when it cannot be read).
uint64_t PidNamespace() {
  struct stat st {};
  return ::stat("/proc/self/ns/pid", &st) == 0 ? uint64_t(st.st_ino) : 0;
}

// RocksDB's info LOG lives on the store's disk, and Debian's build asserts when a LOG write fails with ENOSPC:
// a full disk would abort the process instead of failing the backup. Every error scnfs acts on comes back as a
// Status, so the diagnostic log is dropped.
class NullLogger final : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char*, va_list) override {}
};

rocksdb::ColumnFamilyOptions TableOptions(const std::shared_ptr<rocksdb::Cache>& cache, bool bloom,
                                          rocksdb::CompressionType compression) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions t;
  t.block_cache = cache;
  t.block_size = 16 * 1024;
  t.cache_index_and_filter_blocks = true;
  t.pin_l0_filter_and_index_blocks_in_cache = true;
  if (bloom) t.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10, false));
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  cf.compression = compression;
  cf.write_buffer_size = 64u << 20;
  return cf;
}

// Every block a backup has not seen in this run is looked up here first, and nearly all of a first backup's
// lookups miss. A bloom filter over the memtable's keys (2.6 MiB of bits per 128 MiB memtable) answers those misses
// without the skiplist search, which was 4% of a full backup's CPU (perf, Oracle-format and pgbench data alike).
rocksdb::ColumnFamilyOptions ContentOptions(const std::shared_ptr<rocksdb::Cache>& cache) {
  rocksdb::ColumnFamilyOptions cf = TableOptions(cache, true, rocksdb::kNoCompression);
  cf.memtable_whole_key_filtering = true;
  cf.memtable_prefix_bloom_size_ratio = 0.02;
  // Content keys are hashes: every level-0 file overlaps all of level 1, so each level-0 compaction rewrites level
  // 1 whole. Memtables of 128 MiB, compacted 4 at a time into a level 1 sized to take them (RocksDB's advice:
  // level 1 about as large as level 0 at its trigger), write a 2 GiB full backup's 750 MB of content 1.25 GB
  // instead of 2.0 GB and made it ~12% faster (docs/benchmarks.md, 2026-12-01); the writer's peak RSS grew from
  // 225 to 290 MB. Not 8 level-0 files of 64 MiB (the same bytes written): each level-0 file is one more probe per
  // content lookup, and cold random reads of a mount were ~6% slower with 6 of them.
  cf.write_buffer_size = 128u << 20;
  cf.max_bytes_for_level_base = uint64_t(cf.level0_file_num_compaction_trigger) * cf.write_buffer_size;
  return cf;
}

std::vector<rocksdb::ColumnFamilyDescriptor> Families(const std::shared_ptr<rocksdb::Cache>& cache,
                                                      uint64_t table_file_bytes = 0) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, TableOptions(cache, false, rocksdb::kNoCompression)},
      {"catalog", TableOptions(cache, false, rocksdb::kLZ4Compression)},
      // Version keys are sorted runs of (db, file, block): LZ4 squeezes their shared prefixes cheaply.
      {"versions", TableOptions(cache, true, rocksdb::kLZ4Compression)},
      // Content values are zstd frames already; a bloom filter makes "is this block new?" cheap.
      {"content", ContentOptions(cache)},
  };
  if (table_file_bytes != 0)
    for (auto& f : families) f.options.target_file_size_base = table_file_bytes;
  return families;
}

}  // namespace

Status FromRocks(const void* p, std::string_view context) {
  const auto& s = *static_cast<const rocksdb::Status*>(p);
  if (s.ok()) return Status::OK();
  std::string msg = fmt::format("{}: {}", context, s.ToString());
  if (s.IsNoSpace() || msg.find("No space left") != std::string::npos) return Status::NoSpace(msg);
  if (s.IsNotFound()) return Status::NotFound(msg);
  if (s.IsCorruption()) return Status::Corruption(msg);
  if (s.IsBusy() || s.IsTryAgain()) return Status::Busy(msg);
  return Status::IOError(msg);
}

namespace {
// What an init killed before its marker (the marker goes last) leaves: db/ and the lock file.
bool LeftByInterruptedInit(const std::string& dir) {
  std::error_code ec;
  return fs::is_directory(fs::path(dir) / kRocksDir, ec) && fs::exists(fs::path(dir) / kLockFile, ec);
}

// What a new store's directory may hold: nothing, or (`lock_ok`, once init holds it) the writer's lock file.
Status CheckEmptyForInit(const std::string& dir, bool lock_ok) {
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (lock_ok && it->path().filename() == kLockFile) continue;
    if (fs::exists(fs::path(dir) / kMarkerFile, ec)) return Status::InvalidArgument(fmt::format("{} is already a scnfs store", dir));
    if (LeftByInterruptedInit(dir))
      return Status::InvalidArgument(fmt::format("{} holds what an interrupted 'scnfs init' left (no {} marker): remove "
                                                 "it, or its contents, and run init again", dir, kMarkerFile));
    return Status::InvalidArgument(fmt::format("{} is not empty; a new store needs an empty or new directory", dir));
  }
  if (ec) return Status::FromErrno(ec.value(), fmt::format("cannot read {}", dir));
  return Status::OK();
}
}  // namespace

std::optional<bool> Store::WriterActive(const std::string& dir) {
  struct stat st {};
  const std::string path = (fs::path(dir) / kLockFile).string();
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  {
    // A writer in another PID namespace (a container sharing the store) holds a lock this namespace's /proc/locks
    // does not show. Its holder lines say which namespace the last writer ran in; lines from builds that did not
    // write it are taken as this one's.
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);) {
      if (line.rfind("pidns=", 0) == 0 && line.substr(6) != std::to_string(PidNamespace())) return std::nullopt;
      if (line.rfind("host=", 0) == 0 && line.substr(5) != HostName()) return std::nullopt;
    }
  }
  std::ifstream locks("/proc/locks");
  if (!locks) return std::nullopt;
  // "1: FLOCK  ADVISORY  WRITE 17833 fe:00:10953106 0 EOF": the inode is the last part of the sixth field. A
  // waiter's line ("1: -> FLOCK ...") is skipped: the holder it waits for has its own.
  for (std::string line; std::getline(locks, line);) {
    std::istringstream words(line);
    std::string n, kind, advisory, mode, pid, where;
    if (!(words >> n >> kind)) continue;
    if (kind != "FLOCK" || !(words >> advisory >> mode >> pid >> where)) continue;
    const size_t colon = where.rfind(':');
    if (colon != std::string::npos && where.substr(colon + 1) == std::to_string(st.st_ino)) return true;
  }
  return false;
}

Status Store::Create(const std::string& dir) {
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) return Status::InvalidArgument(fmt::format("{} exists and is not a directory", dir));
    SCNFS_RETURN_IF_ERROR(CheckEmptyForInit(dir, /*lock_ok=*/false));
  } else {
    // Made durably (each new directory synced in its parent): "created store" must not vanish with a power cut.
    // Another init making it at the same moment is not an error here (CheckEmptyForInit below decides).
    SCNFS_RETURN_IF_ERROR(CreateDirectoriesDurably(dir));
  }
  // Whether the directory's contents are this init's to take back on failure: only once it holds the writer lock
  // and has seen that no other init got there first. A losing init of two at once removed the winner's files
  // (found 2026-11-30), and one that locked after the winner had finished would have opened its store and written
  // a new content secret over the one its contents are addressed with.
  bool ours = false;
  Status st = [&]() -> Status {
    Store s;
    s.dir_ = dir;
    StoreOptions init;
    init.writer_activity = "init";
    SCNFS_RETURN_IF_ERROR(s.LockWriter(init));
    SCNFS_RETURN_IF_ERROR(CheckEmptyForInit(dir, /*lock_ok=*/true));  // again: another init may have come first
    ours = true;
    SCNFS_RETURN_IF_ERROR(s.OpenRocks(Mode::kWriter, StoreOptions{}, /*create=*/true));
    rocksdb::WriteBatch b;
    b.Put(s.default_cf_, kFormatVersionKey, std::to_string(kStoreFormatVersion));
    b.Put(s.default_cf_, kSecretKey, ContentHasher::NewSecret());
    b.Put(s.default_cf_, kCreatedKey, std::to_string(::time(nullptr)));
    return s.Write(&b, /*sync=*/true);
  }();
  // The marker goes last, whole or not at all (write, fsync, rename, fsync of the store directory): a directory
  // without it was never a finished store. Through a plain stream a full disk left an empty marker ("already a store" to init, "not a store" to
  // everything else), and a power cut right after init left none.
  if (st.ok())
    st = WriteFileDurably((fs::path(dir) / kMarkerFile).string(), fmt::format("scnfs store\nformat {}\n", kStoreFormatVersion))
             .WithContext(fmt::format("cannot finish store {}", dir));
  if (!st.ok()) {
    // The directory was new or empty: take back what this init put there, or a retry found it "not empty" and
    // every other command "not a scnfs store" (found 2026-11-30 on a full disk).
    if (ours)
      for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);
    return st;
  }
  return Status::OK();
}

Result<std::unique_ptr<Store>> Store::Open(const std::string& dir, Mode mode, const StoreOptions& options) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (fs::exists(dir, ec)) return Status::InvalidArgument(fmt::format("{} is not a scnfs store (not a directory)", dir));
    return Status::NotFound(fmt::format("store {} does not exist (create it with 'scnfs init --store {}')", dir, dir));
  }
  // A store this user may not read is not "not a store" (found 2026-11-30): say why.
  if (::access((fs::path(dir) / kMarkerFile).c_str(), R_OK) != 0 && errno == EACCES)
    return Status::FromErrno(EACCES, fmt::format("cannot read store {}", dir));
  std::ifstream marker(fs::path(dir) / kMarkerFile);
  std::string magic, word, rest;
  int version = 0;
  if (!marker || !std::getline(marker, magic) || magic != "scnfs store" || !(marker >> word >> version) || word != "format" ||
      (marker >> rest)) {  // "format 1junk" is no version 1
    if (!marker && LeftByInterruptedInit(dir))
      return Status::InvalidArgument(fmt::format(
          "{} is not a scnfs store: it holds what an interrupted 'scnfs init' left (no {} marker); if no backup was "
          "ever made in it, remove it and run 'scnfs init --store {}' again", dir, kMarkerFile, dir));
    return Status::InvalidArgument(fmt::format("{} is not a scnfs store", dir));
  }
  if (version != kStoreFormatVersion)
    return Status::NotSupported(fmt::format("store {} has format version {}; this scnfs reads version {}", dir, version, kStoreFormatVersion));

  std::unique_ptr<Store> s(new Store());
  s->dir_ = dir;
  s->reopen_interval_ = options.reopen_interval;
  if (mode == Mode::kWriter) SCNFS_RETURN_IF_ERROR(s->LockWriter(options));
  SCNFS_ASSIGN_OR_RETURN(const uint64_t sealed, s->ReadSealFile());  // before RocksDB: it can only be older
  if (mode == Mode::kWriter) SCNFS_RETURN_IF_ERROR(s->CheckSealsBeforeWriting(sealed));
  SCNFS_RETURN_IF_ERROR(s->OpenRocks(mode, options, /*create=*/false));

  std::string v;
  auto st = s->db_->Get(rocksdb::ReadOptions(), s->default_cf_, kFormatVersionKey, &v);
  // The marker says this is a store and init writes the version before it: a store without one lost the table file
  // of its identity (RocksDB serves a family whose only table file is damaged or missing as empty).
  if (st.IsNotFound())
    return Status::Corruption(fmt::format("store {} is damaged: its format version and content secret are missing "
                                          "(a table file of the store's identity is damaged or was removed)", dir));
  if (!st.ok()) return FromRocksStatus(st, fmt::format("store {}: reading the format version", dir));
  if (v != std::to_string(kStoreFormatVersion))
    return Status::NotSupported(fmt::format("store {} has format version {}; this scnfs reads version {}", dir, v, kStoreFormatVersion));
  std::string secret;
  st = s->db_->Get(rocksdb::ReadOptions(), s->default_cf_, kSecretKey, &secret);
  if (!st.ok() || secret.size() != kStoreSecretSize) return Status::Corruption(fmt::format("store {} has no valid content secret", dir));
  s->hasher_ = std::make_unique<ContentHasher>(std::move(secret));
  SCNFS_RETURN_IF_ERROR(s->CheckSealsAtOpen(sealed));
  return s;
}

namespace {
// What earlier holders left in the lock file open as `fd`: "pid=P op=...\n", then "failed pid=P: why\n" for each
// failure not yet recorded.
std::vector<Store::WriterFailure> ReadWriterFailures(int fd) {
  std::vector<Store::WriterFailure> out;
  char buf[kLockNoteMax] = {};
  const ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  std::string_view old(buf, n > 0 ? size_t(n) : 0);
  for (size_t at = old.find("\nfailed pid="); at != std::string_view::npos; at = old.find("\nfailed pid=", at + 1)) {
    std::string_view line = old.substr(at + 1);
    line = line.substr(0, line.find('\n'));
    const size_t colon = line.find(": ");
    if (colon == std::string_view::npos) continue;
    Store::WriterFailure f;
    f.pid = std::strtoll(std::string(line.substr(11, colon - 11)).c_str(), nullptr, 10);
    f.reason = std::string(line.substr(colon + 2));
    if (f.pid > 0 && !f.reason.empty()) out.push_back(std::move(f));
  }
  return out;
}
}  // namespace

std::vector<Store::WriterFailure> Store::NotedWriterFailures(const std::string& dir) {
  const int fd = ::open((fs::path(dir) / kLockFile).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {};
  auto out = ReadWriterFailures(fd);
  ::close(fd);
  return out;
}

Status Store::LockWriter(const StoreOptions& options) {
  std::string path = (fs::path(dir_) / kLockFile).string();
  lock_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (lock_fd_ < 0) return Status::FromErrno(errno, fmt::format("cannot open {}", path));
  std::string announced;
  while (::flock(lock_fd_, LOCK_EX | LOCK_NB) != 0) {
    char buf[kLockNoteMax] = {};
    ssize_t n = ::pread(lock_fd_, buf, sizeof buf - 1, 0);
    const std::string note = n > 0 ? std::string(buf, size_t(n)) : std::string();
    std::string who = note.substr(0, note.find('\n'));  // its holder line; failures noted by earlier writers follow it
    while (!who.empty() && who.back() == '\0') who.pop_back();
    // A writer writes its line just after it took the lock: until then the line is its predecessor's, a process that
    // may have ended (a queued backup named the finished one, found 2026-11-30). A line naming a process of this
    // PID namespace that is gone is not the holder's.
    // (The same namespace on another host sharing the store is another process table: the host is noted too.)
    bool current = true;
    const bool here = note.find("\nhost=") == std::string::npos || note.find("\nhost=" + HostName() + "\n") != std::string::npos;
    if (here && who.rfind("pid=", 0) == 0 && note.find("\npidns=" + std::to_string(PidNamespace()) + "\n") != std::string::npos) {
      const long pid = std::strtol(who.c_str() + 4, nullptr, 10);
      current = pid <= 0 || ::kill(pid_t(pid), 0) == 0 || errno != ESRCH;
    }
    const bool known = current && !who.empty();
    if (!known) who = "a writer that is starting";
    if (!options.wait_for_writer)
      return Status::Busy(fmt::format("store {} is in use by another writer ({}); try again when it finishes", dir_, who));
    // Once per holder, when its own line is there.
    if (known && who != announced && options.on_wait) {
      options.on_wait(who);
      announced = who;
    }
    if (options.cancelled && options.cancelled())
      return Status::Aborted(fmt::format("cancelled while waiting for the store's other writer ({})", who));
    // Polled rather than a blocking flock(): a blocking call would not see Ctrl-C (signals restart it).
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  writer_failures_ = ReadWriterFailures(lock_fd_);
  // The second and third lines name the writer's PID namespace and host: its pid, and its lock in /proc/locks,
  // mean something only to a reader in the same namespace of the same host (WriterActive, LockWriter's wait).
  lock_holder_ = fmt::format("pid={} op={}\npidns={}\nhost={}\n", ::getpid(), options.writer_activity, PidNamespace(), HostName());
  WriteLockFile();
  return Status::OK();
}

// The holder line and the failures still to record, within the file's first 4 KiB: rewritten in place, so that
// on most file systems it needs no new space (a full disk is when it is written).
void Store::WriteLockFile() {
  if (lock_fd_ < 0) return;
  while (writer_failures_.size() > kKeptWriterFailures) writer_failures_.erase(writer_failures_.begin());
  std::string text = lock_holder_;
  for (const auto& f : writer_failures_) text += fmt::format("failed pid={}: {}\n", f.pid, f.reason);
  if (text.size() > kLockNoteMax) text.resize(kLockNoteMax);
  // The lock is held either way; the text is for others (and for the next writer's record of a failure).
  if (::pwrite(lock_fd_, text.data(), text.size(), 0) == ssize_t(text.size())) (void)::ftruncate(lock_fd_, off_t(text.size()));
}

void Store::NoteWriterFailure(std::string_view why) {
  std::string reason(why.substr(0, kLockNoteMax / (kKeptWriterFailures + 1)));
  std::replace(reason.begin(), reason.end(), '\n', ' ');
  writer_failures_.push_back({int64_t(::getpid()), std::move(reason)});
  WriteLockFile();
}

void Store::ForgetWriterFailures() {
  if (writer_failures_.empty()) return;
  writer_failures_.clear();
  WriteLockFile();
}

namespace {
// Where readers keep their RocksDB secondary's few files: $TMPDIR if it names a directory, else /tmp.
std::string ReaderTmpDir() {
  std::error_code ec;
  if (const char* t = std::getenv("TMPDIR"); t != nullptr && *t != '\0' && fs::is_directory(t, ec)) return t;
  return "/tmp";
}

void RemoveDeadReaderDirs(const std::string& mine) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(fs::path(mine).parent_path(), ec)) {
    const std::string path = e.path().string();
    if (path == mine || e.path().filename().string().rfind("scnfs-reader-", 0) != 0) continue;
    int fd = ::open((path + "/lock").c_str(), O_RDWR | O_CLOEXEC);
    bool dead;
    if (fd >= 0) {
      dead = ::flock(fd, LOCK_EX | LOCK_NB) == 0;
      ::close(fd);
    } else {  // made before readers took locks: gone if nobody touched it for a day
      auto age = fs::file_time_type::clock::now() - fs::last_write_time(e.path(), ec);
      dead = !ec && age > std::chrono::hours(24);
    }
    if (dead) fs::remove_all(e.path(), ec);
  }
}
// The table files in `rocks_dir`, every one of which the writer keeps open (max_open_files=-1).
size_t TableFileCount(const std::string& rocks_dir) {
  std::error_code ec;
  size_t tables = 0;
  for (fs::directory_iterator it(rocks_dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".sst") ++tables;
  return tables;
}

// RocksDB opens the table files of each column family with max_file_opening_threads threads (default 16), and it
// starts them all whatever the number of files: an open of a small store started and joined 120 threads (4 column
// families, OpenAsSecondary and the catch-up), most of a warm `scnfs list`'s time. Threads pay off when there are
// many files to open from a cold disk (a large store), so they follow the table-file count: one per 64 files, 1..16.
int FileOpeningThreads(const std::string& rocks_dir) {
  return int(std::clamp<size_t>(TableFileCount(rocks_dir) / 64, 1, 16));
}

// Why an existing store's RocksDB did not open. CURRENT is replaced by a rename, never absent from a sound store:
// without it RocksDB's error is an I/O error, and verify said "could not run" (exit 1) of a store that is damaged
// (exit 2).
Status OpenFailure(const rocksdb::Status& st, const std::string& dir, const std::string& rocks_dir) {
  std::error_code ec;
  if (fs::exists(dir, ec) && !fs::exists(fs::path(rocks_dir) / "CURRENT", ec) && !ec)
    return Status::Corruption(fmt::format("store {} is damaged: {}/CURRENT, which names its table files, is missing", dir, rocks_dir));
  // The writer keeps every table file open (max_open_files=-1): a large store needs as many descriptors, and RocksDB's
  // message names one file, not why.
  if (st.ToString().find("Too many open files") != std::string::npos) {
    struct rlimit nofile {};
    ::getrlimit(RLIMIT_NOFILE, &nofile);
    return Status::IOError(fmt::format("cannot open store {}: it has {} table files, and this process may open {} files "
                                       "(ulimit -n): raise the limit (as root, or in the service's LimitNOFILE)",
                                       dir, TableFileCount(rocks_dir), uint64_t(nofile.rlim_cur)));
  }
  return FromRocksStatus(st, fmt::format("cannot open store {}", dir));
}

// How many table files a reader keeps open (StoreOptions::reader_open_tables). A quarter of the descriptor limit
// leaves the rest to what the command opens itself (a restore's window of files, a mount's clones); RocksDB itself
// uses no fewer than 20. At about 4.3 KB of memory outside the block cache per open table, 1,000 cost 4.3 MB.
int ReaderOpenTables(int asked) {
  if (asked > 0) return asked;
  constexpr rlim_t kDefault = 1000;
  struct rlimit nofile {};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0 || nofile.rlim_cur == RLIM_INFINITY) return int(kDefault);
  return int(std::max<rlim_t>(20, std::min(kDefault, nofile.rlim_cur / 4)));
}

// `max_open_files`: -1 opens every table file at the open and keeps it open (the writer; a catalog-only reader, whose
// few files then stay readable when the writer deletes them); a bound makes RocksDB open them as lookups need them.
rocksdb::DBOptions BaseOptions(const std::string& rocks_dir, int max_open_files = -1) {
  rocksdb::DBOptions db;
  db.max_background_jobs = 2;
  db.bytes_per_sync = 1u << 20;
  db.keep_log_file_num = 3;
  db.info_log = std::make_shared<NullLogger>();
  db.max_open_files = max_open_files;
  // RocksDB preallocates each WAL file at 1.1 x the write buffer (70 MiB here), and on ext4 a preallocation that
  // fails keeps what it got: with 60 MB free, a 1 MB backup failed "at commit" with ENOSPC. Only the catalog is
  // written through the WAL (kilobytes per backup), so its preallocation is capped by this limit instead.
  db.max_total_wal_size = 8u << 20;
  // No mmap reads: a cold restore through mmap took twice the system time of pread (a page fault per 4 KiB,
  // TLB shootdowns on unmap) and 25% more wall time.
  db.allow_mmap_reads = false;
  if (max_open_files == -1) db.max_file_opening_threads = FileOpeningThreads(rocks_dir);
  return db;
}

}  // namespace

// The catalog family of one RocksDB instance, and whether closing it is this view's job.
struct CatalogView {
  rocksdb::DB* db = nullptr;
  rocksdb::ColumnFamilyHandle* cf = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> owned;  // set when the view opened `db` itself
  std::string dir;                                  // its secondary directory, removed when closed

  CatalogView() = default;
  CatalogView(const CatalogView&) = delete;
  CatalogView& operator=(const CatalogView&) = delete;
  ~CatalogView() {
    if (owned.empty()) return;
    for (auto* h : owned) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db->Close().PermitUncheckedError();
    delete db;
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

namespace {

// An iterator that keeps the catalog instance it reads alive: a Refresh() may replace it meanwhile.
class CatalogIterator : public rocksdb::Iterator {
 public:
  explicit CatalogIterator(std::shared_ptr<CatalogView> v)
      : view_(std::move(v)), it_(view_->db->NewIterator(rocksdb::ReadOptions(), view_->cf)) {}
  bool Valid() const override { return it_->Valid(); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(const rocksdb::Slice& k) override { it_->Seek(k); }
  void SeekForPrev(const rocksdb::Slice& k) override { it_->SeekForPrev(k); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  rocksdb::Slice key() const override { return it_->key(); }
  rocksdb::Slice value() const override { return it_->value(); }
  rocksdb::Status status() const override { return it_->status(); }

 private:
  std::shared_ptr<CatalogView> view_;  // declared first: destroyed after the iterator
  std::unique_ptr<rocksdb::Iterator> it_;
};

}  // namespace

Status Store::OpenRocks(Mode mode, const StoreOptions& options, bool create) {
  mode_ = mode;
  cache_ = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::string path = (fs::path(dir_) / kRocksDir).string();
  table_file_bytes_ = options.table_file_bytes;
  reader_open_tables_ = ReaderOpenTables(options.reader_open_tables);
  rocksdb::DBOptions db = BaseOptions(path, mode == Mode::kWriter ? -1 : reader_open_tables_);
  db.create_if_missing = create;
  db.create_missing_column_families = create;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::Status st;
  std::shared_ptr<CatalogView> view;  // a reader's (below)
  if (mode == Mode::kWriter) {
    st = rocksdb::DB::Open(db, path, Families(cache_, table_file_bytes_), &handles, &db_);
  } else {
    const std::string tmp = ReaderTmpDir();
    std::string tmpl = (fs::path(tmp) / "scnfs-reader-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr)
      return Status::FromErrno(errno, fmt::format("cannot create a reader directory in {} (set TMPDIR to use another)", tmp));
    secondary_dir_ = tmpl;
    // The directory is locked for the reader's life; one left by a reader that was killed is removed by the next.
    reader_lock_fd_ = ::open((secondary_dir_ + "/lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (reader_lock_fd_ >= 0) ::flock(reader_lock_fd_, LOCK_EX | LOCK_NB);
    RemoveDeadReaderDirs(secondary_dir_);
    // The catalog is read from an instance of its own that keeps its few table files open (max_open_files=-1): the
    // data instance opens table files as lookups need them, and a catalog read that met a file the writer's
    // compaction had deleted would fail (catalog reads are not retried). Opened before the data instance, so that
    // every backup it shows committed has its data in what the data instance sees.
    // TryAgain: the MANIFEST that CURRENT names is gone. The writer switching to a new one (and deleting the old)
    // between our reads of the two is over in moments; a MANIFEST that stays missing is a damaged store, which
    // RocksDB words as "Try again" (found 2026-11-30).
    for (int attempt = 0;; ++attempt) {
      handles.clear();
      st = OpenCatalogView(&view);
      if (st.ok()) st = rocksdb::DB::OpenAsSecondary(db, path, secondary_dir_, Families(cache_), &handles, &db_);
      if (st.ok()) st = db_->TryCatchUpWithPrimary();
      if (!st.ok() && db_ != nullptr) {  // opened, but its catch-up failed: closed here, not half in ~Store
        for (auto* h : handles) db_->DestroyColumnFamilyHandle(h);
        delete db_;
        db_ = nullptr;
      }
      if (!st.IsTryAgain() || attempt == 4) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(20 << attempt));
    }
    if (st.IsTryAgain())
      return Status::Corruption(fmt::format("store {} is damaged: the MANIFEST that {}/CURRENT names is missing", dir_, path));
  }
  if (!st.ok()) return create ? FromRocksStatus(st, fmt::format("cannot create store {}", dir_)) : OpenFailure(st, dir_, path);
  default_cf_ = handles[0];
  catalog_cf_ = handles[1];
  versions_cf_ = handles[2];
  content_cf_ = handles[3];
  initial_data_ = Data{db_, versions_cf_, content_cf_};
  // No owner: the Store closes db_ itself, after every reader is gone.
  data_.store(std::shared_ptr<const Data>(std::shared_ptr<const Data>(), &initial_data_));
  if (mode == Mode::kReader) {
    catalog_ = std::move(view);
    return Status::OK();
  }
  catalog_ = std::make_shared<CatalogView>();
  catalog_->db = db_;
  catalog_->cf = catalog_cf_;
  return Status::OK();
}

Status Store::CheckSealsBeforeWriting(uint64_t recorded) {
  if (recorded == 0) return Status::OK();  // nothing sealed yet (a new store, or one from before seals)
  const std::string path = (fs::path(dir_) / kRocksDir).string();
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  // Read-only: replays the WAL in memory and recovers the MANIFEST strictly (a table file it cannot open fails the
  // open), and writes and deletes nothing.
  rocksdb::Status rs = rocksdb::DB::OpenForReadOnly(BaseOptions(path), path, Families(rocksdb::NewLRUCache(8u << 20)),
                                                    &handles, &db);
  if (!rs.ok()) return OpenFailure(rs, dir_, path);
  Status st = CheckSealsOf(db, handles[1], db, handles[2], handles[3], recorded);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  db->Close().PermitUncheckedError();
  delete db;
  return st;
}

Result<std::shared_ptr<CatalogView>> Store::OpenCatalogView() {
  std::shared_ptr<CatalogView> v;
  rocksdb::Status st = OpenCatalogView(&v);
  if (v == nullptr) return FromRocksStatus(st, fmt::format("cannot read the catalog of store {}", dir_));
  return v;
}

rocksdb::Status Store::OpenCatalogView(std::shared_ptr<CatalogView>* out) {
  out->reset();
  const std::string path = (fs::path(dir_) / kRocksDir).string();
  auto v = std::make_shared<CatalogView>();
  v->dir = fmt::format("{}/catalog-{}", secondary_dir_, ++catalog_opens_);
  std::error_code ec;
  fs::create_directories(v->dir, ec);
  if (ec) return rocksdb::Status::IOError(fmt::format("cannot create {}: {}", v->dir, ec.message()));
  auto families = Families(cache_);
  families.resize(2);  // default and catalog
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  rocksdb::Status st = rocksdb::DB::OpenAsSecondary(BaseOptions(path), path, v->dir, families, &handles, &db);
  if (!st.ok()) {
    fs::remove_all(v->dir, ec);
    return st;
  }
  v->db = db;
  v->cf = handles[1];
  v->owned = handles;
  *out = std::move(v);
  return st;
}

Status Store::CheckSealsWithCatalogView(uint64_t recorded) {
  const auto v = catalog();
  return CheckSeals(v->db, v->cf, recorded);
}

std::shared_ptr<CatalogView> Store::catalog() const {
  std::lock_guard<std::mutex> l(catalog_mu_);
  return catalog_;
}

namespace {
std::atomic<bool> g_abandoned{false};
}  // namespace

bool Store::AbandonedAny() { return g_abandoned.load(); }

std::atomic<uint64_t> g_open_replaced_instances{0};

// A data instance ReplaceData() opened, with its secondary directory: closed, and the directory removed, when the
// last pointer to it goes (which may be a reader's thread).
struct Store::DataInstance {
  rocksdb::DB* db = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  Data data;
  std::string dir;
  DataInstance() { g_open_replaced_instances.fetch_add(1); }
  ~DataInstance() {
    if (db != nullptr) {
      for (auto* h : handles) db->DestroyColumnFamilyHandle(h).PermitUncheckedError();
      db->Close().PermitUncheckedError();
      delete db;
    }
    std::error_code ec;
    if (!dir.empty()) fs::remove_all(dir, ec);
    g_open_replaced_instances.fetch_sub(1);
  }
};

uint64_t Store::OpenReplacedInstances() { return g_open_replaced_instances.load(); }

Store::~Store() {
  catalog_.reset();  // a catalog-only secondary closes; an alias of db_ goes
  data_.store(nullptr);  // a replaced instance closes here (readers are gone: they do not outlive the Store)
  if (db_ != nullptr && write_failed_) {
    // Deliberately not closed (see write_failed_), as a crash would leave it. Kept reachable from a global so that
    // leak checkers (the ASAN build) do not report what is abandoned on purpose.
    static std::mutex abandoned_mu;
    static auto* abandoned = new std::vector<const void*>;
    std::lock_guard<std::mutex> l(abandoned_mu);
    abandoned->insert(abandoned->end(), {db_, default_cf_, catalog_cf_, versions_cf_, content_cf_});
    db_ = nullptr;
    g_abandoned = true;
  }
  if (db_ != nullptr) {
    for (auto* h : {default_cf_, catalog_cf_, versions_cf_, content_cf_})
      if (h != nullptr) db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
    delete db_;
  }
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    fs::remove_all(secondary_dir_, ec);
    if (reader_lock_fd_ >= 0) ::close(reader_lock_fd_);
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);  // releases the flock
}

uint64_t Store::CatalogSequence() const { return catalog()->db->GetLatestSequenceNumber(); }

Status Store::GetCatalog(std::string_view key, std::string* value) const {
  const auto v = catalog();
  auto st = v->db->Get(rocksdb::ReadOptions(), v->cf, rocksdb::Slice(key.data(), key.size()), value);
  if (st.IsNotFound()) return Status::NotFound(std::string(key));
  return FromRocksStatus(st, "reading the catalog");
}

Status Store::PutCatalog(std::string_view key, std::string_view value, bool sync) {
  rocksdb::WriteBatch b;
  b.Put(catalog_cf_, rocksdb::Slice(key.data(), key.size()), rocksdb::Slice(value.data(), value.size()));
  return Write(&b, sync);
}

std::unique_ptr<rocksdb::Iterator> Store::NewCatalogIterator() const {
  return std::make_unique<CatalogIterator>(catalog());
}

Status Store::Write(rocksdb::WriteBatch* batch, bool sync) {
  if (mode_ != Mode::kWriter) return Status::ReadOnly("store opened for reading");
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  Status st = FromRocksStatus(db_->Write(wo, batch), "writing to the store");
  if (!st.ok()) write_failed_ = true;
  return st;
}

Status Store::WriteUnlogged(rocksdb::WriteBatch* batch) {
  if (mode_ != Mode::kWriter) return Status::ReadOnly("store opened for reading");
  rocksdb::WriteOptions wo;
  wo.disableWAL = true;
  Status st = FromRocksStatus(db_->Write(wo, batch), "writing to the store");
  if (!st.ok()) write_failed_ = true;
  return st;
}

Status Store::SetAutoCompactions(bool on) {
  if (mode_ != Mode::kWriter) return Status::ReadOnly("store opened for reading");
  // SetOptions writes to the MANIFEST. After a failed write RocksDB 7.8 may then switch to a new MANIFEST it cannot
  // write either and delete the one CURRENT names: every backup of the store was unreachable (found 2026-11-30
  // with EIO injected after a commit). Leave the store as a crash would (see write_failed_).
  if (write_failed_) return Status::IOError("an earlier write to the store failed");
  for (auto* cf : {content_cf_, versions_cf_}) {
    Status st = FromRocksStatus(db_->SetOptions(cf, {{"disable_auto_compactions", on ? "false" : "true"}}),
                                "setting the store's compactions");
    if (!st.ok()) {
      write_failed_ = true;
      return st;
    }
  }
  return Status::OK();
}

Status Store::WaitForCompactions(const std::function<bool()>& cancelled) {
  if (mode_ != Mode::kWriter) return Status::ReadOnly("store opened for reading");
  if (write_failed_) return Status::IOError("an earlier write to the store failed");
  // RocksDB 7.8 has no WaitForCompact: poll its properties. A compaction still running at Close() is abandoned
  // and redone from scratch by the next writer, so leaving early wastes the work done so far. But "pending" alone
  // is not a promise: RocksDB may report compaction debt and schedule nothing for it (seen with universal
  // compaction, and with automatic compactions switched off), so once nothing has run for a second the wait ends.
  constexpr auto kIdleGiveUp = std::chrono::seconds(1);
  auto last_active = std::chrono::steady_clock::now();
  // A compaction that fails is retried by RocksDB for ever (a full disk is a "soft" error it waits out), with the
  // compaction counted as running all along: checked on every round, or the backup never ends and keeps the
  // writer lock (seen with the store's disk full after the flush).
  auto failed = [&]() -> Status {
    std::string err;
    if (!db_->GetProperty("rocksdb.background-errors", &err) || err == "0") return Status::OK();
    std::string why;
    struct statvfs fsst;
    if (::statvfs(dir_.c_str(), &fsst) == 0)
      why = fmt::format("; the store's file system has {:.1f} MiB free", double(fsst.f_bavail) * double(fsst.f_frsize) / (1 << 20));
    return Status::IOError(fmt::format("store compaction failed ({} background errors{})", err, why));
  };
  for (;;) {
    SCNFS_RETURN_IF_ERROR(failed());
    uint64_t pending = 0, running = 0, flushes = 0;
    // Pending is per column family (the content and versions families are the ones that grow): sum all of them.
    db_->GetAggregatedIntProperty(rocksdb::DB::Properties::kCompactionPending, &pending);
    db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningCompactions, &running);
    db_->GetIntProperty(rocksdb::DB::Properties::kNumRunningFlushes, &flushes);
    const auto now = std::chrono::steady_clock::now();
    if (running > 0 || flushes > 0) {
      last_active = now;
    } else if (pending == 0 || now - last_active >= kIdleGiveUp) {
      break;
    }
    if (cancelled && cancelled()) return Status::Aborted("interrupted while compacting the store");
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return failed();
}

namespace {
// The LSM state of an instance's data families: changes with every flush, compaction or memtable the catch-up
// installs. {0, 0} when RocksDB does not say (then every catch-up counts as a change).
std::pair<uint64_t, uint64_t> SuperVersions(const Store::Data& d) {
  uint64_t v = 0, c = 0;
  if (!d.db->GetIntProperty(d.versions, "rocksdb.current-super-version-number", &v) ||
      !d.db->GetIntProperty(d.content, "rocksdb.current-super-version-number", &c))
    return {0, 0};
  return {v, c};
}
}  // namespace

Status Store::CatchUpWithWriter(std::shared_ptr<CatalogView>* fresh) {
  // The catalog first, the data after it: a backup's data is flushed before its commit record is written, so
  // every backup the new catalog shows complete has its data in what the catch-up below sees.
  // A catch-up can meet a table file the writer's compaction has just deleted and leave that family behind until
  // the next one: seals a commit behind, with nothing damaged. Another round sees the compaction's result; a
  // damaged file stays damaged (docs/store-format.md, "Seals").
  const auto d = data();
  for (int attempt = 0;; ++attempt) {
    SCNFS_ASSIGN_OR_RETURN(const uint64_t sealed, ReadSealFile());
    SCNFS_ASSIGN_OR_RETURN(*fresh, OpenCatalogView());
    const auto before = SuperVersions(*d);
    SCNFS_RETURN_IF_ERROR(FromRocksStatus(d->db->TryCatchUpWithPrimary(), "catching up with the store's writer"));
    // Only a change makes readers remake their iterators: a mount catches up on every listing, at most once per
    // refresh, and most find nothing new (found by review, 2026-12-01: a monitoring `ls` each second remade every
    // cursor each second).
    if (const auto after = SuperVersions(*d); after != before || after == std::pair<uint64_t, uint64_t>{0, 0})
      data_generation_.fetch_add(1, std::memory_order_acq_rel);
    Status st = CheckSeals((*fresh)->db, (*fresh)->cf, sealed);
    if (st.ok() || st.code() != Status::Code::kCorruption || attempt == 2) return st;
    std::this_thread::sleep_for(std::chrono::milliseconds(20 * (attempt + 1)));
  }
}

Status Store::ReplaceData(std::shared_ptr<CatalogView>* fresh) {
  // Not too often: a store that is really damaged fails every catch-up, and each attempt opens every table file of
  // the store again.
  const auto now = std::chrono::steady_clock::now();
  if (now - last_replace_attempt_ < reopen_interval_) return Status::Busy("a new instance was tried moments ago");
  last_replace_attempt_ = now;
  SCNFS_ASSIGN_OR_RETURN(const uint64_t sealed, ReadSealFile());
  SCNFS_ASSIGN_OR_RETURN(*fresh, OpenCatalogView());
  const std::string path = (fs::path(dir_) / kRocksDir).string();
  auto inst = std::make_shared<DataInstance>();
  inst->dir = fmt::format("{}/data-{}", secondary_dir_, ++data_instances_opened_);
  std::error_code ec;
  fs::create_directories(inst->dir, ec);
  if (ec) return Status::IOError(fmt::format("cannot create {}: {}", inst->dir, ec.message()));
  rocksdb::Status rs =
      rocksdb::DB::OpenAsSecondary(BaseOptions(path, reader_open_tables_), path, inst->dir, Families(cache_), &inst->handles, &inst->db);
  if (rs.ok()) rs = inst->db->TryCatchUpWithPrimary();
  SCNFS_RETURN_IF_ERROR(FromRocksStatus(rs, "opening the store's data again"));
  inst->data = Data{inst->db, inst->handles[2], inst->handles[3]};
  SCNFS_RETURN_IF_ERROR(CheckSealsOf((*fresh)->db, (*fresh)->cf, inst->db, inst->handles[2], inst->handles[3], sealed));
  // The instance it replaces closes when its last reader lets go.
  data_.store(std::shared_ptr<const Data>(inst, &inst->data), std::memory_order_release);
  data_replacements_.fetch_add(1);
  data_generation_.fetch_add(1, std::memory_order_acq_rel);
  return Status::OK();
}

bool Store::IsLostTable(const rocksdb::Status& st) { return st.IsPathNotFound(); }

Status Store::CatchUpAfterLostTable(uint64_t seen_generation, const Status& lost) const {
  if (mode_ == Mode::kWriter) return lost;
  auto* self = const_cast<Store*>(this);  // a catch-up changes what the reader sees, not which store it reads
  std::lock_guard<std::mutex> l(refresh_mu_);
  // Caught up since the read took its instance: the compaction's output may be in view already.
  if (data_generation() != seen_generation) return Status::OK();
  lost_table_catch_ups_.fetch_add(1);
  Status st = self->RefreshLocked();
  // Nothing new to see, yet the file is gone: retrying on the same view would fail the same way.
  if (st.ok() && data_generation() == seen_generation) return lost;
  return st;
}

Status Store::Refresh() {
  std::lock_guard<std::mutex> l(refresh_mu_);
  return RefreshLocked();
}

Status Store::RefreshLocked() {
  if (mode_ == Mode::kWriter) return Status::OK();
  std::shared_ptr<CatalogView> fresh;
  Status st = CatchUpWithWriter(&fresh);
  // The instance may have skipped what it could not read and stay behind for good: a new one reads everything
  // again. If that fails too, the first error says what is wrong.
  if (!st.ok() && !ReplaceData(&fresh).ok()) return st;
  {
    std::lock_guard<std::mutex> l(catalog_mu_);
    std::swap(catalog_, fresh);
  }
  return Status::OK();  // the replaced view closes here, or with the last iterator made on it
}

Status Store::VerifyCatalogTables() const {
  // A read-only instance of the catalog's families of its own: a secondary instance (what readers use) opens a
  // table it cannot load without an error, and leaves it out of its files.
  const std::string path = (fs::path(dir_) / kRocksDir).string();
  auto families = Families(cache_);
  families.resize(2);  // default and catalog
  rocksdb::DBOptions options = BaseOptions(path);
  options.paranoid_checks = true;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status st = rocksdb::DB::OpenForReadOnly(options, path, families, &handles, &raw);
  if (st.IsCorruption())
    return Status::Corruption(fmt::format("store {} is damaged: the catalog: {}", dir_, st.ToString()));
  if (!st.ok()) return FromRocksStatus(st, fmt::format("cannot check the catalog of store {}", dir_));
  std::unique_ptr<rocksdb::DB> db(raw);
  Status out = Status::OK();
  std::vector<rocksdb::LiveFileMetaData> files;
  db->GetLiveFilesMetaData(&files);
  const rocksdb::Options table_options(db->GetDBOptions(), db->GetOptions(handles[1]));
  for (const auto& f : files) {
    if (f.column_family_name != handles[1]->GetName()) continue;
    const std::string file = f.directory + "/" + f.relative_filename;
    std::error_code ec;
    if (!fs::exists(file, ec) && !ec) continue;  // compacted away by a writer since the open
    st = rocksdb::VerifySstFileChecksum(table_options, rocksdb::EnvOptions(), rocksdb::ReadOptions(), file);
    if (st.IsCorruption()) {
      out = Status::Corruption(fmt::format("store {} is damaged: catalog table file {}: {}", dir_, file, st.ToString()));
      break;
    }
    if (!st.ok() && fs::exists(file, ec)) {
      out = FromRocksStatus(st, fmt::format("checking catalog table file {}", file));
      break;
    }
  }
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  return out;
}

}  // namespace scnfs
