// PostgreSQL relation pages and pg_control (docs/format-postgres.md).
//
// Everything here reads little-endian bytes explicitly: PostgreSQL writes its files in host byte order and scnfs
// supports x86-64 clusters, so decoding as little-endian keeps the results right even on a big-endian host.

#include "scnfs/postgres_format.h"

#include <array>
#include <bit>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <string>

namespace scnfs::postgres {
namespace {

uint16_t LoadU16(const std::byte* p) {
  return static_cast<uint16_t>(std::to_integer<uint16_t>(p[0]) | (std::to_integer<uint16_t>(p[1]) << 8));
}
uint32_t LoadU32(const std::byte* p) {
  return std::to_integer<uint32_t>(p[0]) | (std::to_integer<uint32_t>(p[1]) << 8) |
         (std::to_integer<uint32_t>(p[2]) << 16) | (std::to_integer<uint32_t>(p[3]) << 24);
}
uint64_t LoadU64(const std::byte* p) { return LoadU32(p) | (uint64_t{LoadU32(p + 4)} << 32); }

// ---- pg_control ------------------------------------------------------------------------------------------------

// ControlFileData offsets (x86-64). The layouts of pg_control_version 1201 (PG 12), 1300 (PG 13-16) and 1700
// (PG 17) place every field we read at the same offset: PG 13 only merged float4ByVal into padding, PG 17 only put
// CheckPoint.wal_level into the padding after fullPageWrites. Verified against pg_controldata of a PG 15 cluster.
// A layout we misjudge fails the CRC check below rather than returning wrong values.
constexpr size_t kSystemIdentifierOff = 0;
constexpr size_t kControlVersionOff = 8;
constexpr size_t kStateOff = 16;
constexpr size_t kCheckPointOff = 32;      // XLogRecPtr checkPoint
constexpr size_t kRedoOff = 40;            // checkPointCopy.redo (CheckPoint starts at 40, redo is its first field)
constexpr size_t kTimeLineOff = 48;        // checkPointCopy.ThisTimeLineID, after redo
constexpr size_t kMinRecoveryPointOff = 136;  // after CheckPoint (88 bytes from 40) and unloggedLSN (128)
constexpr size_t kBlckszOff = 216;
constexpr size_t kRelsegSizeOff = 220;
constexpr size_t kXlogBlckszOff = 224;
constexpr size_t kXlogSegSizeOff = 228;
constexpr size_t kDataChecksumVersionOff = 252;
constexpr size_t kCrcOff = 288;            // pg_crc32c crc: covers bytes [0, 288)
constexpr size_t kControlFileDataSize = 296;  // sizeof(ControlFileData), padded to MAXALIGN

bool KnownControlVersion(uint32_t v) { return v == 1201 || v == 1300 || v == 1700; }

// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as PostgreSQL's INIT/COMP/FIN_CRC32C compute it. A byte
// table is enough for 288 bytes read once per backup, and spares a dependency: no C crc32c library (nor pkg-config
// module) is installed or offered by apt here.
constexpr std::array<uint32_t, 256> MakeCrc32cTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<uint32_t, 256> kCrc32cTable = MakeCrc32cTable();

uint32_t Crc32c(const std::byte* p, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) crc = kCrc32cTable[(crc ^ std::to_integer<uint32_t>(p[i])) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

// ---- pages -----------------------------------------------------------------------------------------------------

// PageHeaderData offsets (bufpage.h).
constexpr size_t kLsnOff = 0;        // PageXLogRecPtr {uint32 xlogid; uint32 xrecoff}
constexpr size_t kChecksumOff = 8;   // uint16 pd_checksum
constexpr size_t kFlagsOff = 10;
constexpr size_t kLowerOff = 12;
constexpr size_t kUpperOff = 14;
constexpr size_t kSpecialOff = 16;
constexpr size_t kPageSizeVersionOff = 18;
constexpr uint16_t kSizeOfPageHeaderData = 24;
constexpr uint16_t kValidFlagBits = 0x0007;  // PD_HAS_FREE_LINES | PD_PAGE_FULL | PD_ALL_VISIBLE
constexpr uint16_t kPageLayoutVersion = 4;   // PG_PAGE_LAYOUT_VERSION since 8.3
constexpr uint16_t kMaxAlign = 8;

// checksum_impl.h: the page is a 64 x 32 matrix of uint32; each column is an FNV-1a-like hash with its own seed.
constexpr int kNSums = 32;
constexpr uint32_t kFnvPrime = 16777619u;
constexpr std::array<uint32_t, kNSums> kChecksumBaseOffsets = {
    0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
    0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
    0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
    0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756};

inline uint32_t ChecksumComp(uint32_t checksum, uint32_t value) {
  uint32_t tmp = checksum ^ value;
  return tmp * kFnvPrime ^ (tmp >> 17);
}

uint64_t PageLsn(const std::byte* p) {
  return (uint64_t{LoadU32(p + kLsnOff)} << 32) | LoadU32(p + kLsnOff + 4);
}

// pd_upper == 0 means "new page" to PostgreSQL, which must then be all zeros; anything else there is garbage.
// The remaining tests are PageIsVerifiedExtended's header sanity plus the two PageInit always establishes.
bool HeaderSane(const std::byte* p) {
  const uint16_t flags = LoadU16(p + kFlagsOff);
  const uint16_t lower = LoadU16(p + kLowerOff);
  const uint16_t upper = LoadU16(p + kUpperOff);
  const uint16_t special = LoadU16(p + kSpecialOff);
  const uint16_t size_version = LoadU16(p + kPageSizeVersionOff);
  return upper != 0 && (flags & ~kValidFlagBits) == 0 && lower >= kSizeOfPageHeaderData && lower <= upper &&
         upper <= special && special <= kBlockSize && special % kMaxAlign == 0 &&
         size_version == (kBlockSize | kPageLayoutVersion);
}

class RelationFormat final : public FileFormat {
 public:
  RelationFormat(uint32_t segment, bool checksums, RelationPages pages)
      : segment_(segment), checksums_(checksums), pages_(pages) {}
  FormatId id() const override { return FormatId::kPostgres; }
  uint32_t block_size() const override { return kBlockSize; }
  bool versioned_by_change() const override { return true; }

  BlockCheck Check(uint64_t blockno, ByteSpan page) const override {
    BlockCheck c;
    // PostgreSQL extends relations with all-zero pages and accepts them (PageIsVerifiedExtended); they carry no LSN.
    if (IsAllZero(page)) {
      c.kind = BlockKind::kEmpty;
      return c;
    }
    const std::byte* p = page.data();
    // Reported even for corrupt pages: it is what the header says, and the caller decides what a bad page's key is.
    // An unlogged relation's LSN says nothing about its content: no change number, as for LSN 0.
    c.change = pages_ == RelationPages::kUnlogged ? 0 : PageLsn(p);
    const uint16_t flags = LoadU16(p + kFlagsOff);
    if (!HeaderSane(p)) {
      c.kind = BlockKind::kBadHeader;
      c.corrupt = true;
      return c;
    }
    if (checksums_) {
      const uint16_t stored = LoadU16(p + kChecksumOff);
      // BlockNumber is 32-bit in PostgreSQL: the relation block number wraps exactly as it does there.
      const auto relblk = static_cast<uint32_t>(uint64_t{segment_} * kSegmentBlocks + blockno);
      if (PageChecksum(page, relblk) != stored) {
        c.kind = BlockKind::kBadChecksum;
        c.corrupt = true;
        return c;
      }
      // A verified checksum covers every byte, hint bits included, so (LSN, checksum, flags) identifies the content
      // up to a 16-bit collision among pages that share an LSN. Without checksums hint bits change pages silently.
      if (pages_ == RelationPages::kLogged) c.fingerprint = uint32_t{stored} | (uint32_t{flags} << 16);
    }
    return c;
  }

  // Any size: a crash or a full disk while a relation was being extended can leave a partial last page, which
  // PostgreSQL ignores (mdnblocks counts whole pages) and pg_basebackup copies with a warning. It is kept as read,
  // a short block that is not checked as a page (docs/format-postgres.md).
  Status CheckSize(uint64_t) const override { return Status::OK(); }

 private:
  uint32_t segment_;
  bool checksums_;
  RelationPages pages_;
};

// Parses a decimal number of at most 10 digits that fits a uint32 and has no leading zero (PostgreSQL never
// writes one, so "016384" is not one of its files).
bool ParseOid(std::string_view s, uint32_t* out) {
  if (s.empty() || s.size() > 10 || (s.size() > 1 && s[0] == '0')) return false;
  for (char ch : s) {
    if (ch < '0' || ch > '9') return false;
  }
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// Splits the first '/'-separated component off `path`.
std::string_view NextComponent(std::string_view* path) {
  size_t slash = path->find('/');
  std::string_view head = path->substr(0, slash);
  *path = slash == std::string_view::npos ? std::string_view() : path->substr(slash + 1);
  return head;
}

// "<relfilenode>[_fsm|_vm|_init][.N]" -> N (0 when absent).
std::optional<uint32_t> ParseRelationFileName(std::string_view name) {
  uint32_t segment = 0;
  if (size_t dot = name.find('.'); dot != std::string_view::npos) {
    // The first segment has no suffix, so ".0" does not occur; segments beyond 2^32 cannot be addressed anyway.
    if (!ParseOid(name.substr(dot + 1), &segment) || segment == 0) return std::nullopt;
    name = name.substr(0, dot);
  }
  for (std::string_view fork : {"_fsm", "_vm", "_init"}) {
    if (name.size() > fork.size() && name.ends_with(fork)) {
      name.remove_suffix(fork.size());
      break;
    }
  }
  uint32_t relfilenode = 0;
  if (!ParseOid(name, &relfilenode)) return std::nullopt;
  return segment;
}

}  // namespace

uint32_t ControlFileCrc(ByteSpan bytes) { return Crc32c(bytes.data(), kCrcOff); }

Result<ControlFile> ParseControlFile(ByteSpan bytes) {
  if (bytes.size() < kControlFileDataSize) {
    return Status::InvalidArgument("pg_control is " + std::to_string(bytes.size()) +
                                   " bytes, too short for a PostgreSQL control file (" +
                                   std::to_string(kControlFileDataSize) + ")");
  }
  const std::byte* p = bytes.data();
  ControlFile cf;
  cf.pg_control_version = LoadU32(p + kControlVersionOff);
  if (!KnownControlVersion(cf.pg_control_version)) {
    return Status::InvalidArgument("pg_control version " + std::to_string(cf.pg_control_version) +
                                   " is not PostgreSQL 12-17 (1201, 1300 or 1700) on a little-endian 64-bit host");
  }
  const uint32_t stored_crc = LoadU32(p + kCrcOff);
  const uint32_t crc = Crc32c(p, kCrcOff);
  if (crc != stored_crc) {
    return Status::InvalidArgument("pg_control CRC mismatch (stored " + std::to_string(stored_crc) + ", computed " +
                                   std::to_string(crc) + "): the file is damaged or was copied while being written");
  }
  cf.block_size = LoadU32(p + kBlckszOff);
  if (cf.block_size != kBlockSize) {
    return Status::InvalidArgument("cluster block size " + std::to_string(cf.block_size) + " is not supported (only " +
                                   std::to_string(kBlockSize) + ")");
  }
  // The checksum mixes in the relation block number, computed from the segment number with RELSEG_SIZE; a cluster
  // built with another --with-segsize would make every page beyond the first segment look corrupt.
  const uint32_t relseg_size = LoadU32(p + kRelsegSizeOff);
  if (relseg_size != kSegmentBlocks) {
    return Status::InvalidArgument("cluster segment size " + std::to_string(relseg_size) +
                                   " blocks is not supported (only " + std::to_string(kSegmentBlocks) + ")");
  }
  cf.wal_block_size = LoadU32(p + kXlogBlckszOff);
  cf.wal_segment_size = LoadU32(p + kXlogSegSizeOff);
  cf.system_identifier = LoadU64(p + kSystemIdentifierOff);
  cf.state = LoadU32(p + kStateOff);
  cf.checkpoint_lsn = LoadU64(p + kCheckPointOff);
  cf.redo_lsn = LoadU64(p + kRedoOff);
  cf.timeline = LoadU32(p + kTimeLineOff);
  cf.min_recovery_point = LoadU64(p + kMinRecoveryPointOff);
  cf.data_checksum_version = LoadU32(p + kDataChecksumVersionOff);
  return cf;
}

uint16_t PageChecksum(ByteSpan page, uint32_t blkno) {
  // 0 is never a computed checksum ((x % 65535) + 1 >= 1), so it is a safe answer to a wrong-sized buffer.
  if (page.size() != kBlockSize) return 0;
  constexpr size_t kWords = kBlockSize / sizeof(uint32_t);
  constexpr size_t kRows = kWords / kNSums;
  // A copy gives aligned words and lets pd_checksum be cleared without touching the caller's page.
  std::array<uint32_t, kWords> words;
  if constexpr (std::endian::native == std::endian::little) {
    std::memcpy(words.data(), page.data(), kBlockSize);
  } else {
    for (size_t w = 0; w < kWords; ++w) words[w] = LoadU32(page.data() + w * sizeof(uint32_t));
  }
  // pd_checksum (bytes 8-9, the low half of word 2) counts as zero, as pg_checksum_page clears it first.
  words[kChecksumOff / sizeof(uint32_t)] &= 0xFFFF0000u;
  std::array<uint32_t, kNSums> sums = kChecksumBaseOffsets;
  for (size_t i = 0; i < kRows; ++i) {
    for (size_t j = 0; j < kNSums; ++j) sums[j] = ChecksumComp(sums[j], words[i * kNSums + j]);
  }
  // Two rounds of zeros mix the last row's bits.
  for (int round = 0; round < 2; ++round) {
    for (auto& s : sums) s = ChecksumComp(s, 0);
  }
  uint32_t checksum = 0;
  for (uint32_t s : sums) checksum ^= s;
  checksum ^= blkno;  // detects a page written at the wrong place
  return static_cast<uint16_t>(checksum % 65535 + 1);
}

std::optional<uint32_t> RelationSegment(std::string_view relpath) {
  std::string_view rest = relpath;
  std::string_view top = NextComponent(&rest);
  uint32_t oid = 0;
  if (top == "base") {
    if (!ParseOid(NextComponent(&rest), &oid)) return std::nullopt;  // database OID
  } else if (top == "pg_tblspc") {
    if (!ParseOid(NextComponent(&rest), &oid)) return std::nullopt;  // tablespace OID
    // The per-version directory, e.g. "PG_15_202209061": a tablespace may hold one for each major version.
    if (!NextComponent(&rest).starts_with("PG_")) return std::nullopt;
    if (!ParseOid(NextComponent(&rest), &oid)) return std::nullopt;  // database OID
  } else if (top != "global") {
    return std::nullopt;
  }
  // What is left must be exactly one file name (no deeper directories).
  if (rest.empty() || rest.find('/') != std::string_view::npos) return std::nullopt;
  return ParseRelationFileName(rest);
}

bool IsFollowedLink(std::string_view relpath) {
  if (relpath == "pg_wal") return true;
  std::string_view rest = relpath;
  if (NextComponent(&rest) != "pg_tblspc") return false;
  uint32_t oid = 0;
  return ParseOid(NextComponent(&rest), &oid) && rest.empty();
}

std::optional<WalSegment> ParseWalSegmentName(std::string_view name, uint32_t segment_size) {
  if (name.size() != 24 || segment_size < (1u << 20) || (segment_size & (segment_size - 1)) != 0) return std::nullopt;
  uint32_t part[3];
  for (int i = 0; i < 3; ++i) {
    const std::string_view hex = name.substr(size_t(8 * i), 8);
    if (hex.find_first_not_of("0123456789ABCDEF") != std::string_view::npos) return std::nullopt;
    std::from_chars(hex.data(), hex.data() + 8, part[i], 16);
  }
  // XLogFromFileName: segno = log * (4 GiB / segment size) + seg, with seg < 4 GiB / segment size.
  const uint64_t per_log = (uint64_t{1} << 32) / segment_size;
  if (part[2] >= per_log) return std::nullopt;
  return WalSegment{part[0], (uint64_t{part[1]} * per_log + part[2]) * segment_size};
}

std::string WalSegmentName(uint32_t timeline, uint64_t lsn, uint32_t segment_size) {
  const uint64_t per_log = (uint64_t{1} << 32) / segment_size, segno = lsn / segment_size;
  char name[25];
  std::snprintf(name, sizeof name, "%08X%08X%08X", timeline, uint32_t(segno / per_log), uint32_t(segno % per_log));
  return name;
}

std::optional<uint64_t> ParseLsn(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const std::string_view a = text.substr(0, slash), b = text.substr(slash + 1);
  uint32_t hi = 0, lo = 0;
  auto [pa, ea] = std::from_chars(a.data(), a.data() + a.size(), hi, 16);
  auto [pb, eb] = std::from_chars(b.data(), b.data() + b.size(), lo, 16);
  if (a.empty() || b.empty() || ea != std::errc() || eb != std::errc() || pa != a.data() + a.size() ||
      pb != b.data() + b.size())
    return std::nullopt;
  return uint64_t{hi} << 32 | lo;
}

std::optional<BackupLabel> ParseBackupLabel(std::string_view text) {
  BackupLabel l;
  bool start = false, checkpoint = false, timeline = false;
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    const auto value = [&](std::string_view key) -> std::optional<std::string_view> {
      if (!line.starts_with(key)) return std::nullopt;
      std::string_view v = line.substr(key.size());
      return v.substr(0, v.find(' '));  // "0/2000028 (file 000000010000000000000002)"
    };
    if (auto v = value("START WAL LOCATION: ")) {
      if (auto lsn = ParseLsn(*v)) l.start_lsn = *lsn, start = true;
    } else if (auto v = value("CHECKPOINT LOCATION: ")) {
      if (auto lsn = ParseLsn(*v)) l.checkpoint_lsn = *lsn, checkpoint = true;
    } else if (auto v = value("START TIMELINE: ")) {
      auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), l.timeline);
      timeline = ec == std::errc() && p == v->data() + v->size() && l.timeline != 0;
    }
  }
  if (!start || !checkpoint || !timeline) return std::nullopt;
  return l;
}

