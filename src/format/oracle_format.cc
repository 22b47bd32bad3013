// Oracle datafile format: header parsing and DBVERIFY-style block checks.
//
// Facts and offsets come from shared/reference/oracle-datafile-format.md (cited as "ref §N"). Every multi-byte field
// is little endian: scnfs supports Linux x86-64 datafiles only, and refuses big-endian files by their block-0 magic.
// Fields are decoded byte by byte so the code does not depend on the host byte order (compilers turn this into one
// load on x86-64).
#include "scnfs/oracle_format.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <vector>

#include <fmt/format.h>

namespace scnfs::oracle {
namespace {

// --- Little-endian field access ---------------------------------------------------------------------------------

uint16_t Load16(const std::byte* p) {
  return static_cast<uint16_t>(std::to_integer<uint16_t>(p[0]) | std::to_integer<uint16_t>(p[1]) << 8);
}

uint32_t Load32(const std::byte* p) {
  return std::to_integer<uint32_t>(p[0]) | std::to_integer<uint32_t>(p[1]) << 8 |
         std::to_integer<uint32_t>(p[2]) << 16 | std::to_integer<uint32_t>(p[3]) << 24;
}

void Store16(std::byte* p, uint16_t v) {
  p[0] = static_cast<std::byte>(v);
  p[1] = static_cast<std::byte>(v >> 8);
}

void Store32(std::byte* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<std::byte>(v >> (8 * i));
}

uint8_t Load8(ByteSpan b, size_t off) { return std::to_integer<uint8_t>(b[off]); }

// Byte-swapped magic: what a big-endian platform writes at block 0 offset 28.
constexpr uint32_t kMagicSwapped = 0x7D7C7B7A;
constexpr uint32_t kBlock0MarkerSwapped = 0x0000C0FF;

// --- Block header (kcbh, ref §1) ----------------------------------------------------------------------------------

constexpr size_t kOffType = 0;
constexpr size_t kOffFrmt = 1;
constexpr size_t kOffScnSpare = 2;
constexpr size_t kOffRdba = 4;
constexpr size_t kOffScnBase = 8;
constexpr size_t kOffScnWrap = 12;
constexpr size_t kOffSeq = 14;
constexpr size_t kOffFlg = 15;
constexpr size_t kOffChkval = 16;

constexpr uint8_t kFlgNew = 0x01;       // formatted, never used
constexpr uint8_t kFlgChecksum = 0x04;  // chkval is set
constexpr uint8_t kSeqMarkedCorrupt = 0xFF;
constexpr uint8_t kTypeNew = 0x00;

// Block 0 (OS header, ref §5).
constexpr size_t kB0OffMarker = 4;
constexpr size_t kB0OffBlockSize = 20;
constexpr size_t kB0OffMagic = 28;

// Block 1 (kcvfh, ref §6).
constexpr size_t kFhOffCompat = 24;
constexpr size_t kFhOffDbid = 28;
constexpr size_t kFhOffDbName = 32;
constexpr size_t kFhDbNameLen = 8;
constexpr size_t kFhOffBlocks = 44;
constexpr size_t kFhOffBlockSize = 48;
constexpr size_t kFhOffFileNumber = 52;
constexpr size_t kFhOffFileType = 54;
constexpr size_t kFhOffCreationScn = 100;
constexpr size_t kFhOffCreationTime = 108;
constexpr size_t kFhOffResetlogsId = 112;
constexpr size_t kFhOffResetlogsScn = 116;
constexpr size_t kFhOffStatus = 138;
constexpr size_t kFhOffCheckpointCount = 140;
constexpr size_t kFhOffTablespaceNumber = 332;
constexpr size_t kFhOffTablespaceNameLen = 336;
constexpr size_t kFhOffTablespaceName = 338;
constexpr size_t kFhTablespaceNameMax = 30;
constexpr size_t kFhOffRelativeFileNumber = 368;
constexpr size_t kFhOffCheckpointScn = 484;
constexpr size_t kFhOffCheckpointTime = 492;

constexpr uint16_t kFileTypeRedo = 2;
constexpr uint16_t kFileTypeDatafile = 3;
constexpr uint32_t kSmallfileBlockBits = 22;  // rdba = rfn << 22 | block
constexpr uint32_t kSmallfileBlockMask = (1u << kSmallfileBlockBits) - 1;

// Oracle's supported block sizes and the frmt high nibble each one carries from 10g on (ref §1).
uint8_t BlockSizeCode(uint32_t block_size) {
  switch (block_size) {
    case 2048: return 0x6;
    case 4096: return 0x8;
    case 8192: return 0xA;
    case 16384: return 0xC;
    case 32768: return 0xE;
  }
  return 0;
}

bool IsValidBlockSize(uint32_t block_size) { return BlockSizeCode(block_size) != 0; }

// Text field: ASCII, NUL padded; stops at the first NUL.
std::string LoadText(const std::byte* p, size_t max_len) {
  std::string s;
  for (size_t i = 0; i < max_len && p[i] != std::byte{0}; ++i) s.push_back(static_cast<char>(p[i]));
  return s;
}

uint32_t ExpectedTail(ByteSpan block) {
  const uint32_t scn_base = Load32(&block[kOffScnBase]);
  return (scn_base & 0xFFFF) << 16 | uint32_t{Load8(block, kOffType)} << 8 | Load8(block, kOffSeq);
}

uint32_t StoredTail(ByteSpan block) { return Load32(&block[block.size() - 4]); }

// --- Header parsing ----------------------------------------------------------------------------------------------

Status CheckMagic(ByteSpan head) {
  if (head.size() < 32) {
    return Status::InvalidArgument(
        fmt::format("not an Oracle datafile: only {} bytes, block 0 needs at least 32", head.size()));
  }
  const uint32_t magic = Load32(&head[kB0OffMagic]);
  if (magic == kMagicSwapped) return Status::InvalidArgument("big-endian Oracle datafiles are not supported");
  if (magic != kMagic) {
    return Status::InvalidArgument(
        fmt::format("not an Oracle datafile: block 0 magic is 0x{:08X} (expected 0x{:08X})", magic, kMagic));
  }
  const uint32_t marker = Load32(&head[kB0OffMarker]);
  if (marker != kBlock0Marker) {
    return Status::InvalidArgument(fmt::format(
        "not an Oracle datafile: block 0 marker at offset 4 is 0x{:08X} (expected 0x{:08X})", marker, kBlock0Marker));
  }
  return Status::OK();
}

// An online or archived redo log (ref §7): block 0 as a datafile's, then blocks of type 0x01 with the redo frmt
// 0x22 (512-byte blocks) or 0x82 (4 KiB), and the redo header in block 1 with file type 2 at @50 (a datafile
// keeps its file type at @54). A 4 KiB one passed the datafile checks' block size and was salvaged as a datafile
// whose every block was "fractured"; a 512-byte one was refused for its block size.
constexpr size_t kRedoOffFileType = 50;
constexpr size_t kRedoOffSequence = 8;
Status RefuseRedoLog(ByteSpan head) {
  if (head.size() < 32) return Status::OK();
  const uint32_t bs = Load32(&head[kB0OffBlockSize]);
  if ((bs != 512 && bs != 4096) || head.size() < 2 * size_t(bs)) return Status::OK();
  const ByteSpan b1 = head.subspan(bs, bs);
  const uint8_t frmt = Load8(b1, kOffFrmt);
  if (Load8(b1, kOffType) != 0x01 || (frmt != 0x22 && frmt != 0x82) || Load16(&b1[kRedoOffFileType]) != kFileTypeRedo)
    return Status::OK();
  return Status::InvalidArgument(fmt::format(
      "this is an Oracle redo log (log sequence {}, {}-byte blocks), not a datafile: give the datafiles as sources",
      Load32(&b1[kRedoOffSequence]), bs));
}

// A block whose own checks pass (frmt, tail, and the checksum when flagged), whatever its type: what tells a
// damaged header block from a sound one of another kind, and finds block 1 beside a damaged block 0.
bool SoundBlock(ByteSpan b) {
  return (Load8(b, kOffFrmt) & 0x0F) == 0x02 && StoredTail(b) == ExpectedTail(b) &&
         ((Load8(b, kOffFlg) & kFlgChecksum) == 0 || ChecksumResidual(b) == 0);
}

// SoundBlock, and its frmt's block-size code (none before 10g) agrees with `bs`, as the block checks require: a
// block of another tablespace's size copied here passes SoundBlock.
bool SoundBlockOfSize(ByteSpan b, uint32_t bs) {
  const uint8_t size_code = Load8(b, kOffFrmt) >> 4;
  return (size_code == 0 || size_code == BlockSizeCode(bs)) && SoundBlock(b);
}

// A block 1 whose fields can be believed: SoundBlockOfSize, not marked corrupt by Oracle (seq 0xFF), and at the
// address its own relative file number gives block 1 (ref §6). A block 1 that verify reports as marked corrupt or
// misplaced had its DBID, resetlogs id and checkpoint SCN recorded: a RESETLOGS that made earlier scn: points
// ambiguous, a lowered checkpoint SCN (found 2026-12-02).
bool SoundHeaderBlock(ByteSpan b1, uint32_t bs) {
  if (!SoundBlockOfSize(b1, bs) || Load8(b1, kOffSeq) == kSeqMarkedCorrupt) return false;
  const uint32_t rfn = Load32(&b1[kFhOffRelativeFileNumber]);
  const uint32_t want = rfn == kBigfileRelativeFileNo ? 1u : (rfn << kSmallfileBlockBits | 1u);
  return Load32(&b1[kOffRdba]) == want;
}

Status CheckFileHeaderBlock(ByteSpan b1, uint32_t block_size) {
  const uint8_t type = Load8(b1, kOffType);
  if (type != kTypeDatafileHeader) {
    return Status::InvalidArgument(fmt::format(
        "not an Oracle datafile: block 1 type is 0x{:02X} (expected 0x{:02X}, datafile header)", type,
        kTypeDatafileHeader));
  }
  const uint16_t file_type = Load16(&b1[kFhOffFileType]);
  if (file_type == kFileTypeRedo) {
    return Status::InvalidArgument("this is an Oracle redo log, not a datafile (file header type 2)");
  }
  if (file_type != kFileTypeDatafile) {
    return Status::InvalidArgument(
        fmt::format("not an Oracle datafile: file header type is {} (expected 3, datafile)", file_type));
  }
  const uint32_t header_block_size = Load32(&b1[kFhOffBlockSize]);
  if (header_block_size != block_size) {
    return Status::InvalidArgument(fmt::format(
        "inconsistent Oracle datafile: block 0 says block size {} but the file header says {}", block_size,
        header_block_size));
  }
  const uint32_t rfn = Load32(&b1[kFhOffRelativeFileNumber]);
  if (rfn == 0 || rfn > kBigfileRelativeFileNo) {
    return Status::InvalidArgument(
        fmt::format("corrupt Oracle datafile header: relative file number {} (expected 1..1024)", rfn));
  }
  return Status::OK();
}

FileHeader DecodeFileHeader(ByteSpan b1) {
  FileHeader h;
  h.block_size = Load32(&b1[kFhOffBlockSize]);
  h.blocks = Load32(&b1[kFhOffBlocks]);
  h.compat_version = Load32(&b1[kFhOffCompat]);
  h.dbid = Load32(&b1[kFhOffDbid]);
  h.db_name = LoadText(&b1[kFhOffDbName], kFhDbNameLen);
  h.file_number = Load16(&b1[kFhOffFileNumber]);
  h.relative_file_number = Load32(&b1[kFhOffRelativeFileNumber]);
  h.file_type = Load16(&b1[kFhOffFileType]);
  h.creation_scn = DecodeScn8(&b1[kFhOffCreationScn]);
  h.creation_time = Load32(&b1[kFhOffCreationTime]);
  h.resetlogs_id = Load32(&b1[kFhOffResetlogsId]);
  h.resetlogs_scn = DecodeScn8(&b1[kFhOffResetlogsScn]);
  h.status_flags = Load16(&b1[kFhOffStatus]);
  h.checkpoint_count = Load32(&b1[kFhOffCheckpointCount]);
  h.tablespace_number = Load32(&b1[kFhOffTablespaceNumber]);
  // The length field bounds the name; a damaged length must not read past the 30-byte field.
  const size_t ts_len = std::min<size_t>(Load16(&b1[kFhOffTablespaceNameLen]), kFhTablespaceNameMax);
  h.tablespace_name = LoadText(&b1[kFhOffTablespaceName], ts_len);
  h.checkpoint_scn = DecodeScn8(&b1[kFhOffCheckpointScn]);
  h.checkpoint_time = Load32(&b1[kFhOffCheckpointTime]);
  return h;
}

// --- Block checks ------------------------------------------------------------------------------------------------

BlockCheck Corrupt(BlockKind kind, uint64_t change, uint8_t type) {
  BlockCheck c;
  c.kind = kind;
  c.corrupt = true;
  c.change = change;
  c.type = type;
  return c;
}

class OracleFormat final : public FileFormat {
 public:
  explicit OracleFormat(const FileHeader& h)
      : block_size_(h.block_size), rfn_(h.relative_file_number), bigfile_(h.bigfile()), header_blocks_(h.blocks) {}

