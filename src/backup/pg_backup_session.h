// The server's side of a hot PostgreSQL backup (docs/backup.md, "Hot PostgreSQL backups"): a libpq session that
// brackets the copy of a running cluster's files with pg_backup_start / pg_backup_stop, as pg_basebackup does over
// its own protocol. What it gives the backup: files copied while PostgreSQL writes them, made consistent by the WAL
// from the start to the stop LSN, and the backup_label that tells a server started on the copy to replay that WAL
// from the right checkpoint. Without the label a server starts from whatever checkpoint pg_control held when it was
// copied, and may come up on torn or half-updated pages without a word.
//
// Thread-safety: one thread at a time; the session belongs to one backup.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "scnfs/status.h"

namespace scnfs {

// What the temporary replication slot of every scnfs hot backup's session is named by: `<prefix><pid>_<hex>`. It
// lives in the source's pg_replslot while its backup runs (this one's, or another host's backup of the cluster).
inline constexpr std::string_view kSessionSlotPrefix = "scnfs_backup_";

class PgBackupSession {
 public:
  struct Stop {
    uint64_t lsn = 0;             // the backup's end: recovery must replay the WAL at least to here
    std::string label_file;       // the backup_label a restore needs
    std::string tablespace_map;   // what PostgreSQL would write as tablespace_map (scnfs keeps tablespaces in place)
  };

  // Connects with `conninfo` (libpq's "host=... port=... user=..." or a postgresql:// URI; unset parameters come
  // from PGHOST, PGPORT, PGUSER... and the database from PGDATABASE, else "postgres"), checks that the server runs
  // the data directory `datadir` (the same inode: not another cluster, nor a standby of this one elsewhere),
  // reserves the WAL from now on with a temporary physical replication slot (where the server allows one: a
  // checkpoint during a long backup would otherwise recycle WAL segments the backup needs), and starts the backup
  // (`fast`: an immediate checkpoint; else a spread one, as pg_basebackup's default). Every failure names what to
  // fix. `cancelled` (if set) is asked every 200 ms while a query waits for the server, here and in End(): when it
  // returns true the query is cancelled on the server and the call fails with Aborted at once (the session is then
  // to be destroyed, which ends the server's backup). The connection itself is not interruptible: it is bounded by
  // connect_timeout.
  static Result<std::unique_ptr<PgBackupSession>> Begin(const std::string& conninfo, const std::string& datadir,
                                                        const std::string& label, bool fast,
                                                        std::function<bool()> cancelled = {});
  // Ends the backup on the server (without waiting for WAL archiving: the backup holds the WAL it needs) and gives
  // what the backup must hold. Once only.
  Result<Stop> End();
  // A session that did not End() closes its connection, which ends the backup on the server (a non-exclusive
  // backup lives with its session) and drops the temporary slot.
  ~PgBackupSession();

  uint64_t start_lsn() const { return start_lsn_; }
  int server_version() const { return version_; }  // server_version_num, e.g. 150018
  bool reserved_wal() const { return slot_; }       // whether the temporary slot holds the WAL since the start
  // Whether the server knows allow_in_place_tablespaces (15, and 12.12, 13.8, 14.5 on): a configuration file that
  // names a setting the server does not know keeps it from starting.
  bool has_in_place_tablespaces() const { return in_place_tablespaces_; }

 private:
  struct Conn;
  explicit PgBackupSession(std::unique_ptr<Conn> conn);
  std::unique_ptr<Conn> conn_;
  uint64_t start_lsn_ = 0;
  int version_ = 0;
  bool slot_ = false;
  bool in_place_tablespaces_ = false;
  bool ended_ = false;
};

}  // namespace scnfs
