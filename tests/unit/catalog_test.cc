// Catalog records written by a newer scnfs (an unknown format is refused by name, never read as another), and the
// parsing of time: points.
#include "scnfs/catalog.h"

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <tuple>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "catalog/backup_record_codec.h"
#include "catalog/catalog_keys.h"
#include "fuse/point_view.h"
#include "scnfs/store.h"
#include "temp_dir.h"

namespace scnfs {
namespace {

TEST(CatalogTest, AnUnknownFormatIsRefusedNotReadAsRaw) {
  testing::TempDir tmp;
  ASSERT_TRUE(Store::Create(tmp / "store").ok());
  auto w = Store::Open(tmp / "store", Store::Mode::kWriter);
  ASSERT_TRUE(w.ok());
  const std::string record =
      R"({"id":1,"name":"fut","format":"mysql","dict_id":0,"created_us":1,"next_backup_id":1,"next_file_id":1})";
  ASSERT_TRUE(w.value()->db()->Put(rocksdb::WriteOptions(), w.value()->catalog_cf(), catalog_keys::Database("fut"), record).ok());
  auto db = Catalog(w.value().get()).GetDatabase("fut");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Status::Code::kCorruption);
  EXPECT_NE(db.status().message().find("unknown format 'mysql'"), std::string::npos) << db.status().ToString();
}

// A mount reads a backup's file set a directory at a time (one seek per subdirectory), and must see what the whole
// list holds: names that sort between "a" and "a/" ("a-b", "a.old"), a directory recorded and with entries below it,
// directories never recorded ("c" and "c/d" of "c/d/e"), files and links. Checked for every directory of each case,
// with and without records, and for the top directory's attributes as the mount gives them.
TEST(CatalogTest, EachDirectoryOfAFileSetIsWhatTheWholeListSays) {
  testing::TempDir tmp;
  ASSERT_TRUE(Store::Create(tmp / "store").ok());
  auto w = Store::Open(tmp / "store", Store::Mode::kWriter);
  ASSERT_TRUE(w.ok());
  Store* store = w.value().get();
  const auto rec = [](std::string path, std::string type) {
    FileRecord r;
    r.path = std::move(path);
    r.type = std::move(type);
    r.mode = r.type == "dir" ? 040750 : 0100640;
    r.mtime_ns = 123456789;
    if (r.type == "file") r.block_size = 8192;
    return r;
  };
  struct Case {
    std::vector<FileRecord> files;
    size_t directories;  // below the top, as the whole list has them
    bool root_recorded;
  };
  const std::vector<Case> cases = {
      {{rec(".", "dir"), rec("a", "dir"), rec("a-b", "dir"), rec("a-b/y", "file"), rec("a.old", "dir"),
        rec("a.old/z", "file"), rec("a/x", "file"), rec("a/x.1", "file"), rec("a/x2", "dir"), rec("a/x2/q", "file"),
        rec("a/x2/r/s", "file"), rec("b", "file"), rec("c/d/e", "file"), rec("l", "symlink"), rec("z", "dir")},
       5, true},                                             // a, a-b, a.old, c (never recorded), z
      {{rec("only.dbf", "file")}, 0, false},                 // no "." record: the root is made up
      {{rec("d1/f", "file"), rec("d2/g/h", "file")}, 2, false},  // directories never recorded
      {{}, 0, false},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    rocksdb::WriteBatch b;
    for (const auto& r : cases[i].files) Catalog::PutFile(&b, store, 1, uint32_t(i + 1), r);
    ASSERT_TRUE(store->Write(&b, false).ok());
    BackupRecord base;
    base.db = 1;
    base.id = uint32_t(i + 1);
    base.end_us = 5;
    // From the whole list: every directory's entries (name -> is a directory), made-up directories included.
    std::map<std::string, std::map<std::string, bool>> expected{{"", {}}};
    for (const auto& r : cases[i].files) {
      if (r.path == ".") continue;
      std::string dir;
      for (size_t at = 0;;) {
        const size_t slash = r.path.find('/', at);
        const std::string name = r.path.substr(at, slash == std::string::npos ? std::string::npos : slash - at);
        auto& kids = expected[dir];
        if (slash == std::string::npos) {
          kids[name] = kids[name] || r.type == "dir";
          if (r.type == "dir") expected[r.path];
          break;
        }
        kids[name] = true;
        dir = r.path.substr(0, slash);
        expected[dir];
        at = slash + 1;
      }
    }
    for (const auto& [dir, kids] : expected) {
      size_t subdirs = 0;
      for (const auto& [name, is_dir] : kids) subdirs += is_dir;
      auto counted = Catalog(store).ListDirectory(1, base.id, dir, /*with_records=*/false);
      ASSERT_TRUE(counted.ok()) << counted.status().ToString();
      EXPECT_EQ(counted->directories, subdirs) << "case " << i << " dir '" << dir << "'";
      EXPECT_TRUE(counted->records.empty());
      auto listed = Catalog(store).ListDirectory(1, base.id, dir, /*with_records=*/true);
      ASSERT_TRUE(listed.ok()) << listed.status().ToString();
      EXPECT_EQ(listed->directories, subdirs) << "case " << i << " dir '" << dir << "'";
      std::map<std::string, bool> got;
      for (const auto& r : listed->records) {
        const std::string name = dir.empty() ? r.path : r.path.substr(dir.size() + 1);
        EXPECT_TRUE(got.emplace(name, r.type == "dir").second) << "listed twice: " << r.path;
      }
      for (const auto& name : listed->made_up) EXPECT_TRUE(got.emplace(name, true).second) << "listed twice: " << name;
      EXPECT_EQ(got, kids) << "case " << i << " dir '" << dir << "'";
      EXPECT_EQ(listed->self.has_value(), dir.empty() && cases[i].root_recorded) << "case " << i;
    }
    PointEntries entries(store, base);
    auto st = entries.Stat(PointEntries::kRoot);
    ASSERT_TRUE(st.ok()) << st.status().ToString();
    EXPECT_EQ(st->st_nlink, 2 + cases[i].directories) << "case " << i;
    EXPECT_TRUE(S_ISDIR(st->st_mode)) << "case " << i;
    EXPECT_EQ(st->st_mode & 07777, cases[i].root_recorded ? 0750u : 0555u) << "case " << i;
    EXPECT_EQ(st->st_mtim.tv_nsec, cases[i].root_recorded ? 123456789 : 5000) << "case " << i;
  }
}

// A mount numbers a file by its file number: two records of one backup with the same number are damage, reported,
// never one file served for the other. Directories are numbered by path, the same in every point that has them.
TEST(CatalogTest, TwoFilesWithOneFileNumberAreDamageToTheMount) {
  testing::TempDir tmp;
  ASSERT_TRUE(Store::Create(tmp / "store").ok());
  auto w = Store::Open(tmp / "store", Store::Mode::kWriter);
  ASSERT_TRUE(w.ok());
  Store* store = w.value().get();
  rocksdb::WriteBatch b;
  for (const char* path : {"a.dbf", "b.dbf"}) {
    FileRecord r;
    r.path = path;
    r.type = "file";
    r.file_id = 5;
    r.block_size = 8192;
    Catalog::PutFile(&b, store, 1, 1, r);
  }
  FileRecord d;
  d.path = "dir";
  d.type = "dir";
  Catalog::PutFile(&b, store, 1, 1, d);
  Catalog::PutFile(&b, store, 1, 2, d);
  ASSERT_TRUE(store->Write(&b, false).ok());
  BackupRecord base;
  base.db = 1;
  base.id = 1;
  PointEntries entries(store, base);
  auto a = entries.Lookup(PointEntries::kRoot, "a.dbf");
  ASSERT_TRUE(a.ok() && a->has_value()) << a.status().ToString();
  EXPECT_EQ(**a, 4u);  // file number 5 less one
  auto other = entries.Lookup(PointEntries::kRoot, "b.dbf");
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.status().message().find("'a.dbf' and 'b.dbf' carry the same file number 5"), std::string::npos)
      << other.status().ToString();
  auto dir1 = entries.Lookup(PointEntries::kRoot, "dir");
  base.id = 2;
  PointEntries later(store, base);
  auto dir2 = later.Lookup(PointEntries::kRoot, "dir");
  ASSERT_TRUE(dir1.ok() && dir1->has_value() && dir2.ok() && dir2->has_value());
  EXPECT_EQ(**dir1, **dir2);
  EXPECT_GE(**dir1, PointEntries::kFirstHashed);
  EXPECT_FALSE(later.Lookup(PointEntries::kRoot, "a.dbf")->has_value());
}

