// PostgreSQL data directory format (docs/format-postgres.md).
//
// A data directory is backed up as a whole. Relation files (under base/, global/, pg_tblspc/, named like
// "16384", "16384_fsm", "16384_vm", "16384_init", "16384.1") are 8 KiB pages versioned by pd_lsn and checked like
// PostgreSQL's own page verification; every other file is raw.
//
// Thread-safety: free functions are pure; the FileFormat is immutable.
#pragma once

#include <cstdint>
#include <memory>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "scnfs/format.h"

namespace scnfs::postgres {

inline constexpr uint32_t kBlockSize = 8192;
inline constexpr uint32_t kSegmentBlocks = 131072;  // RELSEG_SIZE: 1 GiB segments of 8 KiB pages

// Facts read from global/pg_control.
struct ControlFile {
  uint64_t system_identifier = 0;
  uint32_t pg_control_version = 0;   // 1300 for PostgreSQL 15
  uint32_t state = 0;                // DBState: 1 shut down, 6 in production, ...
  uint64_t checkpoint_lsn = 0;
  uint64_t redo_lsn = 0;
  uint32_t timeline = 0;             // checkPointCopy.ThisTimeLineID: a new one after each point-in-time recovery
  uint64_t min_recovery_point = 0;   // minRecoveryPoint: how far a standby (or archive recovery) had replayed
  uint32_t block_size = 0;           // blcksz, 8192
  uint32_t wal_block_size = 0;       // xlog_blcksz, 8192: the size of a WAL page
  uint32_t wal_segment_size = 0;     // xlog_seg_size, 16 MiB unless initdb --wal-segsize
  uint32_t data_checksum_version = 0;  // 0 = checksums off
  bool checksums() const { return data_checksum_version != 0; }
  bool shut_down() const { return state == 1; }
};

// Parses the pg_control file contents. Fails with InvalidArgument when it is not a PostgreSQL 12-17 control file.
Result<ControlFile> ParseControlFile(ByteSpan bytes);
// The CRC-32C pg_control holds at offset 288, over its bytes before it. REQUIRES: bytes.size() >= 288.
uint32_t ControlFileCrc(ByteSpan bytes);

// A WAL segment file's name, "TTTTTTTTXXXXXXXXYYYYYYYY" (24 hex digits): its timeline and the LSN it starts at,
// for segments of `segment_size` bytes (a power of two from 1 MiB to 1 GiB). nullopt for any other name.
struct WalSegment {
  uint32_t timeline = 0;
  uint64_t start = 0;
};
std::optional<WalSegment> ParseWalSegmentName(std::string_view name, uint32_t segment_size);

// The name of the WAL segment of `timeline` that holds LSN `lsn` (XLogFileName).
std::string WalSegmentName(uint32_t timeline, uint64_t lsn, uint32_t segment_size);

// An LSN as PostgreSQL writes it: two hex halves, "0/199B220". nullopt for anything else.
std::optional<uint64_t> ParseLsn(std::string_view text);

// What a base backup's backup_label (pg_backup_stop's labelfile) says recovery must start from: "START WAL
// LOCATION", "CHECKPOINT LOCATION" and "START TIMELINE". nullopt when one of them is missing or unreadable.
struct BackupLabel {
  uint64_t start_lsn = 0;       // the REDO point of the backup's checkpoint: the WAL the backup needs begins here
  uint64_t checkpoint_lsn = 0;
  uint32_t timeline = 0;
};
std::optional<BackupLabel> ParseBackupLabel(std::string_view text);

// Whether `page` (at least the 24 bytes of XLogPageHeaderData) is a WAL page written for LSN `addr`: its
// xlp_pageaddr says so. Recycled segments keep the pages of their earlier life, new ones are zero: neither is.
bool IsWalPageAt(ByteSpan page, uint64_t addr);

// For the last WAL page written, `page` (whole) at LSN `addr`: the LSN just after its last record, MAXALIGNed as
// PostgreSQL's record ends are (pd_lsn, pg_current_wal_lsn()): where what was written ends (it zero-fills WAL pages
// before it puts records in them). Walks the page's records by their
// xl_tot_len, after the header and the rest of a record begun on an earlier page. addr + page size when a record
// goes on past the page (what was written ends with it).
uint64_t WalEndInPage(ByteSpan page, uint64_t addr);

// pg_checksum_page(): the page checksum PostgreSQL stores in pd_checksum, for a page at relation block `blkno`.
uint16_t PageChecksum(ByteSpan page, uint32_t blkno);

// Whether `relpath` (relative to the data directory, '/'-separated) names a relation data file, and if so the
// segment number (the N of "16384.N"; 0 for the first segment).
std::optional<uint32_t> RelationSegment(std::string_view relpath);

// Whether a symlink at `relpath` in a data directory stands for a directory that belongs to the cluster: pg_wal
// (initdb --waldir) and pg_tblspc/<oid> (a tablespace). A backup takes what they point to as part of the data
// directory: kept as links, a restore, mount or clone would lack the tablespace's tables and the WAL, and a server
// started on it would write into the production cluster's tablespace and WAL directories.
bool IsFollowedLink(std::string_view relpath);

// Whether `head` (the start of a file) reads as PostgreSQL relation pages: at least half of its first non-zero
// 8 KiB pages (up to 16) have a sane page header (bounds, flags, page size and layout version 8192 | 4). For
// `verify --file` of a relation file copied out of its cluster, which would otherwise be taken for raw data.
bool LooksLikeRelationPages(ByteSpan head);

// What a relation file's pd_lsn proves about its pages (docs/format-postgres.md, "Fingerprint" and "Unlogged
// relations").
enum class RelationPages {
  // WAL-logged pages: the LSN is the change number, and with checksums (LSN, checksum, flags) proves "unchanged".
  kLogged,
  // The visibility map and free-space map forks ("_vm", "_fsm"): the LSN is a change number, but their pages change
  // without a new LSN (a DELETE clears visibility-map bits with no WAL of the map page's own), so nothing short of
  // the content proves them unchanged.
  kMap,
  // Every fork but "_init" of an unlogged relation: its LSN is no change number (0, or GiST's fake LSNs, a counter
  // that crash recovery restarts at 1000), so the page is taken as having none.
  kUnlogged,
};

// The kind of the relation file `relpath` (a RelationSegment path); `unlogged` says whether its relation has an
// "_init" fork beside it.
RelationPages RelationPagesOf(std::string_view relpath, bool unlogged);

// The "<dir>/<relfilenode>" a relation file belongs to (fork and segment cut off): "base/5/16384_vm.1" ->
// "base/5/16384". For finding the "_init" fork of unlogged relations.
std::string_view RelationOf(std::string_view relpath);

// The unlogged relations of a file set: those with an "_init" fork. Add() every path of the set first (backup's
// scan, verify's file list), then ask.
class UnloggedRelations {
 public:
  void Add(std::string_view relpath) {
    if (relpath.ends_with("_init")) init_.emplace(RelationOf(relpath));
  }
  bool Contains(std::string_view relpath) const { return init_.contains(RelationOf(relpath)); }
  RelationPages PagesOf(std::string_view relpath) const { return RelationPagesOf(relpath, Contains(relpath)); }

 private:
  std::set<std::string, std::less<>> init_;  // "<dir>/<relfilenode>"
};

// A FileFormat for one relation segment file. `segment` turns the block number within the file into the relation
// block number the checksum covers. `checksums` says whether the cluster has data checksums.
std::unique_ptr<FileFormat> MakeRelationFormat(uint32_t segment, bool checksums,
                                               RelationPages pages = RelationPages::kLogged);

}  // namespace scnfs::postgres
