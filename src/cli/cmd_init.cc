#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/store_option.h"

namespace scnfs::cli {

Runner AddInit(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("init", "Create a new, empty store (a directory that must be new or empty)");
  AddStoreOption(sub, g);
  return [&g] {
    if (g.store.empty()) return Fail(Status::InvalidArgument("no store given: use --store DIR or set SCNFS_STORE"));
    if (Status st = Store::Create(g.store); !st.ok()) return Fail(st);
    fmt::print("created store {} (format version {})\n", g.store, kStoreFormatVersion);
    return kExitOk;
  };
}

}  // namespace scnfs::cli
