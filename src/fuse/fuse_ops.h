// The libfuse low-level operations of the mount: thin shells that turn MountTree and CloneFs results into replies.
// Backup views refuse every change with EROFS; clone trees take them.
#pragma once

#define FUSE_USE_VERSION 314
#include <fuse3/fuse_lowlevel.h>

#include "fuse/mount_tree.h"

namespace scnfs {

struct FuseContext {
  MountTree* tree = nullptr;
  double dynamic_timeout = 1.0;  // seconds the kernel may trust names and attributes that change (db, backups/)
  unsigned readahead_kb = 4096;
  bool log_errors = false;       // foreground: errors other than ENOENT go to stderr
};

// The operation table; fuse_session_new's userdata must be a FuseContext*.
const fuse_lowlevel_ops& ReadOnlyOps();

}  // namespace scnfs
