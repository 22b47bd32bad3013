// File records in the catalog: the binary layout round-trips every field, JSON records of older stores still
// decode, later extension fields are skipped, and damaged values give errors rather than crashes.
#include "catalog/file_record_codec.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "util/coding.h"

namespace scnfs {
namespace {

FileRecord Datafile() {
  FileRecord r;
  r.path = "oradata/PROD/users01.dbf";
  r.type = "file";
  r.file_id = 7;
  r.format = FormatId::kOracle;
  r.block_size = 8192;
  r.size = (uint64_t(1) << 33) + 8192;  // > 4 GiB: the size is 64-bit
  r.mode = 0100640;
  r.uid = 54321;
  r.gid = 54322;
  r.atime_ns = 1795330000123456789;
  r.mtime_ns = -5;  // before 1970: signed
  r.ctime_ns = 1795330000000000001;
  r.max_change = 0x0000123456789abcULL;
  r.corrupt_blocks = 3;
  r.read = "changed blocks";
  r.header = nlohmann::json{{"dbid", 4242}, {"db_name", "PROD"}, {"checkpoint_scn", 81234567}};
  return r;
}

void ExpectSame(const FileRecord& a, const FileRecord& b) {
  EXPECT_EQ(a.path, b.path);
  EXPECT_EQ(a.type, b.type);
  EXPECT_EQ(a.file_id, b.file_id);
  EXPECT_EQ(a.format, b.format);
  EXPECT_EQ(a.block_size, b.block_size);
  EXPECT_EQ(a.size, b.size);
  EXPECT_EQ(a.mode, b.mode);
  EXPECT_EQ(a.uid, b.uid);
  EXPECT_EQ(a.gid, b.gid);
  EXPECT_EQ(a.atime_ns, b.atime_ns);
  EXPECT_EQ(a.mtime_ns, b.mtime_ns);
  EXPECT_EQ(a.ctime_ns, b.ctime_ns);
  EXPECT_EQ(a.target, b.target);
  EXPECT_EQ(a.max_change, b.max_change);
  EXPECT_EQ(a.corrupt_blocks, b.corrupt_blocks);
  EXPECT_EQ(a.read, b.read);
  EXPECT_EQ(a.header, b.header);
  EXPECT_EQ(a.held_corrupt, b.held_corrupt);
  EXPECT_EQ(a.subdirectories, b.subdirectories);
}

TEST(FileRecordCodec, BinaryRoundTripsEveryField) {
  const FileRecord r = Datafile();
  const std::string v = EncodeFileRecord(r);
  ASSERT_EQ(v[0], kFileRecordBinary);
  auto d = DecodeFileRecord(v);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ExpectSame(r, d.value());
}

TEST(FileRecordCodec, SymlinkAndDirectoryWithoutHeader) {
  FileRecord l;
  l.path = "pg_wal";
  l.type = "symlink";
  l.target = "/wal/pg_wal";
  l.mode = 0120777;
  auto d = DecodeFileRecord(EncodeFileRecord(l));
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ExpectSame(l, d.value());
  EXPECT_TRUE(d->header.is_null());
  FileRecord dir;
  dir.path = "base/16384";
  dir.type = "dir";
  dir.mode = 040700;
  d = DecodeFileRecord(EncodeFileRecord(dir));
  ASSERT_TRUE(d.ok());
  ExpectSame(dir, d.value());
}

TEST(FileRecordCodec, JsonRecordsOfOlderStoresStillDecode) {
  const FileRecord r = Datafile();
  const std::string json = nlohmann::json(r).dump();
  ASSERT_EQ(json[0], '{');
  auto d = DecodeFileRecord(json);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ExpectSame(r, d.value());
}

TEST(FileRecordCodec, UnknownExtensionFieldsAreSkipped) {
  const FileRecord r = Datafile();
  std::string v = EncodeFileRecord(r);
  v.push_back(char(42));  // a field a later scnfs might add: tag, length, bytes
  PutBE32(&v, 5);
  v += "hello";
  auto d = DecodeFileRecord(v);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ExpectSame(r, d.value());
}

// The blocks a backup holds corrupt (extension 1): round-trip, absent in older records (none), and a damaged list is
// an error, not a guess.
TEST(FileRecordCodec, HeldCorruptBlocksRoundTripAsExtensionOne) {
  FileRecord r = Datafile();
  r.held_corrupt = {5, 50, 0xfffffffe};
  std::string v = EncodeFileRecord(r);
  auto d = DecodeFileRecord(v);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ExpectSame(r, d.value());
  EXPECT_EQ(v.size(), EncodeFileRecord(Datafile()).size() + 12);  // the extension is there, empty, when none
  EXPECT_TRUE(d->held_corrupt_known);
  r.held_corrupt = {FileRecord::kTooManyHeldCorrupt};
  d = DecodeFileRecord(EncodeFileRecord(r));
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->held_corrupt, std::vector<uint32_t>{UINT32_MAX});
  EXPECT_TRUE(DecodeFileRecord(EncodeFileRecord(Datafile()))->held_corrupt.empty());
  EXPECT_TRUE(DecodeFileRecord(EncodeFileRecord(Datafile()))->held_corrupt_known);
  // A record written before the extension does not say which blocks it held corrupt.
  std::string old = EncodeFileRecord(Datafile());
  old.resize(old.size() - 5);
  auto unknown = DecodeFileRecord(old);
  ASSERT_TRUE(unknown.ok()) << unknown.status().ToString();
  EXPECT_FALSE(unknown->held_corrupt_known);
  EXPECT_FALSE(DecodeFileRecord(nlohmann::json(Datafile()).dump())->held_corrupt_known);
  std::string odd = EncodeFileRecord(Datafile());
  odd.push_back(char(1));
  PutBE32(&odd, 3);
  odd += "abc";
  auto bad = DecodeFileRecord(odd);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("not a multiple of 4"), std::string::npos) << bad.status().message();
  v.pop_back();
  EXPECT_FALSE(DecodeFileRecord(v).ok());
}

