#include "fuse/point_view.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <unordered_map>

#include <fmt/format.h>
#include <xxhash.h>

#include "util/clock.h"
#include "util/json_text.h"
#include "util/record_path.h"

namespace scnfs {

// Hands a pooled cursor to one reader and takes it back.
class PointView::CursorLease {
 public:
  explicit CursorLease(const PointView& v) : v_(v) {
    std::lock_guard<std::mutex> l(v_.pool_mu_);
    if (!v_.pool_.empty()) {
      c_ = std::move(v_.pool_.back());
      v_.pool_.pop_back();
    }
    if (!c_) c_ = std::make_unique<PointReader::Cursor>(*v_.reader_);
  }
  ~CursorLease() {
    if (!c_) return;  // discarded
    std::lock_guard<std::mutex> l(v_.pool_mu_);
    v_.pool_.push_back(std::move(c_));
  }
  PointReader::Cursor* operator->() { return c_.get(); }
  // After a failed read: a RocksDB iterator keeps its error status, so a pooled cursor whose read failed (a store
  // read error, EIO) failed every later read that drew it, long after the disk was well (found 2026-11-30).
  void Discard() { c_.reset(); }

 private:
  const PointView& v_;
  std::unique_ptr<PointReader::Cursor> c_;
};

void PointView::FileOpened() const {
  std::lock_guard<std::mutex> l(pool_mu_);
  ++open_files_;
}

bool PointView::HasOpenFiles() const {
  std::lock_guard<std::mutex> l(pool_mu_);
  return open_files_ > 0;
}

void PointView::DropPooledCursors() const {
  std::vector<std::unique_ptr<PointReader::Cursor>> freed;  // destroyed outside the lock
  std::lock_guard<std::mutex> l(pool_mu_);
  freed.swap(pool_);
}

void PointView::FileClosed() const {
  std::vector<std::unique_ptr<PointReader::Cursor>> freed;  // destroyed outside the lock
  std::lock_guard<std::mutex> l(pool_mu_);
  if (--open_files_ == 0) freed.swap(pool_);
}

PointView::PointView(std::unique_ptr<PointReader> reader, std::shared_ptr<PointEntries> entries,
                     std::shared_ptr<const FileSetCheck> check, std::string what)
    : reader_(std::move(reader)), entries_(std::move(entries)), check_(std::move(check)), what_(std::move(what)) {}

void FileSetCheck::Finish(Status st) {
  std::lock_guard<std::mutex> l(mu_);
  status_ = std::move(st);
  damaged_.store(!status_.ok(), std::memory_order_release);
}

Status FileSetCheck::status() const {
  if (!damaged()) return Status::OK();
  std::lock_guard<std::mutex> l(mu_);
  return status_;
}

Result<const std::string*> PointView::Info() const {
  std::lock_guard<std::mutex> l(info_mu_);
  if (!info_) SCNFS_RETURN_IF_ERROR(BuildInfo());
  return &*info_;
}

namespace {

// The top directory's record: the source directory's own (".") when the backup read one, else made up.
FileRecord MadeUpRoot(const BackupRecord& base) {
  FileRecord root;
  root.path = ".";
  root.type = "dir";
  root.mode = 0555;
  root.mtime_ns = root.ctime_ns = root.atime_ns = base.end_us * 1000;
  return root;
}

}  // namespace

namespace {

// Entry numbers of directories and links: [kFirstHashed, kRoot - 1), so that the mount's local number (entry + 2)
// stays below 2^32.
constexpr uint32_t kHashedCount = PointEntries::kRoot - 1 - PointEntries::kFirstHashed;

uint32_t HashedNumber(std::string_view path) {
  return PointEntries::kFirstHashed + uint32_t(XXH3_64bits(path.data(), path.size()) % kHashedCount);
}

uint32_t NextHashed(uint32_t e) { return PointEntries::kFirstHashed + (e - PointEntries::kFirstHashed + 1) % kHashedCount; }

}  // namespace

PointEntries::PointEntries(Store* store, BackupRecord base) : store_(store), base_(std::move(base)) {
  root_.record = MadeUpRoot(base_);
}

PointEntries::Node* PointEntries::NodeLocked(uint32_t e) {
  if (e == kRoot) return &root_;
  auto it = by_number_.find(e);
  return it == by_number_.end() ? nullptr : it->second.get();
}

const PointEntries::Node* PointEntries::NodeLocked(uint32_t e) const {
  return const_cast<PointEntries*>(this)->NodeLocked(e);
}

bool PointEntries::HasProbedNumbers() const {
  std::shared_lock<std::shared_mutex> l(mu_);
  return probed_;
}

const FileRecord* PointEntries::Find(uint32_t e) const {
  std::shared_lock<std::shared_mutex> l(mu_);
  if (e == kRoot) return root_read_ ? &root_.record : nullptr;
  const Node* n = NodeLocked(e);
  return n == nullptr ? nullptr : &n->record;
}

Result<const FileRecord*> PointEntries::Root() {
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    if (root_read_) return &root_.record;
  }
  SCNFS_ASSIGN_OR_RETURN(std::optional<FileRecord> dot, Catalog(store_).GetFile(base_.db, base_.id, "."));
  if (dot && dot->type != "dir")
    return Status::Corruption(fmt::format("the catalog of backup {} is damaged: its top directory is a {}", base_.id, dot->type));
  std::unique_lock<std::shared_mutex> l(mu_);
  if (!root_read_) {
    if (dot) root_.record = std::move(*dot);
    root_read_ = true;
  }
  return &root_.record;
}

