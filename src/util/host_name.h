// This host's name, as backup records and the store's lock file note who wrote them.
#pragma once

#include <unistd.h>

#include <string>

namespace scnfs {

inline std::string HostName() {
  char buf[256] = {};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

}  // namespace scnfs
