// scnfs mount / scnfs umount.
//
// Without --foreground the mount runs in a child process that reports back through a pipe once the mount answers,
// so that `scnfs mount` returns only when the mountpoint is usable and fails with the real reason otherwise.
#include <fcntl.h>
#include <unistd.h>

#include <filesystem>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/store_option.h"
#include "scnfs/catalog.h"
#include "scnfs/mount.h"

namespace scnfs::cli {

namespace {

void WriteAll(int fd, const std::string& s) {
  size_t done = 0;
  while (done < s.size()) {
    ssize_t n = ::write(fd, s.data() + done, s.size() - done);
    if (n <= 0) return;
    done += size_t(n);
  }
}

void DetachStdio() {
  int null = ::open("/dev/null", O_RDWR);
  if (null < 0) return;
  ::dup2(null, STDIN_FILENO);
  ::dup2(null, STDOUT_FILENO);
  ::dup2(null, STDERR_FILENO);
  if (null > STDERR_FILENO) ::close(null);
}

int MountInBackground(const MountOptions& o) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return Fail(Status::FromErrno(errno, "pipe"));
  pid_t pid = ::fork();
  if (pid < 0) return Fail(Status::FromErrno(errno, "fork"));
  if (pid == 0) {
    ::close(p[0]);
    // A daemon must not keep its caller's descriptors: a script reading our output through a pipe would wait for
    // the mount to end. Only the status pipe survives, as fd 3.
    if (p[1] != 3) {
      ::dup2(p[1], 3);
      ::close(p[1]);
      p[1] = 3;
    }
    ::close_range(4, ~0u, 0);
    ::setsid();
    if (::chdir("/") != 0) _exit(1);
    Status st = RunMount(o, [&] {
      WriteAll(p[1], "ok\n");
      ::close(p[1]);
      p[1] = -1;
      DetachStdio();
    });
    if (p[1] >= 0) WriteAll(p[1], st.ok() ? std::string("ok\n") : "error " + st.ToString() + "\n");
    _exit(st.ok() ? 0 : 1);
  }
  ::close(p[1]);
  std::string reply;
  char buf[512];
  ssize_t n;
  while ((n = ::read(p[0], buf, sizeof(buf))) > 0) reply.append(buf, size_t(n));
  ::close(p[0]);
  if (reply.starts_with("ok")) {
    fmt::print("mounted store {} at {} (pid {}); unmount with: scnfs umount {}\n", o.store_dir, o.mountpoint, pid,
               o.mountpoint);
    return kExitOk;
  }
  if (reply.starts_with("error ")) {
    while (!reply.empty() && reply.back() == '\n') reply.pop_back();
    fmt::print(stderr, "scnfs: {}\n", reply.substr(6));
    return kExitFailure;
  }
  return Fail(Status::IOError("the mount process ended before the mount was ready"));
}

}  // namespace

Runner AddMount(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand(
      "mount",
      "Show every database, backup and point in time of the store as ordinary read-only files:\n"
      "  MOUNTPOINT/<db>/backups/<id>/...   each complete backup, with .scnfs-backup.json describing it\n"
      "  MOUNTPOINT/<db>/at/<SPEC>/...      any scn:N, time:ISO8601 or backup:N (resolved when first looked up)\n"
      "  MOUNTPOINT/<db>/latest             symlink to the newest backup\n"
      "Backups, list, restore and verify keep working while the store is mounted; new backups appear within a\n"
      "second. Unmount with `scnfs umount MOUNTPOINT`.");
  auto o = std::make_shared<MountOptions>();
  auto fg = std::make_shared<bool>(false);
  AddStoreOption(sub, g);
  sub->add_option("MOUNTPOINT", o->mountpoint, "An empty directory")->required();
  sub->add_flag("--foreground,-f", *fg, "Stay in the foreground (Ctrl-C unmounts)");
  sub->add_flag("--allow-other", o->allow_other,
                "Let other users in (e.g. the postgres user on a backup of its data directory); file modes and owners "
                "from the backup are still enforced");
  sub->add_option("--cache-mb", o->cache_mb, "Memory for cached store blocks, MiB (default: 256)")->check(CLI::Range(8, 1 << 20));
  sub->add_option("--readahead-kb", o->readahead_kb, "Kernel readahead for sequential scans, KiB (default: 4096)")
      ->check(CLI::Range(128, 1 << 16));
  sub->add_option("--threads", o->threads, "Threads serving requests (default: 8)")->check(CLI::Range(1, 256));
  return [o, fg, &g] {
    if (g.store.empty()) return Fail(Status::InvalidArgument("no store given: use --store DIR or set SCNFS_STORE"));
    // The mount reads at/time:... names in its own zone: with a TZ glibc cannot load, every local one is ENOENT.
    if (Status tz = LocalTimeZoneStatus(); !tz.ok())
      fmt::print(stderr, "scnfs: warning: {}: at/time:... names without an offset or Z will not be found\n", tz.message());
    // Both made absolute before the daemon changes to "/". (An empty MOUNTPOINT, an unset variable in a script, is
    // refused with every empty argument in main.)
    o->store_dir = std::filesystem::absolute(g.store).lexically_normal().string();
    o->mountpoint = MountPointPath(o->mountpoint);  // as the kernel will record it, so the printed umount works
    if (!*fg) return MountInBackground(*o);
    Status st = RunMount(*o, [&] {
      fmt::print("mounted store {} at {}; Ctrl-C or `scnfs umount {}` to unmount\n", o->store_dir, o->mountpoint,
                 o->mountpoint);
      std::fflush(stdout);
    });
    if (!st.ok()) return Fail(st);
    return kExitOk;
  };
}

Runner AddUmount(CLI::App& app, Globals&) {
  auto* sub = app.add_subcommand("umount", "Unmount a scnfs mount, also one whose process was killed.");
  auto mp = std::make_shared<std::string>();
  auto lazy = std::make_shared<bool>(false);
  sub->add_option("MOUNTPOINT", *mp, "Where the store is mounted")->required();
  sub->add_flag("--lazy,-z", *lazy, "Detach now even if files are open; the mount goes when they are closed");
  return [mp, lazy] {
    Status st = Unmount(*mp, *lazy);
    if (!st.ok()) return Fail(st);
    return kExitOk;
  };
}

}  // namespace scnfs::cli
