#include "backup/file_plan.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include <fmt/format.h>

#include "backup/changed_blocks.h"
#include "format/raw_format.h"
#include "scnfs/oracle_format.h"
#include "scnfs/postgres_format.h"

namespace scnfs {
namespace fs = std::filesystem;

Result<int> OpenSource(const SourceEntry& e) {
  // First an O_PATH descriptor, which opens nothing (a FIFO, a socket, a device: no waiting, no side effects), to
  // see what the path holds now; then the regular file it names is opened through /proc/self/fd, which reaches
  // that same inode, so nothing swapped in between is opened. Not an O_NONBLOCK open of the path: that gives
  // EWOULDBLOCK on a file under a write lease (Samba oplocks, NFS delegations) instead of breaking the lease.
  // No O_NOFOLLOW for a link the scan followed (a datafile on another disk): its target is the file.
  const int path_fd = ::open(e.abs.c_str(), O_PATH | O_CLOEXEC | (e.followed_link() ? 0 : O_NOFOLLOW));
  if (path_fd < 0) {
    if (errno == ENOENT || errno == ENOTDIR || errno == ELOOP) return -1;  // ELOOP: a followed link made a loop
    return Status::FromErrno(errno, fmt::format("cannot open {}", e.abs));
  }
  struct stat st {};
  if (::fstat(path_fd, &st) != 0) {
    const int err = errno;
    ::close(path_fd);
    return Status::FromErrno(err, fmt::format("cannot stat {}", e.abs));
  }
  if (!S_ISREG(st.st_mode)) {  // a link (O_PATH|O_NOFOLLOW opens the link itself), a FIFO, a socket, a directory
    ::close(path_fd);
    return -1;
  }
  const std::string via = fmt::format("/proc/self/fd/{}", path_fd);
  int fd = ::open(via.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0 && errno == ENOENT) fd = ::open(e.abs.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);  // no /proc
  const int err = errno;
  ::close(path_fd);
  if (fd < 0) return Status::FromErrno(err, fmt::format("cannot open {}", e.abs));
  return fd;
}

FileJob::~FileJob() {
  if (fd >= 0) ::close(fd);
}

Status FileJob::OpenForIngest() {
  std::lock_guard<std::mutex> l(open_mu);
  if (fd >= 0 || vanished) return Status::OK();
  SCNFS_ASSIGN_OR_RETURN(fd, OpenSource(entry));
  if (fd < 0) {
    vanished = true;
    return Status::OK();
  }
  ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  return Status::OK();
}

void FileJob::NoteCorrupt(uint32_t block) {
  std::lock_guard<std::mutex> l(corrupt_mu);
  if (corrupt_found.size() <= FileRecord::kMaxHeldCorrupt) corrupt_found.push_back(block);
}

std::vector<uint32_t> FileJob::HeldCorrupt() const {
  std::lock_guard<std::mutex> l(corrupt_mu);
  if (corrupt_found.size() > FileRecord::kMaxHeldCorrupt) return {FileRecord::kTooManyHeldCorrupt};
  std::vector<uint32_t> held = corrupt_found;
  std::sort(held.begin(), held.end());
  held.erase(std::unique(held.begin(), held.end()), held.end());  // a block of two units (none today) counts once
  return held;
}

uint64_t FileJob::CorruptFrom(uint64_t block) const {
  std::lock_guard<std::mutex> l(corrupt_mu);
  return uint64_t(std::count_if(corrupt_found.begin(), corrupt_found.end(), [&](uint32_t b) { return b >= block; }));
}

void FileJob::UnitDone() {
  if (units_left.fetch_sub(1) != 1) return;
  std::lock_guard<std::mutex> l(open_mu);
  if (check_name_at_end && fd >= 0) {
    struct stat read {}, named {};
    named_at_end = ::fstat(fd, &read) == 0 && ::stat(entry.abs.c_str(), &named) == 0 && read.st_ino == named.st_ino &&
                   read.st_dev == named.st_dev;
  }
  if (fd >= 0) ::close(fd);
  fd = -1;
}

uint64_t FileJob::blocks() const {
  const uint64_t bs = format->block_size();
  return (uint64_t(entry.st.st_size) + bs - 1) / bs;
}

namespace {

Status ReadExactly(int fd, void* buf, size_t n, off_t off, const std::string& path) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, static_cast<char*>(buf) + done, n - done, off + off_t(done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, fmt::format("cannot read {}", path));
    }
    if (r == 0) return Status::InvalidArgument(fmt::format("{} is truncated: {} bytes where {} were expected", path, off + off_t(done), off + off_t(n)));
    done += size_t(r);
  }
  return Status::OK();
}

}  // namespace

