// Integration test harness: runs the real scnfs binaries, makes temp dirs, compares trees byte by byte.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "temp_dir.h"

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

std::string ReadFile(const std::string& path);
void WriteFile(const std::string& path, const std::string& bytes);
// Relative path -> content for every regular file under dir (symlinks as "->target", dirs as "<dir>").
std::map<std::string, std::string> Snapshot(const std::string& dir);
// Whether two Snapshot()s are equal; on failure names the first differing paths and sizes only. EXPECT_EQ on the maps
// prints every byte of both on failure, which for datafiles took the test process to 23 GB and the machine's OOM
// killer instead of a failure message.
::testing::AssertionResult SameTree(const std::map<std::string, std::string>& a, const std::map<std::string, std::string>& b);
// Copies a tree (cp -a).
void CopyTree(const std::string& from, const std::string& to);
std::string RandomBytes(size_t n, uint64_t seed);

}  // namespace scnfs::testing
