// scnfs clone create | list | destroy.
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/store_option.h"
#include "scnfs/clone.h"
#include "scnfs/catalog.h"
#include "util/clock.h"
#include "util/json_text.h"

namespace scnfs::cli {

Runner AddClone(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand(
      "clone",
      "Writable copy-on-write clones of a point in time, for opening and recovering a database directly on a\n"
      "backup (instant restore) or for validation. A clone appears in a mount at MOUNTPOINT/<db>/clones/<CLONE>/;\n"
      "its writes go to its own delta, the backup underneath never changes.");
  sub->require_subcommand(1);
  AddStoreOption(sub, g);
  struct Args {
    std::string db, at = "latest", name;
  };
  auto a = std::make_shared<Args>();
  auto* create = sub->add_subcommand("create", "Create a clone (no data is copied: it takes seconds whatever the size)");
  AddStoreOption(create, g);
  create->add_option("--db", a->db, "Database name")->required();
  create->add_option("--at", a->at, "Point in time: backup:ID, scn:N, time:ISO8601 or latest (default)");
  create->add_option("CLONE", a->name, "Name of the new clone (letters, digits, '.', '_', '-')")->required();
  auto* list = sub->add_subcommand("list", "List clones: database, point, size of their writes, in use");
  AddStoreOption(list, g);
  list->add_flag("--json", g.json, "JSON output");
  auto* destroy = sub->add_subcommand("destroy", "Delete a clone and return its space (refused while a mount serves it)");
  AddStoreOption(destroy, g);
  destroy->add_option("CLONE", a->name, "Clone name")->required();

  return [a, &g, create, list, destroy] {
    // Every clone command opens the store, also list and destroy, which only read STORE/clones: on a directory
    // that is no store they said "no clones" and exit 0 (found 2026-11-30).
    auto store = OpenStore(g, Store::Mode::kReader, "clone");
    if (!store.ok()) return Fail(store.status());
    if (create->parsed()) {
      Stopwatch sw;
      auto c = CreateClone(store.value().get(), a->db, a->at, a->name);
      if (!c.ok()) return Fail(c.status());
      fmt::print("created clone '{}' of '{}' at {} (backup {}{}) in {:.2f} s; mount the store to use it at "
                 "MOUNTPOINT/{}/clones/{}/\n",
                 c->name, c->db, c->spec, c->base_backup, c->scn ? fmt::format(", SCN {}", *c->scn) : "", sw.Seconds(),
                 c->db, c->name);
      if (!c->warning.empty()) fmt::print(stderr, "scnfs: warning: {}\n", Shown(c->warning));
      return kExitOk;
    }
    if (list->parsed()) {
      auto clones = ListClones(g.store);
      if (!clones.ok()) return Fail(clones.status());
      // A damaged clone is listed (it takes space and pins its point) and fails the command: scripts see exit 1.
      const CloneInfo* damaged = nullptr;
      for (const auto& c : clones.value())
        if (!c.damaged.empty() && !damaged) damaged = &c;
      const auto finish = [&] {
        if (!damaged) return kExitOk;
        return Fail(Status::Corruption(fmt::format("{}; 'scnfs clone destroy --store {} {}' removes it", damaged->damaged,
                                                   g.store, damaged->name)));
      };
      if (g.json) {
        nlohmann::json out = nlohmann::json::array();
        for (const auto& c : clones.value()) {
          // The same fields for every clone: a damaged one has null where its record would speak.
          const bool ok = c.damaged.empty();
          const auto known = [ok](nlohmann::json v) { return ok ? v : nlohmann::json(nullptr); };
          nlohmann::json j{{"name", c.name},
                           {"database", known(c.db)},
                           {"spec", known(c.spec)},
                           {"base_backup", known(c.base_backup)},
                           {"scn", ok && c.scn ? nlohmann::json(*c.scn) : nlohmann::json(nullptr)},
                           {"created", known(FormatIso8601(c.created_us))},
                           {"delta_bytes", c.delta_bytes},
                           {"in_use_pid", c.in_use_pid},
                           {"damaged", ok ? nlohmann::json(nullptr) : nlohmann::json(c.damaged)}};
          out.push_back(std::move(j));
        }
        fmt::print("{}\n", JsonText(out, 2));
        return finish();
      }
      if (clones->empty()) {
        fmt::print("no clones\n");
        return kExitOk;
      }
      fmt::print("{:<20} {:<12} {:<28} {:>7} {:>10}  {:<25} {}\n", "CLONE", "DATABASE", "POINT", "BACKUP", "WRITTEN", "CREATED", "IN USE");
      for (const auto& c : clones.value()) {
        const std::string in_use = c.in_use_pid ? fmt::format("mount pid {}", c.in_use_pid) : "-";
        if (!c.damaged.empty())
          fmt::print("{:<20} {:<12} {:<28} {:>7} {:>10}  {:<25} {}\n", c.name, "?", "DAMAGED (see below)", "?",
                     HumanBytes(c.delta_bytes), "?", in_use);
        else
          // A clone stays on the point it was made from: "latest" alone read as if it followed new backups.
          fmt::print("{:<20} {:<12} {:<28} {:>7} {:>10}  {:<25} {}\n", c.name, c.db,
                     c.spec == "latest" ? std::string("latest when made") : c.spec, c.base_backup,
                     HumanBytes(c.delta_bytes), FormatIso8601(c.created_us), in_use);
      }
      return finish();
    }
    if (destroy->parsed()) {
      // A clone whose record is damaged can be destroyed too: that is how the DBA gets rid of it.
      auto returned = DestroyClone(g.store, a->name);
      if (!returned.ok()) return Fail(returned.status());
      fmt::print("destroyed clone '{}' ({} returned)\n", a->name, HumanBytes(returned.value()));
      return kExitOk;
    }
    return kExitFailure;
  };
}

}  // namespace scnfs::cli