nlohmann::json OracleHeaderJson(const oracle::FileHeader& h) {
  if (h.salvaged)  // block 1 unreadable: what the file and its blocks tell, nothing made up
    return nlohmann::json{{"header_damaged", true},
                          {"relative_file_number", h.relative_file_number},
                          {"bigfile", h.bigfile()},
                          {"block_size", h.block_size},
                          {"blocks", h.blocks}};
  return nlohmann::json{{"dbid", h.dbid},
                        {"db_name", h.db_name},
                        {"file_number", h.file_number},
                        {"relative_file_number", h.relative_file_number},
                        {"bigfile", h.bigfile()},
                        {"tablespace", h.tablespace_name},
                        {"tablespace_number", h.tablespace_number},
                        {"block_size", h.block_size},
                        {"blocks", h.blocks},
                        {"compat_version", fmt::format("{:#010x}", h.compat_version)},
                        {"creation_scn", h.creation_scn},
                        {"creation_time", oracle::TimeToIso8601(h.creation_time)},
                        {"resetlogs_id", h.resetlogs_id},
                        {"resetlogs_scn", h.resetlogs_scn},
                        {"checkpoint_scn", h.checkpoint_scn},
                        {"checkpoint_time", oracle::TimeToIso8601(h.checkpoint_time)},
                        {"checkpoint_count", h.checkpoint_count},
                        {"status_flags", h.status_flags},
                        {"fuzzy", (h.status_flags & 0x55) != 0}};
}

std::string IncarnationOf(const nlohmann::json& header) {
  if (!header.is_object() || !header.contains("resetlogs_id")) return "";
  return fmt::format("DBID {} resetlogs id {} at SCN {}", header.value("dbid", 0u), header.value("resetlogs_id", 0u),
                     header.value("resetlogs_scn", uint64_t{0}));
}

std::string DatafileIdentityOf(const nlohmann::json& header) {
  if (!header.is_object() || !header.contains("file_number")) return "";
  return fmt::format("FILE# {} (relative {}) created at SCN {}", header.value("file_number", 0u),
                     header.value("relative_file_number", 0u), header.value("creation_scn", uint64_t{0}));
}

