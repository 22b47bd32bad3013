#include "scnfs/catalog.h"

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <set>
#include <stdexcept>
#include <unordered_set>

#include <fmt/format.h>

#include "catalog/backup_record_codec.h"
#include "catalog/catalog_keys.h"
#include "catalog/file_record_codec.h"
#include "scnfs/store.h"
#include "store/rocks_status.h"
#include "store/versions.h"
#include "util/json_text.h"

namespace scnfs {
using nlohmann::json;

std::string_view BackupStateName(BackupState s) {
  switch (s) {
    case BackupState::kRunning: return "running";
    case BackupState::kComplete: return "complete";
    case BackupState::kFailed: return "failed";
  }
  return "unknown";
}

namespace {

BackupState ParseState(const std::string& s) {
  if (s == "complete") return BackupState::kComplete;
  if (s == "failed") return BackupState::kFailed;
  return BackupState::kRunning;
}

// A format this build does not know is never read as another (docs/store-format.md): ParseRecord turns the throw
// into a Corruption status naming it.
FormatId FormatFromJson(const json& j) {
  const std::string name = j.at("format").get<std::string>();
  if (auto f = ParseFormatName(name)) return *f;
  throw std::invalid_argument(fmt::format("unknown format '{}' (written by a newer scnfs?)", name));
}

template <typename T>
Result<T> ParseRecord(const std::string& value, std::string_view what) {
  try {
    return json::parse(value).get<T>();
  } catch (const std::exception& e) {
    return Status::Corruption(fmt::format("catalog record for {} is unreadable: {}", what, e.what()));
  }
}
// Backup records are binary (JSON in stores written before 2026-12-01): backup_record_codec.h. Its errors say
// "a backup" themselves.
template <>
Result<BackupRecord> ParseRecord<BackupRecord>(const std::string& value, std::string_view) {
  return DecodeBackupRecord(value);
}

// Visits catalog keys starting with `prefix`.
template <typename F>
Status ScanPrefix(const Store* store, const std::string& prefix, F&& f) {
  auto it = store->NewCatalogIterator();
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    SCNFS_RETURN_IF_ERROR(f(std::string_view(it->key().data(), it->key().size()), it->value().ToString()));
  }
  return FromRocksStatus(it->status(), "reading the catalog");
}

// Parses every record under `prefix`, each checked by `check(record, key)` (a record under the wrong key, ...).
// `expected`: how many there are likely to be (0: unknown), reserved first.
template <typename T, typename Check>
Result<std::vector<T>> ScanRecords(const Store* store, const std::string& prefix, std::string_view what, Check&& check,
                                   size_t expected = 0) {
  std::vector<T> out;
  out.reserve(expected);
  SCNFS_RETURN_IF_ERROR(ScanPrefix(store, prefix, [&](std::string_view key, std::string v) {
    SCNFS_ASSIGN_OR_RETURN(T r, ParseRecord<T>(v, what));
    SCNFS_RETURN_IF_ERROR(check(r, key));
    out.push_back(std::move(r));
    return Status::OK();
  }));
  return out;
}

}  // namespace

void to_json(json& j, const DatabaseRecord& r) {
  j = json{{"id", r.id}, {"name", r.name}, {"format", FormatName(r.format)}, {"dict_id", r.dict_id},
           {"dict2_id", r.dict2_id}, {"dict2_threshold", r.dict2_threshold},
           {"created_us", r.created_us}, {"next_backup_id", r.next_backup_id}, {"next_file_id", r.next_file_id}};
}
void from_json(const json& j, DatabaseRecord& r) {
  j.at("id").get_to(r.id);
  j.at("name").get_to(r.name);
  r.format = FormatFromJson(j);
  j.at("dict_id").get_to(r.dict_id);
  r.dict2_id = j.value("dict2_id", 0u);  // absent in records written before the second dictionary
  r.dict2_threshold = j.value("dict2_threshold", 0u);
  j.at("created_us").get_to(r.created_us);
  j.at("next_backup_id").get_to(r.next_backup_id);
  j.at("next_file_id").get_to(r.next_file_id);
}