// A writer fails the running backup it finds by reading one record per database: the newest by id, never a
// neighbouring database's (ids are big-endian in keys: 255 and 256 differ in two bytes).
TEST(CatalogTest, NewestBackupIsTheHighestIdOfItsOwnDatabase) {
  testing::TempDir tmp;
  ASSERT_TRUE(Store::Create(tmp / "store").ok());
  auto w = Store::Open(tmp / "store", Store::Mode::kWriter);
  ASSERT_TRUE(w.ok());
  Store* s = w.value().get();
  rocksdb::WriteBatch b;
  for (auto [db, id, state] : {std::tuple{1u, 1u, BackupState::kComplete}, {1u, 2u, BackupState::kFailed},
                               {1u, 300u, BackupState::kRunning}, {255u, 7u, BackupState::kComplete},
                               {256u, 1u, BackupState::kComplete}, {256u, 65536u, BackupState::kComplete}}) {
    BackupRecord r;
    r.db = db;
    r.id = id;
    r.state = state;
    Catalog::PutBackup(&b, s, r);
  }
  ASSERT_TRUE(s->Write(&b, false).ok());
  const Catalog cat(s);
  const auto newest = [&](uint32_t db) {
    auto r = cat.NewestBackup(db);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() && r.value() ? std::to_string(r.value()->db) + ":" + std::to_string(r.value()->id) +
                                     std::string(BackupStateName(r.value()->state))
                               : std::string("none");
  };
  EXPECT_EQ(newest(0), "none");
  EXPECT_EQ(newest(1), "1:300running");
  EXPECT_EQ(newest(2), "none");
  EXPECT_EQ(newest(255), "255:7complete");
  EXPECT_EQ(newest(256), "256:65536complete");
  EXPECT_EQ(newest(257), "none");
  EXPECT_EQ(newest(UINT32_MAX), "none");
}

