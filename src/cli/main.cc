// scnfs: keeps every version of every datafile block once, and gives back any backup, SCN or time.
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <string_view>
#include <system_error>
#include <vector>

#include <fmt/format.h>

#include "cli/cli.h"
#include "scnfs/store.h"
#include "util/open_file_limit.h"

namespace {
// For backup and restore, which stop at their next block when asked (the backup is then recorded as failed): a
// first SIGINT or SIGTERM asks; a second one ends the process at once, as kill -9 would, which leaves the store
// consistent (a backup is atomic), for a step that cannot see the first (the open of a FIFO, a hung device).
void OnSignal(int) {
  if (scnfs::cli::g_cancel.exchange(true)) {
    static const char msg[] = "scnfs: interrupted again: stopping at once\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(130);
  }
}

// The parsed subcommands, outermost first: {clone, create} for `scnfs clone create ...`.
std::vector<CLI::App*> ParsedChain(CLI::App& app) {
  std::vector<CLI::App*> chain;
  for (CLI::App* at = &app;;) {
    CLI::App* next = nullptr;
    for (CLI::App* sub : at->get_subcommands({}))
      if (sub->parsed()) next = sub;
    if (!next) return chain;
    chain.push_back(next);
    at = next;
  }
}

std::string ChainName(const std::vector<CLI::App*>& chain) {
  std::string name = "scnfs";
  for (CLI::App* sub : chain) name += " " + sub->get_name();
  return name;
}

// An option or argument given as "" ("--store ''" fell back to SCNFS_STORE and backed up into that store; "--db ''"
// listed every database; "--high-scn ''" was ignored; found 2026-11-30): its name, or "" when there is none.
std::string EmptyValue(const std::vector<CLI::App*>& chain) {
  for (CLI::App* sub : chain)
    for (const CLI::Option* opt : sub->get_options())
      if (opt->count() > 0 && opt->get_items_expected_min() > 0 && !scnfs::cli::EmptyAllowed(opt))
        for (const std::string& v : opt->results())
          if (v.empty()) return opt->get_name(/*positional=*/false, /*all_options=*/false);
  return "";
}

}  // namespace