void to_json(json& j, const BackupRecord& r) {
  j = json{{"db", r.db}, {"id", r.id}, {"kind", r.kind}, {"changed_blocks", r.changed_blocks},
           {"state", BackupStateName(r.state)}, {"error", r.error}, {"start_us", r.start_us}, {"end_us", r.end_us},
           {"pid", r.pid}, {"host", r.host}, {"sources", r.sources}, {"checkpoint_change", r.checkpoint_change},
           {"max_change", r.max_change}, {"change_ceiling", r.change_ceiling},
           {"went_back_blocks", r.went_back_blocks}, {"went_back_from", r.went_back_from},
           {"went_back_to", r.went_back_to}, {"new_incarnation", r.new_incarnation}, {"timeline", r.timeline},
           {"system_identifier", r.system_identifier}, {"hot", r.hot}, {"min_recovery_lsn", r.min_recovery_lsn},
           {"wal_start_lsn", r.wal_start_lsn},
           {"files", r.files},
           {"directories", r.directories}, {"logical_bytes", r.logical_bytes}, {"bytes_read", r.bytes_read},
           {"blocks_read", r.blocks_read}, {"blocks_changed", r.blocks_changed}, {"zero_blocks", r.zero_blocks},
           {"corrupt_blocks", r.corrupt_blocks}, {"new_contents", r.new_contents},
           {"new_bytes_raw", r.new_bytes_raw}, {"new_bytes_stored", r.new_bytes_stored}};
  if (r.symlinks) j["symlinks"] = *r.symlinks;
}
void from_json(const json& j, BackupRecord& r) {
  j.at("db").get_to(r.db);
  j.at("id").get_to(r.id);
  j.at("kind").get_to(r.kind);
  j.at("changed_blocks").get_to(r.changed_blocks);
  r.state = ParseState(j.at("state").get<std::string>());
  j.at("error").get_to(r.error);
  j.at("start_us").get_to(r.start_us);
  j.at("end_us").get_to(r.end_us);
  j.at("pid").get_to(r.pid);
  j.at("host").get_to(r.host);
  if (j.contains("sources")) j.at("sources").get_to(r.sources);  // inline in records written before 2026-11-30
  j.at("checkpoint_change").get_to(r.checkpoint_change);
  j.at("max_change").get_to(r.max_change);
  j.at("change_ceiling").get_to(r.change_ceiling);
  r.went_back_blocks = j.value("went_back_blocks", uint64_t{0});  // absent in records written before
  r.went_back_from = j.value("went_back_from", uint64_t{0});
  r.went_back_to = j.value("went_back_to", uint64_t{0});
  r.new_incarnation = j.value("new_incarnation", std::string());  // absent before 2026-11-30 (second change)
  r.timeline = j.value("timeline", 0u);
  r.system_identifier = j.value("system_identifier", uint64_t{0});  // absent before 2026-11-30 (third change)
  r.hot = j.value("hot", false);
  r.min_recovery_lsn = j.value("min_recovery_lsn", uint64_t{0});  // absent before 2026-11-30 (fourth change)
  r.wal_start_lsn = j.value("wal_start_lsn", uint64_t{0});  // never in a JSON record scnfs wrote (binary by then)
  j.at("files").get_to(r.files);
  j.at("directories").get_to(r.directories);
  if (j.contains("symlinks")) r.symlinks = j.at("symlinks").get<uint64_t>();
  j.at("logical_bytes").get_to(r.logical_bytes);
  j.at("bytes_read").get_to(r.bytes_read);
  j.at("blocks_read").get_to(r.blocks_read);
  j.at("blocks_changed").get_to(r.blocks_changed);
  j.at("zero_blocks").get_to(r.zero_blocks);
  j.at("corrupt_blocks").get_to(r.corrupt_blocks);
  j.at("new_contents").get_to(r.new_contents);
  j.at("new_bytes_raw").get_to(r.new_bytes_raw);
  j.at("new_bytes_stored").get_to(r.new_bytes_stored);
}

