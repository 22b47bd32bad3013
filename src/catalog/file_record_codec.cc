#include "catalog/file_record_codec.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "catalog/record_coding.h"
#include "util/json_text.h"

namespace scnfs {
namespace {

// Extension tags (docs/store-format.md).
constexpr unsigned char kHeldCorruptTag = 1;
constexpr unsigned char kSubdirectoriesTag = 2;

// The block sizes a file may have: raw files' --block-size range, which holds Oracle's (512 to 32 KiB) and
// PostgreSQL's 8 KiB.
constexpr uint32_t kMinRecordBlockSize = 512, kMaxRecordBlockSize = 1u << 20;

constexpr size_t kFixedBytes = 4 + 4 + 8 + 4 + 4 + 4 + 8 + 8 + 8 + 8 + 8;

Status Bad(std::string_view why) { return Status::Corruption(fmt::format("catalog record for a file is unreadable: {}", why)); }

// An Oracle datafile's header facts (file_plan.cc, OracleHeaderJson) are read back with the types they were written
// with, by `list --files` and the next backup's plan: another type, or a file number without the checkpoint SCN
// beside it, made `list --files` read past the object (undefined behaviour: a made-up SCN, or a JSON type error
// naming no file) and the next backup fail with that error (found 2026-12-02 by an attack on error boundaries).
Status CheckHeader(const FileRecord& r) {
  const nlohmann::json& h = r.header;
  if (h.is_null()) return Status::OK();
  if (!h.is_object()) return Bad(fmt::format("{}: header is not an object", r.path));
  static constexpr const char* kNumbers[] = {"dbid", "file_number", "relative_file_number", "tablespace_number",
                                             "block_size", "blocks", "creation_scn", "resetlogs_id", "resetlogs_scn",
                                             "checkpoint_scn", "checkpoint_count", "status_flags"};
  static constexpr const char* kStrings[] = {"db_name", "tablespace", "compat_version", "creation_time", "checkpoint_time"};
  static constexpr const char* kFlags[] = {"header_damaged", "bigfile", "fuzzy"};
  for (const char* k : kNumbers)
    if (h.contains(k) && !h[k].is_number_unsigned()) return Bad(fmt::format("{}: header field {} is not a number", r.path, k));
  for (const char* k : kStrings)
    if (h.contains(k) && !h[k].is_string()) return Bad(fmt::format("{}: header field {} is not a string", r.path, k));
  for (const char* k : kFlags)
    if (h.contains(k) && !h[k].is_boolean()) return Bad(fmt::format("{}: header field {} is not true or false", r.path, k));
  if (h.contains("file_number") && !h.contains("checkpoint_scn"))
    return Bad(fmt::format("{}: header has a file number and no checkpoint SCN", r.path));
  return Status::OK();
}

// What no backup writes: a record that says so is damage, and used as it stands it did harm. A block size of 0
// killed a mount (SIGFPE) and made verify call a file clean; a size past 2^32 - 1 blocks kept verify planning for
// ever; a path with `..` or a leading `/` had restore write outside its destination (found 2026-12-01).
Status CheckFields(const FileRecord& r) {
  if (r.type != "file" && r.type != "dir" && r.type != "symlink") return Bad(fmt::format("unknown type '{}'", r.type));
  if (r.path.empty() || r.path.find('\0') != std::string::npos) return Bad("empty path, or a NUL byte in it");
  if (r.path != ".") {
    if (r.path.front() == '/') return Bad(fmt::format("absolute path '{}'", r.path));
    for (size_t at = 0; at <= r.path.size();) {
      const size_t end = std::min(r.path.find('/', at), r.path.size());
      const std::string_view part = std::string_view(r.path).substr(at, end - at);
      if (part.empty() || part == "." || part == "..") return Bad(fmt::format("path '{}' is not a plain relative path", r.path));
      at = end + 1;
    }
  }
  SCNFS_RETURN_IF_ERROR(CheckHeader(r));
  if (r.type == "file") {
    if (r.block_size < kMinRecordBlockSize || r.block_size > kMaxRecordBlockSize)
      return Bad(fmt::format("{}: block size {}", r.path, r.block_size));
    if (r.size > uint64_t(UINT32_MAX) * r.block_size) return Bad(fmt::format("{}: size {} is past 2^32 - 1 blocks", r.path, r.size));
  }
  return Status::OK();
}

}  // namespace

std::string EncodeFileRecord(const FileRecord& r) {
  std::string v;
  v.reserve(1 + kFixedBytes + 6 * 4 + r.path.size() + r.type.size() + 8 + r.target.size() + r.read.size() + 16);
  v.push_back(kFileRecordBinary);
  PutBE32(&v, r.file_id);
  PutBE32(&v, r.block_size);
  PutBE64(&v, r.size);
  PutBE32(&v, r.mode);
  PutBE32(&v, r.uid);
  PutBE32(&v, r.gid);
  PutBE64(&v, uint64_t(r.atime_ns));
  PutBE64(&v, uint64_t(r.mtime_ns));
  PutBE64(&v, uint64_t(r.ctime_ns));
  PutBE64(&v, r.max_change);
  PutBE64(&v, r.corrupt_blocks);
  PutRecordString(&v, r.path);
  PutRecordString(&v, r.type);
  PutRecordString(&v, FormatName(r.format));
  PutRecordString(&v, r.target);
  PutRecordString(&v, r.read);
  PutRecordString(&v, r.header.is_null() ? std::string() : JsonText(r.header));
  if (r.type == "file") {  // even when empty: its absence means "not known" (FileRecord::held_corrupt_known)
    v.push_back(char(kHeldCorruptTag));
    PutBE32(&v, uint32_t(4 * r.held_corrupt.size()));
    for (uint32_t b : r.held_corrupt) PutBE32(&v, b);
  }
  if (r.subdirectories) {
    v.push_back(char(kSubdirectoriesTag));
    PutBE32(&v, 4);
    PutBE32(&v, *r.subdirectories);
  }
  return v;
}

Result<bool> FileRecordIsDirectory(std::string_view value) {
  if (value.empty() || value[0] != kFileRecordBinary) {
    SCNFS_ASSIGN_OR_RETURN(FileRecord r, DecodeFileRecord(value));
    return r.type == "dir";
  }
  RecordReader in(value.substr(1));
  std::string_view path, type;
  if (!in.Skip(kFixedBytes) || !in.String(&path) || !in.String(&type)) return Bad("truncated");
  return type == "dir";
}

Result<FileRecord> DecodeFileRecord(std::string_view value) {
  FileRecord r;
  if (!value.empty() && value[0] == '{') {  // a JSON record, written before the binary layout
    try {
      r = nlohmann::json::parse(value).get<FileRecord>();
    } catch (const std::exception& e) {
      return Bad(e.what());
    }
    r.held_corrupt_known = false;
    SCNFS_RETURN_IF_ERROR(CheckFields(r));
    return r;
  }
  if (value.empty() || value[0] != kFileRecordBinary)
    return Bad(value.empty() ? "empty value" : fmt::format("unknown layout byte 0x{:02x} (written by a newer scnfs?)", static_cast<unsigned char>(value[0])));
  RecordReader in(value.substr(1));
  r.held_corrupt_known = false;  // until its extension says
  std::string_view path, type, format, target, read, header;
  if (!in.U32(&r.file_id) || !in.U32(&r.block_size) || !in.U64(&r.size) || !in.U32(&r.mode) || !in.U32(&r.uid) ||
      !in.U32(&r.gid) || !in.I64(&r.atime_ns) || !in.I64(&r.mtime_ns) || !in.I64(&r.ctime_ns) ||
      !in.U64(&r.max_change) || !in.U64(&r.corrupt_blocks) || !in.String(&path) || !in.String(&type) ||
      !in.String(&format) || !in.String(&target) || !in.String(&read) || !in.String(&header))
    return Bad("truncated");
  while (!in.done()) {  // extensions added by later versions: skipped
    unsigned char tag;
    std::string_view bytes;
    if (!in.Extension(&tag, &bytes)) return Bad("truncated extension field");
    RecordReader field(bytes);
    if (tag == kHeldCorruptTag) {
      r.held_corrupt_known = true;
      if (bytes.size() % 4 != 0) return Bad("held corrupt blocks: length not a multiple of 4");
      r.held_corrupt.resize(bytes.size() / 4);
      for (auto& b : r.held_corrupt) field.U32(&b);  // whole: the length is a multiple of 4
    } else if (tag == kSubdirectoriesTag) {
      uint32_t count;
      if (bytes.size() != 4 || !field.U32(&count)) return Bad("subdirectories: not one u32");
      r.subdirectories = count;
    }
  }
  auto id = ParseFormatName(format);
  // A format this scnfs does not know cannot be read as raw: its blocks would be looked up by the wrong number.
  if (!id) return Status::NotSupported(fmt::format("{} has format '{}', which this scnfs does not know", path, format));
  r.format = *id;
  r.path.assign(path);
  r.type.assign(type);
  r.target.assign(target);
  r.read.assign(read);
  if (!header.empty()) {
    try {
      r.header = nlohmann::json::parse(header);
    } catch (const std::exception& e) {
      return Bad(fmt::format("{}: header: {}", r.path, e.what()));
    }
  }
  SCNFS_RETURN_IF_ERROR(CheckFields(r));
  return r;
}

}  // namespace scnfs
