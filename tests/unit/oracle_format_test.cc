// Tests for the Oracle datafile format. Blocks are built byte by byte from shared/reference/oracle-datafile-format.md
// (offsets written out here, checksums and tails computed in the test) so that the parser is checked against the
// reference, not against scnfs's own encoder.
#include "scnfs/oracle_format.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

namespace scnfs::oracle {
namespace {

constexpr uint32_t kBs = 8192;

using Block = std::vector<std::byte>;

void P8(Block& b, size_t off, uint8_t v) { b[off] = std::byte{v}; }
void P16(Block& b, size_t off, uint16_t v) {
  b[off] = std::byte(v & 0xFF);
  b[off + 1] = std::byte(v >> 8);
}
void P32(Block& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = std::byte((v >> (8 * i)) & 0xFF);
}
uint16_t G16(const Block& b, size_t off) {
  return static_cast<uint16_t>(std::to_integer<unsigned>(b[off]) | std::to_integer<unsigned>(b[off + 1]) << 8);
}

// Independent checksum: the plain definition (XOR of every 16-bit word with chkval zeroed), one word at a time.
void HandChecksum(Block& b) {
  P16(b, 16, 0);
  uint16_t x = 0;
  for (size_t i = 0; i < b.size(); i += 2) x ^= G16(b, i);
  P16(b, 16, x);
}

// Tail = ((scn base & 0xFFFF) << 16) | (type << 8) | seq, from the header bytes already in place.
void HandTail(Block& b) {
  const uint32_t base_low = G16(b, 8);
  const uint32_t tail = base_low << 16 | std::to_integer<uint32_t>(b[0]) << 8 | std::to_integer<uint32_t>(b[14]);
  P32(b, b.size() - 4, tail);
}

// A valid 8K table block: type 6, frmt 0xA2, rdba, SCN (wrap, base), seq, flg 0x04, some row bytes.
Block DataBlock(uint32_t rdba, uint16_t wrap, uint32_t base, uint8_t seq = 1, uint8_t flg = 0x04) {
  Block b(kBs);
  P8(b, 0, 0x06);
  P8(b, 1, 0xA2);
  P32(b, 4, rdba);
  P32(b, 8, base);
  P16(b, 12, wrap);
  P8(b, 14, seq);
  P8(b, 15, flg);
  P8(b, 20, 1);
  for (size_t i = 4000; i < 8000; ++i) b[i] = std::byte(i * 7 & 0xFF);
  HandTail(b);
  if (flg & 0x04) HandChecksum(b);
  return b;
}

Block EmptyBlock(uint32_t blockno) {
  Block b(kBs);
  P8(b, 1, 0xA2);
  P32(b, 4, blockno);
  P8(b, 14, 1);
  P8(b, 15, 0x05);
  P32(b, kBs - 4, 0x00000001);
  HandChecksum(b);
  return b;
}

Block Block0(uint32_t blocks) {
  Block b(kBs);
  P8(b, 1, 0xA2);
  P32(b, 4, 0xFFC00000);
  P32(b, 20, kBs);
  P32(b, 24, blocks);
  P32(b, 28, 0x7A7B7C7D);
  HandChecksum(b);
  return b;
}

// Block 1 (kcvfh) with every field the parser reads, at the reference's offsets.
Block Block1(uint32_t rfn, uint32_t ckpt_base, uint16_t ckpt_wrap) {
  Block b(kBs);
  P8(b, 0, 0x0B);
  P8(b, 1, 0xA2);
  P32(b, 4, rfn == 1024 ? 1 : (rfn << 22 | 1));
  P8(b, 14, 1);
  P8(b, 15, 0x04);
  P32(b, 24, 0x13000000);
  P32(b, 28, 1234567890);
  std::memcpy(&b[32], "PROD", 4);
  P32(b, 44, 20000);
  P32(b, 48, kBs);
  P16(b, 52, 12);
  P16(b, 54, 3);
  P32(b, 100, 0x000ABCDE);  // creation SCN: short form, wrap 0x0002
  P16(b, 104, 0x0002);
  P32(b, 108, 1126170000);  // 2023-01-15 09:00:00
  P32(b, 112, 1126166400);  // resetlogs id
  P32(b, 116, 1);
  P16(b, 138, 0x0004);
  P32(b, 140, 77);
  P32(b, 332, 4);
  P16(b, 336, 5);
  std::memcpy(&b[338], "USERS", 5);
  P32(b, 368, rfn);
  P32(b, 484, ckpt_base);
  P16(b, 488, ckpt_wrap);
  P32(b, 492, 1162211696);  // 2024-02-29 12:34:56
  P16(b, 496, 1);
  P32(b, kBs - 4, 0x00000B01);
  HandChecksum(b);
  return b;
}

Block Head(const Block& b0, const Block& b1) {
  Block h(b0);
  h.insert(h.end(), b1.begin(), b1.end());
  return h;
}

FileHeader Header(uint32_t rfn) {
  FileHeader h;
  h.block_size = kBs;
  h.blocks = 20000;
  h.relative_file_number = rfn;
  h.file_type = 3;
  return h;
}

// --- Primitive encodings -----------------------------------------------------------------------------------------

TEST(OracleChecksum, ResidualOfKnownBlock) {
  Block b(kBs);
  P8(b, 0, 0x06);                      // word 0: 0xA206
  P8(b, 1, 0xA2);
  P32(b, 4, 0x01000002);               // words 0x0002, 0x0100 (rfn 4, block 2)
  P32(b, 8, 0x12345678);               // words 0x5678, 0x1234
  P8(b, 14, 0x01);                     // word 0x0401
  P8(b, 15, 0x04);
  P32(b, kBs - 4, 0x56780601);         // words 0x0601, 0x5678
  // 0xA206 ^ 0x0002 ^ 0x0100 ^ 0x5678 ^ 0x1234 ^ 0x0401 ^ 0x0601 ^ 0x5678 = 0xB330
  EXPECT_EQ(ChecksumResidual(b), 0xB330);
  SetChecksum(b);
  EXPECT_EQ(b[16], std::byte{0x30});
  EXPECT_EQ(b[17], std::byte{0xB3});
  EXPECT_EQ(ChecksumResidual(b), 0);
  b[5000] = std::byte{0x01};
  EXPECT_EQ(ChecksumResidual(b), 0x0001);
}

TEST(OracleChecksum, OddTailBytesAndShortSpans) {
  Block b(18);
  P16(b, 16, 0x1234);
  EXPECT_EQ(ChecksumResidual(b), 0x1234);
  P16(b, 0, 0x1234);
  EXPECT_EQ(ChecksumResidual(b), 0);
}

TEST(OracleTail, FormulaMatchesHandBuiltBlock) {
  Block b = DataBlock((7u << 22) | 100, 0, 0x12345678, 0x2A);
  // ((0x12345678 & 0xFFFF) << 16) | (6 << 8) | 0x2A = 0x5678062A, stored little endian.
  EXPECT_EQ(b[kBs - 4], std::byte{0x2A});
  EXPECT_EQ(b[kBs - 3], std::byte{0x06});
  EXPECT_EQ(b[kBs - 2], std::byte{0x78});
  EXPECT_EQ(b[kBs - 1], std::byte{0x56});
  auto fmt = MakeFormat(Header(7));
  EXPECT_EQ(fmt->Check(100, b).kind, BlockKind::kOk);
}

TEST(OracleTime, EncodeKnownDates) {
  EXPECT_EQ(EncodeTime(1988, 1, 1, 0, 0, 0), 0u);
  EXPECT_EQ(EncodeTime(1988, 1, 1, 0, 0, 1), 1u);
  EXPECT_EQ(EncodeTime(1988, 2, 1, 0, 0, 0), 31u * 86400);  // every month counts 31 days
  // ((((36*12 + 1)*31 + 28)*24 + 12)*60 + 34)*60 + 56 = 1162211696
  EXPECT_EQ(EncodeTime(2024, 2, 29, 12, 34, 56), 1162211696u);
  // ((((35*12 + 0)*31 + 14)*24 + 9)*60 + 0)*60 + 0 = 1126170000
  EXPECT_EQ(EncodeTime(2023, 1, 15, 9, 0, 0), 1126170000u);
  // ((((11*12 + 11)*31 + 30)*24 + 23)*60 + 59)*60 + 59 = 385689599
  EXPECT_EQ(EncodeTime(1999, 12, 31, 23, 59, 59), 385689599u);
}

TEST(OracleTime, DecodeKnownValues) {
  EXPECT_EQ(TimeToIso8601(0), "1988-01-01T00:00:00");
  EXPECT_EQ(TimeToIso8601(1162211696), "2024-02-29T12:34:56");
  EXPECT_EQ(TimeToIso8601(385689599), "1999-12-31T23:59:59");
  EXPECT_EQ(TimeToIso8601(EncodeTime(2031, 7, 4, 6, 5, 4)), "2031-07-04T06:05:04");
}

TEST(OracleScn, DecodeScn8ShortForm) {
  const std::byte p[8] = {std::byte{0x78}, std::byte{0x56}, std::byte{0x34}, std::byte{0x12},
                          std::byte{0x05}, std::byte{0x00}, std::byte{0x00}, std::byte{0x00}};
  EXPECT_EQ(DecodeScn8(p), 0x0000000512345678ull);
}

TEST(OracleScn, DecodeScn8ExtendedForm) {
  // u16@4 = 0x8003 has the top bit: SCN = (0x0003 << 48) | (u16@6 = 0x0005) << 32 | base.
  const std::byte p[8] = {std::byte{0x78}, std::byte{0x56}, std::byte{0x34}, std::byte{0x12},
                          std::byte{0x03}, std::byte{0x80}, std::byte{0x05}, std::byte{0x00}};
  EXPECT_EQ(DecodeScn8(p), 0x0003000512345678ull);
}

TEST(OracleScn, EncodeScn8RoundTripsBothForms) {
  for (uint64_t scn : {0ull, 1ull, 0x0000000512345678ull, 0x00007FFFFFFFFFFFull, 0x0000800000000000ull,
                       0x0003000512345678ull, 0x7FFFFFFFFFFFFFFFull}) {
    std::byte p[8];
    EncodeScn8(scn, p);
    EXPECT_EQ(DecodeScn8(p), scn) << std::hex << scn;
  }
  std::byte p[8];
  EncodeScn8(0x0000000512345678ull, p);
  EXPECT_EQ(p[4], std::byte{0x05});
  EXPECT_EQ(p[5], std::byte{0x00});  // short form while it fits
}

TEST(OracleScn, BlockScnOrdersSpareWrapBase) {
  Block b(kBs);
  P16(b, 2, 0x0001);
  P32(b, 8, 0x00000003);
  P16(b, 12, 0x0002);
  EXPECT_EQ(BlockScn(b), 0x0001000200000003ull);
}

// --- Header parsing ----------------------------------------------------------------------------------------------

TEST(OracleHeader, ParsesEveryField) {
  const Block head = Head(Block0(20000), Block1(12, 0x00C0FFEE, 0x0001));
  ASSERT_TRUE(LooksLikeOracle(head));
  Result<FileHeader> r = ParseFileHeader(head);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const FileHeader& h = *r;
  EXPECT_EQ(h.block_size, kBs);
  EXPECT_EQ(h.blocks, 20000u);
  EXPECT_EQ(h.compat_version, 0x13000000u);
  EXPECT_EQ(h.dbid, 1234567890u);
  EXPECT_EQ(h.db_name, "PROD");
  EXPECT_EQ(h.file_number, 12);
  EXPECT_EQ(h.relative_file_number, 12u);
  EXPECT_FALSE(h.bigfile());
  EXPECT_EQ(h.file_type, 3);
  EXPECT_EQ(h.creation_scn, 0x00000002000ABCDEull);
  EXPECT_EQ(h.creation_time, 1126170000u);
  EXPECT_EQ(TimeToIso8601(h.creation_time), "2023-01-15T09:00:00");
  EXPECT_EQ(h.resetlogs_id, 1126166400u);
  EXPECT_EQ(h.resetlogs_scn, 1u);
  EXPECT_EQ(h.status_flags, 0x0004);
  EXPECT_EQ(h.checkpoint_count, 77u);
  EXPECT_EQ(h.tablespace_number, 4u);
  EXPECT_EQ(h.tablespace_name, "USERS");
  EXPECT_EQ(h.checkpoint_scn, 0x0000000100C0FFEEull);
  EXPECT_EQ(h.checkpoint_time, 1162211696u);
}

TEST(OracleHeader, Bigfile) {
  Result<FileHeader> r = ParseFileHeader(Head(Block0(20000), Block1(1024, 5000, 0)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->bigfile());
}

TEST(OracleHeader, RefusesBigEndian) {
  Block b0 = Block0(20000);
  // A big-endian platform writes the magic and marker with their bytes reversed.
  P32(b0, 28, 0x7D7C7B7A);
  P32(b0, 4, 0x0000C0FF);
  const Block head = Head(b0, Block1(12, 1, 0));
  EXPECT_TRUE(LooksLikeOracle(head));  // recognised, so that it is refused by name
  Result<FileHeader> r = ParseFileHeader(head);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "big-endian Oracle datafiles are not supported");
}

TEST(OracleHeader, RefusesWrongMagicWithItsValue) {
  Block b0 = Block0(20000);
  P32(b0, 28, 0x11223344);
  EXPECT_FALSE(LooksLikeOracle(b0));
  Result<FileHeader> r = ParseFileHeader(Head(b0, Block1(12, 1, 0)));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(r.status().message(), "not an Oracle datafile: block 0 magic is 0x11223344 (expected 0x7A7B7C7D)");
}

TEST(OracleHeader, RefusesShortInputBadBlockSizeAndNonDatafiles) {
  const Block head = Head(Block0(20000), Block1(12, 1, 0));
  EXPECT_FALSE(ParseFileHeader(ByteSpan(head.data(), 16)).ok());
  EXPECT_FALSE(ParseFileHeader(ByteSpan(head.data(), kBs + 100)).ok());

  Block b0 = Block0(20000);
  P32(b0, 20, 1000);
  EXPECT_FALSE(ParseFileHeader(Head(b0, Block1(12, 1, 0))).ok());

  Block redo = Block1(12, 1, 0);
  P16(redo, 54, 2);
  Result<FileHeader> r = ParseFileHeader(Head(Block0(20000), redo));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("redo log"), std::string::npos) << r.status().message();

