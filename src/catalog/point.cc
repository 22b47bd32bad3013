// Points in time: parsing SPECs and choosing what they select (the rules are in docs/points-in-time.md).
#include <ctime>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <regex>
#include <set>
#include <string>

#include <fmt/format.h>

#include "scnfs/catalog.h"
#include "scnfs/postgres_format.h"

namespace scnfs {
namespace {

Result<uint64_t> ParseNumber(std::string_view s, std::string_view what) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size())
    return Status::InvalidArgument(fmt::format("'{}' is not a valid {}", s, what));
  return v;
}

// "+HH:MM", "+HHMM" or the same with '-': seconds east of UTC. Anything else (letters included: these names
// come from any user of a mount) is nullopt, never an exception.
std::optional<int> ZoneOffsetSeconds(std::string_view z) {
  if ((z.size() != 5 && z.size() != 6) || (z[0] != '+' && z[0] != '-') || (z.size() == 6 && z[3] != ':'))
    return std::nullopt;
  const std::string_view hh = z.substr(1, 2), mm = z.substr(z.size() - 2);
  for (char c : {hh[0], hh[1], mm[0], mm[1]})
    if (c < '0' || c > '9') return std::nullopt;
  const int h = (hh[0] - '0') * 10 + (hh[1] - '0'), m = (mm[0] - '0') * 10 + (mm[1] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return (h * 60 + m) * 60 * (z[0] == '+' ? 1 : -1);
}

// Whether TZ names a zone glibc can load. glibc reads one it cannot ("Europe/Berln", a file that is no zone such as
// zone.tab) as UTC without a word, and a local time would select another point. Usable: unset or empty (the host's
// zone, UTC), a zone file (by path, or under TZDIR or /usr/share/zoneinfo) that starts with TZif, or a POSIX rule
// ("EST5EDT", "CET-1CEST,M3.5.0,M10.5.0/3", "<+0530>-5:30").
bool TimeZoneUsable(std::string_view tz, std::string* file) {
  if (tz.starts_with(':')) tz.remove_prefix(1);
  if (tz.empty()) return true;
  const char* dir = std::getenv("TZDIR");
  *file = tz.starts_with('/') ? std::string(tz) : fmt::format("{}/{}", dir && *dir ? dir : "/usr/share/zoneinfo", tz);
  if (std::FILE* f = std::fopen(file->c_str(), "rb")) {
    char magic[4] = {};
    const bool zone = std::fread(magic, 1, 4, f) == 4 && std::memcmp(magic, "TZif", 4) == 0;
    std::fclose(f);
    if (zone) return true;
  }
  static const std::regex kPosixRule(
      R"(^(<[A-Za-z0-9+-]{3,}>|[A-Za-z]{3,})[+-]?[0-9]{1,2}(:[0-9]{1,2}(:[0-9]{1,2})?)?)"
      R"(((<[A-Za-z0-9+-]{3,}>|[A-Za-z]{3,})([+-]?[0-9]{1,2}(:[0-9]{1,2}(:[0-9]{1,2})?)?)?(,[^,]+,[^,]+)?)?$)");
  return std::regex_match(tz.begin(), tz.end(), kPosixRule);
}

std::string OffsetText(long off) {
  return fmt::format("{}{:02}:{:02}", off < 0 ? '-' : '+', std::labs(off) / 3600, std::labs(off) % 3600 / 60);
}
long OffsetAt(time_t v) {
  struct tm t;
  localtime_r(&v, &t);
  return t.tm_gmtoff;
}

// A local wall-clock time as an instant. A change of the zone's offset (daylight saving, or a new standard time)
// makes some wall times name no instant (the hour skipped in spring) and others name two (the hour repeated in
// autumn); mktime quietly moves the first and picks one of the second, so a point written in either could select
// another backup than the one meant. Both are refused with the offsets that would make them exact
// (docs/points-in-time.md). A date alone (`day_start`) is the day's first instant instead: the earlier midnight of
// two, or the instant a day whose midnight was skipped began.
Result<time_t> LocalTime(const struct tm& wall, std::string_view text, bool day_start) {
  if (Status tz = LocalTimeZoneStatus(); !tz.ok())
    return Status::InvalidArgument(fmt::format("'{}' is a local time, but {}; give the time with an offset or Z", text,
                                               tz.message()));
  struct tm utc = wall;
  const time_t as_utc = timegm(&utc);  // the wall time read as UTC: its instants lie within a day of it
  // Every offset in force near it (changes are months apart, rarely days), and of those the ones that read back as
  // the same wall time: its instants.
  std::set<long> offsets;
  for (long d : {-172800L, -86400L, -10800L, 0L, 10800L, 86400L, 172800L}) offsets.insert(OffsetAt(as_utc + d));
  std::set<time_t> found;
  for (long off : offsets) {
    const time_t v = as_utc - off;
    struct tm back;
    if (localtime_r(&v, &back) != nullptr && back.tm_year == wall.tm_year && back.tm_mon == wall.tm_mon &&
        back.tm_mday == wall.tm_mday && back.tm_hour == wall.tm_hour && back.tm_min == wall.tm_min &&
        back.tm_sec == wall.tm_sec)
      found.insert(v);
  }
  if (found.size() == 1 || (day_start && !found.empty())) return *found.begin();
  if (found.size() > 1)
    return Status::InvalidArgument(fmt::format(
        "'{}' is ambiguous in this host's time zone (the clocks went back: it happened at {} and again at {}); "
        "add one of those offsets", text, OffsetText(OffsetAt(*found.begin())), OffsetText(OffsetAt(*found.rbegin()))));
  const long before = OffsetAt(as_utc - 86400), after = OffsetAt(as_utc + 86400);
  if (day_start) return as_utc - before;  // the instant of the change: the day's first
  return Status::InvalidArgument(fmt::format(
      "'{}' did not happen in this host's time zone (the clocks went forward past it); give it with an offset: {} "
      "before the change, {} after", text, OffsetText(before), OffsetText(after)));
}

}  // namespace

