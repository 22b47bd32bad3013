#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <map>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/store_option.h"
#include "scnfs/backup.h"
#include "scnfs/catalog.h"
#include "util/clock.h"
#include "util/host_name.h"
#include "util/json_text.h"

namespace scnfs::cli {
namespace {

double Ratio(uint64_t a, uint64_t b) { return b ? double(a) / double(b) : 0.0; }

// A ratio in the 7 characters of its column: one decimal while it helps ("2.4x"), whole numbers above 100, and a
// bound above 99,999 (an incremental that stored one block of a terabyte read 629146.6x and pushed the row apart).
std::string RatioText(double r) {
  if (r < 100) return fmt::format("{:.1f}x", r);
  if (r < 99999.5) return fmt::format("{:.0f}x", r);
  return ">99999x";
}

// `list --files`: the file set of one point, as RMAN's LIST BACKUP ... shows a backup's datafiles: what each file is,
// how the backup read it, its highest change number, its corrupt blocks and, for Oracle, its header facts.
int ListFiles(Store* store, const std::string& db_name, const std::string& at, bool json) {
  Catalog cat(store);
  auto db = cat.GetDatabase(db_name);
  if (!db.ok()) return Fail(db.status());
  auto backups = cat.ListBackups(db->id);
  if (!backups.ok()) return Fail(backups.status());
  auto spec = ParsePointSpec(at);
  if (!spec.ok()) return Fail(spec.status());
  auto point = ResolvePoint(db.value(), backups.value(), spec.value());
  if (!point.ok()) return Fail(point.status());
  auto files = cat.ListFiles(point->base);
  if (!files.ok()) return Fail(files.status());
  const FormatId format = db->format;
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& f : files.value()) out.push_back(f);
    fmt::print("{}\n", JsonText(nlohmann::json{{"database", db_name}, {"point", point->Describe()},
                                                {"backup", point->base.id}, {"files", out}}, 2));
    return kExitOk;
  }
  const std::string_view cname = ChangeNumberName(format);
  const uint64_t nf = point->base.files, nd = point->base.directories;
  fmt::print("{} of '{}' ({} backup, {}): {} file{}, {} director{}\n", point->Describe(), db_name, point->base.kind,
             BackupStateName(point->base.state), nf, nf == 1 ? "" : "s", nd, nd == 1 ? "y" : "ies");
  fmt::print("  {:<40} {:>10} {:<14} {:>14} {:>7}{}\n", "PATH", "SIZE", "READ", fmt::format("HIGHEST {}", cname),
             "CORRUPT", format == FormatId::kOracle ? "  FILE# TABLESPACE      CHECKPOINT SCN" : "");
  for (const auto& f : files.value()) {
    if (f.type == "dir") continue;
    if (f.type == "symlink") {
      fmt::print("  {:<40} -> {}\n", Shown(f.path), Shown(f.target));
      continue;
    }
    std::string oracle;
    if (format == FormatId::kOracle && f.header.is_object()) {
      const auto& h = f.header;
      if (h.value("header_damaged", false))
        oracle = "  header damaged (salvaged)";
      else if (h.contains("file_number"))  // with checkpoint_scn, as numbers (the record's decoding checks)
        oracle = fmt::format("  {:>5} {:<15} {}", h["file_number"].get<uint64_t>(), h.value("tablespace", std::string()),
                             h["checkpoint_scn"].get<uint64_t>());
    }
    fmt::print("  {:<40} {:>10} {:<14} {:>14} {:>7}{}\n", Shown(f.path), HumanBytes(f.size), f.read.empty() ? "-" : f.read,
               f.max_change ? ChangeNumberText(format, f.max_change) : "-", f.corrupt_blocks, oracle);
  }
  return kExitOk;
}

// --last N: digits only, not all zeros. CLI::PositiveNumber's own message printed DBL_MAX in full (390 characters).
std::string WholeNumberOfBackups(const std::string& v) {
  const bool digits = !v.empty() && v.find_first_not_of("0123456789") == std::string::npos;
  return digits && v.find_first_not_of('0') != std::string::npos ? std::string() : "needs a whole number of backups, 1 or more";
}