TEST(CatalogTest, SourcesAreKeptApartFromTheBackupRecordAndOldInlineOnesStillRead) {
  testing::TempDir tmp;
  ASSERT_TRUE(Store::Create(tmp / "store").ok());
  auto w = Store::Open(tmp / "store", Store::Mode::kWriter);
  ASSERT_TRUE(w.ok());
  Store* s = w.value().get();
  BackupRecord r;
  r.db = 1;
  r.id = 1;
  r.kind = "full";
  for (int i = 0; i < 400; ++i) r.sources.push_back("/u01/oradata/PROD/data" + std::to_string(i) + ".dbf");
  rocksdb::WriteBatch b;
  Catalog::PutBackup(&b, s, r);
  ASSERT_TRUE(s->Write(&b, true).ok());
  std::string raw;
  ASSERT_TRUE(s->GetCatalog(catalog_keys::Backup(1, 1), &raw).ok());
  EXPECT_EQ(raw.find("oradata"), std::string::npos) << "the record carries no source path";
  EXPECT_EQ(raw[0], kBackupRecordBinary) << "backup records are binary (a mount reads thousands before its first lookup)";
  Catalog cat(s);
  auto listed = cat.ListBackups(1);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_TRUE(listed->at(0).sources.empty());
  BackupRecord got = listed->at(0);
  ASSERT_TRUE(cat.LoadSources(&got).ok());
  EXPECT_EQ(got.sources, r.sources);
  // A record written before: sources inline, read as they are.
  nlohmann::json old = r;
  old["id"] = 2;
  ASSERT_TRUE(s->db()->Put(rocksdb::WriteOptions(), s->catalog_cf(), catalog_keys::Backup(1, 2), old.dump()).ok());
  auto both = cat.ListBackups(1);
  ASSERT_TRUE(both.ok());
  ASSERT_EQ(both->size(), 2u);
  BackupRecord second = both->at(1);
  ASSERT_TRUE(cat.LoadSources(&second).ok());
  EXPECT_EQ(second.sources, r.sources);
}

}  // namespace
}  // namespace scnfs

namespace scnfs {
namespace {

// Sets TZ for one test and puts the old value back (mktime and localtime_r read it through tzset).
class ScopedTimeZone {
 public:
  explicit ScopedTimeZone(const char* tz) {
    if (const char* old = std::getenv("TZ")) old_ = old;
    setenv("TZ", tz, 1);
    tzset();
  }
  ~ScopedTimeZone() {
    if (old_) setenv("TZ", old_->c_str(), 1); else unsetenv("TZ");
    tzset();
  }

