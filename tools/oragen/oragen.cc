// scnfs-oragen: writes and edits synthetic Oracle datafiles for tests and benchmarks.
//
// No public Oracle datafile exists, so fixtures come from this generator, built from
// shared/reference/oracle-datafile-format.md. It encodes blocks itself (its own offsets, from the reference) instead
// of sharing the library's: the library's parser then checks an independent encoder, so a misread offset shows up
// as a failing test instead of two matching mistakes. Only SetChecksum/ParseFileHeader/EncodeScn8/EncodeTime are
// borrowed from the library.
//
// Output is deterministic for a given --seed (and --time); data blocks look like table blocks (ITLs, row directory,
// rows of words, numbers and dates, some random bytes) so that they compress about like real ones.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "scnfs/oracle_format.h"

namespace scnfs::oracle::oragen {
namespace {

using Bytes = std::span<std::byte>;

// --- Layout (reference sections 1, 5, 6) -------------------------------------------------------------------------

constexpr uint32_t kSmallfileMaxBlocks = (1u << 22) - 1;
constexpr uint8_t kTypeData = 0x06;
constexpr uint8_t kFlgNew = 0x01;
constexpr uint8_t kFlgChecksum = 0x04;
constexpr uint32_t kCompat19c = 0x13000000;
constexpr uint16_t kStatusOnlineFuzzy = 0x04;  // an open database's files carry it

uint8_t FrmtFor(uint32_t block_size) {
  switch (block_size) {
    case 2048: return 0x62;
    case 4096: return 0x82;
    case 8192: return 0xA2;
    case 16384: return 0xC2;
    case 32768: return 0xE2;
  }
  return 0;
}

void Put8(Bytes b, size_t off, uint8_t v) { b[off] = std::byte{v}; }
void Put16(Bytes b, size_t off, uint16_t v) {
  for (int i = 0; i < 2; ++i) b[off + i] = static_cast<std::byte>(v >> (8 * i));
}
void Put32(Bytes b, size_t off, uint32_t v) {
  for (int i = 0; i < 4; ++i) b[off + i] = static_cast<std::byte>(v >> (8 * i));
}
uint8_t Get8(std::span<const std::byte> b, size_t off) { return std::to_integer<uint8_t>(b[off]); }
uint32_t Get32(std::span<const std::byte> b, size_t off) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::to_integer<uint32_t>(b[off + i]) << (8 * i);
  return v;
}

// Tail = low 16 bits of the SCN base, type, seq (ref §2): recomputed after any header edit.
void SetTail(Bytes b) {
  const uint32_t tail = (Get32(b, 8) & 0xFFFF) << 16 | uint32_t{Get8(b, 0)} << 8 | Get8(b, 14);
  Put32(b, b.size() - 4, tail);
}

// Tail first (it is covered by the checksum), then the checksum if the block claims one.
void Seal(Bytes b) {
  SetTail(b);
  if (Get8(b, 15) & kFlgChecksum) SetChecksum(b);
}

void PutKcbh(Bytes b, uint8_t type, uint32_t rdba, uint64_t scn, uint8_t seq, uint8_t flg) {
  Put8(b, 0, type);
  Put8(b, 1, FrmtFor(static_cast<uint32_t>(b.size())));
  Put16(b, 2, static_cast<uint16_t>(scn >> 48));
  Put32(b, 4, rdba);
  Put32(b, 8, static_cast<uint32_t>(scn));
  Put16(b, 12, static_cast<uint16_t>(scn >> 32));
  Put8(b, 14, seq);
  Put8(b, 15, flg);
}

uint32_t Rdba(uint32_t rfn, uint64_t blockno) {
  if (rfn == kBigfileRelativeFileNo) return static_cast<uint32_t>(blockno);
  return rfn << 22 | static_cast<uint32_t>(blockno);
}

// --- Deterministic randomness ------------------------------------------------------------------------------------

// splitmix64: one add and a few multiplies per draw; more than fast enough to fill blocks at disk speed.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t Next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  uint32_t Below(uint32_t n) { return static_cast<uint32_t>(((Next() >> 32) * n) >> 32); }

 private:
  uint64_t s_;
};

// One stream per (seed, file, block, scn): a block's content does not depend on which other blocks were written.
uint64_t BlockSeed(uint64_t seed, uint32_t file, uint64_t blockno, uint64_t scn) {
  Rng r(seed ^ (uint64_t{file} << 40) ^ (blockno * 0x9E3779B97F4A7C15ull) ^ (scn * 0xD6E8FEB86659FD93ull));
  return r.Next();
}

// --- Block builders ----------------------------------------------------------------------------------------------

constexpr std::string_view kWords[] = {
    "ACME",    "NORTH",  "SOUTH",   "EAST",    "WEST",     "ORDER",   "INVOICE", "PENDING", "SHIPPED", "CLOSED",
    "OPEN",    "ALPHA",  "BRAVO",   "CHARLIE", "DELTA",    "ECHO",    "SMITH",   "JONES",   "MILLER",  "BROWN",
    "WILSON",  "TAYLOR", "LONDON",  "PARIS",   "BERLIN",   "MADRID",  "ROME",    "OSLO",    "VIENNA",  "WIDGET",
    "GADGET",  "BOLT",   "NUT",     "SCREW",   "PANEL",    "CABLE",   "MOTOR",   "PUMP",    "VALVE",   "SENSOR",
    "RED",     "GREEN",  "BLUE",    "BLACK",   "WHITE",    "SMALL",   "MEDIUM",  "LARGE",   "STANDARD", "PREMIUM",
    "RETAIL",  "BULK",   "ONLINE",  "STORE",   "CREDIT",   "DEBIT",   "CASH",    "REFUND",  "RETURN",  "EXPRESS",
    "GROUND",  "AIR",    "SEA",     "RAIL"};
