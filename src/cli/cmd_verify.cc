#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "cli/cli.h"
#include "cli/store_option.h"
#include "scnfs/catalog.h"
#include "scnfs/verify.h"
#include "util/json_text.h"
#include "verify/file_tally.h"

namespace scnfs::cli {
namespace {

// DBVERIFY's counts, of one file or summed over a point's files (`sums`: the per-file explanations left out).
// `oracle_split`: Processed split into Data / Index / Other, as DBVERIFY reports it.
void PrintCounts(const FileVerification& f, bool oracle_split, bool sums) {
  fmt::print("    Total Pages Examined : {}\n", f.examined);
  if (oracle_split)
    fmt::print("    Pages Processed      : {} (Data {}, Index {}, Other {})\n", f.processed, f.processed_data,
               f.processed_index, f.processed_other);
  else
    fmt::print("    Pages Processed      : {}\n", f.processed);
  fmt::print("    Pages Empty          : {}\n", f.empty);
  if (f.influx)
    fmt::print("    Pages Influx         : {}{}\n", f.influx,
               sums ? "" : " (failed a first read, sound on a re-read: being written)");
  if (f.zero) fmt::print("    Pages All Zero       : {}\n", f.zero);
  fmt::print("    Pages Failing        : {}\n", f.corrupt);
  if (f.partial)
    fmt::print("    Pages Partial        : {}{}\n", f.partial,
               sums ? "" : " (a last page cut short, as a crash while the relation grew leaves it: not checked)");
  if (f.missing)
    fmt::print("    Pages Missing        : {}{}\n", f.missing, sums ? "" : " (the file is shorter than its header says: truncated)");
  for (const auto& [k, n] : f.corrupt_by_kind) fmt::print("      {:<20}: {}\n", k, n);
}

// The sums over a point's files, after the per-file reports: a PostgreSQL cluster has a thousand files, and the
// answer a DBA reads first (how much was checked, what failed, where) should not need a scroll back through them.
void PrintTotals(const VerifyReport& r) {
  std::map<FormatId, size_t> by_format;
  FileVerification total;  // the per-file counts summed as verify merges a file's parts (MergeTally)
  uint64_t missing = 0;
  std::optional<FormatId> versioned;  // the format whose change numbers "highest" is in (raw files have none)
  std::vector<std::string> failing;
  for (const auto& f : r.files) {
    ++by_format[f.format];
    MergeTally(&total, f);
    missing += f.missing;
    if (f.corrupt || f.missing) failing.push_back(Shown(f.path));
    if (f.format != FormatId::kRaw) versioned = f.format;
  }
  std::vector<std::pair<size_t, FormatId>> counts;  // most files first: "959 postgres, 31 raw"
  for (const auto& [format, n] : by_format) counts.emplace_back(n, format);
  std::stable_sort(counts.begin(), counts.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::string formats;
  for (const auto& [n, format] : counts) formats += fmt::format("{}{} {}", formats.empty() ? "" : ", ", n, FormatName(format));
  fmt::print("  total of {} files ({})\n", r.files.size(), formats);
  total.missing = missing;
  PrintCounts(total, by_format.count(FormatId::kOracle) > 0, /*sums=*/true);
  if (versioned && total.highest_change)
    fmt::print("    {:<21}: {}\n", fmt::format("Highest block {}", ChangeNumberName(*versioned)),
               ChangeNumberText(*versioned, total.highest_change));
  if (!failing.empty()) {
    constexpr size_t kNamed = 20;
    std::string names;
    for (size_t i = 0; i < failing.size() && i < kNamed; ++i) names += fmt::format("{}{}", i ? ", " : "", failing[i]);
    if (failing.size() > kNamed) names += fmt::format(" and {} more", failing.size() - kNamed);
    fmt::print("    Files Failing        : {} ({})\n", failing.size(), names);
  }
}

uint64_t PagesExamined(const VerifyReport& r) {
  uint64_t n = 0;
  for (const auto& f : r.files) n += f.examined;
  return n;
}

void PrintText(const VerifyReport& r, bool file_mode) {
  fmt::print("verifying {}\n", Shown(r.point));
  if (!r.note.empty()) fmt::print("  NOTE: {}\n", Shown(r.note));
  for (const auto& f : r.files) {
    fmt::print("  {} ({})\n", Shown(f.path), FormatName(f.format));
    if (!f.note.empty()) fmt::print("    ({})\n", Shown(f.note));
    PrintCounts(f, f.format == FormatId::kOracle, /*sums=*/false);
    const std::string_view cname = ChangeNumberName(f.format);
    if (f.highest_change)
      fmt::print("    {:<21}: {}\n", fmt::format("Highest block {}", cname), ChangeNumberText(f.format, f.highest_change));
    if (r.high_change) {
      fmt::print("    {:<21}: {}\n", fmt::format("Blocks above {} {}", cname, ChangeNumberText(f.format, *r.high_change)),
                 f.high_count);
      for (auto [block, change] : f.high_blocks) fmt::print("      block {} {} {}\n", block, cname, ChangeNumberText(f.format, change));
      if (f.high_count > f.high_blocks.size()) fmt::print("      ... {} more\n", f.high_count - f.high_blocks.size());
    }
    for (const auto& b : f.bad_blocks) {
      fmt::print("    bad block {}: {} (type {}, {} {})\n", b.block, BlockKindName(b.kind), b.type, cname,
                 ChangeNumberText(f.format, b.change));
      if (b.header.is_object()) {  // as DBVERIFY's "Data in bad block"
        const auto& h = b.header;
        const uint64_t scn = h["scn"].get<uint64_t>();
        fmt::print("      type: 0x{:02x} format: 0x{:02x} rdba: 0x{:08x}\n", h["type"].get<unsigned>(),
                   h["frmt"].get<unsigned>(), h["rdba"].get<uint32_t>());
        fmt::print("      last change scn: 0x{:04x}.{:08x} seq: 0x{:x} flg: 0x{:02x}\n", scn >> 32, scn & 0xffffffffu,
                   h["seq"].get<unsigned>(), h["flg"].get<unsigned>());
        fmt::print("      consistency value in tail: 0x{:08x}\n", h["tail"].get<uint32_t>());
        fmt::print("      check value in block header: 0x{:04x}, computed block checksum: 0x{:x}\n",
                   h["chkval"].get<unsigned>(), h["residual"].get<unsigned>());
      }
    }
    if (f.corrupt > f.bad_blocks.size())
      fmt::print("    ... and {} more bad blocks (the first {} are listed)\n", f.corrupt - f.bad_blocks.size(), f.bad_blocks.size());
  }
  if (r.files.size() > 1) PrintTotals(r);
  if (r.contents_checked || r.store_error_count)
    fmt::print("store check: {} stored contents checked, {} failed (unreadable, or not decoding to their hash)\n",
               r.contents_checked, r.store_error_count);
  for (const auto& e : r.store_errors) fmt::print("  {}\n", e);
  std::string result = r.clean() ? "clean"
                     : file_mode ? fmt::format("{} corrupt block(s)", r.corrupt_blocks())
                                 : fmt::format("{} corrupt block(s), {} store error(s)", r.corrupt_blocks(), r.store_error_count);
  if (r.missing_blocks()) result += fmt::format(", {} block(s) missing from truncated datafiles", r.missing_blocks());
  // A raw file has no block format to check: "clean" alone would claim more than was done.
  if (file_mode && r.clean() && !r.files.empty() && r.files[0].format == FormatId::kRaw)
    result = "no checks apply (raw, see the note above)";
  fmt::print("result: {}\n", result);
}

// Fails the command with st's line: exit 2 when it is damage found (Corruption: a store that lost a commit to a
// damaged table file, a catalog table that fails its checksum), as damage in the versions or contents is, not
// "verify could not run".
int FailFound(const Status& st) {
  const int rc = Fail(st);
  return st.code() == Status::Code::kCorruption ? kExitCorrupt : rc;
}

// The progress line on a terminal, about twice a second; `name` (a database of `verify --all`) leads it when given.
std::function<void(const VerifyProgress&)> ProgressLine(std::string name) {
  return [name = std::move(name)](const VerifyProgress& p) {
    fmt::print(stderr, "\r  {}{:5.1f}%  {} of {}  {}  files {} of {}  corrupt blocks {}   ",
               name.empty() ? std::string() : Shown(name) + ": ",
               p.bytes_total ? 100.0 * p.bytes_done / p.bytes_total : 100.0, HumanBytes(p.bytes_done),
               HumanBytes(p.bytes_total), Rate(p.bytes_done, p.seconds), p.files_done, p.files_total, p.corrupt);
  };
}

// How one database of `verify --all` came out: its report, or why it could not be verified.
struct DatabaseVerification {
  std::string name;
  Result<VerifyReport> report;
  bool corrupt() const {
    return report.ok() ? !report->clean() : report.status().code() == Status::Code::kCorruption;
  }
};

// `verify --all`: each database's newest complete backup, one after the other (each check uses every core), with a
// line per database as it is done and the full reports of those that are not clean at the end, where a nightly
// job's reader looks first. A database without a complete backup could not be verified: a failure, as it is one
// for the DBA (docs/cli.md).
int VerifyAll(Globals& g, VerifyOptions vo) {
  auto store = OpenStore(g, Store::Mode::kReader, "verify");
  if (!store.ok()) return FailFound(store.status());
  // First: a damaged catalog table can hide a database from the list without an error.
  if (Status st = store.value()->VerifyCatalogTables(); !st.ok()) return FailFound(st);
  Catalog cat(store.value().get());
  auto dbs = cat.ListDatabases();
  if (!dbs.ok()) return FailFound(dbs.status());
  const bool progress = static_cast<bool>(vo.progress);
  std::vector<DatabaseVerification> done;
  if (!g.json) fmt::print("verifying {} database(s) at their newest complete backups\n", dbs->size());
  for (const auto& db : dbs.value()) {
    if (progress) vo.progress = ProgressLine(db.name);
    DatabaseVerification v{db.name, VerifyPoint(store.value().get(), db.name, "latest", vo)};
    if (progress) fmt::print(stderr, "\r{:78}\r", "");
    if (!g.json) {
      if (!v.report.ok())  // damage found on the way is corruption, as it is for verify --db
        fmt::print("  {}: {}: {}\n", Shown(v.name), v.corrupt() ? "CORRUPT" : "could not be verified",
                   Shown(v.report.status().message()));
      else
        fmt::print("  {}: {}, {} file(s), {} pages examined, {} failing, {} store error(s): {}\n", Shown(v.name),
                   Shown(v.report->point.starts_with(v.name + " ") ? v.report->point.substr(v.name.size() + 1)
                                                                     : v.report->point), v.report->files.size(), PagesExamined(v.report.value()),
                   v.report->corrupt_blocks() + v.report->missing_blocks(), v.report->store_error_count,
                   v.report->clean() ? "clean" : "CORRUPT");
    }
    done.push_back(std::move(v));
  }
  size_t corrupt = 0, failed = 0;
  for (const auto& v : done) {
    if (v.corrupt()) ++corrupt;
    else if (!v.report.ok()) ++failed;
  }
  if (corrupt) g_exit_if_output_fails = kExitCorrupt;
  if (g.json) {
    nlohmann::json out = {{"clean", corrupt == 0 && failed == 0}, {"databases", nlohmann::json::array()}};
    for (const auto& v : done) {
      nlohmann::json d = {{"database", v.name}};
      if (v.report.ok()) d["report"] = ToJson(v.report.value());
      else {
        d["error"] = v.report.status().message();
        d["corrupt"] = v.corrupt();  // a damaged store found on the way (exit 2), not a check that could not run
      }
      out["databases"].push_back(std::move(d));
    }
    fmt::print("{}\n", JsonText(out, 2));
  } else {
    for (const auto& v : done)
      if (v.report.ok() && !v.report->clean()) {
        fmt::print("\n");
        PrintText(v.report.value(), /*file_mode=*/false);
      }
    fmt::print("\nresult: {} of {} database(s) clean", done.size() - corrupt - failed, done.size());
    if (corrupt) fmt::print(", {} with corruption", corrupt);
    if (failed) fmt::print(", {} could not be verified", failed);
    fmt::print("\n");
  }
  return corrupt ? kExitCorrupt : failed ? kExitFailure : kExitOk;
}

}  // namespace

Runner AddVerify(CLI::App& app, Globals& g) {
  auto* sub = app.add_subcommand("verify",
                                 "DBVERIFY-style check of a point in the store (--db) or of a datafile on disk (--file).\n"
                                 "Exit 0 when clean, 2 when corruption was found, 1 on any other failure.");
  struct Args {
    std::string db, at = "latest", file, format, high_scn, pg_checksums;
    int threads = 0;
    bool all = false;
  };
  auto a = std::make_shared<Args>();
  AddStoreOption(sub, g);
  auto* db = sub->add_option("--db", a->db, "Database to verify in the store");
  auto* at = sub->add_option("--at", a->at, "Point in time: backup:ID, scn:N, time:ISO8601, latest (default)");
  // Either a point of the store or a file on disk: one given with the other's options was silently ignored
  // (verify --file clean.dbf --db prod exited 0 about a database that was corrupt).
  auto* file = sub->add_option("--file", a->file, "A datafile on disk to check instead")->excludes(db)->excludes(at);
  sub->add_option("--format", a->format, "Format of --file: oracle, postgres or raw (default: detected)")->needs(file)
      ->check(CLI::IsMember({"oracle", "postgres", "raw"}));
  sub->add_option("--pg-checksums", a->pg_checksums,
                  "With --file, a PostgreSQL relation file: whether its cluster has data checksums, on or off\n"
                  "(default: the pg_control of the data directory above the file; a file copied out of it\n"
                  "is judged by its pages, and a cluster whose checksums were turned off keeps stale ones)")
      ->needs(file)->check(CLI::IsMember({"on", "off"}));
  auto* all = sub->add_flag("--all", a->all,
                             "Every database of the store at its newest complete backup, as a nightly check: a\n"
                             "line each, then the full report of each one that is not clean. Exit 0 when every\n"
                             "one is clean, 2 when any has corruption, 1 when any could not be verified")
                  ->excludes(db)->excludes(at)->excludes(file);
  sub->add_option("--threads", a->threads, "Worker threads (default: one per core)")->check(CLI::Range(1, 256));
  sub->add_option("--high-scn", a->high_scn,
                  "Also list the blocks whose SCN (PostgreSQL: LSN, as X/Y) is above this one, as\n"
                  "DBVERIFY's HIGH_SCN: the blocks changed since then")
      ->type_name("SCN")->excludes(all);
  sub->add_flag("--json", g.json, "Machine-readable report (docs/cli.md)");
  return [a, &g] {
    VerifyOptions vo;
    vo.threads = a->threads;
    if (!a->pg_checksums.empty()) vo.pg_checksums = a->pg_checksums == "on";
    if (!a->high_scn.empty()) {
      auto spec = ParsePointSpec("scn:" + a->high_scn);
      if (!spec.ok())  // a usage error: its line names the --help to read, as CLI11's do (docs/cli.md)
        return Fail(Status::InvalidArgument(fmt::format("--high-scn: {} (see 'scnfs verify --help')", spec.status().message())));
      vo.high_change = spec->number;
    }
    if (StderrIsTerminal() && !g.json) vo.progress = ProgressLine("");
    if (a->all) return VerifyAll(g, vo);
    Result<VerifyReport> r = Status::InvalidArgument(
        "give --db NAME (a point in the store), --all or --file PATH (see 'scnfs verify --help')");
    if (!a->file.empty()) {
      std::optional<FormatId> f;
      if (!a->format.empty()) f = ParseFormatName(a->format);
      r = VerifyFile(a->file, f, vo);
    } else if (!a->db.empty()) {
      auto store = OpenStore(g, Store::Mode::kReader, "verify");
      if (!store.ok()) return FailFound(store.status());  // Store::Open's seal check finds a lost commit
      Status tables = store.value()->VerifyCatalogTables();  // a damaged one can hide backups without an error
      r = tables.ok() ? VerifyPoint(store.value().get(), a->db, a->at, vo) : Result<VerifyReport>(tables);
    }
    if (vo.progress) fmt::print(stderr, "\r{:78}\r", "");
    if (!r.ok()) return FailFound(r.status());
    if (!r->clean()) g_exit_if_output_fails = kExitCorrupt;
    if (g.json)
      fmt::print("{}\n", JsonText(ToJson(r.value()), 2));
    else
      PrintText(r.value(), !a->file.empty());
    return r->clean() ? kExitOk : kExitCorrupt;
  };
}

}  // namespace scnfs::cli