  Block not_header = Block1(12, 1, 0);
  P8(not_header, 0, 0x06);
  EXPECT_FALSE(ParseFileHeader(Head(Block0(20000), not_header)).ok());
}

// A redo log as ref §7 lays it out: block 0 with redo's block-size code, block 1 of type 0x01 with frmt 0x22 (512)
// or 0x82 (4 KiB), the log sequence @8 and file type 2 @50.
Block RedoHead(uint32_t bs, uint8_t frmt) {
  Block h(3 * size_t(bs));
  P8(h, 1, 0x22);
  P32(h, 4, 0xFFC00000);
  P32(h, 20, bs);
  P32(h, 24, 2);
  P32(h, 28, 0x7A7B7C7D);
  for (uint32_t blk = 1; blk < 3; ++blk) {
    const size_t o = blk * size_t(bs);
    P8(h, o + 0, 0x01);
    P8(h, o + 1, frmt);
    P32(h, o + 4, blk);
    P32(h, o + 8, 648);  // log sequence
  }
  P16(h, bs + 50, 2);
  P32(h, bs + 44, bs);
  return h;
}

TEST(OracleHeader, RefusesRedoLogsOfEitherBlockSizeByName) {
  for (const auto& [bs, frmt] : {std::pair<uint32_t, uint8_t>{512, 0x22}, {4096, 0x82}}) {
    const Block head = RedoHead(bs, frmt);
    Result<FileHeader> r = ParseFileHeader(ByteSpan(head.data(), 2 * size_t(bs)));
    ASSERT_FALSE(r.ok()) << bs;
    EXPECT_NE(r.status().message().find("Oracle redo log (log sequence 648"), std::string::npos) << r.status().message();
    // Not salvaged as a datafile with a damaged header (4 KiB passed the block-size check and every block then
    // read as fractured).
    bool read_more = false;
    Result<FileHeader> s = ReadFileHeader(ByteSpan(head.data(), 2 * size_t(bs)), head.size(), "redo01.log",
                                          [&](uint64_t, std::span<std::byte>) {
                                            read_more = true;
                                            return Status::OK();
                                          });
    ASSERT_FALSE(s.ok()) << bs;
    EXPECT_FALSE(read_more);
    EXPECT_NE(s.status().message().find("redo01.log: this is an Oracle redo log"), std::string::npos) << s.status().message();
  }
}

// --- Block checks: one per kind, each next to a clean block that passes ------------------------------------------

class OracleCheck : public ::testing::Test {
 protected:
  std::unique_ptr<FileFormat> small_ = MakeFormat(Header(7));
  std::unique_ptr<FileFormat> big_ = MakeFormat(Header(1024));
  static constexpr uint32_t kRdba100 = (7u << 22) | 100;
};

TEST_F(OracleCheck, Basics) {
  EXPECT_EQ(small_->id(), FormatId::kOracle);
  EXPECT_EQ(small_->block_size(), kBs);
  EXPECT_TRUE(small_->versioned_by_change());
}

TEST_F(OracleCheck, CleanDataBlockIsOkWithScnTypeAndFingerprint) {
  const Block b = DataBlock(kRdba100, 0x0003, 0x00ABCDEF, 0x2A);
  const BlockCheck c = small_->Check(100, b);
  EXPECT_EQ(c.kind, BlockKind::kOk);
  EXPECT_FALSE(c.corrupt);
  EXPECT_EQ(c.change, 0x0000000300ABCDEFull);
  EXPECT_EQ(c.type, 6);
  ASSERT_TRUE(c.fingerprint.has_value());
  EXPECT_EQ(*c.fingerprint, 0x2Au | 0x04u << 8 | uint32_t{G16(b, 16)} << 16);
}

TEST_F(OracleCheck, AllZero) {
  const BlockCheck c = small_->Check(100, Block(kBs));
  EXPECT_EQ(c.kind, BlockKind::kAllZero);
  EXPECT_TRUE(c.corrupt);
  EXPECT_EQ(c.change, 0u);
  EXPECT_FALSE(c.fingerprint.has_value());
}

TEST_F(OracleCheck, BadFrmt) {
  Block b = DataBlock(kRdba100, 0, 5000);
  P8(b, 1, 0x02);  // 8i/9i style, no size code: fine
  HandChecksum(b);
  EXPECT_EQ(small_->Check(100, b).kind, BlockKind::kOk);
  P8(b, 1, 0x82);  // says 4K in an 8K file
  HandChecksum(b);
  BlockCheck c = small_->Check(100, b);
  EXPECT_EQ(c.kind, BlockKind::kBadHeader);
  EXPECT_TRUE(c.corrupt);
  EXPECT_EQ(c.change, 5000u);
  EXPECT_FALSE(c.fingerprint.has_value());
  P8(b, 1, 0xA1);  // right size, wrong low nibble
  HandChecksum(b);
  EXPECT_EQ(small_->Check(100, b).kind, BlockKind::kBadHeader);
}

TEST_F(OracleCheck, Fractured) {
  Block b = DataBlock(kRdba100, 0, 0x00015000);
  P32(b, kBs - 4, 0x49990601);  // tail of an older version (SCN low bits 0x4999)
  HandChecksum(b);              // only the tail is wrong
  const BlockCheck c = small_->Check(100, b);
  EXPECT_EQ(c.kind, BlockKind::kFractured);
  EXPECT_TRUE(c.corrupt);
  EXPECT_EQ(c.change, 0x00015000u);
}

TEST_F(OracleCheck, FractureIsReportedBeforeChecksum) {
  Block b = DataBlock(kRdba100, 0, 0x00015000);
  P32(b, kBs - 4, 0x49990601);  // tail changed, checksum not fixed: both fail, the tail is checked first
  EXPECT_NE(ChecksumResidual(b), 0);
  EXPECT_EQ(small_->Check(100, b).kind, BlockKind::kFractured);
}

TEST_F(OracleCheck, BadChecksum) {
  Block b = DataBlock(kRdba100, 0, 5000);
  b[6000] ^= std::byte{0x10};
  const BlockCheck c = small_->Check(100, b);
  EXPECT_EQ(c.kind, BlockKind::kBadChecksum);
  EXPECT_TRUE(c.corrupt);
}

TEST_F(OracleCheck, NoChecksumFlagMeansChecksumNotVerifiedAndNoFingerprint) {
  Block b = DataBlock(kRdba100, 0, 5000, 3, /*flg=*/0x00);
  b[6000] ^= std::byte{0x10};
  const BlockCheck c = small_->Check(100, b);
  EXPECT_EQ(c.kind, BlockKind::kOk);
  EXPECT_FALSE(c.fingerprint.has_value());
}

TEST_F(OracleCheck, WrongAddressSmallfile) {
  EXPECT_EQ(small_->Check(100, DataBlock(kRdba100, 0, 5000)).kind, BlockKind::kOk);
  const BlockCheck c = small_->Check(100, DataBlock((7u << 22) | 101, 0, 5000));
  EXPECT_EQ(c.kind, BlockKind::kWrongAddress);
  EXPECT_TRUE(c.corrupt);
  EXPECT_EQ(small_->Check(100, DataBlock((8u << 22) | 100, 0, 5000)).kind, BlockKind::kWrongAddress);
  // A used block must carry its file number; only a never-used block may have the bare block number.
  EXPECT_EQ(small_->Check(100, DataBlock(100, 0, 5000)).kind, BlockKind::kWrongAddress);
  // A smallfile cannot address blocks past 2^22 - 1.
  EXPECT_EQ(small_->Check(uint64_t{1} << 22, DataBlock(7u << 22, 0, 5000)).kind, BlockKind::kWrongAddress);
}

TEST_F(OracleCheck, WrongAddressBigfile) {
  EXPECT_EQ(big_->Check(5000000, DataBlock(5000000, 0, 5000)).kind, BlockKind::kOk);
  EXPECT_EQ(big_->Check(5000000, DataBlock(5000001, 0, 5000)).kind, BlockKind::kWrongAddress);
  EXPECT_EQ(big_->Check(100, DataBlock(kRdba100, 0, 5000)).kind, BlockKind::kWrongAddress);
}

TEST_F(OracleCheck, MarkedCorrupt) {
  const BlockCheck c = small_->Check(100, DataBlock(kRdba100, 0, 5000, 0xFF));  // tail and checksum consistent
  EXPECT_EQ(c.kind, BlockKind::kMarkedCorrupt);
  EXPECT_TRUE(c.corrupt);
  EXPECT_EQ(small_->Check(100, DataBlock(kRdba100, 0, 5000, 0xFE)).kind, BlockKind::kOk);
}

TEST_F(OracleCheck, EmptyFormattedBlockIsNotCorrupt) {
  const Block b = EmptyBlock(100);
  for (const auto* f : {small_.get(), big_.get()}) {
    const BlockCheck c = f->Check(100, b);
    EXPECT_EQ(c.kind, BlockKind::kEmpty);
    EXPECT_FALSE(c.corrupt);
    EXPECT_EQ(c.change, 0u);
    EXPECT_EQ(c.type, 0);
    EXPECT_TRUE(c.fingerprint.has_value());
  }
  // Wrong position for an empty block.
  EXPECT_EQ(small_->Check(101, b).kind, BlockKind::kWrongAddress);
  // Type 0 without the "new" flag is not an empty block.
  Block c = EmptyBlock(100);
  P8(c, 15, 0x04);
  HandChecksum(c);
  EXPECT_EQ(small_->Check(100, c).kind, BlockKind::kWrongAddress);
}

TEST_F(OracleCheck, Block0) {
  const Block b0 = Block0(20000);
  BlockCheck c = small_->Check(0, b0);
  EXPECT_EQ(c.kind, BlockKind::kOk);
  EXPECT_FALSE(c.corrupt);
  EXPECT_EQ(c.change, 0u);

  Block bad_magic = b0;
  P32(bad_magic, 28, 0x7D7C7B7A);
  HandChecksum(bad_magic);
  EXPECT_EQ(small_->Check(0, bad_magic).kind, BlockKind::kBadHeader);
  EXPECT_TRUE(small_->Check(0, bad_magic).corrupt);

  Block bad_marker = b0;
  P32(bad_marker, 4, 0);
  HandChecksum(bad_marker);
  EXPECT_EQ(small_->Check(0, bad_marker).kind, BlockKind::kBadHeader);

  Block bad_size = b0;
  P32(bad_size, 20, 4096);
  HandChecksum(bad_size);
  EXPECT_EQ(small_->Check(0, bad_size).kind, BlockKind::kBadHeader);

  Block bad_sum = b0;
  P32(bad_sum, 24, 20001);  // count changed, checksum not fixed
  c = small_->Check(0, bad_sum);
  EXPECT_EQ(c.kind, BlockKind::kBadChecksum);
  EXPECT_TRUE(c.corrupt);

  Block no_sum = bad_sum;
  P16(no_sum, 16, 0);  // chkval 0: not set, not verified
  EXPECT_EQ(small_->Check(0, no_sum).kind, BlockKind::kOk);

  EXPECT_EQ(small_->Check(0, Block(kBs)).kind, BlockKind::kBadHeader);
}

// Block 0's byte 1 is the block-size code (ref §5): another size's, or the redo log's 0x22, verified clean before
// 2026-12-02. 0x02 alone (before 10g) carries no size.
TEST_F(OracleCheck, Block0WithAnotherBlockSizesCodeIsCorrupt) {
  for (uint8_t code : {0x82, 0x22, 0xA3}) {
    Block b0 = Block0(20000);
    P8(b0, 1, code);
    HandChecksum(b0);
    EXPECT_EQ(small_->Check(0, b0).kind, BlockKind::kBadHeader) << int(code);
    EXPECT_TRUE(small_->Check(0, b0).corrupt);
  }
  Block old = Block0(20000);
  P8(old, 1, 0x02);
  HandChecksum(old);
  EXPECT_FALSE(small_->Check(0, old).corrupt);
}

// A formatted-never-used block has SCN 0 (ref §4). One that carries an SCN was called Empty and its SCN (10^12)
// became the backup's highest, refusing every scn: point below it (found 2026-12-02).
TEST_F(OracleCheck, AnEmptyBlockWithAnScnIsCorrupt) {
  Block b = EmptyBlock(100);
  P32(b, 8, 0xD4A51000);  // 10^12: base and wrap
  P16(b, 12, 0xE8);
  HandTail(b);
  HandChecksum(b);
  const BlockCheck c = small_->Check(100, b);
  EXPECT_EQ(c.kind, BlockKind::kBadHeader);
  EXPECT_TRUE(c.corrupt);
}

TEST_F(OracleCheck, Block1IsVersionedByItsOwnCheckpointScn) {
  const Block old_header = Block1(7, 0x00001000, 0);
  BlockCheck c = small_->Check(1, old_header);
  EXPECT_EQ(c.kind, BlockKind::kOk);
  EXPECT_EQ(c.type, 0x0B);
  EXPECT_EQ(c.change, 0x1000u);
  // A newer header block (later checkpoint) reports the newer SCN, whatever the header captured at open said.
  const Block new_header = Block1(7, 0x00002000, 0x0002);
  EXPECT_EQ(small_->Check(1, new_header).change, 0x0000000200002000ull);
}

TEST_F(OracleCheck, Block1MustBeTheDatafileHeader) {
  Block b = DataBlock((7u << 22) | 1, 0, 5000);
  const BlockCheck c = small_->Check(1, b);
  EXPECT_EQ(c.kind, BlockKind::kBadHeader);
  EXPECT_TRUE(c.corrupt);
}

TEST_F(OracleCheck, OnlyBlock1IsADatafileHeader) {
  // A sound datafile header block at block 100, with the address of block 100: no other check catches it.
  Block b = Block1(7, 0x1000, 0);
  P32(b, 4, kRdba100);
  HandChecksum(b);
  EXPECT_EQ(small_->Check(1, Block1(7, 0x1000, 0)).kind, BlockKind::kOk);
  const BlockCheck c = small_->Check(100, b);
  EXPECT_EQ(c.kind, BlockKind::kBadHeader);
  EXPECT_TRUE(c.corrupt);
  EXPECT_EQ(c.type, 0x0B);
}

TEST_F(OracleCheck, Block1Corruption) {
  Block b = Block1(7, 0x1000, 0);
  b[300] ^= std::byte{0x01};
  const BlockCheck c = small_->Check(1, b);
  EXPECT_EQ(c.kind, BlockKind::kBadChecksum);
  EXPECT_EQ(c.change, 0x1000u);
}

TEST_F(OracleCheck, CheckSize) {
  EXPECT_TRUE(small_->CheckSize(2ull * kBs).ok());
  EXPECT_TRUE(small_->CheckSize(20001ull * kBs).ok());
  const Status st = small_->CheckSize(20001ull * kBs - 512);  // 163848192 - 512
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(st.message(), "datafile size 163847680 is not a multiple of the block size 8192 (truncated?)");
  EXPECT_FALSE(small_->CheckSize(kBs).ok());
  EXPECT_FALSE(small_->CheckSize(0).ok());
}

TEST(OracleSalvage, ADamagedHeaderBlockStillGivesTheFileNumberFromTheDataBlocks) {
  // Block 1 all zero (or any damage that fails the block checks); blocks 2.. are data blocks of relative file 7,
  // one formatted-never-used block (bare block number: says nothing) and one of another file (outvoted).
  const Block head = Head(Block0(20000), Block(kBs));
  Block more;
  for (uint32_t blk = 2; blk < 8; ++blk) {
    Block b = blk == 4 ? EmptyBlock(blk) : DataBlock((blk == 6 ? 9u : 7u) << 22 | blk, 0, 1000 + blk);
    more.insert(more.end(), b.begin(), b.end());
  }
  auto h = SalvageFileHeader(ByteSpan(head.data(), head.size()), ByteSpan(more.data(), more.size()), 100 * kBs);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_TRUE(h->salvaged);
  EXPECT_EQ(h->block_size, kBs);
  EXPECT_EQ(h->blocks, 99u);
  EXPECT_EQ(h->relative_file_number, 7u);
  EXPECT_FALSE(h->bigfile());
  // Checked with it: block 1 is corrupt, the data blocks are fine.
  auto f = MakeFormat(*h);
  EXPECT_TRUE(f->Check(1, ByteSpan(head.data() + kBs, kBs)).corrupt);
  EXPECT_FALSE(f->Check(2, ByteSpan(more.data(), kBs)).corrupt);
  // Bigfile: data blocks carry the bare block number.
  Block big = DataBlock(2, 0, 500);
  auto hb = SalvageFileHeader(ByteSpan(head.data(), head.size()), ByteSpan(big.data(), big.size()), 10 * kBs);
  ASSERT_TRUE(hb.ok());
  EXPECT_TRUE(hb->bigfile());
}

TEST(OracleSalvage, ASoundBlock1ThatIsNoDatafileHeaderIsNotSalvaged) {
  // A redo log's or control file's header block is sound: such a file is refused, not checked as a datafile.
  Block redo = Block1(12, 1, 0);
  P16(redo, 54, 2);
  HandChecksum(redo);
  const Block head = Head(Block0(20000), redo);
  EXPECT_FALSE(SalvageFileHeader(ByteSpan(head.data(), head.size()), {}, 100 * kBs).ok());
}

// A block 1 that its own checks report as marked corrupt, or at another block's address, passes frmt, tail and
// checksum: its fields were believed, and a DBID, resetlogs id and checkpoint SCN written into a damaged header
// were recorded as a RESETLOGS and a lowered checkpoint (found 2026-12-02). It is salvaged like a bad checksum. So
// is a sound header of another file, where the data blocks all name this one (every data block was called "wrong
// address" instead of block 1).
TEST(OracleSalvage, ABlock1MarkedCorruptOrMisplacedIsNotBelieved) {
  Block more;
  for (uint32_t blk = 2; blk < 12; ++blk) {
    Block b = DataBlock(7u << 22 | blk, 0, 1000 + blk);
    more.insert(more.end(), b.begin(), b.end());
  }
  auto read_more = [&](uint64_t off, std::span<std::byte> out) {
    EXPECT_EQ(off, 2 * kBs);
    std::memcpy(out.data(), more.data(), std::min(out.size(), more.size()));
    return Status::OK();
  };
  Block marked = Block1(7, 0x1000, 0);
  P8(marked, 14, 0xFF);
  HandTail(marked);
  HandChecksum(marked);
  Block misplaced = Block1(7, 0x1000, 0);
  P32(misplaced, 4, 7u << 22 | 9);
  HandChecksum(misplaced);
  Block other_file = Block1(7, 0x1000, 0);  // the rdba of block 1 of relative file 8, with file 7 in its fields
  P32(other_file, 4, 8u << 22 | 1);
  HandChecksum(other_file);
  const Block foreign = Block1(8, 0x1000, 0);  // a sound header of relative file 8 over file 7's block 1
  for (const Block* b1 : std::initializer_list<const Block*>{&marked, &misplaced, &other_file, &foreign}) {
    const Block head = Head(Block0(20000), *b1);
    auto h = ReadFileHeader(ByteSpan(head.data(), head.size()), 100 * kBs, "f.dbf", read_more);
    ASSERT_TRUE(h.ok()) << h.status().ToString();
    EXPECT_TRUE(h->salvaged);
    EXPECT_EQ(h->dbid, 0u);
    EXPECT_EQ(h->checkpoint_scn, 0u);
    EXPECT_EQ(h->relative_file_number, 7u);
    const BlockCheck c = MakeFormat(*h)->Check(1, ByteSpan(head.data() + kBs, kBs));
    EXPECT_TRUE(c.corrupt);
    EXPECT_EQ(c.kind, b1 == &marked ? BlockKind::kMarkedCorrupt : BlockKind::kWrongAddress);
  }
  // The sound header of the same tests is believed.
  const Block head = Head(Block0(20000), Block1(7, 0x1000, 0));
  auto h = ReadFileHeader(ByteSpan(head.data(), head.size()), 100 * kBs, "f.dbf", read_more);
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->salvaged);
  EXPECT_EQ(h->checkpoint_scn, 0x1000u);
  // So is a sound header beside a few misdirected blocks of another file among never-used ones (review).
  more.clear();
  for (uint32_t blk = 2; blk < 20; ++blk) {
    Block b = blk < 5 ? DataBlock(8u << 22 | blk, 0, 1000 + blk) : EmptyBlock(blk);
    more.insert(more.end(), b.begin(), b.end());
  }
  auto few = ReadFileHeader(ByteSpan(head.data(), head.size()), 100 * kBs, "f.dbf", read_more);
  ASSERT_TRUE(few.ok());
  EXPECT_FALSE(few->salvaged);
  EXPECT_EQ(few->relative_file_number, 7u);
}

