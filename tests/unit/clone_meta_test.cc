// A clone's inode records: paths and link targets come back byte for byte, UTF-8 or not.
#include "clone/clone_meta.h"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "scnfs/clone.h"
#include "temp_dir.h"
#include "util/json_text.h"

namespace scnfs {
namespace {

TEST(CloneMetaTest, PathsThatAreNotUtf8ComeBackExactly) {
  CloneInode i;
  i.ino = 7;
  i.base_path = "data/caf\xe9.dbf";
  i.target = "../\xff\xfe";
  const std::string text = JsonText(nlohmann::json(i));  // dump() would throw on these bytes
  EXPECT_NE(text.find("base_path_hex"), std::string::npos) << text;
  CloneInode back = nlohmann::json::parse(text).get<CloneInode>();
  EXPECT_EQ(back.base_path, i.base_path);
  EXPECT_EQ(back.target, i.target);
  EXPECT_EQ(back.ino, 7u);

  i.base_path = "data/café.dbf";  // UTF-8 stays readable
  const std::string plain = JsonText(nlohmann::json(i));
  EXPECT_NE(plain.find("\"base_path\":\"data/café.dbf\""), std::string::npos) << plain;
  EXPECT_EQ(nlohmann::json::parse(plain).get<CloneInode>().base_path, i.base_path);
}

// Damaged metadata is refused when it is read, never met later: an inode with block size 0 divided by zero at
// the first read of its file and killed the mount serving it (SIGFPE; found 2026-12-02 by an attack on error
// boundaries).
TEST(CloneMetaTest, AnInodeWithABlockSizeNoBackupHasIsRefused) {
  CloneInode i;
  i.ino = 2;
  nlohmann::json j = i;
  EXPECT_EQ(j.get<CloneInode>().block_size, kCloneBlockSize);
  for (uint32_t bad : {0u, 1u, 511u, (1u << 20) + 1}) {
    j["block_size"] = bad;
    EXPECT_THROW(j.get<CloneInode>(), std::invalid_argument) << bad;
  }
  j["block_size"] = 512;
  EXPECT_EQ(j.get<CloneInode>().block_size, 512u);
}

// A clone is named by its directory. The name in a damaged clone.json ("a/b") was listed by the mount, whose
// readdir of clones/ then failed with EIO for every clone, and `clone list` printed it (found 2026-12-02).
TEST(CloneMetaTest, AClonesRecordNamingAnotherCloneIsDamaged) {
  testing::TempDir tmp;
  std::filesystem::create_directories(tmp / "clones/good");
  std::filesystem::create_directories(tmp / "clones/bad");
  std::ofstream(tmp / "clones/good/clone.json") << R"({"db":"orcl","base_backup":1,"name":"good"})";
  std::ofstream(tmp / "clones/bad/clone.json") << R"({"db":"orcl","base_backup":1,"name":"a/b"})";
  auto good = ReadClone(tmp.path(), "good");
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->name, "good");
  auto bad = ReadClone(tmp.path(), "bad");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Status::Code::kCorruption);
  EXPECT_NE(bad.status().message().find("it names the clone 'a/b'"), std::string::npos) << bad.status().message();
  auto all = ListClones(tmp.path());
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  for (const auto& c : *all) EXPECT_TRUE(c.name == "good" || c.name == "bad") << c.name;
}

TEST(CloneMetaTest, IsUtf8) {
  EXPECT_TRUE(IsUtf8("plain"));
  EXPECT_TRUE(IsUtf8("café \"quoted\"\n"));
  EXPECT_FALSE(IsUtf8("caf\xe9"));
  EXPECT_FALSE(IsUtf8("\xc3"));
}

}  // namespace
}  // namespace scnfs
