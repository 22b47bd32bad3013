#include "restore/point_reader.h"

#include <algorithm>
#include <cstring>

#include <fmt/format.h>
#include <rocksdb/db.h>

#include "store/rocks_status.h"
#include "util/content_hash.h"

namespace scnfs {


PointReader::PointReader(const Store* store, DatabaseRecord db, Visibility vis, ResolvedPoint point,
                         std::shared_ptr<Dictionaries> dicts)
    : store_(store), db_(std::move(db)), vis_(std::move(vis)), point_(std::move(point)),
      dicts_(dicts ? std::move(dicts) : std::make_shared<Dictionaries>(store)) {}

PointReader::Cursor::Cursor(const PointReader& r) : r_(r), versions_(*r.store_, r.db_.id, r.vis_), decompressor_(r.dicts_.get()) {}

namespace {

// A block of a file at a backup's own point always has a version, zeros included (an all-zero block is stored as
// a zero version): none is a lost key of a damaged store, and reading it as zeros gave a restore of wrong bytes
// with exit 0. At an scn: point a block may legitimately have none at or below the SCN (after RESETLOGS).
Status NoVersion(const FileRecord& file, uint64_t block) {
  return Status::Corruption(fmt::format("{} block {}: no stored version (the store lost it)", file.path, block));
}

// A decoded content, checked before it is served, and a short one padded with zeros to the file's bytes in its
// block. Every content read is hashed again: a damaged value (a flipped bit on the disk that RocksDB's block
// checksum did not see, a damaged dictionary) decompressed to wrong bytes that restores and mounts served, exit 0,
// and only verify saw it (found 2026-12-01). XXH3 costs ~0.5 ms per MB read on these cores, against ~1 ms to
// decompress it. At a backup's own point a content shorter than the file's bytes in its block is Corruption too: a
// backup stores every block it records whole (a short last block as long as the file's bytes in it), so the
// record and the versions disagree (a damaged block size or size: the block fetched was another one's).
Status CheckDecoded(const Store& store, const FileRecord& file, uint64_t block, std::span<std::byte> slot, size_t got,
                    size_t want, const Version& ver, bool scn_point) {
  if (!(store.hasher().Hash(slot.first(got)) == ver.value.hash))
    return Status::Corruption(fmt::format("{} block {}: stored content does not match its hash {}", file.path, block, ver.value.hash.Hex()));
  if (got >= want) return Status::OK();
  if (!scn_point)
    return Status::Corruption(fmt::format("{} block {}: stored content has {} bytes where the file has {}", file.path,
                                          block, got, want));
  std::memset(slot.data() + got, 0, want - got);
  return Status::OK();
}

}  // namespace

// An Oracle datafile's header blocks (0 and 1) at an scn: point are the base backup's, as its file size is: a header
// written after it at the same or a lower checkpoint SCN (the file resized after its checkpoint) counted more
// blocks than the base's size, and the restore was a datafile shorter than its own header (ORA-01200), which
// verify of the point called clean (found 2026-12-01). The file is then fuzzy as a hot backup's datafile is: its
// header at the base's checkpoint, blocks up to S, which recovery from that checkpoint brings to S.
constexpr uint64_t kOracleHeaderBlocks = 2;

bool IsOracleHeader(const FileRecord& file, uint64_t block) {
  return file.format == FormatId::kOracle && block < kOracleHeaderBlocks;
}

// Readers open the store's table files as lookups need them: one the writer's compaction deleted since the last
// catch-up fails the lookup (Store::CatchUpAfterLostTable). A catch-up brings in where its data went, and the read
// is tried again; a few rounds cover compactions that follow one another during a backup.
constexpr int kLostTableRetries = 4;

template <typename Attempt>
Status PointReader::Cursor::RetryLostTables(Attempt&& read_once) {
  for (int attempt = 0;; ++attempt) {
    const uint64_t generation = r_.store_->data_generation();
    lost_table_ = false;
    Status st = read_once();
    if (st.ok() || !(lost_table_ || versions_.LostTable()) || attempt == kLostTableRetries) return st;
    SCNFS_RETURN_IF_ERROR(r_.store_->CatchUpAfterLostTable(generation, st));
  }
}

// A content lookup's failure; notes a lost table file for RetryLostTables.
Status PointReader::Cursor::ContentFailure(const rocksdb::Status& st, const FileRecord& file, uint64_t block,
                                           const Version& ver) {
  if (st.IsNotFound())
    return Status::Corruption(fmt::format("{} block {}: content {} is missing from the store", file.path, block, ver.value.hash.Hex()));
  if (Store::IsLostTable(st)) lost_table_ = true;
  return FromRocksStatus(st, fmt::format("{} block {}", file.path, block));
}

Status PointReader::Cursor::Read(const FileRecord& file, uint64_t block, std::span<std::byte> out, size_t* len,
                                 std::optional<Version>* version_out) {
  return RetryLostTables([&] { return ReadOnce(file, block, out, len, version_out); });
}

Status PointReader::Cursor::ReadRun(const FileRecord& file, uint64_t first, uint32_t count, std::span<std::byte> out,
                                    std::vector<BlockRead>* info) {
  return RetryLostTables([&] { return ReadRunOnce(file, first, count, out, info); });
}

Status PointReader::Cursor::ReadOnce(const FileRecord& file, uint64_t block, std::span<std::byte> out, size_t* len,
                                     std::optional<Version>* version_out) {
  // Declared before the value pinned in its instance (it outlives it); an instance the store replaced is let go.
  const auto data = r_.store_->data();
  versions_.Follow(data);
  const uint64_t offset = block * file.block_size;
  if (offset >= file.size) return Status::InvalidArgument(fmt::format("block {} is past the end of {}", block, file.path));
  const size_t want = size_t(std::min<uint64_t>(file.block_size, file.size - offset));
  *len = want;
  const bool by_change = file.format != FormatId::kRaw;
  const auto& base = r_.point_.base;
  const bool by_scn = by_change && r_.point_.scn && !IsOracleHeader(file, block);
  Result<std::optional<Version>> v =
      by_scn ? versions_.AsOfChange(file.file_id, uint32_t(block), *r_.point_.scn, base.id)
             : versions_.AsOfBackup(file.file_id, uint32_t(block), base.id, by_change ? base.change_ceiling : base.id);
  if (!v.ok()) return v.status();
  if (version_out != nullptr) *version_out = v.value();
  if (!v.value() && (!r_.point_.scn || !by_scn)) return NoVersion(file, block);  // the base has its header blocks
  if (!v.value() || v.value()->value.zero) {
    std::memset(out.data(), 0, want);
    return Status::OK();
  }
  const Version& ver = *v.value();
  rocksdb::PinnableSlice value;
  auto st = data->db->Get(rocksdb::ReadOptions(), data->content, rocksdb::Slice(ver.value.hash.view().data(), 16), &value);
  if (!st.ok()) return ContentFailure(st, file, block, ver);
  size_t got = 0;
  Status ds = decompressor_.Decode(std::string_view(value.data(), value.size()), out, &got);
  if (!ds.ok()) return ds.WithContext(fmt::format("{} block {}", file.path, block));
  return CheckDecoded(*r_.store_, file, block, out, got, want, ver, r_.point_.scn.has_value());
}

Status PointReader::Cursor::ReadRunOnce(const FileRecord& file, uint64_t first, uint32_t count, std::span<std::byte> out,
                                        std::vector<BlockRead>* info) {
  auto data = r_.store_->data();
  versions_.Follow(data);  // an instance the store replaced is let go
  const size_t bs = file.block_size;
  if (count == 0) {
    info->clear();
    return Status::OK();
  }
  if (count > kMaxRun) return Status::InvalidArgument(fmt::format("a run of {} blocks is too long", count));
  if ((first + count - 1) * bs >= file.size)
    return Status::InvalidArgument(fmt::format("blocks {}..{} are past the end of {}", first, first + count - 1, file.path));
  if (out.size() < size_t(count) * bs) return Status::InvalidArgument("read buffer too small for the run");
  const bool by_change = file.format != FormatId::kRaw;
  const auto& base = r_.point_.base;
  const bool scn_point = by_change && r_.point_.scn;
  // At an scn: point, the run's Oracle header blocks (`head` of them) as the base had them, the rest by SCN.
  const uint32_t head =
      scn_point && IsOracleHeader(file, first) ? uint32_t(std::min<uint64_t>(kOracleHeaderBlocks - first, count)) : 0;
  Status vs;
  if (!scn_point) {
    vs = versions_.RunAsOf(file.file_id, uint32_t(first), count, base.id, by_change ? base.change_ceiling : base.id, &run_);
  } else if (head == 0) {
    vs = versions_.RunAsOf(file.file_id, uint32_t(first), count, kAnyBackup, *r_.point_.scn, &run_, base.id);
  } else {
    vs = versions_.RunAsOf(file.file_id, uint32_t(first), head, base.id, base.change_ceiling, &run_);
    if (vs.ok() && head < count) {
      vs = versions_.RunAsOf(file.file_id, uint32_t(first + head), count - head, kAnyBackup, *r_.point_.scn, &rest_, base.id);
      run_.insert(run_.end(), rest_.begin(), rest_.end());
    }
  }
  if (!vs.ok()) return vs;
  info->assign(count, BlockRead{});
  rocksdb::Slice keys[kMaxRun];
  uint32_t which[kMaxRun];
  size_t n = 0;
  for (uint32_t i = 0; i < count; ++i) {
    const uint64_t offset = (first + i) * bs;
    (*info)[i].len = size_t(std::min<uint64_t>(bs, file.size - offset));
    const auto& v = run_[i];
    if (!v && (!r_.point_.scn || i < head)) return NoVersion(file, first + i);  // the base has its header blocks
    if (!v || v->value.zero) {
      (*info)[i].hole = true;
      std::memset(out.data() + i * bs, 0, (*info)[i].len);
      continue;
    }
    keys[n] = rocksdb::Slice(v->value.hash.view().data(), 16);
    which[n++] = i;
  }
  if (n == 0) return Status::OK();
  // Kept across calls: a random reader (a mount serving 8 KiB reads) would otherwise allocate per block.
  auto& values = values_;
  auto& statuses = statuses_;
  if (values.size() < n) {
    values.resize(n);
    statuses.resize(n);
  }
  for (auto& v : values) v.Reset();  // all of them: an earlier run that failed may have left more pinned
  data_ = std::move(data);  // after the values let go of the instance they were read from
  if (n == 1) {  // a single block: Get skips MultiGet's batching set-up
    statuses[0] = data_->db->Get(rocksdb::ReadOptions(), data_->content, keys[0], &values[0]);
  } else {
    data_->db->MultiGet(rocksdb::ReadOptions(), data_->content, n, keys, values.data(), statuses.data(), /*sorted_input=*/false);
  }
  for (size_t j = 0; j < n; ++j) {
    const uint32_t i = which[j];
    const uint64_t block = first + i;
    const Version& ver = *run_[i];
    if (!statuses[j].ok()) return ContentFailure(statuses[j], file, block, ver);
    auto slot = out.subspan(i * bs, bs);
    size_t got = 0;
    Status ds = decompressor_.Decode(std::string_view(values[j].data(), values[j].size()), slot, &got);
    if (!ds.ok()) return ds.WithContext(fmt::format("{} block {}", file.path, block));
    SCNFS_RETURN_IF_ERROR(CheckDecoded(*r_.store_, file, block, slot, got, (*info)[i].len, ver, r_.point_.scn.has_value()));
  }
  // The values pin their table blocks in the block cache: let go now, not at the next read, which for an idle
  // cursor may never come (pinned blocks stay outside --cache-mb's bound).
  for (size_t j = 0; j < n; ++j) values[j].Reset();
  return Status::OK();
}

Result<OpenedPoint> OpenPoint(Store* store, std::string_view db_name, std::string_view spec_text) {
  Catalog cat(store);
  SCNFS_ASSIGN_OR_RETURN(DatabaseRecord db, cat.GetDatabase(db_name));
  SCNFS_ASSIGN_OR_RETURN(PointSpec spec, ParsePointSpec(spec_text));
  SCNFS_ASSIGN_OR_RETURN(auto backups, cat.ListBackups(db.id));
  SCNFS_ASSIGN_OR_RETURN(ResolvedPoint point, ResolvePoint(db, backups, spec));
  Visibility vis = Catalog::VisibilityOf(backups);
  OpenedPoint out;
  SCNFS_ASSIGN_OR_RETURN(out.files, cat.ListFiles(point.base));
  out.reader = std::make_unique<PointReader>(store, std::move(db), std::move(vis), std::move(point));
  return out;
}

}  // namespace scnfs
