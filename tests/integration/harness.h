// Integration test harness: runs the real scnfs binaries, makes temp dirs, compares trees byte by byte.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace scnfs::testing {

struct RunResult {
  int exit_code = -1;
  std::string out, err;
};

// Runs argv (no shell). Output captured.
RunResult Run(const std::vector<std::string>& argv);
// Runs `scnfs args...`.
RunResult Scnfs(const std::vector<std::string>& args);
RunResult Oragen(const std::vector<std::string>& args);

// A directory under /var/tmp removed when the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& bytes);
// Relative path -> content for every regular file under dir (symlinks as "->target", dirs as "<dir>").
std::map<std::string, std::string> Snapshot(const std::string& dir);
// Copies a tree (cp -a).
void CopyTree(const std::string& from, const std::string& to);
std::string RandomBytes(size_t n, uint64_t seed);

}  // namespace scnfs::testing
