#include <gtest/gtest.h>

#include <vector>

#include "quant/int_packing.hpp"
#include "quant/quant_math.hpp"
#include "util/error.hpp"

using namespace germ::quant;

namespace {

at::Tensor bytes(const std::vector<int>& values) {
  at::Tensor t = at::empty({static_cast<int64_t>(values.size())}, at::kByte);
  for (size_t i = 0; i < values.size(); ++i) t.data_ptr<uint8_t>()[i] = static_cast<uint8_t>(values[i]);
  return t;
}

at::Tensor codes_of(const std::vector<int>& values) {
  return at::tensor(std::vector<int64_t>(values.begin(), values.end())).to(at::kChar);
}

}  // namespace

TEST(IntPacking, StorageBitsRoundUpToTheNextContainer) {
  EXPECT_EQ(storage_bits(2), 4);
  EXPECT_EQ(storage_bits(3), 4);
  EXPECT_EQ(storage_bits(4), 4);
  EXPECT_EQ(storage_bits(5), 6);
  EXPECT_EQ(storage_bits(6), 6);
  EXPECT_EQ(storage_bits(7), 8);
  EXPECT_EQ(storage_bits(8), 8);
  EXPECT_THROW(storage_bits(1), germ::Error);
  EXPECT_THROW(storage_bits(9), germ::Error);
}

TEST(IntPacking, PackedBytesAreTheBitsRoundedUpToBytes) {
  EXPECT_EQ(packed_bytes(0, 4), 0);
  EXPECT_EQ(packed_bytes(1, 4), 1);
  EXPECT_EQ(packed_bytes(2, 4), 1);
  EXPECT_EQ(packed_bytes(5, 4), 3);
  EXPECT_EQ(packed_bytes(5, 2), 3);
  EXPECT_EQ(packed_bytes(1, 6), 1);
  EXPECT_EQ(packed_bytes(2, 6), 2);
  EXPECT_EQ(packed_bytes(3, 6), 3);
  EXPECT_EQ(packed_bytes(4, 6), 3);
  EXPECT_EQ(packed_bytes(5, 6), 4);
  EXPECT_EQ(packed_bytes(1001, 6), 751);
  EXPECT_EQ(packed_bytes(1001, 5), 751);
  EXPECT_EQ(packed_bytes(5, 8), 5);
  EXPECT_EQ(packed_bytes(5, 7), 5);
}

TEST(IntPacking, FourBitsPutTheFirstCodeOfAPairInTheLowNibble) {
  // (1, -1) -> 0xF1, (7, -7) -> 0x97, (3, padding 0) -> 0x03.
  at::Tensor packed = pack_codes(codes_of({1, -1, 7, -7, 3}), 4);
  ASSERT_EQ(packed.scalar_type(), at::kByte);
  EXPECT_TRUE(at::equal(packed, bytes({0xF1, 0x97, 0x03})));
}

TEST(IntPacking, SixBitsPackFourCodesIntoALittleEndianWord) {
  // 1 | -1 << 6 | 31 << 12 | -31 << 18 over 24 bits = 0x85FFC1 -> C1 FF 85; then 5 alone -> 05.
  at::Tensor packed = pack_codes(codes_of({1, -1, 31, -31, 5}), 6);
  ASSERT_EQ(packed.scalar_type(), at::kByte);
  EXPECT_TRUE(at::equal(packed, bytes({0xC1, 0xFF, 0x85, 0x05})));
}

TEST(IntPacking, EightBitsAreStoredAsTheyAre) {
  at::Tensor codes = codes_of({-127, 0, 127, 5}).reshape({2, 2});
  at::Tensor packed = pack_codes(codes, 8);
  EXPECT_EQ(packed.scalar_type(), at::kChar);
  EXPECT_EQ(packed.dim(), 1);
  EXPECT_TRUE(at::equal(packed, codes.reshape({-1})));
}

TEST(IntPacking, RoundTripsEveryWidthAndOddSizes) {
  at::manual_seed(11);
  for (int bits = 2; bits <= 8; ++bits) {
    const int64_t qmax = symmetric_qmax(bits);
    for (int64_t numel : {1, 2, 3, 4, 5, 7, 8, 1001}) {
      at::Tensor codes = at::randint(-qmax, qmax + 1, {numel}, at::kChar);
      codes[0] = -qmax;
      codes[numel - 1] = qmax;
      at::Tensor packed = pack_codes(codes, bits);
      EXPECT_EQ(packed.numel(), packed_bytes(numel, bits)) << bits << " bits, " << numel;
      at::Tensor back = unpack_codes(packed, bits, numel);
      EXPECT_EQ(back.scalar_type(), at::kChar);
      EXPECT_TRUE(at::equal(back, codes)) << bits << " bits, " << numel;
    }
  }
  // Matrices come back flattened.
  at::Tensor matrix = at::randint(-7, 8, {3, 5}, at::kChar);
  EXPECT_TRUE(at::equal(unpack_codes(pack_codes(matrix, 4), 4, 15), matrix.reshape({-1})));
}

TEST(IntPacking, UnpackRejectsWrongDtypeAndSize) {
  at::Tensor packed4 = pack_codes(codes_of({1, 2, 3}), 4);  // 2 bytes
  EXPECT_THROW(unpack_codes(packed4.to(at::kChar), 4, 3), germ::Error);
  EXPECT_THROW(unpack_codes(packed4, 4, 5), germ::Error);
  EXPECT_THROW(unpack_codes(packed4, 4, 1), germ::Error);
  EXPECT_THROW(unpack_codes(packed4.to(at::kInt), 4, 3), germ::Error);

  at::Tensor packed6 = pack_codes(codes_of({1, 2, 3, 4, 5}), 6);  // 4 bytes
  EXPECT_THROW(unpack_codes(packed6, 6, 8), germ::Error);
  EXPECT_THROW(unpack_codes(at::cat({packed6, bytes({0, 0})}), 6, 5), germ::Error);

  at::Tensor packed8 = pack_codes(codes_of({1, 2, 3}), 8);
  EXPECT_THROW(unpack_codes(packed8.to(at::kByte), 8, 3), germ::Error);
  EXPECT_THROW(unpack_codes(packed8, 8, 4), germ::Error);
  EXPECT_NO_THROW(unpack_codes(packed8, 7, 3));
}

TEST(IntPacking, CodesOutsideTheSymmetricRangeAreRejected) {
  // -8 fits a nibble but not the narrow 4-bit range; 4 is outside 3-bit codes' [-3, 3].
  EXPECT_THROW(unpack_codes(bytes({0x08}), 4, 1), germ::Error);
  EXPECT_THROW(unpack_codes(bytes({0x04}), 3, 1), germ::Error);
  EXPECT_THROW(unpack_codes(codes_of({-128}), 8, 1), germ::Error);
  EXPECT_THROW(pack_codes(codes_of({8}), 4), germ::Error);
  EXPECT_THROW(pack_codes(codes_of({-32}), 6), germ::Error);
  EXPECT_THROW(pack_codes(codes_of({1}).to(at::kInt), 4), germ::Error);
}