  FormatId id() const override { return FormatId::kOracle; }
  uint32_t block_size() const override { return block_size_; }
  bool versioned_by_change() const override { return true; }

  BlockCheck Check(uint64_t blockno, ByteSpan block) const override {
    if (blockno == 0) return CheckOsHeader(block);
    if (IsAllZero(block)) {
      // Past the header's block count a file is growing (autoextend writes the space, then formats it, then
      // counts it in the header): zeros there are space not yet in use, not a zeroed block.
      if (blockno > header_blocks_) {
        BlockCheck c;
        c.kind = BlockKind::kAllZero;
        return c;
      }
      return Corrupt(BlockKind::kAllZero, 0, 0);
    }
    return CheckBlock(blockno, block);
  }

  // A live datafile may grow between the header parse and the read, so the size is not compared with the header's
  // block count: only whole blocks and room for block 0 and the file header are required.
  Status CheckSize(uint64_t size) const override {
    if (size % block_size_ != 0) {
      return Status::InvalidArgument(fmt::format(
          "datafile size {} is not a multiple of the block size {} (truncated?)", size, block_size_));
    }
    if (size < 2ull * block_size_) {
      return Status::InvalidArgument(fmt::format(
          "datafile size {} is smaller than 2 blocks of {} bytes (block 0 and the file header)", size, block_size_));
    }
    return Status::OK();
  }

