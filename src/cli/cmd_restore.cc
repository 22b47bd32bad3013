#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/store_option.h"
#include "scnfs/restore.h"

namespace scnfs::cli {

Runner AddRestore(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("restore",
                                 "Write a point in time as ordinary files with their owners, modes and times.\n"
                                 "SPEC: backup:ID, scn:N, time:ISO8601 (e.g. time:2026-11-22T14:30:00) or latest.\n"
                                 "The restore is on disk (synced) when the command returns.");
  struct Args {
    std::string db, at = "latest", dest;
    std::vector<std::string> only;
    int threads = 0;
    bool buffered = false;
  };
  auto a = std::make_shared<Args>();
  AddStoreOption(sub, g);
  sub->add_option("--db", a->db, "Database name")->required();
  sub->add_option("--at", a->at, "Point in time (default: latest)");
  sub->add_option("--threads", a->threads, "Worker threads (default: four per core, 4 to 16: a cold restore waits on\n"
                  "random reads of the store, one in flight per thread)")
      ->check(CLI::Range(1, 256));
  sub->add_flag("--buffered", a->buffered,
                "Write through the page cache (default: blocks go around it with O_DIRECT,\n"
                "so a large restore does not evict this host's cache). For NFS destinations,\n"
                "or to leave the restored files cached");
  sub->add_option("--file", a->only,
                  "Restore only this file or directory, as its path in the backup (e.g. users01.dbf,\n"
                  "base/16384); repeatable. DEST may then hold other files (the database's own\n"
                  "directory), but not these: a restore never overwrites")
      ->type_name("PATH")
      // One path per --file: with several, `--file F DEST --threads 1` took DEST for a second path (found 2026-11-30).
      ->allow_extra_args(false);
  sub->add_option("DEST", a->dest, "Destination directory (new or empty; see --file)")->required();
  return [a, &g] {
    auto store = OpenStore(g, Store::Mode::kReader, "restore");
    if (!store.ok()) return Fail(store.status());
    RestoreOptions o;
    o.db = a->db;
    o.at = a->at;
    o.dest = a->dest;
    o.only = a->only;
    o.threads = a->threads;
    o.direct_io = !a->buffered;
    o.cancel = &g_cancel;
    const bool tty = StderrIsTerminal();
    if (tty)
      o.progress = [](const RestoreProgress& p) {
        fmt::print(stderr, "\r  {:5.1f}%  {} of {}  {}   ", p.bytes_total ? 100.0 * p.bytes_done / p.bytes_total : 100.0,
                   HumanBytes(p.bytes_done), HumanBytes(p.bytes_total), Rate(p.bytes_done, p.seconds));
      };
    auto r = RestorePoint(store.value().get(), o);
    if (tty) fmt::print(stderr, "\r{:78}\r", "");
    if (!r.ok()) return Fail(r.status());
    // Links only when there are some: a restore of links alone said "0 files, 0 directories".
    const std::string links = r->symlinks == 0 ? "" : fmt::format(", {} symlink{}", r->symlinks, r->symlinks == 1 ? "" : "s");
    fmt::print("restored {} of '{}' into {}: {} file{}, {} director{}{}, {} in {:.2f} s ({})\n", r->point.Describe(),
               a->db, Shown(a->dest), r->files, r->files == 1 ? "" : "s", r->directories, r->directories == 1 ? "y" : "ies",
               links, HumanBytes(r->bytes), r->seconds, Rate(r->bytes, r->seconds));
    if (!r->warning.empty()) fmt::print(stderr, "scnfs: warning: {}\n", Shown(r->warning));
    return kExitOk;
  };
}

}  // namespace scnfs::cli