Result<FileRecord> PointEntries::MadeUpDirectory(std::string path) {
  // As the top directory (owner, times), read-only: what a backup of single files named by path (a/b.dbf) shows
  // for the directories it never read.
  SCNFS_ASSIGN_OR_RETURN(const FileRecord* root, Root());
  FileRecord d = *root;
  d.path = std::move(path);
  d.mode = 0555;
  d.subdirectories.reset();  // not the root's: counted below it
  return d;
}

Result<std::string> PointEntries::DirPath(uint32_t dir) const {
  std::shared_lock<std::shared_mutex> l(mu_);
  if (dir == kRoot) return std::string();
  const Node* n = NodeLocked(dir);
  if (n == nullptr) return Status::NotFound(fmt::format("no entry {} in {}", dir, base_.id));
  if (n->record.type != "dir") return Status::InvalidArgument(fmt::format("{} is not a directory", n->record.path));
  return n->record.path;
}

Result<uint32_t> PointEntries::AddLocked(FileRecord r) {
  if (auto it = by_path_.find(r.path); it != by_path_.end()) return it->second;
  uint32_t e;
  if (r.type == "file" && r.file_id >= 1 && r.file_id <= kFirstHashed) {
    e = r.file_id - 1;
    if (auto it = by_number_.find(e); it != by_number_.end())
      return Status::Corruption(fmt::format("the catalog of backup {} is damaged: '{}' and '{}' carry the same file number {}",
                                            base_.id, it->second->record.path, r.path, r.file_id));
  } else {
    e = HashedNumber(r.path);
    for (; by_number_.count(e) != 0; e = NextHashed(e)) probed_ = true;  // another path's: rare (HasProbedNumbers)
  }
  auto node = std::make_unique<Node>();
  node->record = std::move(r);
  by_path_.emplace(node->record.path, e);
  by_number_.emplace(e, std::move(node));
  return e;
}

Result<std::optional<uint32_t>> PointEntries::Lookup(uint32_t dir, std::string_view name) {
  if (name.empty() || name == "." || name == ".." || name.find_first_of(std::string_view("/\0", 2)) != std::string_view::npos)
    return std::optional<uint32_t>();
  std::string path;
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    const Node* d = NodeLocked(dir);
    if (d == nullptr || d->record.type != "dir") return std::optional<uint32_t>();
    path = dir == kRoot ? std::string(name) : d->record.path + '/' + std::string(name);
    if (auto it = by_path_.find(path); it != by_path_.end()) return std::optional<uint32_t>(it->second);
    if (d->children) return std::optional<uint32_t>();  // listed, and not there
  }
  Catalog catalog(store_);
  SCNFS_ASSIGN_OR_RETURN(std::optional<FileRecord> r, catalog.GetFile(base_.db, base_.id, path));
  if (!r) {
    SCNFS_ASSIGN_OR_RETURN(bool below, catalog.HasEntriesBelow(base_.db, base_.id, path));
    if (!below) return std::optional<uint32_t>();
    SCNFS_ASSIGN_OR_RETURN(FileRecord made, MadeUpDirectory(path));
    r = std::move(made);
  }
  std::unique_lock<std::shared_mutex> l(mu_);
  SCNFS_ASSIGN_OR_RETURN(uint32_t e, AddLocked(std::move(*r)));
  return std::optional<uint32_t>(e);
}

