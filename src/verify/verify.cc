#include "scnfs/verify.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>

#include "format/raw_format.h"
#include "restore/point_reader.h"
#include "scnfs/backup.h"
#include "scnfs/oracle_format.h"
#include "scnfs/postgres_format.h"
#include "util/clock.h"
#include "util/ticker.h"
#include "verify/file_tally.h"

namespace scnfs {
namespace fs = std::filesystem;

uint64_t VerifyReport::corrupt_blocks() const {
  uint64_t n = 0;
  for (const auto& f : files) n += f.corrupt;
  return n;
}

uint64_t VerifyReport::missing_blocks() const {
  uint64_t n = 0;
  for (const auto& f : files) n += f.missing;
  return n;
}

namespace {

// The short last block of a raw file: nothing to check but whether it is zero.
// A block shorter than the block size, the last of a file whose size is not a multiple of it: a raw file's is data
// like the others; a PostgreSQL relation's is a partial page, examined but not a page to check (FileVerification).
void TallyShortBlock(FileVerification* f, uint64_t blockno, ByteSpan b) {
  if (f->format == FormatId::kPostgres) {
    ++f->examined;
    ++f->partial;
    return;
  }
  BlockCheck c;
  c.kind = IsAllZero(b) ? BlockKind::kAllZero : BlockKind::kOk;
  Tally(f, blockno, c, true);
}

// An Oracle datafile shorter than its header says (ORA-01200): a file may be longer (autoextend between the header
// write and a read), never shorter.
uint64_t MissingBlocks(const oracle::FileHeader& h, uint64_t blocks_present) {
  const uint64_t want = uint64_t(h.blocks) + 1;  // block 0 is not counted in the header
  return blocks_present < want ? want - blocks_present : 0;
}

// Whether `path` is a relation file of a PostgreSQL data directory (found by walking up to global/pg_control).
bool IsRelationInDataDir(const std::string& path) {
  const fs::path abs = fs::absolute(path);
  for (fs::path p = abs.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
    std::error_code ec;
    if (fs::exists(p / "global/pg_control", ec)) return postgres::RelationSegment(abs.lexically_relative(p).generic_string()).has_value();
  }
  return false;
}

// Whether the file at `fd` is an Oracle datafile whose first two blocks are damaged: its data blocks say so
// (oracle::HeaderFromDataBlocks). Only the file's first 2 MiB are read.
bool OracleDataBlocksAfterDamagedHeaders(int fd, uint64_t size) {
  std::vector<std::byte> start(size_t(std::min<uint64_t>(size, oracle::kDataBlocksProbe)));
  if (::pread(fd, start.data(), start.size(), 0) != ssize_t(start.size())) return false;
  return oracle::HeaderFromDataBlocks(ByteSpan(start.data(), start.size()), size).ok();
}

// The format object for a stored PostgreSQL or raw file. `unlogged`: the point's relations with an _init fork (their
// LSNs are no change numbers, as the backup took them: docs/format-postgres.md).
std::unique_ptr<FileFormat> FormatFor(const FileRecord& r, bool pg_checksums, const postgres::UnloggedRelations& unlogged) {
  switch (r.format) {
    case FormatId::kOracle:  // built by the caller from blocks 0 and 1 (and more when block 1 is damaged)
      return nullptr;
    case FormatId::kPostgres:
      return postgres::MakeRelationFormat(postgres::RelationSegment(r.path).value_or(0), pg_checksums,
                                          unlogged.PagesOf(r.path));
    case FormatId::kRaw:
      return MakeRawFormat(r.block_size);
  }
  return nullptr;
}

}  // namespace

Result<VerifyReport> VerifyPoint(Store* store, const std::string& db, const std::string& at, const VerifyOptions& opt) {
  const int threads = opt.threads;
  SCNFS_ASSIGN_OR_RETURN(OpenedPoint op, OpenPoint(store, db, at));
  VerifyReport report;
  report.high_change = opt.high_change;
  report.point = fmt::format("{} {}", db, op.reader->point().Describe());
  // A clean report of a hot backup says the pages are sound, not that the cluster is consistent without its WAL.
  if (const BackupRecord& base = op.reader->point().base; base.hot) report.note = HotBackupNote(base);
  if (const std::string& past = op.reader->point().past_newest; !past.empty())
    report.note += (report.note.empty() ? "" : "; ") + past;
  PointReader::Cursor cur(*op.reader);
  std::vector<std::byte> buf;
  // A store read that fails while verify reads what it checks the blocks against (pg_control, an Oracle header) is a
  // store error, reported with the rest. Taken for the datafile's own, one transient EIO made every block of an
  // Oracle file "bad header" with no store error (found 2026-12-02 by the crash test's fault injection).
  auto store_error = [&](const Status& st) -> Status {
    if (st.code() != Status::Code::kCorruption && st.code() != Status::Code::kIOError) return st;
    if (report.store_errors.size() < 100) report.store_errors.push_back(st.message());
    ++report.store_error_count;
    return Status::OK();
  };

  // PostgreSQL checksums: from the restored pg_control of this point.
  bool pg_checksums = false;
  for (const auto& r : op.files) {
    if (r.path != "global/pg_control") continue;
    std::vector<std::byte> b(r.block_size);
    size_t len = 0;
    if (Status st = cur.Read(r, 0, b, &len); !st.ok()) {
      SCNFS_RETURN_IF_ERROR(store_error(st));
    } else {
      auto c = postgres::ParseControlFile(ByteSpan(b.data(), len));
      if (c.ok()) pg_checksums = c.value().checksums();
    }
  }
  std::vector<const FileRecord*> work;
  for (const auto& r : op.files)
    if (r.type == "file") work.push_back(&r);
  report.files.resize(work.size());

  // Each file's format, from its own header where it has one (Oracle), before the blocks are checked in parallel.
  std::vector<std::unique_ptr<FileFormat>> formats(work.size());
  std::vector<char> header_unread(work.size(), 0);  // the store failed to give an Oracle file's header blocks
  postgres::UnloggedRelations unlogged;
  for (const FileRecord* r : work)
    if (r->format == FormatId::kPostgres) unlogged.Add(r->path);
  std::vector<std::byte> head;
  for (size_t i = 0; i < work.size(); ++i) {
    const FileRecord& r = *work[i];
    FileVerification& f = report.files[i];
    f.path = r.path;
    f.format = r.format;
    f.header = r.header;
    if (r.format != FormatId::kOracle) {
      formats[i] = FormatFor(r, pg_checksums, unlogged);
      continue;
    }
    head.resize(2 * size_t(r.block_size));
    size_t l0 = 0, l1 = 0;
    Status read_failed;
    auto read = [&](uint64_t b, std::span<std::byte> out, size_t* len) {
      Status st = cur.Read(r, b, out, len);
      if (!st.ok() && read_failed.ok()) read_failed = st;
      return st;
    };
    if (r.blocks() >= 2 && read(0, std::span(head).first(r.block_size), &l0).ok() &&
        read(1, std::span(head).subspan(r.block_size), &l1).ok()) {
      // As backup read it: a damaged block 1 is salvaged from block 0 and the addresses of the next blocks.
      // A damaged block 0 beside a sound block 1 is found from these two blocks too (the recorded block size).
      auto h = oracle::ReadFileHeader(ByteSpan(head.data(), head.size()), r.size, r.path,
                                      [&](uint64_t off, std::span<std::byte> more) {
        size_t len = 0;
        for (size_t k = 0; k * r.block_size < more.size(); ++k)
          SCNFS_RETURN_IF_ERROR(read(off / r.block_size + k, more.subspan(k * r.block_size, r.block_size), &len));
        return Status::OK();
      });
      if (h.ok()) {
        // Checked as the backup checked it, against the header as the plan read it with the size (the catalog
        // record): block 1 itself was read later, and a datafile may have grown in between.
        oracle::FileHeader planned = h.value();
        if (r.header.is_object() && r.header.contains("blocks") && r.header["blocks"].is_number_unsigned())
          planned.blocks = r.header["blocks"].get<uint32_t>();
        formats[i] = oracle::MakeFormat(planned);
        f.missing = MissingBlocks(planned, r.blocks());
      }
    }
    if (!read_failed.ok()) {
      SCNFS_RETURN_IF_ERROR(store_error(read_failed));
      header_unread[i] = 1;
    }
  }

  // Units of at most kVerifyUnitBlocks blocks, so that one large file (a bigfile tablespace) is checked by every
  // thread, not one; each unit tallies into its own part, merged in block order at the end.
  constexpr uint64_t kVerifyUnitBlocks = 8192;
  struct VerifyUnit {
    size_t file;
    uint64_t first, count;
    FileVerification part;
  };
  std::vector<VerifyUnit> units;
  std::vector<std::atomic<uint64_t>> units_left(work.size());
  uint64_t bytes_total = 0;
  for (size_t i = 0; i < work.size(); ++i) {
    const FileRecord& r = *work[i];
    bytes_total += r.size;
    for (uint64_t b = 0; b < r.blocks() || b == 0; b += kVerifyUnitBlocks) {
      units.push_back(VerifyUnit{i, b, std::min(kVerifyUnitBlocks, r.blocks() - b), {}});
      units.back().part.path = r.path;
      units.back().part.format = r.format;
      ++units_left[i];
    }
  }
  std::atomic<size_t> next{0};
  std::atomic<uint64_t> contents{0};
  std::atomic<uint64_t> bytes_done{0}, files_done{0}, corrupt{0};
  std::mutex mu;
  Status first_error;
  Stopwatch clock;
  const int n = threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency()));
  std::vector<std::thread> workers;
  for (int t = 0; t < n; ++t) {
    workers.emplace_back([&] {
      PointReader::Cursor c(*op.reader);
      std::vector<std::byte> block;
      for (size_t i; (i = next.fetch_add(1)) < units.size();) {
        VerifyUnit& u = units[i];
        const FileRecord& r = *work[u.file];
        const FileFormat* format = formats[u.file].get();
        FileVerification& f = u.part;
        block.resize(r.block_size);
        uint64_t credited = u.first;  // blocks of this unit counted in bytes_done
        for (uint64_t b = u.first; b < u.first + u.count; ++b) {
          if (b - credited >= 64) {
            bytes_done.fetch_add((b - credited) * uint64_t(r.block_size), std::memory_order_relaxed);
            credited = b;
          }
          size_t len = 0;
          std::optional<Version> v;
          Status st = c.Read(r, b, block, &len, &v);  // checks every content's hash, and lost versions
          if (v && !v->value.zero) ++contents;
          if (!st.ok()) {
            std::lock_guard<std::mutex> l(mu);
            // A store content that cannot be read (EIO from a failing disk) is a store error like one that does
            // not decode: counted and reported, and the check goes on (it stopped with no report at all).
            if (Status other = store_error(st); !other.ok()) {
              if (first_error.ok()) first_error = other;
              return;
            }
            continue;
          }
          if (format == nullptr && header_unread[u.file]) continue;  // a store error, reported: nothing to check against
          if (format == nullptr) {  // an Oracle file whose header could not be read: every block is suspect
            BlockCheck bad;
            bad.kind = BlockKind::kBadHeader;
            bad.corrupt = true;
            Tally(&f, b, bad, true);
            continue;
          }
          if (len < block.size()) {  // a short last block: of a raw file, or a PostgreSQL partial page
            TallyShortBlock(&f, b, ByteSpan(block.data(), len));
            continue;
          }
          Tally(&f, b, format->Check(b, block), !(r.format == FormatId::kOracle && b == 0), block, opt.high_change);
        }
        bytes_done.fetch_add((u.first + u.count - credited) * uint64_t(r.block_size), std::memory_order_relaxed);
        corrupt.fetch_add(f.corrupt, std::memory_order_relaxed);
        if (units_left[u.file].fetch_sub(1) == 1) files_done.fetch_add(1, std::memory_order_relaxed);
      }
    });
  }
  {
    Ticker progress(!opt.progress ? std::function<void()>() : [&] {
      opt.progress(VerifyProgress{std::min(bytes_done.load(), bytes_total), bytes_total, files_done.load(), work.size(),
                                  corrupt.load(), clock.Seconds()});
    });
    for (auto& w : workers) w.join();
  }
  for (const VerifyUnit& u : units) MergeTally(&report.files[u.file], u.part);
  if (!first_error.ok()) return first_error;
  if (opt.progress)  // the last word: every byte and file, whatever the ticker last saw
    opt.progress(VerifyProgress{bytes_total, bytes_total, work.size(), work.size(), corrupt.load(), clock.Seconds()});
  report.contents_checked = contents;
  return report;
}

