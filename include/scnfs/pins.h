// Pins: the points in time that a live process (a mount, later a clone) is serving, so that a prune keeps every
// block version they need. docs/pins.md specifies the files and the rules a prune follows.
//
//   STORE/pins/<holder>.lock   flock()ed by the holder for as long as it lives; the kernel drops the lock when the
//                              process dies, however it dies, so a killed mount never pins forever
//   STORE/pins/<holder>.pins   the holder's pins as a log of JSON lines: a header line, then one line per pin added
//                              or removed, appended by one write() per change, so that a new pin costs the same
//                              however many there are (the whole set rewritten per pin made 2,000 lookups O(N^2)).
//                              Rewritten to one line per live pin (through .tmp and rename) once it holds more than
//                              2 * live pins + 1024 lines, so it stays bounded by the live pins
//   STORE/pins/<holder>.reserve  1 MiB set aside at creation, removed when a pin write finds the disk full, so that
//                              pins can still be written (and points served) once the disk has filled
//
// A change that fails leaves the file as it was (a partial append is cut off again), and a reader ignores a last line
// without its "\n" (a change still being written, not yet answered to anyone).
//
// Thread-safety: PinHolder is safe to call from many threads. ListPins may run in any process at any time.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
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

inline constexpr off_t kPinReserveBytes = 1 << 20;  // room for ~10,000 pin lines
// The log is rewritten once it holds more lines than 2 * live pins + this: a rewrite of L live pins follows more than
// (L + 1024) / 2 appended lines, so a change costs O(1) amortised, and a mount with few pins rewrites rarely.
inline constexpr size_t kPinLogSlackLines = 1024;

class PinHolder {
 public:
  // Creates STORE/pins/ if needed, takes the holder's lock and writes the log's header (no pins).
  static Result<std::unique_ptr<PinHolder>> Create(const std::string& store_dir, const std::string& description);
  // Removes the holder's files and drops the lock.
  ~PinHolder();
  PinHolder(const PinHolder&) = delete;
  PinHolder& operator=(const PinHolder&) = delete;

  // Records one change: `add` (a pin replaces an earlier one with the same `what`) and `remove` (by `what`; names not
  // pinned are ignored). On disk (visible to ListPins in any process) when it returns OK. On failure nothing of it is
  // recorded (the file reads as before) and the caller retries it later.
  // `remove` is applied before `add`: a name in both stays pinned, with the pin in `add`. Of two pins in `add` with
  // the same `what`, the later one wins. What changes nothing (a pin equal to the one recorded, a name not pinned)
  // writes nothing; a change of nothing returns OK without a write.
  Status Change(const std::vector<Pin>& add, const std::vector<std::string>& remove);
  const std::string& holder() const { return header_.holder; }

 private:
  PinHolder() = default;
  Status AppendLocked(const std::string& lines);
  // Writes the header and a line per live pin to <holder>.pins.tmp, renames it over the log and reopens it.
  Status RewriteLocked();
  void CompactIfDueLocked();
  std::string LogPath() const;

  std::mutex mu_;
  std::string dir_;
  int lock_fd_ = -1;
  PinSet header_;                         // holder, pid, description, since_us; its `pins` stay empty
  // The pins the log holds, in the order first added, and by `what`: a change costs O(its size), not O(live).
  std::list<Pin> live_;
  std::unordered_map<std::string, std::list<Pin>::iterator> by_what_;
  int log_fd_ = -1;                       // O_APPEND; -1 after a rewrite that could not reopen it (reopened first)
  off_t log_bytes_ = 0;                   // the log's size without the change being written: a failed one is cut here
  bool cut_pending_ = false;              // a failed change's bytes are still there (ftruncate failed): cut them first
  size_t log_lines_ = 0;                  // header included
  size_t rewrite_not_before_lines_ = 0;   // after a failed rewrite (a full disk), not retried at every change
  bool reserved_ = false;  // <holder>.reserve holds kPinReserveBytes, given up when a write finds the disk full
};

// Every live holder's pins, and one pin set per clone ("clone-<name>", pid 0: a clone pins its point for as long as
// it exists). Pin files whose holder died are removed on the way (their lock is free). Fails closed: Corruption
// (or IOError) if a live holder's pin file or a clone's clone.json exists but cannot be read, since a prune that
// took it for "no pin" would delete what is served; files that vanish meanwhile (holder ended, clone destroyed) are
// skipped. A holder's log is replayed line by line; its last line without "\n" is a change still being written and is
// ignored. A live holder's <holder>.json, written by earlier builds (the whole set in one object), is read as before.
Result<std::vector<PinSet>> ListPins(const std::string& store_dir);

}  // namespace scnfs