 private:
  std::optional<std::string> old_;
};

TEST(PointSpecTest, ATimeMayStopAtTheMinuteAndLowerCaseSelectsAsUpperCase) {
  // "time:2026-11-22T14:30" was refused ("bad time of day '14:30'"), though ISO 8601 has it and a DBA types it.
  const int64_t at_1430 = int64_t(1795357800) * 1000000;
  EXPECT_EQ(ParseIso8601("2026-11-22T14:30Z").value(), at_1430);
  EXPECT_EQ(ParseIso8601("2026-11-22 16:30+02:00").value(), at_1430);
  EXPECT_EQ(ParseIso8601("2026-11-22t14:30z").value(), at_1430);
  auto frac = ParseIso8601("2026-11-22T14:30.5Z");
  ASSERT_FALSE(frac.ok());
  EXPECT_NE(frac.status().message().find("a fraction needs the seconds"), std::string::npos) << frac.status().message();
  auto bad_second = ParseIso8601("2026-11-22T14:30:5x");
  ASSERT_FALSE(bad_second.ok());
  // As a point it covers its second, as "14:30:00" does.
  EXPECT_EQ(ParsePointSpec("time:2026-11-22T14:30Z").value().time_us, at_1430 + 999999);
  EXPECT_EQ(ParsePointSpec("time:2026-11-22T14:30:00Z").value().time_us, at_1430 + 999999);
  // A lower-case 't' was parsed but not seen as a time of day, so it did not cover its second and selected the
  // backup before the one "T" selects.
  EXPECT_EQ(ParsePointSpec("time:2026-11-22t14:30:00z").value().time_us, at_1430 + 999999);
}

TEST(PointSpecTest, LocalTimesADaylightSavingChangeSkipsOrRepeatsAreRefused) {
  ASSERT_TRUE(std::filesystem::exists("/usr/share/zoneinfo/Europe/Berlin")) << "tzdata is installed by tools/setup.sh";
  ScopedTimeZone berlin("Europe/Berlin");
  // mktime moved 02:30 of the spring change to 03:30 and picked one of the two 02:30s of the autumn change.
  auto gap = ParseIso8601("2026-03-29T02:30:00");
  ASSERT_FALSE(gap.ok());
  EXPECT_NE(gap.status().message().find("did not happen in this host's time zone"), std::string::npos)
      << gap.status().message();
  EXPECT_NE(gap.status().message().find("+01:00 before the change, +02:00 after"), std::string::npos)
      << gap.status().message();
  auto twice = ParseIso8601("2026-10-25T02:30:00");
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.status().message().find("is ambiguous"), std::string::npos) << twice.status().message();
  EXPECT_NE(twice.status().message().find("at +02:00 and again at +01:00"), std::string::npos)
      << twice.status().message();
  // With an offset both are exact; local times either side of the changes are taken as they were.
  EXPECT_EQ(ParseIso8601("2026-10-25T02:30:00+02:00").value(), int64_t(1792888200) * 1000000);
  EXPECT_EQ(ParseIso8601("2026-10-25T02:30:00+01:00").value(), int64_t(1792891800) * 1000000);
  EXPECT_EQ(ParseIso8601("2026-03-29T01:59:59").value(), int64_t(1774745999) * 1000000);
  EXPECT_EQ(ParseIso8601("2026-03-29T03:00:00").value(), int64_t(1774746000) * 1000000);
  EXPECT_EQ(ParseIso8601("2026-10-25T03:00:00").value(), int64_t(1792893600) * 1000000);
  EXPECT_EQ(ParseIso8601("2026-07-01").value(), int64_t(1782856800) * 1000000);  // local midnight, summer time
  // A zone without daylight saving has neither; a POSIX rule is a zone too.
  {
    ScopedTimeZone utc("UTC");
    EXPECT_EQ(ParseIso8601("2026-03-29T02:30:00").value(), int64_t(1774751400) * 1000000);
  }
  {
    ScopedTimeZone posix("CET-1CEST,M3.5.0,M10.5.0/3");
    EXPECT_EQ(ParseIso8601("2026-07-01").value(), int64_t(1782856800) * 1000000);
  }
}

TEST(PointSpecTest, AnHourRepeatedByANewStandardTimeIsAmbiguousAndADateIsItsDaysFirstInstant) {
  // Almaty moved from +06:00 to +05:00 standard time at midnight of 2024-03-01: 23:00-24:00 of February 29 happened
  // twice with no daylight-saving flag on either side, and mktime's flag-based check took the first (review).
  {
    ScopedTimeZone almaty("Asia/Almaty");
    auto r = ParseIso8601("2024-02-29T23:30:00");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("it happened at +06:00 and again at +05:00"), std::string::npos)
        << r.status().message();
    EXPECT_EQ(ParseIso8601("2024-02-29T23:30:00+05:00").value(), int64_t(1709231400) * 1000000);
  }
  // A date alone is the day's first instant: where midnight was skipped (Santiago) the instant the day began, where
  // it came twice (Havana) the first; both were refused as a gap and an ambiguity.
  {
    ScopedTimeZone santiago("America/Santiago");
    EXPECT_EQ(ParseIso8601("2026-09-06").value(), int64_t(1788667200) * 1000000);
    EXPECT_FALSE(ParseIso8601("2026-09-06T00:30:00").ok());
  }
  {
    ScopedTimeZone havana("America/Havana");
    EXPECT_EQ(ParseIso8601("2026-11-01").value(), int64_t(1793505600) * 1000000);
    EXPECT_FALSE(ParseIso8601("2026-11-01T00:30:00").ok());
  }
}

TEST(PointSpecTest, EveryFieldHasTwoDigits) {
  // strptime took one: a half-typed "10:5" was 10:05.
  for (const char* bad : {"2026-07-01T10:5Z", "2026-07-01T1:05Z", "2026-7-01", "2026-07-1T10:05Z", "2026-07-01T10:05:7Z"}) {
    auto r = ParseIso8601(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("two digits for each field"), std::string::npos) << r.status().message();
  }
  EXPECT_EQ(ParseIso8601("2026-07-01T12:00Z").value(), int64_t(1782907200) * 1000000);
}

