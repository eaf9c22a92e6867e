#pragma once
// A small logger of our own: Debian's CAF is built with its logging compiled out.
// Lines go to stderr as "2026-11-25T12:00:00.123Z INFO  [actor] message".
#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <sstream>
#include <string>
#include <string_view>

namespace dfs::log {

enum class level { trace = 0, debug, info, warn, error };

/// Parses "trace|debug|info|warn|error"; returns false for anything else.
bool parse_level(const std::string& text, level& out);

/// Set once at start-up, before any actor runs.
void set_level(level lvl);
bool enabled(level lvl);
/// Writes one line. Control characters in `who` and `message` (a key may hold any byte but
/// NUL) are escaped as printable() does, so that a line is always one line.
void write(level lvl, const std::string& who, const std::string& message);

/// Where lines go instead of stderr (unit tests read them); an empty function restores stderr.
void set_sink(std::function<void(level, const std::string& line)> sink);

/// `text` with every control character and backslash escaped: \\ \n \r \t, and \xHH for
/// the other bytes below 0x20 and 0x7f. Other bytes, UTF-8 included, stay as they are.
std::string printable(std::string_view text);

/// Lines of one kind (a connection closed at a limit, a refused handshake), at most
/// `per_second` a second: a flood of connections must not become a flood of log lines.
class limiter {
public:
  static constexpr int per_second = 20;
  using clock = std::chrono::steady_clock;

  /// True when a line may be written now; `left_out` is then the number of lines dropped
  /// since the last one written (left_out_note says so in the line).
  bool admit(uint64_t& left_out, clock::time_point now = clock::now());

private:
  std::mutex mtx_;
  clock::time_point window_start_;
  int in_window_ = 0;
  uint64_t left_out_ = 0;
};

/// " (and N more like it, not logged)" when N > 0, else nothing.
std::string left_out_note(uint64_t left_out);

} // namespace dfs::log

#define DFS_LOG(lvl, who, expr)                                                \
  do {                                                                         \
    if (::dfs::log::enabled(lvl)) {                                            \
      std::ostringstream dfs_log_stream_;                                      \
      dfs_log_stream_ << expr;                                                 \
      ::dfs::log::write(lvl, who, dfs_log_stream_.str());                      \
    }                                                                          \
  } while (false)
#define DFS_TRACE(who, expr) DFS_LOG(::dfs::log::level::trace, who, expr)
#define DFS_DEBUG(who, expr) DFS_LOG(::dfs::log::level::debug, who, expr)
#define DFS_INFO(who, expr) DFS_LOG(::dfs::log::level::info, who, expr)
#define DFS_WARN(who, expr) DFS_LOG(::dfs::log::level::warn, who, expr)
#define DFS_ERROR(who, expr) DFS_LOG(::dfs::log::level::error, who, expr)