void to_json(json& j, const FileRecord& r) {
  j = json{{"path", r.path}, {"type", r.type}, {"file_id", r.file_id}, {"format", FormatName(r.format)},
           {"block_size", r.block_size}, {"size", r.size}, {"mode", r.mode}, {"uid", r.uid}, {"gid", r.gid},
           {"atime_ns", r.atime_ns}, {"mtime_ns", r.mtime_ns}, {"ctime_ns", r.ctime_ns}, {"target", r.target},
           {"max_change", r.max_change}, {"corrupt_blocks", r.corrupt_blocks}, {"read", r.read},
           {"header", r.header}};
}
void from_json(const json& j, FileRecord& r) {
  j.at("path").get_to(r.path);
  j.at("type").get_to(r.type);
  j.at("file_id").get_to(r.file_id);
  r.format = FormatFromJson(j);
  j.at("block_size").get_to(r.block_size);
  j.at("size").get_to(r.size);
  j.at("mode").get_to(r.mode);
  j.at("uid").get_to(r.uid);
  j.at("gid").get_to(r.gid);
  j.at("atime_ns").get_to(r.atime_ns);
  j.at("mtime_ns").get_to(r.mtime_ns);
  j.at("ctime_ns").get_to(r.ctime_ns);
  j.at("target").get_to(r.target);
  j.at("max_change").get_to(r.max_change);
  j.at("corrupt_blocks").get_to(r.corrupt_blocks);
  j.at("read").get_to(r.read);
  r.header = j.value("header", json());
}

namespace {
// A database record under another database's key (a damaged store) would serve that database's backups under
// this name: a restore of PROD writing TEST's files.
Status CheckDatabaseKey(const DatabaseRecord& r, std::string_view key) {
  if (catalog_keys::Database(r.name) == key) return Status::OK();
  return Status::Corruption(fmt::format("catalog record for database '{}' is under the key of '{}'", r.name,
                                        key.substr(catalog_keys::kDatabasePrefix.size())));
}
}  // namespace

Result<std::vector<DatabaseRecord>> Catalog::ListDatabases() const {
  std::unordered_set<uint32_t> ids;
  return ScanRecords<DatabaseRecord>(store_, std::string(catalog_keys::kDatabasePrefix), "a database",
                                     [&](const DatabaseRecord& r, std::string_view key) -> Status {
                                       SCNFS_RETURN_IF_ERROR(CheckDatabaseKey(r, key));
                                       if (ids.insert(r.id).second) return Status::OK();
                                       return Status::Corruption(fmt::format(
                                           "catalog records of two databases claim id {} (one is '{}')", r.id, r.name));
                                     });
}

Result<DatabaseRecord> Catalog::GetDatabase(std::string_view name) const {
  std::string v;
  Status st = store_->GetCatalog(catalog_keys::Database(name), &v);
  if (st.IsNotFound()) {
    auto all = ListDatabases();
    std::string known;
    if (all.ok())
      for (const auto& d : all.value()) known += (known.empty() ? "" : ", ") + d.name;
    return Status::NotFound(fmt::format("unknown database '{}' (the store holds: {})", name,
                                        known.empty() ? "no databases yet" : known));
  }
  if (!st.ok()) return st;
  SCNFS_ASSIGN_OR_RETURN(DatabaseRecord r, ParseRecord<DatabaseRecord>(v, name));
  SCNFS_RETURN_IF_ERROR(CheckDatabaseKey(r, catalog_keys::Database(name)));
  return r;
}

namespace {
// A backup record under another backup's key (a damaged store) would serve that backup's files as this one's.
Status CheckBackupKey(const BackupRecord& r, std::string_view key) {
  if (catalog_keys::Backup(r.db, r.id) == key) return Status::OK();
  return Status::Corruption(fmt::format("catalog record for backup {} of database {} is under another backup's key", r.id, r.db));
}
}  // namespace