TEST(PointSpecTest, ALocalTimeUnderATimeZoneTheHostDoesNotKnowIsRefused) {
  // glibc read TZ=Europe/Berln as UTC: a local time selected a point two hours off without a word.
  ScopedTimeZone typo("Europe/Berln");
  auto r = ParseIso8601("2026-07-01T12:00:00");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("TZ='Europe/Berln' is not a time zone this host knows"), std::string::npos)
      << r.status().message();
  EXPECT_FALSE(LocalTimeZoneStatus().ok());
  // A file that is no zone, and a name with a digit that is no POSIX rule, were taken (and read as UTC) too.
  for (const char* tz : {"zone.tab", "Europe/Berlin2", "Etc/GMT+15", "/etc/passwd"}) {
    ScopedTimeZone bad(tz);
    EXPECT_FALSE(ParseIso8601("2026-07-01T12:00:00").ok()) << tz;
  }
  for (const char* tz : {"IST-5:30", "<+0530>-5:30", "EST5EDT", ":Europe/Berlin", "/usr/share/zoneinfo/Asia/Kolkata", ""}) {
    ScopedTimeZone good(tz);
    EXPECT_TRUE(ParseIso8601("2026-07-01T12:00:00").ok()) << tz;
    EXPECT_TRUE(LocalTimeZoneStatus().ok()) << tz;
  }
  {
    ScopedTimeZone kolkata("IST-5:30");
    EXPECT_EQ(ParseIso8601("2026-07-01T17:30:00").value(), int64_t(1782907200) * 1000000);
  }
  // Times with an offset or Z do not depend on TZ.
  EXPECT_EQ(ParseIso8601("2026-07-01T12:00:00Z").value(), int64_t(1782907200) * 1000000);
  EXPECT_EQ(ParseIso8601("2026-07-01T14:00:00+02:00").value(), int64_t(1782907200) * 1000000);
}

TEST(PointSpecTest, TimesAreParsedOrRefusedNeverRolledOver) {
  // strptime took February 30 and timegm made it March 2: a typo picked another point without a word.
  EXPECT_EQ(ParseIso8601("2026-03-02T00:00:00Z").value(), int64_t(1772409600) * 1000000);
  EXPECT_EQ(ParseIso8601("2024-02-29T12:00:00+02:00").value(), int64_t(1709200800) * 1000000);
  EXPECT_EQ(ParseIso8601("2026-11-22T14:30:00.25Z").value(), int64_t(1795357800) * 1000000 + 250000);
  for (const char* bad : {"2026-02-30", "2026-02-31T12:00:00Z", "2025-02-29", "2026-04-31", "2026-06-31T00:00:00Z"}) {
    auto r = ParseIso8601(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.status().message().find("has no day"), std::string::npos) << r.status().message();
  }
  auto r = ParseIso8601("2026-11-30T25:00:00");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("bad time of day '25:00:00'"), std::string::npos) << r.status().message();
  // Second 60 was taken and rolled into the next minute.
  for (const char* bad : {"2026-11-30T10:15:60Z", "2026-11-30T10:15:61"}) {
    auto s = ParseIso8601(bad);
    ASSERT_FALSE(s.ok()) << bad;
    EXPECT_NE(s.status().message().find("expected 00 to 59"), std::string::npos) << s.status().message();
  }
  EXPECT_TRUE(ParseIso8601("2026-11-30T10:15:59Z").ok());
  // A dot without digits was a fraction of 0: "10:15:59.Z" selected another backup than "10:15:59Z".
  for (const char* bad : {"2026-11-30T10:15:59.Z", "2026-11-30T10:15:59.", "2026-11-30T10:15:59.+02:00"}) {
    auto d = ParseIso8601(bad);
    ASSERT_FALSE(d.ok()) << bad;
    EXPECT_NE(d.status().message().find("a '.' without digits"), std::string::npos) << d.status().message();
  }
  // RFC 3339's lower-case t and z are the same time; "bad zone 't07:02:25'" told a DBA nothing (walkthrough,
  // 2026-12-02). What follows the time is named, with what was expected there.
  EXPECT_EQ(ParseIso8601("2026-03-02t00:00:00z").value(), int64_t(1772409600) * 1000000);
  for (const auto& [bad, rest] : {std::pair{"2026-03-02T00:00:00 ", " "}, std::pair{"2026-03-02T00:00:00+01", "+01"},
                                  std::pair{"2026-03-02T00:00:00Zulu", "Zulu"}}) {
    auto z = ParseIso8601(bad);
    ASSERT_FALSE(z.ok()) << bad;
    EXPECT_EQ(z.status().message(), fmt::format("'{}' is not an ISO 8601 time: '{}' after the time, where Z, +HH:MM or "
                                                "-HH:MM (or nothing, for local time) was expected", bad, rest));
  }
}

