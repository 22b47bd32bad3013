// The --changed-blocks list: lines "relative/path block_from block_to" (inclusive), '#' comments, blank lines.
// The analogue of Oracle block change tracking: the backup reads only these blocks of files it already has.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "scnfs/status.h"

namespace scnfs {

using BlockRanges = std::vector<std::pair<uint64_t, uint64_t>>;  // sorted, merged, inclusive

Result<std::map<std::string, BlockRanges>> ParseChangedBlocks(const std::string& path);

}  // namespace scnfs
