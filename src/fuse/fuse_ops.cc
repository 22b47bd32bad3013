#include "fuse/fuse_ops.h"

#include <fcntl.h>

#include <cstdio>
#include <cstring>
#include <exception>
#include <vector>

#include <fmt/format.h>

namespace scnfs {

namespace {

// Names and attributes inside a backup never change: the kernel may keep them for a day (and its page cache for the
// life of the mount, keep_cache), so repeated opens of a datafile cost no request at all.
constexpr double kImmutableTimeout = 86400.0;

FuseContext& Ctx(fuse_req_t req) { return *static_cast<FuseContext*>(fuse_req_userdata(req)); }

void ReplyStatus(fuse_req_t req, const Status& st, const char* op) {
  FuseContext& c = Ctx(req);
  if (c.log_errors && !st.IsNotFound()) std::fprintf(stderr, "scnfs mount: %s: %s\n", op, st.ToString().c_str());
  fuse_reply_err(req, st.ToErrno());
}

// Clean-up after a reply the kernel refused (an interrupted request): the request is answered and gone, so an
// exception here must not reach Guarded, which would answer it a second time.
template <typename F>
void AfterReply(F&& cleanup) {
  try {
    cleanup();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "scnfs mount: internal error after a reply: %s\n", e.what());
  } catch (...) {
    std::fprintf(stderr, "scnfs mount: internal error after a reply\n");
  }
}

void FillEntry(const FuseContext& c, const MountTree::Entry& e, fuse_entry_param* p) {
  std::memset(p, 0, sizeof(*p));
  p->ino = e.ino;
  p->generation = 1;
  p->attr = e.attr;
  p->attr_timeout = p->entry_timeout = e.immutable ? kImmutableTimeout : c.dynamic_timeout;
}

bool IsPointIno(fuse_ino_t ino) { return ino >= (fuse_ino_t(1) << 32) && !MountTree::IsCloneIno(ino); }

// Clones change under the kernel only through this mount, but their names and sizes do change: trust them briefly.
constexpr double kCloneTimeout = 1.0;

// The clone an inode belongs to, held for the request; null when the inode is not a clone's, or its clone is gone.
std::shared_ptr<CloneFs> CloneOf(fuse_req_t req, fuse_ino_t ino, uint64_t* local) { return Ctx(req).tree->Clone(ino, local); }

// What a change is refused with where there is no clone: EROFS in the read-only views, ESTALE on an inode of a
// clone the mount let go of for `clone destroy` (the kernel looks the path up again, and finds it gone).
int NoClone(fuse_ino_t ino) { return MountTree::IsCloneIno(ino) ? ESTALE : EROFS; }
// For an operation on two inodes, one or both without an open clone: ESTALE when one is a let-go clone's, EROFS
// when neither is a clone's, EXDEV between a clone and the read-only views.
int NotBothClone(fuse_ino_t a, bool a_open, fuse_ino_t b, bool b_open) {
  if ((!a_open && MountTree::IsCloneIno(a)) || (!b_open && MountTree::IsCloneIno(b))) return ESTALE;
  return !a_open && !b_open ? EROFS : EXDEV;
}

// An open file of a clone holds its clone (fi->fh), so that its reads, writes and close reach the clone it was
// opened in even if the mount lets go of that clone meanwhile; null for other files.
using CloneHold = std::shared_ptr<CloneFs>;
std::shared_ptr<CloneFs> CloneOfFile(fuse_ino_t ino, const fuse_file_info* fi, uint64_t* local) {
  if (!MountTree::IsCloneIno(ino) || fi == nullptr || fi->fh == 0) return nullptr;
  *local = MountTree::CloneLocal(ino);
  return *reinterpret_cast<const CloneHold*>(fi->fh);
}

fuse_ino_t CloneIno(fuse_ino_t any_ino_of_clone, uint64_t local) {
  return MountTree::CloneIno(MountTree::CloneSlotOf(any_ino_of_clone), local);
}

fuse_entry_param CloneEntry(fuse_ino_t parent, const struct stat& attr) {
  fuse_entry_param p{};
  p.attr = attr;
  p.ino = CloneIno(parent, attr.st_ino);
  p.attr.st_ino = p.ino;
  p.generation = 1;
  p.attr_timeout = p.entry_timeout = kCloneTimeout;
  return p;
}

void ReplyCloneEntry(fuse_req_t req, fuse_ino_t parent, const Result<struct stat>& st, const char* op) {
  if (!st.ok()) return ReplyStatus(req, st.status(), op);
  fuse_entry_param p = CloneEntry(parent, st.value());
  fuse_reply_entry(req, &p);
}

void OpInit(void* userdata, fuse_conn_info* conn) {
  auto* c = static_cast<FuseContext*>(userdata);
  // 1 MiB requests: libfuse raises the kernel's max_pages from max_write, and reads follow.
  conn->max_write = 1u << 20;
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  if (conn->capable & FUSE_CAP_PARALLEL_DIROPS) conn->want |= FUSE_CAP_PARALLEL_DIROPS;
  conn->want &= ~FUSE_CAP_READDIRPLUS;
  // Clone files change only through this mount (and backups never): a changed mtime must not make the kernel drop
  // a file's cached pages, which it would do after every write.
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
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
  if (fuse_reply_entry(req, &p) != 0) AfterReply([&] { c.tree->Forget(p.ino, 1); });  // the kernel did not take it
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
  uint64_t local;
  if (auto c = CloneOf(req, ino, &local)) {
    auto t = c->ReadLink(local);
    if (!t.ok()) return ReplyStatus(req, t.status(), "readlink");
    return (void)fuse_reply_readlink(req, t.value().c_str());
  }
  auto t = Ctx(req).tree->ReadLink(ino);
  if (!t.ok()) return ReplyStatus(req, t.status(), "readlink");
  fuse_reply_readlink(req, t.value().c_str());
}

struct DirHandle {
  MountTree::DirListing listing;
};

void OpOpendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  auto list = Ctx(req).tree->OpenDir(ino);
  if (!list.ok()) return ReplyStatus(req, list.status(), "opendir");
  auto* h = new DirHandle{std::move(list).value()};
  fi->fh = reinterpret_cast<uint64_t>(h);
  if (IsPointIno(ino)) {
    fi->cache_readdir = 1;  // a backup's directories never change
    fi->keep_cache = 1;
  }
  if (fuse_reply_open(req, fi) != 0) delete h;
}