Result<std::shared_ptr<const std::vector<uint32_t>>> PointEntries::Children(uint32_t dir) {
  SCNFS_ASSIGN_OR_RETURN(std::string path, DirPath(dir));
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    if (const Node* d = NodeLocked(dir); d != nullptr && d->children) return d->children;
  }
  if (dir == kRoot) SCNFS_RETURN_IF_ERROR(Root().status());
  SCNFS_ASSIGN_OR_RETURN(Catalog::Directory listing, Catalog(store_).ListDirectory(base_.db, base_.id, path, /*with_records=*/true));
  for (const auto& name : listing.made_up) {
    SCNFS_ASSIGN_OR_RETURN(FileRecord made, MadeUpDirectory(path.empty() ? name : path + '/' + name));
    listing.records.push_back(std::move(made));
  }
  std::unique_lock<std::shared_mutex> l(mu_);
  Node* d = NodeLocked(dir);
  if (d->children) return d->children;  // another thread listed it meanwhile
  auto kids = std::make_shared<std::vector<uint32_t>>();
  kids->reserve(listing.records.size());
  for (auto& r : listing.records) {
    SCNFS_ASSIGN_OR_RETURN(uint32_t e, AddLocked(std::move(r)));
    kids->push_back(e);
  }
  std::sort(kids->begin(), kids->end(), [this](uint32_t a, uint32_t b) {
    return LeafName(by_number_.at(a)->record.path) < LeafName(by_number_.at(b)->record.path);
  });
  d->subdirs = listing.directories;
  d->children = std::move(kids);
  return d->children;
}

Result<struct stat> PointEntries::Stat(uint32_t e) {
  const FileRecord* r = nullptr;
  if (e == kRoot) {
    SCNFS_ASSIGN_OR_RETURN(r, Root());
  } else if (r = Find(e); r == nullptr) {
    return Status::NotFound(fmt::format("no entry {} in backup {}", e, base_.id));
  }
  struct stat st = EntryStat(*r);
  if (!S_ISDIR(st.st_mode)) return st;
  // find, fts and rsync read a directory's link count as 2 + its subdirectories: recorded by the backup, or
  // counted below it (one seek per subdirectory) for records written before they were.
  if (r->subdirectories) {
    st.st_nlink = nlink_t(2 + *r->subdirectories);
    return st;
  }
  {
    std::shared_lock<std::shared_mutex> l(mu_);
    if (const Node* n = NodeLocked(e); n->subdirs) {
      st.st_nlink = nlink_t(2 + *n->subdirs);
      return st;
    }
  }
  SCNFS_ASSIGN_OR_RETURN(Catalog::Directory listing,
                         Catalog(store_).ListDirectory(base_.db, base_.id, e == kRoot ? std::string() : r->path, /*with_records=*/false));
  std::unique_lock<std::shared_mutex> l(mu_);
  NodeLocked(e)->subdirs = listing.directories;
  st.st_nlink = nlink_t(2 + listing.directories);
  return st;
}

Status PointView::BuildInfo() const {
  const auto& p = reader_->point();
  const auto& b = p.base;
  SCNFS_ASSIGN_OR_RETURN(std::vector<FileRecord> all, Catalog(entries_->store()).ListFiles(b));
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : all) {
    if (f.type != "file") continue;
    nlohmann::json j{{"path", f.path},         {"size", f.size},         {"format", FormatName(f.format)},
                     {"block_size", f.block_size}, {"max_change", f.max_change}, {"corrupt_blocks", f.corrupt_blocks},
                     {"read", f.read}};
    if (!f.header.is_null()) j["header"] = f.header;
    files.push_back(std::move(j));
  }
  nlohmann::json info{
      {"database", reader_->database().name},
      {"format", FormatName(reader_->database().format)},
      {"point", what_},
      {"describe", p.Describe()},
      {"backup", {{"id", b.id},
                  {"kind", b.kind},
                  {"changed_blocks", b.changed_blocks},
                  {"start", FormatIso8601(b.start_us)},
                  {"end", FormatIso8601(b.end_us)},
                  {"checkpoint_change", b.checkpoint_change},
                  {"max_change", b.max_change},
                  {"files", b.files},
                  {"logical_bytes", b.logical_bytes},
                  {"corrupt_blocks", b.corrupt_blocks},
                  // Change numbers that went back (docs/points-in-time.md): scn: below max(went_back_from, max_change) is refused.
                  {"went_back_blocks", b.went_back_blocks},
                  {"went_back_from", b.went_back_from},
                  {"went_back_to", b.went_back_to},
                  {"new_incarnation", b.new_incarnation}}},
      {"files", std::move(files)}};
  // PostgreSQL: what a server started on a copy of this backup must replay (docs/backup.md, "Hot PostgreSQL backups").
  if (reader_->database().format == FormatId::kPostgres) {
    info["backup"]["hot"] = b.hot;
    info["backup"]["min_recovery_lsn"] = b.min_recovery_lsn;
    info["backup"]["wal_start_lsn"] = b.wal_start_lsn;
  }
  info["scn"] = p.scn ? nlohmann::json(*p.scn) : nlohmann::json(nullptr);
  info_ = JsonText(info, 2) + "\n";
  return Status::OK();
}

