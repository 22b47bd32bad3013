#include "fuse/mountinfo.h"

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

}  // namespace

std::string AbsolutePath(const std::string& path) {
  std::string p = std::filesystem::absolute(path).lexically_normal().string();
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
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
