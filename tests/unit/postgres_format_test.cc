// Tests of the PostgreSQL format against real PostgreSQL 15 bytes (tests/data/pg15_*).
//
// The data came from a cluster made with `initdb --data-checksums` (PostgreSQL 15.18, Debian 12, x86-64):
//   CREATE TABLE t (id int primary key, name text, pad text);
//   INSERT INTO t SELECT g, 'row ' || g, repeat('x', 40) FROM generate_series(1,300) g;
//   UPDATE t SET name = 'upd' WHERE id % 7 = 0; CHECKPOINT;  -- then pg_ctl stop (clean shutdown)
// t is base/5/16384 (4 pages), its primary key base/5/16389 (2 pages). `pg_checksums --check` reported 0 bad
// checksums; the expected values below are what pg_controldata printed and what the page headers hold.
// pg15_pg_control_running is the same cluster's pg_control copied while it ran (see its test).
// pg15_pg_control_standby: a standby made with pg_basebackup -R, stopped after its primary wrote 100,000 rows
// (pg_controldata: "shut down in recovery", checkpoint 0/2000060, minimum recovery ending location 0/3635130).

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "scnfs/postgres_format.h"

namespace scnfs::postgres {
namespace {

using Bytes = std::vector<std::byte>;

Bytes ReadDataFile(const std::string& name) {
  std::ifstream in(std::string(SCNFS_TEST_DATA_DIR) + "/" + name, std::ios::binary);
  EXPECT_TRUE(in.good()) << "missing test data " << name;
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Bytes out(chars.size());
  if (!chars.empty()) std::memcpy(out.data(), chars.data(), chars.size());
  return out;
}

uint16_t Get16(const Bytes& b, size_t off) {
  return static_cast<uint16_t>(std::to_integer<uint16_t>(b[off]) | (std::to_integer<uint16_t>(b[off + 1]) << 8));
}
void Put16(Bytes& b, size_t off, uint16_t v) {
  b[off] = std::byte(v & 0xFF);
  b[off + 1] = std::byte(v >> 8);
}
void Put32(Bytes& b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = std::byte((v >> (8 * i)) & 0xFF);
}

// Bitwise CRC-32C, independent of the table-driven one under test.
uint32_t SlowCrc32c(const Bytes& b, size_t n) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < n; ++i) {
    crc ^= std::to_integer<uint32_t>(b[i]);
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
  }
  return ~crc;
}
// Rewrites the control file's CRC after a test edits it, as PostgreSQL would.
void FixControlCrc(Bytes& b) { Put32(b, 288, SlowCrc32c(b, 288)); }

struct RealPage {
  const char* file;
  uint32_t blkno;     // block number within relation (and file: both relations are one segment)
  uint64_t lsn;       // pd_lsn
  uint16_t checksum;  // pd_checksum
  uint16_t flags;     // pd_flags
};
// Values from the page headers on disk after the clean shutdown (the LSNs match pageinspect's page_header()).
constexpr std::array<RealPage, 4> kRealPages = {{
    {"pg15_page_16384_blk0.bin", 0, 0x1777890, 0xCF61, 0x0002},  // heap, full (PD_PAGE_FULL)
    {"pg15_page_16384_blk1.bin", 1, 0x1778638, 0xC978, 0x0002},  // heap, full
    {"pg15_page_16384_blk3.bin", 3, 0x1779458, 0xD493, 0x0000},  // heap, last page, half empty
    {"pg15_page_16389_blk1.bin", 1, 0x1779408, 0xB3B3, 0x0000},  // btree leaf: pd_special 8176
}};

Bytes Page0() { return ReadDataFile(kRealPages[0].file); }

TEST(PostgresControlFile, ParsesRealPg15ControlFile) {
  Bytes b = ReadDataFile("pg15_pg_control");
  ASSERT_EQ(b.size(), 8192u);
  auto cf = ParseControlFile(b);
  ASSERT_TRUE(cf.ok()) << cf.status().ToString();
  // pg_controldata: "Database system identifier: 7710817179672026471", "pg_control version number: 1300",
  // "Database cluster state: shut down", "Latest checkpoint location: 0/17DAEE8",
  // "Latest checkpoint's REDO location: 0/17DAEE8", "Database block size: 8192", "Data page checksum version: 1".
  EXPECT_EQ(cf->system_identifier, 7710817179672026471ull);
  EXPECT_EQ(cf->pg_control_version, 1300u);
  EXPECT_EQ(cf->state, 1u);
  EXPECT_TRUE(cf->shut_down());
  EXPECT_EQ(cf->checkpoint_lsn, 0x17DAEE8u);
  EXPECT_EQ(cf->redo_lsn, 0x17DAEE8u);
  EXPECT_EQ(cf->block_size, 8192u);
  EXPECT_EQ(cf->data_checksum_version, 1u);
  EXPECT_TRUE(cf->checksums());
  EXPECT_EQ(cf->timeline, 1u);  // "Latest checkpoint's TimeLineID: 1"
}

