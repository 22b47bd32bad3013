// The catalog value of a FileRecord (key `file/<db><backup><path>`; docs/store-format.md, "File records").
//
// One record per file per backup, and a restore or verify decodes all of a backup's records before its first
// byte: a PostgreSQL cluster has thousands of files, and decoding JSON took ~6.5 us per record (7 ms per 1,000
// files). The binary layout decodes in a fraction of that and still lets later versions add fields
// that older readers skip.
//
//   value = 0x01 | fixed part | strings | extensions
//   fixed part (big endian): file_id u32 | block_size u32 | size u64 | mode u32 | uid u32 | gid u32
//                            | atime_ns i64 | mtime_ns i64 | ctime_ns i64 | max_change u64 | corrupt_blocks u64
//   strings (u32 length + bytes each): path | type | format | target | read | header (JSON text, empty when null)
//   extensions: (tag u8 | length u32 | bytes)* to the end; readers skip the ones they do not know. 1: held
//               corrupt blocks, 2: a directory's subdirectories (docs/store-format.md).
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

inline constexpr char kFileRecordBinary = 0x01;

std::string EncodeFileRecord(const FileRecord& r);
Result<FileRecord> DecodeFileRecord(std::string_view value);
// Whether the record is a directory's, from its type field alone (a JSON record is decoded whole): counting the
// subdirectories of a directory of 10,000 files needs no more.
Result<bool> FileRecordIsDirectory(std::string_view value);

}  // namespace scnfs
