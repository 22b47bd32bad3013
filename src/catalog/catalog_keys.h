// Catalog keys (docs/store-format.md). Integers are big endian so that iteration follows numeric order.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "util/coding.h"

namespace scnfs::catalog_keys {

inline std::string Database(std::string_view name) { return "db/" + std::string(name); }
inline constexpr std::string_view kDatabasePrefix = "db/";
inline std::string BackupPrefix(uint32_t db) {
  std::string k = "backup/";
  PutBE32(&k, db);
  return k;
}
inline std::string Backup(uint32_t db, uint32_t id) {
  std::string k = BackupPrefix(db);
  PutBE32(&k, id);
  return k;
}
// A backup's sources, apart from its record: every catalog read parses every record, and a database backed up as
// 400 datafiles by name carried 400 paths in each.
inline std::string Sources(uint32_t db, uint32_t id) {
  std::string k = "sources/";
  PutBE32(&k, db);
  PutBE32(&k, id);
  return k;
}
inline std::string FilePrefix(uint32_t db, uint32_t backup) {
  std::string k = "file/";
  PutBE32(&k, db);
  PutBE32(&k, backup);
  return k;
}
inline std::string File(uint32_t db, uint32_t backup, std::string_view path) { return FilePrefix(db, backup) + std::string(path); }
inline std::string Path(uint32_t db, std::string_view path) {
  std::string k = "path/";
  PutBE32(&k, db);
  return k + std::string(path);
}
inline constexpr std::string_view kNextDatabaseId = "next_db_id";

}  // namespace scnfs::catalog_keys