namespace {

Status OpenOracle(FileJob* job) {
  const auto& path = job->entry.abs;
  const uint64_t size = uint64_t(job->entry.st.st_size);
  if (size < 32) return Status::InvalidArgument(fmt::format("{} is not an Oracle datafile: only {} bytes", path, size));
  // 64 KiB: block 1 at every block size, for a file whose block 0 is damaged (ReadFileHeader).
  std::vector<std::byte> head(size_t(std::min<uint64_t>(size, 65536)));
  SCNFS_RETURN_IF_ERROR(ReadExactly(job->fd, head.data(), head.size(), 0, path));
  // A damaged header block (or block 0) is backed up as read and reported, like any corrupt block, when the rest
  // says datafile. One a checkpoint was writing while it was read here looks damaged too; the ingest reads it again
  // and, once it stores a sound one, the file takes that header's facts (TakeStoredHeaders in backup.cc).
  auto h = oracle::ReadFileHeader(ByteSpan(head.data(), head.size()), size, path, [&](uint64_t off, std::span<std::byte> more) {
    return ReadExactly(job->fd, more.data(), more.size(), off_t(off), path);
  });
  if (!h.ok()) {
    // Name the cause that holds: no magic at all (another kind of file), or a short file whose block 0 is sound.
    if (!oracle::HasBlock0Magic(ByteSpan(head.data(), head.size())))
      return Status::InvalidArgument(fmt::format("{} is not an Oracle datafile (no block-0 magic 0x7A7B7C7D)", path));
    auto bs = oracle::Block0BlockSize(ByteSpan(head.data(), head.size()));
    if (bs.ok() && size < 2 * uint64_t(*bs))
      return Status::InvalidArgument(fmt::format("{} is truncated: {} bytes, less than two {}-byte blocks", path, size, *bs));
    return h.status();
  }
  const uint32_t bs = h.value().block_size;
  // A datafile that autoextended between the scan and this header read: its header counts blocks the scanned size
  // lacks. The size is taken again, so that the backup holds the file its header describes (else verify would
  // call a sound hot backup truncated).
  const uint64_t described = (uint64_t(h.value().blocks) + 1) * bs;
  if (!h.value().salvaged && uint64_t(job->entry.st.st_size) < described) {
    struct stat now {};
    if (::fstat(job->fd, &now) == 0 && now.st_size > job->entry.st.st_size) job->entry.st = now;
  }
  job->format = oracle::MakeFormat(h.value());
  job->header = OracleHeaderJson(h.value());
  // Unknown when the header is damaged: such a file does not lower the backup's checkpoint SCN.
  job->checkpoint_change = h.value().salvaged ? UINT64_MAX : h.value().checkpoint_scn;
  return Status::OK();
}

}  // namespace

bool IsPostgresDataDirectory(const std::vector<std::string>& sources) {
  for (const auto& s : sources) {
    std::error_code ec;
    if (fs::is_directory(s, ec) && fs::exists(fs::path(s) / "PG_VERSION", ec) && fs::exists(fs::path(s) / "global/pg_control", ec))
      return true;
  }
  return false;
}

FormatId DetectFormat(const std::vector<std::string>& sources, const std::vector<SourceEntry>& entries) {
  if (IsPostgresDataDirectory(sources)) return FormatId::kPostgres;
  // Oracle when any file is an Oracle datafile, not only the first: a README or a parameter file sorting first made
  // a database of datafiles raw for good (no block checks, no scn:). Another file that is not a datafile then fails
  // the plan by name, which is the DBA's cue to leave it out or give --format raw. A datafile whose block 0 is
  // damaged is known by its header in block 1 (a one-file database with such a block 0 became raw for good): that
  // takes 64 KiB, so it is looked for in the first 16 files only, not in every file of a raw file set.
  constexpr size_t kHeadFiles = 16;
  std::vector<std::byte> head(65536);
  size_t files = 0;
  for (const auto& e : entries) {
    if (!e.is_file()) continue;
    const size_t want = files++ < kHeadFiles ? head.size() : 32;
    int fd = ::open(e.abs.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) continue;  // unreadable: the plan names it
    const ssize_t n = ::pread(fd, head.data(), want, 0);
    ::close(fd);
    if (n < 32) continue;
    const ByteSpan got(head.data(), size_t(n));
    if (oracle::LooksLikeOracle(got.first(32)) || (want > 32 && oracle::HeaderBesideDamagedBlock0(got).ok()))
      return FormatId::kOracle;
  }
  return FormatId::kRaw;
}

