// Notes for people about a backup (docs/backup.md, "Notes"): what changed in the source that a DBA should hear,
// and the refusal of another Oracle database's datafiles under a --db. None of them changes what is stored.
#include "backup/backup_notes.h"

#include <map>
#include <optional>
#include <ranges>
#include <set>
#include <tuple>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace scnfs {
namespace {

// Adds the Oracle database `header` names, by name (as MixedDatabases) -> "NAME (DBID n)", the first one kept.
void AddOracleDatabase(const nlohmann::json& header, std::map<std::string, std::string>* out) {
  if (!header.is_object() || !header.contains("db_name")) return;
  const std::string name = header["db_name"].get<std::string>();
  out->emplace(name, fmt::format("{} (DBID {})", name, header.value("dbid", 0u)));
}
std::map<std::string, std::string> OracleDatabasesOf(const std::vector<FileRecord>& files) {
  std::map<std::string, std::string> out;
  for (const auto& f : files) AddOracleDatabase(f.header, &out);
  return out;
}
std::map<std::string, std::string> OracleDatabasesOf(const std::vector<std::unique_ptr<FileJob>>& jobs) {
  std::map<std::string, std::string> out;
  for (const auto& j : jobs)
    if (!j->vanished) AddOracleDatabase(j->header, &out);
  return out;
}

std::string Listed(const std::map<std::string, std::string>& dbs) {
  return fmt::format("{}", fmt::join(std::views::values(dbs), ", "));
}

}  // namespace

// The Oracle datafiles of the previous backup that this one does not hold, for people; empty when none. A datafile
// gone from the source went unsaid: a dropped tablespace, or a file system not mounted, looked like any backup.
std::string DatafilesGone(const BackupRecord* prev, const std::vector<FileRecord>& prev_files,
                          const std::vector<std::unique_ptr<FileJob>>& jobs) {
  if (prev == nullptr) return "";
  std::set<std::string_view> now;
  for (const auto& j : jobs)
    if (!j->vanished) now.insert(j->entry.rel);
  std::vector<std::string_view> gone;
  for (const auto& f : prev_files)
    if (f.type == "file" && f.format == FormatId::kOracle && !now.count(f.path)) gone.push_back(f.path);
  if (gone.empty()) return "";
  std::string names;
  for (size_t i = 0; i < gone.size() && i < 5; ++i) names += fmt::format("{}{}", i ? ", " : "", gone[i]);
  if (gone.size() > 5) names += fmt::format(" and {} more", gone.size() - 5);
  return fmt::format("{} datafile(s) of backup {} are not in this one: {} (a dropped tablespace, or a file system not "
                     "mounted?); scn: points before this backup, and backup:{}, still hold them",
                     gone.size(), prev->id, names, prev->id);
}

// A PostgreSQL cluster on another line of changes than at `prev`: another cluster (system identifier) or another
// timeline. For people; empty when none, or when either record predates the field.
std::string PostgresNewLine(const BackupRecord& prev, const BackupRecord& rec) {
  if (rec.system_identifier != 0 && prev.system_identifier != 0 && rec.system_identifier != prev.system_identifier)
    return fmt::format("system identifier {} -> {} (another cluster, or one made anew by pg_upgrade or initdb)",
                       prev.system_identifier, rec.system_identifier);
  if (rec.timeline != 0 && prev.timeline != 0 && rec.timeline != prev.timeline)
    return fmt::format("timeline {} -> {}", prev.timeline, rec.timeline);
  return "";
}

// A new line of changes since `prev` that need not make any block's change number go back (docs/points-in-time.md,
// "New lines of changes"): a PostgreSQL timeline switch, or an Oracle datafile whose header names another RESETLOGS
// (or another database) than the same path did at `prev`. For people; empty when none.
std::string NewIncarnation(const BackupRecord* prev, const BackupRecord& rec, const std::vector<FileRecord>& prev_files,
                           const std::vector<std::unique_ptr<FileJob>>& jobs) {
  if (prev == nullptr) return "";
  if (std::string pg = PostgresNewLine(*prev, rec); !pg.empty()) return pg;
  std::map<std::string_view, std::string> before;
  std::set<std::string> known;  // every line the previous backup's files were on
  for (const auto& f : prev_files)
    if (std::string l = IncarnationOf(f.header); !l.empty()) {
      before[f.path] = l;
      known.insert(l);
    }
  std::string first;
  size_t files = 0;
  for (const auto& j : jobs) {
    if (j->vanished) continue;
    const std::string now = IncarnationOf(j->header);
    if (now.empty()) continue;
    auto it = before.find(j->entry.rel);
    if (it == before.end()) continue;
    const std::string& was = it->second;
    // A read-only or offline file takes the RESETLOGS when it is brought back, months later: a line another file
    // was on already is not a new one.
    if (was == now || known.count(now)) continue;
    if (files++ == 0) first = fmt::format("{}: {} -> {}", j->entry.rel, was, now);
  }
  if (files == 0) return "";
  return files == 1 ? fmt::format("RESETLOGS in 1 datafile ({})", first)
                    : fmt::format("RESETLOGS in {} datafiles ({}, ...)", files, first);
}

