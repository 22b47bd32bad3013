#include "store/versions.h"

#include <rocksdb/db.h>

#include <cstring>

#include "scnfs/store.h"
#include "store/rocks_status.h"
#include "util/coding.h"

namespace scnfs {

void EncodeVersionKey(const VersionKey& k, char out[kVersionKeySize]) {
  EncodeBE32(out, k.db);
  EncodeBE32(out + 4, k.file);
  EncodeBE32(out + 8, k.block);
  EncodeBE64(out + 12, k.change);
  EncodeBE32(out + 20, k.backup);
}

std::string EncodeVersionKey(const VersionKey& k) {
  std::string s(kVersionKeySize, '\0');
  EncodeVersionKey(k, s.data());
  return s;
}

VersionKey DecodeVersionKey(std::string_view key) {
  const char* p = key.data();
  return VersionKey{GetBE32(p), GetBE32(p + 4), GetBE32(p + 8), GetBE64(p + 12), GetBE32(p + 20)};
}

std::string EncodeVersionValue(const VersionValue& v) {
  std::string s;
  unsigned char flags = (v.zero ? VersionValue::kZero : 0) | (v.actual_change ? VersionValue::kRaised : 0) |
                        (v.fingerprint ? VersionValue::kFingerprint : 0);
  s.push_back(char(flags));
  s.push_back(char(v.kind));
  if (!v.zero) s.append(v.hash.view());
  if (v.actual_change) PutBE64(&s, *v.actual_change);
  if (v.fingerprint) PutBE32(&s, *v.fingerprint);
  return s;
}

Result<VersionValue> DecodeVersionValue(std::string_view s) {
  if (s.size() < 2) return Status::Corruption("short block version value");
  VersionValue v;
  auto flags = static_cast<unsigned char>(s[0]);
  v.zero = flags & VersionValue::kZero;
  v.kind = BlockKind(s[1]);
  size_t need = 2 + (v.zero ? 0 : 16) + ((flags & VersionValue::kRaised) ? 8 : 0) +
                ((flags & VersionValue::kFingerprint) ? 4 : 0);
  if (s.size() != need || (flags & ~0x07)) return Status::Corruption("malformed block version value");
  const char* p = s.data() + 2;
  if (!v.zero) {
    v.hash = ContentHash::FromBytes(p);
    p += 16;
  }
  if (flags & VersionValue::kRaised) {
    v.actual_change = GetBE64(p);
    p += 8;
  }
  if (flags & VersionValue::kFingerprint) v.fingerprint = GetBE32(p);
  return v;
}

VersionReader::VersionReader(const Store& store, uint32_t db, const Visibility& vis)
    : store_(store), db_(db), vis_(vis) {
  Refresh();
}
VersionReader::~VersionReader() = default;

void VersionReader::Refresh(std::shared_ptr<const Store::Data> d) {
  generation_ = store_.data_generation();  // before the iterator: a catch-up in between makes another, never none
  it_.reset(d->db->NewIterator(rocksdb::ReadOptions(), d->versions));  // the old iterator goes before its instance
  data_ = std::move(d);
}

bool VersionReader::LostTable() const { return it_ != nullptr && Store::IsLostTable(it_->status()); }

Result<std::optional<Version>> VersionReader::StepBackToVisible(uint32_t file, uint32_t block, uint32_t max_backup) {
  char prefix[kVersionPrefixSize];
  EncodeBE32(prefix, db_);
  EncodeBE32(prefix + 4, file);
  EncodeBE32(prefix + 8, block);
  for (; it_->Valid(); it_->Prev()) {
    rocksdb::Slice k = it_->key();
    if (k.size() != kVersionKeySize || std::memcmp(k.data(), prefix, kVersionPrefixSize) != 0) break;
    VersionKey key = DecodeVersionKey(std::string_view(k.data(), k.size()));
    if (key.backup > max_backup || !vis_.Visible(key.backup)) continue;
    SCNFS_ASSIGN_OR_RETURN(VersionValue value, DecodeVersionValue(std::string_view(it_->value().data(), it_->value().size())));
    return std::optional<Version>(Version{key, std::move(value)});
  }
  if (!it_->status().ok()) return FromRocksStatus(it_->status(), "reading block versions");
  return std::optional<Version>();
}

Result<std::optional<Version>> VersionReader::AsOfBackup(uint32_t file, uint32_t block, uint32_t backup,
                                                         uint64_t ceiling) {
  char target[kVersionKeySize];
  EncodeVersionKey(VersionKey{db_, file, block, ceiling, kAnyBackup}, target);
  it_->SeekForPrev(rocksdb::Slice(target, kVersionKeySize));
  return StepBackToVisible(file, block, backup);
}

Status VersionReader::LatestRun(uint32_t file, uint32_t first, uint32_t count, std::vector<std::optional<Version>>* out) {
  return RunAsOf(file, first, count, kAnyBackup, kAnyChange, out);
}

Status VersionReader::RunAsOf(uint32_t file, uint32_t first, uint32_t count, uint32_t max_backup, uint64_t max_change,
                              std::vector<std::optional<Version>>* out, uint32_t base) {
  out->assign(count, std::nullopt);
  char start[kVersionPrefixSize];
  EncodeBE32(start, db_);
  EncodeBE32(start + 4, file);
  EncodeBE32(start + 8, first);
  const uint64_t end = uint64_t(first) + count;
  uint64_t block = UINT64_MAX;  // the block the scan is in, and how many of its versions it has stepped through
  int seen = 0;
  it_->Seek(rocksdb::Slice(start, kVersionPrefixSize));
  while (it_->Valid()) {
    rocksdb::Slice k = it_->key();
    if (k.size() != kVersionKeySize || std::memcmp(k.data(), start, 8) != 0) break;
    VersionKey key = DecodeVersionKey(std::string_view(k.data(), k.size()));
    if (key.block >= end) break;
    ++keys_visited_;
    if (key.block != block) block = key.block, seen = 0;
    if (++seen > kScanPerBlock) {
      // A long chain: its answer from the block's end, then on to the next block.
      SCNFS_ASSIGN_OR_RETURN((*out)[key.block - first], LastAsOf(file, key.block, max_change, max_backup, base));
      if (key.block + 1 >= end) return Status::OK();
      EncodeBE32(start + 8, key.block + 1);
      it_->Seek(rocksdb::Slice(start, kVersionPrefixSize));
      continue;
    }
    if (key.backup <= max_backup && key.change <= max_change && vis_.Visible(key.backup)) {
      // Keys of a block ascend in backup order, so the last visible one wins; but among keys of one change number,
      // one written after `base` does not replace one written by `base` or before (AsOfChange's tie rule).
      auto& slot = (*out)[key.block - first];
      if (!(slot && slot->key.change == key.change && key.backup > base)) {
        SCNFS_ASSIGN_OR_RETURN(VersionValue value,
                               DecodeVersionValue(std::string_view(it_->value().data(), it_->value().size())));
        slot = Version{key, std::move(value)};
      }
    }
    it_->Next();
  }
  return FromRocksStatus(it_->status(), "reading block versions");
}

Result<std::optional<Version>> VersionReader::AsOfChange(uint32_t file, uint32_t block, uint64_t scn, uint32_t base) {
  return LastAsOf(file, block, scn, kAnyBackup, base);
}

Result<std::optional<Version>> VersionReader::LastAsOf(uint32_t file, uint32_t block, uint64_t max_change,
                                                       uint32_t max_backup, uint32_t base) {
  char target[kVersionKeySize];
  EncodeVersionKey(VersionKey{db_, file, block, max_change, kAnyBackup}, target);
  it_->SeekForPrev(rocksdb::Slice(target, kVersionKeySize));
  SCNFS_ASSIGN_OR_RETURN(std::optional<Version> found, StepBackToVisible(file, block, max_backup));
  if (!found || found->key.backup <= base) return found;
  // Written after the base: an older version with the same key change number, if any, was the content at the
  // point. Keys of one change number ascend in backup order, so step back over them.
  const uint64_t change = found->key.change;
  for (it_->Prev(); it_->Valid(); it_->Prev()) {
    SCNFS_ASSIGN_OR_RETURN(std::optional<Version> older, StepBackToVisible(file, block, max_backup));
    if (!older || older->key.change != change) break;
    found = std::move(older);
    if (found->key.backup <= base) break;
  }
  if (!it_->status().ok()) return FromRocksStatus(it_->status(), "reading block versions");
  return found;
}

}  // namespace scnfs
