// Wall-clock helpers: microseconds since the epoch for records, a monotonic stopwatch for rates, and the one
// conversion between the nanoseconds file records keep and the timespecs of stat/utimensat.
#pragma once

#include <time.h>

#include <chrono>
#include <cstdint>

namespace scnfs {

inline int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// A timespec's tv_nsec must lie in [0, 1e9): times before 1970 round down (-1.5 s is {-2, 500000000}). Truncating
// division gave {-1, -500000000}, which utimensat refuses and stat readers misread.
inline timespec TimespecFromNs(int64_t ns) {
  int64_t sec = ns / 1000000000, rem = ns % 1000000000;
  if (rem < 0) {
    --sec;
    rem += 1000000000;
  }
  return timespec{time_t(sec), long(rem)};
}

inline int64_t NsFromTimespec(const timespec& t) { return int64_t(t.tv_sec) * 1000000000 + t.tv_nsec; }

class Stopwatch {
 public:
  double Seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace scnfs
