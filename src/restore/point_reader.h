// PointReader: reads any block of any file of a resolved point in time: one version lookup, one content get.
//
// Shared by restore, verify and the FUSE mount. The PointReader holds what all threads share (the store, the
// database's visibility, dictionaries); each thread reading blocks makes its own Cursor.
//
// Thread-safety: PointReader is immutable after construction and thread-safe; a Cursor belongs to one thread.
#pragma once

#include <memory>
#include <optional>
#include <vector>
#include <span>

#include <rocksdb/db.h>

#include "scnfs/catalog.h"
#include "scnfs/store.h"
#include "store/content_codec.h"
#include "store/versions.h"

namespace scnfs {

class PointReader {
 public:
  // `dicts`: the decompression dictionaries, shared by the points of a mount (each point loading its own cost about
  // 240 KB, so a mount serving 5,000 points held 1.3 GB); null: its own.
  PointReader(const Store* store, DatabaseRecord db, Visibility vis, ResolvedPoint point,
              std::shared_ptr<Dictionaries> dicts = nullptr);
  const ResolvedPoint& point() const { return point_; }
  const DatabaseRecord& database() const { return db_; }

  class Cursor {
   public:
    explicit Cursor(const PointReader& r);
    // Reads block `block` of `file` into `out` (REQUIRES: out.size() >= file.block_size). *len is set to the bytes
    // of the file in that block (short for the last block of a file whose size is not a block multiple). Every
    // content is re-hashed: a mismatch is Corruption, never wrong bytes; so is a block with no version at a point
    // that is a backup's own (at scn: points a block may have none: zeros).
    Status Read(const FileRecord& file, uint64_t block, std::span<std::byte> out, size_t* len,
                std::optional<Version>* version = nullptr);

    // What ReadRun found for one block.
    struct BlockRead {
      size_t len = 0;      // bytes of the file in this block (short for a file's last block)
      bool hole = false;   // an all-zero block, or no version at an scn: point: its bytes in `out` are zeros
    };
    // Reads blocks first..first+count-1 of `file` (REQUIRES: count <= kMaxRun, the run is inside the file,
    // out.size() >= count * file.block_size) into consecutive slots of `out`: the versions in one forward scan,
    // the contents with one MultiGet (all-zero blocks never touch the content column family). info->size()
    // becomes count. Same results as count calls of Read().
    static constexpr uint32_t kMaxRun = 256;
    Status ReadRun(const FileRecord& file, uint64_t first, uint32_t count, std::span<std::byte> out,
                   std::vector<BlockRead>* info);

   private:
    Status ReadOnce(const FileRecord& file, uint64_t block, std::span<std::byte> out, size_t* len,
                    std::optional<Version>* version);
    Status ReadRunOnce(const FileRecord& file, uint64_t first, uint32_t count, std::span<std::byte> out,
                       std::vector<BlockRead>* info);
    template <typename Attempt>
    Status RetryLostTables(Attempt&& attempt);
    Status ContentFailure(const rocksdb::Status& st, const FileRecord& file, uint64_t block, const Version& ver);

    const PointReader& r_;
    bool lost_table_ = false;  // the last attempt's content lookup met a table file that is gone
    std::vector<std::optional<Version>> run_;
    std::vector<std::optional<Version>> rest_;  // a run's blocks past an Oracle header read at an scn: point
    // The store instance values_ were read from (declared first: it closes after they let go of it).
    std::shared_ptr<const Store::Data> data_;
    std::vector<rocksdb::PinnableSlice> values_;
    std::vector<rocksdb::Status> statuses_;
    VersionReader versions_;
    BlockDecompressor decompressor_;
    std::string value_;
  };

 private:
  const Store* store_;
  DatabaseRecord db_;
  Visibility vis_;
  ResolvedPoint point_;
  std::shared_ptr<Dictionaries> dicts_;  // thread-safe; never null
};

// Loads what a point needs: database, visibility, resolved point and its file list.
struct OpenedPoint {
  std::unique_ptr<PointReader> reader;
  std::vector<FileRecord> files;
};
Result<OpenedPoint> OpenPoint(Store* store, std::string_view db_name, std::string_view spec);

}  // namespace scnfs
