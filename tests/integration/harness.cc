#include "integration/harness.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace scnfs::testing {
namespace fs = std::filesystem;

namespace {
std::string Slurp(int fd) {
  std::string s;
  char buf[65536];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) s.append(buf, size_t(n));
  return s;
}
}  // namespace

RunResult Run(const std::vector<std::string>& argv) {
  int out[2], err[2];
  if (::pipe(out) != 0 || ::pipe(err) != 0) throw std::runtime_error("pipe");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  posix_spawn_file_actions_addclose(&fa, err[0]);
  posix_spawn_file_actions_addclose(&fa, out[1]);
  posix_spawn_file_actions_addclose(&fa, err[1]);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid;
  if (posix_spawnp(&pid, args[0], &fa, nullptr, args.data(), environ) != 0) throw std::runtime_error("spawn " + argv[0]);
  posix_spawn_file_actions_destroy(&fa);
  ::close(out[1]);
  ::close(err[1]);
  RunResult r;
  std::thread t([&] { r.err = Slurp(err[0]); });
  r.out = Slurp(out[0]);
  t.join();
  ::close(out[0]);
  ::close(err[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

RunResult Scnfs(const std::vector<std::string>& args) {
  std::vector<std::string> a{SCNFS_BIN};
  a.insert(a.end(), args.begin(), args.end());
  return Run(a);
}

RunResult Oragen(const std::vector<std::string>& args) {
  std::vector<std::string> a{SCNFS_ORAGEN_BIN};
  a.insert(a.end(), args.begin(), args.end());
  return Run(a);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
}

std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> m;
  for (auto it = fs::recursive_directory_iterator(dir); it != fs::recursive_directory_iterator(); ++it) {
    std::string rel = fs::relative(it->path(), dir).generic_string();
    if (it->is_symlink()) m[rel] = "->" + fs::read_symlink(it->path()).string();
    else if (it->is_directory()) m[rel] = "<dir>";
    else m[rel] = ReadFile(it->path().string());
  }
  return m;
}

void CopyTree(const std::string& from, const std::string& to) {
  RunResult r = Run({"cp", "-a", from, to});
  if (r.exit_code != 0) throw std::runtime_error("cp -a failed: " + r.err);
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint64_t v = rng();
    std::memcpy(&s[i], &v, 8);
  }
  return s;
}

::testing::AssertionResult SameTree(const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b) {
  std::string diff;
  int shown = 0;
  auto note = [&](const std::string& line) {
    if (shown++ < 10) diff += "\n  " + line;
  };
  for (const auto& [path, bytes] : a) {
    auto it = b.find(path);
    if (it == b.end()) note(path + ": only in the first (" + std::to_string(bytes.size()) + " bytes)");
    else if (it->second != bytes)
      note(path + ": differs (" + std::to_string(bytes.size()) + " vs " + std::to_string(it->second.size()) + " bytes)");
  }
  for (const auto& [path, bytes] : b)
    if (!a.count(path)) note(path + ": only in the second (" + std::to_string(bytes.size()) + " bytes)");
  if (shown == 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << shown << " path(s) differ:" << diff;
}

}  // namespace scnfs::testing
