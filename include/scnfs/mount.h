// The scnfs mount: every database, backup and point in time of a store as ordinary read-only files (FUSE).
//
//   MOUNTPOINT/<db>/backups/<id>/...        the files of backup <id> as they were read, with their metadata
//   MOUNTPOINT/<db>/backups/<id>/.scnfs-backup.json   what the backup is: kind, SCNs, times, files, Oracle headers
//   MOUNTPOINT/<db>/at/<SPEC>/...           any scn:N, time:ISO8601 or backup:N, resolved on first lookup
//   MOUNTPOINT/<db>/latest                  symlink to backups/<newest complete backup>
//
// docs/mount.md states the behaviour in full (timeouts, inode numbers, pins, memory).
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "scnfs/status.h"

namespace scnfs {

struct MountOptions {
  std::string store_dir;
  std::string mountpoint;
  // Let users other than the one who mounted in (the database's own user, e.g. postgres). Off by default, as in
  // FUSE; the kernel still checks each file's mode and owner (default_permissions).
  bool allow_other = false;
  // Memory for cached store blocks (RocksDB block cache). Default: 256 MiB.
  size_t cache_mb = 256;
  // Kernel readahead for the mount, KiB. Sequential scans are served in requests this large. Default: 4 MiB.
  unsigned readahead_kb = 4096;
  // Worker threads serving requests. Default: 8 (most wait on disk reads when the cache is cold).
  unsigned threads = 8;
  // How long a listing of databases and backups is trusted before the catalog is read again, ms. Default: 1000.
  unsigned refresh_ms = 1000;
};

// Checks the mountpoint (exists, a directory, empty, not already mounted) and the store (exists, a store of a known
// version), mounts, calls `ready` once the mount answers, then serves until unmounted or SIGINT/SIGTERM/SIGHUP.
// Errors before `ready` are returned with a message fit for the command line.
Status RunMount(const MountOptions& options, const std::function<void()>& ready);

// `path` as the kernel records a mount point: absolute, normalised, links resolved. Mount and umount name it so.
std::string MountPointPath(const std::string& path);

// Unmounts a scnfs mount, also one whose process was killed ("Transport endpoint is not connected"). `lazy`
// detaches a mount that is still in use (MNT_DETACH). Busy when files on it are open and not lazy.
Status Unmount(const std::string& mountpoint, bool lazy);

}  // namespace scnfs