Result<std::vector<std::unique_ptr<FileJob>>> PlanFiles(const std::vector<SourceEntry>& entries, DatabaseRecord* db,
                                                        const PlanInputs& in) {
  std::map<std::string, const FileRecord*> prev;
  if (in.prev_files)
    for (const auto& f : *in.prev_files) prev[f.path] = &f;
  if (in.changed) {
    std::map<std::string, bool> known;  // path -> is a regular file
    for (const auto& e : entries) known[e.rel] = e.is_file();
    for (const auto& [rel, r] : *in.changed) {
      auto it = known.find(rel);
      if (it == known.end())
        return Status::InvalidArgument(fmt::format("the changed-blocks list names '{}', which is not in the backup source", rel));
      if (!it->second)  // a directory or a link: its blocks are no file's, and the line did nothing
        return Status::InvalidArgument(fmt::format("the changed-blocks list names '{}', which is not a file", rel));
      // A segment file holds 131072 pages: a higher number is a relation-level one (pg_walsummary prints those),
      // and taken as a block of this file it named nothing, so the change was lost without a word.
      if (db->format == FormatId::kPostgres && postgres::RelationSegment(rel))
        for (auto [a, b] : r)
          if (b >= postgres::kSegmentBlocks)
            return Status::InvalidArgument(fmt::format(
                "the changed-blocks list names block {} of '{}', past a segment file's {} pages: number blocks within "
                "each segment file (relation block B is block B % {} of segment B / {}, the file '<relfilenode>.<B / {}>')",
                b, rel, postgres::kSegmentBlocks, postgres::kSegmentBlocks, postgres::kSegmentBlocks, postgres::kSegmentBlocks));
    }
  }
  // PostgreSQL relation files that WAL summaries leave out, so no list can be trusted for them: free-space maps
  // (not properly WAL-logged; PostgreSQL 17's own incremental backup reads them whole), visibility maps (their
  // pages change with no block reference of their own: a list made from the WAL's block references misses them,
  // and they are small, one page per 256 MiB of table) and every fork of an unlogged relation (the ones with an
  // `_init` fork beside them).
  postgres::UnloggedRelations unlogged;
  if (db->format == FormatId::kPostgres)
    for (const auto& e : entries)
      if (e.is_file()) unlogged.Add(e.rel);
  const auto unlisted_relation_file = [&](const std::string& rel) {
    if (db->format != FormatId::kPostgres || !postgres::RelationSegment(rel)) return false;
    const std::string_view fork = std::string_view(rel).substr(postgres::RelationOf(rel).size());
    return fork.starts_with("_fsm") || fork.starts_with("_vm") || unlogged.Contains(rel);
  };

  std::vector<std::unique_ptr<FileJob>> jobs;
  for (const auto& e : entries) {
    if (!e.is_file()) continue;
    auto job = std::make_unique<FileJob>();
    job->entry = e;
    SCNFS_ASSIGN_OR_RETURN(job->fd, OpenSource(e));
    if (job->fd < 0) continue;  // removed (or replaced by what is no file) since the scan: not part of this backup
    switch (db->format) {
      case FormatId::kOracle:
        SCNFS_RETURN_IF_ERROR(OpenOracle(job.get()));
        break;
      case FormatId::kPostgres:
        if (auto seg = postgres::RelationSegment(e.rel))
          job->format = postgres::MakeRelationFormat(*seg, in.pg_checksums, unlogged.PagesOf(e.rel));
        else
          job->format = MakeRawFormat(postgres::kBlockSize);
        break;
      case FormatId::kRaw:
        job->format = MakeRawFormat(in.raw_block_size);
        break;
    }
    if (Status st = job->format->CheckSize(uint64_t(job->entry.st.st_size)); !st.ok()) return st.WithContext(e.abs);
    // Block numbers are u32 in the store's keys (docs/store-format.md), and so is a run's end (first + count): a
    // larger count would wrap and write over the file's first versions. At most 2^32 - 1 blocks.
    if (job->blocks() > uint64_t(UINT32_MAX))
      return Status::InvalidArgument(fmt::format("{} has {} blocks of {} bytes, more than the 2^32 - 1 a file may have; back it up with a larger --block-size",
                                                 e.abs, job->blocks(), job->format->block_size()));

    if (auto it = prev.find(e.rel); it != prev.end() && it->second->type == "file") job->prev = it->second;
    // A path that holds another Oracle datafile than at the last backup (a tablespace dropped and its file name
    // reused, maybe with another block size) starts a new file id. Under the old one the two files' versions
    // interleaved by SCN, and an scn: point between the drop and this backup (its base the earlier backup) served
    // the earlier file with the new file's blocks, verify clean (found 2026-12-01).
    const std::string identity = DatafileIdentityOf(job->header);
    const std::string prev_identity = job->prev ? DatafileIdentityOf(job->prev->header) : "";
    const bool another_datafile =
        job->prev && job->format->id() == FormatId::kOracle && job->prev->format == FormatId::kOracle &&
        (job->prev->block_size != job->format->block_size() ||
         (!identity.empty() && !prev_identity.empty() && identity != prev_identity));
    // The id is the previous complete backup's for the same file, not the path's in the catalog: a backup that
    // failed after giving the path a new id (another datafile there) left that id behind, and the next backup of
    // the first file, with a changed-block list, wrote its few blocks under an id holding none of its versions
    // (restore: "no stored version"; scn: points: zeros). A path the previous backup did not have is read in
    // full and gets a new id too: whatever held it before may have been another file.
    if (job->prev && !another_datafile) {
      job->file_id = job->prev->file_id;
    } else {
      job->file_id = db->next_file_id++;
      job->new_file_id = true;
    }

    const uint64_t blocks = job->blocks();
    const bool same_shape = job->prev && job->prev->format == job->format->id() &&
                            job->prev->block_size == job->format->block_size();
    // A changed-block list covers relation pages, as PostgreSQL's WAL summaries and Oracle's block change tracking
    // do. PostgreSQL's other files (WAL segments recycled in place, pg_xact, pg_control, configuration) are read
    // in full: no list names their blocks, and trusting one would keep stale copies of them.
    // Nor can a list name a file whose name no line can hold (ChangedBlocksCanName): its changes would be in no
    // changed-block backup.
    const bool listable = ChangedBlocksCanName(e.rel);
    const bool list_applies = !(db->format == FormatId::kPostgres && job->format->id() == FormatId::kRaw) &&
                              !unlisted_relation_file(e.rel) && !in.pg_new_line && listable &&
                              IncarnationOf(job->header) == (job->prev ? IncarnationOf(job->prev->header) : "") &&
                              identity == prev_identity;
    // The blocks the previous backup held corrupt are read again (FileRecord::held_corrupt): all of the file when
    // there were too many to list.
    const std::vector<uint32_t> no_held;
    const std::vector<uint32_t>& held = job->prev ? job->prev->held_corrupt : no_held;
    const bool too_many_held = (!held.empty() && held.back() == FileRecord::kTooManyHeldCorrupt) ||
                               (job->prev && !job->prev->held_corrupt_known);
    if (in.changed && same_shape && list_applies && !too_many_held) {
      // Trust the list for blocks the previous backup had; read header blocks and any growth always.
      BlockRanges r;
      r.emplace_back(0, std::min<uint64_t>(1, blocks ? blocks - 1 : 0));
      for (uint32_t b : held)
        if (b < blocks) r.emplace_back(b, b);
      if (auto it = in.changed->find(e.rel); it != in.changed->end())
        for (auto [a, b] : it->second)
          if (a < blocks) r.emplace_back(a, std::min(b, blocks - 1));
      // Growth is read from the block that held the old end: a raw file whose last block was short has new bytes
      // in that block too, and no list names them.
      const uint64_t old_end_block = job->prev->size / job->prev->block_size;
      if (uint64_t(job->entry.st.st_size) > job->prev->size && blocks > old_end_block) r.emplace_back(old_end_block, blocks - 1);
      std::sort(r.begin(), r.end());
      for (auto x : r) {
        if (!job->to_read.empty() && x.first <= job->to_read.back().second + 1)
          job->to_read.back().second = std::max(job->to_read.back().second, x.second);
        else
          job->to_read.push_back(x);
      }
      job->read_mode = "changed blocks";
    } else {
      if (blocks > 0) job->to_read.emplace_back(0, blocks - 1);
      job->read_mode = "full";
    }
    if (blocks == 0) job->to_read.clear();
    ::close(job->fd);  // reopened by the ingest if it has blocks to read
    job->fd = -1;
    jobs.push_back(std::move(job));
  }
  return jobs;
}

}  // namespace scnfs
