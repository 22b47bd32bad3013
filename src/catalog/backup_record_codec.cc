#include "catalog/backup_record_codec.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catalog/record_coding.h"

namespace scnfs {
namespace {

constexpr unsigned char kSymlinksTag = 1;      // extension: symlinks u64, absent when not counted
constexpr unsigned char kWalStartLsnTag = 2;   // extension: wal_start_lsn u64, absent when 0

constexpr unsigned char kChangedBlocksFlag = 1, kHotFlag = 2;

// The state byte. Its values are part of the format: never renumber.
constexpr unsigned char kRunningState = 0, kCompleteState = 1, kFailedState = 2;

Status Bad(std::string_view why) {
  return Status::Corruption(fmt::format("catalog record for a backup is unreadable: {}", why));
}

unsigned char StateByte(BackupState s) {
  switch (s) {
    case BackupState::kRunning: return kRunningState;
    case BackupState::kComplete: return kCompleteState;
    case BackupState::kFailed: return kFailedState;
  }
  return kRunningState;
}

}  // namespace

std::string EncodeBackupRecord(const BackupRecord& r) {
  std::string v;
  v.reserve(256 + r.kind.size() + r.error.size() + r.host.size() + r.new_incarnation.size());
  v.push_back(kBackupRecordBinary);
  PutBE32(&v, r.db);
  PutBE32(&v, r.id);
  v.push_back(char(StateByte(r.state)));
  v.push_back(char((r.changed_blocks ? kChangedBlocksFlag : 0) | (r.hot ? kHotFlag : 0)));
  PutBE64(&v, uint64_t(r.start_us));
  PutBE64(&v, uint64_t(r.end_us));
  PutBE32(&v, uint32_t(r.pid));
  for (uint64_t x : {r.checkpoint_change, r.max_change, r.change_ceiling, r.went_back_blocks, r.went_back_from,
                     r.went_back_to})
    PutBE64(&v, x);
  PutBE32(&v, r.timeline);
  for (uint64_t x : {r.system_identifier, r.min_recovery_lsn, r.files, r.directories, r.logical_bytes, r.bytes_read,
                     r.blocks_read, r.blocks_changed, r.zero_blocks, r.corrupt_blocks, r.new_contents,
                     r.new_bytes_raw, r.new_bytes_stored})
    PutBE64(&v, x);
  PutRecordString(&v, r.kind);
  PutRecordString(&v, r.error);
  PutRecordString(&v, r.host);
  PutRecordString(&v, r.new_incarnation);
  if (r.symlinks) {
    v.push_back(char(kSymlinksTag));
    PutBE32(&v, 8);
    PutBE64(&v, *r.symlinks);
  }
  if (r.wal_start_lsn != 0) {
    v.push_back(char(kWalStartLsnTag));
    PutBE32(&v, 8);
    PutBE64(&v, r.wal_start_lsn);
  }
  return v;
}

Result<BackupRecord> DecodeBackupRecord(std::string_view value) {
  BackupRecord r;
  if (!value.empty() && value[0] == '{') {  // a JSON record, written before the binary layout
    try {
      r = nlohmann::json::parse(value).get<BackupRecord>();
    } catch (const std::exception& e) {
      return Bad(e.what());
    }
    return r;
  }
  if (value.empty() || value[0] != kBackupRecordBinary)
    return Bad(value.empty() ? "empty value" : fmt::format("unknown layout byte 0x{:02x} (written by a newer scnfs?)", static_cast<unsigned char>(value[0])));
  RecordReader in(value.substr(1));
  unsigned char state = 0, flags = 0;
  uint32_t pid = 0;
  std::string_view kind, error, host, incarnation;
  if (!in.U32(&r.db) || !in.U32(&r.id) || !in.Byte(&state) || !in.Byte(&flags) || !in.I64(&r.start_us) ||
      !in.I64(&r.end_us) || !in.U32(&pid) || !in.U64(&r.checkpoint_change) || !in.U64(&r.max_change) ||
      !in.U64(&r.change_ceiling) || !in.U64(&r.went_back_blocks) || !in.U64(&r.went_back_from) ||
      !in.U64(&r.went_back_to) || !in.U32(&r.timeline) || !in.U64(&r.system_identifier) ||
      !in.U64(&r.min_recovery_lsn) || !in.U64(&r.files) || !in.U64(&r.directories) || !in.U64(&r.logical_bytes) ||
      !in.U64(&r.bytes_read) || !in.U64(&r.blocks_read) || !in.U64(&r.blocks_changed) || !in.U64(&r.zero_blocks) ||
      !in.U64(&r.corrupt_blocks) || !in.U64(&r.new_contents) || !in.U64(&r.new_bytes_raw) ||
      !in.U64(&r.new_bytes_stored) || !in.String(&kind) || !in.String(&error) || !in.String(&host) ||
      !in.String(&incarnation))
    return Bad("truncated");
  // A state or flag this build does not know is never read as another: "running" would have a mount hide the
  // backup and a later backup mark it failed.
  switch (state) {
    case kRunningState: r.state = BackupState::kRunning; break;
    case kCompleteState: r.state = BackupState::kComplete; break;
    case kFailedState: r.state = BackupState::kFailed; break;
    default: return Bad(fmt::format("backup {}: unknown state {} (written by a newer scnfs?)", r.id, state));
  }
  if ((flags & ~(kChangedBlocksFlag | kHotFlag)) != 0)
    return Bad(fmt::format("backup {}: unknown flags 0x{:02x} (written by a newer scnfs?)", r.id, flags));
  r.changed_blocks = (flags & kChangedBlocksFlag) != 0;
  r.hot = (flags & kHotFlag) != 0;
  r.pid = int(pid);
  while (!in.done()) {  // extensions added by later versions: skipped
    unsigned char tag;
    std::string_view bytes;
    if (!in.Extension(&tag, &bytes)) return Bad("truncated extension field");
    if (tag == kSymlinksTag) {
      uint64_t count;
      if (bytes.size() != 8 || !RecordReader(bytes).U64(&count)) return Bad("symlinks: not one u64");
      r.symlinks = count;
    } else if (tag == kWalStartLsnTag) {
      if (bytes.size() != 8 || !RecordReader(bytes).U64(&r.wal_start_lsn)) return Bad("wal_start_lsn: not one u64");
    }
  }
  r.kind.assign(kind);
  r.error.assign(error);
  r.host.assign(host);
  r.new_incarnation.assign(incarnation);
  return r;
}

}  // namespace scnfs