// Every listing starts with "." and "..", as on any other file system: `ls -a`, getdents readers and tools that
// count a directory's entries saw two fewer than in the source (found 2026-12-01). The kernel answers ".." lookups
// itself; its d_ino here is the directory's own, which no caller of readdir relies on.
constexpr size_t kDotEntries = 2;

void OpReaddir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  auto* h = reinterpret_cast<DirHandle*>(fi->fh);
  std::vector<char> buf(size);
  size_t used = 0;
  for (size_t i = size_t(off); i < h->listing.size() + kDotEntries; ++i) {
    const MountTree::DirEntry e =
        i < kDotEntries ? MountTree::DirEntry{i == 0 ? "." : "..", ino, S_IFDIR} : h->listing.at(i - kDotEntries);
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
  uint64_t local;
  if (auto c = CloneOf(req, ino, &local)) {
    Status st = c->Open(local, (fi->flags & O_TRUNC) != 0);
    if (!st.ok()) return ReplyStatus(req, st, "open");
    auto* hold = new CloneHold(c);
    fi->fh = reinterpret_cast<uint64_t>(hold);
    fi->direct_io = (fi->flags & O_DIRECT) ? 1 : 0;  // Oracle opens datafiles with O_DIRECT
    // Every change to a clone passes through this mount, so the kernel's page cache of it stays right across opens.
    fi->keep_cache = fi->direct_io ? 0 : 1;
    if (fuse_reply_open(req, fi) != 0) {
      AfterReply([&] { c->Release(local); });
      delete hold;
    }
    return;
  }
  if (MountTree::IsCloneIno(ino)) return (void)fuse_reply_err(req, ESTALE);  // its clone was let go (destroyed)
  if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) return (void)fuse_reply_err(req, EROFS);
  MountTree* tree = Ctx(req).tree;  // taken now: a reply frees `req`, whatever it returns
  auto f = tree->Open(ino);
  if (!f.ok()) return ReplyStatus(req, f.status(), "open");
  auto* h = new MountTree::OpenFile(std::move(f).value());
  fi->fh = reinterpret_cast<uint64_t>(h);
  fi->keep_cache = 1;  // the content of a backup never changes: keep the page cache across opens
  if (fuse_reply_open(req, fi) != 0) {
    AfterReply([&] { tree->Release(*h); });
    delete h;
  }
}

