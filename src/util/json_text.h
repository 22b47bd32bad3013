// JSON text that never throws on bytes that are not UTF-8.
//
// nlohmann's dump() throws type_error.316 on a string that is not UTF-8 (a Latin-1 file name, a damaged Oracle
// header's names), and an exception there ends the process. What people and scripts read (CLI output, catalog
// records, a backup's info file) gets U+FFFD for such bytes instead. Where bytes must come back exactly (a clone's
// paths), the record stores them hex-encoded instead (src/clone/clone_meta.cc).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace scnfs {

inline std::string JsonText(const nlohmann::json& j, int indent = -1) {
  return j.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

// True when `s` is valid UTF-8, i.e. a JSON string holds it unchanged: only then do skipping and replacing the
// invalid bytes give the same text.
inline bool IsUtf8(std::string_view s) {
  const nlohmann::json j = std::string(s);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::ignore) ==
         j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace scnfs