// Datafiles whose headers name different databases: kept as read, and a DBA who pointed a backup at the wrong
// directory wants to hear it. By database name, not DBID: a container database's PDB datafiles carry their PDB's
// DBID beside the container's name.
std::string MixedDatabases(const std::vector<std::unique_ptr<FileJob>>& jobs) {
  std::map<std::string, std::string> first_file;  // DB name -> a file that names it
  for (const auto& j : jobs)
    if (j->header.is_object() && j->header.contains("db_name"))
      first_file.emplace(j->header["db_name"].get<std::string>(), j->entry.rel);
  if (first_file.size() < 2) return "";
  std::string list;
  for (const auto& [name, file] : first_file) list += fmt::format("{}{} ({})", list.empty() ? "" : ", ", name, file);
  return fmt::format("the datafile headers name {} databases: {}; they were backed up as read", first_file.size(), list);
}

// A database's datafiles all of another database than its previous backup's (`backup --db PROD` of HR's files):
// refused, for they would become PROD's newest point, its earlier datafiles "gone" (DBA walkthrough, 2026-12-02).
// By name: a database made anew under its name (a new DBID) is still the DBA's PROD, and a container's PDB
// datafiles carry their own DBIDs. One renamed with nid is backed up under a new --db.
Status SameOracleDatabase(const DatabaseRecord& db, const std::vector<FileRecord>& prev_files,
                          const std::vector<std::unique_ptr<FileJob>>& jobs) {
  const auto before = OracleDatabasesOf(prev_files), now = OracleDatabasesOf(jobs);
  if (before.empty() || now.empty()) return Status::OK();
  for (const auto& [name, shown] : now)
    if (before.contains(name)) return Status::OK();
  return Status::InvalidArgument(fmt::format(
      "the datafiles in the sources are of {}, but the backups of '{}' are of {}: a wrong --db or a wrong source? "
      "Nothing was backed up; a database renamed with nid is backed up under a new --db", Listed(now), db.name,
      Listed(before)));
}

// The first backup of a new database whose datafiles (or PostgreSQL cluster) another database of the store
// already holds: a mistyped --db in a nightly job starts a new database and leaves the real one without new
// backups, with no word (DBA walkthrough, 2026-12-02). A NOTE, not a refusal: a standby or a copy of a database
// has its DBID (or system identifier) and is backed up under a name of its own. Only a NOTE: a catalog that cannot
// be read here leaves it out rather than fail the backup. One record per database when its newest backup is
// complete, as it nearly always is.
std::string AlsoBackedUpAs(const Catalog& cat, const DatabaseRecord& db, const BackupRecord& rec,
                           const std::vector<std::unique_ptr<FileJob>>& jobs) {
  if (db.format != FormatId::kOracle && db.format != FormatId::kPostgres) return std::string();
  const auto now = OracleDatabasesOf(jobs);
  auto dbs = cat.ListDatabases();
  if (!dbs.ok()) return std::string();
  std::vector<std::string> also;
  for (const auto& other : dbs.value()) {
    if (other.id == db.id || other.format != db.format) continue;
    std::optional<BackupRecord> newest;
    if (auto n = cat.NewestBackup(other.id); n.ok() && n.value() && n.value()->state == BackupState::kComplete) {
      newest = std::move(n.value());
    } else if (auto backups = cat.ListBackups(other.id); backups.ok()) {
      if (const BackupRecord* b = NewestComplete(backups.value())) newest = *b;
    }
    if (!newest) continue;
    if (db.format == FormatId::kPostgres) {
      if (rec.system_identifier != 0 && newest->system_identifier == rec.system_identifier)
        also.push_back(fmt::format("'{}' (system identifier {})", other.name, rec.system_identifier));
      continue;
    }
    auto files = cat.ListFiles(other.id, newest->id);
    if (!files.ok()) continue;
    for (const auto& [name, shown] : OracleDatabasesOf(files.value()))
      if (auto it = now.find(name); it != now.end() && it->second == shown) {
        also.push_back(fmt::format("'{}' ({})", other.name, shown));
        break;
      }
  }
  if (also.empty()) return std::string();
  return fmt::format("this is the first backup of '{}', a full one, of a database this store already backs up as {}: "
                     "a mistyped --db? (A standby or a copy of a database is backed up under a name of its own.)",
                     db.name, fmt::join(also, ", "));
}

// Two files of the backup whose headers carry one database's same FILE#: a copy of a datafile, or a link to one,
// in the source. Oracle has one file per FILE#; a DBA restoring both must know which one the database uses.
std::string SharedFileNumbers(const std::vector<std::unique_ptr<FileJob>>& jobs) {
  // Keyed by the creation SCN too: Oracle gives a FILE# again once its tablespace is dropped, and a datafile left
  // behind by DROP TABLESPACE without INCLUDING ... DATAFILES is no copy of the new one (review).
  using Key = std::tuple<uint32_t, std::string, uint32_t, uint64_t>;  // (DBID, name, FILE#, creation SCN)
  std::map<Key, std::vector<std::string>> by_number;
  for (const auto& j : jobs)
    if (j->header.is_object() && j->header.contains("file_number") && j->header.contains("db_name"))
      by_number[{j->header.value("dbid", 0u), j->header["db_name"].get<std::string>(), j->header["file_number"].get<uint32_t>(),
                 j->header.value("creation_scn", uint64_t{0})}]
          .push_back(j->entry.rel);
  std::string list;
  for (const auto& [key, files] : by_number) {
    if (files.size() < 2) continue;
    std::string names;
    for (const auto& f : files) names += fmt::format("{}{}", names.empty() ? "" : ", ", f);
    list += fmt::format("{}FILE# {} of {} in {}", list.empty() ? "" : "; ", std::get<2>(key), std::get<1>(key), names);
  }
  if (list.empty()) return "";
  return fmt::format("datafiles carry the same file number ({}): copies or links of one datafile? Each was backed up "
                     "as read; Oracle uses one file per FILE#", list);
}

}  // namespace scnfs