TEST(PointSpecTest, ATimeToTheSecondCoversThatSecond) {
  // `list` prints a backup's end to the second; `time:` with that text selected the backup before it.
  DatabaseRecord db;
  db.name = "PROD";
  db.format = FormatId::kOracle;
  std::vector<BackupRecord> backups(2);
  const int64_t end = ParseIso8601("2026-11-30T04:12:23Z").value() + 943442;
  for (uint32_t i = 0; i < 2; ++i) {
    backups[i].id = i + 1;
    backups[i].state = BackupState::kComplete;
    backups[i].end_us = end - (i == 0 ? 60000000 : 0);
  }
  auto pick = [&](const char* spec) {
    auto r = ResolvePoint(db, backups, ParsePointSpec(spec).value());
    return r.ok() ? int(r->base.id) : -1;
  };
  EXPECT_EQ(pick("time:2026-11-30T04:12:23Z"), 2);
  EXPECT_EQ(pick("time:2026-11-30T04:12:23.9Z"), 1) << "a fraction is taken as written";
  EXPECT_EQ(pick("time:2026-11-30T04:12:23.95Z"), 2);
  EXPECT_EQ(pick("time:2026-11-30T04:12:22Z"), 1);
}

TEST(PointSpecTest, ScnTakesPostgresLsnNotation) {
  EXPECT_EQ(ParsePointSpec("scn:0/199B220").value().number, 0x199B220u);
  EXPECT_EQ(ParsePointSpec("scn:1A/2").value().number, (uint64_t(0x1A) << 32) | 2);
  EXPECT_EQ(ParsePointSpec("scn:26848479").value().number, 26848479u);
  for (const char* bad : {"scn:/1", "scn:1/", "scn:g/1", "scn:1/2/3", "scn:100000000/0"}) EXPECT_FALSE(ParsePointSpec(bad).ok()) << bad;
}

TEST(PointSpecTest, LsnIsTheSamePointAsScn) {
  EXPECT_EQ(ParsePointSpec("lsn:0/199B220").value().kind, PointSpec::Kind::kScn);
  EXPECT_EQ(ParsePointSpec("lsn:0/199B220").value().number, 0x199B220u);
  EXPECT_EQ(ParsePointSpec("lsn:26848479").value().number, 26848479u);
  EXPECT_FALSE(ParsePointSpec("lsns:1").ok());
}

TEST(ChangeNumberTextTest, EachFormatWritesItsChangeNumbersAsItsDbaReadsThem) {
  EXPECT_EQ(ChangeNumberText(FormatId::kPostgres, 0x199B220), "0/199B220");
  EXPECT_EQ(ChangeNumberText(FormatId::kPostgres, (uint64_t(0x1A) << 32) | 0xFFFFFFFF), "1A/FFFFFFFF");
  EXPECT_EQ(ChangeNumberText(FormatId::kOracle, 281474976710656), "281474976710656");
  EXPECT_EQ(ChangeNumberName(FormatId::kPostgres), "LSN");
  EXPECT_EQ(ChangeNumberName(FormatId::kOracle), "SCN");
  // What is printed parses back to the same point.
  EXPECT_EQ(ParsePointSpec("scn:" + ChangeNumberText(FormatId::kPostgres, 0x3400001234)).value().number, 0x3400001234u);
}

// A PostgreSQL database "pg" with two complete cold backups: (max_change, checkpoint_change) of each.
std::pair<DatabaseRecord, std::vector<BackupRecord>> PgWithTwoBackups(std::pair<uint64_t, uint64_t> first,
                                                                       std::pair<uint64_t, uint64_t> second) {
  DatabaseRecord db;
  db.name = "pg";
  db.format = FormatId::kPostgres;
  std::vector<BackupRecord> backups(2);
  for (uint32_t i = 0; i < 2; ++i) {
    backups[i].id = i + 1;
    backups[i].state = BackupState::kComplete;
    std::tie(backups[i].max_change, backups[i].checkpoint_change) = i == 0 ? first : second;
  }
  return {db, backups};
}

TEST(ResolvePointTest, APostgresPointIsDescribedAndRefusedInLsnNotation) {
  // Cold backups: pages below the shutdown checkpoint.
  const auto [db, backups] = PgWithTwoBackups({0x2000000, 0x2000100}, {0x3000000, 0x3000100});
  auto r = ResolvePoint(db, backups, ParsePointSpec("scn:0/2000110").value());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->Describe(), "LSN 0/2000110: backup 1, consistent at LSN 0/2000100");
  auto old = ResolvePoint(db, backups, ParsePointSpec("scn:0/10").value());
  ASSERT_FALSE(old.ok());
  EXPECT_EQ(old.status().message(), "LSN 0/10 is older than every backup of 'pg' (the first is consistent at LSN 0/2000100)");
}

// An LSN written as PostgreSQL writes it, given for an Oracle database, is another database's point: refused, not
// taken for the SCN 0x1_0000_1194 (found 2026-11-30).
TEST(ResolvePointTest, AnOracleDatabaseRefusesAPointInLsnNotation) {
  auto [db, backups] = PgWithTwoBackups({2000, 2000}, {3000, 3000});
  db.name = "ora";
  db.format = FormatId::kOracle;
  auto r = ResolvePoint(db, backups, ParsePointSpec("scn:1/1194").value());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(),
            "'scn:1/1194' is a PostgreSQL LSN (X/Y); database 'ora' is Oracle: give its SCN as a decimal number");
  EXPECT_TRUE(ResolvePoint(db, backups, ParsePointSpec("scn:2500").value()).ok());
}

