// Backup records in the catalog: the binary layout round-trips every field, JSON records of older stores still
// decode, later extension fields are skipped, and damaged values or states this build does not know are errors.
#include "catalog/backup_record_codec.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "util/coding.h"

namespace scnfs {
namespace {

// Every field set, each to a value no other field has, so that two fields swapped in the layout are seen.
BackupRecord Incremental() {
  BackupRecord r;
  r.db = 3;
  r.id = 1501;
  r.kind = "incremental";
  r.changed_blocks = true;
  r.state = BackupState::kComplete;
  r.error = "";
  r.start_us = 1795330000123456;
  r.end_us = -7;  // signed
  r.pid = 4194303;
  r.host = "dbhost17.example.com";
  r.checkpoint_change = 0x0000123456789a01ULL;
  r.max_change = 0x0000123456789a02ULL;
  r.change_ceiling = 0x0000123456789a03ULL;
  r.went_back_blocks = 4;
  r.went_back_from = 5;
  r.went_back_to = 6;
  r.new_incarnation = "timeline 1 -> 2";
  r.timeline = 2;
  r.system_identifier = 7301234567890123456ULL;
  r.hot = true;
  r.min_recovery_lsn = 0x1'0000'0008ULL;
  r.wal_start_lsn = 0x1'0000'0001ULL;
  r.files = 11;
  r.directories = 12;
  r.symlinks = 13;
  r.logical_bytes = 14;
  r.bytes_read = 15;
  r.blocks_read = 16;
  r.blocks_changed = 17;
  r.zero_blocks = 18;
  r.corrupt_blocks = 19;
  r.new_contents = 20;
  r.new_bytes_raw = 21;
  r.new_bytes_stored = UINT64_MAX;
  return r;
}

void ExpectSame(const BackupRecord& a, const BackupRecord& b) {
  EXPECT_EQ(nlohmann::json(a).dump(), nlohmann::json(b).dump());  // every field, sources aside (below)
  EXPECT_EQ(a.symlinks, b.symlinks);
  EXPECT_EQ(a.changed_blocks, b.changed_blocks);
  EXPECT_EQ(a.hot, b.hot);
  EXPECT_EQ(a.state, b.state);
}

TEST(BackupRecordCodec, BinaryRoundTripsEveryField) {
  const BackupRecord r = Incremental();
  const std::string v = EncodeBackupRecord(r);
  ASSERT_EQ(v[0], kBackupRecordBinary);
  auto d = DecodeBackupRecord(v);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ExpectSame(r, d.value());
  for (BackupState s : {BackupState::kRunning, BackupState::kFailed}) {
    BackupRecord f = Incremental();
    f.state = s;
    f.error = "no space left on device";
    f.changed_blocks = false;
    f.hot = false;
    f.symlinks.reset();  // a record that did not count them
    d = DecodeBackupRecord(EncodeBackupRecord(f));
    ASSERT_TRUE(d.ok()) << d.status().ToString();
    ExpectSame(f, d.value());
  }
  // About a third of the JSON text: this is what a mount reads per backup before its first lookup.
  EXPECT_LT(v.size() * 2, nlohmann::json(r).dump().size()) << v.size();
}

TEST(BackupRecordCodec, SourcesAreNotInTheRecord) {
  BackupRecord r = Incremental();
  r.sources = {"/u01/oradata/PROD/system01.dbf"};
  const std::string v = EncodeBackupRecord(r);
  EXPECT_EQ(v.find("oradata"), std::string::npos);
  EXPECT_TRUE(DecodeBackupRecord(v)->sources.empty());
}

TEST(BackupRecordCodec, JsonRecordsOfOlderStoresStillDecode) {
  BackupRecord r = Incremental();
  r.sources = {"/u01/oradata/PROD"};  // inline in records written before 2026-11-30
  const std::string json = nlohmann::json(r).dump();
  ASSERT_EQ(json[0], '{');
  auto d = DecodeBackupRecord(json);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ExpectSame(r, d.value());
  EXPECT_EQ(d->sources, r.sources);
  EXPECT_FALSE(DecodeBackupRecord("{\"db\": 3").ok());
}

TEST(BackupRecordCodec, UnknownExtensionFieldsAreSkipped) {
  const BackupRecord r = Incremental();
  std::string v = EncodeBackupRecord(r);
  v.push_back(char(42));  // a field a later scnfs might add: tag, length, bytes
  PutBE32(&v, 5);
  v += "hello";
  auto d = DecodeBackupRecord(v);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  ExpectSame(r, d.value());
  std::string bad = EncodeBackupRecord(r);
  bad.push_back(char(1));  // symlinks, of the wrong length
  PutBE32(&bad, 4);
  bad += "abcd";
  auto refused = DecodeBackupRecord(bad);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("symlinks"), std::string::npos) << refused.status().message();
}

// A state or flag this build does not know is refused, never read as "running" (which hides the backup from a
// mount and has the next backup mark it failed).
TEST(BackupRecordCodec, UnknownStatesAndFlagsAreRefused) {
  const std::string v = EncodeBackupRecord(Incremental());
  std::string state = v;
  state[9] = char(3);  // after the layout byte, db and id
  auto d = DecodeBackupRecord(state);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("unknown state 3"), std::string::npos) << d.status().message();
  std::string flags = v;
  flags[10] = char(0x83);
  d = DecodeBackupRecord(flags);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("unknown flags 0x83"), std::string::npos) << d.status().message();
}

TEST(BackupRecordCodec, DamagedValuesAreErrorsNotCrashes) {
  BackupRecord r = Incremental();
  r.symlinks.reset();  // so that every cut is inside a field (a cut before an extension is a shorter record)
  r.wal_start_lsn = 0;
  const std::string v = EncodeBackupRecord(r);
  for (size_t n = 0; n < v.size(); ++n)
    EXPECT_FALSE(DecodeBackupRecord(std::string_view(v.data(), n)).ok()) << "truncated to " << n << " bytes";
  std::string bad_layout = v;
  bad_layout[0] = char(0x7f);
  auto d = DecodeBackupRecord(bad_layout);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("unknown layout byte 0x7f (written by a newer scnfs?)"), std::string::npos) << d.status().message();
}

}  // namespace
}  // namespace scnfs
