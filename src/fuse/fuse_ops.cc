#include "fuse/fuse_ops.h"

#include <fcntl.h>

#include <cstdio>
#include <cstring>
#include <vector>

#include <fmt/format.h>

#include "fuse/errno_map.h"

namespace scnfs {

namespace {

// Names and attributes inside a backup never change: the kernel may keep them for a day (and its page cache for the
// life of the mount, keep_cache), so repeated opens of a datafile cost no request at all.
constexpr double kImmutableTimeout = 86400.0;

FuseContext& Ctx(fuse_req_t req) { return *static_cast<FuseContext*>(fuse_req_userdata(req)); }

void ReplyStatus(fuse_req_t req, const Status& st, const char* op) {
  FuseContext& c = Ctx(req);
  if (c.log_errors && !st.IsNotFound()) std::fprintf(stderr, "scnfs mount: %s: %s\n", op, st.ToString().c_str());
  fuse_reply_err(req, ToErrno(st));
}

void FillEntry(const FuseContext& c, const MountTree::Entry& e, fuse_entry_param* p) {
  std::memset(p, 0, sizeof(*p));
  p->ino = e.ino;
  p->generation = 1;
  p->attr = e.attr;
  p->attr_timeout = p->entry_timeout = e.immutable ? kImmutableTimeout : c.dynamic_timeout;
}

bool IsPointIno(fuse_ino_t ino) { return ino >= (fuse_ino_t(1) << 32); }

void OpInit(void* userdata, fuse_conn_info* conn) {
  auto* c = static_cast<FuseContext*>(userdata);
  // 1 MiB requests: libfuse raises the kernel's max_pages from max_write, and reads follow.
  conn->max_write = 1u << 20;
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  conn->want &= ~FUSE_CAP_READDIRPLUS;
  conn->max_readahead = c->readahead_kb * 1024u;
  // Readahead of a sequential scan arrives as background requests: let many be in flight so that the worker threads
  // decompress ahead in parallel.
  conn->max_background = 64;
  conn->congestion_threshold = 48;
  conn->time_gran = 1;
}

void OpLookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  FuseContext& c = Ctx(req);
  auto e = c.tree->Lookup(parent, name);
  fuse_entry_param p;
  if (!e.ok()) {
    if (e.status().IsNotFound() && IsPointIno(parent)) {
      // A name missing from a backup stays missing: let the kernel remember that (PostgreSQL probes many files).
      std::memset(&p, 0, sizeof(p));
      p.entry_timeout = kImmutableTimeout;
      fuse_reply_entry(req, &p);
      return;
    }
    ReplyStatus(req, e.status(), "lookup");
    return;
  }
  FillEntry(c, e.value(), &p);
  if (fuse_reply_entry(req, &p) != 0) c.tree->Forget(p.ino, 1);  // the kernel did not take the reference
}

void OpForget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  Ctx(req).tree->Forget(ino, nlookup);
  fuse_reply_none(req);
}

void OpForgetMulti(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
  for (size_t i = 0; i < count; ++i) Ctx(req).tree->Forget(forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

void OpGetattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  FuseContext& c = Ctx(req);
  auto e = c.tree->GetAttr(ino);
  if (!e.ok()) return ReplyStatus(req, e.status(), "getattr");
  fuse_reply_attr(req, &e.value().attr, e.value().immutable ? kImmutableTimeout : c.dynamic_timeout);
}

void OpReadlink(fuse_req_t req, fuse_ino_t ino) {
  auto t = Ctx(req).tree->ReadLink(ino);
  if (!t.ok()) return ReplyStatus(req, t.status(), "readlink");
  fuse_reply_readlink(req, t.value().c_str());
}

struct DirHandle {
  std::vector<MountTree::DirEntry> entries;
};

void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto list = Ctx(req).tree->ReadDir(ino);
  if (!list.ok()) return ReplyStatus(req, list.status(), "opendir");
  auto* h = new DirHandle{std::move(list).value()};
  fi->fh = reinterpret_cast<uint64_t>(h);
  if (IsPointIno(ino)) {
    fi->cache_readdir = 1;  // a backup's directories never change
    fi->keep_cache = 1;
  }
  if (fuse_reply_open(req, fi) != 0) delete h;
}

