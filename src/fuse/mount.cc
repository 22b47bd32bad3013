// RunMount / Unmount: checks, session set-up and teardown around the operations in fuse_ops.cc.
#include "scnfs/mount.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <utility>

#include <fmt/format.h>

#include "fuse/fuse_ops.h"
#include "fuse/mount_tree.h"
#include "fuse/mountinfo.h"
#include "util/ticker.h"
#include "scnfs/pins.h"
#include "scnfs/store.h"

namespace scnfs {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view kFsType = "fuse.scnfs";

Status CheckMountpoint(const std::string& mp) {
  struct stat st;
  if (::stat(mp.c_str(), &st) != 0) {
    if (errno == ENOTCONN)
      return Status::Busy(fmt::format("{} is a mount whose process died; clear it with: scnfs umount {}", mp, mp));
    if (errno == ENOENT) return Status::NotFound(fmt::format("mountpoint {} does not exist", mp));
    return Status::FromErrno(errno, fmt::format("cannot use mountpoint {}", mp));
  }
  if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(fmt::format("mountpoint {} is not a directory", mp));
  SCNFS_ASSIGN_OR_RETURN(auto existing, FindMount(mp));
  if (existing)
    return Status::Busy(fmt::format("{} is already a mount point ({}); unmount it first or choose another directory",
                                    mp, existing->fstype));
  // Inside another scnfs mount (a clone's directory): that mount could then not be unmounted ("in use"), with
  // nothing to say why. The innermost mount above the directory decides.
  SCNFS_ASSIGN_OR_RETURN(auto mounts, ReadMountInfo());
  const MountInfo* within = nullptr;
  for (const auto& m : mounts)
    if ((m.point == "/" || mp.starts_with(m.point + "/")) && (!within || m.point.size() >= within->point.size())) within = &m;
  if (within && within->fstype == kFsType)
    return Status::InvalidArgument(fmt::format("{} is inside the scnfs mount {}; choose a directory outside it", mp,
                                               within->point));
  std::error_code ec;
  if (!fs::is_empty(mp, ec) || ec)
    return Status::Busy(fmt::format("mountpoint {} is not empty: mounting there would hide its files", mp));
  return Status::OK();
}

// The kernel starts a FUSE mount with 128 KiB of readahead, which caps sequential reads far below what the store
// serves; a larger window turns a scan into 1 MiB requests that the worker threads serve in parallel.
void RaiseReadahead(const std::string& mp, unsigned kb) {
  auto m = FindMount(mp);
  if (!m.ok() || !m.value()) return;
  std::ofstream f(fmt::format("/sys/class/bdi/{}:{}/read_ahead_kb", m.value()->major, m.value()->minor));
  if (f) f << kb << "\n";  // not root: the kernel's default stays, reads are only slower
}

// Where a mount notes its pid, so that `scnfs umount` can wait until the process has let go of the store (its
// clone locks, its pins) before returning: `scnfs clone destroy` right after an unmount must not find it busy.
std::string PidFile(const std::string& mp) {
  return fmt::format("/run/scnfs/mount-{:016x}.pid", std::hash<std::string>{}(mp));
}

// When process `pid` started (clock ticks since boot, /proc/PID/stat's 22nd field); 0 when it is gone. With the pid,
// it names one process: a killed mount's pid file outlives it, and its pid, reused by another process, made
// `scnfs umount` wait 10 s on that one and advise killing it (found 2026-11-30).
uint64_t ProcessStart(int pid) {
  std::ifstream in(fmt::format("/proc/{}/stat", pid));
  std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos) return 0;
  std::istringstream fields(stat.substr(paren + 2));
  std::string field;
  for (int i = 3; i < 22 && fields >> field; ++i) {
  }
  uint64_t start = 0;
  fields >> start;
  return start;
}

void WritePidFile(const std::string& mp) {
  std::error_code ec;
  fs::create_directories("/run/scnfs", ec);
  std::ofstream(PidFile(mp)) << ::getpid() << "\n" << ProcessStart(::getpid()) << "\n" << mp << "\n";
}

