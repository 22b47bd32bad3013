// Tallies block checks into a FileVerification (shared by store and disk verification).
#pragma once

#include <optional>

#include "scnfs/oracle_format.h"
#include "scnfs/verify.h"

namespace scnfs {

// `block`: the block's bytes, for a bad Oracle block's header dump and the Data/Index/Other split (may be empty).
// `high`: VerifyOptions::high_change.
inline void Tally(FileVerification* f, uint64_t blockno, const BlockCheck& c, bool count_examined, ByteSpan block = {},
                  std::optional<uint64_t> high = std::nullopt) {
  if (!count_examined && !c.corrupt) return;  // Oracle block 0: not a page DBVERIFY counts
  if (count_examined) ++f->examined;
  // As DBVERIFY's "Highest block SCN": a corrupt block's header is garbage, its SCN included.
  if (!c.corrupt) f->highest_change = std::max(f->highest_change, c.change);
  if (c.corrupt) {
    ++f->corrupt;
    ++f->corrupt_by_kind[std::string(BlockKindName(c.kind))];
    if (f->bad_blocks.size() < FileVerification::kMaxBadListed) {
      f->bad_blocks.push_back(BadBlock{f->path, blockno, c.kind, c.change, c.type, nullptr});
      if (f->format == FormatId::kOracle && block.size() >= 20 && block.size() % 2 == 0) {
        const oracle::BlockHeaderFields h = oracle::ReadBlockHeaderFields(block);
        f->bad_blocks.back().header = {{"type", h.type}, {"frmt", h.frmt}, {"rdba", h.rdba}, {"scn", h.scn},
                                       {"seq", h.seq}, {"flg", h.flg}, {"tail", h.tail}, {"chkval", h.chkval},
                                       {"residual", h.residual}};
      }
    }
  } else if (c.kind == BlockKind::kEmpty) {
    ++f->empty;
  } else if (c.kind == BlockKind::kAllZero) {
    ++f->zero;
  } else {
    ++f->processed;
    if (f->format == FormatId::kOracle && block.size() > 20) {
      // Reference section 4: type 6 is table or index data, told apart by the transaction header's type at byte 20.
      const bool type6 = block[0] == std::byte{6};
      if (type6 && block[20] == std::byte{1}) ++f->processed_data;
      else if (type6 && block[20] == std::byte{2}) ++f->processed_index;
      else ++f->processed_other;
    }
  }
  if (high && !c.corrupt && c.kind != BlockKind::kEmpty && c.kind != BlockKind::kAllZero && c.change > *high) {
    ++f->high_count;
    if (f->high_blocks.size() < FileVerification::kMaxHighListed) f->high_blocks.emplace_back(blockno, c.change);
  }
}

}  // namespace scnfs
