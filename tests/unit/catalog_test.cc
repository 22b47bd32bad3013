// Catalog records written by a newer scnfs: an unknown format is refused by name, never read as another.
#include "scnfs/catalog.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include "catalog/catalog_keys.h"
#include "scnfs/store.h"
#include "temp_dir.h"

namespace scnfs {
namespace {

TEST(CatalogTest, AnUnknownFormatIsRefusedNotReadAsRaw) {
  testing::TempDir tmp;
  ASSERT_TRUE(Store::Create(tmp / "store").ok());
  auto w = Store::Open(tmp / "store", Store::Mode::kWriter);
  ASSERT_TRUE(w.ok());
  const std::string record =
      R"({"id":1,"name":"fut","format":"mysql","dict_id":0,"created_us":1,"next_backup_id":1,"next_file_id":1})";
  ASSERT_TRUE(w.value()->db()->Put(rocksdb::WriteOptions(), w.value()->catalog_cf(), catalog_keys::Database("fut"), record).ok());
  auto db = Catalog(w.value().get()).GetDatabase("fut");
  ASSERT_FALSE(db.ok());
  EXPECT_EQ(db.status().code(), Status::Code::kCorruption);
  EXPECT_NE(db.status().message().find("unknown format 'mysql'"), std::string::npos) << db.status().ToString();
}

}  // namespace
}  // namespace scnfs