// A PostgreSQL cluster is consistent only at a backup's checkpoint (until WAL is kept): an LSN between two backups
// selects the earlier one whole, never its pg_control with the later one's pages (found 2026-11-30: PostgreSQL
// started on such a mix without recovery, and vacuum and checkpoint then failed on its broken data). An LSN equal
// to a backup's checkpoint is that backup, even when no page changed before the next one.
TEST(ResolvePointTest, APostgresLsnSelectsTheNewestBackupConsistentAtIt) {
  // Only unlogged or hint-bit changes between the two: no page LSN moved.
  const auto [db, backups] = PgWithTwoBackups({0x2000000, 0x2000100}, {0x2000000, 0x3000100});
  for (auto [at, want] : {std::pair{"lsn:0/2000100", 1u}, std::pair{"lsn:0/2FFFFFF", 1u}, std::pair{"lsn:0/3000100", 2u},
                          std::pair{"lsn:5/0", 2u}}) {
    auto r = ResolvePoint(db, backups, ParsePointSpec(at).value());
    ASSERT_TRUE(r.ok()) << at << ": " << r.status().message();
    EXPECT_EQ(r->base.id, want) << at;
    EXPECT_FALSE(r->scn.has_value()) << at << ": read as the whole backup, not block by block";
  }
}

// A time in the second the first backup completed, before it: the two times read alike to the second, "by
// 15:37:10 (the first completed at 15:37:10)" (found 2026-11-30); then they are printed with their microseconds.
TEST(ResolvePointTest, ATimeBeforeTheFirstBackupInItsSecondIsToldApart) {
  auto [db, backups] = PgWithTwoBackups({2000, 2000}, {3000, 3000});
  backups[0].end_us = 1796054878123456;
  backups[1].end_us = 1796054999000000;
  PointSpec spec;
  spec.kind = PointSpec::Kind::kTime;
  spec.time_us = 1796054878000100;
  auto r = ResolvePoint(db, backups, spec);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find(":58.000100"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(":58.123456"), std::string::npos) << r.status().message();
  spec.time_us = 1796054000000000;  // another second: as before, to the second
  auto s = ResolvePoint(db, backups, spec);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().message().find(".000000"), std::string::npos) << s.status().message();
}

// Hot backups taken within one checkpoint interval share pg_control's checkpoint. By it alone, lsn: between them
// served the later one, pages changed after the point included (a DROP TABLE made after it; found 2026-11-30). A hot
// backup stands at its highest page LSN at the earliest, where its WAL would have to bring it.
TEST(ResolvePointTest, AHotPostgresBackupStandsAtItsHighestLsn) {
  auto [db, backups] = PgWithTwoBackups({0x2000500, 0x2000100}, {0x2000900, 0x2000100});
  for (auto& b : backups) b.hot = true;
  for (auto [at, want] : {std::pair{"lsn:0/2000500", 1u}, std::pair{"lsn:0/2000600", 1u}, std::pair{"lsn:0/2000900", 2u}}) {
    auto r = ResolvePoint(db, backups, ParsePointSpec(at).value());
    ASSERT_TRUE(r.ok()) << at << ": " << r.status().message();
    EXPECT_EQ(r->base.id, want) << at;
  }
  auto r = ResolvePoint(db, backups, ParsePointSpec("lsn:0/2000600").value());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Describe(), "LSN 0/2000600: backup 1, a hot backup, consistent only with its WAL from the REDO point of its checkpoint at LSN 0/2000100 to LSN 0/2000500 or later");
  // With the end of its WAL recorded, a hot backup stands there: the changes still in shared buffers when it was
  // read (a DROP TABLE) show in no page's LSN (found 2026-11-30).
  backups[1].min_recovery_lsn = 0x2004000;
  for (auto [at, want] : {std::pair{"lsn:0/2000900", 1u}, std::pair{"lsn:0/2003FFF", 1u}, std::pair{"lsn:0/2004000", 2u}}) {
    auto w = ResolvePoint(db, backups, ParsePointSpec(at).value());
    ASSERT_TRUE(w.ok()) << at << ": " << w.status().message();
    EXPECT_EQ(w->base.id, want) << at;
  }
  auto early = ResolvePoint(db, backups, ParsePointSpec("lsn:0/2000200").value());
  ASSERT_FALSE(early.ok());
  EXPECT_EQ(early.status().message(), "LSN 0/2000200 is older than every backup of 'pg' (the first is consistent at LSN 0/2000500)");
}