void OpRead(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info* fi) {
  thread_local std::vector<std::byte> buf;
  if (buf.size() < size) buf.resize(size);
  size_t n = 0;
  Status st;
  uint64_t local;
  if (MountTree::IsCloneIno(ino)) {
    auto c = CloneOfFile(ino, fi, &local);
    if (c == nullptr) return (void)fuse_reply_err(req, ESTALE);
    st = c->Read(local, uint64_t(off), std::span<std::byte>(buf.data(), size), &n);
  } else {
    auto* h = reinterpret_cast<MountTree::OpenFile*>(fi->fh);
    st = Ctx(req).tree->Read(*h, uint64_t(off), std::span<std::byte>(buf.data(), size), &n);
  }
  if (!st.ok()) return ReplyStatus(req, st, "read");
  fuse_reply_buf(req, reinterpret_cast<const char*>(buf.data()), n);
}

void OpRelease(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  uint64_t local;
  if (MountTree::IsCloneIno(ino)) {
    if (auto c = CloneOfFile(ino, fi, &local)) c->Release(local);
    delete reinterpret_cast<CloneHold*>(fi->fh);  // the last hold of a clone let go of closes it
    return (void)fuse_reply_err(req, 0);
  }
  auto* h = reinterpret_cast<MountTree::OpenFile*>(fi->fh);
  Ctx(req).tree->Release(*h);
  delete h;
  fuse_reply_err(req, 0);
}

void OpStatfs(fuse_req_t req, fuse_ino_t ino) {
  struct statvfs s {};
  uint64_t local;
  if (auto c = CloneOf(req, ino, &local)) {
    Status st = c->Statfs(&s);
    if (!st.ok()) return ReplyStatus(req, st, "statfs");
    return (void)fuse_reply_statfs(req, &s);
  }
  // The store's file system: what `df` on a mount should tell a DBA (its size, and the room left for backups and
  // clones). It said 0 of everything. (The kernel takes the mount's flags from the mount, not from this reply.)
  if (::statvfs(Ctx(req).tree->store_dir().c_str(), &s) != 0) {
    s = {};
    s.f_bsize = 1u << 20;
    s.f_frsize = 4096;
  }
  s.f_namemax = 255;
  fuse_reply_statfs(req, &s);
}

// Changes: allowed inside a clone, refused everywhere else (backups are immutable).
void OpSetattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info*) {
  uint64_t local;
  auto c = CloneOf(req, ino, &local);
  if (c == nullptr) return (void)fuse_reply_err(req, NoClone(ino));
  auto st = c->SetAttr(local, *attr, to_set);
  if (!st.ok()) return ReplyStatus(req, st.status(), "setattr");
  struct stat a = st.value();
  a.st_ino = ino;
  fuse_reply_attr(req, &a, kCloneTimeout);
}

void OpMknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t) {
  uint64_t local;
  auto c = CloneOf(req, parent, &local);
  if (c == nullptr) return (void)fuse_reply_err(req, NoClone(parent));
  const fuse_ctx* ctx = fuse_req_ctx(req);
  ReplyCloneEntry(req, parent, c->Make(local, name, mode, ctx->uid, ctx->gid), "mknod");
}

void OpMkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode) {
  uint64_t local;
  auto c = CloneOf(req, parent, &local);
  if (c == nullptr) return (void)fuse_reply_err(req, NoClone(parent));
  const fuse_ctx* ctx = fuse_req_ctx(req);
  ReplyCloneEntry(req, parent, c->Make(local, name, S_IFDIR | (mode & 07777), ctx->uid, ctx->gid), "mkdir");
}

void OpSymlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
  uint64_t local;
  auto c = CloneOf(req, parent, &local);
  if (c == nullptr) return (void)fuse_reply_err(req, NoClone(parent));
  const fuse_ctx* ctx = fuse_req_ctx(req);
  ReplyCloneEntry(req, parent, c->Symlink(local, name, target, ctx->uid, ctx->gid), "symlink");
}