TEST(PostgresControlFile, ReadsTheCheckpointsTimeline) {
  Bytes b = ReadDataFile("pg15_pg_control");
  Put32(b, 48, 3);  // checkPointCopy.ThisTimeLineID, as after two promotions
  FixControlCrc(b);
  auto cf = ParseControlFile(b);
  ASSERT_TRUE(cf.ok()) << cf.status().ToString();
  EXPECT_EQ(cf->timeline, 3u);
  EXPECT_EQ(cf->redo_lsn, 0x17DAEE8u) << "the field before it";
}

// Copied from the same cluster while it ran, just after a CHECKPOINT taken during an insert load, so the checkpoint
// record lies after its redo point: that tells the checkPoint field (@32) from checkPointCopy.redo (@40).
TEST(PostgresControlFile, ParsesRealPg15ControlFileOfARunningCluster) {
  auto cf = ParseControlFile(ReadDataFile("pg15_pg_control_running"));
  ASSERT_TRUE(cf.ok()) << cf.status().ToString();
  // pg_controldata: "Database cluster state: in production", "Latest checkpoint location: 0/4D0384D8",
  // "Latest checkpoint's REDO location: 0/4D0384A0".
  EXPECT_EQ(cf->system_identifier, 7710817179672026471ull);
  EXPECT_EQ(cf->state, 6u);
  EXPECT_FALSE(cf->shut_down());
  EXPECT_EQ(cf->checkpoint_lsn, 0x4D0384D8u);
  EXPECT_EQ(cf->redo_lsn, 0x4D0384A0u);
  EXPECT_TRUE(cf->checksums());
  // "WAL block size: 8192", "Bytes per WAL segment: 16777216".
  EXPECT_EQ(cf->wal_block_size, 8192u);
  EXPECT_EQ(cf->wal_segment_size, 16u << 20);
}

TEST(PostgresControlFile, ParsesAStoppedStandbysMinimumRecoveryPoint) {
  auto cf = ParseControlFile(ReadDataFile("pg15_pg_control_standby"));
  ASSERT_TRUE(cf.ok()) << cf.status().ToString();
  EXPECT_EQ(cf->state, 2u);  // DB_SHUTDOWNED_IN_RECOVERY
  EXPECT_EQ(cf->checkpoint_lsn, 0x2000060u);
  EXPECT_EQ(cf->redo_lsn, 0x2000028u);
  EXPECT_EQ(cf->min_recovery_point, 0x3635130u);
  auto primary = ParseControlFile(ReadDataFile("pg15_pg_control"));
  ASSERT_TRUE(primary.ok());
  EXPECT_EQ(primary->min_recovery_point, 0u);
}

TEST(PostgresWal, SegmentNamesAndPageAddresses) {
  constexpr uint32_t k16M = 16u << 20;
  auto s = ParseWalSegmentName("00000001000000000000004D", k16M);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->timeline, 1u);
  EXPECT_EQ(s->start, 0x4D000000u);
  s = ParseWalSegmentName("0000000A00000003000000FF", k16M);  // XLogFromFileName: log 3, seg 255
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->timeline, 10u);
  EXPECT_EQ(s->start, 0x3FF000000u);
  s = ParseWalSegmentName("000000010000000100000003", 1u << 30);  // 1 GiB segments: four per log
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->start, 0x1C0000000u);
  EXPECT_FALSE(ParseWalSegmentName("000000010000000100000004", 1u << 30));  // seg past the log's four
  EXPECT_FALSE(ParseWalSegmentName("00000001000000000000004d", k16M));      // PostgreSQL writes upper case
  EXPECT_FALSE(ParseWalSegmentName("00000001000000000000004D.partial", k16M));
  EXPECT_FALSE(ParseWalSegmentName("00000002.history", k16M));
  EXPECT_FALSE(ParseWalSegmentName("00000001000000000000004D", 3u << 20));  // not a power of two
  std::array<std::byte, 24> h{};
  const uint64_t addr = 0x4D002000;
  std::memcpy(h.data() + 8, &addr, 8);
  EXPECT_TRUE(IsWalPageAt(h, 0x4D002000));
  EXPECT_FALSE(IsWalPageAt(h, 0x4D004000));
  EXPECT_FALSE(IsWalPageAt(std::span<const std::byte>(h).first(16), 0x4D002000));
}

