#include "common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <utility>

namespace dfs::log {

namespace {
std::atomic<int> current_level{static_cast<int>(level::info)};
std::mutex sink_mtx;
std::function<void(level, const std::string&)> sink;

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
  char head[64];
  std::snprintf(head, sizeof head, "%s.%03dZ %s ", stamp, static_cast<int>(millis),
                level_name(lvl));
  auto line = head + ("[" + printable(who) + "] ") + printable(message);
  {
    std::lock_guard<std::mutex> guard{sink_mtx};
    if (sink)
      return sink(lvl, line);
  }
  // One fprintf per line so that lines from different threads do not interleave.
  std::fprintf(stderr, "%s\n", line.c_str());
}

void set_sink(std::function<void(level, const std::string&)> fn) {
  std::lock_guard<std::mutex> guard{sink_mtx};
  sink = std::move(fn);
}

std::string printable(std::string_view text) {
  static const char hex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (c == '\t')
      out += "\\t";
    else if (c < 0x20 || c == 0x7f)
      out += {'\\', 'x', hex[c >> 4], hex[c & 15]};
    else
      out += static_cast<char>(c);
  }
  return out;
}

bool limiter::admit(uint64_t& left_out, clock::time_point now) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (now - window_start_ >= std::chrono::seconds{1}) {
    window_start_ = now;
    in_window_ = 0;
  }
  if (in_window_ >= per_second) {
    ++left_out_;
    return false;
  }
  ++in_window_;
  left_out = std::exchange(left_out_, 0);
  return true;
}

std::string left_out_note(uint64_t left_out) {
  if (left_out == 0)
    return {};
  return " (and " + std::to_string(left_out) + " more like it, not logged)";
}

} // namespace dfs::log
