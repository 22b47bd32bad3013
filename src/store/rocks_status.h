// The one place a rocksdb::Status becomes a scnfs::Status.
#pragma once

#include <rocksdb/status.h>

#include "scnfs/status.h"

namespace scnfs {

inline Status FromRocksStatus(const rocksdb::Status& s, std::string_view context) {
  return FromRocks(&s, context);
}

}  // namespace scnfs