// A directory's subdirectories (extension 2): round-trip, absent in older records, a damaged length is an error;
// and the type alone is read for counting them, from binary and JSON records alike.
TEST(FileRecordCodec, SubdirectoriesRoundTripAsExtensionTwo) {
  FileRecord dir;
  dir.path = "base";
  dir.type = "dir";
  dir.mode = 040700;
  dir.subdirectories = 3;
  std::string v = EncodeFileRecord(dir);
  auto d = DecodeFileRecord(v);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ExpectSame(dir, d.value());
  dir.subdirectories.reset();
  EXPECT_EQ(v.size(), EncodeFileRecord(dir).size() + 9);
  EXPECT_FALSE(DecodeFileRecord(EncodeFileRecord(dir))->subdirectories.has_value());
  std::string bad = EncodeFileRecord(dir);
  bad.push_back(char(2));
  PutBE32(&bad, 2);
  bad += "ab";
  auto refused = DecodeFileRecord(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("subdirectories"), std::string::npos) << refused.status().message();
  EXPECT_TRUE(FileRecordIsDirectory(v).value());
  EXPECT_FALSE(FileRecordIsDirectory(EncodeFileRecord(Datafile())).value());
  EXPECT_TRUE(FileRecordIsDirectory(nlohmann::json(dir).dump()).value());
  EXPECT_FALSE(FileRecordIsDirectory(std::string_view(v.data(), 40)).ok());
}

