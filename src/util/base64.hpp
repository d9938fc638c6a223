#pragma once
#include <string>
#include <string_view>

namespace germ::util {

// Standard RFC 4648 base64 with '=' padding: how binary payloads (a SentencePiece model)
// travel inside JSON metadata.
std::string base64_encode(std::string_view bytes);

// Strict inverse of base64_encode: whitespace, a missing or misplaced '=', characters outside
// the alphabet and non-zero unused trailing bits are all rejected with germ::Error("base64", ...),
// so a damaged payload is reported instead of decoding to different bytes.
std::string base64_decode(std::string_view text);

}  // namespace germ::util