bool IsWalPageAt(ByteSpan page, uint64_t addr) {
  return page.size() >= 24 && LoadU64(page.data() + 8) == addr;  // XLogPageHeaderData.xlp_pageaddr
}

uint64_t WalEndInPage(ByteSpan page, uint64_t addr) {
  constexpr uint16_t kFirstIsContRecord = 0x0001, kLongHeader = 0x0002;  // xlp_info
  constexpr size_t kShortHeader = 24, kLongHeaderSize = 40, kRecordHeader = 24;  // MAXALIGNed sizes
  const auto maxalign = [](size_t n) { return (n + 7) & ~size_t{7}; };
  const size_t size = page.size();
  if (size < kLongHeaderSize) return addr + size;
  const uint16_t info = LoadU16(page.data() + 2);
  size_t pos = (info & kLongHeader) ? kLongHeaderSize : kShortHeader;
  uint64_t end = addr + pos;
  if (info & kFirstIsContRecord) {
    const uint64_t rest = LoadU32(page.data() + 16);  // xlp_rem_len: bytes of that record still to come
    if (pos + rest >= size) return addr + size;
    pos = maxalign(pos + size_t(rest));
    end = addr + pos;
  }
  while (pos + 4 <= size) {
    const uint32_t total = LoadU32(page.data() + pos);  // XLogRecord.xl_tot_len
    if (total < kRecordHeader) break;                   // zero: nothing written from here
    // A record that goes on past the page: its rest is not written yet (this is the last page written), so what
    // was written ends with the page. (Its length would also leave out the next pages' headers.)
    if (pos + total >= size) return addr + size;
    pos = maxalign(pos + total);
    end = addr + pos;  // as XLogInsert's EndRecPtr (and so pd_lsn and pg_current_wal_lsn()): MAXALIGNed
  }
  return end;
}

