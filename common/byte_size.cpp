#include "common/byte_size.hpp"

#include <utility>

namespace dfs {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

} // namespace

std::optional<uint64_t> parse_byte_size(const std::string& text) {
  size_t pos = 0;
  size_t end = text.size();
  while (pos < end && is_space(text[pos]))
    ++pos;
  while (end > pos && is_space(text[end - 1]))
    --end;
  size_t first_digit = pos;
  uint64_t number = 0;
  for (; pos < end && text[pos] >= '0' && text[pos] <= '9'; ++pos) {
    auto digit = static_cast<uint64_t>(text[pos] - '0');
    if (number > (UINT64_MAX - digit) / 10)
      return std::nullopt;
    number = number * 10 + digit;
  }
  if (pos == first_digit)
    return std::nullopt;
  while (pos < end && is_space(text[pos]))
    ++pos;
  std::string unit = text.substr(pos, end - pos);
  constexpr uint64_t ki = 1ull << 10;
  static const std::pair<const char*, uint64_t> units[] = {
    {"", 1},
    {"B", 1},
    {"K", ki},
    {"k", ki},
    {"KiB", ki},
    {"KB", 1000ull},
    {"kB", 1000ull},
    {"M", ki * ki},
    {"MiB", ki * ki},
    {"MB", 1000ull * 1000},
    {"G", ki * ki * ki},
    {"GiB", ki * ki * ki},
    {"GB", 1000ull * 1000 * 1000},
    {"T", ki * ki * ki * ki},
    {"TiB", ki * ki * ki * ki},
    {"TB", 1000ull * 1000 * 1000 * 1000},
  };
  for (const auto& [name, factor] : units) {
    if (unit == name) {
      if (number > UINT64_MAX / factor)
        return std::nullopt;
      return number * factor;
    }
  }
  return std::nullopt;
}

} // namespace dfs
