#include <atomic>
#include <chrono>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/cli.h"
#include "cli/store_option.h"
#include "scnfs/backup.h"
#include "util/json_text.h"
#include "util/ticker.h"

namespace scnfs::cli {
namespace {

struct BackupArgs {
  std::string db, format, changed_blocks, pg_connect, pg_checkpoint = "spread";
  bool no_wait = false;
  std::vector<std::string> sources;
  uint32_t block_size = 8192;
  int threads = 0;
};

void PrintReport(const BackupReport& r, const std::string& db, bool json) {
  const auto& b = r.record;
  if (json) {
    nlohmann::json bad = nlohmann::json::array();
    for (const auto& x : r.bad_blocks)
      bad.push_back({{"path", x.path}, {"block", x.block}, {"kind", BlockKindName(x.kind)}, {"change", x.change}});
    nlohmann::json j = b;
    j["database"] = db;
    j["format"] = FormatName(r.format);
    j["seconds"] = r.seconds;
    j["compaction_seconds"] = r.compaction_seconds;
    if (!r.warning.empty()) j["warning"] = r.warning;
    j["mb_per_s"] = r.seconds > 0 ? double(b.bytes_read) / 1e6 / r.seconds : 0.0;
    j["bad_blocks"] = bad;
    nlohmann::json shorts = nlohmann::json::array();
    for (const auto& f : r.short_datafiles)
      shorts.push_back({{"path", f.path}, {"blocks", f.blocks}, {"header_blocks", f.header_blocks}});
    j["short_datafiles"] = shorts;
    j["notes"] = r.notes;
    fmt::print("{}\n", JsonText(j, 2));
    return;
  }
  fmt::print("backup {} of '{}' complete ({}{})\n", b.id, db, b.kind,
             b.changed_blocks ? ", changed blocks only" : "");
  fmt::print("  files {}  read {} in {} blocks  changed blocks {}  all-zero {}\n", b.files, HumanBytes(b.bytes_read),
             b.blocks_read, b.blocks_changed, b.zero_blocks);
  // A first backup's figure holds its dictionaries: "new content 0 B stored as 112.0 KiB" read as a mistake.
  fmt::print("  new content {} ({} blocks) stored as {}{}\n", HumanBytes(b.new_bytes_raw), b.new_contents,
             HumanBytes(b.new_bytes_stored),
             r.dictionary_bytes ? fmt::format(" (of it, compression dictionaries {})", HumanBytes(r.dictionary_bytes))
                                : std::string());
  const std::string_view cname = ChangeNumberName(r.format);
  const auto cn = [&](uint64_t c) { return ChangeNumberText(r.format, c); };
  if (b.max_change)
    // Oracle's is the lowest of the datafile headers' (docs/cli.md): "checkpoint SCN 1000" read as the database's.
    fmt::print("  {}checkpoint {} {}  highest block {} {}\n", r.format == FormatId::kOracle ? "lowest datafile " : "",
               cname, cn(b.checkpoint_change), cname, cn(b.max_change));
  fmt::print("  elapsed {:.2f} s  {}", r.seconds, Rate(b.bytes_read, r.seconds));
  if (r.compaction_seconds >= 0.05) fmt::print("  (of it, store compaction after the commit {:.2f} s)", r.compaction_seconds);
  fmt::print("\n");
  if (!r.warning.empty()) fmt::print(stderr, "scnfs: warning: {}\n", Shown(r.warning));
  if (b.went_back_blocks)
    fmt::print("  NOTE: the {} of {} block(s) went back, from {} to {} (a point-in-time recovery, RESETLOGS or an "
               "older copy of a datafile): scn: points below {} are ambiguous from now on and refused; backup:N and "
               "time: reach every backup\n",
               cname, b.went_back_blocks, cn(b.went_back_from), cn(b.went_back_to), cn(r.scn_served_from));
  for (const auto& n : r.notes) fmt::print("  NOTE: {}\n", Shown(n));  // they name files: a newline stays on its line
  if (!b.new_incarnation.empty())
    fmt::print("  NOTE: a new incarnation, {}: scn: points below {} would mix it with the old one and are refused from "
               "now on; backup:N and time: reach every backup\n",
               Shown(b.new_incarnation), cn(r.scn_served_from));
  if (b.corrupt_blocks) {
    fmt::print("  WARNING: {} corrupt block(s) stored as read:\n", b.corrupt_blocks);
    for (const auto& x : r.bad_blocks) fmt::print("    {} block {}: {}\n", Shown(x.path), x.block, BlockKindName(x.kind));
    if (b.corrupt_blocks > r.bad_blocks.size())
      fmt::print("    ... and {} more (scnfs verify --db {} --at backup:{} lists up to 10,000 per file)\n",
                 b.corrupt_blocks - r.bad_blocks.size(), db, b.id);
  }
  for (const auto& f : r.short_datafiles)
    fmt::print("  WARNING: {} is shorter than its header says: {} of its {} blocks (block 0 included), {} missing; "
               "Oracle will not open it (ORA-01200). It was backed up as it is\n",
               Shown(f.path), f.blocks, f.header_blocks, f.header_blocks - f.blocks);
}

}  // namespace

Runner AddBackup(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("backup",
                                 "Back up datafiles or a data directory. The first backup of a database is full; every\n"
                                 "later one is incremental: only blocks whose content changed are stored.");
  auto a = std::make_shared<BackupArgs>();
  AddStoreOption(sub, g);
  sub->add_option("--db", a->db, "Database name in the store (created at its first backup)")->required();
  sub->add_option("--format", a->format, "oracle, postgres or raw (default: detected at the first backup)")
      ->check(CLI::IsMember({"oracle", "postgres", "raw"}));
  sub->add_option("--changed-blocks", a->changed_blocks,
                  "File of lines 'relative/path block_from block_to': read only these blocks of files already\n"
                  "backed up (like Oracle block change tracking). New and grown files are read in full.")
      ->check(CLI::ExistingFile);
  sub->add_option("--block-size", a->block_size, "Block size of raw files in bytes (default 8192)")
      ->check(CLI::Range(512u, 1u << 20));
  sub->add_option("--threads", a->threads, "Worker threads (default: one per core)")->check(CLI::Range(1, 256));
  sub->add_flag("--json", g.json, "Print the backup record as JSON");
  sub->add_flag("--no-wait", a->no_wait,
                "Fail at once if another backup holds the store (default: wait for it; backups of several\n"
                "databases started together run one after another)");
  auto* pg_connect = sub->add_option(
      "--pg-connect", a->pg_connect,
      "PostgreSQL: back up the RUNNING cluster with the server's help (libpq connection string, e.g.\n"
      "'host=/var/run/postgresql port=5432 user=postgres'; '' takes PGHOST, PGPORT, PGUSER...).\n"
      "pg_backup_start/pg_backup_stop bracket the copy, and the backup keeps its backup_label and the WAL\n"
      "to the stop LSN: a server started on a restore or clone recovers to a consistent state by itself.\n"
      "Needs a role that may run pg_backup_start and read data_directory (a superuser)");
  MayBeEmpty(pg_connect);
  sub->add_option("--pg-checkpoint", a->pg_checkpoint,
                  "With --pg-connect: pg_backup_start's checkpoint, 'spread' (default, as pg_basebackup: gentle on\n"
                  "the server, up to checkpoint_timeout x checkpoint_completion_target) or 'fast' (at once)")
      ->check(CLI::IsMember({"fast", "spread"}))
      ->needs(pg_connect);
  sub->add_option("SOURCE", a->sources, "Datafiles and directories to back up")->required();
  return [a, &g, pg_connect] {
    auto store = OpenStore(g, Store::Mode::kWriter, fmt::format("backup of {}", a->db), !a->no_wait);
    if (!store.ok()) return Fail(store.status());
    BackupOptions o;
    o.db = a->db;
    o.sources = a->sources;
    if (!a->format.empty()) o.format = ParseFormatName(a->format);
    o.changed_blocks_file = a->changed_blocks;
    o.raw_block_size = a->block_size;
    o.threads = a->threads;
    o.cancel = &g_cancel;
    if (pg_connect->count() > 0) o.pg_connect = a->pg_connect;
    o.pg_fast_checkpoint = a->pg_checkpoint == "fast";
    const bool tty = StderrIsTerminal() && !g.json;
    // A spread checkpoint may take minutes before the first block is read: the wait is shown with its time, and
    // gives way to the progress line once the copy begins.
    auto copying = std::make_shared<std::atomic<bool>>(false);
    std::optional<Ticker> waiting;
    if (tty && o.pg_connect && !o.pg_fast_checkpoint) {
      const auto since = std::chrono::steady_clock::now();
      waiting.emplace([copying, since] {
        if (copying->load()) return;
        const auto s = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - since).count();
        fmt::print(stderr, "\r  waiting for PostgreSQL's spread checkpoint to start the backup: {} s (--pg-checkpoint fast "
                   "hurries it)   ", s);
      }, std::chrono::seconds(1));
    }
    if (tty) {
      o.progress = [copying](const BackupProgress& p) {
        copying->store(true);
        fmt::print(stderr, "\r  {:5.1f}%  {} of {}  {}  changed blocks {}   ", p.bytes_total ? 100.0 * p.bytes_done / p.bytes_total : 100.0,
                   HumanBytes(p.bytes_done), HumanBytes(p.bytes_total), Rate(p.bytes_done, p.seconds), p.blocks_changed);
      };
    }
    auto r = RunBackup(store.value().get(), o);
    copying->store(true);
    waiting.reset();
    if (tty) fmt::print(stderr, "\r{:100}\r", "");
    if (!r.ok()) return Fail(r.status());
    // Complete, with corrupt blocks stored as read: 2, as verify's "it ran and found corruption". With 0, a nightly
    // job that checks $? never heard of them, where RMAN fails such a backup (DBA walkthrough, 2026-12-02). So for a
    // datafile shorter than its header, which verify of the backup calls corrupt (review, 2026-12-02).
    const bool corrupt = r->record.corrupt_blocks > 0 || !r->short_datafiles.empty();
    if (corrupt) g_exit_if_output_fails = kExitCorrupt;
    PrintReport(r.value(), a->db, g.json);
    return corrupt ? kExitCorrupt : kExitOk;
  };
}

}  // namespace scnfs::cli