 private:
  // Block 0 carries no SCN and no kcbh; it is valid when it still describes this file.
  BlockCheck CheckOsHeader(ByteSpan block) const {
    BlockCheck c;
    c.type = Load8(block, kOffType);
    // Byte 1 is the block-size code as in every block's frmt (ref §5): another size's code, or the redo code 0x22,
    // is a block 0 that does not describe this file (it verified clean before 2026-12-02).
    if (Load32(&block[kB0OffMarker]) != kBlock0Marker || Load32(&block[kB0OffMagic]) != kMagic ||
        Load32(&block[kB0OffBlockSize]) != block_size_ || !FrmtValid(Load8(block, kOffFrmt))) {
      return Corrupt(BlockKind::kBadHeader, 0, c.type);
    }
    if (Load16(&block[kOffChkval]) != 0 && ChecksumResidual(block) != 0) {
      return Corrupt(BlockKind::kBadChecksum, 0, c.type);
    }
    // No fingerprint: block 0 has no SCN, so (change, fingerprint) could not tell two versions apart.
    return c;
  }

  // Version of a block: its header SCN, except block 1 whose own kcbh SCN is 0 and whose version is the checkpoint
  // SCN it records (read from this very block: a newer header has a newer checkpoint).
  static uint64_t ChangeOf(uint64_t blockno, ByteSpan block) {
    if (blockno == 1 && Load8(block, kOffType) == kTypeDatafileHeader) {
      return DecodeScn8(&block[kFhOffCheckpointScn]);
    }
    return BlockScn(block);
  }