void OpLink(fuse_req_t req, fuse_ino_t ino, fuse_ino_t parent, const char* name) {
  uint64_t local, plocal;
  auto c = CloneOf(req, ino, &local);
  auto pc = CloneOf(req, parent, &plocal);
  if (c == nullptr || pc == nullptr) return (void)fuse_reply_err(req, NotBothClone(ino, c != nullptr, parent, pc != nullptr));
  if (c != pc) return (void)fuse_reply_err(req, EXDEV);
  ReplyCloneEntry(req, parent, c->Link(local, plocal, name), "link");
}

void OpUnlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
  uint64_t local;
  auto c = CloneOf(req, parent, &local);
  if (c == nullptr) return (void)fuse_reply_err(req, NoClone(parent));
  fuse_reply_err(req, c->Unlink(local, name).ToErrno());
}

void OpRmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
  uint64_t local;
  auto c = CloneOf(req, parent, &local);
  if (c == nullptr) return (void)fuse_reply_err(req, NoClone(parent));
  fuse_reply_err(req, c->Rmdir(local, name).ToErrno());
}

void OpRename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t newparent, const char* newname,
              unsigned flags) {
  uint64_t local, nlocal;
  auto c = CloneOf(req, parent, &local);
  auto nc = CloneOf(req, newparent, &nlocal);
  if (c == nullptr || nc == nullptr) return (void)fuse_reply_err(req, NotBothClone(parent, c != nullptr, newparent, nc != nullptr));
  if (c != nc) return (void)fuse_reply_err(req, EXDEV);
  fuse_reply_err(req, c->Rename(local, name, nlocal, newname, flags).ToErrno());
}

void OpCreate(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
  uint64_t local;
  auto c = CloneOf(req, parent, &local);
  if (c == nullptr) return (void)fuse_reply_err(req, NoClone(parent));
  const fuse_ctx* ctx = fuse_req_ctx(req);
  auto st = c->Make(local, name, S_IFREG | (mode & 07777), ctx->uid, ctx->gid);
  if (!st.ok()) return ReplyStatus(req, st.status(), "create");
  Status os = c->Open(st.value().st_ino, false);
  if (!os.ok()) return ReplyStatus(req, os, "create");
  fuse_entry_param p = CloneEntry(parent, st.value());
  auto* hold = new CloneHold(c);
  fi->fh = reinterpret_cast<uint64_t>(hold);
  fi->direct_io = (fi->flags & O_DIRECT) ? 1 : 0;
  if (fuse_reply_create(req, &p, fi) != 0) {
    AfterReply([&] { c->Release(st.value().st_ino); });
    delete hold;
  }
}

void OpWrite(fuse_req_t req, fuse_ino_t ino, const char* buf, size_t size, off_t off, fuse_file_info* fi) {
  uint64_t local;
  auto c = CloneOfFile(ino, fi, &local);
  if (c == nullptr) return (void)fuse_reply_err(req, NoClone(ino));
  Status st = c->Write(local, uint64_t(off), std::span<const std::byte>(reinterpret_cast<const std::byte*>(buf), size));
  // The kernel sends an fsync after a buffered O_SYNC/O_DSYNC write, but not after a direct one (Oracle's datafile
  // writes, PostgreSQL's WAL with open_datasync): the write itself must be durable before it is acknowledged.
  if (st.ok() && (fi->flags & O_DIRECT) && (fi->flags & O_DSYNC))
    st = c->Fsync(local, /*datasync=*/(fi->flags & O_SYNC) != O_SYNC);
  if (!st.ok()) return ReplyStatus(req, st, "write");
  fuse_reply_write(req, size);
}

void OpFlush(fuse_req_t req, fuse_ino_t, fuse_file_info*) { fuse_reply_err(req, 0); }

void OpFsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi) {
  uint64_t local;
  auto c = CloneOfFile(ino, fi, &local);
  if (c == nullptr && MountTree::IsCloneIno(ino)) return (void)fuse_reply_err(req, ESTALE);
  fuse_reply_err(req, c == nullptr ? 0 : c->Fsync(local, datasync != 0).ToErrno());
}