constexpr uint32_t kWordCount = sizeof(kWords) / sizeof(kWords[0]);

// Oracle NUMBER for a non-negative integer: exponent byte, then base-100 digits + 1, trailing zero digits dropped.
size_t PutNumber(uint8_t* p, uint64_t n) {
  if (n == 0) {
    p[0] = 0x80;
    return 1;
  }
  uint8_t digits[10] = {};
  int nd = 0;
  for (; n > 0; n /= 100) digits[nd++] = static_cast<uint8_t>(n % 100);
  int last = 0;  // lowest non-zero digit
  while (digits[last] == 0) ++last;
  size_t len = 0;
  p[len++] = static_cast<uint8_t>(0xC1 + nd - 1);
  for (int i = nd - 1; i >= last; --i) p[len++] = static_cast<uint8_t>(digits[i] + 1);
  return len;
}

// One row (flag 0x2C, lock, column count, length-prefixed columns):
// ID NUMBER, NAME VARCHAR2, STATUS VARCHAR2, CREATED DATE, AMOUNT NUMBER, REF RAW.
struct RowDay {
  uint8_t year, month, day;  // Oracle DATE bytes: year of century + 100 (the century byte is 120, 20xx), month, day
};

size_t BuildRow(uint8_t* row, uint64_t id, RowDay day, Rng& rng) {
  size_t n = 0;
  row[n++] = 0x2C;
  row[n++] = 0x00;
  row[n++] = 6;
  uint8_t* len = &row[n++];
  *len = static_cast<uint8_t>(PutNumber(&row[n], id));
  n += *len;
  uint64_t r = rng.Next();
  len = &row[n++];
  const size_t name_start = n;
  // NAME is one of 256 customers (2 or 3 words): a table repeats its values, which is what compresses.
  const uint32_t customer = r & 0xFF;
  const uint32_t words[3] = {customer % kWordCount, (customer * 37 + 11) % kWordCount,
                             (customer * 13 + 5) % kWordCount};
  for (uint32_t w = 0; w < 2 + (customer >> 7); ++w) {
    if (w > 0) row[n++] = ' ';
    const std::string_view word = kWords[words[w]];
    std::memcpy(&row[n], word.data(), word.size());
    n += word.size();
  }
  *len = static_cast<uint8_t>(n - name_start);
  const std::string_view status = kWords[5 + (r >> 20) % 5];
  row[n++] = static_cast<uint8_t>(status.size());
  std::memcpy(&row[n], status.data(), status.size());
  n += status.size();
  // Rows inserted together share their day (as in a real table block); only the time of day varies.
  r = rng.Next();
  const uint8_t date[7] = {120, day.year, day.month, day.day, static_cast<uint8_t>(1 + r % 24),
                           static_cast<uint8_t>(1 + (r >> 8) % 60), 1};
  row[n++] = 7;
  std::memcpy(&row[n], date, 7);
  n += 7;
  len = &row[n++];
  *len = static_cast<uint8_t>(PutNumber(&row[n], (r >> 40) % 2000 * 50));
  n += *len;
  // A RAW column of random bytes keeps the compression ratio near that of real tables (2-4x), not text-only.
  const uint64_t a = rng.Next();
  const size_t raw = 4 + (a & 3);
  row[n++] = static_cast<uint8_t>(raw);
  std::memcpy(&row[n], reinterpret_cast<const uint8_t*>(&a) + 1, raw);
  n += raw;
  return n;
}

struct FileIdentity {
  uint32_t block_size;
  uint32_t rfn;
  uint32_t file_number;
  uint64_t seed;
};

// A table block: kcbh, transaction header with 2 ITLs, data header, row directory, free space (zeros, including
// PCTFREE), rows packed from the end of the block as Oracle does. `index`: the transaction header says index
// (ktbbh type 2, reference section 4), which is all DBVERIFY's Data/Index split looks at; the rest stays a table's.
void BuildDataBlock(Bytes b, const FileIdentity& id, uint64_t blockno, uint64_t scn, Rng& rng, bool index = false) {
  std::memset(b.data(), 0, b.size());
  const uint8_t seq = static_cast<uint8_t>(1 + rng.Below(254));
  PutKcbh(b, kTypeData, Rdba(id.rfn, blockno), scn, seq, kFlgChecksum);
  Put8(b, 20, index ? 2 : 1);  // ktbbh type: data or index
  Put32(b, 24, 70000 + id.file_number);  // object id
  Put32(b, 28, static_cast<uint32_t>(scn));
  Put8(b, 36, 2);  // ITL count
  for (size_t itl = 44; itl < 44 + 48; itl += 24) {
    const uint64_t x = rng.Next(), u = rng.Next();
    std::memcpy(&b[itl], &x, 8);
    std::memcpy(&b[itl + 8], &u, 8);
    Put32(b, itl + 20, static_cast<uint32_t>(scn - rng.Below(50)));
  }
  constexpr size_t kKdbh = 92, kRowDir = kKdbh + 18;
  const size_t pctfree = b.size() / 10;
  size_t top = b.size() - 4, rows = 0;
  uint8_t row[160];
  const uint64_t first_id = blockno * 200;
  const uint64_t d = rng.Next();
  const RowDay day{static_cast<uint8_t>(100 + 20 + d % 5), static_cast<uint8_t>(1 + (d >> 8) % 12),
                   static_cast<uint8_t>(1 + (d >> 16) % 28)};
  while (true) {
    const size_t len = BuildRow(row, first_id + rows, day, rng);
    if (top < kRowDir + 2 * (rows + 1) + pctfree + len) break;
    top -= len;
    std::memcpy(&b[top], row, len);
    Put16(b, kRowDir + 2 * rows, static_cast<uint16_t>(top - kKdbh));
    ++rows;
  }
  Put8(b, kKdbh + 1, 1);                                     // tables
  Put16(b, kKdbh + 2, static_cast<uint16_t>(rows));          // rows
  Put16(b, kKdbh + 6, static_cast<uint16_t>(kRowDir + 2 * rows - kKdbh));  // free space begins
  Put16(b, kKdbh + 8, static_cast<uint16_t>(top - kKdbh));   // free space ends
  Put16(b, kKdbh + 16, static_cast<uint16_t>(rows));         // table 0 row count
  Seal(b);
}