// Why a backup recorded as running is listed as interrupted (its process is gone from this host).
std::string InterruptedReason(const BackupRecord& b) {
  return fmt::format("the process that ran it (pid {}{}) is gone; it is never served, and the next backup marks it failed",
                     b.pid, b.host.empty() ? "" : " on " + b.host);
}

// Why a backup recorded as running failed, as its process noted in the store's lock file when it could not record
// it (a full disk): the next writer records it so. Empty when its process noted nothing (it was killed).
std::string NotedFailure(const BackupRecord& b, const std::vector<Store::WriterFailure>& noted) {
  for (const auto& f : noted)
    if (f.pid == int64_t(b.pid))
      return fmt::format("{} (the process that ran it, pid {}, could not record this and noted it in the store's lock "
                         "file; the next backup records it)", f.reason, b.pid);
  return "";
}

}  // namespace

Runner AddList(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("list", "List databases and their backups (id, kind, times, SCN range, sizes)");
  auto db = std::make_shared<std::string>();
  auto at = std::make_shared<std::string>("latest");
  auto files = std::make_shared<bool>(false);
  auto last = std::make_shared<size_t>(0);
  AddStoreOption(sub, g);
  auto* db_opt = sub->add_option("--db", *db, "Only this database");
  auto* files_opt = sub->add_flag("--files", *files,
                                  "List the files of one point of --db instead: path, size, how the backup read it,\n"
                                  "highest SCN/LSN, corrupt blocks; Oracle adds FILE#, tablespace, checkpoint SCN")
                        ->needs(db_opt);
  sub->add_option("--at", *at, "With --files: the point, backup:ID, scn:N, time:ISO8601 or latest (default)")
      ->needs(files_opt);
  sub->add_option("--last", *last, "Only the newest N backups of each database (the totals still count them all)")
      ->check(CLI::Validator(WholeNumberOfBackups, "N"))
      ->excludes(files_opt);
  sub->add_flag("--json", g.json, "Machine-readable output (fields: docs/cli.md)");
  return [db, at, files, last, &g] {
    auto store = OpenStore(g, Store::Mode::kReader, "list");
    if (!store.ok()) return Fail(store.status());
    if (*files) return ListFiles(store.value().get(), *db, *at, g.json);
    Catalog cat(store.value().get());
    std::vector<DatabaseRecord> dbs;
    if (!db->empty()) {
      auto d = cat.GetDatabase(*db);
      if (!d.ok()) return Fail(d.status());
      dbs.push_back(d.value());
    } else {
      auto all = cat.ListDatabases();
      if (!all.ok()) return Fail(all.status());
      dbs = all.value();
    }
    if (dbs.empty() && !g.json)  // said nothing at all, as if the command had not run
      fmt::print("store {} holds no database yet; the first backup of one creates it: scnfs backup --store {} --db NAME SOURCE...\n",
                 store.value()->dir(), store.value()->dir());
    std::vector<std::vector<BackupRecord>> all_backups;
    std::set<std::pair<uint32_t, uint32_t>> running;  // as first read
    for (const auto& d : dbs) {
      auto backups = cat.ListBackups(d.id);
      if (!backups.ok()) return Fail(backups.status());
      for (const auto& b : backups.value())
        if (b.state == BackupState::kRunning) running.emplace(b.db, b.id);
      all_backups.push_back(std::move(backups).value());
    }
    // A backup recorded as running whose writer is gone was interrupted (kill -9, a crash, the OOM killer): it showed
    // "running" until the next backup marked it failed, days later for a monthly job (found 2026-11-30). Seen after
    // the catalog was read, the writer's lock is free; read again, a backup that ended meanwhile is no longer running,
    // so what still is was interrupted. Unless its process noted why it failed (a backup that failed at commit on a
    // full disk was listed as interrupted, "the process is gone": review, 2026-12-02): then it is listed as failed,
    // with that reason. What such a record is listed as: its state and the reason, printed and in `error`.
    struct ListedAs {
      std::string state, reason;
    };
    std::map<std::pair<uint32_t, uint32_t>, ListedAs> gone;
    // And its process is gone from this host: a backup another host runs on a shared store holds its lock in that
    // host's kernel, not in this one's table (nor does a process of another PID namespace show there).
    const std::string host = HostName();
    const auto process_gone = [&](const BackupRecord& b) {
      return b.pid > 0 && b.host == host && ::kill(b.pid, 0) != 0 && errno == ESRCH;
    };
    if (!running.empty() && Store::WriterActive(store.value()->dir()) == false) {
      if (Status st = store.value()->Refresh(); !st.ok()) return Fail(st);
      for (size_t i = 0; i < dbs.size(); ++i) {
        auto again = cat.ListBackups(dbs[i].id);
        if (!again.ok()) return Fail(again.status());
        all_backups[i] = std::move(again).value();
        for (const auto& b : all_backups[i])
          if (b.state == BackupState::kRunning && running.count({b.db, b.id}) && process_gone(b))
            gone[{b.db, b.id}] = {};
      }
      if (!gone.empty()) {
        const auto noted = Store::NotedWriterFailures(store.value()->dir());
        for (const auto& backups : all_backups)
          for (const auto& b : backups)
            if (auto it = gone.find({b.db, b.id}); it != gone.end()) {
              std::string why = NotedFailure(b, noted);
              it->second = why.empty() ? ListedAs{"interrupted", InterruptedReason(b)}
                                       : ListedAs{std::string(BackupStateName(BackupState::kFailed)), std::move(why)};
            }
      }
    }
    const auto listed_as = [&](const BackupRecord& b) -> const ListedAs* {
      auto it = gone.find({b.db, b.id});
      return it == gone.end() ? nullptr : &it->second;
    };
    const auto state_name = [&](const BackupRecord& b) {
      const ListedAs* as = listed_as(b);
      return as ? as->state : std::string(BackupStateName(b.state));
    };
    nlohmann::json out = nlohmann::json::array();
    const int64_t now_us = NowMicros();
    for (size_t i = 0; i < dbs.size(); ++i) {
      const DatabaseRecord& d = dbs[i];
      const std::vector<BackupRecord>& every = all_backups[i];
      // --last: a database backed up nightly for a year listed 365 lines; the newest are what a DBA looks for.
      const size_t skip = *last != 0 && every.size() > *last ? every.size() - *last : 0;
      const Result<std::vector<BackupRecord>> backups = std::vector<BackupRecord>(every.begin() + ptrdiff_t(skip), every.end());
      uint64_t stored = 0;
      for (const auto& b : every) stored += b.new_bytes_stored;
      const BackupRecord* newest = NewestComplete(every);
      if (g.json) {
        nlohmann::json jb = nlohmann::json::array();
        for (auto b : backups.value()) {
          if (Status s = cat.LoadSources(&b); !s.ok()) return Fail(s);
          nlohmann::json j = b;
          j["format"] = FormatName(d.format);  // as backup --json has it (docs/cli.md)
          j["state"] = state_name(b);
          if (const ListedAs* as = listed_as(b))  // the reason the text view prints (docs/cli.md: "with the reason in error")
            j["error"] = as->reason;
          j["start"] = FormatIso8601(b.start_us);
          j["end"] = b.end_us ? FormatIso8601(b.end_us) : "";
          j["dedup_ratio"] = Ratio(b.logical_bytes, b.new_bytes_raw);
          j["compression_ratio"] = Ratio(b.new_bytes_raw, b.new_bytes_stored);
          jb.push_back(j);
        }
        nlohmann::json db = {{"name", d.name}, {"id", d.id}, {"format", FormatName(d.format)},
                             {"created", FormatIso8601(d.created_us)}, {"stored_bytes", stored},
                             {"backup_count", every.size()}, {"newest_complete_backup", nullptr},
                             {"newest_complete_age_seconds", nullptr}, {"backups", jb}};
        if (newest) {
          db["newest_complete_backup"] = newest->id;
          db["newest_complete_age_seconds"] = (now_us - newest->end_us) / 1000000;
        }
        out.push_back(std::move(db));
        continue;
      }
      // How old the newest restorable point is: with dozens of databases, the one whose nightly backup has been
      // failing for a week should show in the line a DBA reads first, not only in its rows (--last 1 hid them).
      fmt::print("database {} ({}), {} backup(s){}, {} stored, {}\n", d.name, FormatName(d.format), every.size(),
                 skip ? fmt::format(", the newest {} shown", backups.value().size()) : std::string(),
                 HumanBytes(stored),
                 newest ? fmt::format("newest complete: backup {}, ended {}", newest->id,
                                      HumanAge((now_us - newest->end_us) / 1000000))
                        : std::string("NO complete backup"));
      fmt::print("  {:>4} {:<12} {:<11} {:<25} {:<25} {:>8} {:>24} {:>6} {:>10} {:>10} {:>7} {:>6}\n", "ID", "KIND", "STATE",
                 "START", "END", "SECONDS", fmt::format("{} RANGE", ChangeNumberName(d.format)), "FILES", "LOGICAL", "STORED", "DEDUP", "COMPR");
      for (const auto& b : backups.value()) {
        const auto cn = [&](uint64_t c) { return ChangeNumberText(d.format, c); };
        // From the checkpoint to the highest block when blocks are newer than it (a hot backup: recovery must run
        // past them); the checkpoint alone when none is (a cold one, consistent there). "C-M" with M below C read
        // as a range running backwards.
        // A hot PostgreSQL backup's end is where the WAL was once it was read, a stopped standby's its minimum recovery
        // point (min_recovery_lsn), past its pages' LSNs.
        const bool ckpt = b.checkpoint_change != 0;
        const uint64_t top = std::max(b.max_change, b.min_recovery_lsn);
        std::string range = ckpt && top > b.checkpoint_change ? fmt::format("{}-{}", cn(b.checkpoint_change), cn(top))
                            : ckpt                                     ? cn(b.checkpoint_change)
                            : b.max_change                             ? fmt::format("-{}", cn(b.max_change))
                                                                       : "-";
        // Ratios of what the backup stored: a backup that stored nothing new has none ("-", not 0.0x).
        const bool stored_any = b.new_bytes_raw > 0;
        // The end in full: pasted into --at time:, it selects this backup (docs/points-in-time.md).
        const std::string start = FormatIso8601(b.start_us);
        const std::string end = b.end_us ? FormatIso8601(b.end_us) : "-";
        fmt::print("  {:>4} {:<12} {:<11} {:<25} {:<25} {:>8.1f} {:>24} {:>6} {:>10} {:>10} {:>7} {:>6}\n", b.id,
                   b.kind + (b.changed_blocks ? "*" : ""), state_name(b), start, end,
                   b.end_us ? double(b.end_us - b.start_us) / 1e6 : 0.0, range, b.files, HumanBytes(b.logical_bytes),
                   HumanBytes(b.new_bytes_stored),
                   // A failed backup records no file set (logical 0): it has no dedup ratio either.
                   stored_any && b.logical_bytes > 0 ? RatioText(Ratio(b.logical_bytes, b.new_bytes_raw)) : "-",
                   stored_any ? RatioText(Ratio(b.new_bytes_raw, b.new_bytes_stored)) : "-");
        if (b.corrupt_blocks)
          fmt::print("       {} corrupt block(s), stored as read (scnfs verify --db {} --at backup:{} names them)\n",
                     b.corrupt_blocks, d.name, b.id);
        if (b.state == BackupState::kFailed && !b.error.empty()) fmt::print("       failed: {}\n", Shown(b.error));
        if (const ListedAs* as = listed_as(b)) fmt::print("       {}: {}\n", as->state, Shown(as->reason));
        if (b.went_back_blocks)
          fmt::print("       {} went back in {} block(s), from {} to {}: scn: serves {} and later\n",
                     ChangeNumberName(d.format), b.went_back_blocks, cn(b.went_back_from), cn(b.went_back_to),
                     cn(ScnServedFrom(d.format, every, b)));
        if (b.hot && b.state == BackupState::kComplete) fmt::print("       hot: {}\n", HotBackupNote(b));
        if (!b.new_incarnation.empty())
          fmt::print("       new incarnation, {}: scn: serves {} and later\n", Shown(b.new_incarnation), cn(ScnServedFrom(d.format, every, b)));
      }
      if (std::any_of(backups->begin(), backups->end(), [](const BackupRecord& b) { return b.changed_blocks; }))
        fmt::print("  (incremental*: read only the blocks a --changed-blocks list named)\n");
    }
    if (g.json) fmt::print("{}\n", JsonText(out, 2));
    return kExitOk;
  };
}

}  // namespace scnfs::cli
