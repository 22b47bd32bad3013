// Pins: the points in time that a live process (a mount, later a clone) is serving, so that a prune keeps every
// block version they need. docs/pins.md specifies the files and the rules a prune follows.
//
//   STORE/pins/<holder>.lock   flock()ed by the holder for as long as it lives; the kernel drops the lock when the
//                              process dies, however it dies, so a killed mount never pins forever
//   STORE/pins/<holder>.json   the holder's pins, replaced atomically (write + rename) on every change
//   STORE/pins/<holder>.reserve  1 MiB set aside at creation, removed when a pin write finds the disk full, so that
//                              pins can still be written (and points served) once the disk has filled
//
// Thread-safety: PinHolder is safe to call from many threads. ListPins may run in any process at any time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "scnfs/status.h"

namespace scnfs {

struct Pin {
  std::string db;                 // database name
  uint32_t backup = 0;            // the base backup: its file set and every version it reads are needed
  std::optional<uint64_t> scn;    // for scn: points, versions are read at this change number
  // For scn: points: versions written by backups after this one are not read (a later hot backup may hold blocks
  // changed at or below the SCN; what is served was resolved without them).
  std::optional<uint32_t> last_backup;
  std::string what;               // what is served, for people: "ORA/backups/3", "ORA/at/scn:1200" (one per pin set)
  bool operator==(const Pin&) const = default;
};

struct PinSet {
  std::string holder;             // "mount-<pid>-<n>-<random hex>"
  int pid = 0;
  std::string description;        // "mount /mnt/scnfs"
  int64_t since_us = 0;
  std::vector<Pin> pins;
};

inline constexpr off_t kPinReserveBytes = 1 << 20;  // room for ~10,000 pins

class PinHolder {
 public:
  // Creates STORE/pins/ if needed, takes the holder's lock and writes an empty pin set.
  static Result<std::unique_ptr<PinHolder>> Create(const std::string& store_dir, const std::string& description);
  // Removes the holder's files and drops the lock.
  ~PinHolder();

  // Replaces the holder's pins (durable when it returns: a prune that starts afterwards sees them).
  Status Set(std::vector<Pin> pins);
  const std::string& holder() const { return set_.holder; }

 private:
  PinHolder() = default;
  Status WriteLocked();
  std::mutex mu_;
  std::string dir_;
  int lock_fd_ = -1;
  PinSet set_;
  bool written_ = true;  // the file holds set_ (false after a failed write: the next Set writes, even if equal)
  bool reserved_ = false;  // <holder>.reserve holds kPinReserveBytes, given up when a write finds the disk full
};

// Every live holder's pins, and one pin set per clone ("clone-<name>", pid 0: a clone pins its point for as long as
// it exists). Pin files whose holder died are removed on the way (their lock is free). Fails closed: Corruption
// (or IOError) if a live holder's pin file or a clone's clone.json exists but cannot be read, since a prune that
// took it for "no pin" would delete what is served; files that vanish meanwhile (holder ended, clone destroyed) are
// skipped.
Result<std::vector<PinSet>> ListPins(const std::string& store_dir);

}  // namespace scnfs
