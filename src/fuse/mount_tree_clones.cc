// MountTree: the writable clones under <db>/clones/, opened on first lookup and let go when `clone destroy` asks
// and none of their files is open (clone.h, ReleaseRequested).
#include <fmt/format.h>

#include "fuse/mount_tree.h"
#include "fuse/mount_tree_inodes.h"
#include "scnfs/clone.h"

namespace scnfs {

uint32_t MountTree::CloneSlotFor(uint32_t d, const std::string& name) {
  if (auto it = clone_by_key_.find(std::pair(d, name)); it != clone_by_key_.end()) return it->second;
  uint32_t c = uint32_t(clones_.size());
  std::unique_lock<std::shared_mutex> cl(clones_mu_);
  clones_.push_back(CloneSlot{d, name, nullptr});
  clone_by_key_.emplace(std::pair(d, name), c);
  return c;
}

Status MountTree::OpenCloneLocked(uint32_t c) {
  CloneSlot& slot = clones_[c];
  if (slot.fs) return Status::OK();
  // A clone being destroyed is not taken up again: the destroy waits for its lock.
  if (ReleaseRequested(store_->dir(), slot.name))
    return Status::NotFound(fmt::format("clone {} is being destroyed", slot.name));
  SCNFS_ASSIGN_OR_RETURN(CloneInfo info, ReadClone(store_->dir(), slot.name));
  if (info.db != dbs_[slot.db_slot].name) return Status::NotFound(fmt::format("clone {} is of another database", slot.name));
  PointSpec spec;
  spec.kind = PointSpec::Kind::kBackup;
  spec.number = info.base_backup;
  SCNFS_ASSIGN_OR_RETURN(uint32_t p, KeyedPointLocked(slot.db_slot, "clones/" + slot.name, spec));
  points_.at(p).fixed = PointSlot::Fixed{info.base_backup, info.scn, info.last_backup};
  SCNFS_ASSIGN_OR_RETURN(auto view, ViewLocked(p));
  auto fs = CloneFs::Open(CloneDir(store_->dir(), slot.name), view);
  if (!fs.ok()) {
    // Another mount serves it (Busy), or it is damaged: the view built for it joins the idle ones, so that it is
    // dropped and unpinned in turn instead of pinning its backup for the life of this mount.
    DropRefLocked(p, 0);
    return fs.status();
  }
  {
    std::unique_lock<std::shared_mutex> cl(clones_mu_);
    slot.fs = std::move(fs).value();
    slot.point = p;
  }
  points_.at(p).refs++;  // the clone reads its backup for as long as the mount serves it
  points_.at(p).parked = 0;
  return Status::OK();
}

void MountTree::ReleaseRequestedClones() {
  std::vector<std::shared_ptr<CloneFs>> released;  // closed after mu_ is let go (a clone's close syncs its metadata)
  std::vector<std::pair<uint64_t, std::string>> names;  // (clones/ directory, name) of each, for the kernel
  {
  std::lock_guard<std::mutex> l(mu_);
  for (uint32_t c = 0; c < clones_.size(); ++c) {
    CloneSlot& slot = clones_[c];
    if (!slot.fs || !ReleaseRequested(store_->dir(), slot.name)) continue;
    // An open file is a database or a tool still working in the clone: kept, and the destroy is told why.
    if (const size_t open = slot.fs->RetireIfIdle(); open > 0) {
      AnswerReleaseRequest(store_->dir(), slot.name,
                           fmt::format("{} of its files {} open through the mount", open, open == 1 ? "is" : "are"));
      continue;
    }
    {
      std::unique_lock<std::shared_mutex> cl(clones_mu_);
      released.push_back(std::move(slot.fs));
    }
    // The name gets a new slot, and new inode numbers, if a clone of that name is looked up again: the kernel may
    // still hold this one's, which now answer ESTALE.
    if (auto it = clone_by_key_.find(std::pair(slot.db_slot, slot.name)); it != clone_by_key_.end() && it->second == c)
      clone_by_key_.erase(it);
    if (PointSlot* ps = SlotLocked(slot.point)) {
      if (auto it = point_by_key_.find(std::pair(ps->db_slot, ps->key)); it != point_by_key_.end() && it->second == slot.point)
        point_by_key_.erase(it);
      ps->superseded = true;  // its view goes once nothing reads it: the clone's pin with it
      DropRefLocked(slot.point, 1);
    }
    names.emplace_back(DbIno(slot.db_slot, kClonesDir), slot.name);
  }
  }
  // Without mu_: the kernel may send requests of its own while it drops the name.
  if (options_.on_clone_released)
    for (const auto& [dir, name] : names) options_.on_clone_released(dir, name);
}

std::shared_ptr<CloneFs> MountTree::Clone(uint64_t ino, uint64_t* local) const {
  if (!IsCloneIno(ino)) return nullptr;
  // Not mu_: every read, write and fsync of a clone comes here, and mu_ is held across the store's catch-up with
  // a running backup (RefreshLocked), which took up to 0.3 s a second and stalled a database's clone I/O with it.
  std::shared_lock<std::shared_mutex> cl(clones_mu_);
  uint32_t c = CloneSlotOf(ino);
  if (c >= clones_.size()) return nullptr;
  *local = CloneLocal(ino);
  return clones_[c].fs;
}

}  // namespace scnfs