// Formatted-never-used (ref §4): type 0, rdba = block number only, SCN 0, seq 1, flg 0x05, tail 0x00000001.
void BuildEmptyBlock(Bytes b, uint64_t blockno) {
  std::memset(b.data(), 0, b.size());
  PutKcbh(b, 0, static_cast<uint32_t>(blockno), 0, 1, kFlgNew | kFlgChecksum);
  Seal(b);
}

void BuildBlock0(Bytes b, uint32_t blocks) {
  std::memset(b.data(), 0, b.size());
  Put8(b, 1, FrmtFor(static_cast<uint32_t>(b.size())));
  Put32(b, 4, kBlock0Marker);
  Put32(b, 20, static_cast<uint32_t>(b.size()));
  Put32(b, 24, blocks);
  Put32(b, 28, kMagic);
  SetChecksum(b);
}

struct HeaderFields {
  uint32_t dbid = 0;
  std::string db_name;
  uint32_t blocks = 0;
  uint16_t file_number = 0;
  uint32_t rfn = 0;
  uint64_t creation_scn = 0;
  uint32_t creation_time = 0;
  uint32_t resetlogs_id = 0;
  uint64_t resetlogs_scn = 0;
  uint32_t checkpoint_count = 0;
  uint32_t tablespace_number = 0;
  std::string tablespace;
  uint64_t checkpoint_scn = 0;
  uint32_t checkpoint_time = 0;
};

void SetCheckpoint(Bytes b, uint64_t scn, uint32_t time, uint32_t count) {
  Put32(b, 140, count);
  EncodeScn8(scn, &b[484]);
  Put32(b, 492, time);
  Put16(b, 496, 1);       // thread
  Put32(b, 500, count);   // redo log sequence of the checkpoint: plausible, not meaningful here
  Put32(b, 504, 2);
  Put16(b, 508, 16);
  SetChecksum(b);
}

// Block 1, kcvfh (ref §6). Its own kcbh SCN is 0: its version is the checkpoint SCN.
void BuildFileHeader(Bytes b, const HeaderFields& h) {
  std::memset(b.data(), 0, b.size());
  PutKcbh(b, kTypeDatafileHeader, Rdba(h.rfn, 1), 0, 1, kFlgChecksum);
  Put32(b, 24, kCompat19c);
  Put32(b, 28, h.dbid);
  std::memcpy(&b[32], h.db_name.data(), h.db_name.size());
  Put32(b, 44, h.blocks);
  Put32(b, 48, static_cast<uint32_t>(b.size()));
  Put16(b, 52, h.file_number);
  Put16(b, 54, 3);
  EncodeScn8(h.creation_scn, &b[100]);
  Put32(b, 108, h.creation_time);
  Put32(b, 112, h.resetlogs_id);
  EncodeScn8(h.resetlogs_scn, &b[116]);
  Put16(b, 138, kStatusOnlineFuzzy);
  Put32(b, 332, h.tablespace_number);
  Put16(b, 336, static_cast<uint16_t>(h.tablespace.size()));
  std::memcpy(&b[338], h.tablespace.data(), h.tablespace.size());
  Put32(b, 368, h.rfn);
  SetTail(b);
  SetCheckpoint(b, h.checkpoint_scn, h.checkpoint_time, h.checkpoint_count);
}

// --- File I/O ----------------------------------------------------------------------------------------------------

