// The catalog value of a BackupRecord (key `backup/<db><id>`; docs/store-format.md, "Backup records").
//
// A mount, a restore and `scnfs list` read every backup record of a database before they serve anything: decoding
// them as JSON took ~25 us each, 35-80 ms before a mount's first lookup in a database of 1,500 backups (an hourly
// incremental reaches that in two months). The binary layout decodes in well under a microsecond and lets later
// versions add fields that older readers skip.
//
//   value = 0x01 | fixed part | strings | extensions
//   fixed part (big endian): db u32 | id u32 | state u8 | flags u8 | start_us i64 | end_us i64 | pid u32
//                            | checkpoint_change u64 | max_change u64 | change_ceiling u64 | went_back_blocks u64
//                            | went_back_from u64 | went_back_to u64 | timeline u32 | system_identifier u64
//                            | min_recovery_lsn u64 | files u64 | directories u64 | logical_bytes u64 | bytes_read u64
//                            | blocks_read u64 | blocks_changed u64 | zero_blocks u64 | corrupt_blocks u64
//                            | new_contents u64 | new_bytes_raw u64 | new_bytes_stored u64
//   strings (u32 length + bytes each): kind | error | host | new_incarnation
//   extensions: (tag u8 | length u32 | bytes)* to the end; readers skip the ones they do not know. 1: symlinks.
//
// Values that start with '{' are the JSON records of stores written before this layout; they still decode.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "scnfs/catalog.h"
#include "scnfs/status.h"

namespace scnfs {

inline constexpr char kBackupRecordBinary = 0x01;

// The record's sources are not in it: they have their own key (Catalog::PutBackup, LoadSources).
std::string EncodeBackupRecord(const BackupRecord& r);
Result<BackupRecord> DecodeBackupRecord(std::string_view value);

}  // namespace scnfs