// The mount process of `mp`, if it still runs; 0 otherwise.
int ReadPidFile(const std::string& mp) {
  std::ifstream in(PidFile(mp));
  int pid = 0;
  std::string second, path;
  if (!(in >> pid) || !std::getline(in >> std::ws, second)) return 0;
  if (second == mp) return pid;  // written by a build before the start time: "pid\nmountpoint\n", taken as it says
  uint64_t start = 0;
  if (std::sscanf(second.c_str(), "%" SCNu64, &start) != 1 || !std::getline(in, path) || path != mp) return 0;
  return start != 0 && ProcessStart(pid) == start ? pid : 0;
}

// Holds the mountpoint directory's flock from the checks until the mount is in place. Two mounts started together
// on one directory both passed the checks and stacked, each a hidden process with its own pins (found 2026-12-01);
// a mount started once this one is in place meets "already a mount point".
class MountpointGuard {
 public:
  static Result<MountpointGuard> Take(const std::string& mp) {
    MountpointGuard g;
    g.fd_ = ::open(mp.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    // Not a directory, missing, a dead mount: CheckMountpoint says which. A file system without flock: unguarded.
    if (g.fd_ >= 0 && ::flock(g.fd_, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK)
      return Status::Busy(fmt::format("another scnfs mount is being started at {}; wait for it, or choose another directory", mp));
    return g;
  }
  MountpointGuard(MountpointGuard&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  ~MountpointGuard() { Release(); }
  void Release() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  MountpointGuard() = default;
  int fd_ = -1;
};

}  // namespace

Status RunMount(const MountOptions& options, const std::function<void()>& ready) {
  const std::string mp = AbsolutePath(options.mountpoint);
  SCNFS_ASSIGN_OR_RETURN(MountpointGuard guard, MountpointGuard::Take(mp));
  SCNFS_RETURN_IF_ERROR(CheckMountpoint(mp));
  StoreOptions so;
  so.block_cache_bytes = options.cache_mb << 20;
  SCNFS_ASSIGN_OR_RETURN(auto store, Store::Open(options.store_dir, Store::Mode::kReader, so));
  auto pins_or = PinHolder::Create(options.store_dir, fmt::format("mount {}", mp));
  std::unique_ptr<PinHolder> pins;
  if (pins_or.ok()) {
    pins = std::move(pins_or).value();
  } else if (pins_or.status().ToErrno() == EROFS) {
    // A store on a read-only file system (a snapshot, a read-only copy) can be read but never pruned: nothing to
    // pin against. Any other failure (a full disk) stays fatal: a later prune would not see what this serves.
    fmt::print(stderr, "scnfs: note: the store is read-only: this mount records no pins, and its clones cannot be opened\n");
  } else if (pins_or.status().ToErrno() == ENOSPC) {
    return pins_or.status().WithContext(
        "cannot record this mount's pins on the store's full file system (a prune would not see what it serves): "
        "free some space, or use scnfs restore, which needs none");
  } else if (pins_or.status().ToErrno() == EACCES || pins_or.status().ToErrno() == EPERM) {
    // A user who may read the store but not write it (root's store, mounted by the database's own user): the bare
    // "Permission denied" on a pins file did not say why a mount writes at all (review, 2026-12-02).
    return pins_or.status().WithContext(fmt::format(
        "a mount records what it serves in {}/pins so that a prune keeps it, and this user may not write there: mount "
        "as the store's owner (with --allow-other for the database's user), or use scnfs restore", options.store_dir));
  } else {
    return pins_or.status();
  }
  // A mount that died (SIGKILL, OOM) left its pin files: void, since its lock died with it, but only a reader of
  // pins removes them, and until prune none runs (each killed mount left 1 MiB for good, found 2026-11-30). A
  // damaged live holder's file fails the listing; that is prune's to report, not a reason to refuse the mount.
  if (pins) (void)ListPins(options.store_dir);
  MountTreeOptions to;
  to.refresh = std::chrono::milliseconds(options.refresh_ms);
  // A foreground mount says once why it goes on serving what it had (each request on the root meets the failure).
  if (::isatty(STDERR_FILENO)) {
    to.on_catch_up_failure = [last = std::string(), mu = std::make_shared<std::mutex>()](const Status& st) mutable {
      std::lock_guard<std::mutex> l(*mu);
      if (st.ToString() == last) return;
      last = st.ToString();
      fmt::print(stderr, "scnfs mount: serving what it had: {}\n", last);
    };
  }
  // Stderr is the mount's log (a foreground terminal, or the file a service manager keeps): a damaged catalog is
  // said once per backup there, since the reader of a file only sees EIO.
  to.on_file_set_damage = [](const std::string& what, const Status& st) {
    fmt::print(stderr, "scnfs mount: {}: its files fail with EIO: {}\n", what, st.ToString());
  };
  // A clone let go of for `clone destroy` is dropped from the kernel's name cache at once: `ls clones/` right after
  // the destroy listed it for another second, and a clone made again under its name within that second was read
  // through the old one's inodes. The session is set once it exists, and cleared before it goes.
  // No lock is held across the notification: the kernel takes the clones/ directory's lock for it and waits for
  // a lookup in flight there, which a session that stopped (SIGTERM) never answers; the shutdown then waited on
  // that lock before it unmounted (found by review, 2026-12-01). The session outlives every notification instead:
  // it is unmounted (which fails whatever is in flight), the upkeep that sends them is stopped, then it goes.
  struct Notifier {
    std::atomic<fuse_session*> se{nullptr};
  };
  auto notifier = std::make_shared<Notifier>();
  to.on_clone_released = [notifier](uint64_t dir, const std::string& name) {
    if (fuse_session* se = notifier->se.load()) fuse_lowlevel_notify_inval_entry(se, dir, name.c_str(), name.size());
  };
  MountTree tree(store.get(), pins.get(), to);

  FuseContext ctx;
  ctx.tree = &tree;
  ctx.dynamic_timeout = options.refresh_ms / 1000.0;
  ctx.readahead_kb = options.readahead_kb;
  ctx.log_errors = ::isatty(STDERR_FILENO);

  std::string opts = "fsname=scnfs,subtype=scnfs,default_permissions";
  if (options.allow_other) opts += ",allow_other";
  std::vector<std::string> argv_s = {"scnfs", "-o", opts};
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  fuse_args args = FUSE_ARGS_INIT(int(argv.size()), argv.data());
  // fuse_session_new adds to the argument list (allocating it); freed on every way out.
  struct FreeArgs {
    fuse_args* a;
    ~FreeArgs() { fuse_opt_free_args(a); }
  } free_args{&args};
  fuse_session* se = fuse_session_new(&args, &ReadOnlyOps(), sizeof(fuse_lowlevel_ops), &ctx);
  if (se == nullptr) return Status::IOError("cannot create a FUSE session (is /dev/fuse there and fuse3 installed?)");
  if (fuse_set_signal_handlers(se) != 0) {
    fuse_session_destroy(se);
    return Status::IOError("cannot install signal handlers");
  }
  if (fuse_session_mount(se, mp.c_str()) != 0) {
    fuse_remove_signal_handlers(se);
    fuse_session_destroy(se);
    return Status::IOError(fmt::format("cannot mount at {} (see the message above)", mp));
  }
  guard.Release();
  RaiseReadahead(mp, options.readahead_kb);
  WritePidFile(mp);
  if (ready) ready();

  // Not one exception out of the upkeep thread (it would end the mount with std::terminate): said, and the next
  // second tries again.
  std::optional<Ticker> upkeep(std::in_place, [&tree] {
    try {
      tree.Upkeep();
    } catch (const std::exception& e) {
      fmt::print(stderr, "scnfs mount: upkeep failed, tried again in a second: {}\n", e.what());
    }
  }, std::chrono::seconds(1));
  fuse_loop_config* cfg = fuse_loop_cfg_create();
  fuse_loop_cfg_set_clone_fd(cfg, 1);
  fuse_loop_cfg_set_max_threads(cfg, options.threads);
  fuse_loop_cfg_set_idle_threads(cfg, options.threads);
  notifier->se = se;
  int rc = fuse_session_loop_mt(se, cfg);
  fuse_loop_cfg_destroy(cfg);
  notifier->se = nullptr;
  fuse_session_unmount(se);
  upkeep.reset();  // joined: no notification is in flight once the session is destroyed
  fuse_remove_signal_handlers(se);
  fuse_session_destroy(se);
  if (ReadPidFile(mp) == ::getpid()) ::unlink(PidFile(mp).c_str());
  if (rc < 0) return Status::FromErrno(-rc, "the mount's session ended with an error");
  return Status::OK();
}

std::string MountPointPath(const std::string& path) { return AbsolutePath(path); }

Status Unmount(const std::string& mountpoint, bool lazy) {
  const std::string mp = AbsolutePath(mountpoint);
  SCNFS_ASSIGN_OR_RETURN(auto m, FindMount(mp));
  if (!m) return Status::InvalidArgument(fmt::format("{} is not mounted", mp));
  if (m->fstype != kFsType)
    return Status::InvalidArgument(fmt::format("{} is not a scnfs mount (it is {}); not unmounting it", mp, m->fstype));
  const int pid = ReadPidFile(mp);
  // Returns once the mount process is gone (a killed one already is). One that is still there after 10 s (stopped,
  // hung in the kernel) is named: the mount is detached, but the process holds the store's pins until it ends
  // (it waited 30 s in silence, then said nothing).
  auto wait_for_exit = [&]() -> Status {
    for (int i = 0; pid > 0 && ::kill(pid, 0) == 0; ++i) {
      std::string stat;
      std::ifstream(fmt::format("/proc/{}/stat", pid)) >> stat >> stat >> stat;
      if (stat == "Z") break;  // exited, not yet reaped by its parent
      // A stopped process keeps a SIGTERM pending (libfuse catches it): `kill` alone did nothing (found 2026-11-30).
      if (i == 1000 && stat == "T")
        return Status::Busy(fmt::format("{} is unmounted, but its mount process {} is stopped (state T) and still holds "
                                        "the store's pins; `kill -CONT {}` lets it finish, `kill -9 {}` ends it",
                                        mp, pid, pid, pid));
      if (i == 1000)
        return Status::Busy(fmt::format("{} is unmounted, but its mount process {} has not exited after 10 s (state {}: "
                                        "hung?); `kill -9 {}` ends it",
                                        mp, pid, stat, pid));
      ::usleep(10000);
    }
    return Status::OK();
  };
  // A dead mount's pid file (its process was killed) goes with its unmount: each was left in /run/scnfs (review,
  // 2026-12-02). Read again first: a mount started here since has written its own.
  auto drop_dead_pid_file = [&] {
    if (pid == 0 && ReadPidFile(mp) == 0) ::unlink(PidFile(mp).c_str());
  };
  if (::geteuid() == 0) {
    if (::umount2(mp.c_str(), lazy ? MNT_DETACH : 0) == 0) {
      drop_dead_pid_file();
      return lazy ? Status::OK() : wait_for_exit();
    }
    if (errno == EBUSY)
      return Status::Busy(fmt::format("{} is in use (open files or a process inside it); close them, or use --lazy", mp));
    return Status::FromErrno(errno, fmt::format("cannot unmount {}", mp));
  }
  // Not root: fusermount3 is setuid and checks that this user mounted it.
  pid_t child = ::fork();
  if (child < 0) return Status::FromErrno(errno, "fork");
  if (child == 0) {
    const char* args[] = {"fusermount3", "-u", lazy ? "-z" : "-u", "--", mp.c_str(), nullptr};
    if (!lazy) args[2] = "-q";
    ::execvp("fusermount3", const_cast<char* const*>(args));
    _exit(127);
  }
  int ws = 0;
  ::waitpid(child, &ws, 0);
  if (WIFEXITED(ws) && WEXITSTATUS(ws) == 0) {
    drop_dead_pid_file();
    return lazy ? Status::OK() : wait_for_exit();
  }
  return Status::IOError(fmt::format("fusermount3 could not unmount {}", mp));
}

}  // namespace scnfs
