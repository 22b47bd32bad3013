#include <unistd.h>

#include <cstdio>

#include <fmt/format.h>

#include "cli/cli.h"

namespace scnfs::cli {

std::atomic<bool> g_cancel{false};

int Fail(const Status& st) {
  std::string msg = st.message();
  for (auto& c : msg)
    if (c == '\n') c = ' ';
  fmt::print(stderr, "scnfs: {}\n", msg);
  return kExitFailure;
}

std::string HumanBytes(uint64_t n) {
  static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = double(n);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  return u == 0 ? fmt::format("{} B", n) : fmt::format("{:.1f} {}", v, units[u]);
}

std::string Rate(uint64_t bytes, double seconds) {
  if (seconds <= 0) return "-";
  return fmt::format("{:.0f} MB/s", double(bytes) / 1e6 / seconds);
}

bool StderrIsTerminal() { return ::isatty(STDERR_FILENO) == 1; }

}  // namespace scnfs::cli
