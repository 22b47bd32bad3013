// The nanosecond <-> timespec conversion shared by backup (stat), restore (utimensat), the mount's and the
// clones' stat replies.
#include "util/clock.h"

#include <gtest/gtest.h>

namespace scnfs {
namespace {

TEST(ClockTest, TimespecFromNsKeepsNanosecondsInRangeBefore1970) {
  const timespec a = TimespecFromNs(-1500000000);  // 1969-12-31T23:59:58.5Z
  EXPECT_EQ(a.tv_sec, -2);
  EXPECT_EQ(a.tv_nsec, 500000000);
  const timespec b = TimespecFromNs(-2000000000);  // a whole second: no borrow
  EXPECT_EQ(b.tv_sec, -2);
  EXPECT_EQ(b.tv_nsec, 0);
  const timespec c = TimespecFromNs(1700000000123456789);
  EXPECT_EQ(c.tv_sec, 1700000000);
  EXPECT_EQ(c.tv_nsec, 123456789);
}

TEST(ClockTest, NsAndTimespecRoundTrip) {
  for (int64_t ns : {int64_t(0), int64_t(-1), int64_t(-1500000000), int64_t(1), int64_t(1700000000123456789)})
    EXPECT_EQ(NsFromTimespec(TimespecFromNs(ns)), ns) << ns;
}

TEST(ClockTest, TimesPastTheNanosecondRangeAreKeptAtItsEnds) {
  const int64_t y2400 = 13569465600;  // 2400-01-01T00:00:00Z
  EXPECT_EQ(NsFromTimespec(timespec{time_t(y2400), 0}), INT64_MAX);
  EXPECT_EQ(NsFromTimespec(timespec{time_t(-y2400), 0}), INT64_MIN);
  EXPECT_EQ(NsFromTimespec(timespec{time_t(9223372036), 854775807}), INT64_MAX);  // the last one that fits
  EXPECT_EQ(NsFromTimespec(timespec{time_t(9223372036), 854775808}), INT64_MAX);  // one past: the end, not a wrap
  EXPECT_EQ(TimespecFromNs(INT64_MAX).tv_sec, time_t(9223372036));                 // 2262-04-11, restorable
}

}  // namespace
}  // namespace scnfs
