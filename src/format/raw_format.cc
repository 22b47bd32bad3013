#include "format/raw_format.h"

namespace scnfs {
namespace {

class RawFormat final : public FileFormat {
 public:
  explicit RawFormat(uint32_t block_size) : block_size_(block_size) {}
  FormatId id() const override { return FormatId::kRaw; }
  uint32_t block_size() const override { return block_size_; }
  bool versioned_by_change() const override { return false; }
  BlockCheck Check(uint64_t, ByteSpan block) const override {
    BlockCheck c;
    if (IsAllZero(block)) c.kind = BlockKind::kAllZero;
    return c;
  }
  // Raw files may have any size: the last block is stored short.
  Status CheckSize(uint64_t) const override { return Status::OK(); }

 private:
  uint32_t block_size_;
};

}  // namespace

std::unique_ptr<FileFormat> MakeRawFormat(uint32_t block_size) { return std::make_unique<RawFormat>(block_size); }

}  // namespace scnfs
