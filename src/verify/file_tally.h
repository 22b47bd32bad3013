// Tallies block checks into a FileVerification (shared by store and disk verification).
#pragma once

#include <algorithm>
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

// Adds `part` (the tally of a later run of the same file's blocks) to `into`: the lists stay in block order when
// parts are merged in block order, and stay within their bounds.
inline void MergeTally(FileVerification* into, const FileVerification& part) {
  into->examined += part.examined;
  into->processed += part.processed;
  into->processed_data += part.processed_data;
  into->processed_index += part.processed_index;
  into->processed_other += part.processed_other;
  into->influx += part.influx;
  into->empty += part.empty;
  into->zero += part.zero;
  into->corrupt += part.corrupt;
  into->partial += part.partial;
  for (const auto& [kind, n] : part.corrupt_by_kind) into->corrupt_by_kind[kind] += n;
  into->highest_change = std::max(into->highest_change, part.highest_change);
  for (const auto& b : part.bad_blocks) {
    if (into->bad_blocks.size() >= FileVerification::kMaxBadListed) break;
    into->bad_blocks.push_back(b);
  }
  into->high_count += part.high_count;
  for (const auto& h : part.high_blocks) {
    if (into->high_blocks.size() >= FileVerification::kMaxHighListed) break;
    into->high_blocks.push_back(h);
  }
}

}  // namespace scnfs