  bool FrmtValid(uint8_t frmt) const {
    if ((frmt & 0x0F) != 0x02) return false;
    const uint8_t size_code = frmt >> 4;
    return size_code == 0 || size_code == BlockSizeCode(block_size_);
  }

  bool RdbaValid(uint64_t blockno, ByteSpan block) const {
    const uint32_t rdba = Load32(&block[kOffRdba]);
    const bool never_used = Load8(block, kOffType) == kTypeNew && (Load8(block, kOffFlg) & kFlgNew) != 0;
    // A formatted-never-used block carries the block number only (ref §4).
    if (never_used && rdba == blockno) return true;
    if (bigfile_) return rdba == blockno;
    // A smallfile cannot address a block beyond the 22-bit block field.
    if (blockno > kSmallfileBlockMask) return false;
    return rdba == (rfn_ << kSmallfileBlockBits | static_cast<uint32_t>(blockno));
  }

  BlockCheck CheckBlock(uint64_t blockno, ByteSpan block) const {
    const uint8_t type = Load8(block, kOffType);
    const uint8_t seq = Load8(block, kOffSeq);
    const uint8_t flg = Load8(block, kOffFlg);
    const uint64_t change = ChangeOf(blockno, block);

    // Order matters: the first failed check names the corruption, as DBVERIFY does.
    if (!FrmtValid(Load8(block, kOffFrmt))) return Corrupt(BlockKind::kBadHeader, change, type);
    // Block 1 must be the datafile header; anything else there means the file's identity is gone.
    if (blockno == 1 && type != kTypeDatafileHeader) return Corrupt(BlockKind::kBadHeader, change, type);
    // And only block 1 is: a header block anywhere else is one written at the wrong place (a misdirected write or
    // a copy that overlaid the file), whatever address it names.
    if (blockno != 1 && type == kTypeDatafileHeader) return Corrupt(BlockKind::kBadHeader, change, type);
    if (StoredTail(block) != ExpectedTail(block)) return Corrupt(BlockKind::kFractured, change, type);
    if ((flg & kFlgChecksum) != 0 && ChecksumResidual(block) != 0) {
      return Corrupt(BlockKind::kBadChecksum, change, type);
    }
    if (!RdbaValid(blockno, block)) return Corrupt(BlockKind::kWrongAddress, change, type);
    if (seq == kSeqMarkedCorrupt) return Corrupt(BlockKind::kMarkedCorrupt, change, type);

    const bool never_used = type == kTypeNew && (flg & kFlgNew) != 0;
    // A formatted-never-used block has SCN 0 (ref §4). One with an SCN is not what it says: believed, its SCN
    // became the backup's highest (10^12 refused every scn: point below it; found 2026-12-02).
    if (never_used && change != 0) return Corrupt(BlockKind::kBadHeader, change, type);

    BlockCheck c;
    c.change = change;
    c.type = type;
    c.kind = never_used ? BlockKind::kEmpty : BlockKind::kOk;
    c.fingerprint = Fingerprint(blockno, block);
    return c;
  }

