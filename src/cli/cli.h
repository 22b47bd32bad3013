// The scnfs command line: a thin shell over the library. Each command registers its CLI11 subcommand and returns
// an exit code: 0 success, 1 failure (a one-line reason on stderr), 2 corruption found (verify).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "scnfs/status.h"

namespace scnfs::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;
inline constexpr int kExitCorrupt = 2;

struct Globals {
  std::string store;  // --store or SCNFS_STORE
  bool json = false;
};

// Each command adds its subcommand; the returned function runs it after parsing.
using Runner = std::function<int()>;
Runner AddInit(CLI::App& app, Globals& g);
Runner AddBackup(CLI::App& app, Globals& g);
Runner AddList(CLI::App& app, Globals& g);
Runner AddRestore(CLI::App& app, Globals& g);
Runner AddVerify(CLI::App& app, Globals& g);
Runner AddMount(CLI::App& app, Globals& g);
Runner AddUmount(CLI::App& app, Globals& g);
Runner AddClone(CLI::App& app, Globals& g);

// Options whose value may be empty ("" meaning "from the environment", as --pg-connect ''): the check that refuses
// an empty value (main.cc) leaves them alone.
void MayBeEmpty(const CLI::Option* option);
bool EmptyAllowed(const CLI::Option* option);

// Writes "scnfs: <message>" as one line to stderr, never throwing (stderr may be the broken pipe that failed the
// command's output).
void ErrorLine(std::string_view message);
// ErrorLine(st.message()); returns kExitFailure.
int Fail(const Status& st);
// A file name for a human-readable line: control characters written as \n, \t, \xNN, so that a name holding a
// newline does not break a table (JSON output keeps names exact).
std::string Shown(std::string_view name);
// "1.5 GiB", "812 KiB"; "MB/s" figures use decimal megabytes like dd and fio.
std::string HumanBytes(uint64_t n);
std::string Rate(uint64_t bytes, double seconds);
// How long ago, to the unit a DBA reads at a glance: "45 s ago", "12 min ago", "3 h 12 min ago", "2 d 4 h ago".
std::string HumanAge(int64_t seconds);
bool StderrIsTerminal();
// SIGINT/SIGTERM set this; long commands stop cleanly.
extern std::atomic<bool> g_cancel;
// The exit code that stays when the command's output cannot be written (a full disk, a closed pipe), set before
// the output is printed: verify's 2 (corruption found) must not become 1 because its report was lost, whether the
// write fails while the report is printed or at the final flush. kExitFailure unless set.
extern int g_exit_if_output_fails;

}  // namespace scnfs::cli