// The other way: the segment that holds an LSN (what a hot backup checks for in pg_wal), and the label
// pg_backup_stop gives, as PostgreSQL 15 wrote it.
TEST(PostgresWal, TheSegmentOfAnLsnAndABackupLabel) {
  constexpr uint32_t k16M = 16u << 20;
  EXPECT_EQ(WalSegmentName(1, 0x4D0384A0, k16M), "00000001000000000000004D");
  EXPECT_EQ(WalSegmentName(10, (uint64_t{3} << 32) + 0xFF000000u + 5, k16M), "0000000A00000003000000FF");
  EXPECT_EQ(WalSegmentName(1, (uint64_t{1} << 32) + (3u << 30), 1u << 30), "000000010000000100000003");
  EXPECT_EQ(ParseLsn("0/199B220"), std::optional<uint64_t>(0x199B220));
  EXPECT_EQ(ParseLsn("A/0"), std::optional<uint64_t>(uint64_t{10} << 32));
  for (const char* bad : {"", "/", "0/", "/1", "12", "0/1G", "100000000/0", "0/1 "}) EXPECT_EQ(ParseLsn(bad), std::nullopt) << bad;

  const std::string label =
      "START WAL LOCATION: 0/9000028 (file 000000010000000000000009)\n"
      "CHECKPOINT LOCATION: 0/9000060\n"
      "BACKUP METHOD: streamed\n"
      "BACKUP FROM: primary\n"
      "START TIME: 2026-12-01 23:40:01 UTC\n"
      "LABEL: scnfs backup of pg\n"
      "START TIMELINE: 1\n";
  auto l = ParseBackupLabel(label);
  ASSERT_TRUE(l.has_value());
  EXPECT_EQ(l->start_lsn, 0x9000028u);
  EXPECT_EQ(l->checkpoint_lsn, 0x9000060u);
  EXPECT_EQ(l->timeline, 1u);
  // A label without one of the three, or with one unreadable, is not taken.
  for (const char* cut : {"START WAL LOCATION", "CHECKPOINT LOCATION", "START TIMELINE"}) {
    std::string without;
    for (size_t at = 0; at < label.size();) {
      const size_t nl = label.find('\n', at);
      const std::string line = label.substr(at, nl - at + 1);
      if (!line.starts_with(cut)) without += line;
      at = nl + 1;
    }
    EXPECT_EQ(ParseBackupLabel(without), std::nullopt) << cut;
  }
  std::string bad = label;
  bad.replace(bad.find("1\n", bad.find("START TIMELINE")), 1, "x");
  EXPECT_EQ(ParseBackupLabel(bad), std::nullopt);
}

TEST(PostgresWal, TheEndOfTheLastPageIsAfterItsLastRecord) {
  const uint64_t a = 0x4D002000;
  std::vector<std::byte> page(8192);
  const auto put16 = [&](size_t at, uint16_t v) { std::memcpy(page.data() + at, &v, 2); };
  const auto put32 = [&](size_t at, uint32_t v) { std::memcpy(page.data() + at, &v, 4); };
  // A short header (24 bytes), then records of 50 and 100 bytes, each starting MAXALIGNed (at 24 and 80); zeros.
  put32(24, 50);
  put32(80, 100);
  EXPECT_EQ(WalEndInPage(page, a), a + 184);  // 80 + 100, MAXALIGNed as PostgreSQL's record ends are
  // No record at all: the end is after the header.
  std::fill(page.begin(), page.end(), std::byte{0});
  EXPECT_EQ(WalEndInPage(page, a), a + 24);
  // A segment's first page (long header, 40 bytes) that ends a record begun on the page before (30 bytes left), then
  // a record that goes on past the page: what was written ends with the page.
  put16(2, 0x0003);  // XLP_LONG_HEADER | XLP_FIRST_IS_CONTRECORD
  put32(16, 30);     // xlp_rem_len
  put32(72, 8200);
  EXPECT_EQ(WalEndInPage(page, a), a + 8192);
  put32(72, 0);
  EXPECT_EQ(WalEndInPage(page, a), a + 72);
  // The rest of an earlier record fills the page.
  put32(16, 9000);
  EXPECT_EQ(WalEndInPage(page, a), a + 8192);
}

