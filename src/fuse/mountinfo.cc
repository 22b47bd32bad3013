#include "fuse/mountinfo.h"

#include <dirent.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace scnfs {

namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      out.push_back(char(std::stoi(s.substr(i + 1, 3), nullptr, 8)));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

// Whether `dir` lists `name` as a symlink (its d_type; a file system that does not say counts as no link). Reads
// the directory, never `name` itself.
bool EntryIsLink(const std::filesystem::path& dir, const std::string& name) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return false;
  bool link = false;
  while (const dirent* e = ::readdir(d)) {
    if (name == e->d_name) {
      link = e->d_type == DT_LNK;
      break;
    }
  }
  ::closedir(d);
  return link;
}

}  // namespace

std::string AbsolutePath(const std::string& path) {
  namespace fs = std::filesystem;
  if (path.empty()) return "";
  std::error_code ec;
  fs::path p = fs::absolute(path, ec).lexically_normal();
  if (ec) return path;
  std::string s = p.string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  p = s;
  // The kernel records a mount at the path with its links resolved: `scnfs umount /backup/mnt`, where /backup is a
  // link, found nothing mounted there and left the mount (found 2026-11-30). Links are resolved without any stat of
  // the mount point itself, not even lstat, which enters the mount: a dead FUSE mount answers ENOTCONN, a stopped
  // one never, and the mount's own process would wait on itself. The parent is resolved, and the last part only
  // when the parent's directory entry says it is a link.
  if (p.has_parent_path() && p != p.root_path()) {
    fs::path parent = fs::weakly_canonical(p.parent_path(), ec);
    if (ec) parent = p.parent_path();
    fs::path last = parent / p.filename();
    if (EntryIsLink(parent, p.filename().string())) {
      fs::path target = fs::read_symlink(last, ec);
      if (!ec) {
        fs::path resolved = fs::weakly_canonical(parent / target, ec);
        last = ec ? (parent / target).lexically_normal() : resolved;
      }
    }
    s = last.string();
    while (s.size() > 1 && s.back() == '/') s.pop_back();
  }
  return s;
}

Result<std::vector<MountInfo>> ReadMountInfo() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return Status::IOError("cannot read /proc/self/mountinfo");
  std::vector<MountInfo> out;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, dev, root, point, field;
    f >> id >> parent >> dev >> root >> point;
    while (f >> field && field != "-") {
    }
    MountInfo m;
    f >> m.fstype;
    m.point = Unescape(point);
    std::sscanf(dev.c_str(), "%u:%u", &m.major, &m.minor);
    out.push_back(std::move(m));
  }
  return out;
}

Result<std::optional<MountInfo>> FindMount(const std::string& path) {
  const std::string abs = AbsolutePath(path);
  SCNFS_ASSIGN_OR_RETURN(auto mounts, ReadMountInfo());
  std::optional<MountInfo> found;
  for (auto& m : mounts)
    if (m.point == abs) found = m;  // later lines are mounted on top
  return found;
}

}  // namespace scnfs
