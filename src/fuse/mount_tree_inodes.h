// The inode numbers of a mount's tree (the table in mount_tree.h), shared by the MountTree sources only.
#pragma once

#include <cstdint>

#include "fuse/mount_tree.h"

namespace scnfs {

// In an unnamed namespace: short names (kLatest) that only these sources should see, not all of scnfs::.
namespace {  // NOLINT(google-build-namespaces): included only by mount_tree*.cc
inline constexpr uint64_t kDbBase = 16;
inline constexpr uint32_t kLocalDir = 0, kLocalInfo = 1, kLocalFirstEntry = 2;
enum DbK { kDbDir = 0, kBackupsDir = 1, kAtDir = 2, kLatest = 3, kClonesDir = 4 };
inline constexpr uint64_t kDbStride = 8;
}  // namespace

struct MountTree::Decoded {
  enum Kind { kInvalid, kRoot, kDb, kPoint, kClone } kind = kInvalid;
  uint32_t slot = 0;   // database or point slot
  uint32_t local = 0;  // DbK, or the point's local number
  static Decoded Of(uint64_t ino) {
    Decoded d;
    if (ino == kRootIno) {
      d.kind = kRoot;
    } else if (MountTree::IsCloneIno(ino)) {
      d.kind = kClone;
      d.slot = CloneSlotOf(ino);
      d.local = 0;
    } else if (ino >= (uint64_t(1) << 32)) {
      d.kind = kPoint;
      d.slot = uint32_t((ino >> 32) - 1);
      d.local = uint32_t(ino);
    } else if (ino >= kDbBase) {
      d.kind = kDb;
      d.slot = uint32_t((ino - kDbBase) / kDbStride);
      d.local = uint32_t((ino - kDbBase) % kDbStride);
    }
    return d;
  }
};

}  // namespace scnfs
