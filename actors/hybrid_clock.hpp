#pragma once
// A hybrid logical clock in milliseconds: never behind the wall clock, never repeating, and
// pushed past any timestamp observed from other nodes, so that a write made after reading a
// version always carries a newer one even when clocks drift.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace dfs {

class hybrid_clock {
public:
  uint64_t now() {
    uint64_t wall = static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                            std::chrono::system_clock::now().time_since_epoch())
                                            .count());
    uint64_t last = last_.load();
    uint64_t next;
    do {
      next = std::max(wall, last + 1);
    } while (!last_.compare_exchange_weak(last, next));
    return next;
  }

  void observe(uint64_t remote) {
    uint64_t last = last_.load();
    while (remote > last && !last_.compare_exchange_weak(last, remote)) {
    }
  }

private:
  std::atomic<uint64_t> last_{0};
};

} // namespace dfs
