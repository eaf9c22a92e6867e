#pragma once
// A hybrid logical clock in milliseconds: never behind the wall clock, never repeating, and
// pushed past timestamps observed from other nodes, so that a write made after reading a
// version always carries a newer one even when clocks drift.
//
// Bounded: a timestamp more than max_skew ahead of this node's wall clock is not observed
// (observe answers false and the clock stays where it is). Otherwise one node with its clock
// far ahead, or one forged manifest, would drag every node's clock forward for good. The
// arithmetic saturates: at UINT64_MAX the clock cannot advance, and next() answers an error
// rather than repeating a timestamp.
//
// A node whose wall clock is more than max_skew behind most of the cluster's issues no versions
// at all (see actors/peer_clocks.hpp): its writes could pass under a collected tombstone.
#include "common/error.hpp"
#include "common/wall_clock.hpp"

#include <caf/expected.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace dfs {

class hybrid_clock {
public:
  using wall_source = std::function<uint64_t()>;

  explicit hybrid_clock(std::chrono::milliseconds max_skew = default_max_clock_skew,
                        wall_source wall = wall_clock_ms)
    : max_skew_ms_(static_cast<uint64_t>(max_skew.count())), wall_(std::move(wall)) {}

  /// A timestamp for a new write: above every one issued or observed so far, and not behind the
  /// wall clock. errc::clock_skew when the clock stands at UINT64_MAX and cannot advance, or
  /// while this node's wall clock is known to be far behind the cluster's.
  caf::expected<uint64_t> next() {
    if (auto behind = behind_ms_.load())
      return make_error(errc::clock_skew,
                        "this node's wall clock is " + std::to_string(behind / 1000)
                          + " s behind most of the cluster's nodes, more than [cluster] "
                          + "max_clock_skew (" + std::to_string(max_skew_ms_ / 1000)
                          + " s): it takes no writes until its clock is set right (NTP)");
    if (auto t = advance())
      return *t;
    return make_error(errc::clock_skew, "this node's hybrid clock has reached its largest value "
                                        "and cannot advance: no newer version can be issued");
  }

  /// The same where a time is wanted rather than a fresh version (membership's admin
  /// versions, replication's grace periods): at the top it stays at UINT64_MAX.
  uint64_t now() { return advance().value_or(UINT64_MAX); }

  /// Moves the clock up to `remote` if that is no more than max_skew ahead of the wall clock;
  /// false (and the clock unchanged) when it is further ahead.
  bool observe(uint64_t remote) {
    if (remote > latest_acceptable())
      return false;
    uint64_t last = last_.load();
    while (remote > last && !last_.compare_exchange_weak(last, remote)) {
    }
    return true;
  }

  /// The largest timestamp this node accepts now: its wall clock plus max_skew.
  uint64_t latest_acceptable() const { return saturating_add(wall_(), max_skew_ms_); }

  uint64_t wall() const { return wall_(); }

  /// How far this node's wall clock is behind most of the cluster's (0: not more than
  /// max_skew), as membership judges it from its peers' heartbeats (actors/peer_clocks.hpp).
  void set_behind_cluster(uint64_t ms) { behind_ms_.store(ms); }
  uint64_t behind_cluster() const { return behind_ms_.load(); }

  std::chrono::milliseconds max_skew() const {
    return std::chrono::milliseconds{static_cast<int64_t>(max_skew_ms_)};
  }

private:
  std::optional<uint64_t> advance() {
    uint64_t wall = wall_();
    uint64_t last = last_.load();
    uint64_t next;
    do {
      if (last == UINT64_MAX)
        return std::nullopt;
      next = std::max(wall, last + 1);
    } while (!last_.compare_exchange_weak(last, next));
    return next;
  }

  uint64_t max_skew_ms_;
  wall_source wall_;
  std::atomic<uint64_t> last_{0};
  std::atomic<uint64_t> behind_ms_{0};
};

} // namespace dfs
