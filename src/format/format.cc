#include "scnfs/format.h"

#include <cstring>

#include <fmt/format.h>

namespace scnfs {

std::string_view FormatName(FormatId id) {
  switch (id) {
    case FormatId::kRaw: return "raw";
    case FormatId::kOracle: return "oracle";
    case FormatId::kPostgres: return "postgres";
  }
  return "unknown";
}

std::optional<FormatId> ParseFormatName(std::string_view s) {
  if (s == "raw") return FormatId::kRaw;
  if (s == "oracle") return FormatId::kOracle;
  if (s == "postgres") return FormatId::kPostgres;
  return std::nullopt;
}

std::string_view ChangeNumberName(FormatId id) {
  switch (id) {
    case FormatId::kOracle: return "SCN";
    case FormatId::kPostgres: return "LSN";
    case FormatId::kRaw: break;
  }
  return "SCN/LSN";
}

std::string ChangeNumberText(FormatId id, uint64_t change) {
  if (id == FormatId::kPostgres) return fmt::format("{:X}/{:X}", change >> 32, change & 0xffffffffu);
  return fmt::format("{}", change);
}

std::string_view BlockKindName(BlockKind k) {
  switch (k) {
    case BlockKind::kOk: return "ok";
    case BlockKind::kEmpty: return "empty";
    case BlockKind::kAllZero: return "all zero";
    case BlockKind::kFractured: return "fractured";
    case BlockKind::kBadChecksum: return "checksum";
    case BlockKind::kWrongAddress: return "wrong address";
    case BlockKind::kMarkedCorrupt: return "marked corrupt";
    case BlockKind::kBadHeader: return "bad header";
  }
  return "unknown";
}

bool IsAllZero(ByteSpan b) {
  const std::byte* p = b.data();
  size_t n = b.size();
  // Word at a time; blocks are 8-byte aligned in size, but keep a byte tail for partial raw blocks.
  while (n >= 32) {
    uint64_t w[4];
    std::memcpy(w, p, 32);
    if ((w[0] | w[1] | w[2] | w[3]) != 0) return false;
    p += 32;
    n -= 32;
  }
  while (n > 0) {
    if (*p != std::byte{0}) return false;
    ++p;
    --n;
  }
  return true;
}

}  // namespace scnfs