int main(int argc, char** argv) {
  using namespace scnfs::cli;
  CLI::App app{
      "scnfs: incremental-forever backups of database datafiles in a deduplicated, compressed block store.\n"
      "Every block version is kept once, keyed by its change number (Oracle SCN, PostgreSQL page LSN), and any\n"
      "backup, SCN or time can be restored without replaying a chain.\n\n"
      "The store is named by --store DIR or the environment variable SCNFS_STORE.",
      "scnfs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "scnfs 0.1.0");
  Globals g;
  std::vector<std::pair<CLI::App*, Runner>> commands;
  for (auto add : {AddInit, AddBackup, AddList, AddRestore, AddVerify, AddMount, AddUmount, AddClone}) {
    size_t before = app.get_subcommands({}).size();
    Runner r = add(app, g);
    commands.emplace_back(app.get_subcommands({})[before], std::move(r));
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help, --version: their output unwritten is a failure like any other's
      std::signal(SIGPIPE, SIG_IGN);
      const int rc = app.exit(e);
      if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
        const int err = errno;
        ErrorLine(std::string("cannot write the output: ") + (err ? std::strerror(err) : "write error"));
        return kExitFailure;
      }
      return rc;
    }
    // A usage error is a failure like any other (docs/cli.md): exit 1 and one line, not CLI11's own codes (105,
    // 106, ...) and two lines, so that a script's "exit 1 means failed, 2 means corrupt" holds for verify too.
    std::string what = e.what();
    const std::vector<CLI::App*> chain = ParsedChain(app);
    const std::string help = ChainName(chain) + " --help";
    // "scnfs clone foo" said "A subcommand is required" without naming foo.
    const size_t word = chain.size() + 1;
    const bool has_subcommands = chain.empty() || !chain.back()->get_subcommands({}).empty();
    if (has_subcommands && size_t(argc) > word && argv[word][0] != '-') {
      std::string words;  // "clone foo", or "foo" at the top
      for (CLI::App* sub : chain) words += sub->get_name() + " ";
      what = fmt::format("unknown command '{}{}'", words, argv[word]);
    }
    // CLI11 says "--db: 1 required TEXT missing" for "--db" or "--db=" with no value: its type names mean nothing
    // to a DBA.
    if (const size_t colon = what.find(": "); colon != std::string::npos && what.ends_with(" missing") &&
        what.find(" required ", colon) != std::string::npos && what.starts_with("-"))
      what = what.substr(0, colon) + ": needs a value";
    ErrorLine(fmt::format("{} (see '{}')", what, help));
    return kExitFailure;
  }
  {
    const std::vector<CLI::App*> chain = ParsedChain(app);
    if (const std::string empty = EmptyValue(chain); !empty.empty()) {
      ErrorLine(fmt::format("{} is empty (see '{} --help')", empty, ChainName(chain)));
      return kExitFailure;
    }
  }
  if (g.store.empty())
    if (const char* env = std::getenv("SCNFS_STORE"); env != nullptr) g.store = env;
  // Process policy, so here and not in the library: a mount keeps its clients' files open (a database on a clone
  // keeps many open, each with its delta file open in the mount), and a restore keeps a window of them.
  scnfs::RaiseOpenFileLimit();
  // Only for the commands that check g_cancel: every other one keeps the default (SIGINT and SIGTERM end it), and a
  // mount's libfuse installs its own handlers (which unmount) only where the default is still in place.
  for (auto& [sub, run] : commands) {
    if (sub->parsed() && (sub->get_name() == "backup" || sub->get_name() == "restore")) {
      std::signal(SIGINT, OnSignal);
      std::signal(SIGTERM, OnSignal);
    }
  }
  // Output that cannot be written is a failure like any other: `scnfs list | head -1` ended in SIGPIPE (exit 141)
  // and `list --json > full-disk` in an uncaught exception (abort, exit 134) or, for short output, in exit 0 with an
  // empty file (found 2026-11-30). A write error is now exit 1 with its reason. libfuse ignores SIGPIPE in a mount too.
  std::signal(SIGPIPE, SIG_IGN);
  for (auto& [sub, run] : commands) {
    if (!sub->parsed()) continue;
    int rc = kExitFailure;
    bool told = false;  // the failure's line is written
    try {
      rc = run();
    } catch (const std::system_error& e) {
      // fmt::print's write errors say "cannot write to file: <reason>"; which file is ours to say.
      const bool output = std::string_view(e.what()).starts_with("cannot write to file");
      ErrorLine(output ? "cannot write the output: " + e.code().message() : std::string(e.what()));
      rc = output ? g_exit_if_output_fails : kExitFailure;
      told = true;
    } catch (const std::exception& e) {  // nothing else is expected to throw this far
      ErrorLine(e.what());
      rc = kExitFailure;
      told = true;
    }
    if (std::fflush(stdout) != 0 || std::ferror(stdout)) {
      const int err = errno;
      if (!told && rc != kExitFailure) ErrorLine(std::string("cannot write the output: ") + (err ? std::strerror(err) : "write error"));
      // Verify's 2 (corruption found) stays: a script must not lose that because the report could not be written.
      if (rc != kExitCorrupt) rc = kExitFailure;
    }
    // A store abandoned after a failed write (a full disk) still has RocksDB's threads, among them its recovery
    // from the full disk, which woke as space came back and met the static objects exit() destroys: the backup
    // ended in SIGSEGV after printing why it failed (found 2026-11-30). Leave as a crash would, minus the crash.
    if (scnfs::Store::AbandonedAny()) {
      std::fflush(stdout);
      std::fflush(stderr);
      ::_exit(rc);
    }
    return rc;
  }
  return kExitFailure;
}
