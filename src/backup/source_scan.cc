#include "backup/source_scan.h"

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <map>
#include <utility>
#include <vector>

#include <fmt/format.h>

namespace scnfs {
namespace fs = std::filesystem;

namespace {

// Whether `st` is the directory to leave out (none when `skip` is null).
bool IsSkipped(const struct stat& st, const struct stat* skip) {
  return skip != nullptr && S_ISDIR(st.st_mode) && st.st_dev == skip->st_dev && st.st_ino == skip->st_ino;
}

// Whether canonical path `p` is `dir` or below it (`dir` canonical too; empty: nothing is).
bool Within(const fs::path& dir, const fs::path& p) {
  return !dir.empty() && std::mismatch(dir.begin(), dir.end(), p.begin(), p.end()).first == dir.end();
}

// The directory a scan leaves out (ScanOptions::skip_dir): by its stat, and by its canonical path for what lies below.
struct Skip {
  const struct stat* st = nullptr;
  fs::path path;
  // Whether a link at `abs` leads into it, below its top (which IsSkipped leaves out): such a link is kept as a
  // link, never followed, or the store's table files would be read while they are written.
  bool Below(const std::string& abs, const struct stat& target) const {
    std::error_code ec;
    const fs::path real = path.empty() || IsSkipped(target, st) ? fs::path() : fs::canonical(abs, ec);
    return !ec && !real.empty() && Within(path, real);
  }
};

// `open_dirs`: the directories from the root down to `dir`, by (device, inode): a link to one of them is never
// followed, or the walk would go round it forever (`oradata/loop -> ..`).
Status Walk(const fs::path& root, const fs::path& dir, const Skip& skip, const ScanOptions& opt,
            std::vector<std::pair<dev_t, ino_t>>* open_dirs, std::map<std::string, SourceEntry>* out) {
  std::error_code ec;
  fs::directory_iterator it(dir, ec), end;
  if (ec) return Status::FromErrno(ec.value(), fmt::format("cannot read directory {}", dir.string()));
  // libstdc++ turns the iterator into `end` when increment() fails, so `ec` is checked after the loop too: a
  // readdir error must fail the backup, not cut the file list short.
  for (; !ec && it != end; it.increment(ec)) {
    SourceEntry e;
    e.abs = it->path().string();
    if (::lstat(e.abs.c_str(), &e.st) != 0) {
      // Removed while we walked (a live database drops temp files), or its directory replaced by a file.
      if (errno == ENOENT || errno == ENOTDIR) continue;
      return Status::FromErrno(errno, fmt::format("cannot stat {}", e.abs));
    }
    if (!e.is_dir() && !e.is_file() && !e.is_symlink()) continue;
    if (IsSkipped(e.st, skip.st)) continue;
    if (e.is_symlink()) {
      // Read now, with the lstat: at commit the link may be gone or replaced, and a record without its target
      // would make the whole backup unrestorable.
      std::error_code lec;
      e.target = fs::read_symlink(it->path(), lec).string();
      if (lec == std::errc::no_such_file_or_directory) continue;
      if (lec) return Status::FromErrno(lec.value(), fmt::format("cannot read symlink {}", e.abs));
    }
    e.rel = it->path().lexically_relative(root).generic_string();
    if (e.is_symlink() && opt.follow_link) {
      // A link to what belongs to the database (a tablespace, the WAL, a datafile): backed up as if it stood here.
      struct stat target;
      const auto is_open = [&] {
        return std::find(open_dirs->begin(), open_dirs->end(), std::pair(target.st_dev, target.st_ino)) != open_dirs->end();
      };
      if (::stat(e.abs.c_str(), &target) == 0 && (S_ISDIR(target.st_mode) || S_ISREG(target.st_mode)) &&
          !(S_ISDIR(target.st_mode) && is_open()) && !skip.Below(e.abs, target) && opt.follow_link(e.rel, e.abs, target)) {
        if (IsSkipped(target, skip.st)) continue;
        e.st = target;
      }
    }
    const bool recurse = e.is_dir();
    const fs::path sub = it->path();
    if (!out->emplace(e.rel, e).second) return Status::InvalidArgument(fmt::format("two sources give the same path '{}'", e.rel));
    if (!recurse) continue;
    open_dirs->emplace_back(e.st.st_dev, e.st.st_ino);
    Status st = Walk(root, sub, skip, opt, open_dirs, out);
    open_dirs->pop_back();
    std::error_code sec;
    // Gone: for a directory, no directory there any more; for a followed link (pg_wal, a tablespace), the link
    // itself gone. A link whose target went away still fails the backup: its data is missing, not removed.
    const auto gone = [&] {
      return e.followed_link() ? !fs::exists(fs::symlink_status(sub, sec)) : !fs::is_directory(fs::symlink_status(sub, sec));
    };
    if (!st.ok() && (st.ToErrno() == ENOENT || st.ToErrno() == ENOTDIR) && gone()) {
      // The directory went away while we walked it (or a file took its name): leave it out, with whatever was
      // already taken from inside it.
      out->erase(e.rel);
      const std::string prefix = e.rel + "/";
      for (auto i = out->lower_bound(prefix); i != out->end() && i->first.starts_with(prefix);) i = out->erase(i);
      continue;
    }
    SCNFS_RETURN_IF_ERROR(st);
  }
  if (ec) return Status::FromErrno(ec.value(), fmt::format("cannot read directory {}", dir.string()));
  return Status::OK();
}

}  // namespace

Result<std::vector<SourceEntry>> ScanSources(const std::vector<std::string>& sources, const ScanOptions& options) {
  const std::string& skip_dir = options.skip_dir;
  if (sources.empty()) return Status::InvalidArgument("no source given: name the datafiles or the data directory to back up");
  struct stat skip_st;
  std::error_code ec;
  const Skip skip{!skip_dir.empty() && ::stat(skip_dir.c_str(), &skip_st) == 0 ? &skip_st : nullptr,
                  skip_dir.empty() ? fs::path() : fs::weakly_canonical(skip_dir, ec)};
  std::map<std::string, SourceEntry> entries;
  for (const auto& src : sources) {
    struct stat st;
    if (::stat(src.c_str(), &st) != 0) return Status::FromErrno(errno, fmt::format("cannot read source {}", src));
    // A source inside the store (its db/ directory, a table file) would back up the store's own files while they
    // are written (found 2026-11-30: `backup st/db` completed).
    if (!skip.path.empty()) {
      const fs::path p = fs::weakly_canonical(src, ec);
      if (Within(skip.path, p) && !ec && !IsSkipped(st, skip.st))
        return Status::InvalidArgument(fmt::format("source {} is inside the store {}", src, skip_dir));
    }
    if (S_ISDIR(st.st_mode)) {
      // A single directory source is recorded as "." too: its owner and mode matter (PostgreSQL refuses a data
      // directory that is not 0700 and owned by its user).
      if (sources.size() == 1) {
        SourceEntry root;
        root.abs = src;
        root.st = st;
        root.rel.assign(1, '.');  // not = ".": GCC 12 warns falsely (-Wrestrict, its bug 105329)
        entries.emplace(root.rel, root);
      }
      if (IsSkipped(st, skip.st))
        return Status::InvalidArgument(fmt::format("source {} is the store itself", src));
      std::vector<std::pair<dev_t, ino_t>> open_dirs{{st.st_dev, st.st_ino}};
      SCNFS_RETURN_IF_ERROR(Walk(fs::path(src), fs::path(src), skip, options, &open_dirs, &entries));
    } else if (S_ISREG(st.st_mode)) {
      SourceEntry e;
      e.abs = src;
      e.st = st;
      // A file named through a link (`backup /oradata/current/users01.dbf`): read at its target, for the backup
      // opens what it read with O_NOFOLLOW (OpenSource). Recorded under the name given.
      if (struct stat l; ::lstat(src.c_str(), &l) == 0 && S_ISLNK(l.st_mode)) {
        std::error_code cec;
        if (fs::path real = fs::canonical(src, cec); !cec) e.abs = real.string();
      }
      e.rel = fs::path(src).filename().string();
      if (!entries.emplace(e.rel, e).second) return Status::InvalidArgument(fmt::format("two sources give the same name '{}'", e.rel));
    } else {
      return Status::InvalidArgument(fmt::format("source {} is neither a file nor a directory", src));
    }
  }
  std::vector<SourceEntry> out;
  out.reserve(entries.size());
  for (auto& [k, v] : entries) out.push_back(std::move(v));
  return out;
}

}  // namespace scnfs