  // seq | flg << 8 | chkval << 16. Oracle moves the SCN or seq with every logged change, and the checksum covers
  // the rest of the block. Withheld where that argument does not hold:
  //  - block 1: its version (checkpoint SCN) does not move when other header fields change (e.g. a resize);
  //  - blocks without a checksum (flg lacks 0x04): nothing would witness a change made without redo.
  static std::optional<uint32_t> Fingerprint(uint64_t blockno, ByteSpan block) {
    const uint8_t flg = Load8(block, kOffFlg);
    if (blockno == 1 || (flg & kFlgChecksum) == 0) return std::nullopt;
    return uint32_t{Load8(block, kOffSeq)} | uint32_t{flg} << 8 | uint32_t{Load16(&block[kOffChkval])} << 16;
  }

  uint32_t block_size_;
  uint32_t rfn_;
  bool bigfile_;
  uint32_t header_blocks_;  // the file header's count (block 0 excluded)
};

}  // namespace

// --- Public free functions ---------------------------------------------------------------------------------------

uint64_t DecodeScn8(const std::byte* p) {
  const uint64_t base = Load32(p);
  const uint16_t wrap = Load16(p + 4);
  if ((wrap & 0x8000) == 0) return uint64_t{wrap} << 32 | base;
  return uint64_t{static_cast<uint16_t>(wrap & 0x7FFF)} << 48 | uint64_t{Load16(p + 6)} << 32 | base;
}

// The short form (wrap u16, second u16 zero) is what Oracle writes while the SCN fits in 47 bits; larger SCNs set
// the top bit of the first wrap to flag the extended form.
void EncodeScn8(uint64_t scn, std::byte* p) {
  Store32(p, static_cast<uint32_t>(scn));
  if (scn < (uint64_t{1} << 47)) {
    Store16(p + 4, static_cast<uint16_t>(scn >> 32));
    Store16(p + 6, 0);
  } else {
    Store16(p + 4, static_cast<uint16_t>(0x8000 | ((scn >> 48) & 0x7FFF)));
    Store16(p + 6, static_cast<uint16_t>(scn >> 32));
  }
}

uint32_t EncodeTime(int year, int month, int day, int hour, int minute, int second) {
  // Every month counts 31 days (ref §8); the arithmetic is done in 64 bits and truncated like Oracle's u32 field.
  int64_t t = year - 1988;
  t = t * 12 + (month - 1);
  t = t * 31 + (day - 1);
  t = t * 24 + hour;
  t = t * 60 + minute;
  t = t * 60 + second;
  return static_cast<uint32_t>(t);
}

std::string TimeToIso8601(uint32_t t) {
  const uint32_t second = t % 60;
  t /= 60;
  const uint32_t minute = t % 60;
  t /= 60;
  const uint32_t hour = t % 24;
  t /= 24;
  const uint32_t day = t % 31 + 1;
  t /= 31;
  const uint32_t month = t % 12 + 1;
  const uint32_t year = t / 12 + 1988;
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", year, month, day, hour, minute, second);
}

uint16_t ChecksumResidual(ByteSpan block) {
  // XOR 8 bytes at a time, then fold to 16 bits: XOR commutes, so this equals XOR-ing every 16-bit word, and the
  // result is independent of the host byte order when read back little endian.
  const std::byte* p = block.data();
  size_t n = block.size();
  uint64_t acc = 0;
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    acc ^= w;
    p += 8;
    n -= 8;
  }
  std::byte folded[8];
  std::memcpy(folded, &acc, 8);
  uint16_t r = static_cast<uint16_t>(Load16(folded) ^ Load16(folded + 2) ^ Load16(folded + 4) ^ Load16(folded + 6));
  for (; n >= 2; p += 2, n -= 2) r ^= Load16(p);
  return r;
}

