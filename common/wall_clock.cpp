#include "common/wall_clock.hpp"

#include <cerrno>
#include <chrono>
#include <cstdlib>

namespace dfs {

namespace {

constexpr int64_t max_test_offset_seconds = 10ll * 365 * 86400;

std::optional<int64_t> parse_offset(const char* text) {
  if (text == nullptr || *text == '\0')
    return 0;
  char* end = nullptr;
  errno = 0;
  long long n = std::strtoll(text, &end, 10);
  if (errno != 0 || *end != '\0' || n > max_test_offset_seconds || n < -max_test_offset_seconds)
    return std::nullopt;
  return static_cast<int64_t>(n);
}

} // namespace

std::optional<int64_t> test_clock_offset_seconds() {
  return parse_offset(std::getenv(test_clock_offset_variable));
}

uint64_t wall_clock_ms() {
  // Read once: the offset is a fact about the process, fixed before the first timestamp.
  static const int64_t offset_ms = test_clock_offset_seconds().value_or(0) * 1000;
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
               .count();
  return static_cast<uint64_t>(now + offset_ms);
}

} // namespace dfs
