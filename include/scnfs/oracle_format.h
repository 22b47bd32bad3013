// Oracle datafile format (shared/reference/oracle-datafile-format.md; docs/format-oracle.md).
//
// Parses block 0 (OS header) and block 1 (datafile header, kcvfh), checks every block DBVERIFY style, and computes
// and writes checksums for the test generator. Little-endian (Linux x86-64) only: a big-endian file is refused.
//
// Thread-safety: free functions are pure; OracleFormat is immutable.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "scnfs/format.h"

namespace scnfs::oracle {

inline constexpr uint32_t kMagic = 0x7A7B7C7D;          // block 0 @28
inline constexpr uint32_t kBlock0Marker = 0xFFC00000;   // block 0 @4
inline constexpr uint8_t kTypeDatafileHeader = 0x0B;
inline constexpr uint32_t kBigfileRelativeFileNo = 1024;

struct FileHeader {
  uint32_t block_size = 0;
  uint32_t blocks = 0;             // block 0 excluded: file size = (blocks + 1) * block_size
  uint32_t compat_version = 0;     // e.g. 0x13000000 = 19.0.0
  uint32_t dbid = 0;
  std::string db_name;
  uint16_t file_number = 0;        // absolute FILE#
  uint32_t relative_file_number = 0;  // 1024 = bigfile
  uint16_t file_type = 0;          // 3 datafile, 2 redo log
  uint64_t creation_scn = 0;
  uint32_t creation_time = 0;      // Oracle time
  uint32_t resetlogs_id = 0;
  uint64_t resetlogs_scn = 0;
  uint16_t status_flags = 0;       // 0x01 hot backup, 0x04 online fuzzy, ...
  uint32_t checkpoint_count = 0;
  uint32_t tablespace_number = 0;
  std::string tablespace_name;
  uint64_t checkpoint_scn = 0;
  uint32_t checkpoint_time = 0;    // Oracle time
  bool salvaged = false;           // block 1 is damaged: only block size, blocks and file number are known
  bool bigfile() const { return relative_file_number == kBigfileRelativeFileNo; }
};

// Reads the 8-byte SCN encoding of file and redo headers (section 7 of the reference).
uint64_t DecodeScn8(const std::byte* p);
void EncodeScn8(uint64_t scn, std::byte* p);

// Oracle time (section 8) <-> calendar fields. ToIso8601 gives "YYYY-MM-DDTHH:MM:SS" (database host local time).
uint32_t EncodeTime(int year, int month, int day, int hour, int minute, int second);
std::string TimeToIso8601(uint32_t t);

// 16-bit XOR residual of the whole block: 0 when the checksum (with flg 0x04) is right.
uint16_t ChecksumResidual(ByteSpan block);
// Sets chkval (bytes 16-17) so that the residual is 0. `block` must be writable.
void SetChecksum(std::span<std::byte> block);

// Cheap test on the first bytes of a file (at least 32 bytes of block 0): is this an Oracle datafile?
bool LooksLikeOracle(ByteSpan block0_prefix);
// Whether block 0 carries the magic 0x7A7B7C7D (either byte order), whatever else it holds.
bool HasBlock0Magic(ByteSpan block0_prefix);

// The block size block 0 records, once its magic says it is a little-endian datafile and the size is one Oracle
// uses (a power of two from 512 to 32768). Fails with InvalidArgument naming the problem, as ParseFileHeader.
Result<uint32_t> Block0BlockSize(ByteSpan block0_prefix);

// Parses blocks 0 and 1. `head` holds at least two blocks (2 * block size, the block size read from block 0).
// Fails with InvalidArgument naming the problem (bad magic, big endian, not a datafile header, ...).
Result<FileHeader> ParseFileHeader(ByteSpan head);

// For a datafile whose block 0 is sound and whose block 1 is damaged (it fails the block checks: all zero, bad
// frmt, fractured, bad checksum), what checking its blocks needs, so that it is checked and backed up like any
// other and block 1 reports as corrupt (DBVERIFY reports a damaged header block; it does not give up on the file):
// the block size from block 0, the block count from `file_size`, the relative file number (and bigfile) from the
// addresses of the data blocks in `more` (blocks 2, 3, ..., as many as the caller read). Fails when block 1 is a
// sound block that is not a datafile header: a redo log or a control file is not a datafile.
Result<FileHeader> SalvageFileHeader(ByteSpan head, ByteSpan more, uint64_t file_size);

// For a datafile whose block 0 (the OS header) is damaged, so that its block size is unknown: block 1 at each
// Oracle block size is tried, and a sound datafile header there (the block-size code of its frmt, its tail and
// checksum agree, file type 3, and its block size field names the same size) is parsed. Block 0 then checks as
// one corrupt block, as DBVERIFY reports it, and the file is backed up and checked like any other (one damaged
// block 0 made a whole database impossible to back up, and `verify --file` called the file raw, exit 0).
// `head`: the file's first 64 KiB, or all of it when shorter. Fails when no size gives such a header.
Result<FileHeader> HeaderBesideDamagedBlock0(ByteSpan head);

// For a datafile whose blocks 0 and 1 are both damaged (its start overwritten): the block size at which the blocks
// from 2 on (as many of the first 64 as `start` holds) are sound datafile blocks at the addresses they name, most of
// those not all zero and at least 3, and the relative file number most of them carry (`salvaged`). `start`: the
// file's first bytes, best kDataBlocksProbe. Fails when no block size, or more than one, fits.
constexpr uint64_t kDataBlocksProbe = 66 * 32768;
Result<FileHeader> HeaderFromDataBlocks(ByteSpan start, uint64_t file_size);

// What backup and verify read a datafile's header with: ParseFileHeader, whose result is taken only when block 1
// also passes the block checks (frmt, tail, checksum; else it is salvaged as below: its fields are not believed);
// when that fails, a redo log is refused by
// name, then HeaderBesideDamagedBlock0 (block 0 damaged), then SalvageFileHeader (block 1 damaged) with up to 64
// blocks from block 2 on, which `read_at(offset, buffer)` fills in (called only then). `head`: the file's first
// bytes, at least two blocks and best 64 KiB (block 1 of every block size). Errors of `read_at` are returned as
// they are; a header that can be neither parsed nor salvaged fails with ParseFileHeader's reason, in `context`
// (the file's name). A file whose blocks 0 and 1 are both damaged is read with HeaderFromDataBlocks, read_at(0, ...)
// giving its start.
Result<FileHeader> ReadFileHeader(ByteSpan head, uint64_t file_size, std::string_view context,
                                  const std::function<Status(uint64_t, std::span<std::byte>)>& read_at);

// The block's SCN from its header: (spare bytes 2-3, wrap, base) as in section 1.
uint64_t BlockScn(ByteSpan block);

// What DBVERIFY prints of a bad block's header (ref §9): "Data in bad block: type, format, rdba, last change scn,
// seq, flg, consistency value in tail, check value in block header, computed block checksum". REQUIRES: a whole
// block (at least 20 bytes).
struct BlockHeaderFields {
  uint8_t type = 0, frmt = 0, seq = 0, flg = 0;
  uint32_t rdba = 0, tail = 0;
  uint64_t scn = 0;
  uint16_t chkval = 0, residual = 0;
};
BlockHeaderFields ReadBlockHeaderFields(ByteSpan block);

// A FileFormat for one datafile whose header was parsed. Block 0 is checked as the OS header block; block 1's
// version is its checkpoint SCN; every other block's version is its header SCN.
std::unique_ptr<FileFormat> MakeFormat(const FileHeader& header);

}  // namespace scnfs::oracle
