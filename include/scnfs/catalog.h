// Catalog records: databases, backups and the files of each backup (docs/store-format.md gives keys and fields).
//
// Database records are JSON values in the catalog column family: few, read by people debugging a store, and
// extended as the roadmap adds fields. Backup and file records, which a mount or a restore reads by the thousand
// before it serves anything, are binary with extension fields (src/catalog/*_codec.h), as versions and content are.
//
// Thread-safety: records are values. Catalog is safe for concurrent readers; one writer (the store's).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "scnfs/format.h"
#include "scnfs/status.h"

namespace rocksdb {
class WriteBatch;
}

namespace scnfs {

class Store;
class Visibility;

struct DatabaseRecord {
  uint32_t id = 0;
  std::string name;
  FormatId format = FormatId::kRaw;
  uint32_t dict_id = 0;         // zstd dictionary trained at the first backup (0: none)
  // A second dictionary, trained from the samples that compress worst with the first (0: none). A block whose
  // frame with dict_id is larger than dict2_threshold bytes is also compressed with dict2_id; the smaller wins.
  uint32_t dict2_id = 0;
  uint32_t dict2_threshold = 0;
  int64_t created_us = 0;
  uint32_t next_backup_id = 1;
  uint32_t next_file_id = 1;
};

enum class BackupState { kRunning, kComplete, kFailed };
std::string_view BackupStateName(BackupState s);

struct BackupRecord {
  uint32_t db = 0;
  uint32_t id = 0;
  std::string kind;             // "full" or "incremental"
  bool changed_blocks = false;  // read only the blocks named by --changed-blocks
  BackupState state = BackupState::kRunning;
  std::string error;            // why it failed
  int64_t start_us = 0, end_us = 0;
  int pid = 0;
  std::string host;
  std::vector<std::string> sources;
  // Change numbers (SCN / LSN). checkpoint_change: the lowest datafile checkpoint SCN (Oracle) or the pg_control
  // checkpoint LSN (PostgreSQL); max_change: the highest block change number in this backup's files;
  // change_ceiling: the highest key change number written by this or any earlier backup of the database.
  uint64_t checkpoint_change = 0, max_change = 0, change_ceiling = 0;
  // Blocks whose change number went back below their stored version's (a point-in-time recovery, RESETLOGS, an
  // older copy of a datafile): went_back_from is the database's change_ceiling before this backup, went_back_to the
  // lowest such block's own change number. scn: points below max(went_back_from, max_change) of the newest
  // backup with went_back_blocks are ambiguous and refused (docs/points-in-time.md).
  uint64_t went_back_blocks = 0, went_back_from = 0, went_back_to = 0;
  // A new line of changes that need not make any block go back: an Oracle RESETLOGS (or a datafile of another
  // database) seen in a datafile header, a PostgreSQL timeline switch in pg_control. Empty when none; else what
  // changed, for people ("timeline 1 -> 2"). Such a backup also sets went_back_from: scn: points below
  // scn_served_from() would mix the two lines and are refused, as for went_back_blocks.
  std::string new_incarnation;
  uint32_t timeline = 0;  // PostgreSQL: pg_control's timeline at this backup (0: not PostgreSQL, or before 2026-11-30)
  // PostgreSQL: pg_control's system identifier, which names the cluster (0: not PostgreSQL, or before 2026-11-30).
  uint64_t system_identifier = 0;
  // PostgreSQL: taken while the cluster ran (pg_control not shut down). Such a backup is not consistent on its own:
  // it needs the WAL of its time, which scnfs does not keep yet (roadmap stage 4), and PostgreSQL would start on it
  // without complaint, so restores say so. (An Oracle datafile copied while open carries fuzzy flags in its header,
  // and Oracle itself demands media recovery: not silent, not marked.)
  bool hot = false;
  // PostgreSQL: the LSN recovery of this backup must reach at least. A hot backup: the end of the WAL in pg_wal
  // when the backup had read every file (the MAXALIGNed end of its last record). A stopped standby: pg_control's
  // minimum recovery point. 0 for a cold primary (consistent at its checkpoint), or when not found.
  uint64_t min_recovery_lsn = 0;
  // PostgreSQL, a hot backup taken with `--pg-connect` (pg_backup_start / pg_backup_stop): its start LSN (the REDO
  // point of the checkpoint its backup_label names); min_recovery_lsn is then its stop LSN. Such a backup holds its
  // backup_label and the WAL from here to there: a server started on a restore or clone of it recovers to a
  // consistent state by itself. 0 for every other backup.
  uint64_t wal_start_lsn = 0;
  bool self_consistent_hot() const { return hot && wal_start_lsn != 0; }
  // PostgreSQL: the earliest LSN this whole backup can stand for (docs/points-in-time.md): a cold backup's
  // checkpoint; a hot one's highest page LSN or WAL end if later. A record without a checkpoint: scn_position().
  uint64_t lsn_position() const {
    return checkpoint_change != 0 ? std::max({checkpoint_change, max_change, min_recovery_lsn}) : scn_position();
  }
  bool new_line() const { return went_back_blocks > 0 || !new_incarnation.empty(); }
  // Where this backup stands for scn: base selection (docs/points-in-time.md): its max_change; for a backup that
  // read no valid change number at all (every block corrupt), the change ceiling: it holds nothing older than what
  // was stored before it, and its blocks are keyed there. (With 0 it was the base of every scn: point, even of
  // points older than every block.)
  uint64_t scn_position() const { return max_change != 0 ? max_change : change_ceiling; }
  // For a backup with new_line(): the lowest SCN scn: serves from then on.
  uint64_t scn_served_from() const { return std::max(went_back_from, max_change); }
  // Where a backup whose scn_position() is `own` stands among the scn: points (docs/points-in-time.md), after
  // complete backups whose highest scn_position() is `highest_before` (none: `first`): at `own` when that is above,
  // else just after them (it was taken after that state), or at it for a backup that starts a new line.
  static uint64_t ScnStandsAt(uint64_t own, uint64_t highest_before, bool first, bool new_line) {
    return first || own > highest_before ? own : new_line ? highest_before : highest_before + 1;
  }
  uint64_t files = 0, directories = 0, logical_bytes = 0;
  std::optional<uint64_t> symlinks;  // absent in records written before 2026-12-01
  uint64_t bytes_read = 0, blocks_read = 0, blocks_changed = 0, zero_blocks = 0, corrupt_blocks = 0;
  uint64_t new_contents = 0, new_bytes_raw = 0, new_bytes_stored = 0;
};

struct FileRecord {
  std::string path;             // relative, '/'-separated, as in the source
  std::string type;             // "file", "dir", "symlink"
  uint32_t file_id = 0;         // 0 for directories and symlinks
  FormatId format = FormatId::kRaw;
  uint32_t block_size = 0;
  uint64_t size = 0;
  uint32_t mode = 0, uid = 0, gid = 0;
  int64_t atime_ns = 0, mtime_ns = 0, ctime_ns = 0;
  std::string target;           // symlink target; for a directory, the link it was reached through (pg_wal, pg_tblspc/<oid>)
  uint64_t max_change = 0;
  uint64_t corrupt_blocks = 0;
  // Blocks whose version in this backup is corrupt, ascending, whether this backup read them or kept an earlier
  // backup's version: a changed-block backup reads them again, for no list names a block that was read while it
  // was being written and has not changed since. {kTooManyHeldCorrupt} when there were more than
  // kMaxHeldCorrupt: such a file is read in full.
  std::vector<uint32_t> held_corrupt;
  // Whether the record says which blocks it held corrupt: false for a file record written before 2026-12-01 (or
  // by a build that did not know the field), whose next changed-block backup reads the whole file once, since its
  // earlier backups may hold fractured copies no list will name.
  bool held_corrupt_known = true;
  static constexpr size_t kMaxHeldCorrupt = 4096;
  static constexpr uint32_t kTooManyHeldCorrupt = UINT32_MAX;  // no block number: a file has at most 2^32 - 1 blocks
  // A directory's: how many directories lie directly in it, recorded or implied by a deeper path (what a mount
  // shows as its link count, 2 + this, without reading below it). Absent in records before 2026-12-01.
  std::optional<uint32_t> subdirectories;
  std::string read;             // "full", "changed blocks", "unchanged" (how the backup read it)
  nlohmann::json header;        // format facts (Oracle datafile header), null otherwise
  uint64_t blocks() const { return block_size ? (size + block_size - 1) / block_size : 0; }
};

void to_json(nlohmann::json& j, const DatabaseRecord& r);
void from_json(const nlohmann::json& j, DatabaseRecord& r);
void to_json(nlohmann::json& j, const BackupRecord& r);
void from_json(const nlohmann::json& j, BackupRecord& r);
void to_json(nlohmann::json& j, const FileRecord& r);
void from_json(const nlohmann::json& j, FileRecord& r);

class Catalog {
 public:
  explicit Catalog(Store* store) : store_(store) {}