void OpReaddir(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  auto* h = reinterpret_cast<DirHandle*>(fi->fh);
  std::vector<char> buf(size);
  size_t used = 0;
  for (size_t i = size_t(off); i < h->entries.size(); ++i) {
    const auto& e = h->entries[i];
    struct stat st {};
    st.st_ino = e.ino;
    st.st_mode = e.type;
    size_t n = fuse_add_direntry(req, buf.data() + used, size - used, e.name.c_str(), &st, off_t(i + 1));
    if (n > size - used) break;
    used += n;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void OpReleasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  delete reinterpret_cast<DirHandle*>(fi->fh);
  fuse_reply_err(req, 0);
}

void OpOpen(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) return (void)fuse_reply_err(req, EROFS);
  auto f = Ctx(req).tree->Open(ino);
  if (!f.ok()) return ReplyStatus(req, f.status(), "open");
  auto* h = new MountTree::OpenFile(std::move(f).value());
  fi->fh = reinterpret_cast<uint64_t>(h);
  fi->keep_cache = 1;  // the content of a backup never changes: keep the page cache across opens
  if (fuse_reply_open(req, fi) != 0) {
    Ctx(req).tree->Release(*h);
    delete h;
  }
}

void OpRead(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info* fi) {
  auto* h = reinterpret_cast<MountTree::OpenFile*>(fi->fh);
  thread_local std::vector<std::byte> buf;
  if (buf.size() < size) buf.resize(size);
  size_t n = 0;
  Status st = Ctx(req).tree->Read(*h, uint64_t(off), std::span<std::byte>(buf.data(), size), &n);
  if (!st.ok()) return ReplyStatus(req, st, "read");
  fuse_reply_buf(req, reinterpret_cast<const char*>(buf.data()), n);
}

void OpRelease(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
  auto* h = reinterpret_cast<MountTree::OpenFile*>(fi->fh);
  Ctx(req).tree->Release(*h);
  delete h;
  fuse_reply_err(req, 0);
}

void OpStatfs(fuse_req_t req, fuse_ino_t) {
  struct statvfs s {};
  s.f_bsize = 1u << 20;
  s.f_frsize = 4096;
  s.f_namemax = 255;
  s.f_flag = ST_RDONLY;
  fuse_reply_statfs(req, &s);
}

// Every change to a backup view is refused: backups are immutable (writable clones come with their own tree).
void RoSetattr(fuse_req_t req, fuse_ino_t, struct stat*, int, fuse_file_info*) { fuse_reply_err(req, EROFS); }
void RoMknod(fuse_req_t req, fuse_ino_t, const char*, mode_t, dev_t) { fuse_reply_err(req, EROFS); }
void RoMkdir(fuse_req_t req, fuse_ino_t, const char*, mode_t) { fuse_reply_err(req, EROFS); }
void RoUnlink(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void RoSymlink(fuse_req_t req, const char*, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void RoRename(fuse_req_t req, fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned) { fuse_reply_err(req, EROFS); }
void RoLink(fuse_req_t req, fuse_ino_t, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void RoWrite(fuse_req_t req, fuse_ino_t, const char*, size_t, off_t, fuse_file_info*) { fuse_reply_err(req, EROFS); }
void RoCreate(fuse_req_t req, fuse_ino_t, const char*, mode_t, fuse_file_info*) { fuse_reply_err(req, EROFS); }
void RoSetxattr(fuse_req_t req, fuse_ino_t, const char*, const char*, size_t, int) { fuse_reply_err(req, EROFS); }
void RoRemovexattr(fuse_req_t req, fuse_ino_t, const char*) { fuse_reply_err(req, EROFS); }
void RoFallocate(fuse_req_t req, fuse_ino_t, int, off_t, off_t, fuse_file_info*) { fuse_reply_err(req, EROFS); }

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops o{};
  o.init = OpInit;
  o.lookup = OpLookup;
  o.forget = OpForget;
  o.forget_multi = OpForgetMulti;
  o.getattr = OpGetattr;
  o.readlink = OpReadlink;
  o.opendir = OpOpendir;
  o.readdir = OpReaddir;
  o.releasedir = OpReleasedir;
  o.open = OpOpen;
  o.read = OpRead;
  o.release = OpRelease;
  o.statfs = OpStatfs;
  o.setattr = RoSetattr;
  o.mknod = RoMknod;
  o.mkdir = RoMkdir;
  o.unlink = RoUnlink;
  o.rmdir = RoUnlink;
  o.symlink = RoSymlink;
  o.rename = RoRename;
  o.link = RoLink;
  o.write = RoWrite;
  o.create = RoCreate;
  o.setxattr = RoSetxattr;
  o.removexattr = RoRemovexattr;
  o.fallocate = RoFallocate;
  return o;
}

}  // namespace

const fuse_lowlevel_ops& ReadOnlyOps() {
  static const fuse_lowlevel_ops ops = MakeOps();
  return ops;
}

}  // namespace scnfs
