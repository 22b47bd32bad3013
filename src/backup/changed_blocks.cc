#include "backup/changed_blocks.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <sstream>
#include <optional>
#include <string_view>
#include <vector>

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

// Whitespace-separated fields of a line, as [begin, end) offsets.
std::vector<std::pair<size_t, size_t>> Fields(const std::string& line) {
  std::vector<std::pair<size_t, size_t>> out;
  size_t i = 0;
  while (true) {
    i = line.find_first_not_of(" \t\r", i);
    if (i == std::string::npos) return out;
    size_t e = line.find_first_of(" \t\r", i);
    if (e == std::string::npos) e = line.size();
    out.emplace_back(i, e);
    i = e;
  }
}

// A block number: decimal digits only. One of more than 18 digits is returned as 2^62, past any block a file
// may have, so that the caller names it as too large.
std::optional<long long> Number(std::string_view f) {
  if (f.empty() || f.find_first_not_of("0123456789") != std::string_view::npos) return std::nullopt;
  if (f.size() > 18) return 1ll << 62;
  return std::stoll(std::string(f));
}

// The whole list. Opened without waiting for a writer: a blocking open of a FIFO nobody writes to waited for ever,
// and SIGTERM (which `timeout` and schedulers send once) did not end it (found 2026-12-02 by an attack on error
// boundaries). A FIFO or pipe is then read as its writer writes, the wait cut into 200 ms polls that ask `cancelled`.
Result<std::string> ReadList(const std::string& path, const std::function<bool()>& cancelled) {
  const auto failed = [&](int err) { return Status::FromErrno(err, fmt::format("cannot read changed-blocks file {}", path)); };
  const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return failed(errno);
  struct stat st;
  const bool waits = ::fstat(fd, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode) || S_ISCHR(st.st_mode));
  if (!waits) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  std::string bytes;
  char buf[65536];
  while (true) {
    if (waits) {
      // Read only once poll says so: before any writer has come, a FIFO reads as its end (0).
      if (cancelled && cancelled()) {
        ::close(fd);
        return Status::Aborted(fmt::format("interrupted while waiting for the changed-blocks list {} to be written", path));
      }
      pollfd p{fd, POLLIN, 0};
      const int ready = ::poll(&p, 1, 200);
      if (ready < 0 && errno != EINTR) {
        const int err = errno;
        ::close(fd);
        return failed(err);
      }
      if (ready <= 0) continue;
    }
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      bytes.append(buf, size_t(n));
      continue;
    }
    if (n == 0) break;  // the end, or a FIFO's writer gone
    if (errno == EINTR || errno == EAGAIN) continue;
    const int err = errno;
    ::close(fd);
    return failed(err);
  }
  ::close(fd);
  return bytes;
}

// One line of a list, read as ParseChangedBlocks reads it: nullopt for a comment or blank line; a path with its
// block numbers; or (path empty) a line that is neither, `error` saying why.
struct Line {
  std::string path;
  long long from = 0, to = 0;
  std::string error;
};
std::optional<Line> ParseLine(const std::string& line) {
  // The path is everything before the last two fields, so it may hold spaces and '#'. A comment is a line whose
  // first field is '#' alone ("# ..."), or what follows the two block numbers after a blank. "#users01.dbf 2 2"
  // names a file: as a comment, a list made from real file names lost that file's changes without a word
  // (names attack, 2026-12-02); a "#comment" line now fails the backup, naming the line, instead.
  auto f = Fields(line);
  if (f.empty() || (line[f[0].first] == '#' && f[0].second - f[0].first == 1)) return std::nullopt;
  for (size_t k = 3; k < f.size(); ++k)
    if (line[f[k].first] == '#' && Number(std::string_view(line).substr(f[k - 1].first, f[k - 1].second - f[k - 1].first)) &&
        Number(std::string_view(line).substr(f[k - 2].first, f[k - 2].second - f[k - 2].first))) {
      f.resize(k);
      break;
    }
  const auto field = [&](size_t k) { return std::string_view(line).substr(f[k].first, f[k].second - f[k].first); };
  std::optional<long long> from, to;
  if (f.size() >= 3) {
    from = Number(field(f.size() - 2));
    to = Number(field(f.size() - 1));
  }
  Line out;
  if (!from || !to || *to < *from) {
    out.error = "expected 'relative/path block_from block_to' with block numbers 0 <= from <= to < 2^32";
    return out;
  }
  if (*to >= (1ll << 32)) {
    out.error = fmt::format("block {} is past the 2^32 blocks a file may have", field(f.size() - 1));
    return out;
  }
  // "./users01.dbf" and "base//5/16384" name the files the backup calls "users01.dbf" and "base/5/16384" (they
  // were refused as not in the backup: found 2026-11-30).
  out.path = std::filesystem::path(line.substr(f[0].first, f[f.size() - 3].second - f[0].first)).lexically_normal().string();
  out.from = *from;
  out.to = *to;
  return out;
}

}  // namespace

bool ChangedBlocksCanName(const std::string& rel) {
  if (rel.find_first_of("\n\r") != std::string::npos) return false;  // a line break ends the line
  const std::optional<Line> l = ParseLine(rel + " 0 0");
  return l && l->error.empty() && l->path == rel;
}

Result<std::map<std::string, BlockRanges>> ParseChangedBlocks(const std::string& path, const std::function<bool()>& cancelled) {
  SCNFS_ASSIGN_OR_RETURN(std::string bytes, ReadList(path, cancelled));
  std::istringstream in(std::move(bytes));
  std::map<std::string, BlockRanges> out;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    std::optional<Line> l = ParseLine(line);
    if (!l) continue;
    if (!l->error.empty())
      return Status::InvalidArgument(l->error.starts_with("expected")
                                         ? fmt::format("{} line {}: {}, got '{}'", path, n, l->error, Quoted(line))
                                         : fmt::format("{} line {}: {}", path, n, l->error));
    out[l->path].emplace_back(uint64_t(l->from), uint64_t(l->to));
  }
  // A read that failed part-way (an I/O error, a network file system going away) ends getline as the file's end
  // would: the backup then read only the blocks listed before it and said complete (found 2026-12-01).
  if (in.bad()) return Status::IOError(fmt::format("cannot read changed-blocks file {}: {}", path, std::strerror(errno ? errno : EIO)));
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
