// scnfs-fuse-floor: the FUSE floor for bench/mount_bench.sh. A low-level FUSE file system with one read-only file,
// `data`, whose bytes are made up on the spot (each 8 KiB block filled with its block number's low byte), served
// with the connection settings `scnfs mount` uses: 1 MiB requests, async reads, 64 background requests, kept page
// cache, a multithreaded session with clone_fd. Whatever a reader measures through it is the cost of FUSE itself on
// this machine (kernel round trip, thread hand-offs, copies), with no store behind it: no scnfs mount can beat it,
// so the benchmark prints it beside scnfs's figures to show how far a target is from what FUSE allows.
//
// Usage: scnfs-fuse-floor MOUNTPOINT [--size BYTES] [--threads N] [--readahead-kb KB]
// Runs in the foreground until unmounted (fusermount3 -u MOUNTPOINT) or interrupted.
#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

constexpr fuse_ino_t kFileIno = 2;
constexpr char kFileName[] = "data";
constexpr uint64_t kBlock = 8192;

uint64_t g_size = uint64_t(1) << 30;
unsigned g_readahead_kb = 4096;

struct stat FileStat(fuse_ino_t ino) {
  struct stat st {};
  st.st_ino = ino;
  if (ino == FUSE_ROOT_ID) {
    st.st_mode = S_IFDIR | 0555;
    st.st_nlink = 2;
  } else {
    st.st_mode = S_IFREG | 0444;
    st.st_nlink = 1;
    st.st_size = off_t(g_size);
    st.st_blocks = blkcnt_t((g_size + 511) / 512);
  }
  return st;
}

void Init(void*, fuse_conn_info* conn) {
  conn->max_write = 1u << 20;  // as scnfs: libfuse raises max_pages from it, and reads follow
  if (conn->capable & FUSE_CAP_ASYNC_READ) conn->want |= FUSE_CAP_ASYNC_READ;
  conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
  conn->max_readahead = g_readahead_kb * 1024u;
  conn->max_background = 64;
  conn->congestion_threshold = 48;
}

void Lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
  if (parent != FUSE_ROOT_ID || std::strcmp(name, kFileName) != 0) return (void)fuse_reply_err(req, ENOENT);
  fuse_entry_param e{};
  e.ino = kFileIno;
  e.attr = FileStat(kFileIno);
  e.attr_timeout = e.entry_timeout = 86400;
  fuse_reply_entry(req, &e);
}

void GetAttr(fuse_req_t req, fuse_ino_t ino, fuse_file_info*) {
  if (ino != FUSE_ROOT_ID && ino != kFileIno) return (void)fuse_reply_err(req, ENOENT);
  struct stat st = FileStat(ino);
  fuse_reply_attr(req, &st, 86400);
}

void ReadDir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, fuse_file_info*) {
  if (ino != FUSE_ROOT_ID) return (void)fuse_reply_err(req, ENOTDIR);
  std::vector<char> buf(size);
  size_t used = 0;
  const char* names[] = {".", "..", kFileName};
  for (off_t i = off; i < 3; ++i) {
    struct stat st = FileStat(i == 2 ? kFileIno : FUSE_ROOT_ID);
    size_t n = fuse_add_direntry(req, buf.data() + used, size - used, names[i], &st, i + 1);
    if (n > size - used) break;
    used += n;
  }
  fuse_reply_buf(req, buf.data(), used);
}

void Open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
  if (ino != kFileIno) return (void)fuse_reply_err(req, EISDIR);
  if ((fi->flags & O_ACCMODE) != O_RDONLY) return (void)fuse_reply_err(req, EROFS);
  fi->keep_cache = 1;
  fuse_reply_open(req, fi);
}

void Read(fuse_req_t req, fuse_ino_t, size_t size, off_t off, fuse_file_info*) {
  thread_local std::vector<char> buf;
  const uint64_t start = uint64_t(off);
  const size_t n = start >= g_size ? 0 : size_t(std::min<uint64_t>(size, g_size - start));
  if (buf.size() < n) buf.resize(n);
  for (size_t done = 0; done < n;) {  // the low byte of each block's number: cheap, and not all zeros
    const uint64_t pos = start + done;
    const size_t len = size_t(std::min<uint64_t>(n - done, kBlock - pos % kBlock));
    std::memset(buf.data() + done, int(pos / kBlock & 0xff), len);
    done += len;
  }
  fuse_reply_buf(req, buf.data(), n);
}

int Usage(const char* argv0) {
  std::fprintf(stderr, "usage: %s MOUNTPOINT [--size BYTES] [--threads N] [--readahead-kb KB]\n", argv0);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argv[1][0] == '-') return Usage(argv[0]);
  const std::string mountpoint = argv[1];
  unsigned threads = 8;
  for (int i = 2; i < argc; i += 2) {
    if (i + 1 >= argc) return Usage(argv[0]);
    const std::string opt = argv[i];
    const unsigned long long v = std::strtoull(argv[i + 1], nullptr, 10);
    if (opt == "--size" && v > 0) {
      g_size = v;
    } else if (opt == "--threads" && v > 0) {
      threads = unsigned(v);
    } else if (opt == "--readahead-kb" && v > 0) {
      g_readahead_kb = unsigned(v);
    } else {
      return Usage(argv[0]);
    }
  }
  fuse_lowlevel_ops ops{};
  ops.init = Init;
  ops.lookup = Lookup;
  ops.getattr = GetAttr;
  ops.readdir = ReadDir;
  ops.open = Open;
  ops.read = Read;
  char arg0[] = "scnfs-fuse-floor";
  char fsname[] = "-ofsname=scnfs-fuse-floor,default_permissions";
  char* fargv[] = {arg0, fsname, nullptr};
  fuse_args args = FUSE_ARGS_INIT(2, fargv);
  fuse_session* se = fuse_session_new(&args, &ops, sizeof ops, nullptr);
  if (se == nullptr || fuse_set_signal_handlers(se) != 0 || fuse_session_mount(se, mountpoint.c_str()) != 0) {
    if (se != nullptr) fuse_session_destroy(se);
    fuse_opt_free_args(&args);  // fuse_session_new adds to the list, allocating it
    return 1;
  }
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(cfg, 1);
  fuse_loop_cfg_set_max_threads(cfg, threads);
  fuse_loop_cfg_set_idle_threads(cfg, threads);
  const int rc = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  fuse_session_unmount(se);
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  fuse_opt_free_args(&args);
  return rc == 0 ? 0 : 1;
}
