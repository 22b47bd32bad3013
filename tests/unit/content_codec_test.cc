// Content values (store/content_codec.h): every codec decodes to the bytes that were encoded, with the right
// dictionary however a thread's decodes alternate between dictionaries, and damaged values are errors.
#include <cstring>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "scnfs/store.h"
#include "store/content_codec.h"
#include "temp_dir.h"

namespace scnfs {
namespace {
constexpr size_t kBlock = 8192;

// A block of rows drawn from a vocabulary of 300 words per `kind`, with a number each: a word seldom repeats inside
// one block, so a dictionary trained on blocks of the same kind (it learns the words) makes them much smaller, and
// each kind needs its own.
std::string MakeBlock(int kind, uint32_t seed) {
  std::mt19937 vocab_rng(uint32_t(kind) * 104729u);
  std::vector<std::string> vocab(300);
  for (auto& w : vocab)
    for (int i = 0; i < 12; ++i) w += char('a' + vocab_rng() % 26);
  std::mt19937 rng(seed * 7919u + uint32_t(kind));
  std::string b;
  while (b.size() < kBlock) b += vocab[rng() % vocab.size()] + std::to_string(rng() % 10000) + ";";
  b.resize(kBlock);
  return b;
}

class ContentCodec : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(Store::Create(dir_ / "store").ok());
    auto s = Store::Open(dir_ / "store", Store::Mode::kWriter);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    store_ = std::move(s.value());
  }
  // Trains and stores a dictionary on 256 blocks of `kind`; returns its id.
  uint32_t TrainOn(int kind) {
    std::vector<std::string> samples;
    for (uint32_t i = 0; i < 256; ++i) samples.push_back(MakeBlock(kind, i));
    auto c = TrainAndStoreDictionaries(store_.get(), samples);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    EXPECT_NE(c.value().id, kNoDictionary);
    return c.ok() ? c.value().id : kNoDictionary;
  }
  static ByteSpan Bytes(const std::string& s) { return ByteSpan(reinterpret_cast<const std::byte*>(s.data()), s.size()); }

  testing::TempDir dir_;  // outlives store_ (members die in reverse order)
  std::unique_ptr<Store> store_;
};

TEST_F(ContentCodec, EveryCodecRoundTrips) {
  const uint32_t dict = TrainOn(1);
  Dictionaries dicts(store_.get());
  BlockCompressor enc(&dicts);
  BlockDecompressor dec(&dicts);
  std::string incompressible(kBlock, '\0');
  std::mt19937 rng(5);
  for (auto& c : incompressible) c = char(rng());
  const std::string block = MakeBlock(1, 1000);
  struct Case {
    const std::string* bytes;
    uint32_t dict;
    Codec codec;
  } cases[] = {{&block, kNoDictionary, Codec::kZstd}, {&block, dict, Codec::kZstdDict},
               {&incompressible, dict, Codec::kStored}};
  for (const auto& c : cases) {
    std::string value;
    ASSERT_TRUE(enc.Encode(Bytes(*c.bytes), c.dict, &value).ok());
    EXPECT_EQ(Codec(value[0]), c.codec);
    std::vector<std::byte> out(kBlock);
    size_t len = 0;
    ASSERT_TRUE(dec.Decode(value, out, &len).ok());
    ASSERT_EQ(len, kBlock);
    EXPECT_EQ(std::memcmp(out.data(), c.bytes->data(), kBlock), 0);
  }
  std::string with_dict, without;
  ASSERT_TRUE(enc.Encode(Bytes(block), dict, &with_dict).ok());
  ASSERT_TRUE(enc.Encode(Bytes(block), kNoDictionary, &without).ok());
  EXPECT_LT(with_dict.size(), without.size()) << "the dictionary should help on blocks like its samples";
}

// A thread keeps the last two dictionaries it used; encodes and decodes that cycle through three must still each
// use their own (a frame records its dictionary's id, so zstd refuses a wrong one).
TEST_F(ContentCodec, AlternatingBetweenThreeDictionariesUsesTheRightOne) {
  const uint32_t ids[3] = {TrainOn(1), TrainOn(2), TrainOn(3)};
  ASSERT_NE(ids[0], ids[1]);
  ASSERT_NE(ids[1], ids[2]);
  Dictionaries dicts(store_.get());
  // One compressor, kinds interleaved: value i is kind i % 3.
  BlockCompressor enc(&dicts);
  std::vector<std::string> blocks, values;
  const int kinds[] = {0, 1, 0, 2, 1, 2, 0, 0, 1, 2, 2, 1};
  for (size_t i = 0; i < std::size(kinds); ++i) {
    blocks.push_back(MakeBlock(kinds[i] + 1, 5000 + uint32_t(i)));
    values.emplace_back();
    ASSERT_TRUE(enc.Encode(Bytes(blocks.back()), ids[kinds[i]], &values.back()).ok());
    ASSERT_EQ(Codec(values.back()[0]), Codec::kZstdDict);
  }
  const auto check = [&](BlockDecompressor& dec, size_t i) {
    std::vector<std::byte> out(kBlock);
    size_t len = 0;
    Status st = dec.Decode(values[i], out, &len);
    ASSERT_TRUE(st.ok()) << "value " << i << ": " << st.ToString();
    ASSERT_EQ(len, kBlock);
    EXPECT_EQ(std::memcmp(out.data(), blocks[i].data(), kBlock), 0) << "value " << i;
  };
  // Each value on its own decompressor: whatever the compressor's cache did, the value names the dictionary used.
  for (size_t i = 0; i < values.size(); ++i) {
    BlockDecompressor fresh(&dicts);
    check(fresh, i);
  }
  // One decompressor in orders that hit the most recent, the second most recent and an evicted dictionary.
  BlockDecompressor dec(&dicts);
  for (size_t i : {0, 1, 0, 3, 1, 3, 2, 4, 5, 6, 7, 8, 9, 10, 11, 0, 0}) check(dec, i);
}