void SetChecksum(std::span<std::byte> block) {
  Store16(&block[kOffChkval], 0);
  Store16(&block[kOffChkval], ChecksumResidual(block));
}

Result<uint32_t> Block0BlockSize(ByteSpan block0_prefix) {
  SCNFS_RETURN_IF_ERROR(CheckMagic(block0_prefix));
  const uint32_t bs = Load32(&block0_prefix[kB0OffBlockSize]);
  // 512 to 32 KiB: datafiles 2-32 KiB, redo logs 512 bytes to 4 KiB (a 64 KiB one was called "truncated" when
  // the file was shorter than two such blocks).
  if (bs < 512 || bs > 32768 || (bs & (bs - 1)) != 0)
    return Status::InvalidArgument(fmt::format("not an Oracle datafile: block 0 gives block size {}, which Oracle does not use", bs));
  return bs;
}

namespace {

// What checking a datafile of block size `bs` needs when its header blocks cannot tell: the block count from
// `file_size`, the relative file number (and bigfile) from the addresses of the data blocks in `more` (blocks 2, 3,
// ...): the number most sound, used blocks carry. Formatted-never-used blocks carry the bare block number and say
// nothing.
// The relative file numbers the sound, used data blocks in `more` (blocks 2, 3, ...) carry, with their counts.
std::map<uint32_t, int> FileNumberVotes(uint32_t bs, ByteSpan more) {
  std::map<uint32_t, int> votes;
  for (size_t i = 0; (i + 1) * size_t(bs) <= more.size(); ++i) {
    const ByteSpan b = more.subspan(i * bs, bs);
    const uint64_t blockno = 2 + i;
    if (!SoundBlockOfSize(b, bs) || (Load8(b, kOffType) == kTypeNew && (Load8(b, kOffFlg) & kFlgNew) != 0)) continue;
    const uint32_t rdba = Load32(&b[kOffRdba]);
    if (rdba == blockno) ++votes[kBigfileRelativeFileNo];
    else if ((rdba & kSmallfileBlockMask) == blockno && (rdba >> kSmallfileBlockBits) != 0) ++votes[rdba >> kSmallfileBlockBits];
  }
  return votes;
}

FileHeader HeaderOfDataBlocks(uint32_t bs, ByteSpan more, uint64_t file_size) {
  FileHeader h;
  h.salvaged = true;
  h.block_size = bs;
  h.file_type = kFileTypeDatafile;
  h.blocks = uint32_t(std::min<uint64_t>(file_size / bs, UINT32_MAX) - 1);
  const std::map<uint32_t, int> votes = FileNumberVotes(bs, more);
  auto best = std::max_element(votes.begin(), votes.end(), [](const auto& a, const auto& b) { return a.second < b.second; });
  h.relative_file_number = best == votes.end() ? 0 : best->first;
  return h;
}

}  // namespace

Result<FileHeader> HeaderFromDataBlocks(ByteSpan start, uint64_t file_size) {
  std::optional<FileHeader> found;
  for (uint32_t bs : {2048u, 4096u, 8192u, 16384u, 32768u}) {
    if (start.size() < 3 * size_t(bs)) break;
    // Blocks 2 on, as many as `start` holds (at most 64): the sound ones must be most of those that are not all
    // zero, at least 3, and each must sit where its own address says and carry this size's code in its frmt.
    int sound = 0, checked = 0;
    for (uint64_t blockno = 2; blockno < 66 && (blockno + 1) * bs <= start.size(); ++blockno) {
      const ByteSpan b = start.subspan(blockno * bs, bs);
      if (IsAllZero(b)) continue;
      ++checked;
      const uint32_t rdba = Load32(&b[kOffRdba]);
      if (SoundBlockOfSize(b, bs) &&
          (rdba == blockno || (rdba & kSmallfileBlockMask) == blockno))
        ++sound;
    }
    if (sound >= 3 && 2 * sound > checked) {
      if (found) return Status::InvalidArgument("not an Oracle datafile: its blocks read as datafile blocks at two block sizes");
      found = HeaderOfDataBlocks(bs, start.subspan(2 * size_t(bs)), file_size);
    }
  }
  if (!found)
    return Status::InvalidArgument(
        "not an Oracle datafile: no block-0 magic 0x7A7B7C7D, no datafile header in block 1, and no datafile blocks after them");
  return *found;
}

