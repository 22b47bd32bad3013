// MountTree: the pins of what a mount serves (docs/pins.md), which a prune reads and respects. A point is pinned
// while it has a view; FlushPins writes the changes, in the order they were made, outside mu_.
#include <chrono>

#include <fmt/format.h>

#include "fuse/mount_tree.h"

namespace scnfs {

void MountTree::PinLocked(const PointSlot& s) {
  if (pins_ == nullptr || !s.seed) return;
  std::optional<uint32_t> last;
  if (s.seed->point.scn) last = s.seed->last_complete;
  std::string what = PinWhatLocked(s);
  pins_wanted_.insert_or_assign(what, Pin{s.seed->db.name, s.seed->point.base.id, s.seed->point.scn, last, what});
  pins_to_remove_.erase(what);
  pins_to_add_.insert(std::move(what));
}

void MountTree::UnpinLocked(const PointSlot& s) {
  if (pins_ == nullptr) return;
  std::string what = PinWhatLocked(s);
  pins_wanted_.erase(what);
  pins_to_add_.erase(what);
  // Queued even when the last write did not have it: a write of its pin may be under way (FlushPins writes outside
  // mu_), and removing a name that is not pinned costs nothing.
  pins_to_remove_.insert(std::move(what));
}

// The point's path under the mount ("ORA/backups/3"): its key alone is one per database, and the pins of two
// databases' "backups/3" must not be taken for one.
std::string MountTree::PinWhatLocked(const PointSlot& s) const {
  return dbs_[s.db_slot].name + "/" + s.key + (s.generation > 0 ? fmt::format("#{}", s.generation) : "");
}

Status MountTree::FlushPins() {
  if (pins_ == nullptr) return Status::OK();
  // One writer at a time: a change is taken from the queues and written before the next is taken, so they land in
  // the order they were made.
  std::lock_guard<std::mutex> w(pins_write_mu_);
  std::vector<Pin> add;
  std::vector<std::string> remove;
  const auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard<std::mutex> l(mu_);
    // Removals wait for a second after the last write unless an addition goes anyway (then they ride along).
    const bool removals_due = !pins_to_remove_.empty() && now - pins_written_at_ >= std::chrono::seconds(1);
    if (pins_to_add_.empty() && !removals_due) return Status::OK();
    for (const auto& what : pins_to_add_) add.push_back(pins_wanted_.at(what));
    remove.assign(pins_to_remove_.begin(), pins_to_remove_.end());
    pins_to_add_.clear();
    pins_to_remove_.clear();
  }
  Status st = pins_->Change(add, remove);
  std::lock_guard<std::mutex> l(mu_);
  if (st.ok()) {
    for (const auto& what : remove) pinned_.erase(what);
    for (const auto& p : add) pinned_.insert(p.what);
    pins_written_at_ = now;
    return Status::OK();
  }
  // Not recorded (a full disk): queued again, unless what was asked since replaced it. Until a write succeeds,
  // Lookup serves no point that is not in pinned_.
  for (const auto& p : add)
    if (pins_wanted_.count(p.what) && !pins_to_remove_.count(p.what)) pins_to_add_.insert(p.what);
  for (const auto& what : remove)
    if (!pins_wanted_.count(what)) pins_to_remove_.insert(what);
  return st;
}

}  // namespace scnfs
