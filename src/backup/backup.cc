// Backup orchestration: plan, start (a synced "running" record), ingest in parallel, commit (a synced "complete"
// record). Lock order: none held across phases; workers share only IngestShared (its own mutex).
#include "scnfs/backup.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <ranges>
#include <tuple>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <rocksdb/write_batch.h>

#include "backup/backup_notes.h"
#include "backup/block_ingest.h"
#include "backup/file_plan.h"
#include "backup/pg_backup_session.h"
#include "scnfs/oracle_format.h"
#include "scnfs/postgres_format.h"
#include "scnfs/store.h"
#include "store/content_codec.h"
#include "util/clock.h"
#include "util/host_name.h"
#include "util/names.h"
#include "util/record_path.h"
#include "util/ticker.h"

namespace scnfs {
namespace {
namespace fs = std::filesystem;

constexpr uint64_t kBlocksPerUnit = 128;  // 1 MiB of 8 KiB blocks: large reads, fine-grained sharing
constexpr uint64_t kPrefetchBytes = 32u << 20;  // how far ahead of its units a backup asks the kernel to read
constexpr size_t kDictionarySamples = 4096;  // 32 MiB of 8 KiB pages: ~300x a 112 KiB dictionary

constexpr std::string_view kAutoConf = "postgresql.auto.conf";
// At the top of a data directory: what makes PostgreSQL start as a standby, or recover to a target.
bool IsSignalFile(std::string_view rel) { return rel == "standby.signal" || rel == "recovery.signal"; }
// What pg_replslot holds: the source's replication slots (a directory each).
bool InSlots(std::string_view rel) { return rel.starts_with("pg_replslot/"); }
// pg_basebackup's manifest of the base backup the cluster was made from (a standby's data directory holds one).
constexpr std::string_view kManifest = "backup_manifest";
// A running server's lock file of its socket in the data directory: `.s.PGSQL.<port>.lock` at the top.
bool IsSocketLockFile(std::string_view rel) {
  return rel.starts_with(".s.PGSQL.") && rel.ends_with(".lock") && rel.find('/') == std::string_view::npos;
}
// What a hot backup leaves out and a cold one keeps (FinishPostgres, where it is known which the backup is).
bool HotBackupLeavesOut(std::string_view rel) { return IsSignalFile(rel) || InSlots(rel) || rel == kManifest; }
// Whether a data directory's scan holds tablespaces: directories in pg_tblspc, as a backup keeps them.
bool HasTablespaces(const std::vector<SourceEntry>& entries) {
  return std::any_of(entries.begin(), entries.end(), [](const SourceEntry& e) {
    return e.is_dir() && e.rel.starts_with("pg_tblspc/") && e.rel.find('/', 10) == std::string::npos;
  });
}

// global/pg_control as read, and what it says.
struct ControlRead {
  postgres::ControlFile facts;
  std::string bytes;
};
Result<ControlRead> ReadControlFile(const SourceEntry& e) {
  SCNFS_ASSIGN_OR_RETURN(const int fd, OpenSource(e));
  if (fd < 0) return Status::InvalidArgument(fmt::format("{} is gone: the cluster's pg_control was removed while it was backed up", e.abs));
  std::string bytes(8192, '\0');  // PG_CONTROL_FILE_SIZE
  const ssize_t n = ::pread(fd, bytes.data(), bytes.size(), 0);
  const int err = errno;
  ::close(fd);
  if (n < 0) return Status::FromErrno(err, fmt::format("cannot read {}", e.abs));
  bytes.resize(size_t(n));
  auto c = postgres::ParseControlFile(ByteSpan(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
  if (!c.ok()) return c.status().WithContext(e.abs);
  return ControlRead{c.value(), std::move(bytes)};
}

// The end of the WAL in the data directory's pg_wal, the end of the last record written for `timeline`: the
// segment of that timeline whose first page was written for it (recycled segments keep their earlier pages, new
// ones are zero) and that starts highest, in it the last page written for its place (pages are written in order,
// so a binary search finds it), and in that page the end of its last record. 0 when none reads so. Listed afresh, after the data files were read: the WAL
// may have moved into a segment the scan did not see.
uint64_t WalEnd(const std::vector<SourceEntry>& entries, const postgres::ControlFile& control, uint32_t timeline) {
  const uint32_t page = control.wal_block_size, seg = control.wal_segment_size;
  if (page < 512 || seg < page || seg % page != 0) return 0;
  const auto wal = std::find_if(entries.begin(), entries.end(), [](const SourceEntry& e) { return e.rel == "pg_wal"; });
  if (wal == entries.end()) return 0;
  std::map<uint64_t, std::string> path_of;
  std::error_code ec;
  // increment(ec), not ++: a readdir error would throw, and nothing above catches it.
  for (fs::directory_iterator it(wal->abs, ec), end; !ec && it != end; it.increment(ec)) {
    auto s = postgres::ParseWalSegmentName(it->path().filename().string(), seg);
    if (s && s->timeline == timeline) path_of[s->start] = it->path().string();
  }
  for (auto it = path_of.rbegin(); it != path_of.rend(); ++it) {
    const int fd = ::open(it->second.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // a FIFO put there must not hang us
    if (fd < 0) continue;  // removed (recycled) since the listing
    std::byte header[24];
    const auto written = [&](uint64_t k) {
      return ::pread(fd, header, sizeof header, off_t(k * page)) == ssize_t(sizeof header) &&
             postgres::IsWalPageAt(ByteSpan(header, sizeof header), it->first + k * page);
    };
    uint64_t end = 0;
    if (written(0)) {
      uint64_t lo = 0, hi = seg / page;  // page lo is written, page hi is not (or past the segment)
      while (lo + 1 < hi) {
        const uint64_t mid = lo + (hi - lo) / 2;
        (written(mid) ? lo : hi) = mid;
      }
      // In that page, the end of its last record: to the page's end, the first backup after a checkpoint stood
      // above the LSN pg_current_wal_lsn() gave right after it, and lsn: of that LSN was refused.
      std::vector<std::byte> last(page);
      const uint64_t at = it->first + lo * page;
      end = ::pread(fd, last.data(), page, off_t(lo * page)) == ssize_t(page) ? postgres::WalEndInPage(last, at)
                                                                             : at + page;
    }
    ::close(fd);
    if (end != 0) return end;
  }
  return 0;
}

// The cluster's timeline. pg_control's checkpoint copy takes a new one only when the end-of-recovery checkpoint
// completes, which a promotion spreads over up to 0.9 x checkpoint_timeout; the history file it writes to pg_wal
// ("00000002.history") comes first, and stays. A hot backup in between was taken on timeline 1 (found 2026-11-30).
uint32_t ClusterTimeline(const postgres::ControlFile& control, const std::vector<SourceEntry>& entries) {
  uint32_t tli = control.timeline;
  for (const auto& e : entries) {
    std::string_view rel = e.rel;
    if (!e.is_file() || !rel.starts_with("pg_wal/") || !rel.ends_with(".history") || rel.size() != 7 + 8 + 8) continue;
    uint32_t t = 0;
    const std::string_view hex = rel.substr(7, 8);
    auto [p, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), t, 16);
    if (ec == std::errc() && p == hex.data() + hex.size()) tli = std::max(tli, t);
  }
  return tli;
}

}  // namespace

std::string HotBackupNote(const BackupRecord& r) {
  if (r.self_consistent_hot())
    return fmt::format("taken while the cluster ran, with pg_backup_start and pg_backup_stop: it holds its "
                       "backup_label and the WAL from {} to {}, and PostgreSQL started on a restore or clone of it "
                       "replays that WAL before it opens (consistent at {} or later)",
                       ChangeNumberText(FormatId::kPostgres, r.wal_start_lsn),
                       ChangeNumberText(FormatId::kPostgres, r.min_recovery_lsn),
                       ChangeNumberText(FormatId::kPostgres, r.min_recovery_lsn));
  return "taken while the cluster ran, without --pg-connect: PostgreSQL started on a restore or clone of it does crash "
         "recovery from the checkpoint of its pg_control over the WAL it holds, but has no backup_label to tell it where "
         "the copy ended and to check that it got there; back a running cluster up with --pg-connect (pg_backup_start)";
}

namespace {

// Evenly spaced non-zero blocks of the files, for training the database's compression dictionary.
std::vector<std::string> SampleBlocks(const std::vector<std::unique_ptr<FileJob>>& jobs) {
  uint64_t total = 0;
  for (const auto& j : jobs) total += j->blocks();
  std::vector<std::string> out;
  if (total == 0) return out;
  const uint64_t step = std::max<uint64_t>(1, total / kDictionarySamples);
  // Two passes over the same sample positions: the first asks the kernel for all of them (WILLNEED starts the reads
  // and returns), the second reads them, mostly from the page cache. One pread at a time on a cold file set
  // spent ~0.2 s of a 1 GB full backup waiting on the disk.
  for (bool read : {false, true}) {
    uint64_t seen = 0;
    for (const auto& j : jobs) {
      const uint32_t bs = j->format->block_size();
      const uint64_t first = (step - seen % step) % step;
      seen += j->blocks();
      if (first >= j->blocks()) continue;
      // Opened for its samples only: sources are not held open between the plan and the ingest.
      auto opened = OpenSource(j->entry);
      const int fd = opened.ok() ? *opened : -1;
      if (fd < 0) continue;  // gone or unreadable: the ingest will find out and leave it out or fail
      for (uint64_t b = first; b < j->blocks(); b += step) {
        if (!read) {
          ::posix_fadvise(fd, off_t(b * bs), off_t(bs), POSIX_FADV_WILLNEED);
          continue;
        }
        std::string s(bs, '\0');
        if (::pread(fd, s.data(), bs, off_t(b * bs)) != ssize_t(bs)) continue;
        if (IsAllZero(ByteSpan(reinterpret_cast<const std::byte*>(s.data()), bs))) continue;
        out.push_back(std::move(s));
      }
      ::close(fd);
    }
  }
  return out;
}

std::vector<Unit> MakeUnits(const std::vector<std::unique_ptr<FileJob>>& jobs, uint64_t* bytes_total) {
  std::vector<Unit> units;
  *bytes_total = 0;
  for (const auto& j : jobs) {
    for (auto [a, b] : j->to_read) {
      for (uint64_t f = a; f <= b; f += kBlocksPerUnit) units.push_back(Unit{j.get(), f, std::min(kBlocksPerUnit, b - f + 1)});
      *bytes_total += (b - a + 1) * j->format->block_size();
    }
  }
  return units;
}

FileRecord MakeRecord(const SourceEntry& e) {
  FileRecord r;
  r.path = e.rel;
  r.type = e.is_dir() ? "dir" : e.is_symlink() ? "symlink" : "file";
  r.size = e.is_file() ? uint64_t(e.st.st_size) : 0;
  r.mode = e.st.st_mode;
  r.uid = e.st.st_uid;
  r.gid = e.st.st_gid;
  r.atime_ns = NsFromTimespec(e.st.st_atim);
  r.mtime_ns = NsFromTimespec(e.st.st_mtim);
  r.ctime_ns = NsFromTimespec(e.st.st_ctim);
  r.target = e.target;
  return r;
}

// How many directories lie directly in each directory ("" the top) of the recorded entries: recorded ones, and
// those a deeper path implies (a source named by its path, a/b.dbf), as a mount counts them (FileRecord::
// subdirectories).
template <typename Recorded>
std::map<std::string, uint32_t, std::less<>> CountSubdirectories(const std::vector<SourceEntry>& entries, Recorded recorded) {
  std::set<std::string_view> dirs;
  for (const auto& e : entries) {
    if (e.rel == "." || !recorded(e)) continue;
    if (e.is_dir()) dirs.insert(e.rel);
    for (std::string_view p = ParentPath(e.rel); !p.empty(); p = ParentPath(p)) dirs.insert(p);
  }
  std::map<std::string, uint32_t, std::less<>> count;
  for (std::string_view d : dirs) ++count[std::string(ParentPath(d))];
  return count;
}

// Runs the workers over all units; returns the first error (cancellation included).
Status IngestAll(IngestShared* shared, const std::vector<Unit>& units, const BackupOptions& opt, uint64_t bytes_total,
                 Stopwatch& clock) {
  std::atomic<size_t> next{0};
  std::atomic<bool> stop{false};
  std::mutex err_mu;
  Status first_error;
  // Workers tell the kernel about the units ahead of them (WILLNEED starts those reads and returns), so that the
  // disk works while both cores hash and compress. A changed-block list gives scattered small units, each one
  // pread: with one read in flight per thread the incremental waited on the disk. A full scan reads 1 MiB units in
  // order, but each pread still waited for its own megabyte: the kernel's readahead runs only a little ahead.
  std::vector<uint64_t> ends;  // ends[k]: bytes of units 0..k
  ends.reserve(units.size());
  uint64_t sum = 0;
  for (const Unit& u : units) ends.push_back(sum += u.count * u.job->format->block_size());
  std::atomic<size_t> prefetched{0};
  // A descriptor of its own per file: the file may not be open for ingest yet (or any more), and the hint is
  // about the inode's page cache, which outlives the descriptor. Each worker keeps the last one it opened: a
  // changed-block list asks for a few blocks at a time, and an open and a close per call were 6% of such an
  // incremental's CPU.
  struct PrefetchFd {
    const FileJob* job = nullptr;
    int fd = -1;
    ~PrefetchFd() {
      if (fd >= 0) ::close(fd);
    }
  };
  const auto prefetch_to = [&](size_t end, PrefetchFd& pf) {
    end = std::min(end, units.size());
    size_t from = prefetched.load();
    while (from < end && !prefetched.compare_exchange_weak(from, end)) {
    }
    for (size_t k = from; k < end; ++k) {
      const Unit& u = units[k];
      if (u.job != pf.job) {
        if (pf.fd >= 0) ::close(pf.fd);
        pf.job = u.job;
        auto opened = OpenSource(u.job->entry);  // never a blocking open of what replaced the file (a FIFO)
        pf.fd = opened.ok() ? *opened : -1;
      }
      const uint64_t bs = u.job->format->block_size();
      if (pf.fd >= 0) ::posix_fadvise(pf.fd, off_t(u.first * bs), off_t(u.count * bs), POSIX_FADV_WILLNEED);
    }
  };
  for (const Unit& u : units) u.job->units_left.fetch_add(1, std::memory_order_relaxed);
  int threads = opt.threads > 0 ? opt.threads : int(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> workers;
  for (int t = 0; t < threads; ++t) {
    workers.emplace_back([&] {
      BlockIngest ingest(shared);
      PrefetchFd pf;
      const auto fail = [&](const Status& st) {
        std::lock_guard<std::mutex> l(err_mu);
        if (first_error.ok()) first_error = st;
        stop = true;
      };
      for (size_t i; !stop.load() && (i = next.fetch_add(1)) < units.size();) {
        // up to kPrefetchBytes ahead of this unit
        prefetch_to(size_t(std::upper_bound(ends.begin(), ends.end(), ends[i] + kPrefetchBytes) - ends.begin()), pf);
        const Unit& u = units[i];
        Status st = (opt.cancel && opt.cancel->load()) ? Status::Aborted("backup interrupted") : u.job->OpenForIngest();
        if (st.ok() && !u.job->vanished) st = ingest.Run(u);
        u.job->UnitDone();
        if (!st.ok()) fail(st);
      }
      if (!stop.load())
        if (Status st = ingest.Flush(); !st.ok()) fail(st);
    });
  }
  {
    Ticker progress(!opt.progress ? std::function<void()>() : [&] {
      opt.progress(BackupProgress{shared->bytes_read.load(), bytes_total, shared->blocks_changed.load(), clock.Seconds()});
    });
    for (auto& w : workers) w.join();
  }
  return first_error;
}

// An Oracle datafile that autoextended after the plan read its header and before the ingest read block 1: the
// stored header counts blocks the planned size lacks, and the restore was a file shorter than its own header
// (Oracle's ORA-01200; verify of the restored file said truncated while verify of the point said clean, found
// 2026-11-30). The file is taken at its size now and the blocks it grew by are read too; its catalog facts become
// those of the header stored. So do those of a file whose header block the plan read damaged (a checkpoint writing
// it) and the ingest stored sound.
Status TakeStoredHeaders(IngestShared* shared, const std::vector<std::unique_ptr<FileJob>>& jobs,
                           const BackupOptions& opt, uint64_t bytes_total, Stopwatch& clock) {
  std::vector<Unit> more;
  uint64_t bytes = 0;
  for (const auto& j : jobs) {
    if (j->vanished || j->shrank() || j->head.empty() || j->format->id() != FormatId::kOracle) continue;
    auto h = oracle::ParseFileHeader(ByteSpan(j->head.data(), j->head.size()));
    if (!h.ok() || h->block_size != j->format->block_size()) continue;
    // The plan found block 1 damaged, but the ingest's re-reads stored a sound one (a checkpoint was writing it):
    // the catalog holds the header stored, not the salvaged facts.
    if (j->header.value("header_damaged", false)) {
      j->format = oracle::MakeFormat(h.value());
      j->header = OracleHeaderJson(h.value());
      j->checkpoint_change = h->checkpoint_scn;
    }
    const uint64_t bs = h->block_size, planned = j->blocks(), described = uint64_t(h->blocks) + 1;
    if (described <= planned) continue;
    struct stat now {};
    if (::stat(j->entry.abs.c_str(), &now) != 0 || uint64_t(now.st_size) <= uint64_t(j->entry.st.st_size)) continue;
    j->entry.st = now;
    j->format = oracle::MakeFormat(h.value());
    j->header = OracleHeaderJson(h.value());
    j->checkpoint_change = h->checkpoint_scn;
    const uint64_t end = j->blocks();
    j->to_read.emplace_back(planned, end - 1);
    for (uint64_t f = planned; f < end; f += kBlocksPerUnit) more.push_back(Unit{j.get(), f, std::min(kBlocksPerUnit, end - f)});
    bytes += (end - planned) * bs;
  }
  // Progress counts what the whole backup read: the total grows by these bytes.
  return more.empty() ? Status::OK() : IngestAll(shared, more, opt, bytes_total + bytes, clock);
}

// Whether directory `dir` holds an Oracle datafile (blocks 0 and 1 parse as a datafile's headers) within its first
// 256 entries, three levels down, not following links: whether a link to it is a database's disk of datafiles.
bool HoldsOracleDatafile(const fs::path& dir) {
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end;
  std::vector<std::byte> head(65536);
  for (int seen = 0; !ec && it != end && seen < 256; it.increment(ec), ++seen) {
    if (it.depth() >= 2) it.disable_recursion_pending();
    struct stat st;
    if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    const int fd = ::open(it->path().c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;
    const ssize_t n = ::pread(fd, head.data(), head.size(), 0);
    ::close(fd);
    if (n >= 32 && oracle::ParseFileHeader(ByteSpan(head.data(), size_t(n))).ok()) return true;
  }
  return false;
}

// The scan of a database's sources: the links whose targets belong to a database of `format` are followed
// (docs/format-postgres.md for pg_wal and tablespaces; for Oracle, a datafile or a directory of datafiles on
// another disk), and the store is left out. `oracle_dirs` false: an Oracle scan that follows links to files only,
// to tell a new database's format without walking whatever a raw file set's links to directories lead to.
ScanOptions LinksOf(FormatId format, const std::string& store_dir, bool oracle_dirs = true) {
  ScanOptions o;
  o.skip_dir = store_dir;
  if (format == FormatId::kPostgres) {
    o.follow_link = [](std::string_view rel, const std::string&, const struct stat& t) {
      return S_ISDIR(t.st_mode) && postgres::IsFollowedLink(rel);
    };
  } else if (format == FormatId::kOracle) {
    o.follow_link = [oracle_dirs](std::string_view, const std::string& abs, const struct stat& t) {
      if (S_ISREG(t.st_mode)) return true;
      // Only a directory that holds datafiles (the scan never follows a link into the store): an Oracle source's
      // link to its archived logs or diagnostics was kept as a link, and followed it failed every backup on the
      // first file that is no datafile (review, 2026-12-02).
      return oracle_dirs && S_ISDIR(t.st_mode) && HoldsOracleDatafile(abs);
    };
  }
  return o;
}

// The database record (its next_file_id advanced by PlanFiles) and the ids PlanFiles gave files new to it.
void PutPlannedFiles(rocksdb::WriteBatch* b, Store* store, const DatabaseRecord& db,
                     const std::vector<std::unique_ptr<FileJob>>& jobs) {
  Catalog::PutDatabase(b, store, db);
  for (const auto& j : jobs)
    if (j->new_file_id) Catalog::PutFileId(b, store, db.id, j->entry.rel, j->file_id);
}

// A small file's bytes (a configuration file), following a link.
Result<std::string> ReadWhole(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status::FromErrno(errno, fmt::format("cannot open {}", path));
  std::string out;
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return Status::FromErrno(err, fmt::format("cannot read {}", path));
    }
    if (n == 0) break;
    out.append(buf, size_t(n));
  }
  ::close(fd);
  return out;
}

// A file of the backup whose bytes are chosen rather than read where they lie (pg_control as read at a chosen
// moment, the backup_label pg_backup_stop gave): written to `dir` and read from there, recorded as `model` is.
Result<SourceEntry> SnapshotEntry(const std::string& dir, const SourceEntry& model, std::string_view bytes) {
  SourceEntry e = model;
  e.abs = dir + "/" + std::string(LeafName(model.rel));
  e.target.clear();
  std::ofstream f(e.abs, std::ios::binary | std::ios::trunc);
  f.write(bytes.data(), std::streamsize(bytes.size()));
  if (!f.flush()) return Status::IOError(fmt::format("cannot write {}", e.abs));
  struct stat st {};
  if (::lstat(e.abs.c_str(), &st) != 0) return Status::FromErrno(errno, fmt::format("cannot stat {}", e.abs));
  e.st.st_size = st.st_size;
  e.st.st_mode = S_IFREG | (model.st.st_mode & 07777);
  return e;
}

// A private directory under $TMPDIR, removed with everything in it when this goes.
struct ScratchDir {
  std::string path;
  static Result<ScratchDir> Make() {
    const char* tmp = std::getenv("TMPDIR");
    std::string p = fmt::format("{}/scnfs-backup-XXXXXX", tmp != nullptr && *tmp != '\0' ? tmp : "/tmp");
    if (::mkdtemp(p.data()) == nullptr) return Status::FromErrno(errno, fmt::format("cannot make a directory {}", p));
    return ScratchDir{std::move(p)};
  }
  ScratchDir(std::string p) : path(std::move(p)) {}
  ScratchDir(ScratchDir&& o) noexcept : path(std::move(o.path)) { o.path.clear(); }
  ~ScratchDir() {
    std::error_code ignored;
    if (!path.empty()) fs::remove_all(path, ignored);
  }
};

// What every PostgreSQL backup reads after every other file (FinishPostgres): pg_control and the WAL.
bool ReadLast(std::string_view rel) { return rel.starts_with("pg_wal/") || rel == "global/pg_control"; }

// The WAL a hot backup's recovery reads: from `from` (the label's start, or the redo point of the pg_control kept)
// to `to` (the stop LSN, or the WAL's end), in whole segments [first, past) of `seg` bytes, named by timeline
// `tli_to` (the cluster's newest) or `tli_from` (the start's): after a promotion the segments before the switch keep
// the old timeline's name.
struct WalRange {
  uint64_t from = 0, to = 0, first = 0, past = 0;
  uint32_t seg = 0, tli_from = 0, tli_to = 0;
  bool Holds(uint64_t segment_start) const { return segment_start >= first && segment_start < past; }
};

// Every segment of `wal`, read whole by `read` (the WAL's jobs), and still under its name right after its last
// block was read: a checkpoint recycles a segment by renaming it, then overwrites it when it is used again. Checked
// on what was read, not on the listing: a segment recycled between the two was left out without a word, and the
// restore stopped with "could not locate a valid checkpoint record" (found by review, 2026-12-01).
Status CheckWalRead(const WalRange& wal, const std::vector<std::unique_ptr<FileJob>>& read,
                    const PgBackupSession* session) {
  std::map<std::string, const FileJob*, std::less<>> by_rel;
  for (const auto& j : read) by_rel[j->entry.rel] = j.get();
  for (uint64_t at = wal.first; at < wal.past; at += wal.seg) {
    const FileJob* j = nullptr;
    std::string name;
    for (uint32_t tli : {wal.tli_to, wal.tli_from}) {
      const std::string candidate = postgres::WalSegmentName(tli, at, wal.seg);
      name += name.empty() ? candidate : " (or " + candidate + ")";
      if (auto it = by_rel.find("pg_wal/" + candidate); it != by_rel.end()) {
        j = it->second;
        name = candidate;
        break;
      }
      if (wal.tli_to == wal.tli_from) break;
    }
    const bool whole = j != nullptr && !j->vanished && !j->shrank() && uint64_t(j->entry.st.st_size) == wal.seg &&
                       j->named_at_end.load();
    if (!whole)
      return Status::IOError(fmt::format(
          "WAL segment {}, which this hot backup needs (its recovery runs from {} to {}), was {} while the backup "
          "read it: a checkpoint recycled it{}", name, ChangeNumberText(FormatId::kPostgres, wal.from),
          ChangeNumberText(FormatId::kPostgres, wal.to),
          j == nullptr ? "not in pg_wal" : j->vanished ? "removed" : "renamed or cut short",
          !session ? "; back the cluster up with --pg-connect, whose replication slot holds the WAL"
          : session->reserved_wal() ? ""
                                    : " (the server gave no temporary replication slot to hold it: raise "
                                      "max_replication_slots or wal_keep_size, or grant REPLICATION)"));
  }
  return Status::OK();
}

// postgresql.auto.conf of a backup taken with a session (`found`: the scan's entry, or null), read whole, as it is
// when the session ends (an ALTER SYSTEM during the backup made it longer than the scan saw, and a copy cut at the
// scan's size failed to parse; review); a link is kept as the file it points to. With a backup_label PostgreSQL (15,
// and 12.12/13.8/14.5 on, which have the setting) recovers as in archive recovery, and once consistent refuses a
// tablespace that is a directory in pg_tblspc ("unexpected directory entry"), which is how a backup holds
// tablespaces (docs/format-postgres.md): no restore or clone of such a backup started (found 2026-12-01). The
// backup's copy allows it (made when there is none). nullopt: no such file, and none needed.
Result<std::optional<SourceEntry>> SessionAutoConf(const PgBackupSession& session, const std::vector<SourceEntry>& entries,
                                                   const SourceEntry* found, const SourceEntry& control_entry,
                                                   const ScratchDir& scratch, std::vector<std::string>* notes) {
  if (found != nullptr && found->is_dir()) return std::optional<SourceEntry>(*found);  // kept as the scan saw it
  const bool allow = HasTablespaces(entries) && session.has_in_place_tablespaces();
  if (found == nullptr && !allow) return std::optional<SourceEntry>();
  SourceEntry model = control_entry;  // as PostgreSQL makes it, when there is none
  model.rel = std::string(kAutoConf);
  model.st.st_mode = S_IFREG | 0600;
  std::string conf;
  if (found != nullptr) {
    SCNFS_ASSIGN_OR_RETURN(conf, ReadWhole(found->abs));
    model = *found;
    model.st.st_mode = S_IFREG | (found->is_file() ? found->st.st_mode & 07777 : 0600);
    model.target.clear();
  }
  if (allow) {
    if (!conf.empty() && conf.back() != '\n') conf += '\n';
    conf += "# Added by scnfs to this hot backup of a cluster with tablespaces: they are directories in pg_tblspc here\n"
            "allow_in_place_tablespaces = 'on'\n";
    notes->push_back("postgresql.auto.conf of this backup sets allow_in_place_tablespaces = 'on': its tablespaces are "
                     "directories in pg_tblspc, which PostgreSQL refuses after recovery from a backup_label otherwise");
  }
  SCNFS_ASSIGN_OR_RETURN(SourceEntry c, SnapshotEntry(scratch.path, model, conf));
  return std::optional<SourceEntry>(std::move(c));
}

// What a PostgreSQL backup reads last, once every other file is (docs/backup.md, "PostgreSQL: the order of the
// reads"): pg_control and the WAL. The WAL is listed and read now, after every page: PostgreSQL writes a page only
// once the WAL of its change is on disk, so the WAL read afterwards holds every change the pages copied show, in
// segments the scan may not have seen. Which pg_control the backup holds decides where a server started on it
// begins its recovery, which must be before the first page was copied:
//   - taken with the server's help (`session`): pg_backup_stop's backup_label names that checkpoint, and pg_control
//     is read now, as pg_basebackup sends it last;
//   - running when the backup began: pg_control as it was then (read again now, its checkpoint may be one made
//     while the pages were copied, and recovery from there lost the changes made before it to pages copied before
//     it: rows and index entries missing, without an error; found 2026-12-01);
//   - shut down then and now: the same;
//   - started while it was read, without a checkpoint since: pg_control as it is now (in production: crash
//     recovery from that shutdown checkpoint); with a checkpoint since, no pg_control describes the pages read, and
//     the backup fails.
// A hot backup also fails when a WAL segment from its recovery's start to its end is not there (recycled by a
// checkpoint; the session's temporary slot prevents that where the server gave one): the server would refuse it,
// or stop short of the changes the pages hold.
struct PostgresEnd {
  std::vector<std::string> notes;
};
Result<PostgresEnd> FinishPostgres(PgBackupSession* session, Store* store, DatabaseRecord& db, const PlanInputs& in,
                                   const ControlRead& start, const SourceEntry& control_entry,
                                   std::vector<SourceEntry>& entries, std::vector<std::unique_ptr<FileJob>>& jobs,
                                   IngestShared* shared, const BackupOptions& opt, Stopwatch& clock, BackupRecord& rec,
                                   const ScratchDir& scratch, uint64_t bytes_before,
                                   const std::vector<SourceEntry>& deferred) {
  PostgresEnd end;
  std::optional<PgBackupSession::Stop> stop;
  std::optional<postgres::BackupLabel> label;
  if (session) {
    SCNFS_ASSIGN_OR_RETURN(stop, session->End());
    label = postgres::ParseBackupLabel(stop->label_file);
    if (!label) return Status::Corruption(fmt::format("pg_backup_stop gave a backup_label scnfs cannot read: {}", stop->label_file));
  }
  SCNFS_ASSIGN_OR_RETURN(ControlRead now, ReadControlFile(control_entry));
  const auto cold = [](const postgres::ControlFile& c) { return c.state == 1 || c.state == 2; };
  const ControlRead* kept = &start;
  WalRange wal;  // a hot backup's: `from` set with the pg_control kept, the rest below
  if (session) {
    kept = &now;
    rec.hot = true;
    wal.from = label->start_lsn;
    rec.checkpoint_change = label->checkpoint_lsn;  // where recovery starts: the label's, not pg_control's
  } else if (!cold(start.facts)) {
    rec.hot = true;
    wal.from = start.facts.redo_lsn;
  } else if (now.facts.checkpoint_lsn != start.facts.checkpoint_lsn) {
    return Status::Aborted(fmt::format(
        "the cluster was started and made a checkpoint while it was backed up (pg_control: shut down at {} when the "
        "backup began, checkpoint {} when it ended): no pg_control describes the files read; back it up again (a running "
        "cluster with --pg-connect)",
        ChangeNumberText(FormatId::kPostgres, start.facts.checkpoint_lsn),
        ChangeNumberText(FormatId::kPostgres, now.facts.checkpoint_lsn)));
  } else if (!cold(now.facts)) {
    kept = &now;
    rec.hot = true;
    wal.from = now.facts.redo_lsn;
    end.notes.push_back("the cluster was started while it was backed up (pg_control was shut down when the backup "
                        "began and was not when it ended), so the backup is taken as hot");
  }

  // Where its recovery ends. Found before pg_wal is listed: a segment begun between the two is then in the list.
  // Segments are named by timeline: those before a promotion by the checkpoint's, those after by the cluster's
  // newest (its .history file); the WAL's end is looked for on the newest first.
  if (rec.hot) {
    wal.seg = kept->facts.wal_segment_size;
    wal.tli_from = label ? label->timeline : kept->facts.timeline;
    wal.tli_to = std::max(rec.timeline, wal.tli_from);
    if (wal.seg == 0 || (wal.seg & (wal.seg - 1)) != 0)
      return Status::Corruption(fmt::format("pg_control gives a WAL segment size of {}", wal.seg));
    wal.to = stop ? stop->lsn : WalEnd(entries, kept->facts, wal.tli_to);
    if (wal.to == 0 && wal.tli_to != wal.tli_from) wal.to = WalEnd(entries, kept->facts, wal.tli_from);
    if (wal.to == 0)
      return Status::InvalidArgument(fmt::format("pg_wal holds no WAL of timeline {}: a hot backup without it cannot be "
                                                 "made consistent", wal.tli_to));
    wal.first = wal.from - wal.from % wal.seg;
    wal.past = std::max(wal.to, wal.from + 1);
    rec.min_recovery_lsn = wal.to;
    if (session) rec.wal_start_lsn = wal.from;
  }

  std::vector<SourceEntry> later;
  const auto wal_dir_entry = std::find_if(entries.begin(), entries.end(), [](const SourceEntry& e) { return e.rel == "pg_wal"; });
  if (wal_dir_entry != entries.end() && wal_dir_entry->is_dir()) {
    ScanOptions wal_scan;
    wal_scan.skip_dir = store->dir();
    std::error_code ec;
    const std::string wal_dir = fs::canonical(wal_dir_entry->abs, ec).string();  // pg_wal may be a link (initdb --waldir)
    if (ec) return Status::FromErrno(ec.value(), fmt::format("cannot resolve {}", wal_dir_entry->abs));
    SCNFS_ASSIGN_OR_RETURN(later, ScanSources({wal_dir}, wal_scan));
    std::erase_if(later, [](const SourceEntry& e) { return e.rel == "."; });
    for (auto& e : later) e.rel = "pg_wal/" + e.rel;
  }
  // A hot backup keeps the WAL segments of its recovery, as pg_basebackup does: the others are older WAL, or
  // segments a checkpoint recycled for later use and that still hold old WAL, which no recovery of this backup
  // reads (it ends at the first page not written for its place). Read and hashed anyway they were most of a hot
  // backup's I/O (1.0 of 2.6 GB for pgbench -s 100; 2026-12-01). Every other file of pg_wal (history files,
  // archive_status) is kept; a cold backup keeps them all, as read.
  if (rec.hot) {
    // pg_wal/archive_status is kept empty, as pg_basebackup sends it: restored with its .ready files, a copy
    // started with production's archive_command archived production's segments again into production's archive
    // (found 2026-12-02). The copy's own WAL is then marked as it is written.
    const size_t statuses = std::erase_if(later, [](const SourceEntry& e) {
      return e.rel.starts_with("pg_wal/archive_status/") && !e.is_dir();
    });
    if (statuses > 0)
      end.notes.push_back(fmt::format("{} archive status file(s) of pg_wal/archive_status were left out of this hot "
                                      "backup, as pg_basebackup leaves them out: a restore or clone does not archive "
                                      "the source's WAL again", statuses));
    size_t left_out = 0;
    std::erase_if(later, [&](const SourceEntry& e) {
      if (!e.is_file() || e.rel.find('/', 7) != std::string::npos) return false;
      const auto s = postgres::ParseWalSegmentName(std::string_view(e.rel).substr(7), wal.seg);
      const bool out = s && !wal.Holds(s->start);
      left_out += out ? 1 : 0;
      return out;
    });
    if (left_out > 0)
      end.notes.push_back(fmt::format("{} WAL segment(s) of pg_wal outside this backup's WAL ({} to {}) were left out: "
                                      "older WAL, or segments recycled for later use; no recovery of the backup reads them",
                                      left_out, ChangeNumberText(FormatId::kPostgres, wal.from),
                                      ChangeNumberText(FormatId::kPostgres, wal.to)));
  }
  if (opt.before_wal_read) opt.before_wal_read();

  SCNFS_ASSIGN_OR_RETURN(SourceEntry control, SnapshotEntry(scratch.path, control_entry, kept->bytes));
  later.push_back(control);
  if (stop) {
    SourceEntry model = control_entry;  // as PostgreSQL writes it: the data directory's owner, mode 0600
    model.rel = "backup_label";
    model.st.st_mode = S_IFREG | 0600;
    SCNFS_ASSIGN_OR_RETURN(SourceEntry l, SnapshotEntry(scratch.path, model, stop->label_file));
    later.push_back(l);
    if (!stop->tablespace_map.empty())
      end.notes.push_back("the cluster has tablespaces: they are kept in place in pg_tblspc, so the backup holds no "
                          "tablespace_map (docs/format-postgres.md)");
    if (!session->reserved_wal())
      end.notes.push_back("the server gave no temporary replication slot (max_replication_slots, or a role without "
                          "REPLICATION): a checkpoint during a long backup may recycle WAL it needs, and it then fails");
  }

  // What a hot backup leaves out, decided here, not at the scan: a cluster started during a cold backup makes it
  // hot only now (review, 2026-12-02). A cold backup keeps them, byte-faithful: a stopped cluster (a standby too)
  // restores as the cluster it was.
  //  - standby.signal and recovery.signal (pg_basebackup copies them): restored with them, a standby's backup
  //    started as a standby of the production primary and followed it (found 2026-12-01); a restore or clone of a
  //    backup is a cluster of its own.
  //  - The source's replication slots, as pg_basebackup leaves them out: restored, the slot of production's
  //    standby was the restore's, and held its WAL for ever (found 2026-12-02). pg_replslot stays, empty.
  //  - backup_manifest, as pg_basebackup leaves it out: it lists the files of the base backup the source was made
  //    from (a standby made by pg_basebackup holds one), and pg_verifybackup of a restore reported every file changed
  //    since as a mismatch (found 2026-12-02).
  size_t slots_left_out = 0;
  for (const auto& e : deferred) {
    if (!HotBackupLeavesOut(e.rel)) continue;
    if (!rec.hot) {
      later.push_back(e);
    } else if (IsSignalFile(e.rel)) {
      end.notes.push_back(fmt::format("{} was left out of this hot backup: a restore or clone of it starts as a "
                                      "cluster of its own, not as a standby following the source's primary (create "
                                      "{} in it to make it one)", e.rel, e.rel));
    } else if (e.rel == kManifest) {
      end.notes.push_back("backup_manifest (pg_basebackup's list of the base backup the source was made from) was "
                          "left out of this hot backup: it does not describe this backup's files");
    } else if (e.is_dir() && e.rel.find('/', 12) == std::string::npos &&
               !std::string_view(e.rel).substr(12).starts_with(kSessionSlotPrefix)) {
      ++slots_left_out;  // a slot's directory; not a hot backup session's own (it made every --pg-connect backup
                         // say "1 replication slot(s) of the source" of a cluster without one: review, 2026-12-02)
    }
  }
  if (slots_left_out > 0)
    end.notes.push_back(fmt::format("{} replication slot(s) of the source (pg_replslot) were left out of this hot backup, "
                                    "as pg_basebackup leaves them out: a restore or clone of it holds no WAL for the "
                                    "source's standbys", slots_left_out));
  if (session) {
    const auto found = std::find_if(deferred.begin(), deferred.end(), [](const SourceEntry& e) { return e.rel == kAutoConf; });
    SCNFS_ASSIGN_OR_RETURN(std::optional<SourceEntry> conf,
                           SessionAutoConf(*session, entries, found == deferred.end() ? nullptr : &*found, control_entry,
                                           scratch, &end.notes));
    if (conf) later.push_back(std::move(*conf));
  }

  SCNFS_ASSIGN_OR_RETURN(auto more, PlanFiles(later, &db, in));
  {
    rocksdb::WriteBatch b;
    PutPlannedFiles(&b, store, db, more);
    SCNFS_RETURN_IF_ERROR(store->Write(&b, false));
  }
  for (const auto& j : more) j->check_name_at_end = j->entry.rel.starts_with("pg_wal/");
  uint64_t bytes = 0;
  auto units = MakeUnits(more, &bytes);
  SCNFS_RETURN_IF_ERROR(IngestAll(shared, units, opt, bytes_before + bytes, clock));

  if (rec.hot) SCNFS_RETURN_IF_ERROR(CheckWalRead(wal, more, session));
  for (auto& j : more) jobs.push_back(std::move(j));
  entries.insert(entries.end(), later.begin(), later.end());
  std::sort(entries.begin(), entries.end(), [](const SourceEntry& a, const SourceEntry& b) { return a.rel < b.rel; });
  return end;
}

}  // namespace

Status FailInterruptedBackups(Store* store) {
  Catalog cat(store);
  SCNFS_ASSIGN_OR_RETURN(auto dbs, cat.ListDatabases());
  rocksdb::WriteBatch b;
  // Every writer runs this before it writes a record, so at most one backup of the store is ever left running,
  // and it is the newest of its database: one record per database is read, not every backup (41 ms per backup
  // with 2,000 in the store).
  for (const auto& db : dbs) {
    SCNFS_ASSIGN_OR_RETURN(std::optional<BackupRecord> newest, cat.NewestBackup(db.id));
    if (!newest || newest->state != BackupState::kRunning) continue;
    BackupRecord& bk = *newest;
    bk.state = BackupState::kFailed;
    // A writer whose store refused writes (a full disk) left its reason in the lock (Store::NoteWriterFailure).
    bk.error = fmt::format("interrupted: process {} on {} stopped before the backup completed", bk.pid, bk.host);
    for (const auto& noted : store->writer_failures())
      if (noted.pid == int64_t(bk.pid)) bk.error = noted.reason;
    // The record alone: NewestBackup reads no sources, and writing them back from it emptied the backup's list
    // (contract audit, 2026-12-02).
    // (A record from before sources had their own key holds them itself: written with them, they move there.)
    Catalog::PutBackup(&b, store, bk, /*with_sources=*/!bk.sources.empty());
  }
  if (b.Count() != 0) SCNFS_RETURN_IF_ERROR(store->Write(&b, /*sync=*/true));
  store->ForgetWriterFailures();  // recorded now (or their writers left no record to mark)
  return Status::OK();
}

namespace {
Result<BackupReport> RunBackupOnce(Store* store, const BackupOptions& opt);
}  // namespace

Result<BackupReport> RunBackup(Store* store, const BackupOptions& opt) {
  Result<BackupReport> r = RunBackupOnce(store, opt);
  // A store that refused a write (a full disk) cannot take the failed record: the next writer marks the backup
  // failed, with this reason rather than "interrupted: process stopped" (found 2026-11-30).
  if (!r.ok() && store->write_failed()) {
    std::string_view why = r.status().message();
    constexpr std::string_view kIntact = "earlier backups are intact: ";  // the cause, as a record's error holds it
    if (const size_t at = why.find(kIntact); at != std::string_view::npos) why.remove_prefix(at + kIntact.size());
    store->NoteWriterFailure(why);
  }
  return r;
}

namespace {
Result<BackupReport> RunBackupOnce(Store* store, const BackupOptions& opt) {
  Stopwatch clock;
  if (opt.db.empty()) return Status::InvalidArgument("--db NAME is required");
  SCNFS_RETURN_IF_ERROR(FailInterruptedBackups(store));
  Catalog cat(store);

  // 1. Plan: everything that can be wrong with the input is found before the store is touched.
  auto existing = cat.GetDatabase(opt.db);
  if (!existing.ok() && !existing.status().IsNotFound()) return existing.status();
  const bool new_db = !existing.ok();
  // Which links are part of the database depends on its format (LinksOf), known before the scan from the option,
  // the database's first backup or, for PostgreSQL, the source itself. A new database of another format is scanned
  // as Oracle (DetectFormat must see datafiles behind links) and again without following if it turns out raw.
  const FormatId scan_format = opt.format ? *opt.format
                               : !new_db  ? existing.value().format
                               : IsPostgresDataDirectory(opt.sources) ? FormatId::kPostgres
                                                                      : FormatId::kOracle;
  // Bad input the scan does not need is found first: a session's spread checkpoint may take minutes.
  // The name is a directory in a mount (MOUNTPOINT/<db>/) and a word in scripts: as for clones, plus Oracle's $ #.
  if (new_db && !IsPlainName(opt.db, "._-$#"))
    return Status::InvalidArgument(fmt::format(
        "bad database name '{}': use up to 64 letters, digits, '.', '_', '-', '$' or '#', not starting with '.'", opt.db));
  // For the waits before the first block, which the workers' check does not reach.
  const std::function<bool()> cancelled = [&opt] { return opt.cancel != nullptr && opt.cancel->load(); };
  std::map<std::string, BlockRanges> changed;
  if (!opt.changed_blocks_file.empty()) {
    SCNFS_ASSIGN_OR_RETURN(changed, ParseChangedBlocks(opt.changed_blocks_file, cancelled));
  }
  // A hot PostgreSQL backup with the server's help begins before the first file is looked at: every file is then
  // copied after the checkpoint its backup_label names.
  std::unique_ptr<PgBackupSession> session;
  if (opt.pg_connect) {
    if (scan_format != FormatId::kPostgres)
      return Status::InvalidArgument(fmt::format("--pg-connect backs up a running PostgreSQL cluster; '{}' is {}", opt.db,
                                                 new_db && !opt.format ? "not a PostgreSQL data directory" : FormatName(scan_format)));
    if (opt.sources.size() != 1 || !fs::is_directory(opt.sources[0]))
      return Status::InvalidArgument("--pg-connect needs one source: the cluster's data directory");
    SCNFS_ASSIGN_OR_RETURN(session, PgBackupSession::Begin(*opt.pg_connect, opt.sources[0],
                                                           fmt::format("scnfs backup of {}", opt.db), opt.pg_fast_checkpoint,
                                                           cancelled));
  }
  const bool detecting = new_db && !opt.format && scan_format == FormatId::kOracle;
  SCNFS_ASSIGN_OR_RETURN(auto entries, ScanSources(opt.sources, LinksOf(scan_format, store->dir(), !detecting)));
  DatabaseRecord db;
  if (new_db) {
    SCNFS_ASSIGN_OR_RETURN(db.id, cat.NextDatabaseId());
    db.name = opt.db;
    if (!opt.format && std::none_of(entries.begin(), entries.end(), [](const SourceEntry& e) { return e.is_file(); }))
      return Status::InvalidArgument(fmt::format(
          "the sources of new database '{}' hold no files to tell its format from: give --format oracle, postgres or raw",
          opt.db));
    db.format = opt.format ? *opt.format : DetectFormat(opt.sources, entries);
    db.created_us = NowMicros();
    // Scanned again with the links of its format: without following if it is raw, and for Oracle following
    // links to directories too, which the detecting scan did not.
    const auto followed = [](const SourceEntry& e) { return e.followed_link(); };
    const auto dir_link = [](const SourceEntry& e) {
      struct stat st;  // not fs::is_directory, which throws on a link loop or EACCES (review, 2026-12-02)
      return e.is_symlink() && ::stat(e.abs.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    };
    if ((db.format != scan_format && std::any_of(entries.begin(), entries.end(), followed)) ||
        (detecting && db.format == FormatId::kOracle && std::any_of(entries.begin(), entries.end(), dir_link))) {
      SCNFS_ASSIGN_OR_RETURN(entries, ScanSources(opt.sources, LinksOf(db.format, store->dir())));
    }
  } else {
    db = existing.value();
    if (opt.format && *opt.format != db.format)
      return Status::InvalidArgument(fmt::format("database '{}' is {}; it cannot be backed up as {}", db.name,
                                                 FormatName(db.format), FormatName(*opt.format)));
  }
  if (db.format == FormatId::kPostgres) {
    // postmaster.pid names the running postmaster. Restored with a hot backup it made PostgreSQL refuse to start
    // beside the cluster it came from ("lock file already exists ... another postmaster (PID N) running", found
    // 2026-11-30). pg_basebackup leaves it out too; a cleanly stopped cluster has none. So do the lock files of
    // sockets in the data directory (unix_socket_directories = '.'), for the same refusal ("lock file
    // .s.PGSQL.5432.lock already exists", review 2026-12-02); the sockets themselves are not files a backup keeps.
    std::erase_if(entries, [](const SourceEntry& e) { return e.rel == "postmaster.pid" || IsSocketLockFile(e.rel); });
  }
  PlanInputs in;
  in.db = &db;
  in.raw_block_size = opt.raw_block_size;
  BackupRecord rec;
  rec.checkpoint_change = 0;
  std::optional<ControlRead> pg_start;  // PostgreSQL: pg_control as the backup began
  bool pg_tablespaces = false;            // PostgreSQL: pg_tblspc holds tablespaces
  std::optional<SourceEntry> control_entry;
  if (db.format == FormatId::kPostgres) {
    const auto it = std::find_if(entries.begin(), entries.end(), [](const SourceEntry& e) { return e.rel == "global/pg_control"; });
    if (it == entries.end() || !it->is_file())
      return Status::InvalidArgument("not a PostgreSQL data directory: global/pg_control is missing");
    control_entry = *it;
    SCNFS_ASSIGN_OR_RETURN(pg_start, ReadControlFile(*it));
    const postgres::ControlFile& control = pg_start->facts;
    in.pg_checksums = control.checksums();
    rec.checkpoint_change = control.checkpoint_lsn;
    rec.timeline = ClusterTimeline(control, entries);
    rec.system_identifier = control.system_identifier;
    // Shut down (1) or shut down in recovery (2, a stopped standby): consistent at the checkpoint. Anything else
    // is a running (or crashed) cluster.
    rec.hot = control.state != 1 && control.state != 2;
    pg_tablespaces = HasTablespaces(entries);
  }
  SCNFS_ASSIGN_OR_RETURN(auto backups, cat.ListBackups(db.id));
  const BackupRecord* prev = NewestComplete(backups);
  std::vector<FileRecord> prev_files;
  if (prev) {
    SCNFS_ASSIGN_OR_RETURN(prev_files, cat.ListFiles(db.id, prev->id));
  }
  in.prev_files = &prev_files;
  // A changed-blocks list made on another line of changes is not trusted (docs/backup.md).
  in.pg_new_line = prev && !PostgresNewLine(*prev, rec).empty();
  if (!opt.changed_blocks_file.empty()) in.changed = &changed;
  std::optional<ScratchDir> scratch;  // for the files FinishPostgres writes: made now, so a bad $TMPDIR fails early
  std::vector<SourceEntry> pg_deferred;  // standby.signal, recovery.signal, postgresql.auto.conf (with a session)
  uint64_t deferred_bytes = 0;           // for the progress: what is read last, as the scan saw it
  if (pg_start) {
    // Read after every other file (FinishPostgres): pg_control and the WAL. With a session, its backup_label
    // replaces any the directory holds, and tablespaces are kept in place, so no tablespace_map is (a server
    // started with one would link pg_tblspc back to the production tablespaces). A changed-blocks list that names
    // them is not needed for them: they are read whole.
    const bool with_session = session != nullptr;
    const auto deferred = [&](const SourceEntry& e) {
      return ReadLast(e.rel) || (IsSignalFile(e.rel) && !e.is_dir()) || InSlots(e.rel) || e.rel == kManifest ||
             (with_session && (e.rel == "backup_label" || e.rel == "tablespace_map" || e.rel == kAutoConf));
    };
    for (const auto& e : entries)
      if (deferred(e)) {
        // Read in FinishPostgres, or left out: whether the backup is hot is known there.
        if (HotBackupLeavesOut(e.rel) || e.rel == kAutoConf) pg_deferred.push_back(e);
        if (e.is_file() && (ReadLast(e.rel) || e.rel == kAutoConf || InSlots(e.rel) || e.rel == kManifest))
          deferred_bytes += uint64_t(e.st.st_size);
      }
    std::erase_if(entries, deferred);
    std::erase_if(changed, [](const auto& kv) { return ReadLast(kv.first) || InSlots(kv.first) || kv.first == kManifest; });
    SCNFS_ASSIGN_OR_RETURN(ScratchDir made, ScratchDir::Make());
    scratch.emplace(std::move(made));
  }
  SCNFS_ASSIGN_OR_RETURN(auto jobs, PlanFiles(entries, &db, in));
  // An Oracle database with no datafile in its sources is a source that is not there (a disk not mounted, a wrong
  // path): such a backup completed with 0 files, verified clean, and became the newest point (found 2026-12-01).
  if (db.format == FormatId::kOracle &&
      std::none_of(jobs.begin(), jobs.end(), [](const auto& j) { return j->format->id() == FormatId::kOracle; }))
    return Status::InvalidArgument(fmt::format(
        "no Oracle datafile in the sources of '{}' (its datafiles' file system not mounted, or another path?); nothing "
        "was backed up", db.name));
  if (db.format == FormatId::kOracle && prev) SCNFS_RETURN_IF_ERROR(SameOracleDatabase(db, prev_files, jobs));
  std::string also_backed_up;  // a NOTE, found before the store is written to
  if (new_db) also_backed_up = AlsoBackedUpAs(cat, db, rec, jobs);

  // 2. Start: the database record (dictionary first) and a synced "running" backup record.
  const int level = kDefaultCompressionLevel;  // see content_codec.h
  // What the store grew by besides the contents: the database's dictionaries, at its first backup. Left out, a
  // first backup of incompressible data reported 1.07x compression (found by an attack on the figures, 2026-12-01).
  uint64_t dictionary_bytes = 0;
  if (new_db) {
    SCNFS_ASSIGN_OR_RETURN(DictionaryChoice dc, TrainAndStoreDictionaries(store, SampleBlocks(jobs), level));
    dictionary_bytes = dc.stored_bytes;
    db.dict_id = dc.id;
    db.dict2_id = dc.second_id;
    db.dict2_threshold = dc.second_threshold;
    rocksdb::WriteBatch b;
    Catalog::PutNextDatabaseId(&b, store, db.id + 1);
    Catalog::PutDatabase(&b, store, db);
    SCNFS_RETURN_IF_ERROR(store->Write(&b, false));
  }
  rec.db = db.id;
  rec.id = db.next_backup_id++;
  rec.kind = prev ? "incremental" : "full";
  rec.changed_blocks = in.changed != nullptr && prev != nullptr;
  rec.state = BackupState::kRunning;
  rec.symlinks = 0;  // counted at the commit, like files and directories; a failed backup's record says 0 too
  rec.start_us = NowMicros();
  rec.pid = ::getpid();
  rec.host = HostName();
  for (const auto& s : opt.sources) rec.sources.push_back(std::filesystem::absolute(s).string());
  {
    rocksdb::WriteBatch b;
    PutPlannedFiles(&b, store, db, jobs);  // next_backup_id advances too
    Catalog::PutBackup(&b, store, rec);
    SCNFS_RETURN_IF_ERROR(store->Write(&b, /*sync=*/true));
  }

  // 3. Ingest.
  SCNFS_ASSIGN_OR_RETURN(Visibility vis, cat.LoadVisibility(db.id));
  Dictionaries dicts(store, level);
  IngestShared shared;
  shared.store = store;
  shared.db = db.id;
  shared.backup = rec.id;
  shared.dicts_choice = DictionaryChoice{db.dict_id, db.dict2_id, db.dict2_threshold};
  shared.level = level;
  shared.fracture_retries = opt.fracture_retries;
  shared.before_reread = opt.before_reread;
  shared.vis = &vis;
  shared.dicts = &dicts;
  shared.prev_ceiling = prev ? prev->change_ceiling : 0;
  if (opt.max_deferred != 0) shared.max_deferred = opt.max_deferred;
  for (const auto& b : backups)
    if (b.state == BackupState::kComplete) shared.prev_highest = std::max(shared.prev_highest, b.scn_position());
  uint64_t bytes_total = 0;
  auto units = MakeUnits(jobs, &bytes_total);
  if (opt.before_ingest) opt.before_ingest();
  Status st = IngestAll(&shared, units, opt, bytes_total + deferred_bytes, clock);
  if (st.ok()) st = TakeStoredHeaders(&shared, jobs, opt, bytes_total, clock);
  if (opt.after_read) opt.after_read();
  std::vector<std::string> pg_notes;
  if (st.ok() && pg_start) {
    PlanInputs last_in = in;
    last_in.changed = nullptr;  // WAL segments, pg_control and the label are read whole
    auto fin = FinishPostgres(session.get(), store, db, last_in, *pg_start, *control_entry, entries, jobs, &shared, opt,
                              clock, rec, *scratch, bytes_total, pg_deferred);
    if (fin.ok()) pg_notes = std::move(fin->notes);
    else st = fin.status();
  }
  // A file's highest valid change number (a changed-blocks read saw only some blocks: the rest are as before).
  auto file_max_change = [](const FileJob& j) {
    return j.read_mode == "changed blocks" && j.prev ? std::max(j.max_change.load(), j.prev->max_change) : j.max_change.load();
  };
  std::string new_incarnation;  // NewIncarnation, once every file is read
  if (st.ok()) {
    uint64_t highest = 0;
    for (const auto& j : jobs)
      if (!j->vanished && j->format->versioned_by_change()) highest = std::max(highest, file_max_change(*j));
    // Blocks without a change number of their own go where this backup stands among the scn: points, so that
    // they show at the points whose base is this backup or later. A backup that read no valid change number at all
    // (a datafile wiped or overwritten whole) has no place of its own: just above everything before it, as the
    // overflow rule of IngestBlock puts them (at the previous versions' keys, `scn:5000` of a cold backup at 5000
    // restored the wiped copy of the next backup; found 2026-11-30). One whose highest valid change is not above
    // the backups before it stands just after them: keyed at its highest, a block corrupted on disk after a cold
    // backup at C, read by an idle backup whose highest was C too, was served by `scn:C`, the point of the clean
    // backup (found 2026-12-02 by an attack on an Oracle database's life).
    // Whether it starts a new line is known once every file is read: the stand point needs it, the commit records it.
    new_incarnation = NewIncarnation(prev, rec, prev_files, jobs);
    const uint64_t own = highest != 0 ? highest : shared.prev_ceiling + 1;
    const bool new_line = shared.went_back_blocks.load() > 0 || !new_incarnation.empty();
    st = WriteDeferredVersions(&shared, BackupRecord::ScnStandsAt(own, shared.prev_highest, prev == nullptr, new_line));
  }
  // A stopped standby ("shut down in recovery") is consistent at its minimum recovery point, not at its last
  // restart point (the checkpoint pg_control names): it had replayed further, commits included that touched no page.
  if (st.ok() && !rec.hot && pg_start && pg_start->facts.state == 2) rec.min_recovery_lsn = pg_start->facts.min_recovery_point;

  // 4. Commit or fail.
  rec.end_us = NowMicros();
  rec.bytes_read = shared.bytes_read;
  rec.blocks_read = shared.blocks_read;
  rec.blocks_changed = shared.blocks_changed;
  rec.zero_blocks = shared.zero_blocks;
  rec.corrupt_blocks = shared.corrupt_blocks;
  rec.new_contents = shared.new_contents;
  rec.new_bytes_raw = shared.new_bytes_raw;
  rec.new_bytes_stored = shared.new_bytes_stored + dictionary_bytes;
  if (!st.ok()) {
    rec.state = BackupState::kFailed;
    rec.error = st.message();
    // After a failed write to the store (a full disk) RocksDB refuses further writes: the record stays "running"
    // and the next writer marks it failed. Otherwise (bad input found mid-way, a source file's read error, an
    // interrupt) record the failure now.
    if (!store->write_failed()) {
      rocksdb::WriteBatch b;
      Catalog::PutBackup(&b, store, rec);
      (void)store->Write(&b, /*sync=*/true);
    }
    return st.WithContext(fmt::format("backup {} of '{}' failed; earlier backups are intact", rec.id, db.name));
  }
  // Contents and versions were written without RocksDB's WAL: make them durable in SST files first, then the
  // synced commit record makes the backup visible. A crash before this point loses them with the memtables and
  // leaves the backup "running" (marked failed by the next writer).
  // No compaction starts between the flush and the commit record (Store::SetAutoCompactions); resumed on every way
  // out, before the wait for the compaction this backup made necessary.
  SCNFS_RETURN_IF_ERROR(store->SetAutoCompactions(false));
  struct Resume {
    Store* s;
    ~Resume() { (void)s->SetAutoCompactions(true); }
  } resume{store};
  if (Status fs = store->FlushData(); !fs.ok())
    return fs.WithContext(fmt::format("backup {} of '{}' failed at commit; earlier backups are intact", rec.id, db.name));
  rocksdb::WriteBatch b;
  uint64_t min_ckpt = UINT64_MAX;
  std::vector<std::string> shrank;  // notes
  std::map<std::string, const FileJob*> by_path;
  for (const auto& j : jobs) by_path[j->entry.rel] = j.get();
  // A file removed since the scan (no job: gone at the plan; vanished: gone at its first read) is not in it.
  const auto recorded = [&](const SourceEntry& e) {
    if (!e.is_file()) return true;
    auto it = by_path.find(e.rel);
    return it != by_path.end() && !it->second->vanished;
  };
  const std::map<std::string, uint32_t, std::less<>> subdirectories = CountSubdirectories(entries, recorded);
  for (const auto& e : entries) {
    if (!recorded(e)) continue;
    const FileJob* j = e.is_file() ? by_path.at(e.rel) : nullptr;
    FileRecord fr = MakeRecord(j ? j->entry : e);  // a job's entry may be newer (an Oracle file grown since the scan)
    uint64_t corrupt_past_end = 0;  // corrupt blocks of the file past the end it is recorded at
    if (j && j->shrank()) {
      // Cut short while it was read (a live database truncating, an online resize): what lay past its end was
      // stored as zeros it never held, and a restore gave them back silently (found 2026-11-30). The file is
      // recorded no longer than where a read met its end, nor than it is now, and the report says so. Not its size
      // now alone: a file cut short and grown back before this point (rewritten in place with O_TRUNC, a relation
      // truncated and extended again) kept those zeros, and nothing was said (found 2026-12-01).
      uint64_t kept = std::min(fr.size, j->end_met.load());
      struct stat now {};
      const bool present = ::stat(j->entry.abs.c_str(), &now) == 0;
      if (present) kept = std::min(kept, uint64_t(now.st_size));
      // A datafile or relation keeps whole blocks: one cut short in the read was being written (extended) then.
      const uint64_t bs = j->format->block_size();
      if (kept < fr.size && j->format->versioned_by_change()) kept -= kept % bs;
      if (kept < fr.size) {
        // The blocks past the new end are not in the backup: neither are their checks. (Oracle counts the zeros
        // read past a file's end as corrupt: a resize mid-backup reported hundreds of corrupt blocks.)
        corrupt_past_end = j->CorruptFrom((kept + bs - 1) / bs);
        rec.corrupt_blocks -= std::min(rec.corrupt_blocks, corrupt_past_end);
        std::erase_if(shared.bad_blocks, [&](const BadBlock& b) { return b.path == fr.path && b.block * bs >= kept; });
        const std::string regrown =
            present && uint64_t(now.st_size) > kept ? fmt::format(" (it was {} bytes again when the read ended)", now.st_size) : "";
        shrank.push_back(fmt::format("{} shrank from {} to {} bytes while it was read{}: recorded at {} bytes", fr.path,
                                     fr.size, kept, regrown, kept));
        fr.size = kept;
      }
    }
    if (e.is_dir()) {
      ++rec.directories;
      auto n = subdirectories.find(fr.path == "." ? std::string_view() : std::string_view(fr.path));
      fr.subdirectories = n == subdirectories.end() ? 0 : n->second;
    }
    if (e.is_symlink()) ++*rec.symlinks;
    if (e.is_file()) {
      fr.file_id = j->file_id;
      fr.format = j->format->id();
      fr.block_size = j->format->block_size();
      fr.max_change = file_max_change(*j);
      fr.corrupt_blocks = j->corrupt - std::min<uint64_t>(j->corrupt, corrupt_past_end);
      fr.held_corrupt = j->HeldCorrupt();
      if (fr.held_corrupt.empty() || fr.held_corrupt.back() != FileRecord::kTooManyHeldCorrupt)
        std::erase_if(fr.held_corrupt, [&](uint32_t b) { return uint64_t(b) * fr.block_size >= fr.size; });
      fr.read = j->read_mode;
      fr.header = j->header;
      if (j->format->id() == FormatId::kOracle) min_ckpt = std::min(min_ckpt, j->checkpoint_change);
      if (j->format->versioned_by_change()) rec.max_change = std::max(rec.max_change, fr.max_change);
      ++rec.files;
      rec.logical_bytes += fr.size;
    }
    Catalog::PutFile(&b, store, db.id, rec.id, fr);
  }
  if (db.format == FormatId::kOracle && min_ckpt != UINT64_MAX) rec.checkpoint_change = min_ckpt;
  rec.change_ceiling = std::max(prev ? prev->change_ceiling : 0, shared.max_key_change.load());
  if (const uint64_t n = shared.went_back_blocks.load(); n > 0) {
    rec.went_back_blocks = n;
    rec.went_back_from = shared.prev_ceiling;
    rec.went_back_to = shared.went_back_to.load();
  }
  rec.new_incarnation = new_incarnation;
  if (!rec.new_incarnation.empty()) rec.went_back_from = shared.prev_ceiling;
  rec.state = BackupState::kComplete;
  rec.end_us = NowMicros();
  Catalog::PutBackup(&b, store, rec);
  if (Status cs = store->Commit(&b); !cs.ok())
    // The commit record may be on disk even so: a failed fsync of RocksDB's log leaves it there when the write
    // itself went through, and the next open replays it (found 2026-11-30: "failed", then `list` said complete and
    // it restored exactly). Whether it counts is known only then; saying "failed" would have a scheduler retry a
    // backup that exists, or a DBA trust one that does not.
    return cs.WithContext(fmt::format("backup {} of '{}' may not be committed (its record may have reached the disk: "
                                      "`scnfs list` shows it complete if it did); earlier backups are intact",
                                      rec.id, db.name));

  const Status resumed = store->SetAutoCompactions(true);  // before waiting for them
  BackupReport report;
  // The backup is committed and visible. What follows is upkeep its own data made necessary: RocksDB's compaction
  // of the files it flushed. Waiting for it here, rather than abandoning it at exit, keeps the next backup from
  // paying for this one (measured: a changed-block incremental after a 2 GiB full took 1.55 s with the full's
  // compaction in it, 0.54 s without). An interrupt or an error here cannot affect the committed backup.
  Stopwatch upkeep;
  Status ws = !resumed.ok() ? resumed : store->WaitForCompactions(opt.cancel ? std::function<bool()>([&] { return opt.cancel->load(); })
                                                   : std::function<bool()>());
  report.compaction_seconds = upkeep.Seconds();
  if (!ws.ok()) report.warning = ws.WithContext("backup committed, but the store's compaction did not finish").message();
  report.record = rec;
  report.format = db.format;
  report.scn_served_from = rec.new_line() ? ScnServedFrom(db.format, backups, rec) : 0;
  report.dictionary_bytes = dictionary_bytes;
  if (!also_backed_up.empty()) report.notes.push_back(also_backed_up);
  if (std::string mixed = MixedDatabases(jobs); !mixed.empty()) report.notes.push_back(mixed);
  if (std::string shared = SharedFileNumbers(jobs); !shared.empty()) report.notes.push_back(shared);
  report.notes.insert(report.notes.end(), pg_notes.begin(), pg_notes.end());
  if (rec.hot) report.notes.push_back(HotBackupNote(rec));
  // A backup with a session sets allow_in_place_tablespaces itself (FinishPostgres); others are kept as read.
  if (pg_tablespaces && !opt.pg_connect)
    report.notes.push_back("the cluster has tablespaces, kept in place in pg_tblspc: PostgreSQL started in recovery on "
                           "a restore or clone of this backup (standby.signal or recovery.signal, for a standby or a "
                           "point-in-time recovery) stops at consistency unless allow_in_place_tablespaces = on");
  report.notes.insert(report.notes.end(), shrank.begin(), shrank.end());
  if (std::string gone = DatafilesGone(prev, prev_files, jobs); !gone.empty()) report.notes.push_back(gone);
  // The host's clock set back since an earlier backup ended (docs/points-in-time.md, `time:`): said, because `time:`
  // of that backup's END then selects this one, which is recorded as ending before it.
  for (auto b = backups.rbegin(); b != backups.rend(); ++b)
    if (b->state == BackupState::kComplete && b->end_us > rec.end_us) {
      report.notes.push_back(fmt::format(
          "this backup ended at {}, before backup {} did ({}): the host's clock was set back; time: points from "
          "here to then select this backup, the newest that ended by them", FormatIso8601(rec.end_us), b->id,
          FormatIso8601(b->end_us)));
      break;
    }
  for (const auto& e : entries) {
    if (!e.followed_link()) continue;
    const char* what = e.is_file()                        ? "datafile"
                       : db.format == FormatId::kOracle ? "directory of datafiles"
                       : e.rel == "pg_wal"               ? "WAL"
                                                        : "tablespace";
    report.notes.push_back(fmt::format("{} is a link to {} in the source: its {} was backed up with the database, and "
                                       "restores, mounts and clones hold it as a {} in place of the link",
                                       e.rel, e.target, what, e.is_file() ? "file" : "directory"));
  }
  for (const auto& j : jobs) {
    // A datafile shorter than its header says: Oracle refuses to open it (ORA-01200). The backup keeps it as read,
    // and said nothing until a later verify (found 2026-11-30): a nightly log that reads clean must be clean. It is
    // a WARNING and exit 2, as corrupt blocks are: verify of the backup exits 2 for it (review, 2026-12-02).
    if (j->vanished || !j->header.is_object() || !j->header.contains("blocks") || j->shrank()) continue;
    const uint64_t bs = j->header.value("block_size", uint64_t{0}), want = j->header.value("blocks", uint64_t{0}) + 1;
    const uint64_t size = uint64_t(j->entry.st.st_size);
    if (bs != 0 && size < want * bs) report.short_datafiles.push_back({j->entry.rel, size / bs, want});
  }
  for (const auto& j : jobs) {
    if (!j->prev || j->vanished) continue;
    const std::string now = DatafileIdentityOf(j->header), before = DatafileIdentityOf(j->prev->header);
    if (!now.empty() && !before.empty() && now != before)
      report.notes.push_back(fmt::format("{} holds another datafile than at the last backup ({}; was {}): it was read in "
                                         "full, and points before this backup show the earlier one",
                                         j->entry.rel, now, before));
  }
  report.bad_blocks = std::move(shared.bad_blocks);
  report.seconds = clock.Seconds();
  return report;
}
}  // namespace

}  // namespace scnfs
