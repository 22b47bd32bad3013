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

// Nanoseconds since the epoch reach from 1677-09-21 to 2262-04-11; a time outside (a file touched to the year
// 2400) is kept as the nearest end of that range. The plain product overflowed: 2400-01-01 came back as 1901-12-13
// with exit 0 (found 2026-12-01).
inline int64_t NsFromTimespec(const timespec& t) {
  int64_t ns = 0;
  if (__builtin_mul_overflow(int64_t(t.tv_sec), int64_t(1000000000), &ns) || __builtin_add_overflow(ns, int64_t(t.tv_nsec), &ns))
    return t.tv_sec < 0 ? INT64_MIN : INT64_MAX;
  return ns;
}

class Stopwatch {
 public:
  double Seconds() const { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count(); }

 private:
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
};

}  // namespace scnfs
