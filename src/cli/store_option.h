// --store DIR (or SCNFS_STORE) for every subcommand, and --json where scripts read the output.
#pragma once

#include <cstdio>
#include <cstdlib>

#include "cli/cli.h"
#include "scnfs/store.h"

namespace scnfs::cli {

// SCNFS_STORE is applied in main() once parsing is done, and only when no --store was given: CLI11's envname()
// on the options that several subcommands bind to g.store let the variable overwrite an explicit --store (a backup
// went into the store named in the DBA's profile, not the one on the command line).
inline void AddStoreOption(CLI::App* sub, Globals& g) {
  sub->add_option("--store", g.store, "Store directory (default: $SCNFS_STORE)");
}

// `wait`: a writer queues behind another writer (printing who it waits for) instead of failing.
inline Result<std::unique_ptr<Store>> OpenStore(const Globals& g, Store::Mode mode, const std::string& activity,
                                                bool wait = false) {
  if (g.store.empty()) return Status::InvalidArgument("no store given: use --store DIR or set SCNFS_STORE");
  StoreOptions o;
  o.writer_activity = activity;
  o.wait_for_writer = wait;
  o.on_wait = [](const std::string& other) {
    std::fprintf(stderr, "scnfs: waiting for the store's current writer (%s) to finish\n", other.c_str());
  };
  o.cancelled = [] { return g_cancel.load(); };
  // Readers (restore, verify, list) look up index and filter blocks of the whole content column family.
  if (mode == Store::Mode::kReader) o.block_cache_bytes = 256u << 20;
  return Store::Open(g.store, mode, o);
}

}  // namespace scnfs::cli
