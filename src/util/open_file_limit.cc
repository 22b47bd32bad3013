#include "util/open_file_limit.h"

#include <sys/resource.h>

namespace scnfs {

void RaiseOpenFileLimit() {
  struct rlimit nofile;
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
}

}  // namespace scnfs