// A backup's highest block SCN can fall below an earlier backup's: a datafile dropped, or its highest block read
// corrupt. By its own highest block it stood before the backups it followed and became the base of their points:
// scn:C of a cold backup at C restored without the dropped datafile, and an SCN older than every backup was served
// with a header block of zeros (found 2026-11-30). A backup stands at the highest SCN of any backup up to it.
TEST(ResolvePointTest, ABackupWhoseHighestScnFellStandsWhereTheBackupsBeforeItStood) {
  DatabaseRecord db;
  db.name = "ora";
  db.format = FormatId::kOracle;
  std::vector<BackupRecord> backups(4);
  const uint64_t max_change[] = {1000, 5000, 1000, 7000};  // backup 3: the datafile holding SCN 5000 was dropped
  for (uint32_t i = 0; i < 4; ++i) {
    backups[i].id = i + 1;
    backups[i].state = BackupState::kComplete;
    backups[i].max_change = max_change[i];
    backups[i].checkpoint_change = 1000;
  }
  // Backup 3 was taken after backup 2's state at 5000: it stands just after it.
  for (auto [at, want] : {std::pair{"scn:1000", 1u}, std::pair{"scn:4999", 1u}, std::pair{"scn:5000", 2u},
                          std::pair{"scn:5001", 3u}, std::pair{"scn:6999", 3u}, std::pair{"scn:7000", 4u}}) {
    auto r = ResolvePoint(db, backups, ParsePointSpec(at).value());
    ASSERT_TRUE(r.ok()) << at << ": " << r.status().message();
    EXPECT_EQ(r->base.id, want) << at;
  }
  backups[1].max_change = 989;  // backup 2's highest block (its header) read corrupt
  auto r = ResolvePoint(db, backups, ParsePointSpec("scn:989").value());
  ASSERT_FALSE(r.ok()) << "base " << r->base.id;
  EXPECT_EQ(r.status().message(), "SCN 989 is older than every backup of 'ora' (the first holds blocks up to SCN 1000)");
  auto c = ResolvePoint(db, backups, ParsePointSpec("scn:1000").value());  // the cold backup, not the corrupt one
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->base.id, 1u);
}

// A second PostgreSQL cluster backed up under the same name (a new system identifier) starts a new line. Its pages'
// LSNs are below the first cluster's ceiling, which refuses the points below it, but the first cluster's cold backup
// stands at its checkpoint, above all of its pages: lsn: of that checkpoint served the new cluster (found 2026-11-30).
TEST(ResolvePointTest, APointAnOldClustersBackupStandsAtIsNotServedByANewCluster) {
  auto [db, backups] = PgWithTwoBackups({0x4FFFF00, 0x5000000}, {0x15FFF00, 0x1600000});
  backups[1].new_incarnation = "system identifier 1 -> 2";
  backups[1].went_back_from = 0x4FFFF00;  // the change ceiling before it: the first cluster's highest page LSN
  EXPECT_EQ(ScnServedFrom(db.format, backups, backups[1]), 0x5000001u);
  for (const char* at : {"lsn:0/4FFFF00", "lsn:0/5000000"}) {
    auto r = ResolvePoint(db, backups, ParsePointSpec(at).value());
    ASSERT_FALSE(r.ok()) << at << " served by backup " << r->base.id;
    EXPECT_NE(r.status().message().find("is ambiguous: backup 2 is of a new incarnation (system identifier 1 -> 2); "
                                        "scn: serves LSN 0/5000001 and later"), std::string::npos) << r.status().message();
  }
  auto r = ResolvePoint(db, backups, ParsePointSpec("lsn:0/5000001").value());
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->base.id, 2u);
  // Pages that went back too: the refusal names the new incarnation beside them, not "a point-in-time recovery".
  backups[1].went_back_blocks = 3;
  backups[1].went_back_to = 0x15FFF00;
  auto both = ResolvePoint(db, backups, ParsePointSpec("lsn:0/4FFFF00").value());
  ASSERT_FALSE(both.ok()) << "served by backup " << both->base.id;
  EXPECT_NE(both.status().message().find("went back (from 0/4FFFF00 to 0/15FFF00: a new incarnation, system identifier 1 -> 2)"),
            std::string::npos) << both.status().message();
  backups[1].went_back_blocks = 0;
  backups[1].went_back_to = 0;
  // Oracle stands at its blocks: the ceiling is where the old line ends.
  EXPECT_EQ(ScnServedFrom(FormatId::kOracle, backups, backups[1]), 0x4FFFF00u);
  // A new cluster whose LSNs run past the old one's (pg_upgrade): below its own checkpoint it has no consistent
  // point, and an LSN there went to the old cluster's backup.
  backups[1].max_change = 0x8FFFF00;
  backups[1].checkpoint_change = 0x9000000;
  EXPECT_EQ(ScnServedFrom(FormatId::kPostgres, backups, backups[1]), 0x9000000u);
  for (const char* at : {"lsn:0/8FFFF00", "lsn:0/8FFFFF0"}) {
    auto above = ResolvePoint(db, backups, ParsePointSpec(at).value());
    EXPECT_FALSE(above.ok()) << at << " served by backup " << above->base.id;
  }
}

}  // namespace
}  // namespace scnfs