// Values no backup writes are damage, refused at decode: a block size of 0 killed a mount (SIGFPE), a size past
// 2^32 - 1 blocks kept verify planning for ever, a path with ".." or a leading "/" had restore write outside its
// destination (found 2026-12-01).
TEST(FileRecordCodec, FieldsNoBackupWritesAreRefused) {
  const auto refused = [](FileRecord r, const std::string& why) {
    auto d = DecodeFileRecord(EncodeFileRecord(r));
    ASSERT_FALSE(d.ok()) << r.path << " " << why;
    EXPECT_NE(d.status().message().find(why), std::string::npos) << d.status().ToString();
  };
  FileRecord r = Datafile();
  r.block_size = 0;
  refused(r, "block size 0");
  r.block_size = 2u << 20;
  refused(r, "block size 2097152");
  r = Datafile();
  r.size = uint64_t(INT64_MAX);
  refused(r, "past 2^32 - 1 blocks");
  r.size = uint64_t(UINT32_MAX) * 8192;  // the largest a file may be
  EXPECT_TRUE(DecodeFileRecord(EncodeFileRecord(r)).ok());
  for (const std::string path : {"../escaped.dbf", "a/../../b", "./a", "a//b", "a/", "a/.", ".."})
    refused([&] { FileRecord x = Datafile(); x.path = path; return x; }(), "is not a plain relative path");
  refused([] { FileRecord x = Datafile(); x.path = "/var/tmp/abs.dbf"; return x; }(), "absolute path");
  refused([] { FileRecord x = Datafile(); x.path = std::string("a\0b", 3); return x; }(), "NUL");
  refused([] { FileRecord x = Datafile(); x.path = ""; return x; }(), "empty path");
  refused([] { FileRecord x = Datafile(); x.type = "weird"; return x; }(), "unknown type 'weird'");
  FileRecord root;  // the source directory's own record, and a directory's block size of 0
  root.path = ".";
  root.type = "dir";
  EXPECT_TRUE(DecodeFileRecord(EncodeFileRecord(root)).ok());
  // An Oracle header's facts with another type than written, or a file number without its checkpoint SCN: list
  // --files read past the object for them (found 2026-12-02).
  for (const auto& [header, why] : std::vector<std::pair<nlohmann::json, std::string>>{
           {{{"file_number", 1}}, "a file number and no checkpoint SCN"},
           {{{"file_number", 1}, {"checkpoint_scn", "x"}}, "header field checkpoint_scn is not a number"},
           {{{"header_damaged", 1}}, "header field header_damaged is not true or false"},
           {{{"db_name", 5}}, "header field db_name is not a string"},
           {nlohmann::json::array({1, 2}), "header is not an object"}})
    refused([&] { FileRecord x = Datafile(); x.header = header; return x; }(), why);
  // The JSON records of older stores are checked too.
  nlohmann::json j = Datafile();
  j["path"] = "../x";
  EXPECT_FALSE(DecodeFileRecord(j.dump()).ok());
}

TEST(FileRecordCodec, DamagedValuesAreErrorsNotCrashes) {
  const std::string v = EncodeFileRecord(Datafile());
  for (size_t n = 0; n < v.size(); ++n) {  // every truncation
    auto d = DecodeFileRecord(std::string_view(v.data(), n));
    // Cut just before its extension, it reads as a record written before the extension: one that does not say
    // which blocks it held corrupt, which costs a full read, never a block left unread.
    if (n == v.size() - 5) {
      ASSERT_TRUE(d.ok());
      EXPECT_FALSE(d->held_corrupt_known);
      continue;
    }
    EXPECT_FALSE(d.ok()) << "truncated to " << n << " bytes";
  }
  std::string bad_layout = v;
  bad_layout[0] = char(0x7f);
  auto d = DecodeFileRecord(bad_layout);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("unknown layout byte 0x7f (written by a newer scnfs?)"), std::string::npos) << d.status().message();
  EXPECT_FALSE(DecodeFileRecord("{\"path\": 3").ok());
}

TEST(FileRecordCodec, UnknownFormatIsRefusedNotReadAsRaw) {
  FileRecord r = Datafile();
  std::string v = EncodeFileRecord(r);
  const std::string oracle = "oracle";
  const size_t at = v.find(oracle);
  ASSERT_NE(at, std::string::npos);
  v.replace(at, oracle.size(), "oracl9");
  auto d = DecodeFileRecord(v);
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Status::Code::kNotSupported);
  EXPECT_NE(d.status().message().find("oracl9"), std::string::npos) << d.status().message();
}

}  // namespace
}  // namespace scnfs