Result<FileHeader> SalvageFileHeader(ByteSpan head, ByteSpan more, uint64_t file_size) {
  SCNFS_ASSIGN_OR_RETURN(const uint32_t bs, Block0BlockSize(head));
  if (!IsValidBlockSize(bs) || head.size() < 2 * size_t(bs))
    return Status::InvalidArgument(fmt::format("block 0 gives block size {}, which Oracle does not use", bs));
  const ByteSpan b1 = head.subspan(bs, bs);
  // A sound block 1 that is no datafile header (a redo log's, a control file's) is another kind of file; one that
  // is a datafile header but not believed (SoundHeaderBlock: marked corrupt, misplaced) is salvaged.
  if (SoundBlockOfSize(b1, bs) && !CheckFileHeaderBlock(b1, bs).ok())
    return Status::InvalidArgument("block 1 is a sound block, but not a datafile header");
  return HeaderOfDataBlocks(bs, more, file_size);
}

Result<FileHeader> HeaderBesideDamagedBlock0(ByteSpan head) {
  for (uint32_t bs : {2048u, 4096u, 8192u, 16384u, 32768u}) {
    if (head.size() < 2 * size_t(bs)) break;
    const ByteSpan b1 = head.subspan(bs, bs);
    if (SoundHeaderBlock(b1, bs) && CheckFileHeaderBlock(b1, bs).ok()) return DecodeFileHeader(b1);
  }
  return Status::InvalidArgument(
      "not an Oracle datafile: no block-0 magic 0x7A7B7C7D, and no datafile header in block 1 at any Oracle block size");
}

Result<FileHeader> ReadFileHeader(ByteSpan head, uint64_t file_size, std::string_view context,
                                  const std::function<Status(uint64_t, std::span<std::byte>)>& read_at) {
  constexpr uint64_t kSalvageBlocks = 64;  // enough data blocks for a clear vote on the file number
  auto h = ParseFileHeader(head);
  if (h.ok()) {
    // A block 1 that parses but fails the block checks (one flipped bit: a bad checksum) cannot be believed field
    // by field: a flipped resetlogs id was recorded as a RESETLOGS that made every earlier scn: point ambiguous, a
    // flipped checkpoint SCN lowered the backup's (found 2026-12-01). It is salvaged like any damaged block 1.
    // So is one whose frmt names another block size (found 2026-12-01: its checkpoint SCN lowered the backup's),
    // and one marked corrupt or at another block's address (SoundHeaderBlock).
    const ByteSpan b1 = head.subspan(h->block_size, h->block_size);
    std::vector<std::byte> more(
        size_t(std::min<uint64_t>(kSalvageBlocks * h->block_size, file_size - std::min<uint64_t>(file_size, 2 * uint64_t(h->block_size)))));
    // A file cut short since it was sized (an online resize writes block 1 too) is no reason to fail: fewer votes.
    if (!read_at(2 * uint64_t(h->block_size), more).ok()) more.clear();
    if (SoundHeaderBlock(b1, h->block_size)) {
      // Sound, but another file's: a misdirected write or an overlaid copy put the header of relative file N
      // over block 1 of a file whose data blocks all say M. Believed, it named every data block "wrong address"
      // and gave block 1 the other file's checkpoint SCN (found 2026-12-02). It is not believed when at least 8
      // sound, used data blocks name one other file, they are two thirds of those that name any, and none names
      // the header's: a few misdirected blocks among never-used ones (which name none) must not outvote a sound
      // header (review, 2026-12-02). A locally managed file's space header and bitmaps name their own file.
      const auto votes = FileNumberVotes(h->block_size, ByteSpan(more.data(), more.size()));
      int total = 0, best = 0;
      for (const auto& [rfn, n] : votes) total += n, best = std::max(best, n);
      if (best < 8 || 3 * best < 2 * total || votes.contains(h->relative_file_number)) return h;
    }
    SCNFS_ASSIGN_OR_RETURN(FileHeader salvaged, SalvageFileHeader(head, ByteSpan(more.data(), more.size()), file_size));
    // Where the parsed fields can only make the checks milder, they are kept: zeros past the smaller block count are
    // space not yet in use (a block 1 torn by the resize that was adding them must not turn them corrupt), and a
    // file number no data block voted for is taken from it.
    salvaged.blocks = std::min(salvaged.blocks, h->blocks);
    if (salvaged.relative_file_number == 0) salvaged.relative_file_number = h->relative_file_number;
    return salvaged;
  }
  if (Status redo = RefuseRedoLog(head); !redo.ok()) return redo.WithContext(context);  // nothing to salvage
  // Block 0 damaged (magic, marker or block size) beside a sound file header: believe block 1, whose own block size
  // field must agree; block 0 then checks as corrupt. (A block 0 saying 4 KiB in an 8 KiB file was salvaged as a
  // 4 KiB file whose every block failed.)
  if (auto beside = HeaderBesideDamagedBlock0(head); beside.ok()) return beside;
  auto bs = Block0BlockSize(head);
  if (!bs.ok() || head.size() < 2 * size_t(*bs) || file_size < 2 * uint64_t(*bs)) {
    // Both header blocks damaged (the start of a file overwritten): the data blocks tell the block size and file
    // number, and blocks 0 and 1 check as corrupt. A file whose blocks say nothing of Oracle is still refused.
    std::vector<std::byte> start(size_t(std::min<uint64_t>(file_size, kDataBlocksProbe)));
    SCNFS_RETURN_IF_ERROR(read_at(0, start));
    auto from_data = HeaderFromDataBlocks(ByteSpan(start.data(), start.size()), file_size);
    return from_data.ok() ? from_data : h.status().WithContext(context);
  }
  std::vector<std::byte> more(size_t(std::min<uint64_t>(kSalvageBlocks * *bs, file_size - 2 * uint64_t(*bs))));
  SCNFS_RETURN_IF_ERROR(read_at(2 * uint64_t(*bs), more));
  auto salvaged = SalvageFileHeader(head, ByteSpan(more.data(), more.size()), file_size);
  return salvaged.ok() ? salvaged : h.status().WithContext(context);
}