TEST(PostgresControlFile, OnlyTheStructPartIsNeeded) {
  Bytes b = ReadDataFile("pg15_pg_control");
  b.resize(296);  // sizeof(ControlFileData); the rest of the 8 KiB file is padding
  EXPECT_TRUE(ParseControlFile(b).ok());
}

TEST(PostgresControlFile, AcceptsPg12AndPg17VersionsWithTheSameLayout) {
  for (uint32_t version : {1201u, 1700u}) {
    Bytes b = ReadDataFile("pg15_pg_control");
    Put32(b, 8, version);
    FixControlCrc(b);
    auto cf = ParseControlFile(b);
    ASSERT_TRUE(cf.ok()) << version << ": " << cf.status().ToString();
    EXPECT_EQ(cf->pg_control_version, version);
    EXPECT_EQ(cf->system_identifier, 7710817179672026471ull);
  }
}

TEST(PostgresControlFile, RefusesTruncatedAndGarbage) {
  Bytes real = ReadDataFile("pg15_pg_control");

  Bytes truncated(real.begin(), real.begin() + 200);
  auto r = ParseControlFile(truncated);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_FALSE(ParseControlFile(ByteSpan()).ok());

  Bytes zeros(8192);
  r = ParseControlFile(zeros);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);

  Bytes garbage(8192);
  for (size_t i = 0; i < garbage.size(); ++i) garbage[i] = std::byte((i * 131 + 7) & 0xFF);
  r = ParseControlFile(garbage);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
}

TEST(PostgresControlFile, RefusesBadCrc) {
  Bytes b = ReadDataFile("pg15_pg_control");
  b[0] ^= std::byte{0x01};  // system identifier changed, CRC not updated
  auto r = ParseControlFile(b);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(r.status().message().find("CRC"), std::string::npos) << r.status().message();
}

TEST(PostgresControlFile, RefusesUnknownVersionBlockSizeAndSegmentSize) {
  struct Edit {
    size_t off;
    uint32_t value;
  };
  for (Edit e : {Edit{8, 1100u}, Edit{8, 1800u}, Edit{216, 16384u}, Edit{220, 262144u}}) {
    Bytes b = ReadDataFile("pg15_pg_control");
    Put32(b, e.off, e.value);
    FixControlCrc(b);  // a valid CRC: only the field itself is wrong
    auto r = ParseControlFile(b);
    ASSERT_FALSE(r.ok()) << e.off << "=" << e.value;
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument);
  }
}

TEST(PostgresPageChecksum, MatchesRealPages) {
  for (const RealPage& rp : kRealPages) {
    Bytes b = ReadDataFile(rp.file);
    ASSERT_EQ(b.size(), kBlockSize) << rp.file;
    EXPECT_EQ(Get16(b, 8), rp.checksum) << rp.file;
    EXPECT_EQ(PageChecksum(b, rp.blkno), rp.checksum) << rp.file;
    // The block number is mixed in: the same page at another address does not verify.
    EXPECT_NE(PageChecksum(b, rp.blkno + 1), rp.checksum) << rp.file;
    EXPECT_NE(PageChecksum(b, rp.blkno + kSegmentBlocks), rp.checksum) << rp.file;
  }
}

TEST(PostgresPageChecksum, IgnoresTheStoredChecksumField) {
  Bytes b = Page0();
  Put16(b, 8, 0x1234);
  EXPECT_EQ(PageChecksum(b, 0), kRealPages[0].checksum);
}

TEST(PostgresPageChecksum, NeverZero) {
  Bytes b = Page0();
  EXPECT_NE(PageChecksum(b, 0), 0);
  EXPECT_EQ(PageChecksum(ByteSpan(b).first(100), 0), 0);  // wrong size: no checksum
}

TEST(PostgresRelationFormat, Basics) {
  auto f = MakeRelationFormat(0, true);
  EXPECT_EQ(f->id(), FormatId::kPostgres);
  EXPECT_EQ(f->block_size(), 8192u);
  EXPECT_TRUE(f->versioned_by_change());
  EXPECT_TRUE(f->CheckSize(0).ok());
  EXPECT_TRUE(f->CheckSize(8192ull * 3).ok());
  EXPECT_TRUE(f->CheckSize(8192ull * kSegmentBlocks).ok());
  // A partial last page (a crash while the relation was extended) is kept as read: BackupPlanTest.APartialLast...
  EXPECT_TRUE(f->CheckSize(8192ull * 3 + 100).ok());
}

