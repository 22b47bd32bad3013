#include "store/content_codec.h"

#define ZDICT_STATIC_LINKING_ONLY
#include <zdict.h>
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "scnfs/store.h"
#include "util/coding.h"

namespace scnfs {

namespace {

// Looks `id` up in a thread's two most recently used dictionaries; on a miss asks `load` and keeps the answer in
// place of the older one.
template <typename Dict, typename Load>
Result<const Dict*> RecentDictionary(std::pair<uint32_t, const Dict*> (&recent)[2], uint32_t id, Load load) {
  if (recent[0].second != nullptr && recent[0].first == id) return recent[0].second;
  if (recent[1].second != nullptr && recent[1].first == id) {
    std::swap(recent[0], recent[1]);
    return recent[0].second;
  }
  Result<const Dict*> d = load(id);
  if (!d.ok()) return d.status();
  recent[1] = recent[0];
  recent[0] = {id, d.value()};
  return d.value();
}

}  // namespace

std::string DictionaryKey(uint32_t id) {
  std::string k = "dict/";
  PutBE32(&k, id);
  return k;
}

Dictionaries::~Dictionaries() {
  for (auto& [id, d] : cdicts_) ZSTD_freeCDict(d);
  for (auto& [id, d] : ddicts_) ZSTD_freeDDict(d);
}

Status Dictionaries::Load(uint32_t id, std::string* bytes) {
  Status st = store_->GetCatalog(DictionaryKey(id), bytes);
  if (st.IsNotFound()) return Status::Corruption(fmt::format("compression dictionary {} is missing from the store", id));
  return st;
}

Result<const ZSTD_CDict_s*> Dictionaries::Encoder(uint32_t id) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto it = cdicts_.find(id); it != cdicts_.end()) return static_cast<const ZSTD_CDict_s*>(it->second);
  std::string bytes;
  SCNFS_RETURN_IF_ERROR(Load(id, &bytes));
  ZSTD_CDict* d = ZSTD_createCDict(bytes.data(), bytes.size(), level_);
  if (d == nullptr) return Status::Corruption(fmt::format("compression dictionary {} is not valid", id));
  cdicts_[id] = d;
  return static_cast<const ZSTD_CDict_s*>(d);
}

Result<const ZSTD_DDict_s*> Dictionaries::Decoder(uint32_t id) {
  std::lock_guard<std::mutex> l(mu_);
  if (auto it = ddicts_.find(id); it != ddicts_.end()) return static_cast<const ZSTD_DDict_s*>(it->second);
  std::string bytes;
  SCNFS_RETURN_IF_ERROR(Load(id, &bytes));
  ZSTD_DDict* d = ZSTD_createDDict(bytes.data(), bytes.size());
  if (d == nullptr) return Status::Corruption(fmt::format("compression dictionary {} is not valid", id));
  ddicts_[id] = d;
  return static_cast<const ZSTD_DDict_s*>(d);
}

BlockCompressor::BlockCompressor(Dictionaries* dicts, int level)
    : dicts_(dicts), level_(level), cctx_(ZSTD_createCCtx()) {}
BlockCompressor::~BlockCompressor() { ZSTD_freeCCtx(cctx_); }

Status BlockCompressor::Encode(ByteSpan block, uint32_t dict_id, std::string* value) {
  const size_t header = dict_id == kNoDictionary ? 1 : 5;
  const size_t bound = ZSTD_compressBound(block.size());
  value->resize(header + bound);
  size_t n;
  if (dict_id == kNoDictionary) {
    n = ZSTD_compressCCtx(cctx_, value->data() + header, bound, block.data(), block.size(), level_);
    bound_dict_ = nullptr;  // the simple API set its own parameters: bind the dictionary afresh next time
  } else {
    SCNFS_ASSIGN_OR_RETURN(const ZSTD_CDict_s* cd,
                           RecentDictionary(recent_, dict_id, [this](uint32_t id) { return dicts_->Encoder(id); }));
    SCNFS_RETURN_IF_ERROR(EncodeWithDictionary(block, cd, bound, value->data() + header, &n));
  }
  if (ZSTD_isError(n)) return Status::IOError(fmt::format("zstd: {}", ZSTD_getErrorName(n)));
  if (n + header >= block.size() + 1) {  // incompressible: store it as is
    value->resize(1 + block.size());
    (*value)[0] = char(Codec::kStored);
    std::memcpy(value->data() + 1, block.data(), block.size());
    return Status::OK();
  }
  (*value)[0] = char(dict_id == kNoDictionary ? Codec::kZstd : Codec::kZstdDict);
  if (dict_id != kNoDictionary) EncodeBE32(value->data() + 1, dict_id);
  value->resize(header + n);
  return Status::OK();
}