  Result<std::vector<DatabaseRecord>> ListDatabases() const;
  // NotFound names the known databases.
  Result<DatabaseRecord> GetDatabase(std::string_view name) const;
  // Records without their `sources` (kept under their own key; LoadSources fills them in).
  Result<std::vector<BackupRecord>> ListBackups(uint32_t db) const;
  // The newest backup record of a database (by id, whatever its state); nullopt when it has none. Reads one record.
  Result<std::optional<BackupRecord>> NewestBackup(uint32_t db) const;
  Status LoadSources(BackupRecord* r) const;
  Result<BackupRecord> GetBackup(uint32_t db, uint32_t id) const;
  // A record whose path is not the one its key names is Corruption.
  Result<std::vector<FileRecord>> ListFiles(uint32_t db, uint32_t backup) const;
  // The files of a complete backup, checked against the counts of files and directories its record keeps: a
  // record lost from a damaged store is Corruption, not a file silently missing from a restore or a mount.
  Result<std::vector<FileRecord>> ListFiles(const BackupRecord& backup) const;
  // Reading a backup's file set a piece at a time, as a mount meets names (docs/mount.md, "Reading the file set"):
  // the first byte of a file in a 20,000-file backup waited 57-74 ms for its whole list (found 2026-12-01). Each
  // record is checked under its own key, not against the backup's counts as ListFiles(BackupRecord) is.
  //
  // The record of `path` in backup `backup`; nullopt when the backup has none.
  Result<std::optional<FileRecord>> GetFile(uint32_t db, uint32_t backup, std::string_view path) const;
  // Whether the backup holds anything below `path`: a directory it did not record (a file named by its path, as in
  // `backup a/b.dbf`) is one that has entries below it. One seek.
  Result<bool> HasEntriesBelow(uint32_t db, uint32_t backup, std::string_view path) const;
  // What lies directly in directory `dir` of a backup ("" its top), without reading below it: one seek per
  // subdirectory skips its subtree, so a stat of a backup's directory reads its top-level names, not its 20,000
  // files (108 ms before, found 2026-12-01).
  struct Directory {
    std::optional<FileRecord> self;   // dir "": the source directory's own record ("."), when the backup read one
    size_t directories = 0;           // subdirectories: recorded ones and made-up ones
    std::vector<FileRecord> records;  // with_records: its recorded entries, in name order
    std::vector<std::string> made_up; // with_records: names of its subdirectories the backup did not record
  };
  // Without records only the subdirectories are counted; entries are told apart by their type field alone.
  Result<Directory> ListDirectory(uint32_t db, uint32_t backup, std::string_view dir, bool with_records) const;
  // Which backups' versions may be served: complete ones. Hidden: failed and running.
  Result<Visibility> LoadVisibility(uint32_t db) const;
  // The same, from a database's backups already read (ListBackups): a point opened reads them once.
  static Visibility VisibilityOf(const std::vector<BackupRecord>& backups);
  Result<uint32_t> NextDatabaseId() const;