Result<std::vector<BackupRecord>> Catalog::ListBackups(uint32_t db) const {
  // Ids are dense from 1, so the newest key tells how many records to expect: the list is then built in one
  // allocation. Grown by doubling, a mount's first lookup in a database of 3,000 backups spent a third of its
  // 15 ms writing records into freshly mapped pages, which cost a fault each on these VMs (perf).
  const std::string prefix = catalog_keys::BackupPrefix(db);
  size_t expected = 0;
  {
    auto it = store_->NewCatalogIterator();
    it->SeekForPrev(catalog_keys::Backup(db, UINT32_MAX));
    if (it->Valid() && it->key().starts_with(prefix) && it->key().size() == prefix.size() + 4)
      expected = std::min<size_t>(GetBE32(it->key().data() + prefix.size()), size_t(1) << 20);
  }
  return ScanRecords<BackupRecord>(store_, prefix, "a backup", CheckBackupKey, expected);
}

Result<std::optional<BackupRecord>> Catalog::NewestBackup(uint32_t db) const {
  const std::string prefix = catalog_keys::BackupPrefix(db);
  auto it = store_->NewCatalogIterator();
  it->SeekForPrev(catalog_keys::Backup(db, UINT32_MAX));
  if (!it->Valid()) {
    if (Status st = FromRocksStatus(it->status(), "reading the catalog"); !st.ok()) return st;
    return std::optional<BackupRecord>();
  }
  if (!it->key().starts_with(prefix)) return std::optional<BackupRecord>();
  SCNFS_ASSIGN_OR_RETURN(BackupRecord r, ParseRecord<BackupRecord>(it->value().ToString(), "a backup"));
  SCNFS_RETURN_IF_ERROR(CheckBackupKey(r, std::string_view(it->key().data(), it->key().size())));
  return std::optional<BackupRecord>(std::move(r));
}

Result<BackupRecord> Catalog::GetBackup(uint32_t db, uint32_t id) const {
  std::string v;
  Status st = store_->GetCatalog(catalog_keys::Backup(db, id), &v);
  if (st.IsNotFound()) return Status::NotFound(fmt::format("unknown backup {}", id));
  if (!st.ok()) return st;
  Result<BackupRecord> parsed = DecodeBackupRecord(v);
  if (!parsed.ok()) return parsed.status().WithContext(fmt::format("backup {}", id));
  BackupRecord r = std::move(parsed).value();
  SCNFS_RETURN_IF_ERROR(CheckBackupKey(r, catalog_keys::Backup(db, id)));
  return r;
}

namespace {

// A file record of `backup` stored under the key of `path`: one that names another path is Corruption.
Result<FileRecord> DecodeFileRecordAt(std::string_view value, std::string_view path, uint32_t backup) {
  SCNFS_ASSIGN_OR_RETURN(FileRecord r, DecodeFileRecord(value));
  if (r.path != path)
    return Status::Corruption(fmt::format("catalog record for a file of backup {} is unreadable: it names '{}' under "
                                          "the key of '{}'", backup, r.path, path));
  return r;
}

}  // namespace

Result<std::vector<FileRecord>> Catalog::ListFiles(uint32_t db, uint32_t backup) const {
  std::vector<FileRecord> out;
  const std::string prefix = catalog_keys::FilePrefix(db, backup);
  SCNFS_RETURN_IF_ERROR(ScanPrefix(store_, prefix, [&](std::string_view key, std::string v) {
    SCNFS_ASSIGN_OR_RETURN(FileRecord r, DecodeFileRecordAt(v, key.substr(prefix.size()), backup));
    out.push_back(std::move(r));
    return Status::OK();
  }));
  return out;
}

