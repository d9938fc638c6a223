#include "util/base64.hpp"

#include <array>
#include <cstdint>

#include "util/error.hpp"

namespace germ::util {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr int8_t kInvalid = -1;

constexpr std::array<int8_t, 256> make_decode_table() {
  std::array<int8_t, 256> table{};
  for (auto& entry : table) entry = kInvalid;
  for (int value = 0; value < 64; ++value)
    table[static_cast<unsigned char>(kAlphabet[value])] = static_cast<int8_t>(value);
  return table;
}
constexpr std::array<int8_t, 256> kDecodeTable = make_decode_table();

[[noreturn]] void reject(const std::string& problem) { throw Error("base64", problem); }

}  // namespace

std::string base64_encode(std::string_view bytes) {
  std::string text;
  text.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t group = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) |
                     uint8_t(bytes[i + 2]);
    text += kAlphabet[(group >> 18) & 63];
    text += kAlphabet[(group >> 12) & 63];
    text += kAlphabet[(group >> 6) & 63];
    text += kAlphabet[group & 63];
  }
  size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t group = uint32_t(uint8_t(bytes[i])) << 16;
    if (rest == 2) group |= uint32_t(uint8_t(bytes[i + 1])) << 8;
    text += kAlphabet[(group >> 18) & 63];
    text += kAlphabet[(group >> 12) & 63];
    text += rest == 2 ? kAlphabet[(group >> 6) & 63] : '=';
    text += '=';
  }
  return text;
}

std::string base64_decode(std::string_view text) {
  if (text.size() % 4 != 0)
    reject("length " + std::to_string(text.size()) + " is not a multiple of 4");
  size_t padding = 0;
  if (!text.empty() && text.back() == '=') padding = text[text.size() - 2] == '=' ? 2 : 1;
  std::string bytes;
  bytes.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    bool last_group = i + 4 == text.size();
    size_t data_chars = last_group ? 4 - padding : 4;
    uint32_t group = 0;
    for (size_t k = 0; k < 4; ++k) {
      uint32_t value = 0;
      if (k < data_chars) {
        int8_t decoded = kDecodeTable[static_cast<unsigned char>(text[i + k])];
        if (decoded == kInvalid) reject("invalid character at offset " + std::to_string(i + k));
        value = static_cast<uint32_t>(decoded);
      }
      group = (group << 6) | value;
    }
    bytes += static_cast<char>((group >> 16) & 0xff);
    if (data_chars >= 3) bytes += static_cast<char>((group >> 8) & 0xff);
    if (data_chars == 4) bytes += static_cast<char>(group & 0xff);
    // Bits below the last whole byte must be zero, or two texts would decode to the same bytes.
    uint32_t unused_bits = data_chars == 2   ? (group & 0xffff)
                           : data_chars == 3 ? (group & 0xff)
                                             : 0;
    if (unused_bits != 0) reject("non-zero padding bits in the final group");
  }
  return bytes;
}

}  // namespace germ::util