std::string_view RelationOf(std::string_view relpath) {
  const size_t slash = relpath.rfind('/');
  const size_t end = relpath.find_first_of("_.", slash == std::string_view::npos ? 0 : slash + 1);
  return relpath.substr(0, end);
}

RelationPages RelationPagesOf(std::string_view relpath, bool unlogged) {
  const std::string_view fork = relpath.substr(RelationOf(relpath).size());
  if (fork.starts_with("_init")) return RelationPages::kLogged;  // written and WAL-logged once, at CREATE
  if (unlogged) return RelationPages::kUnlogged;
  if (fork.starts_with("_vm") || fork.starts_with("_fsm")) return RelationPages::kMap;
  return RelationPages::kLogged;
}

std::unique_ptr<FileFormat> MakeRelationFormat(uint32_t segment, bool checksums, RelationPages pages) {
  return std::make_unique<RelationFormat>(segment, checksums, pages);
}

bool LooksLikeRelationPages(ByteSpan head) {
  int pages = 0, sane = 0;
  for (size_t off = 0; off + kBlockSize <= head.size() && pages < 16; off += kBlockSize) {
    const ByteSpan page = head.subspan(off, kBlockSize);
    if (IsAllZero(page)) continue;
    ++pages;
    if (HeaderSane(page.data())) ++sane;
  }
  return pages > 0 && 2 * sane >= pages;
}

}  // namespace scnfs::postgres