Result<std::vector<FileRecord>> Catalog::ListFiles(const BackupRecord& backup) const {
  SCNFS_ASSIGN_OR_RETURN(std::vector<FileRecord> files, ListFiles(backup.db, backup.id));
  uint64_t regular = 0, dirs = 0, links = 0, bytes = 0;
  std::unordered_set<std::string_view> not_dirs;
  for (const auto& f : files) {
    regular += f.type == "file";
    dirs += f.type == "dir";
    links += f.type == "symlink";
    if (f.type == "file") bytes += f.size;
    if (f.type != "dir") not_dirs.insert(f.path);
  }
  // No path lies under a file or a link: the scan never records both (a followed link is a directory). Such a
  // record had a restore write through a link, out of its destination.
  for (const auto& f : files)
    for (size_t slash = f.path.find('/'); slash != std::string::npos; slash = f.path.find('/', slash + 1))
      if (not_dirs.count(std::string_view(f.path).substr(0, slash)))
        return Status::Corruption(fmt::format("the catalog of backup {} is damaged: '{}' lies under '{}', which is no directory",
                                              backup.id, f.path, f.path.substr(0, slash)));
  if (regular != backup.files || dirs != backup.directories || (backup.symlinks && links != *backup.symlinks))
    return Status::Corruption(fmt::format("the catalog of backup {} is damaged: it lists {} files, {} directories and {} "
                                          "links, its record counts {}, {} and {}", backup.id, regular, dirs, links,
                                          backup.files, backup.directories,
                                          backup.symlinks ? std::to_string(*backup.symlinks) : "(not counted)"));
  // A file's recorded size decides how much of it a restore writes: one made smaller restored a short file.
  if (bytes != backup.logical_bytes)
    return Status::Corruption(fmt::format("the catalog of backup {} is damaged: its files' sizes add up to {} bytes, its "
                                          "record says {}", backup.id, bytes, backup.logical_bytes));
  return files;
}

Result<std::optional<FileRecord>> Catalog::GetFile(uint32_t db, uint32_t backup, std::string_view path) const {
  std::string v;
  Status st = store_->GetCatalog(catalog_keys::File(db, backup, path), &v);
  if (st.IsNotFound()) return std::optional<FileRecord>();
  if (!st.ok()) return st;
  SCNFS_ASSIGN_OR_RETURN(FileRecord r, DecodeFileRecordAt(v, path, backup));
  return std::optional<FileRecord>(std::move(r));
}

Result<bool> Catalog::HasEntriesBelow(uint32_t db, uint32_t backup, std::string_view path) const {
  const std::string below = catalog_keys::File(db, backup, path) + '/';
  auto it = store_->NewCatalogIterator();
  it->Seek(below);
  const bool found = it->Valid() && it->key().starts_with(below);
  SCNFS_RETURN_IF_ERROR(FromRocksStatus(it->status(), "reading the catalog"));
  return found;
}

Result<Catalog::Directory> Catalog::ListDirectory(uint32_t db, uint32_t backup, std::string_view dir,
                                                  bool with_records) const {
  Directory out;
  std::set<std::string, std::less<>> dirs;  // a directory recorded and with entries below it is met twice
  const std::string prefix = catalog_keys::FilePrefix(db, backup);
  const std::string base = dir.empty() ? prefix : prefix + std::string(dir) + '/';
  auto it = store_->NewCatalogIterator();
  for (it->Seek(base); it->Valid() && it->key().starts_with(base);) {
    const std::string_view rel(it->key().data() + base.size(), it->key().size() - base.size());
    const std::string_view value(it->value().data(), it->value().size());
    if (const size_t slash = rel.find('/'); slash != std::string_view::npos) {
      // Below an entry: that entry is a directory. Every key from "name/" up to "name0" ('0' follows '/') lies
      // below it, so one seek skips the whole subtree.
      const std::string name(rel.substr(0, slash));
      if (dirs.insert(name).second) {
        // Met first below: a directory the backup did not record, or a record that is no directory's (damage:
        // a restore wrote through such a link, out of its destination).
        const std::string path = dir.empty() ? name : std::string(dir) + '/' + name;
        SCNFS_ASSIGN_OR_RETURN(auto recorded, GetFile(db, backup, path));
        if (recorded)
          return Status::Corruption(fmt::format("the catalog of backup {} is damaged: '{}' lies under '{}', which is no "
                                                "directory", backup, path + '/' + std::string(rel.substr(slash + 1)), path));
        if (with_records) out.made_up.push_back(name);
      }
      it->Seek(base + name + '0');
      continue;
    }
    // The path under which a record must name itself; not made for a count, which reads the type alone.
    const auto path = [&] { return dir.empty() ? std::string(rel) : std::string(dir) + '/' + std::string(rel); };
    if (dir.empty() && rel == ".") {
      SCNFS_ASSIGN_OR_RETURN(FileRecord r, DecodeFileRecordAt(value, path(), backup));
      out.self = std::move(r);
    } else if (with_records) {
      SCNFS_ASSIGN_OR_RETURN(FileRecord r, DecodeFileRecordAt(value, path(), backup));
      if (r.type == "dir") dirs.emplace(rel);
      out.records.push_back(std::move(r));
    } else {
      SCNFS_ASSIGN_OR_RETURN(bool is_dir, FileRecordIsDirectory(value));
      if (is_dir) dirs.emplace(rel);
    }
    it->Next();
  }
  SCNFS_RETURN_IF_ERROR(FromRocksStatus(it->status(), "reading the catalog"));
  out.directories = dirs.size();
  return out;
}

