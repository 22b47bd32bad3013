// Tallies block checks into a FileVerification (shared by store and disk verification).
#pragma once

#include "scnfs/oracle_format.h"
#include "scnfs/verify.h"

namespace scnfs {

// `block`: the block's bytes, for a bad Oracle block's header dump (may be empty).
inline void Tally(FileVerification* f, uint64_t blockno, const BlockCheck& c, bool count_examined, ByteSpan block = {}) {
  if (!count_examined && !c.corrupt) return;  // Oracle block 0: not a page DBVERIFY counts
  if (count_examined) ++f->examined;
  // As DBVERIFY's "Highest block SCN": a corrupt block's header is garbage, its SCN included.
  if (!c.corrupt) f->highest_change = std::max(f->highest_change, c.change);
  if (c.corrupt) {
    ++f->corrupt;
    ++f->corrupt_by_kind[std::string(BlockKindName(c.kind))];
    if (f->bad_blocks.size() < 100) {
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
  }
}

}  // namespace scnfs