Result<VerifyReport> VerifyFile(const std::string& path, std::optional<FormatId> format, const VerifyOptions& opt) {
  const bool format_given = format.has_value();
  // O_NONBLOCK: the open of a FIFO would otherwise wait for a writer for ever (it is refused below).
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return Status::FromErrno(errno, fmt::format("cannot open {}", path));
  struct FdCloser {
    int fd;
    ~FdCloser() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, fmt::format("cannot stat {}", path));
  if (!S_ISREG(st.st_mode)) return Status::InvalidArgument(fmt::format("{} is not a regular file", path));
  const uint64_t size = uint64_t(st.st_size);
  std::vector<std::byte> head(std::min<uint64_t>(size, 65536 * 2));
  if (::pread(fd, head.data(), head.size(), 0) != ssize_t(head.size())) return Status::IOError(fmt::format("cannot read {}", path));

  if (!format) {
    if (head.size() >= 32 && oracle::LooksLikeOracle(ByteSpan(head.data(), 32))) format = FormatId::kOracle;
    else if (oracle::HeaderBesideDamagedBlock0(ByteSpan(head.data(), std::min<size_t>(head.size(), 65536))).ok())
      format = FormatId::kOracle;  // block 0 damaged: block 0 reports as corrupt below
    else if (OracleDataBlocksAfterDamagedHeaders(fd, size))
      format = FormatId::kOracle;  // blocks 0 and 1 damaged: both report as corrupt below
    else if (IsRelationInDataDir(path)) format = FormatId::kPostgres;
    // A relation file copied out of its cluster: taken for raw, it was "clean" whatever its pages held.
    else if (size % postgres::kBlockSize == 0 && postgres::LooksLikeRelationPages(ByteSpan(head.data(), head.size())))
      format = FormatId::kPostgres;
    else format = FormatId::kRaw;
  }
  VerifyReport report;
  report.high_change = opt.high_change;
  report.point = path;
  FileVerification f;
  f.path = path;
  f.format = *format;
  if (opt.pg_checksums && *format != FormatId::kPostgres)  // refused, not ignored
    return Status::InvalidArgument(fmt::format("--pg-checksums applies to PostgreSQL relation files; {} is checked as {}",
                                               path, FormatName(*format)));
  std::unique_ptr<FileFormat> ff;
  if (*format == FormatId::kOracle) {
    // A damaged header block (or block 0) is a finding (it reports as corrupt), not a reason to stop.
    const ByteSpan first(head.data(), std::min<size_t>(head.size(), 65536));
    auto h = oracle::ReadFileHeader(first, size, path, [&](uint64_t off, std::span<std::byte> more) {
      return ::pread(fd, more.data(), more.size(), off_t(off)) == ssize_t(more.size())
                 ? Status::OK()
                 : Status::IOError(fmt::format("cannot read {}", path));
    });
    if (!h.ok()) {
      // A sound block 0 in a file shorter than two blocks: a datafile that lost its header and every block after
      // it, which is damage found (exit 2), as a file cut further in is; it was exit 1, "could not check" (review,
      // 2026-12-02).
      auto bs = oracle::Block0BlockSize(first);
      if (bs.ok() && size < 2 * uint64_t(*bs))
        return Status::Corruption(fmt::format("{} is truncated before its file header: {} bytes, where a datafile of "
                                              "{}-byte blocks holds block 0 and its header block at least",
                                              path, size, *bs));
      return h.status();
    }
    ff = oracle::MakeFormat(h.value());
    f.missing = MissingBlocks(h.value(), size / h.value().block_size);
  } else if (*format == FormatId::kPostgres) {
    // The segment number mixes into page checksums: `16384.2` is segment 2. Any other name (a copy called
    // 16384.bak) is segment 0, as docs/format-postgres.md says: it was refused.
    const std::string name = fs::path(path).filename().string();
    uint32_t seg = 0;
    if (auto dot = name.rfind('.'); dot != std::string::npos) {
      const char* b = name.data() + dot + 1;
      const char* e = name.data() + name.size();
      auto [end, ec] = std::from_chars(b, e, seg);
      if (b == e || ec != std::errc() || end != e) seg = 0;
    }
    // Checksums: from the data directory's pg_control when the file sits in one. Otherwise (a file copied out of
    // its cluster) from the file's first pages that are not all zero (below).
    std::optional<bool> from_control;
    for (fs::path p = fs::absolute(path).parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path()) {
      std::ifstream in(p / "global/pg_control", std::ios::binary);
      if (!in) continue;
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      auto c = postgres::ParseControlFile(ByteSpan(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
      if (c.ok()) from_control = c.value().checksums();
      break;
    }
    bool checksums;
    if (opt.pg_checksums) {
      checksums = *opt.pg_checksums;
      f.note = fmt::format("page checksums {} (--pg-checksums {})", checksums ? "verified" : "not verified",
                           checksums ? "on" : "off");
    } else if (from_control) {
      checksums = *from_control;
      f.note = fmt::format("page checksums {} (the data directory's pg_control says data checksums are {})",
                           checksums ? "verified" : "not verified", checksums ? "on" : "off");
    } else {
      // A cluster without data checksums leaves pd_checksum 0 on every page; one with them fills it on every write.
      // So the pages that carry one, not the ones that verify, tell: damage to most of the first pages switched the
      // check off and the file was "clean" (found 2026-11-30). (A cluster whose checksums were disabled keeps stale
      // ones: those fail, and the note says why they were checked.)
      int pages = 0, carried = 0;
      for (size_t off = 0; off + postgres::kBlockSize <= head.size(); off += postgres::kBlockSize) {
        const ByteSpan page(head.data() + off, postgres::kBlockSize);
        if (IsAllZero(page)) continue;
        ++pages;
        if (page[8] != std::byte{0} || page[9] != std::byte{0}) ++carried;
      }
      checksums = pages > 0 && 2 * carried >= pages;
      f.note = fmt::format("page checksums {} (no pg_control above the file: {} of its first {} pages carry a checksum{})",
                           checksums ? "verified" : "not verified", carried, pages,
                           checksums ? "; if the cluster's checksums were turned off, they are stale: --pg-checksums off" : "");
    }
    // An _init fork beside it: an unlogged relation, whose LSNs are no change numbers (as the backup takes them).
    std::error_code ec;
    const std::string rel_path = fs::absolute(path).string();
    const bool unlogged = fs::exists(std::string(postgres::RelationOf(rel_path)) + "_init", ec);
    ff = postgres::MakeRelationFormat(seg, checksums, postgres::RelationPagesOf(rel_path, unlogged));
  } else {
    ff = MakeRawFormat(8192);
    // "clean: true" alone would claim more than was done (the text report's result line says the same).
    f.note = format_given ? "raw (--format raw): no block checks apply"
                          : "raw: no block checks apply: not an Oracle datafile or PostgreSQL relation file; give --format to force one";
  }
  // An Oracle datafile cut inside a block (a copy that stopped short) is reported like one cut at a block edge:
  // the incomplete block is missing, exit 2. A backup refuses such a file; verify is where a DBA learns why.
  const bool oracle_cut = *format == FormatId::kOracle && size % ff->block_size() != 0;
  if (!oracle_cut) SCNFS_RETURN_IF_ERROR(ff->CheckSize(size).WithContext(path));
  const uint32_t bs = ff->block_size();
  std::vector<std::byte> buf(size_t(bs) * 128);
  uint64_t stayed_bad = 0;
  std::atomic<uint64_t> done{0}, corrupt{0};  // for the progress ticker's thread
  Stopwatch clock;
  Ticker progress(!opt.progress ? std::function<void()>() : [&] {
    opt.progress(VerifyProgress{done.load(), size, 0, 1, corrupt.load(), clock.Seconds()});
  });
  for (uint64_t off = 0; off < size; off += buf.size(), done.store(std::min(off, size)), corrupt.store(f.corrupt)) {
    size_t n = size_t(std::min<uint64_t>(buf.size(), size - off));
    ssize_t r = ::pread(fd, buf.data(), n, off_t(off));
    if (r != ssize_t(n)) return Status::IOError(fmt::format("cannot read {} at offset {}", path, off));
    for (size_t i = 0; i * bs < n; ++i) {
      uint64_t b = off / bs + i;
      size_t len = std::min<size_t>(bs, n - i * bs);
      std::span<std::byte> blk(buf.data() + i * bs, len);
      if (len < bs) {
        if (!oracle_cut) TallyShortBlock(&f, b, blk);  // an Oracle block cut short: missing
        continue;
      }
      BlockCheck c = ff->Check(b, blk);
      // A live file: a block that fails may be mid-write (a header and tail from two writes). Re-read it, as
      // DBVERIFY does and counts as "Influx"; damage stays damage through every re-read.
      // After kRereadBudget blocks stayed bad the file has damage, and further bad blocks are not waited for.
      for (int pause_ms = 2, attempt = 1; c.corrupt && c.kind != BlockKind::kAllZero && stayed_bad < kRereadBudget && pause_ms <= 8;
           pause_ms *= 2, ++attempt) {
        std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));
        if (opt.before_reread) opt.before_reread(b, attempt);
        if (::pread(fd, blk.data(), bs, off_t(b * bs)) != ssize_t(bs)) break;
        if (BlockCheck again = ff->Check(b, blk); !again.corrupt) {
          c = again;
          ++f.influx;
        }
      }
      if (c.corrupt && c.kind != BlockKind::kAllZero) ++stayed_bad;
      Tally(&f, b, c, !(*format == FormatId::kOracle && b == 0), blk, opt.high_change);
    }
  }
  // A block cut short past the header's count (the header counts 10 blocks, the file has 10 and some bytes) is
  // missing too: it was "clean" while a backup refused the file (found 2026-11-30). Within the count, the header's
  // arithmetic above already counts it.
  if (oracle_cut && f.missing == 0) f.missing = 1;
  if (opt.progress) opt.progress(VerifyProgress{size, size, 1, 1, f.corrupt, clock.Seconds()});
  report.files.push_back(std::move(f));
  return report;
}

