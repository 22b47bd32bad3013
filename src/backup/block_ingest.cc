#include "backup/block_ingest.h"

#include <unistd.h>

#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <rocksdb/db.h>

#include "scnfs/store.h"
#include "store/rocks_status.h"

namespace scnfs {

bool IngestShared::ClaimContent(const ContentHash& h) {
  std::lock_guard<std::mutex> l(mu);
  return in_flight.insert(h).second;
}

void IngestShared::ReleaseClaims(const std::vector<ContentHash>& claimed) {
  std::lock_guard<std::mutex> l(mu);
  for (const auto& h : claimed) in_flight.erase(h);
}

bool IngestShared::Defer(DeferredVersion d) {
  std::lock_guard<std::mutex> l(mu);
  if (deferred.size() >= max_deferred) return false;
  deferred.push_back(std::move(d));
  return true;
}

namespace {
// a = min(a, v) and a = max(a, v), for the marks workers move at once.
void LowerTo(std::atomic<uint64_t>& a, uint64_t v) {
  uint64_t cur = a.load(std::memory_order_relaxed);
  while (v < cur && !a.compare_exchange_weak(cur, v)) {
  }
}

void RaiseTo(std::atomic<uint64_t>& a, uint64_t v) {
  uint64_t cur = a.load(std::memory_order_relaxed);
  while (v > cur && !a.compare_exchange_weak(cur, v)) {
  }
}
}  // namespace

Status WriteDeferredVersions(IngestShared* shared, uint64_t highest_valid_change) {
  rocksdb::WriteBatch batch;
  for (const auto& d : shared->deferred) {
    VersionKey key{shared->db, d.file, d.block, std::max(highest_valid_change, d.prev_key_change), shared->backup};
    RaiseTo(shared->max_key_change, key.change);
    char k[kVersionKeySize];
    EncodeVersionKey(key, k);
    batch.Put(shared->store->versions_cf(), rocksdb::Slice(k, kVersionKeySize), EncodeVersionValue(d.value));
    if (batch.Count() >= 4096) {
      SCNFS_RETURN_IF_ERROR(shared->store->WriteUnlogged(&batch));
      batch.Clear();
    }
  }
  if (batch.Count() > 0) SCNFS_RETURN_IF_ERROR(shared->store->WriteUnlogged(&batch));
  return Status::OK();
}

void IngestShared::ReportBad(BadBlock b) {
  std::lock_guard<std::mutex> l(mu);
  if (bad_blocks.size() < 1000) bad_blocks.push_back(std::move(b));
}

BlockIngest::BlockIngest(IngestShared* shared)
    : s_(shared), versions_(*shared->store, shared->db, *shared->vis), compressor_(shared->dicts, shared->level) {}

namespace {

// pread that tolerates a file shrinking under a live database: bytes past the end read as zeros, and `*end_met` is
// lowered to where the end was met (the backup then records the file no longer than that, RunBackup).
Status ReadAt(int fd, std::byte* buf, size_t n, uint64_t off, const std::string& path, std::atomic<uint64_t>* end_met) {
  size_t done = 0;
  while (done < n) {
    ssize_t r = ::pread(fd, buf + done, n - done, off_t(off + done));
    if (r < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, fmt::format("cannot read {}", path));
    }
    if (r == 0) {
      std::memset(buf + done, 0, n - done);
      LowerTo(*end_met, off + done);
      break;
    }
    done += size_t(r);
  }
  return Status::OK();
}

// What a block being written while we read it looks like: fractured (Oracle: the tail is older or newer than the
// header), a bad checksum (PostgreSQL has no tail), or a bad header when the first part of the read still saw the
// zeros of a block being formatted or extended (Oracle's frmt byte 0; PostgreSQL's pd_upper 0 on a page whose end
// is already written). All-zero blocks are not re-read: zeros are a state, and regions of them are common.
bool MayBeInFlux(BlockKind k) {
  return k == BlockKind::kFractured || k == BlockKind::kBadChecksum || k == BlockKind::kBadHeader;
}

}  // namespace

BlockCheck BlockIngest::CheckWithReread(FileJob* job, uint64_t blockno, std::span<std::byte> block) {
  BlockCheck c = job->format->Check(blockno, block);
  if (!job->format->versioned_by_change() || !MayBeInFlux(c.kind)) return c;
  // A block being written while we read it may fail its check (MayBeInFlux). Only a failure that persists across
  // re-reads is corruption. The pauses (2 to 32 ms, 62 in all) give a write time to finish. Once a file has
  // kRereadBudget blocks that stayed bad through all of them, it has damage, and each further bad block of it gets
  // the first two re-reads only (2 and 4 ms): a write in progress elsewhere in the file still has 6 ms to finish,
  // and 400 bad blocks no longer cost 25 s of pauses (found 2026-11-30; 1 GB of them would have taken hours).
  // The count is a hint, read without ordering: with several workers the first few after it is reached may still
  // wait the whole 62 ms.
  const bool patient = job->stayed_bad.load(std::memory_order_relaxed) < kRereadBudget;
  const int retries = patient ? s_->fracture_retries : std::min(s_->fracture_retries, 2);
  for (int i = 0; i < retries; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2 << i));
    if (s_->before_reread) s_->before_reread(job->entry.rel, blockno);
    if (!ReadAt(job->fd, block.data(), block.size(), blockno * block.size(), job->entry.abs, &job->end_met).ok()) return c;
    c = job->format->Check(blockno, block);
    if (!MayBeInFlux(c.kind)) return c;
  }
  if (patient && retries > 0) job->stayed_bad.fetch_add(1, std::memory_order_relaxed);
  return c;
}