Status LocalTimeZoneStatus() {
  const char* env = std::getenv("TZ");
  std::string file;
  if (env == nullptr || TimeZoneUsable(env, &file)) return Status::OK();
  return Status::InvalidArgument(fmt::format(
      "TZ='{}' is not a time zone this host knows (no zone file {}, nor a POSIX rule such as CET-1CEST); set TZ to a "
      "zone such as Europe/Berlin", env, file));
}

namespace {

// ParseIso8601, and whether the time covers its whole second: one written with a time of day and no fraction
// (docs/points-in-time.md). Told here, where the text is parsed: ParsePointSpec's own look for a 'T' missed 't'.
Result<int64_t> ParseTime(std::string_view text, bool* covers_second) {
  std::string s(text);
  // RFC 3339 (ISO 8601's profile for the Internet) lets 't' and 'z' be lower case; no other letter is valid here.
  for (char& c : s) c = c == 't' ? 'T' : c == 'z' ? 'Z' : c;
  // Two digits for every field, as ISO 8601 writes them: strptime takes one, and a half-typed "14:3" was 14:03.
  static const std::regex kShape(R"(^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?)?)");
  std::smatch shape;
  // What follows the shape (an offset, a fraction, Z) must not be more of a field: "10:5", "10:05:7", "2026-07-011".
  const auto next = [&] { return shape.length(0) < ptrdiff_t(s.size()) ? s[size_t(shape.length(0))] : '\0'; };
  if (!std::regex_search(s, shape, kShape) || std::isdigit(static_cast<unsigned char>(next())) || next() == ':' ||
      (!shape[1].matched && (next() == 'T' || next() == ' ')))
    return Status::InvalidArgument(fmt::format(
        "'{}' is not an ISO 8601 time (expected e.g. 2026-11-22T14:30:00, two digits for each field)", text));
  const bool date_only = !shape[1].matched;
  struct tm tm = {};
  tm.tm_isdst = -1;
  const char* rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (rest == nullptr) rest = strptime(s.c_str(), "%Y-%m-%d %H:%M:%S", &tm);
  // ISO 8601 lets a time stop at the minute ("14:30" is 14:30:00), as a DBA types it; no fraction follows one.
  bool to_minute = false;
  for (const char* form : {"%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"}) {
    if (rest != nullptr) break;
    tm = {};
    tm.tm_isdst = -1;
    rest = strptime(s.c_str(), form, &tm);
    to_minute = rest != nullptr && *rest != ':';  // "14:30:5x": a bad second, said below
    if (rest != nullptr && !to_minute) rest = nullptr;
  }
  if (rest == nullptr) {
    tm = {};
    tm.tm_isdst = -1;
    rest = strptime(s.c_str(), "%Y-%m-%d", &tm);
  }
  if (rest == nullptr)
    return Status::InvalidArgument(fmt::format("'{}' is not an ISO 8601 time (expected e.g. 2026-11-22T14:30:00)", text));
  // Messages quote what was given; `tail` is the rest of `s` (upper-cased T and Z).
  std::string_view tail(rest);
  // strptime takes a 30th of February and mktime/timegm roll it into March: a typo must not pick another point.
  static constexpr int kDays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const int year = tm.tm_year + 1900;
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (tm.tm_mday > kDays[tm.tm_mon] || (tm.tm_mon == 1 && tm.tm_mday == 29 && !leap))
    return Status::InvalidArgument(fmt::format("'{}' is not a date: {}-{:02} has no day {}", text, year, tm.tm_mon + 1, tm.tm_mday));
  // strptime takes second 60 and 61 (leap seconds) and mktime rolls them into the next minute: the same typo rule.
  if (tm.tm_sec > 59)
    return Status::InvalidArgument(fmt::format("'{}' is not a time: second {} (expected 00 to 59)", text, tm.tm_sec));
  if (tail.size() > 1 && (tail[0] == 'T' || tail[0] == ' ') && std::isdigit(static_cast<unsigned char>(tail[1])))
    return Status::InvalidArgument(fmt::format("'{}' is not an ISO 8601 time (bad time of day '{}')", text, tail.substr(1)));
  int64_t frac_us = 0;
  if (to_minute && !tail.empty() && tail[0] == '.')
    return Status::InvalidArgument(fmt::format("'{}' is not an ISO 8601 time (a fraction needs the seconds)", text));
  if (covers_second) *covers_second = !date_only && !(!tail.empty() && tail[0] == '.');
  if (!tail.empty() && tail[0] == '.') {  // fractional seconds
    size_t i = 1;
    int64_t scale = 100000;
    while (i < tail.size() && std::isdigit(static_cast<unsigned char>(tail[i]))) {
      frac_us += (tail[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    // "12:04:08.Z": a dot without digits was taken as a fraction of 0, which also dropped the whole second that a
    // time written to the second covers, and selected another backup than "12:04:08Z" (found 2026-12-01).
    if (i == 1) return Status::InvalidArgument(fmt::format("'{}' is not an ISO 8601 time (a '.' without digits)", text));
    tail.remove_prefix(i);
  }
  time_t t;
  if (tail.empty()) {
    auto local = LocalTime(tm, text, date_only);  // local time of this process (TZ, else the host's zone)
    if (!local.ok()) return local.status();
    t = local.value();
  } else if (tail == "Z") {
    t = timegm(&tm);
  } else if (auto off = ZoneOffsetSeconds(tail)) {
    t = timegm(&tm) - *off;
  } else {
    return Status::InvalidArgument(fmt::format(
        "'{}' is not an ISO 8601 time: '{}' after the time, where Z, +HH:MM or -HH:MM (or nothing, for local time) "
        "was expected", text, text.substr(text.size() - tail.size())));
  }
  return int64_t(t) * 1000000 + frac_us;
}

}  // namespace

Result<int64_t> ParseIso8601(std::string_view text) { return ParseTime(text, nullptr); }

std::string FormatIso8601(int64_t us) {
  time_t t = time_t(us / 1000000);
  struct tm tm;
  localtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S%z", &tm);
  // +0100 -> +01:00 (ISO 8601 extended form, as ParseIso8601 reads it back).
  const std::string_view s(buf);
  if (s.size() <= 5) return std::string(s);
  return fmt::format("{}:{}", s.substr(0, s.size() - 2), s.substr(s.size() - 2));
}

Result<PointSpec> ParsePointSpec(std::string_view text) {
  PointSpec p;
  p.text = std::string(text);
  const auto usage = [&] {
    return Status::InvalidArgument(
        fmt::format("unknown point in time '{}': use backup:ID, scn:N, time:ISO8601 or latest", text));
  };
  if (text == "latest") {
    p.kind = PointSpec::Kind::kLatest;
    return p;
  }
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return usage();
  std::string_view kind = text.substr(0, colon), arg = text.substr(colon + 1);
  if (kind == "backup") {
    p.kind = PointSpec::Kind::kBackup;
    SCNFS_ASSIGN_OR_RETURN(p.number, ParseNumber(arg, "backup id"));
  } else if (kind == "scn" || kind == "lsn") {  // lsn: is the name a PostgreSQL DBA reaches for; the same point
    p.kind = PointSpec::Kind::kScn;
    if (arg.find('/') != std::string_view::npos) {
      // PostgreSQL writes LSNs as two hex halves, "0/199B220" (pg_controldata, pg_current_wal_lsn()).
      auto lsn = postgres::ParseLsn(arg);
      if (!lsn)
        return Status::InvalidArgument(fmt::format("'{}' is not a valid SCN or LSN (a number, or X/Y in hex as PostgreSQL writes LSNs)", arg));
      p.number = *lsn;
    } else {
      SCNFS_ASSIGN_OR_RETURN(p.number, ParseNumber(arg, kind == "lsn" ? "LSN" : "SCN"));
    }
  } else if (kind == "time") {
    p.kind = PointSpec::Kind::kTime;
    // A time written to the second (or minute) covers that whole second: `list` prints a backup's end to the
    // second, and pasting it must select that backup, not the one before (its end has microseconds past the
    // printed second). A date alone stays its day's first instant; a time with a fraction is taken as written.
    bool covers_second = false;
    SCNFS_ASSIGN_OR_RETURN(p.time_us, ParseTime(arg, &covers_second));
    if (covers_second) p.time_us += 999999;
  } else {
    return usage();
  }
  return p;
}

std::string ResolvedPoint::Describe() const {
  if (scn) return fmt::format("{} {} (file set of backup {})", ChangeNumberName(format), ChangeNumberText(format, *scn), base.id);
  if (asked && base.hot)
    return fmt::format("{} {}: backup {}, a hot backup, consistent only with its WAL from the REDO point of its "
                       "checkpoint at {} {} to {} {} or later",
                       ChangeNumberName(format), ChangeNumberText(format, *asked), base.id, ChangeNumberName(format),
                       ChangeNumberText(format, base.checkpoint_change), ChangeNumberName(format),
                       ChangeNumberText(format, base.lsn_position()));
  if (asked)
    return fmt::format("{} {}: backup {}, consistent at {} {}", ChangeNumberName(format), ChangeNumberText(format, *asked),
                       base.id, ChangeNumberName(format), ChangeNumberText(format, base.checkpoint_change));
  return fmt::format("backup {}", base.id);
}

const BackupRecord* NewestComplete(const std::vector<BackupRecord>& backups) {
  const BackupRecord* newest = nullptr;
  for (const auto& b : backups)
    if (b.state == BackupState::kComplete && (newest == nullptr || b.id > newest->id)) newest = &b;
  return newest;
}

uint64_t ScnServedFrom(FormatId format, const std::vector<BackupRecord>& backups, const BackupRecord& back) {
  uint64_t from = back.scn_served_from();
  // A PostgreSQL backup stands at its checkpoint (or WAL end), above its pages: below that the new line has no
  // consistent point, and an LSN there went to the old line's last backup (a new cluster whose LSNs run past the
  // old one's, as pg_upgrade makes it).
  if (format != FormatId::kPostgres) return from;
  from = std::max(from, back.lsn_position());
  for (const auto& b : backups)
    if (b.id < back.id && b.state == BackupState::kComplete) from = std::max(from, b.lsn_position() + 1);
  return from;
}

// For ResolvedPoint::past_newest: `asked` is past `newest` (whose blocks go up to `held`), the newest backup.
static std::string PastNewest(const DatabaseRecord& db, const BackupRecord& newest, std::string_view cname,
                              const std::string& asked, const std::string& held) {
  return fmt::format("{} {} is past every block of the newest backup of '{}' (backup {}, up to {} {}): this is that "
                     "backup's state; changes made after it was taken are in no backup", cname, asked, db.name,
                     newest.id, cname, held);
}

Result<ResolvedPoint> ResolvePoint(const DatabaseRecord& db, const std::vector<BackupRecord>& backups,
                                   const PointSpec& spec) {
  std::vector<const BackupRecord*> complete;
  for (const auto& b : backups)
    if (b.state == BackupState::kComplete) complete.push_back(&b);
  std::sort(complete.begin(), complete.end(), [](auto* a, auto* b) { return a->id < b->id; });
  if (complete.empty()) return Status::NotFound(fmt::format("database '{}' has no complete backup", db.name));

  ResolvedPoint r;
  r.format = db.format;
  switch (spec.kind) {
    case PointSpec::Kind::kLatest:
      r.base = *complete.back();
      return r;
    case PointSpec::Kind::kBackup:
      for (const auto& b : backups) {
        if (b.id != spec.number) continue;
        if (b.state != BackupState::kComplete)
          return Status::NotFound(fmt::format("backup {} of '{}' is {} and cannot be read{}", b.id, db.name,
                                              BackupStateName(b.state), b.error.empty() ? "" : " (" + b.error + ")"));
        r.base = b;
        return r;
      }
      return Status::NotFound(fmt::format("unknown backup {} of database '{}' (backups {} to {})", spec.number,
                                          db.name, complete.front()->id, complete.back()->id));
    case PointSpec::Kind::kTime: {
      // The newest backup, in the order they were taken, that ended by then. Not the latest END: when the host's
      // clock was ahead and then set back, the backup taken before the correction carries a future END, and
      // by END it would have been the point of every time for as long as the clock took to catch up, newer
      // backups hidden (decided 2026-12-02; the backup taken after such a step says so in a NOTE).
      const BackupRecord* best = nullptr;
      for (auto* b : complete)
        if (b->end_us <= spec.time_us) best = b;
      if (best == nullptr) {
        // Within one second the two read the same ("by 15:37:10 (the first completed at 15:37:10)"): then with
        // their microseconds, which tell them apart.
        const int64_t first = complete.front()->end_us;
        const bool same_second = spec.time_us / 1000000 == first / 1000000;
        const auto when = [&](int64_t us) {
          std::string t = FormatIso8601(us);
          if (same_second && t.size() >= 19) t.insert(19, fmt::format(".{:06}", ((us % 1000000) + 1000000) % 1000000));
          return t;
        };
        return Status::NotFound(fmt::format("no backup of '{}' had completed by {} (the first completed at {})",
                                            db.name, when(spec.time_us), when(first)));
      }
      r.base = *best;
      return r;
    }
    case PointSpec::Kind::kScn: {
      if (db.format == FormatId::kRaw)
        return Status::InvalidArgument(fmt::format(
            "database '{}' is raw: its blocks carry no SCN, so use backup:ID or time:ISO8601", db.name));
      // X/Y is how PostgreSQL writes an LSN: given for an Oracle database it is a slip (another database's point),
      // not an SCN of this one (it was taken as one).
      if (db.format == FormatId::kOracle && spec.text.find('/') != std::string::npos)
        return Status::InvalidArgument(fmt::format(
            "'{}' is a PostgreSQL LSN (X/Y); database '{}' is Oracle: give its SCN as a decimal number", spec.text, db.name));
      // After the change numbers went back (a point-in-time recovery, RESETLOGS, an older copy of a datafile) the
      // numbers below the old high mark name two lines of changes, and the versions of the new line are keyed
      // above them (backup order): such a point would mix both. Only the new line from its first backup on is
      // served by scn:; backup:N and time: reach every backup.
      const BackupRecord* back = nullptr;
      for (auto* b : complete)
        if (b->new_line()) back = b;
      const std::string_view cname = ChangeNumberName(db.format);
      const auto cn = [&](uint64_t c) { return ChangeNumberText(db.format, c); };
      const uint64_t served_from = back ? ScnServedFrom(db.format, backups, *back) : 0;
      if (back != nullptr && spec.number < served_from && back->went_back_blocks == 0)
        return Status::InvalidArgument(fmt::format(
            "{} {} of '{}' is ambiguous: backup {} is of a new incarnation ({}); scn: serves {} {} and later, use "
            "backup:N or time: for earlier points",
            cname, cn(spec.number), db.name, back->id, back->new_incarnation, cname, cn(served_from)));
      if (back != nullptr && spec.number < served_from)
        return Status::InvalidArgument(fmt::format(
            "{} {} of '{}' is ambiguous: at backup {} the {}s of {} block(s) went back (from {} to {}: {}); scn: "
            "serves {} {} and later, use backup:N or time: for earlier points",
            cname, cn(spec.number), db.name, back->id, cname, back->went_back_blocks, cn(back->went_back_from),
            cn(back->went_back_to),
            back->new_incarnation.empty() ? "a point-in-time recovery, RESETLOGS or an older copy of a datafile"
                                          : "a new incarnation, " + back->new_incarnation,
            cname, cn(served_from)));
      if (db.format == FormatId::kPostgres) {
        // A PostgreSQL cluster is consistent only where pg_control says so: at a cold backup's checkpoint. Pages of
        // a later backup with LSNs up to the point, under the earlier backup's pg_control ("shut down"), make a
        // cluster PostgreSQL starts on without recovery and with broken data (found 2026-11-30: a vacuum then
        // overwrote relfrozenxid, a checkpoint failed on "xlog flush request not satisfied"). Until the WAL is kept
        // (roadmap stage 4) lsn: therefore selects a whole backup: the newest one consistent at or before it.
        // A record without a checkpoint (0) stands at its highest block.
        // A hot backup or a stopped standby stands later than its checkpoint (BackupRecord::lsn_position): with its
        // checkpoint alone, lsn: between two hot backups taken within one checkpoint interval served the later one,
        // a DROP TABLE made after the point included (found 2026-11-30).
        const BackupRecord* best = nullptr;
        for (auto* b : complete)
          if (b->lsn_position() <= spec.number) best = b;
        if (best == nullptr)
          return Status::NotFound(fmt::format("{} {} is older than every backup of '{}' (the first is consistent at {} {})",
                                              cname, cn(spec.number), db.name, cname, cn(complete.front()->lsn_position())));
        r.base = *best;
        r.asked = spec.number;
        if (best == complete.back() && spec.number > best->lsn_position())
          r.past_newest = PastNewest(db, *best, cname, cn(spec.number), cn(best->lsn_position()));
        return r;
      }
      // A backup stands at the highest SCN of its blocks, and after every backup before it: the database's SCN
      // never goes back within a line (a new line refuses the points below it, above). By its own highest block
      // alone, a backup taken after a datafile was dropped, or whose highest block read corrupt, stood below the
      // backups before it, and became the base of their points: scn:C of a cold backup at C restored without the
      // dropped file, and an SCN below the first backup was served with a header block of zeros (found
      // 2026-11-30). Such a backup stands just after the highest before it: it was taken after that state. (A
      // backup of a new line stands at that highest: the refusal above decides the points below it, as before.)
      // A backup whose highest block equals that highest stands after it too: with a datafile gone from the source
      // (dropped, or its disk not mounted) and the others unchanged, it became the base of scn:C of the cold backup
      // at C before it, which restored without that datafile (found 2026-12-01). A second cold backup of an idle
      // database so leaves scn:C to the first, whose blocks are the same. "The highest" is the highest block of
      // the backups before, not where they stand: counted from where they stood, each idle backup pushed the next
      // one a step further, and a change at C+2 after three idle backups was served from the backup before it.
      const BackupRecord* best = nullptr;
      uint64_t highest = 0;
      for (auto* b : complete) {
        const uint64_t own = b->scn_position();
        const uint64_t stands_at = BackupRecord::ScnStandsAt(own, highest, b == complete.front(), b->new_line());
        highest = std::max(highest, own);
        if (stands_at <= spec.number) best = b;
      }
      if (best == nullptr)
        return Status::NotFound(fmt::format("{} {} is older than every backup of '{}' (the first holds blocks up to {} {})",
                                            cname, cn(spec.number), db.name, cname, cn(complete.front()->scn_position())));
      r.base = *best;
      r.scn = spec.number;
      if (best == complete.back() && spec.number > highest)
        r.past_newest = PastNewest(db, *best, cname, cn(spec.number), cn(highest));
      return r;
    }
  }
  return Status::InvalidArgument("bad point in time");
}

}  // namespace scnfs