TEST(PostgresRelationFormat, RealPagesAreOkWithLsnAndFingerprint) {
  auto with = MakeRelationFormat(0, true);
  auto without = MakeRelationFormat(0, false);
  for (const RealPage& rp : kRealPages) {
    Bytes b = ReadDataFile(rp.file);
    BlockCheck c = with->Check(rp.blkno, b);
    EXPECT_EQ(c.kind, BlockKind::kOk) << rp.file << ": " << BlockKindName(c.kind);
    EXPECT_FALSE(c.corrupt) << rp.file;
    EXPECT_EQ(c.change, rp.lsn) << rp.file;
    ASSERT_TRUE(c.fingerprint.has_value()) << rp.file;
    EXPECT_EQ(*c.fingerprint, uint32_t{rp.checksum} | (uint32_t{rp.flags} << 16)) << rp.file;

    // Without cluster checksums pd_checksum proves nothing: no fingerprint, but the LSN still versions the page.
    c = without->Check(rp.blkno, b);
    EXPECT_EQ(c.kind, BlockKind::kOk) << rp.file;
    EXPECT_EQ(c.change, rp.lsn) << rp.file;
    EXPECT_FALSE(c.fingerprint.has_value()) << rp.file;
  }
}

TEST(PostgresRelationFormat, ByteFlipIsBadChecksum) {
  auto f = MakeRelationFormat(0, true);
  Bytes b = Page0();
  b[6000] ^= std::byte{0x10};  // inside tuple data
  BlockCheck c = f->Check(0, b);
  EXPECT_EQ(c.kind, BlockKind::kBadChecksum);
  EXPECT_TRUE(c.corrupt);
  EXPECT_FALSE(c.fingerprint.has_value());
  EXPECT_EQ(c.change, kRealPages[0].lsn);

  // A flipped hint-bit-like change in the header flags that stays within PD_VALID_FLAG_BITS: still a checksum error.
  b = Page0();
  b[10] ^= std::byte{0x04};
  EXPECT_EQ(f->Check(0, b).kind, BlockKind::kBadChecksum);

  // Without checksums the same damage cannot be seen.
  b = Page0();
  b[6000] ^= std::byte{0x10};
  c = MakeRelationFormat(0, false)->Check(0, b);
  EXPECT_EQ(c.kind, BlockKind::kOk);
  EXPECT_FALSE(c.corrupt);
}

TEST(PostgresRelationFormat, PageAtTheWrongAddressIsBadChecksum) {
  auto f = MakeRelationFormat(0, true);
  Bytes b = Page0();
  EXPECT_EQ(f->Check(2, b).kind, BlockKind::kBadChecksum);
  EXPECT_EQ(MakeRelationFormat(1, true)->Check(0, b).kind, BlockKind::kBadChecksum);
}

TEST(PostgresRelationFormat, AllZeroPageIsEmpty) {
  Bytes zero(kBlockSize);
  for (bool checksums : {true, false}) {
    BlockCheck c = MakeRelationFormat(3, checksums)->Check(7, zero);
    EXPECT_EQ(c.kind, BlockKind::kEmpty);
    EXPECT_FALSE(c.corrupt);
    EXPECT_EQ(c.change, 0u);
    EXPECT_FALSE(c.fingerprint.has_value());
  }
}

TEST(PostgresRelationFormat, NewPageWithGarbageIsBadHeader) {
  // pd_upper == 0 marks a new page, which PostgreSQL requires to be all zeros.
  Bytes b(kBlockSize);
  b[4000] = std::byte{0x5A};
  BlockCheck c = MakeRelationFormat(0, true)->Check(0, b);
  EXPECT_EQ(c.kind, BlockKind::kBadHeader);
  EXPECT_TRUE(c.corrupt);

  b = Page0();
  Put16(b, 14, 0);  // pd_upper = 0 on an otherwise real page
  for (bool checksums : {true, false}) {
    c = MakeRelationFormat(0, checksums)->Check(0, b);
    EXPECT_EQ(c.kind, BlockKind::kBadHeader);
    EXPECT_TRUE(c.corrupt);
  }
}

