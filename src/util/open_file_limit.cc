#include "util/open_file_limit.h"

#include <sys/resource.h>

#include <cstdio>

namespace scnfs {

namespace {
// The kernel's ceiling on any process's descriptors (fs.nr_open); 0 when it cannot be read.
rlim_t KernelCeiling() {
  unsigned long long v = 0;
  if (FILE* f = std::fopen("/proc/sys/fs/nr_open", "re")) {
    if (std::fscanf(f, "%llu", &v) != 1) v = 0;
    std::fclose(f);
  }
  return rlim_t(v);
}
}  // namespace

void RaiseOpenFileLimit() {
  struct rlimit nofile;
  if (::getrlimit(RLIMIT_NOFILE, &nofile) != 0) return;
  // A process allowed to (root: CAP_SYS_RESOURCE) raises the hard limit to the kernel's ceiling first: a reader
  // keeps one descriptor per table file of the store, about 15,000 for 1 TB of content, and `list` and `mount` of a
  // store past a host's hard limit of 20,000 failed with "Too many open files" (measured 2026-12-02).
  if (const rlim_t ceiling = KernelCeiling(); ceiling > nofile.rlim_max) {
    struct rlimit raised = {ceiling, ceiling};
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) return;
  }
  if (nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
}

}  // namespace scnfs
