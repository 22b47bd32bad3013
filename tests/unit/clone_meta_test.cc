// A clone's inode records: paths and link targets come back byte for byte, UTF-8 or not.
#include "clone/clone_meta.h"

#include <gtest/gtest.h>

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

TEST(CloneMetaTest, IsUtf8) {
  EXPECT_TRUE(IsUtf8("plain"));
  EXPECT_TRUE(IsUtf8("café \"quoted\"\n"));
  EXPECT_FALSE(IsUtf8("caf\xe9"));
  EXPECT_FALSE(IsUtf8("\xc3"));
}

}  // namespace
}  // namespace scnfs
