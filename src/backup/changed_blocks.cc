#include "backup/changed_blocks.h"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace scnfs {
namespace {

// A line as it may appear in a one-line message: control bytes (a terminal's escape sequences) as '?', and
// at most 80 bytes of it.
std::string Quoted(std::string_view line) {
  std::string s(line.substr(0, 80));
  for (char& c : s)
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
  return line.size() > 80 ? s + "..." : s;
}

}  // namespace

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
    // A block number past what istream reads (2^63) fails the read itself: named as too large, not as from > to.
    if (!(ls >> from >> to) || (ls >> extra) || from < 0 || to < from)
      return Status::InvalidArgument(fmt::format(
          "{} line {}: expected 'relative/path block_from block_to' with block numbers 0 <= from <= to < 2^32, got '{}'",
          path, n, Quoted(line)));
    if (to >= (1ll << 32))
      return Status::InvalidArgument(fmt::format("{} line {}: block {} is past the 2^32 blocks a file may have", path, n, to));
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
