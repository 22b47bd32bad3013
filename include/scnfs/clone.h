// Writable clones: a named, block-level copy-on-write view over one point in time of a database.
//
//   STORE/clones/<name>/clone.json   what the clone is of: database, SPEC, base backup, SCN, created (immutable)
//   STORE/clones/<name>/meta/        RocksDB: the clone's own inodes and directory entries
//   STORE/clones/<name>/data/<ino>   sparse delta files: the blocks written through the clone, at their offsets
//   STORE/clones/<name>/lock         flock()ed by the process serving the clone (a mount)
//
// A clone's files start as the point's files; a block is read from the delta once written, from the backup
// otherwise. The backup is never written. docs/clones.md specifies the layout and the rules.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scnfs/status.h"

namespace scnfs {

class Store;

struct CloneInfo {
  std::string name;
  std::string db;
  std::string spec;              // as given: backup:3, scn:..., time:..., latest
  uint32_t base_backup = 0;      // the point's base backup
  std::optional<uint64_t> scn;   // for scn: points
  // For scn: points, the newest backup whose versions the clone reads: fixed at creation, so that a later backup
  // holding blocks changed at or below the SCN never changes what the clone's untouched blocks read. 0: a clone
  // made before this was recorded (read as of each mount).
  uint32_t last_backup = 0;
  int64_t created_us = 0;
  // Filled by ListClones:
  uint64_t delta_bytes = 0;      // space the clone's writes take (allocated blocks of its delta files)
  int in_use_pid = 0;            // the process serving it, 0 if none
  // ListClones only: why the clone's record cannot be read (then only name, delta_bytes and in_use_pid are set).
  std::string damaged;
  // CreateClone only: what a DBA must know before starting a database on it (a hot PostgreSQL backup taken without
  // --pg-connect), as a restore warns; empty when nothing.
  std::string warning;
};

// STORE/clones/<name>: the directory of clone `name` (the layout above).
std::string CloneDir(const std::string& store_dir, const std::string& name);

// Creates clone `name` of database `db` at `spec`. Time and space do not grow with the database's size: only its
// file list is copied. NotFound: unknown database or point; InvalidArgument: a bad name; Busy: the name is taken.
Result<CloneInfo> CreateClone(Store* store, const std::string& db, const std::string& spec, const std::string& name);
// Every clone, by name; a clone whose record cannot be read is listed with `damaged` set, not left out.
Result<std::vector<CloneInfo>> ListClones(const std::string& store_dir);
// Deletes the clone (also one whose record is damaged) and returns its space: the bytes its writes took. A mount
// serving it is asked to let go (ReleaseRequested), which it does unless a file of the clone is open; Busy, with
// the mount's reason, when it does not within a few seconds.
Result<uint64_t> DestroyClone(const std::string& store_dir, const std::string& name);
// Whether `clone destroy` is asking the mount that serves clone `name` to let go of it now (its request, the file
// `release` in the clone's directory, is fresh: a destroy that died leaves one that stops counting after 10 s). A
// mount lets go of such a clone when none of its files is open, writes its reason into the request when one is,
// and does not open a clone while it is asked to let go.
bool ReleaseRequested(const std::string& store_dir, const std::string& name);
// Where a mount writes why it keeps serving a clone asked to let go ("2 of its files are open").
void AnswerReleaseRequest(const std::string& store_dir, const std::string& name, const std::string& reason);
// The clone's record (without the fields ListClones fills: a mount asks this on lookups, and walking the clone's
// delta files for their space is ListClones' work). NotFound if there is none, Corruption if it cannot be read.
Result<CloneInfo> ReadClone(const std::string& store_dir, const std::string& name);

}  // namespace scnfs