void OpFsyncdir(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info*) {
  uint64_t local;
  auto c = CloneOf(req, ino, &local);
  if (c == nullptr && MountTree::IsCloneIno(ino)) return (void)fuse_reply_err(req, ESTALE);  // its clone was let go
  fuse_reply_err(req, c == nullptr ? 0 : c->SyncMetadata().ToErrno());
}

void OpFallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len, fuse_file_info* fi) {
  uint64_t local;
  auto c = CloneOfFile(ino, fi, &local);
  if (c == nullptr) return (void)fuse_reply_err(req, NoClone(ino));
  fuse_reply_err(req, c->Fallocate(local, mode, uint64_t(off), uint64_t(len)).ToErrno());
}

// The read-only views refuse every change with EROFS; clones are writable but keep no extended attributes, which
// is ENOTSUP (what a file system without xattr support answers), not "read-only".
void OpSetxattr(fuse_req_t req, fuse_ino_t ino, const char*, const char*, size_t, int) {
  fuse_reply_err(req, MountTree::IsCloneIno(ino) ? ENOTSUP : EROFS);
}
void OpRemovexattr(fuse_req_t req, fuse_ino_t ino, const char*) {
  fuse_reply_err(req, MountTree::IsCloneIno(ino) ? ENOTSUP : EROFS);
}

// Every handler that replies runs inside Guarded: an exception that escapes one (a parser, a container's at(),
// bad_alloc) would otherwise unwind into libfuse's C frames and terminate the mount, cutting off every reader and
// every clone a database has open. The request gets EIO and the mount goes on. Handlers reply last, so a throw
// comes before any reply (clean-up after a reply runs in AfterReply), and the request is answered exactly once.
template <auto Fn>
struct Guarded;
template <typename... A, void (*Fn)(fuse_req_t, A...)>
struct Guarded<Fn> {
  static void Call(fuse_req_t req, A... a) {
    try {
      Fn(req, a...);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "scnfs mount: internal error, answered EIO: %s\n", e.what());
      fuse_reply_err(req, EIO);
    } catch (...) {
      std::fprintf(stderr, "scnfs mount: internal error, answered EIO\n");
      fuse_reply_err(req, EIO);
    }
  }
};

fuse_lowlevel_ops MakeOps() {
  fuse_lowlevel_ops o{};
  o.init = OpInit;
  o.lookup = Guarded<OpLookup>::Call;
  o.forget = OpForget;
  o.forget_multi = OpForgetMulti;
  o.getattr = Guarded<OpGetattr>::Call;
  o.readlink = Guarded<OpReadlink>::Call;
  o.opendir = Guarded<OpOpendir>::Call;
  o.readdir = Guarded<OpReaddir>::Call;
  o.releasedir = Guarded<OpReleasedir>::Call;
  o.open = Guarded<OpOpen>::Call;
  o.read = Guarded<OpRead>::Call;
  o.release = Guarded<OpRelease>::Call;
  o.statfs = Guarded<OpStatfs>::Call;
  o.setattr = Guarded<OpSetattr>::Call;
  o.mknod = Guarded<OpMknod>::Call;
  o.mkdir = Guarded<OpMkdir>::Call;
  o.unlink = Guarded<OpUnlink>::Call;
  o.rmdir = Guarded<OpRmdir>::Call;
  o.symlink = Guarded<OpSymlink>::Call;
  o.rename = Guarded<OpRename>::Call;
  o.link = Guarded<OpLink>::Call;
  o.write = Guarded<OpWrite>::Call;
  o.create = Guarded<OpCreate>::Call;
  o.flush = Guarded<OpFlush>::Call;
  o.fsync = Guarded<OpFsync>::Call;
  o.fsyncdir = Guarded<OpFsyncdir>::Call;
  o.setxattr = Guarded<OpSetxattr>::Call;
  o.removexattr = Guarded<OpRemovexattr>::Call;
  o.fallocate = Guarded<OpFallocate>::Call;
  return o;
}

}  // namespace

const fuse_lowlevel_ops& ReadOnlyOps() {
  static const fuse_lowlevel_ops ops = MakeOps();
  return ops;
}

}  // namespace scnfs
