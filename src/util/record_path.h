// The paths of catalog file records: relative, '/'-separated, "" for the top (docs/store-format.md).
#pragma once

#include <string_view>

namespace scnfs {

// "a/b/c" -> "a/b"; "c" -> "" (the top).
inline std::string_view ParentPath(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

// "a/b/c" -> "c"; "c" -> "c".
inline std::string_view LeafName(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace scnfs