// A compressor copies a dictionary's table into its context for content that compresses poorly (large frames, much
// searching) and references it in place for content that compresses well; the frames differ but decode alike.
TEST_F(ContentCodec, PoorlyCompressingBlocksCopyTheDictionaryWellCompressingOnesAttachIt) {
  const uint32_t dict = TrainOn(1);
  Dictionaries dicts(store_.get());
  std::mt19937 rng(11);
  std::vector<std::string> poor, good;
  for (uint32_t i = 0; i < 40; ++i) {
    std::string b = MakeBlock(1, 7000 + i);
    for (size_t k = 0; k < kBlock / 2; ++k) b[k] = char(rng());  // half noise: frames of ~5 KiB
    poor.push_back(b);
    good.push_back(MakeBlock(1, 7000 + i % 2).substr(0, 512));
    while (good.back().size() < kBlock) good.back() += good.back().substr(0, 512);  // repeats: frames of ~0.3 KiB
    good.back().resize(kBlock);
  }
  BlockCompressor fresh(&dicts), enc(&dicts);
  BlockDecompressor dec(&dicts);
  const auto round_trip = [&](const std::string& v, const std::string& b) {
    std::vector<std::byte> out(kBlock);
    size_t len = 0;
    ASSERT_TRUE(dec.Decode(v, out, &len).ok());
    ASSERT_EQ(len, kBlock);
    EXPECT_EQ(std::memcmp(out.data(), b.data(), kBlock), 0);
  };
  std::string v, first_frame;
  ASSERT_TRUE(fresh.Encode(Bytes(poor[0]), dict, &first_frame).ok());
  EXPECT_FALSE(fresh.copied_dictionary()) << "nothing measured yet: zstd's own choice (attach, for 8 KiB)";
  for (size_t i = 0; i < poor.size(); ++i) {
    ASSERT_TRUE(enc.Encode(Bytes(poor[i]), dict, &v).ok());
    ASSERT_EQ(Codec(v[0]), Codec::kZstdDict);
    round_trip(v, poor[i]);
    if (i == 20) {
      ASSERT_TRUE(enc.Encode(Bytes(good[0]), kNoDictionary, &v).ok());  // the simple API in between
    }
  }
  EXPECT_TRUE(enc.copied_dictionary());
  ASSERT_TRUE(enc.Encode(Bytes(poor[0]), dict, &v).ok());
  EXPECT_TRUE(enc.copied_dictionary());
  EXPECT_TRUE(v != first_frame) << "the copied table should give zstd another frame for the same block";
  round_trip(v, poor[0]);
  round_trip(first_frame, poor[0]);
  for (size_t i = 0; i < good.size(); ++i) {
    ASSERT_TRUE(enc.Encode(Bytes(good[i]), dict, &v).ok());
    round_trip(v, good[i]);
  }
  EXPECT_FALSE(enc.copied_dictionary()) << "small frames: the dictionary is attached again";
}

TEST_F(ContentCodec, DamagedValuesAreCorruptionNotCrashes) {
  const uint32_t dict = TrainOn(1);
  Dictionaries dicts(store_.get());
  BlockCompressor enc(&dicts);
  BlockDecompressor dec(&dicts);
  const std::string block = MakeBlock(1, 77);
  std::string good;
  ASSERT_TRUE(enc.Encode(Bytes(block), dict, &good).ok());
  std::vector<std::byte> out(kBlock);
  size_t len = 0;

  std::string missing_dict = good;
  missing_dict[4] = char(missing_dict[4] + 100);  // a dictionary id nobody stored
  EXPECT_TRUE(dec.Decode(missing_dict, out, &len).code() == Status::Code::kCorruption);
  std::string truncated = good.substr(0, good.size() / 2);
  EXPECT_TRUE(dec.Decode(truncated, out, &len).code() == Status::Code::kCorruption);
  EXPECT_TRUE(dec.Decode(std::string_view(), out, &len).code() == Status::Code::kCorruption);
  EXPECT_TRUE(dec.Decode(std::string(1, char(9)) + "xyz", out, &len).code() == Status::Code::kCorruption);
  std::vector<std::byte> small(kBlock / 2);
  EXPECT_TRUE(dec.Decode(good, small, &len).code() == Status::Code::kCorruption) << "content larger than the buffer";
  // A failed lookup is not remembered: the good value still decodes afterwards.
  ASSERT_TRUE(dec.Decode(good, out, &len).ok());
  EXPECT_EQ(std::memcmp(out.data(), block.data(), kBlock), 0);
}

}  // namespace
}  // namespace scnfs