nlohmann::json ToJson(const VerifyReport& r) {
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : r.files) {
    nlohmann::json bad = nlohmann::json::array();
    for (const auto& b : f.bad_blocks) {
      bad.push_back({{"block", b.block}, {"kind", BlockKindName(b.kind)}, {"change", b.change}, {"type", b.type}});
      if (!b.header.is_null()) bad.back()["header"] = b.header;
    }
    files.push_back({{"path", f.path},
                     {"format", FormatName(f.format)},
                     {"pages_examined", f.examined},
                     {"pages_processed", f.processed},
                     {"pages_processed_data", f.processed_data},
                     {"pages_processed_index", f.processed_index},
                     {"pages_processed_other", f.processed_other},
                     {"pages_influx", f.influx},
                     {"pages_empty", f.empty},
                     {"pages_all_zero", f.zero},
                     {"pages_corrupt", f.corrupt},
                     {"pages_missing", f.missing},
                     {"pages_partial", f.partial},
                     {"corrupt_by_kind", f.corrupt_by_kind},
                     {"highest_change", f.highest_change},
                     {"bad_blocks", bad}});
    if (!f.note.empty()) files.back()["note"] = f.note;
    if (r.high_change) {
      nlohmann::json listed = nlohmann::json::array();
      for (auto [block, change] : f.high_blocks) listed.push_back({{"block", block}, {"change", change}});
      files.back()["high_change"] = {{"above", *r.high_change}, {"count", f.high_count}, {"blocks", listed}};
    }
  }
  nlohmann::json out = {{"point", r.point},
                        {"clean", r.clean()},
                        {"files", files},
                        {"corrupt_blocks", r.corrupt_blocks()},
                        {"missing_blocks", r.missing_blocks()},
                        {"store", {{"contents_checked", r.contents_checked}, {"errors", r.store_error_count}, {"messages", r.store_errors}}}};
  if (!r.note.empty()) out["note"] = r.note;
  return out;
}

}  // namespace scnfs
