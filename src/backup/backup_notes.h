// Notes for people about a backup, each a sentence for the backup's report (empty when there is nothing to say),
// and one refusal. Pure functions of the records and the planned jobs; none reads a source or writes the store.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "backup/file_plan.h"
#include "scnfs/catalog.h"
#include "scnfs/status.h"

namespace scnfs {

// The Oracle datafiles of `prev` (the previous complete backup; null for a first one) that `jobs` do not hold.
std::string DatafilesGone(const BackupRecord* prev, const std::vector<FileRecord>& prev_files,
                          const std::vector<std::unique_ptr<FileJob>>& jobs);

// A PostgreSQL cluster on another line of changes than at `prev`: another system identifier or timeline. Empty
// when none, or when either record predates the field.
std::string PostgresNewLine(const BackupRecord& prev, const BackupRecord& rec);

// A new line of changes since `prev` (docs/points-in-time.md, "New lines of changes"): a PostgreSQL timeline
// switch, or Oracle datafiles whose headers name another RESETLOGS than the same paths did at `prev`.
std::string NewIncarnation(const BackupRecord* prev, const BackupRecord& rec, const std::vector<FileRecord>& prev_files,
                           const std::vector<std::unique_ptr<FileJob>>& jobs);

// Datafile headers that name more than one database (by name, as a container's PDBs have DBIDs of their own).
std::string MixedDatabases(const std::vector<std::unique_ptr<FileJob>>& jobs);

// InvalidArgument when none of the databases the jobs' datafile headers name is one `db`'s previous backup held
// (`backup --db PROD` of HR's datafiles); OK when either side names none.
Status SameOracleDatabase(const DatabaseRecord& db, const std::vector<FileRecord>& prev_files,
                          const std::vector<std::unique_ptr<FileJob>>& jobs);

// For the first backup of `db`: the other databases of the store whose newest complete backup holds the same Oracle
// database (name and DBID) or PostgreSQL cluster (system identifier): a mistyped --db? Empty when the catalog
// cannot be read: a note never fails a backup.
std::string AlsoBackedUpAs(const Catalog& cat, const DatabaseRecord& db, const BackupRecord& rec,
                           const std::vector<std::unique_ptr<FileJob>>& jobs);

// Files whose headers carry one database's same FILE# (and creation SCN): copies or links of one datafile.
std::string SharedFileNumbers(const std::vector<std::unique_ptr<FileJob>>& jobs);

}  // namespace scnfs
