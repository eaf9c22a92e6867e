#pragma once
// The failure detector for one member, with two thresholds: a member not heard from for
// suspect_after is suspect (it may be slow, or a connection may be re-forming); not heard from
// for down_after it is down, and its data is repaired elsewhere. Heartbeats arrive on the
// member's own connection, so a connection that is lost only starts the clock.
#include "net/messages.hpp"

#include <chrono>
#include <optional>

namespace dfs {

class failure_detector {
public:
  using clock = std::chrono::steady_clock;

  failure_detector(std::chrono::milliseconds suspect_after, std::chrono::milliseconds down_after)
    : suspect_after_(suspect_after), down_after_(down_after) {}

  /// A heartbeat, a new connection: any sign of life.
  void heard(clock::time_point now) { last_heard_ = now; }

  /// up while connected and heard within suspect_after; suspect until down_after; then down.
  /// A member never heard from is down.
  member_state state(clock::time_point now, bool connected) const {
    if (!last_heard_)
      return member_state::down;
    auto silence = now - *last_heard_;
    if (connected && silence < suspect_after_)
      return member_state::up;
    if (silence < down_after_)
      return member_state::suspect;
    return member_state::down;
  }

private:
  std::chrono::milliseconds suspect_after_;
  std::chrono::milliseconds down_after_;
  std::optional<clock::time_point> last_heard_;
};

} // namespace dfs