Status BlockIngest::ContentMissing(const ContentHash& h, bool* missing) {
  rocksdb::PinnableSlice v;
  auto st = s_->store->db()->Get(rocksdb::ReadOptions(), s_->store->content_cf(), rocksdb::Slice(h.view().data(), 16), &v);
  if (st.IsNotFound()) {
    *missing = true;
    return Status::OK();
  }
  *missing = false;
  return FromRocksStatus(st, "looking up block content");
}

Status BlockIngest::IngestBlock(FileJob* job, uint64_t blockno, std::span<std::byte> block, size_t len,
                                const std::optional<Version>& prev, bool past_end) {
  const FileFormat& fmt = *job->format;
  const bool by_change = fmt.versioned_by_change();
  std::span<std::byte> content = block.first(len);
  const bool partial = len < block.size();  // a raw file's short last block, a relation file's partial page
  BlockCheck c = !partial ? CheckWithReread(job, blockno, block) : by_change ? BlockCheck{} : fmt.Check(blockno, block);
  // A change number of its own to key the version by: not from a corrupt header, nor from the first bytes of a
  // partial page, and not 0, which Oracle's block 0, PostgreSQL's new pages and pages of unlogged relations carry
  // whatever they hold (as a key, 0 would put any later backup's version at every scn: point).
  const bool own_change = by_change && !c.corrupt && !partial && c.change != 0;
  if (c.corrupt) {
    s_->corrupt_blocks.fetch_add(1, std::memory_order_relaxed);
    job->corrupt.fetch_add(1, std::memory_order_relaxed);
    job->NoteCorrupt(uint32_t(blockno));
    s_->ReportBad(BadBlock{job->entry.rel, blockno, c.kind, c.change, c.type, nullptr});
  }
  if (own_change) RaiseTo(job->max_change, c.change);
  // The header as stored: the file may have grown since the plan read it (TakeStoredHeaders in backup.cc).
  if (blockno <= 1 && fmt.id() == FormatId::kOracle && !c.corrupt && !partial) {
    job->head.resize(2 * block.size());
    std::memcpy(job->head.data() + blockno * block.size(), block.data(), block.size());
  }

  const bool zero = IsAllZero(content);
  if (zero && !past_end) s_->zero_blocks.fetch_add(1, std::memory_order_relaxed);

  VersionValue v;
  v.kind = c.kind;
  v.zero = zero;
  if (zero) {
    if (prev && prev->value.zero) return Status::OK();
  } else {
    // Same change number and fingerprint as the stored version proves the same content without hashing. Not for
    // change 0: every page of an unlogged relation has LSN 0, and a 32-bit fingerprint alone would let one changed
    // page in 65,536 (same flags, colliding checksum) pass as unchanged.
    if (own_change && prev && !prev->value.zero && c.fingerprint && prev->value.fingerprint == c.fingerprint &&
        prev->change() == c.change)
      return Status::OK();
    v.hash = s_->store->hasher().Hash(content);
    if (prev && !prev->value.zero && prev->value.hash == v.hash) return Status::OK();
    if (!c.corrupt) v.fingerprint = c.fingerprint;
    if (s_->ClaimContent(v.hash)) {
      claimed_.push_back(v.hash);
      bool missing = false;
      SCNFS_RETURN_IF_ERROR(ContentMissing(v.hash, &missing));
      if (missing) {
        SCNFS_RETURN_IF_ERROR(compressor_.Encode(content, s_->dicts_choice, &value_));
        batch_.Put(s_->store->content_cf(), rocksdb::Slice(v.hash.view().data(), 16), value_);
        s_->new_contents.fetch_add(1, std::memory_order_relaxed);
        s_->new_bytes_raw.fetch_add(len, std::memory_order_relaxed);
        s_->new_bytes_stored.fetch_add(value_.size(), std::memory_order_relaxed);
      }
    }
  }

  VersionKey key{s_->db, job->file_id, uint32_t(blockno), by_change ? c.change : s_->backup, s_->backup};
  if (by_change && !own_change) {
    // No change number of its own (docs/points-in-time.md). A corrupt header's claim is kept in the value.
    if (c.corrupt) v.actual_change = c.change;
    key.change = 0;  // a block with no earlier version is read only at points whose base has it: any key will do
    if (prev) {
      // Its key will be the backup's high mark: the value says what the header said (0 or a corrupt claim), so
      // that a later version's (change, fingerprint) never matches that key by chance.
      v.actual_change = c.change;
      // Keyed at commit at the backup's highest valid change number (WriteDeferredVersions), so that it shows at
      // the points whose base is this backup or later, and the earlier version at the points before.
      s_->blocks_changed.fetch_add(1, std::memory_order_relaxed);
      if (s_->Defer({job->file_id, uint32_t(blockno), prev->key.change, v})) return Status::OK();
      s_->blocks_changed.fetch_sub(1, std::memory_order_relaxed);
      // Beyond max_deferred (a file overwritten wholesale): just after the backups before, where this backup
      // stands unless it reads a higher SCN, out of every point whose base is older, and never behind a garbage
      // SCN. Not above their change ceiling: that is raised by the keys of earlier backups' such blocks (H + 1),
      // and from H + 2 the blocks were hidden at the backup's own point (review, 2026-12-02).
      key.change = std::max(prev->key.change, s_->prev_highest + 1);
    }
  } else if (prev && prev->key.change > key.change) {
    // The change number went backwards (RESETLOGS, pg_resetwal, an older copy): keep keys in backup order.
    // Recorded, because scn: points below the old high mark are then ambiguous (docs/points-in-time.md). Not when
    // the stored version had no change number of its own (corrupt, or 0) and was keyed at its backup's high mark:
    // a block repaired by block media recovery, back at its real SCN, refused every earlier scn: point of the
    // database (found 2026-11-30).
    // Nor when its own SCN did not go back from the stored version's own, only from that version's raised key:
    // the next change of a block that went back at a RESETLOGS (on the new line, rising) was recorded as a second
    // going back and blamed for the refusals of scn: (found 2026-12-02 by an attack on an Oracle database's life).
    const bool prev_own = !AlwaysCorrupt(prev->value.kind) && prev->change() != 0;
    if (prev_own && key.change < prev->change()) {
      s_->went_back_blocks.fetch_add(1, std::memory_order_relaxed);
      LowerTo(s_->went_back_to, key.change);
    }
    v.actual_change = key.change;
    key.change = prev->key.change;
  }
  RaiseTo(s_->max_key_change, key.change);
  char k[kVersionKeySize];
  EncodeVersionKey(key, k);
  batch_.Put(s_->store->versions_cf(), rocksdb::Slice(k, kVersionKeySize), EncodeVersionValue(v));
  s_->blocks_changed.fetch_add(1, std::memory_order_relaxed);
  return Status::OK();
}