Status BlockCompressor::EncodeWithDictionary(ByteSpan block, const ZSTD_CDict_s* cd, size_t dst_capacity, char* dst,
                                             size_t* n) {
  const bool copy = frame_bytes_avg_ >= kCopyDictionaryFromFrameBytes;
  if (cd != bound_dict_ || copy != bound_copy_) {
    // Default, not "force attach": above 8 KiB zstd itself copies, which suits larger blocks of any content.
    size_t r = ZSTD_CCtx_reset(cctx_, ZSTD_reset_session_and_parameters);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx_, ZSTD_c_compressionLevel, level_);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_setParameter(cctx_, ZSTD_c_forceAttachDict,
                                                     copy ? ZSTD_dictForceCopy : ZSTD_dictDefaultAttach);
    if (!ZSTD_isError(r)) r = ZSTD_CCtx_refCDict(cctx_, cd);
    if (ZSTD_isError(r)) {
      bound_dict_ = nullptr;
      return Status::IOError(fmt::format("zstd: {}", ZSTD_getErrorName(r)));
    }
    bound_dict_ = cd;
    bound_copy_ = copy;
  }
  *n = ZSTD_compress2(cctx_, dst, dst_capacity, block.data(), block.size());
  if (ZSTD_isError(*n)) {
    bound_dict_ = nullptr;  // an error may leave the context mid-frame: bind afresh next time
    return Status::IOError(fmt::format("zstd: {}", ZSTD_getErrorName(*n)));
  }
  frame_bytes_avg_ += (double(*n) - frame_bytes_avg_) / 16;
  return Status::OK();
}

BlockDecompressor::BlockDecompressor(Dictionaries* dicts) : dicts_(dicts), dctx_(ZSTD_createDCtx()) {}
BlockDecompressor::~BlockDecompressor() { ZSTD_freeDCtx(dctx_); }

Status BlockCompressor::Encode(ByteSpan block, const DictionaryChoice& choice, std::string* value) {
  SCNFS_RETURN_IF_ERROR(Encode(block, choice.id, value));
  if (choice.second_id == kNoDictionary || value->size() <= size_t(choice.second_threshold) + 5) return Status::OK();
  SCNFS_RETURN_IF_ERROR(Encode(block, choice.second_id, &alt_));
  if (alt_.size() < value->size()) value->swap(alt_);
  return Status::OK();
}

Status BlockDecompressor::Decode(std::string_view value, std::span<std::byte> out, size_t* len) {
  if (value.empty()) return Status::Corruption("empty content value");
  auto codec = Codec(value[0]);
  switch (codec) {
    case Codec::kStored:
      if (value.size() - 1 > out.size()) return Status::Corruption("stored content larger than a block");
      std::memcpy(out.data(), value.data() + 1, value.size() - 1);
      *len = value.size() - 1;
      return Status::OK();
    case Codec::kZstd: {
      size_t n = ZSTD_decompressDCtx(dctx_, out.data(), out.size(), value.data() + 1, value.size() - 1);
      if (ZSTD_isError(n)) return Status::Corruption(fmt::format("zstd: {}", ZSTD_getErrorName(n)));
      *len = n;
      return Status::OK();
    }
    case Codec::kZstdDict: {
      if (value.size() < 5) return Status::Corruption("truncated content value");
      SCNFS_ASSIGN_OR_RETURN(const ZSTD_DDict_s* dd, RecentDictionary(recent_, GetBE32(value.data() + 1),
                                                                       [this](uint32_t id) { return dicts_->Decoder(id); }));
      size_t n = ZSTD_decompress_usingDDict(dctx_, out.data(), out.size(), value.data() + 5, value.size() - 5, dd);
      if (ZSTD_isError(n)) return Status::Corruption(fmt::format("zstd: {}", ZSTD_getErrorName(n)));
      *len = n;
      return Status::OK();
    }
  }
  return Status::Corruption(fmt::format("unknown content codec {}", int(value[0])));
}

