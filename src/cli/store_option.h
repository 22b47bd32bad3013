// --store DIR (or SCNFS_STORE) for every subcommand, and --json where scripts read the output.
#pragma once

#include <cstdlib>

#include "cli/cli.h"
#include "scnfs/store.h"

namespace scnfs::cli {

inline void AddStoreOption(CLI::App* sub, Globals& g) {
  sub->add_option("--store", g.store, "Store directory (default: $SCNFS_STORE)")->envname("SCNFS_STORE");
}

inline Result<std::unique_ptr<Store>> OpenStore(const Globals& g, Store::Mode mode, const std::string& activity) {
  if (g.store.empty()) return Status::InvalidArgument("no store given: use --store DIR or set SCNFS_STORE");
  StoreOptions o;
  o.writer_activity = activity;
  // Readers (restore, verify, list) look up index and filter blocks of the whole content column family.
  if (mode == Store::Mode::kReader) o.block_cache_bytes = 256u << 20;
  return Store::Open(g.store, mode, o);
}

}  // namespace scnfs::cli