TEST(PostgresRelationFormat, InsaneHeadersAreBadHeader) {
  struct Edit {
    const char* what;
    size_t off;
    uint16_t value;
  };
  const Edit edits[] = {
      {"pd_lower > pd_upper", 12, 440},      // pd_upper is 432
      {"pd_upper > pd_special", 14, 8200},   // pd_special is 8192
      {"pd_special > BLCKSZ", 16, 8200},
      {"pd_special not MAXALIGNed", 16, 8188},
      {"pd_lower below the header", 12, 20},
      {"unknown pd_flags bit", 10, 0x0008},
      {"page size/version", 18, 0x2003},
      {"page size/version (16 KiB)", 18, 0x4004},
  };
  for (const Edit& e : edits) {
    Bytes b = Page0();
    Put16(b, e.off, e.value);
    for (bool checksums : {true, false}) {
      // Re-checksumming proves the header check itself fires, not the checksum.
      Put16(b, 8, PageChecksum(b, 0));
      BlockCheck c = MakeRelationFormat(0, checksums)->Check(0, b);
      EXPECT_EQ(c.kind, BlockKind::kBadHeader) << e.what << " checksums=" << checksums;
      EXPECT_TRUE(c.corrupt) << e.what;
      EXPECT_FALSE(c.fingerprint.has_value()) << e.what;
    }
  }
}

TEST(PostgresRelationFormat, SegmentArithmetic) {
  // Block 5 of segment 1 ("16384.1") is relation block 131072 + 5 = 131077.
  Bytes b = Page0();
  const uint16_t sum = PageChecksum(b, 131077);
  Put16(b, 8, sum);
  BlockCheck c = MakeRelationFormat(1, true)->Check(5, b);
  EXPECT_EQ(c.kind, BlockKind::kOk);
  ASSERT_TRUE(c.fingerprint.has_value());
  EXPECT_EQ(*c.fingerprint & 0xFFFF, sum);
  EXPECT_EQ(MakeRelationFormat(0, true)->Check(5, b).kind, BlockKind::kBadChecksum);
  EXPECT_EQ(MakeRelationFormat(1, true)->Check(4, b).kind, BlockKind::kBadChecksum);
  EXPECT_EQ(MakeRelationFormat(2, true)->Check(5, b).kind, BlockKind::kBadChecksum);
}

TEST(PostgresRelationSegment, Paths) {
  struct Case {
    const char* path;
    std::optional<uint32_t> segment;
  };
  const Case cases[] = {
      {"base/5/16384", 0},
      {"base/5/16384.1", 1},
      {"base/5/16384.27", 27},
      {"base/5/16384_fsm", 0},
      {"base/5/16384_vm", 0},
      {"base/5/16384_init", 0},
      {"base/5/16384_fsm.2", 2},
      {"base/1/1259", 0},
      {"global/1262", 0},
      {"global/1262_vm", 0},
      {"global/1262.3", 3},
      {"pg_tblspc/16400/PG_15_202209061/5/16401", 0},
      {"pg_tblspc/16400/PG_15_202209061/5/16401_vm.4", 4},
      {"global/pg_control", std::nullopt},
      {"global/pg_filenode.map", std::nullopt},
      {"global/pg_internal.init", std::nullopt},
      {"base/5/pg_filenode.map", std::nullopt},
      {"base/5/pg_internal.init", std::nullopt},
      {"base/5/PG_VERSION", std::nullopt},
      {"PG_VERSION", std::nullopt},
      {"postgresql.conf", std::nullopt},
      {"pg_wal/000000010000000000000001", std::nullopt},
      {"pg_xact/0000", std::nullopt},
      {"base/5/t3_16384", std::nullopt},  // temporary relation: not WAL-logged
      {"base/pgsql_tmp/pgsql_tmp123.0", std::nullopt},
      {"base/5", std::nullopt},
      {"base/5/", std::nullopt},
      {"base/x/16384", std::nullopt},
      {"base/5/16384.", std::nullopt},
      {"base/5/16384.0", std::nullopt},
      {"base/5/16384.1.2", std::nullopt},
      {"base/5/016384", std::nullopt},
      {"base/5/16384_foo", std::nullopt},
      {"base/5/16384_fsm_vm", std::nullopt},
      {"base/5/_fsm", std::nullopt},
      {"base/5/99999999999", std::nullopt},
      {"base/5/sub/16384", std::nullopt},
      {"global/sub/1262", std::nullopt},
      {"pg_tblspc/16400/16401", std::nullopt},
      {"pg_tblspc/16400/PG_15_202209061/5", std::nullopt},
      {"pg_tblspc/16400/xx/5/16401", std::nullopt},
      {"/base/5/16384", std::nullopt},
      {"", std::nullopt},
  };
  for (const Case& c : cases) EXPECT_EQ(RelationSegment(c.path), c.segment) << c.path;
}

}  // namespace
}  // namespace scnfs::postgres