Status PointView::Read(uint32_t e, uint64_t offset, std::span<std::byte> out, size_t* n) const {
  *n = 0;
  const FileRecord* found = entries_->Find(e);
  if (found == nullptr) return Status::NotFound(fmt::format("no entry {} in {}", e, what_));
  return Read(*found, offset, out, n);
}

Status PointView::Read(const FileRecord& f, uint64_t offset, std::span<std::byte> out, size_t* n) const {
  *n = 0;
  if (check_ && check_->damaged()) return check_->status();
  if (f.type != "file") return Status::InvalidArgument(fmt::format("{} is not a file", f.path));
  if (offset >= f.size || out.empty()) return Status::OK();
  const uint64_t end = std::min<uint64_t>(f.size, offset + out.size());
  CursorLease cursor(*this);
  Status st = ReadBlocks(f, offset, end, out, cursor);
  if (!st.ok()) {
    cursor.Discard();
    return st;
  }
  *n = size_t(end - offset);
  return Status::OK();
}

Status PointView::ReadBlocks(const FileRecord& f, uint64_t offset, uint64_t end, std::span<std::byte> out,
                             CursorLease& cursor) const {
  const uint64_t bs = f.block_size;
  thread_local std::vector<std::byte> partial;
  thread_local std::vector<PointReader::Cursor::BlockRead> run;
  // A block only partly inside the request (the head, the tail, the file's short last block) goes through a
  // bounce buffer; the whole blocks between are read as runs (one version scan, one MultiGet) straight into `out`.
  auto read_partial = [&](uint64_t block) -> Status {
    const uint64_t bstart = block * bs;
    const uint64_t from = std::max(bstart, offset), to = std::min(bstart + bs, end);
    partial.resize(bs);
    size_t len = 0;
    SCNFS_RETURN_IF_ERROR(cursor->Read(f, block, partial, &len));
    std::memcpy(out.data() + (from - offset), partial.data() + (from - bstart), to - from);
    return Status::OK();
  };
  uint64_t first = offset / bs;
  const uint64_t last = (end - 1) / bs;
  if (first * bs < offset || (first == last && (first + 1) * bs > end)) {
    SCNFS_RETURN_IF_ERROR(read_partial(first));
    ++first;
  }
  uint64_t whole_end = end / bs;  // blocks [first, whole_end) lie wholly inside the request
  while (first < whole_end) {
    const uint32_t count = uint32_t(std::min<uint64_t>(whole_end - first, PointReader::Cursor::kMaxRun));
    SCNFS_RETURN_IF_ERROR(cursor->ReadRun(f, first, count, out.subspan(first * bs - offset, size_t(count) * bs), &run));
    first += count;
  }
  if (first <= last) SCNFS_RETURN_IF_ERROR(read_partial(last));
  return Status::OK();
}

struct stat EntryStat(const FileRecord& r) {
  struct stat st {};
  st.st_mode = r.mode & 07777;
  if (r.type == "dir") {
    st.st_mode |= S_IFDIR;
    st.st_nlink = 2;
  } else if (r.type == "symlink") {
    st.st_mode |= S_IFLNK;
    st.st_nlink = 1;
    st.st_size = off_t(r.target.size());
  } else {
    st.st_mode |= S_IFREG;
    st.st_nlink = 1;
    st.st_size = off_t(r.size);
    st.st_blksize = r.block_size ? r.block_size : 4096;
  }
  if (r.type == "file") st.st_blocks = blkcnt_t((r.size + 511) / 512);
  st.st_uid = r.uid;
  st.st_gid = r.gid;
  st.st_atim = TimespecFromNs(r.atime_ns);
  st.st_mtim = TimespecFromNs(r.mtime_ns);
  st.st_ctim = TimespecFromNs(r.ctime_ns);
  return st;
}

}  // namespace scnfs
