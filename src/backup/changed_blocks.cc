#include "backup/changed_blocks.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace scnfs {

Result<std::map<std::string, BlockRanges>> ParseChangedBlocks(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::FromErrno(errno, fmt::format("cannot read changed-blocks file {}", path));
  std::map<std::string, BlockRanges> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    std::istringstream ls(line);
    std::string rel, extra;
    long long from = -1, to = -1;
    if (!(ls >> rel)) continue;  // blank
    if (!(ls >> from >> to) || (ls >> extra) || from < 0 || to < from)
      return Status::InvalidArgument(fmt::format(
          "{} line {}: expected 'relative/path block_from block_to' with from <= to, got '{}'", path, n, line));
    out[rel].emplace_back(uint64_t(from), uint64_t(to));
  }
  for (auto& [rel, ranges] : out) {
    std::sort(ranges.begin(), ranges.end());
    BlockRanges merged;
    for (auto r : ranges) {
      if (!merged.empty() && r.first <= merged.back().second + 1)
        merged.back().second = std::max(merged.back().second, r.second);
      else
        merged.push_back(r);
    }
    ranges = std::move(merged);
  }
  return out;
}

}  // namespace scnfs