bool HasBlock0Magic(ByteSpan block0_prefix) {
  if (block0_prefix.size() < 32) return false;
  const uint32_t magic = Load32(&block0_prefix[kB0OffMagic]);
  return magic == kMagic || magic == kMagicSwapped;
}

// Also true for a big-endian datafile, so that ParseFileHeader can refuse it by name instead of the caller
// silently treating it as a raw file.
bool LooksLikeOracle(ByteSpan block0_prefix) {
  if (block0_prefix.size() < 32) return false;
  const uint32_t magic = Load32(&block0_prefix[kB0OffMagic]);
  const uint32_t marker = Load32(&block0_prefix[kB0OffMarker]);
  return (magic == kMagic && marker == kBlock0Marker) || (magic == kMagicSwapped && marker == kBlock0MarkerSwapped);
}

Result<FileHeader> ParseFileHeader(ByteSpan head) {
  SCNFS_RETURN_IF_ERROR(CheckMagic(head));
  SCNFS_RETURN_IF_ERROR(RefuseRedoLog(head));
  const uint32_t block_size = Load32(&head[kB0OffBlockSize]);
  if (!IsValidBlockSize(block_size)) {
    return Status::InvalidArgument(fmt::format(
        "not an Oracle datafile: block 0 says block size {} (expected 2048, 4096, 8192, 16384 or 32768)",
        block_size));
  }
  if (head.size() < 2ull * block_size) {
    return Status::InvalidArgument(fmt::format(
        "Oracle datafile too short: {} bytes, the file header needs the first 2 blocks of {} bytes", head.size(),
        block_size));
  }
  const ByteSpan b1 = head.subspan(block_size, block_size);
  SCNFS_RETURN_IF_ERROR(CheckFileHeaderBlock(b1, block_size));
  // Block 0's block count is not compared with the file header's: a resize may update them at different times,
  // and the file header is the one Oracle trusts.
  return DecodeFileHeader(b1);
}

BlockHeaderFields ReadBlockHeaderFields(ByteSpan block) {
  BlockHeaderFields h;
  h.type = Load8(block, kOffType);
  h.frmt = Load8(block, kOffFrmt);
  h.rdba = Load32(&block[kOffRdba]);
  h.scn = BlockScn(block);
  h.seq = Load8(block, kOffSeq);
  h.flg = Load8(block, kOffFlg);
  h.tail = StoredTail(block);
  h.chkval = Load16(&block[kOffChkval]);
  h.residual = ChecksumResidual(block);
  return h;
}

uint64_t BlockScn(ByteSpan block) {
  return uint64_t{Load16(&block[kOffScnSpare])} << 48 | uint64_t{Load16(&block[kOffScnWrap])} << 32 |
         Load32(&block[kOffScnBase]);
}

std::unique_ptr<FileFormat> MakeFormat(const FileHeader& header) { return std::make_unique<OracleFormat>(header); }

}  // namespace scnfs::oracle