Result<Visibility> Catalog::LoadVisibility(uint32_t db) const {
  SCNFS_ASSIGN_OR_RETURN(auto backups, ListBackups(db));
  return VisibilityOf(backups);
}

Visibility Catalog::VisibilityOf(const std::vector<BackupRecord>& backups) {
  Visibility vis;
  for (const auto& b : backups)
    if (b.state != BackupState::kComplete) vis.Hide(b.id);
  return vis;
}

Result<uint32_t> Catalog::NextDatabaseId() const {
  std::string v;
  Status st = store_->GetCatalog(catalog_keys::kNextDatabaseId, &v);
  if (st.IsNotFound()) return uint32_t{1};
  if (!st.ok()) return st;
  if (v.size() != 4) return Status::Corruption("bad next database id");
  return GetBE32(v.data());
}

void Catalog::PutDatabase(rocksdb::WriteBatch* b, Store* s, const DatabaseRecord& r) {
  b->Put(s->catalog_cf(), catalog_keys::Database(r.name), JsonText(json(r)));
}
void Catalog::PutBackup(rocksdb::WriteBatch* b, Store* s, const BackupRecord& r, bool with_sources) {
  // The sources go under their own key (catalog_keys::Sources): records stay small to read.
  b->Put(s->catalog_cf(), catalog_keys::Backup(r.db, r.id), EncodeBackupRecord(r));
  if (with_sources) b->Put(s->catalog_cf(), catalog_keys::Sources(r.db, r.id), JsonText(json(r.sources)));
}

Status Catalog::LoadSources(BackupRecord* r) const {
  if (!r->sources.empty()) return Status::OK();  // a record written before sources had their own key
  std::string v;
  Status st = store_->GetCatalog(catalog_keys::Sources(r->db, r->id), &v);
  if (st.IsNotFound()) return Status::OK();
  if (!st.ok()) return st;
  auto j = json::parse(v, nullptr, /*allow_exceptions=*/false);
  if (!j.is_array()) return Status::Corruption(fmt::format("the sources of backup {} are not a JSON array", r->id));
  for (const auto& s : j)
    if (s.is_string()) r->sources.push_back(s.get<std::string>());
  return Status::OK();
}
void Catalog::PutFile(rocksdb::WriteBatch* b, Store* s, uint32_t db, uint32_t backup, const FileRecord& r) {
  b->Put(s->catalog_cf(), catalog_keys::File(db, backup, r.path), EncodeFileRecord(r));
}
void Catalog::PutFileId(rocksdb::WriteBatch* b, Store* s, uint32_t db, std::string_view path, uint32_t id) {
  std::string v;
  PutBE32(&v, id);
  b->Put(s->catalog_cf(), catalog_keys::Path(db, path), v);
}
void Catalog::PutNextDatabaseId(rocksdb::WriteBatch* b, Store* s, uint32_t next) {
  std::string v;
  PutBE32(&v, next);
  b->Put(s->catalog_cf(), std::string(catalog_keys::kNextDatabaseId), v);
}

}  // namespace scnfs
