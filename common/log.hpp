#pragma once
// A small logger of our own: Debian's CAF is built with its logging compiled out.
// Lines go to stderr as "2026-11-25T12:00:00.123Z INFO  [actor] message".
#include <sstream>
#include <string>

namespace dfs::log {

enum class level { trace = 0, debug, info, warn, error };

/// Parses "trace|debug|info|warn|error"; returns false for anything else.
bool parse_level(const std::string& text, level& out);

/// Set once at start-up, before any actor runs.
void set_level(level lvl);
bool enabled(level lvl);
void write(level lvl, const std::string& who, const std::string& message);

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
