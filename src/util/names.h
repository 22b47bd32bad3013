// Names a user gives that become directories of a mount and words in scripts (databases, clones).
#pragma once

#include <string_view>

namespace scnfs {

// 1 to 64 bytes of ASCII letters, digits and the characters of `punct`, not starting with '.'.
inline bool IsPlainName(std::string_view name, std::string_view punct) {
  if (name.empty() || name.size() > 64 || name[0] == '.') return false;
  for (char c : name) {
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && punct.find(c) == std::string_view::npos) return false;
  }
  return true;
}

}  // namespace scnfs
