#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <set>
#include <string_view>

#include <fmt/format.h>

#include "cli/cli.h"

namespace scnfs::cli {

namespace {
std::set<const CLI::Option*>& EmptyAllowedOptions() {
  static std::set<const CLI::Option*> options;
  return options;
}
}  // namespace

void MayBeEmpty(const CLI::Option* option) { EmptyAllowedOptions().insert(option); }
bool EmptyAllowed(const CLI::Option* option) { return EmptyAllowedOptions().count(option) != 0; }

std::atomic<bool> g_cancel{false};

int g_exit_if_output_fails = kExitFailure;

void ErrorLine(std::string_view message) {
  // One line, and no control bytes a terminal would act on: a file name or a changed-blocks path holding ESC
  // passed its escape sequence to the terminal (found 2026-12-01).
  std::string line = "scnfs: ";
  for (const char c : message) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n' || c == '\t') line += ' ';
    else if (u < 0x20 || u == 0x7f) line += fmt::format("\\x{:02x}", u);
    else line += c;
  }
  line += '\n';
  std::fflush(stderr);  // after what the command wrote there before
  for (size_t done = 0; done < line.size();) {
    const ssize_t n = ::write(STDERR_FILENO, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // nowhere to say it: the exit code must do
    done += size_t(n);
  }
}

int Fail(const Status& st) {
  ErrorLine(st.message());
  return kExitFailure;
}

std::string Shown(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (const char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (u < 0x20 || u == 0x7f) out += fmt::format("\\x{:02x}", u);
    else out += c;
  }
  return out;
}

std::string HumanBytes(uint64_t n) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = double(n);
  int u = 0;
  // Up a unit from where one decimal would print 1024.0: 1,048,575 bytes is "1.0 MiB", not "1024.0 KiB".
  while (u < 5 && v >= (u == 0 ? 1024.0 : 1023.95)) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, units[u]);
}

std::string Rate(uint64_t bytes, double seconds) {
  if (seconds <= 0) return "-";
  return fmt::format("{:.0f} MB/s", double(bytes) / 1e6 / seconds);
}

std::string HumanAge(int64_t seconds) {
  if (seconds < 0) return "in the future (the clock was set back?)";
  if (seconds < 60) return fmt::format("{} s ago", seconds);
  if (seconds < 3600) return fmt::format("{} min ago", seconds / 60);
  if (seconds < 86400) return fmt::format("{} h {} min ago", seconds / 3600, seconds % 3600 / 60);
  return fmt::format("{} d {} h ago", seconds / 86400, seconds % 86400 / 3600);
}

bool StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace scnfs::cli
