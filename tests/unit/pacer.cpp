#define CAF_SUITE pacer
#include "tests/unit/test_helpers.hpp"

#include "common/pacer.hpp"

using namespace dfs;
using namespace std::chrono_literals;

namespace {

using clock = pacer::clock;

// A fixed point in time: the pacer only compares the times it is given.
const clock::time_point t0 = clock::time_point{} + 1h;

} // namespace

CAF_TEST(the pacer keeps the read rate and saves no burst) {
  pacer unlimited{0};
  CAF_CHECK(unlimited.after(t0, 1 << 30) == clock::duration::zero());
  pacer p{1000}; // bytes per second
  CAF_CHECK(p.after(t0, 500) == std::chrono::milliseconds{500});
  // Read again before the wait is over: the waits add up.
  CAF_CHECK(p.after(t0, 500) == std::chrono::milliseconds{1000});
  // After a long idle time the next read waits its own share only.
  auto later = t0 + std::chrono::seconds{60};
  CAF_CHECK(p.after(later, 100) == std::chrono::milliseconds{100});
  // An error costs no bytes, so no wait beyond what is owed.
  CAF_CHECK(p.after(later + std::chrono::milliseconds{100}, 0) == clock::duration::zero());
}

CAF_TEST(a fresh pacer lets the first transfer start at once) {
  pacer p{1000};
  CAF_CHECK(p.wait(t0) == clock::duration::zero());
  CAF_CHECK(p.wait(clock::time_point{}) == clock::duration::zero());
}

CAF_TEST(the wait shrinks as time passes and ends when the bytes are paid for) {
  pacer p{1 << 20}; // 1 MiB/s
  p.charge(t0, 4 << 20);
  CAF_CHECK(p.wait(t0) == 4s);
  CAF_CHECK(p.wait(t0 + 1s) == 3s);
  CAF_CHECK(p.wait(t0 + 3500ms) == 500ms);
  CAF_CHECK(p.wait(t0 + 4s) == clock::duration::zero());
  CAF_CHECK(p.wait(t0 + 10s) == clock::duration::zero());
}

CAF_TEST(charges while waiting queue up behind each other) {
  pacer p{1000};
  p.charge(t0, 1000);
  p.charge(t0 + 200ms, 1000); // the second starts only after the first's second is over
  CAF_CHECK(p.wait(t0 + 200ms) == 1800ms);
}

CAF_TEST(no limit never waits) {
  pacer p{0};
  p.charge(t0, UINT64_MAX);
  CAF_CHECK(p.wait(t0) == clock::duration::zero());
}
