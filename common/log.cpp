#include "common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace dfs::log {

namespace {
std::atomic<int> current_level{static_cast<int>(level::info)};

const char* level_name(level lvl) {
  switch (lvl) {
    case level::trace: return "TRACE";
    case level::debug: return "DEBUG";
    case level::info: return "INFO ";
    case level::warn: return "WARN ";
    case level::error: return "ERROR";
  }
  return "?";
}
} // namespace

bool parse_level(const std::string& text, level& out) {
  static const char* names[] = {"trace", "debug", "info", "warn", "error"};
  for (int i = 0; i < 5; ++i)
    if (text == names[i]) {
      out = static_cast<level>(i);
      return true;
    }
  return false;
}

void set_level(level lvl) { current_level = static_cast<int>(lvl); }

bool enabled(level lvl) { return static_cast<int>(lvl) >= current_level.load(); }

void write(level lvl, const std::string& who, const std::string& message) {
  using namespace std::chrono;
  auto now = system_clock::now();
  auto secs = system_clock::to_time_t(now);
  auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&secs, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  // One fprintf per line so that lines from different threads do not interleave.
  std::fprintf(stderr, "%s.%03dZ %s [%s] %s\n", stamp, static_cast<int>(millis),
               level_name(lvl), who.c_str(), message.c_str());
}

} // namespace dfs::log
