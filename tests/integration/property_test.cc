// Property test: random block histories over 22 backups of several files and databases in one store.
// Every backup restores byte-identically, and scn: restores match the rule of docs/points-in-time.md, computed
// here from a model of every snapshot the backups read.
#include <filesystem>
#include <random>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "integration/harness.h"
#include "scnfs/oracle_format.h"

namespace scnfs::testing {
namespace {
namespace fs = std::filesystem;
constexpr uint32_t kBs = 8192;
constexpr int kBackups = 22;

using Snap = std::map<std::string, std::string>;  // relative path -> bytes

// Rewrites data block `b` of an Oracle file image with fresh rows at SCN `scn`, valid tail and checksum.
void RewriteOracleBlock(std::string* file, uint32_t b, uint64_t scn, std::mt19937_64& rng) {
  char* p = file->data() + size_t(b) * kBs;
  if (p[0] == 0) {  // a formatted-never-used block (SCN 0 by definition) gets its first rows: a table block now
    uint32_t rfn = 0;
    std::memcpy(&rfn, file->data() + kBs + 368, 4);  // the file header's relative file number
    const uint32_t rdba = rfn == 1024 ? b : (rfn << 22 | b);
    p[0] = 6;
    p[15] = 0x04;
    p[20] = 1;
    std::memcpy(p + 4, &rdba, 4);
  }
  uint32_t base = uint32_t(scn);
  uint16_t wrap = uint16_t(scn >> 32);
  std::memcpy(p + 8, &base, 4);
  std::memcpy(p + 12, &wrap, 2);
  p[14] = char(1 + rng() % 200);  // seq
  for (uint32_t i = 24; i + 8 <= kBs - 4; i += 8) {
    uint64_t v = (rng() % 4 == 0) ? rng() : 0x2020202041424344ull;  // compressible rows with some noise
    std::memcpy(p + i, &v, 8);
  }
  uint32_t tail = ((base & 0xFFFF) << 16) | (uint32_t(uint8_t(p[0])) << 8) | uint8_t(p[14]);
  std::memcpy(p + kBs - 4, &tail, 4);
  oracle::SetChecksum(std::span<std::byte>(reinterpret_cast<std::byte*>(p), kBs));
}

void SetCheckpoint(std::string* file, uint64_t scn) {
  char* h = file->data() + kBs;  // block 1
  oracle::EncodeScn8(scn, reinterpret_cast<std::byte*>(h + 484));
  oracle::SetChecksum(std::span<std::byte>(reinterpret_cast<std::byte*>(h), kBs));
}

uint64_t BlockChange(const std::string& file, uint32_t b) {
  ByteSpan blk(reinterpret_cast<const std::byte*>(file.data()) + size_t(b) * kBs, kBs);
  if (b == 1) return oracle::DecodeScn8(blk.data() + 484);
  return b == 0 ? 0 : oracle::BlockScn(blk);
}

// The model of docs/points-in-time.md for one Oracle file: per block, the versions the store keeps (a new one
// whenever the content differs from the newest kept), keyed by change number raised to stay in backup order.
std::string ExpectedAtScn(const std::vector<Snap>& snaps, size_t base, const std::string& path, uint64_t scn) {
  const std::string& shape = snaps[base].at(path);
  std::string out(shape.size(), '\0');
  for (uint32_t b = 0; b < shape.size() / kBs; ++b) {
    std::string latest, chosen;
    uint64_t latest_key = 0, chosen_key = 0;
    bool have = false, have_chosen = false;
    for (size_t i = 0; i < snaps.size(); ++i) {
      const auto& s = snaps[i];
      auto it = s.find(path);
      if (it == s.end() || it->second.size() <= size_t(b) * kBs) continue;
      std::string blk = it->second.substr(size_t(b) * kBs, kBs);
      if (have && blk == latest) continue;
      uint64_t key = std::max(have ? latest_key : 0, BlockChange(it->second, b));
      latest = blk;
      latest_key = key;
      have = true;
      // Among versions with one key change number, a backup after the base does not replace one by it or before.
      if (key <= scn && (!have_chosen || key > chosen_key || i <= base)) {
        chosen = blk;
        chosen_key = key;
        have_chosen = true;
      }
    }
    out.replace(size_t(b) * kBs, kBs, chosen);
  }
  return out;
}

TEST(PropertyTest, RandomHistoriesRestoreEveryBackupAndScnPoint) {
  TempDir tmp;
  const std::string store = tmp / "store";
  ASSERT_EQ(Scnfs({"init", "--store", store}).exit_code, 0);
  std::mt19937_64 rng(20261122);

  struct Db {
    std::string name, dir;
    bool oracle;
    std::vector<Snap> snaps;
    std::vector<uint64_t> checkpoint;  // per backup
  };
  std::vector<Db> dbs = {{"ora1", tmp / "ora1", true, {}, {}}, {"ora2", tmp / "ora2", true, {}, {}},
                         {"raw1", tmp / "raw1", false, {}, {}}};
  ASSERT_EQ(Oragen({"create", "--dir", dbs[0].dir, "--db", "ORA1", "--dbid", "11", "--files", "3", "--blocks", "120", "--seed", "1"}).exit_code, 0);
  // ora2 starts as a copy of ora1's blocks: content dedups across databases.
  ASSERT_EQ(Oragen({"create", "--dir", dbs[1].dir, "--db", "ORA1", "--dbid", "11", "--files", "2", "--blocks", "120", "--seed", "1"}).exit_code, 0);
  WriteFile(dbs[2].dir + "/data.bin", RandomBytes(300000, 1));
  WriteFile(dbs[2].dir + "/sub/cfg.txt", "shared_buffers = 128MB\n");

  uint64_t scn = 1000;
  for (int i = 1; i <= kBackups; ++i) {
    for (auto& db : dbs) {
      Snap files = Snapshot(db.dir);
      if (db.oracle) {
        // Blocks change at SCNs spread over (previous checkpoint, new checkpoint]: like a hot backup's files.
        const uint64_t from = scn, to = scn + 100;
        for (auto& [path, bytes] : files) {
          const uint32_t blocks = uint32_t(bytes.size() / kBs);
          int changes = int(rng() % 12);
          if (i > 1 && rng() % 5 == 0) changes = 0;  // some files do not change at all
          for (int c = 0; c < changes; ++c) RewriteOracleBlock(&bytes, 2 + uint32_t(rng() % (blocks - 2)), from + 1 + rng() % (to - from), rng);
          // Now and then a block changes without its change number (as PostgreSQL's visibility-map pages and hint
          // bits do): scn: points must give the content that was there at the point, not a later backup's.
          if (rng() % 3 == 0) {
            const uint32_t b = 2 + uint32_t(rng() % (blocks - 2));
            RewriteOracleBlock(&bytes, b, BlockChange(bytes, b), rng);
          }
          SetCheckpoint(&bytes, to);
          WriteFile(db.dir + "/" + path, bytes);
        }
        db.checkpoint.push_back(to);
      } else {
        // Raw: random rewrites, growth, shrinking, files appearing and disappearing.
        std::string d = ReadFile(db.dir + "/data.bin");
        switch (rng() % 4) {
          case 0: d += RandomBytes(1 + rng() % 20000, rng()); break;
          case 1: d.resize(d.size() - std::min<size_t>(d.size() / 3, rng() % 20000)); break;
          default:
            for (int c = 0; c < 3; ++c) d[rng() % d.size()] ^= 0x5a;
        }
        WriteFile(db.dir + "/data.bin", d);
        if (rng() % 3 == 0) WriteFile(db.dir + "/sub/f" + std::to_string(i), RandomBytes(rng() % 30000, rng()));
        if (rng() % 4 == 0 && fs::exists(db.dir + "/sub/f" + std::to_string(i - 1))) fs::remove(db.dir + "/sub/f" + std::to_string(i - 1));
      }
      RunResult r = Scnfs({"backup", "--store", store, "--db", db.name, "--json", db.dir});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      ASSERT_EQ(nlohmann::json::parse(r.out)["id"], i);
      db.snaps.push_back(Snapshot(db.dir));
    }
    scn += 100;
  }

  // Every backup of every database restores byte-identically, without replaying the chain.
  for (const auto& db : dbs) {
    for (int i = 1; i <= kBackups; ++i) {
      std::string dest = tmp / ("r-" + db.name + "-" + std::to_string(i));
      RunResult r = Scnfs({"restore", "--store", store, "--db", db.name, "--at", "backup:" + std::to_string(i), dest});
      ASSERT_EQ(r.exit_code, 0) << r.err;
      EXPECT_EQ(Snapshot(dest), db.snaps[i - 1]) << db.name << " backup " << i;
      fs::remove_all(dest);
    }
  }
  // scn: points between checkpoints select the documented versions.
  for (int k = 0; k < 12; ++k) {
    const Db& db = dbs[rng() % 2];
    const size_t base = rng() % kBackups;  // 0-based backup index
    const uint64_t s = db.checkpoint[base] + rng() % 100;  // in [checkpoint(base), checkpoint(base+1))
    std::string dest = tmp / ("s-" + std::to_string(k));
    RunResult r = Scnfs({"restore", "--store", store, "--db", db.name, "--at", "scn:" + std::to_string(s), dest});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    Snap got = Snapshot(dest);
    ASSERT_EQ(got.size(), db.snaps[base].size());
    for (const auto& [path, bytes] : db.snaps[base])
      EXPECT_EQ(got.at(path), ExpectedAtScn(db.snaps, base, path, s)) << db.name << " scn " << s << " " << path;
    fs::remove_all(dest);
  }
  // Before the first checkpoint there is nothing to select.
  EXPECT_EQ(Scnfs({"restore", "--store", store, "--db", "ora1", "--at", "scn:5", tmp / "none"}).exit_code, 1);
  // The whole store verifies clean.
  for (const auto& db : dbs) EXPECT_EQ(Scnfs({"verify", "--store", store, "--db", db.name}).exit_code, 0) << db.name;
}

}  // namespace
}  // namespace scnfs::testing