// Beside a damaged block 0 as well, a block 1 marked corrupt is not believed (HeaderBesideDamagedBlock0): its
// checkpoint SCN and DBID were taken as the file's.
TEST(OracleSalvage, ABlock1MarkedCorruptBesideADamagedBlock0IsNotBelieved) {
  Block marked = Block1(7, 0x1000, 0);
  P8(marked, 14, 0xFF);
  HandTail(marked);
  HandChecksum(marked);
  Block file = Head(Block(kBs), marked);
  for (uint32_t blk = 2; blk < 12; ++blk) {
    Block b = DataBlock(7u << 22 | blk, 0, 1000 + blk);
    file.insert(file.end(), b.begin(), b.end());
  }
  auto read_at = [&](uint64_t off, std::span<std::byte> out) {
    std::memset(out.data(), 0, out.size());
    if (off < file.size()) std::memcpy(out.data(), file.data() + off, std::min<size_t>(out.size(), file.size() - off));
    return Status::OK();
  };
  auto h = ReadFileHeader(ByteSpan(file.data(), 2 * kBs), file.size(), "f.dbf", read_at);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_TRUE(h->salvaged);
  EXPECT_NE(h->checkpoint_scn, 0x1000u);
  EXPECT_EQ(h->dbid, 0u);
}

TEST(OracleGrowth, ZerosPastTheHeadersBlockCountAreNotCorrupt) {
  // A datafile caught while autoextending: the space is written before it is formatted and counted in the header.
  FileHeader h;
  h.block_size = kBs;
  h.blocks = 100;
  h.relative_file_number = 7;
  auto f = MakeFormat(h);
  const Block zeros(kBs);
  const BlockCheck inside = f->Check(100, ByteSpan(zeros.data(), zeros.size()));
  EXPECT_TRUE(inside.corrupt);  // within the count: a zeroed block
  EXPECT_EQ(inside.kind, BlockKind::kAllZero);
  const BlockCheck past = f->Check(101, ByteSpan(zeros.data(), zeros.size()));
  EXPECT_FALSE(past.corrupt);
  EXPECT_EQ(past.kind, BlockKind::kAllZero);
}

}  // namespace
}  // namespace scnfs::oracle
