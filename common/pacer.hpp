#pragma once
// Pacing background transfers to a byte rate, so that they leave the disk and the network to
// the clients: the scrubber's reads ([storage] scrub_rate) and repair's copies ([cluster]
// repair_rate). The caller passes the time, so the pacer holds no clock and tests need none.
#include <chrono>
#include <cstdint>

namespace dfs {

/// Paces transfers to `rate` bytes per second (0 = no limit): a transfer of n bytes pushes the
/// earliest start of the next one n / rate seconds further, and idle time is not saved up for
/// bursts.
class pacer {
public:
  using clock = std::chrono::steady_clock;

  explicit pacer(uint64_t rate = 0) : rate_(rate) {}

  /// How long after `now` the next transfer may start; zero when it may start now.
  clock::duration wait(clock::time_point now) const {
    return next_ > now ? next_ - now : clock::duration::zero();
  }

  /// Counts a transfer of `bytes` at `now` against the rate.
  void charge(clock::time_point now, uint64_t bytes);

  /// charge, then wait: for a caller that learns the size only once the transfer is done.
  clock::duration after(clock::time_point now, uint64_t bytes) {
    charge(now, bytes);
    return wait(now);
  }

private:
  uint64_t rate_;
  clock::time_point next_{}; // the earliest start of the next transfer
};

} // namespace dfs
