// The --changed-blocks list: lines "relative/path block_from block_to" (inclusive), '#' comments, blank lines.
// The analogue of Oracle block change tracking: the backup reads only these blocks of files it already has.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "scnfs/status.h"

namespace scnfs {

using BlockRanges = std::vector<std::pair<uint64_t, uint64_t>>;  // sorted, merged, inclusive

// `path` may be a FIFO or a pipe (`<(generate-list)`): it is read until its writer closes it, and while no writer
// has come, `cancelled` (if set) is asked every 200 ms, so that one Ctrl-C or SIGTERM ends the wait (Aborted).
Result<std::map<std::string, BlockRanges>> ParseChangedBlocks(const std::string& path,
                                                              const std::function<bool()>& cancelled = {});

// Whether a list line can name the file at `rel` (a path as the backup records it): not one whose first field is
// '#' alone, that holds what reads as two block numbers and a comment, that starts or ends with a blank (fields
// are split on blanks) or holds a line break. Such a file's changes would be in no changed-block backup: it is
// read in full instead.
bool ChangedBlocksCanName(const std::string& rel);

}  // namespace scnfs