class File {
 public:
  static Result<File> Open(const std::string& path, int flags) {
    const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno(errno, path);
    return File(fd, path);
  }
  File(File&& o) noexcept : fd_(std::exchange(o.fd_, -1)), path_(std::move(o.path_)) {}
  File(const File&) = delete;
  ~File() {
    if (fd_ >= 0) ::close(fd_);
  }
  Status ReadAt(uint64_t off, Bytes buf) const {
    for (size_t done = 0; done < buf.size();) {
      const ssize_t n = ::pread(fd_, buf.data() + done, buf.size() - done, static_cast<off_t>(off + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno(errno, "read " + path_);
      if (n == 0) return Status::InvalidArgument(fmt::format("{}: unexpected end of file at byte {}", path_, off));
      done += static_cast<size_t>(n);
    }
    return Status::OK();
  }
  Status WriteAt(uint64_t off, std::span<const std::byte> buf) const {
    for (size_t done = 0; done < buf.size();) {
      const ssize_t n = ::pwrite(fd_, buf.data() + done, buf.size() - done, static_cast<off_t>(off + done));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno(errno, "write " + path_);
      done += static_cast<size_t>(n);
    }
    return Status::OK();
  }
  Result<uint64_t> Size() const {
    struct stat st;
    if (::fstat(fd_, &st) != 0) return Status::FromErrno(errno, "stat " + path_);
    return static_cast<uint64_t>(st.st_size);
  }
  Status Truncate(uint64_t size) const {
    if (::ftruncate(fd_, static_cast<off_t>(size)) != 0) return Status::FromErrno(errno, "truncate " + path_);
    return Status::OK();
  }
  const std::string& path() const { return path_; }

 private:
  File(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  int fd_;
  std::string path_;
};

// An existing datafile opened for editing: its parsed header and its size in blocks (block 0 included).
struct Datafile {
  File file;
  FileHeader header;
  uint64_t nblocks;
};

Result<Datafile> OpenDatafile(const std::string& path) {
  SCNFS_ASSIGN_OR_RETURN(File f, File::Open(path, O_RDWR));
  std::vector<std::byte> head(32);
  SCNFS_RETURN_IF_ERROR(f.ReadAt(0, head));
  // A wrong or byte-swapped magic: let the parser name the problem (it fails on the magic alone).
  if (Get32(head, 28) != kMagic) return ParseFileHeader(head).status().WithContext(path);
  const uint32_t bs = Get32(head, 20);
  if (FrmtFor(bs) == 0) return Status::InvalidArgument(fmt::format("{}: unsupported block size {}", path, bs));
  head.resize(2 * bs);
  SCNFS_RETURN_IF_ERROR(f.ReadAt(0, head));
  Result<FileHeader> h = ParseFileHeader(head);
  if (!h.ok()) return h.status().WithContext(path);
  SCNFS_ASSIGN_OR_RETURN(uint64_t size, f.Size());
  const uint64_t nblocks = size / bs;
  return Datafile{std::move(f), std::move(h).value(), nblocks};
}

// Rewrites the block count in block 0 and block 1 (checksums fixed): `blocks` excludes block 0.
Status WriteBlockCounts(const Datafile& df, uint32_t blocks) {
  const uint32_t bs = df.header.block_size;
  std::vector<std::byte> head(2 * bs);
  SCNFS_RETURN_IF_ERROR(df.file.ReadAt(0, head));
  const Bytes b0(head.data(), bs), b1(head.data() + bs, bs);
  Put32(b0, 24, blocks);
  SetChecksum(b0);
  Put32(b1, 44, blocks);
  SetChecksum(b1);
  return df.file.WriteAt(0, head);
}

// --- Time and parsing helpers ------------------------------------------------------------------------------------

uint32_t OracleNow() {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  localtime_r(&t, &tm);
  return EncodeTime(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

// --time "YYYY-MM-DDTHH:MM:SS" pins the checkpoint time (byte-identical output); empty means now.
Result<uint32_t> CheckpointTime(const std::string& iso) {
  if (iso.empty()) return OracleNow();
  int y, mo, d, h, mi, s;
  char tail;
  if (std::sscanf(iso.c_str(), "%d-%d-%dT%d:%d:%d%c", &y, &mo, &d, &h, &mi, &s, &tail) != 6 || y < 1988 ||
      mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59 || h < 0 || mi < 0 || s < 0) {
    return Status::InvalidArgument("--time must be YYYY-MM-DDTHH:MM:SS (1988 or later), got '" + iso + "'");
  }
  return EncodeTime(y, mo, d, h, mi, s);
}

// "5,7,100-120" -> sorted unique block numbers, each in [first, end).
Result<std::vector<uint64_t>> ParseBlockList(const std::string& list, uint64_t first, uint64_t end) {
  std::vector<uint64_t> out;
  size_t pos = 0;
  while (pos <= list.size()) {
    const size_t comma = std::min(list.find(',', pos), list.size());
    const std::string item = list.substr(pos, comma - pos);
    unsigned long long from, to;
    char extra;
    if (std::sscanf(item.c_str(), "%llu-%llu%c", &from, &to, &extra) == 2) {
    } else if (std::sscanf(item.c_str(), "%llu%c", &from, &extra) == 1 && item.find('-') == std::string::npos) {
      to = from;
    } else {
      return Status::InvalidArgument("bad block list item '" + item + "' (expected N or N-M, comma separated)");
    }
    if (to < from) return Status::InvalidArgument("bad block range '" + item + "': end before start");
    if (from < first || to >= end) {
      return Status::InvalidArgument(
          fmt::format("block list item '{}' is outside the data blocks {} to {}", item, first, end - 1));
    }
    for (uint64_t b = from; b <= to; ++b) out.push_back(b);
    pos = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// Exactly round(fraction * n) of blocks first..first+n-1, in order (Knuth's selection sampling).
std::vector<uint64_t> SampleBlocks(uint64_t first, uint64_t n, double fraction, Rng& rng) {
  uint64_t want = static_cast<uint64_t>(std::llround(fraction * static_cast<double>(n)));
  std::vector<uint64_t> out;
  out.reserve(want);
  for (uint64_t i = 0; i < n && want > 0; ++i) {
    if (static_cast<double>(rng.Next() >> 11) * 0x1.0p-53 * static_cast<double>(n - i) < static_cast<double>(want)) {
      out.push_back(first + i);
      --want;
    }
  }
  return out;
}

std::string ToUpper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}
std::string ToLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// --- Subcommands -------------------------------------------------------------------------------------------------

struct CreateOptions {
  std::string dir, db, tablespace = "USERS", time;
  uint32_t dbid = 0, files = 0, blocks = 0, block_size = 8192, tablespace_number = 4;
  uint64_t scn = 1000, seed = 0;
  bool bigfile = false;
  double empty_fraction = 0.1;
  uint32_t index_every = 0;  // every Nth block number is an index block; 0: none
};

Status ValidateCreate(const CreateOptions& o) {
  if (FrmtFor(o.block_size) == 0) {
    return Status::InvalidArgument(
        fmt::format("--block-size {} is not 2048, 4096, 8192, 16384 or 32768", o.block_size));
  }
  if (o.db.empty() || o.db.size() > 8) return Status::InvalidArgument("--db must be 1 to 8 characters");
  if (o.tablespace.empty() || o.tablespace.size() > 30) {
    return Status::InvalidArgument("--tablespace must be 1 to 30 characters");
  }
  if (o.files == 0 || (!o.bigfile && o.files >= kBigfileRelativeFileNo)) {
    return Status::InvalidArgument("--files must be 1 to 1023");
  }
  if (o.blocks < 2) return Status::InvalidArgument("--blocks must be at least 2 (file header and one data block)");
  if (!o.bigfile && o.blocks > kSmallfileMaxBlocks) {
    return Status::InvalidArgument(fmt::format("--blocks {} exceeds a smallfile's {} (use --bigfile)", o.blocks,
                                               kSmallfileMaxBlocks));
  }
  if (o.blocks == UINT32_MAX) return Status::InvalidArgument("--blocks is too large");
  if (o.scn < 2 || o.scn >= (uint64_t{1} << 62)) return Status::InvalidArgument("--scn must be 2 to 2^62");
  if (!(o.empty_fraction >= 0 && o.empty_fraction <= 1)) {
    return Status::InvalidArgument("--empty-fraction must be between 0 and 1");
  }
  return Status::OK();
}

Status CreateOneFile(const CreateOptions& o, uint32_t fileno, uint32_t ckpt_time) {
  const std::string path = fmt::format("{}/{}_{}.dbf", o.dir, ToLower(o.db), fileno);
  SCNFS_ASSIGN_OR_RETURN(File f, File::Open(path, O_WRONLY | O_CREAT | O_TRUNC));
  const uint32_t bs = o.block_size;
  const FileIdentity id{bs, o.bigfile ? kBigfileRelativeFileNo : fileno, fileno, o.seed};
  HeaderFields h;
  h.dbid = o.dbid;
  h.db_name = ToUpper(o.db);
  h.blocks = o.blocks;
  h.file_number = static_cast<uint16_t>(fileno);
  h.rfn = id.rfn;
  h.creation_scn = o.scn > 1000 ? o.scn - 1000 : 1;  // below every data block's SCN
  h.resetlogs_id = EncodeTime(2023, 1, 15, 9, 0, 0);
  h.creation_time = h.resetlogs_id + 60 * fileno;
  h.resetlogs_scn = 1;
  h.checkpoint_count = 1;
  h.tablespace_number = o.tablespace_number;
  h.tablespace = ToUpper(o.tablespace);
  h.checkpoint_scn = o.scn;
  h.checkpoint_time = ckpt_time;

  const uint64_t total = uint64_t{o.blocks} + 1;
  const uint64_t ndata = o.blocks - 1;
  const uint64_t first_empty = total - static_cast<uint64_t>(o.empty_fraction * static_cast<double>(ndata));
  constexpr size_t kChunkBytes = 8 << 20;  // large writes: the generator must outrun the disk
  const size_t chunk_blocks = std::max<size_t>(1, kChunkBytes / bs);
  std::vector<std::byte> buf(chunk_blocks * bs);
  for (uint64_t start = 0; start < total; start += chunk_blocks) {
    const uint64_t n = std::min<uint64_t>(chunk_blocks, total - start);
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t blockno = start + i;
      const Bytes b(buf.data() + i * bs, bs);
      if (blockno == 0) {
        BuildBlock0(b, o.blocks);
      } else if (blockno == 1) {
        BuildFileHeader(b, h);
      } else if (blockno >= first_empty) {
        BuildEmptyBlock(b, blockno);
      } else {
        Rng rng(BlockSeed(o.seed, fileno, blockno, o.scn));
        const uint64_t back = rng.Below(1000);
        BuildDataBlock(b, id, blockno, o.scn > back ? o.scn - back : 1, rng, o.index_every && blockno % o.index_every == 0);
      }
    }
    SCNFS_RETURN_IF_ERROR(f.WriteAt(start * bs, std::span<const std::byte>(buf.data(), n * bs)));
  }
  return Status::OK();
}

Status RunCreate(const CreateOptions& o) {
  SCNFS_RETURN_IF_ERROR(ValidateCreate(o));
  SCNFS_ASSIGN_OR_RETURN(uint32_t ckpt_time, CheckpointTime(o.time));
  std::error_code ec;
  std::filesystem::create_directories(o.dir, ec);
  if (ec) return Status::IOError(fmt::format("cannot create directory {}: {}", o.dir, ec.message()));
  for (uint32_t i = 1; i <= o.files; ++i) SCNFS_RETURN_IF_ERROR(CreateOneFile(o, i, ckpt_time));
  return Status::OK();
}

struct ChangeOptions {
  std::string file, blocks, time, changed_out, relative_to;
  uint64_t scn = 0, seed = 0;
  uint32_t resetlogs_id = 0;  // 0: keep the header's incarnation
  uint64_t resetlogs_scn = 0;
  double fraction = -1;
};

// "<path relative to DIR> <from> <to>" per run of consecutive blocks, appended in one write.
Status AppendChangedRanges(const ChangeOptions& o, const std::vector<uint64_t>& sorted_blocks) {
  namespace fs = std::filesystem;
  std::string name = o.file;
  if (!o.relative_to.empty()) {
    std::error_code ec;
    name = fs::weakly_canonical(o.file, ec).lexically_relative(fs::weakly_canonical(o.relative_to, ec)).string();
    if (ec || name.empty()) return Status::InvalidArgument("cannot make " + o.file + " relative to " + o.relative_to);
  }
  std::string text;
  for (size_t i = 0; i < sorted_blocks.size();) {
    size_t j = i;
    while (j + 1 < sorted_blocks.size() && sorted_blocks[j + 1] == sorted_blocks[j] + 1) ++j;
    text += fmt::format("{} {} {}\n", name, sorted_blocks[i], sorted_blocks[j]);
    i = j + 1;
  }
  SCNFS_ASSIGN_OR_RETURN(File out, File::Open(o.changed_out, O_WRONLY | O_CREAT | O_APPEND));
  SCNFS_ASSIGN_OR_RETURN(uint64_t end, out.Size());
  return out.WriteAt(end, std::as_bytes(std::span(text)));
}

Result<std::vector<uint64_t>> ChooseBlocks(const ChangeOptions& o, const Datafile& df) {
  if (o.fraction >= 0) {
    if (o.fraction > 1) return Status::InvalidArgument("--fraction must be between 0 and 1");
    Rng rng(BlockSeed(o.seed, df.header.file_number, 0, o.scn));
    return SampleBlocks(2, df.nblocks - 2, o.fraction, rng);
  }
  return ParseBlockList(o.blocks, 2, df.nblocks);
}

// Writes fresh blocks at `scn` for every listed block, one pwrite per run of consecutive blocks.
Status WriteDataBlocks(const Datafile& df, const std::vector<uint64_t>& blocks, uint64_t scn, uint64_t seed) {
  const uint32_t bs = df.header.block_size;
  const FileIdentity id{bs, df.header.relative_file_number, df.header.file_number, seed};
  std::vector<std::byte> buf;
  for (size_t i = 0; i < blocks.size();) {
    size_t j = i;
    while (j + 1 < blocks.size() && blocks[j + 1] == blocks[j] + 1 && j - i < 1023) ++j;
    buf.resize((j - i + 1) * bs);
    // What the blocks were: an index block stays one. Blocks past the end (grow) read as zeros.
    std::fill(buf.begin(), buf.end(), std::byte{0});
    if (Status rs = df.file.ReadAt(blocks[i] * bs, buf); !rs.ok() && rs.code() != Status::Code::kInvalidArgument) return rs;
    for (size_t k = i; k <= j; ++k) {
      Rng rng(BlockSeed(seed, id.file_number, blocks[k], scn));
      const Bytes b(buf.data() + (k - i) * bs, bs);
      const bool index = b[0] == std::byte{kTypeData} && b[20] == std::byte{2};
      BuildDataBlock(b, id, blocks[k], scn, rng, index);
    }
    SCNFS_RETURN_IF_ERROR(df.file.WriteAt(blocks[i] * bs, buf));
    i = j + 1;
  }
  return Status::OK();
}

Status RunChange(const ChangeOptions& o) {
  SCNFS_ASSIGN_OR_RETURN(Datafile df, OpenDatafile(o.file));
  if (o.scn <= df.header.checkpoint_scn) {
    return Status::InvalidArgument(fmt::format("--scn {} must be above the file's checkpoint SCN {}", o.scn,
                                               df.header.checkpoint_scn));
  }
  SCNFS_ASSIGN_OR_RETURN(uint32_t ckpt_time, CheckpointTime(o.time));
  SCNFS_ASSIGN_OR_RETURN(std::vector<uint64_t> blocks, ChooseBlocks(o, df));
  SCNFS_RETURN_IF_ERROR(WriteDataBlocks(df, blocks, o.scn, o.seed));
  // The checkpoint comes after the data blocks, as in Oracle: the header never claims more than the blocks hold.
  const uint32_t bs = df.header.block_size;
  std::vector<std::byte> b1(bs);
  SCNFS_RETURN_IF_ERROR(df.file.ReadAt(bs, b1));
  if (o.resetlogs_id != 0) {  // OPEN RESETLOGS: a new incarnation (ref §6 @112, @116); SetCheckpoint seals the block
    Put32(b1, 112, o.resetlogs_id);
    EncodeScn8(o.resetlogs_scn, &b1[116]);
  }
  SetCheckpoint(b1, o.scn, ckpt_time, df.header.checkpoint_count + 1);
  SCNFS_RETURN_IF_ERROR(df.file.WriteAt(bs, b1));
  if (o.changed_out.empty()) return Status::OK();
  blocks.insert(blocks.begin(), 1);  // block 1 changed too; blocks are >= 2 and sorted
  return AppendChangedRanges(o, blocks);
}

struct CorruptOptions {
  std::string file, kind;
  uint64_t block = 0;
};

Status ApplyCorruption(Bytes b, const std::string& kind, const FileHeader& h, uint64_t blockno) {
  if (kind == "zero") {
    std::memset(b.data(), 0, b.size());
  } else if (kind == "fracture") {
    Put32(b, b.size() - 4, Get32(b, b.size() - 4) ^ 0xFFFF0000);  // as if the front were a newer version
  } else if (kind == "checksum") {
    Put8(b, 15, Get8(b, 15) | kFlgChecksum);
    SetChecksum(b);
    b[b.size() / 2] ^= std::byte{0x5A};
  } else if (kind == "rdba") {
    const uint64_t other = blockno + 1 < h.blocks ? blockno + 1 : blockno - 1;
    Put32(b, 4, Rdba(h.relative_file_number, other));
    Seal(b);
  } else if (kind == "marked") {
    Put8(b, 14, 0xFF);
    Seal(b);
  } else if (kind == "frmt") {
    // A block-size code of another size: what a block copied from a different tablespace would carry.
    Put8(b, 1, FrmtFor(h.block_size == 32768 ? 16384 : h.block_size * 2));
    Seal(b);
  } else {
    return Status::InvalidArgument("--kind must be zero, fracture, checksum, rdba, marked or frmt");
  }
  return Status::OK();
}

Status RunCorrupt(const CorruptOptions& o) {
  SCNFS_ASSIGN_OR_RETURN(Datafile df, OpenDatafile(o.file));
  if (o.block == 0 || o.block >= df.nblocks) {
    return Status::InvalidArgument(
        fmt::format("--block {} is not in 1..{} (block 0, the OS header, is not corrupted by this tool)", o.block,
                    df.nblocks - 1));
  }
  const uint32_t bs = df.header.block_size;
  std::vector<std::byte> b(bs);
  SCNFS_RETURN_IF_ERROR(df.file.ReadAt(o.block * bs, b));
  SCNFS_RETURN_IF_ERROR(ApplyCorruption(b, o.kind, df.header, o.block));
  return df.file.WriteAt(o.block * bs, b);
}

struct ResizeOptions {
  std::string file;
  uint64_t blocks = 0, scn = 0, seed = 0;
};

Status RunGrow(const ResizeOptions& o) {
  SCNFS_ASSIGN_OR_RETURN(Datafile df, OpenDatafile(o.file));
  const uint64_t new_total = df.nblocks + o.blocks;
  const uint64_t limit = df.header.bigfile() ? UINT32_MAX - 1 : kSmallfileMaxBlocks;
  if (o.blocks == 0 || new_total - 1 > limit) {
    return Status::InvalidArgument(fmt::format("--blocks must be 1 to {} for {}", limit - (df.nblocks - 1), o.file));
  }
  std::vector<uint64_t> blocks(o.blocks);
  for (uint64_t i = 0; i < o.blocks; ++i) blocks[i] = df.nblocks + i;
  SCNFS_RETURN_IF_ERROR(WriteDataBlocks(df, blocks, o.scn != 0 ? o.scn : df.header.checkpoint_scn, o.seed));
  return WriteBlockCounts(df, static_cast<uint32_t>(new_total - 1));
}

Status RunShrink(const ResizeOptions& o) {
  SCNFS_ASSIGN_OR_RETURN(Datafile df, OpenDatafile(o.file));
  if (o.blocks < 1 || o.blocks >= df.nblocks - 1) {
    return Status::InvalidArgument(
        fmt::format("--blocks must be 1 to {} (the file has {} blocks after block 0)", df.nblocks - 2,
                    df.nblocks - 1));
  }
  SCNFS_RETURN_IF_ERROR(df.file.Truncate((o.blocks + 1) * df.header.block_size));
  return WriteBlockCounts(df, static_cast<uint32_t>(o.blocks));
}

// --- Command line ------------------------------------------------------------------------------------------------

void AddCreate(CLI::App& app, CreateOptions& o, Status& st) {
  auto* c = app.add_subcommand("create",
                               "Write <dir>/<db lowercase>_<i>.dbf for i = 1..files: block 0, the file header "
                               "(block 1) and data blocks 2..blocks; file size = (blocks + 1) * block size");
  c->add_option("--dir", o.dir, "Output directory (created if missing)")->required();
  c->add_option("--db", o.db, "Database name, 1-8 characters (stored upper case)")->required();
  c->add_option("--dbid", o.dbid, "DBID")->required();
  c->add_option("--files", o.files, "Number of datafiles; FILE# and relative file number are 1..files")->required();
  c->add_option("--blocks", o.blocks, "Blocks per file after block 0 (the file header field)")->required();
  c->add_option("--block-size", o.block_size, "Block size: 2048, 4096, 8192, 16384 or 32768")->capture_default_str();
  c->add_option("--scn", o.scn, "Checkpoint SCN; data blocks get SCNs up to 999 below it")->capture_default_str();
  c->add_option("--seed", o.seed, "Seed: same seed, same data blocks")->capture_default_str();
  c->add_flag("--bigfile", o.bigfile, "Bigfile: relative file number 1024, rdba = block number");
  c->add_option("--empty-fraction", o.empty_fraction,
                "Share of data blocks, at the end of the file, that are formatted but never used")
      ->capture_default_str();
  c->add_option("--index-every", o.index_every,
                "Make every Nth block number an index block (0: none), for verify's Data/Index split")
      ->capture_default_str();
  c->add_option("--tablespace", o.tablespace, "Tablespace name")->capture_default_str();
  c->add_option("--tablespace-number", o.tablespace_number, "Tablespace number (TS#)")->capture_default_str();
  c->add_option("--time", o.time, "Checkpoint time YYYY-MM-DDTHH:MM:SS (default: now, local time)");
  c->callback([&] { st = RunCreate(o); });
}

void AddChange(CLI::App& app, ChangeOptions& o, Status& st) {
  auto* c = app.add_subcommand("change",
                               "Rewrite data blocks with new rows at SCN --scn, then advance the file header's "
                               "checkpoint (SCN, time, count + 1)");
  c->add_option("--file", o.file, "Datafile")->required();
  c->add_option("--scn", o.scn, "New SCN; must be above the file's checkpoint SCN")->required();
  auto* list = c->add_option("--blocks", o.blocks, "Blocks to change, e.g. 5,7,100-120 (2 and up)");
  auto* frac = c->add_option("--fraction", o.fraction, "Share of data blocks (2 and up) to change, picked at random");
  list->excludes(frac);
  c->add_option("--seed", o.seed, "Seed for the new content and the random pick")->capture_default_str();
  c->add_option("--time", o.time, "Checkpoint time YYYY-MM-DDTHH:MM:SS (default: now, local time)");
  c->add_option("--resetlogs-id", o.resetlogs_id,
                "Also start a new incarnation, as OPEN RESETLOGS does: the header's resetlogs id (non-zero)");
  c->add_option("--resetlogs-scn", o.resetlogs_scn, "With --resetlogs-id: the resetlogs SCN");
  c->add_option("--changed-blocks-out", o.changed_out,
                "Append '<file> <from> <to>' lines (inclusive, merged runs, block 1 included) to this file");
  c->add_option("--relative-to", o.relative_to, "Directory the file names in --changed-blocks-out are relative to");
  c->callback([&, list, frac] {
    if (list->count() == 0 && frac->count() == 0) {
      st = Status::InvalidArgument("change needs --blocks LIST or --fraction P");
      return;
    }
    st = RunChange(o);
  });
}

void AddCorrupt(CLI::App& app, CorruptOptions& o, Status& st) {
  auto* c = app.add_subcommand("corrupt",
                               "Inject one corruption into a block: zero (all zero), fracture (tail only), checksum "
                               "(body byte flipped), rdba (another block's address), marked (seq 0xFF), frmt (wrong "
                               "block-size code); other fields are kept consistent so only that check fails");
  c->add_option("--file", o.file, "Datafile")->required();
  c->add_option("--block", o.block, "Block number (1 and up)")->required();
  c->add_option("--kind", o.kind, "zero | fracture | checksum | rdba | marked | frmt")->required();
  c->callback([&] { st = RunCorrupt(o); });
}

void AddResize(CLI::App& app, ResizeOptions& grow, ResizeOptions& shrink, Status& st) {
  auto* g = app.add_subcommand("grow", "Append data blocks and update the block counts in blocks 0 and 1");
  g->add_option("--file", grow.file, "Datafile")->required();
  g->add_option("--blocks", grow.blocks, "Number of blocks to append")->required();
  g->add_option("--scn", grow.scn, "SCN of the new blocks (default: the file's checkpoint SCN)");
  g->add_option("--seed", grow.seed, "Seed for the new content")->capture_default_str();
  g->callback([&] { st = RunGrow(grow); });
  auto* s = app.add_subcommand("shrink",
                               "Truncate to --blocks blocks after block 0 (size (N + 1) * block size) and update the "
                               "block counts");
  s->add_option("--file", shrink.file, "Datafile")->required();
  s->add_option("--blocks", shrink.blocks, "Blocks to keep after block 0 (1 and up)")->required();
  s->callback([&] { st = RunShrink(shrink); });
}

}  // namespace
}  // namespace scnfs::oracle::oragen

int main(int argc, char** argv) {
  using namespace scnfs::oracle::oragen;
  CLI::App app{"scnfs-oragen: synthetic Oracle datafiles (little endian) for scnfs tests and benchmarks"};
  app.require_subcommand(1, 1);
  scnfs::Status st;
  CreateOptions create;
  ChangeOptions change;
  CorruptOptions corrupt;
  ResizeOptions grow, shrink;
  AddCreate(app, create, st);
  AddChange(app, change, st);
  AddCorrupt(app, corrupt, st);
  AddResize(app, grow, shrink, st);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) return app.exit(e);  // --help
    // Like scnfs: a usage error is one line and exit 1, so that test scripts check one code.
    std::string what = e.what();
    for (char& c : what)
      if (c == '\n') c = ' ';
    std::fprintf(stderr, "scnfs-oragen: %s (see 'scnfs-oragen --help')\n", what.c_str());
    return 1;
  }
  if (!st.ok()) {
    std::fprintf(stderr, "scnfs-oragen: %s\n", st.message().c_str());
    return 1;
  }
  return 0;
}