Status BlockIngest::Run(const Unit& u) {
  FileJob* job = u.job;
  const size_t bs = job->format->block_size();
  const uint64_t size = uint64_t(job->entry.st.st_size);
  const uint64_t off = u.first * bs;
  const size_t n = size_t(std::min<uint64_t>(u.count * bs, size - off));
  // A block adds at most two entries (content, version) and one claim; a block whose version is deferred and whose
  // content is stored adds a claim and no entry. Keep a batch under kFlushEntries of either.
  if (batch_.Count() + 2 * u.count > uint64_t(kFlushEntries) || claimed_.size() + u.count > size_t(kFlushEntries))
    SCNFS_RETURN_IF_ERROR(Flush());
  buf_.resize(u.count * bs);
  SCNFS_RETURN_IF_ERROR(ReadAt(job->fd, buf_.data(), n, off, job->entry.abs, &job->end_met));
  // What the file held: less than `n` when a read met its end (it shrank since the scan). The zeros past it are
  // in no figure: a file cut from 200 to 50 MiB while it was read reported 200 MiB read, 150 of them all-zero
  // blocks (review, 2026-12-02).
  const uint64_t end = job->end_met.load(std::memory_order_relaxed);
  const size_t got = end >= off + n ? n : end > off ? size_t(end - off) : 0;
  versions_.Refresh();
  SCNFS_RETURN_IF_ERROR(versions_.LatestRun(job->file_id, uint32_t(u.first), uint32_t(u.count), &prev_));
  for (uint64_t i = 0; i < u.count; ++i) {
    const uint64_t boff = i * bs;
    if (boff >= n) break;
    const size_t len = std::min<size_t>(bs, n - boff);
    if (len < bs) std::memset(buf_.data() + boff + len, 0, bs - len);
    SCNFS_RETURN_IF_ERROR(IngestBlock(job, u.first + i, std::span<std::byte>(buf_.data() + boff, bs), len, prev_[i],
                                      boff + len > got));
  }
  s_->bytes_read.fetch_add(got, std::memory_order_relaxed);
  s_->blocks_read.fetch_add(got == n ? u.count : (got + bs - 1) / bs, std::memory_order_relaxed);
  return batch_.Count() >= kFlushEntries || claimed_.size() >= size_t(kFlushEntries) / 2 ? Flush() : Status::OK();
}

Status BlockIngest::Flush() {
  if (batch_.Count() > 0) SCNFS_RETURN_IF_ERROR(s_->store->WriteUnlogged(&batch_));
  // Only now can the store answer for the batch's new content. On an error the claims stay: the backup stops, and
  // no worker may take the content as stored.
  s_->ReleaseClaims(claimed_);
  batch_.Clear();
  claimed_.clear();
  return Status::OK();
}

}  // namespace scnfs