  // Writer side: stage records into a batch that the caller commits.
  static void PutDatabase(rocksdb::WriteBatch* b, Store* store, const DatabaseRecord& r);
  // `with_sources` false: the record only, its sources' key left as it is (for a record read without them).
  static void PutBackup(rocksdb::WriteBatch* b, Store* store, const BackupRecord& r, bool with_sources = true);
  static void PutFile(rocksdb::WriteBatch* b, Store* store, uint32_t db, uint32_t backup, const FileRecord& r);
  static void PutFileId(rocksdb::WriteBatch* b, Store* store, uint32_t db, std::string_view path, uint32_t id);
  static void PutNextDatabaseId(rocksdb::WriteBatch* b, Store* store, uint32_t next);

 private:
  Store* store_;
};

// The newest (highest id) complete backup of `backups` (one database's records, in any order and state), or null.
const BackupRecord* NewestComplete(const std::vector<BackupRecord>& backups);

// The lowest SCN/LSN scn: serves once backup `back` has started a new line of changes (BackupRecord::new_line()):
// below it a point could name a state of either line (docs/points-in-time.md). `backups`: the database's records,
// in any order and state. For PostgreSQL, above back.scn_served_from() also every point an earlier backup stands at
// (lsn_position, a checkpoint above all its pages): lsn: of an old cluster's cold checkpoint served the new cluster
// backed up under the same name (found 2026-11-30).
uint64_t ScnServedFrom(FormatId format, const std::vector<BackupRecord>& backups, const BackupRecord& back);

// A point in time the user names: backup:ID, scn:N, time:ISO8601 or latest.
struct PointSpec {
  enum class Kind { kBackup, kScn, kTime, kLatest };
  Kind kind = Kind::kLatest;
  uint64_t number = 0;   // backup id or SCN
  int64_t time_us = 0;   // for kTime
  std::string text;      // as the user wrote it
};
Result<PointSpec> ParsePointSpec(std::string_view text);
// "2026-11-22T10:00:00" or "...T10:00" (local time), "...Z", "...+02:00", or "2026-11-22" (the day's first local
// instant). Microseconds since epoch. Local times a change of the zone's offset skipped or repeated are refused.
Result<int64_t> ParseIso8601(std::string_view text);
// InvalidArgument, saying why, when TZ names a zone glibc cannot load (it would read local times as UTC).
Status LocalTimeZoneStatus();
std::string FormatIso8601(int64_t us);  // local time, seconds precision, with offset

// What a PointSpec selects (docs/points-in-time.md): the base backup whose file set and raw files are served, and
// for scn: the change number every versioned block is read at.
struct ResolvedPoint {
  BackupRecord base;
  std::optional<uint64_t> scn;
  // PostgreSQL's lsn:/scn: selects a whole backup, the newest consistent at or before the LSN asked (then `scn` is
  // unset and the point reads as that backup): docs/points-in-time.md.
  std::optional<uint64_t> asked;
  FormatId format = FormatId::kRaw;  // the database's, for Describe()
  // Set when scn:/lsn: asked for a change number past every block of the newest backup: the point is that
  // backup's state, and the sentence says so (a slipped digit gave a restore labelled with an SCN no backup holds).
  std::string past_newest;
  std::string Describe() const;
};
Result<ResolvedPoint> ResolvePoint(const DatabaseRecord& db, const std::vector<BackupRecord>& backups,
                                   const PointSpec& spec);

}  // namespace scnfs