namespace {

std::string Train(const std::vector<const std::string*>& samples, int level) {
  // zstd wants ~100x the dictionary size in samples; below a few hundred KiB a dictionary does not pay.
  size_t total = 0;
  for (const auto* s : samples) total += s->size();
  if (samples.size() < 64 || total < (256u << 10)) return {};
  std::string buf;
  buf.reserve(total);
  std::vector<size_t> sizes;
  for (const auto* s : samples) {
    buf += *s;
    sizes.push_back(s->size());
  }
  // 112 KiB from up to 4096 pages (32 MiB): on pgbench 1% smaller than 64 KiB from 1024; 256 KiB gains nothing.
  std::string dict(112u << 10, '\0');
  // Fixed parameters rather than ZDICT_optimize*: the search costs seconds per database for a gain of a few
  // percent, and the first backup of a database should not wait for it.
  ZDICT_fastCover_params_t p{};
  p.k = 256;
  p.d = 8;
  p.f = 20;
  p.accel = 2;
  p.nbThreads = 2;
  p.zParams.compressionLevel = level;
  size_t n = ZDICT_trainFromBuffer_fastCover(dict.data(), dict.size(), buf.data(), sizes.data(),
                                             unsigned(sizes.size()), p);
  if (ZDICT_isError(n)) return {};  // too uniform to train on: compress without one
  dict.resize(n);
  return dict;
}

// Total frame bytes of `samples` compressed with `dict` (sizes[i] per sample when sizes != nullptr).
// Runs on two threads: it compresses all 32 MiB of samples once more while the first backup waits.
size_t FrameBytes(const std::vector<const std::string*>& samples, const std::string& dict, int level,
                  std::vector<size_t>* sizes) {
  ZSTD_CDict* cd = ZSTD_createCDict(dict.data(), dict.size(), level);
  std::vector<size_t> each(samples.size());
  const auto compress = [&](size_t from, size_t to) {
    ZSTD_CCtx* cctx = ZSTD_createCCtx();
    std::string out;
    for (size_t i = from; i < to; ++i) {
      const std::string& s = *samples[i];
      out.resize(ZSTD_compressBound(s.size()));
      size_t n = ZSTD_compress_usingCDict(cctx, out.data(), out.size(), s.data(), s.size(), cd);
      each[i] = ZSTD_isError(n) ? s.size() : n;
    }
    ZSTD_freeCCtx(cctx);
  };
  const size_t half = samples.size() / 2;
  std::thread other(compress, half, samples.size());
  compress(0, half);
  other.join();
  ZSTD_freeCDict(cd);
  size_t total = 0;
  for (size_t n : each) total += n;
  if (sizes) *sizes = std::move(each);
  return total;
}

Result<uint32_t> StoreDictionary(Store* store, const std::string& dict) {
  std::string next;
  uint32_t id = 1;
  if (store->GetCatalog("next_dict_id", &next).ok() && next.size() == 4) id = GetBE32(next.data());
  std::string idv;
  PutBE32(&idv, id + 1);
  SCNFS_RETURN_IF_ERROR(store->PutCatalog(DictionaryKey(id), dict, /*sync=*/false));
  SCNFS_RETURN_IF_ERROR(store->PutCatalog("next_dict_id", idv, /*sync=*/true));
  return id;
}

}  // namespace

Result<DictionaryChoice> TrainAndStoreDictionaries(Store* store, const std::vector<std::string>& samples, int level) {
  DictionaryChoice choice;
  std::vector<const std::string*> all;
  for (const auto& s : samples) all.push_back(&s);
  std::string first = Train(all, level);
  if (first.empty()) return choice;
  SCNFS_ASSIGN_OR_RETURN(choice.id, StoreDictionary(store, first));
  choice.stored_bytes = first.size();

  std::vector<size_t> sizes;
  FrameBytes(all, first, level, &sizes);
  std::vector<size_t> sorted = sizes;
  std::sort(sorted.begin(), sorted.end());
  // Blocks at least 4x the median frame are the other mode; without enough of them one dictionary serves all.
  const size_t threshold = 4 * sorted[sorted.size() / 2] + 64;
  std::vector<const std::string*> worst;
  for (size_t i = 0; i < all.size(); ++i)
    if (sizes[i] > threshold) worst.push_back(all[i]);
  if (worst.size() < std::max<size_t>(64, all.size() / 20)) return choice;
  std::string second = Train(worst, level);
  if (second.empty()) return choice;
  if (FrameBytes(worst, second, level, nullptr) * 10 > FrameBytes(worst, first, level, nullptr) * 9) return choice;
  SCNFS_ASSIGN_OR_RETURN(choice.second_id, StoreDictionary(store, second));
  choice.stored_bytes += second.size();
  choice.second_threshold = uint32_t(threshold);
  return choice;
}

}  // namespace scnfs
