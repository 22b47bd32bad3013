#include "fuse/point_view.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <unordered_map>

#include <fmt/format.h>

#include "util/clock.h"
#include "util/json_text.h"

namespace scnfs {

namespace {

std::string_view Parent(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string_view() : path.substr(0, slash);
}

std::string_view Leaf(std::string_view path) {
  size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

}  // namespace

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

void PointView::FileClosed() const {
  std::vector<std::unique_ptr<PointReader::Cursor>> freed;  // destroyed outside the lock
  std::lock_guard<std::mutex> l(pool_mu_);
  if (--open_files_ == 0) freed.swap(pool_);
}

PointView::PointView(OpenedPoint point, std::string what) : reader_(std::move(point.reader)), what_(std::move(what)) {
  files_ = std::move(point.files);
  BuildTree();
}

const std::string& PointView::info() const {
  std::call_once(info_once_, [this] { BuildInfo(); });
  return info_;
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

FileRecord RootRecord(const BackupRecord& base, const std::vector<FileRecord>& files) {
  auto dot = std::find_if(files.begin(), files.end(), [](const FileRecord& r) { return r.path == "."; });
  return dot != files.end() ? *dot : MadeUpRoot(base);
}

}  // namespace

struct stat PointRootStat(const BackupRecord& base, const Catalog::TopLevel& top) {
  struct stat st = EntryStat(top.root ? *top.root : MadeUpRoot(base));
  st.st_nlink = 2 + top.directories;
  return st;
}

void PointView::BuildTree() {
  root_ = RootRecord(reader_->point().base, files_);
  if (auto dot = std::find_if(files_.begin(), files_.end(), [](const FileRecord& r) { return r.path == "."; });
      dot != files_.end())
    files_.erase(dot);
  std::sort(files_.begin(), files_.end(), [](const FileRecord& a, const FileRecord& b) { return a.path < b.path; });
  // Directories a backup of single files never recorded (a source "a/b.dbf" named by path) are synthesised.
  std::unordered_map<std::string_view, uint32_t> dirs;
  for (uint32_t i = 0; i < files_.size(); ++i)
    if (files_[i].type == "dir") dirs.emplace(files_[i].path, i);
  std::deque<FileRecord> missing;  // a deque: `dirs` holds views of these paths, which a vector's growth would move
  for (const auto& f : files_) {
    for (std::string_view p = Parent(f.path); !p.empty(); p = Parent(p)) {
      if (dirs.count(p) != 0) break;
      FileRecord d = root_;
      d.path = std::string(p);
      d.mode = 0555;
      missing.push_back(d);
      dirs.emplace(missing.back().path, UINT32_MAX);
    }
  }
  if (!missing.empty()) {
    for (auto& d : missing) files_.push_back(std::move(d));
    std::sort(files_.begin(), files_.end(), [](const FileRecord& a, const FileRecord& b) { return a.path < b.path; });
    files_.erase(std::unique(files_.begin(), files_.end(), [](const FileRecord& a, const FileRecord& b) { return a.path == b.path; }),
                 files_.end());
  }
  dirs.clear();
  for (uint32_t i = 0; i < files_.size(); ++i)
    if (files_[i].type == "dir") dirs.emplace(files_[i].path, i);
  children_.assign(files_.size(), {});
  for (uint32_t i = 0; i < files_.size(); ++i) {
    std::string_view parent = Parent(files_[i].path);
    if (parent.empty()) {
      root_children_.push_back(i);
    } else {
      children_[dirs.at(parent)].push_back(i);
    }
  }
  subdirs_.assign(files_.size() + 1, 0);
  for (uint32_t i = 0; i < files_.size(); ++i) {
    if (files_[i].type != "dir") continue;
    std::string_view parent = Parent(files_[i].path);
    ++subdirs_[parent.empty() ? files_.size() : dirs.at(parent)];
  }
  auto by_name = [this](uint32_t a, uint32_t b) { return Leaf(files_[a].path) < Leaf(files_[b].path); };
  std::sort(root_children_.begin(), root_children_.end(), by_name);
  for (auto& c : children_) std::sort(c.begin(), c.end(), by_name);
}

void PointView::BuildInfo() const {
  const auto& p = reader_->point();
  const auto& b = p.base;
  nlohmann::json files = nlohmann::json::array();
  for (const auto& f : files_) {
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
  info["scn"] = p.scn ? nlohmann::json(*p.scn) : nlohmann::json(nullptr);
  info_ = JsonText(info, 2) + "\n";
}

std::optional<uint32_t> PointView::Lookup(uint32_t dir, std::string_view name) const {
  auto kids = Children(dir);
  auto it = std::lower_bound(kids.begin(), kids.end(), name,
                             [this](uint32_t i, std::string_view n) { return Leaf(files_[i].path) < n; });
  if (it == kids.end() || Leaf(files_[*it].path) != name) return std::nullopt;
  return *it;
}

std::span<const uint32_t> PointView::Children(uint32_t dir) const {
  if (dir == kRoot) return root_children_;
  if (dir >= children_.size()) return {};
  return children_[dir];
}

std::string_view PointView::Name(uint32_t i) const { return Leaf(files_[i].path); }

struct stat PointView::Stat(uint32_t i) const {
  struct stat st = EntryStat(record(i));
  // find, fts and rsync read a directory's link count as 2 + its subdirectories.
  if (S_ISDIR(st.st_mode)) st.st_nlink = 2 + subdirs_[i == kRoot ? files_.size() : i];
  return st;
}

Status PointView::Read(uint32_t i, uint64_t offset, std::span<std::byte> out, size_t* n) const {
  *n = 0;
  const FileRecord& f = files_[i];
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
