#define CAF_SUITE failure_detector
#include "tests/unit/test_helpers.hpp"

#include "actors/failure_detector.hpp"
#include "net/messages.hpp"

#include <chrono>

using namespace dfs;
using namespace std::chrono_literals;

namespace {

using clock_type = failure_detector::clock;

// Explicit time points: the detector only ever sees what it is given, so nothing sleeps.
const clock_type::time_point t0 = clock_type::time_point{} + 1000s;

constexpr std::chrono::milliseconds suspect_after = 2000ms;
constexpr std::chrono::milliseconds down_after = 10000ms;

failure_detector make() { return failure_detector{suspect_after, down_after}; }

} // namespace

CAF_TEST(a member never heard from is down) {
  auto fd = make();
  auto up = member_state::up;
  auto down = member_state::down;
  for (auto at : {clock_type::time_point{}, t0, t0 + 1ms, t0 + 1h}) {
    auto connected = fd.state(at, true);
    auto disconnected = fd.state(at, false);
    CAF_CHECK_EQUAL(connected, down);
    CAF_CHECK_EQUAL(disconnected, down);
    CAF_CHECK_NOT_EQUAL(connected, up);
  }
}

CAF_TEST(heard and connected is up until suspect_after) {
  auto fd = make();
  fd.heard(t0);
  auto up = member_state::up;
  auto suspect = member_state::suspect;
  for (auto offset : {0ms, 1ms, 1000ms, suspect_after - 1ms}) {
    auto s = fd.state(t0 + offset, true);
    CAF_CHECK_EQUAL(s, up);
  }
  auto at_threshold = fd.state(t0 + suspect_after, true);
  CAF_CHECK_EQUAL(at_threshold, suspect);
}

CAF_TEST(between suspect_after and down_after a member is suspect whether connected or not) {
  auto fd = make();
  fd.heard(t0);
  auto suspect = member_state::suspect;
  auto down = member_state::down;
  for (auto offset : {suspect_after, suspect_after + 1ms, 5000ms, down_after - 1ms}) {
    auto connected = fd.state(t0 + offset, true);
    auto disconnected = fd.state(t0 + offset, false);
    CAF_CHECK_EQUAL(connected, suspect);
    CAF_CHECK_EQUAL(disconnected, suspect);
  }
  auto at_down_connected = fd.state(t0 + down_after, true);
  auto at_down_disconnected = fd.state(t0 + down_after, false);
  CAF_CHECK_EQUAL(at_down_connected, down);
  CAF_CHECK_EQUAL(at_down_disconnected, down);
}

CAF_TEST(after down_after a member is down) {
  auto fd = make();
  fd.heard(t0);
  auto down = member_state::down;
  for (auto offset : {down_after, down_after + 1ms, 60000ms, std::chrono::milliseconds{24h}}) {
    auto connected = fd.state(t0 + offset, true);
    auto disconnected = fd.state(t0 + offset, false);
    CAF_CHECK_EQUAL(connected, down);
    CAF_CHECK_EQUAL(disconnected, down);
  }
}

CAF_TEST(disconnected but recently heard is suspect not up) {
  auto fd = make();
  fd.heard(t0);
  auto up = member_state::up;
  auto suspect = member_state::suspect;
  for (auto offset : {0ms, 1ms, suspect_after - 1ms}) {
    auto disconnected = fd.state(t0 + offset, false);
    CAF_CHECK_EQUAL(disconnected, suspect);
    CAF_CHECK_NOT_EQUAL(disconnected, up);
    // The same instant with the connection in place is up: only the connection differs.
    auto connected = fd.state(t0 + offset, true);
    CAF_CHECK_EQUAL(connected, up);
  }
}

CAF_TEST(a new heartbeat after down makes the member up again) {
  auto fd = make();
  fd.heard(t0);
  auto up = member_state::up;
  auto suspect = member_state::suspect;
  auto down = member_state::down;
  auto later = t0 + down_after + 5000ms;
  auto before = fd.state(later, true);
  CAF_CHECK_EQUAL(before, down);
  fd.heard(later);
  auto after = fd.state(later, true);
  CAF_CHECK_EQUAL(after, up);
  auto soon = fd.state(later + suspect_after - 1ms, true);
  CAF_CHECK_EQUAL(soon, up);
  // The clock restarts from the new heartbeat, not from the first one.
  auto suspect_again = fd.state(later + suspect_after, true);
  CAF_CHECK_EQUAL(suspect_again, suspect);
  auto down_again = fd.state(later + down_after, true);
  CAF_CHECK_EQUAL(down_again, down);
}

CAF_TEST(each heartbeat restarts the silence) {
  auto fd = make();
  auto up = member_state::up;
  // Heartbeats every second for a minute: always up, although a minute is past down_after.
  for (int i = 0; i <= 60; ++i) {
    auto at = t0 + std::chrono::seconds{i};
    fd.heard(at);
    auto s = fd.state(at + 999ms, true);
    CAF_CHECK_EQUAL(s, up);
  }
}
