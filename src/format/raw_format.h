// Raw format: any file cut into fixed-size blocks, versioned by the backup that read them. Nothing to check
// beyond "all zero" (which costs no content storage).
#pragma once

#include <memory>

#include "scnfs/format.h"

namespace scnfs {

inline constexpr uint32_t kDefaultRawBlockSize = 8192;

std::unique_ptr<FileFormat> MakeRawFormat(uint32_t block_size);

}  // namespace scnfs
