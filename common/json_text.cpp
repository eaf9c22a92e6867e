#include "common/json_text.hpp"

#include <cstdio>

namespace dfs {

namespace {

/// Length of the well-formed UTF-8 sequence at s[i], or 0 when the bytes there are not one
/// (overlong forms, surrogates and code points past U+10FFFF included).
size_t utf8_sequence_length(const std::string& s, size_t i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  auto c = byte(i);
  size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || i + n > s.size())
    return 0;
  for (size_t k = 1; k < n; ++k)
    if ((byte(i + k) & 0xC0) != 0x80)
      return 0;
  if (n == 2 && c < 0xC2)
    return 0; // overlong
  if (n == 3) {
    auto c1 = byte(i + 1);
    if ((c == 0xE0 && c1 < 0xA0) || (c == 0xED && c1 >= 0xA0))
      return 0; // overlong, or a UTF-16 surrogate
  }
  if (n == 4) {
    auto c1 = byte(i + 1);
    if ((c == 0xF0 && c1 < 0x90) || (c == 0xF4 && c1 >= 0x90) || c > 0xF4)
      return 0;
  }
  return n;
}

} // namespace

std::string json_string(const std::string& text) {
  std::string out = "\"";
  for (size_t i = 0; i < text.size();) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
      ++i;
    } else if (c == '\n') {
      out += "\\n", ++i;
    } else if (c == '\r') {
      out += "\\r", ++i;
    } else if (c == '\t') {
      out += "\\t", ++i;
    } else if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
      ++i;
    } else if (auto n = utf8_sequence_length(text, i); n > 0) {
      out.append(text, i, n);
      i += n;
    } else {
      // Keys are bytes, JSON is Unicode: a byte that is not UTF-8 cannot be carried as is.
      out += "\\ufffd";
      ++i;
    }
  }
  out += '"';
  return out;
}

} // namespace dfs
