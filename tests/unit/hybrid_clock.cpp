#define CAF_SUITE hybrid_clock
#include "tests/unit/test_helpers.hpp"

#include "actors/hybrid_clock.hpp"
#include "common/manifest.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace dfs;

namespace {

uint64_t wall_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count());
}

manifest with_version(uint64_t hlc, const std::string& node, bool deleted = false) {
  manifest m;
  m.key = "k";
  m.version = version{hlc, node};
  m.deleted = deleted;
  return m;
}

} // namespace

CAF_TEST(now is strictly increasing) {
  hybrid_clock clk;
  uint64_t prev = clk.now();
  size_t not_increasing = 0;
  for (int i = 0; i < 100000; ++i) {
    uint64_t next = clk.now();
    if (next <= prev && not_increasing++ == 0)
      CAF_MESSAGE("now() went from " << prev << " to " << next);
    prev = next;
  }
  CAF_CHECK_EQUAL(not_increasing, 0u);
}

CAF_TEST(now is never behind the wall clock) {
  hybrid_clock clk;
  size_t behind = 0;
  for (int i = 0; i < 20000; ++i) {
    uint64_t before = wall_ms();
    uint64_t t = clk.now();
    if (t < before && behind++ == 0)
      CAF_MESSAGE("now() " << t << " behind the wall clock " << before);
  }
  CAF_CHECK_EQUAL(behind, 0u);
  // A fresh clock starts at the wall clock, not at some small counter.
  hybrid_clock fresh;
  uint64_t before = wall_ms();
  uint64_t t = fresh.now();
  uint64_t after = wall_ms();
  CAF_CHECK_GREATER_OR_EQUAL(t, before);
  CAF_CHECK_LESS_OR_EQUAL(t, after);
}

CAF_TEST(observing a future timestamp pushes now past it) {
  hybrid_clock clk;
  uint64_t future = wall_ms() + 10000;
  clk.observe(future);
  uint64_t next = clk.now();
  CAF_CHECK_GREATER(next, future);
  uint64_t then = clk.now();
  CAF_CHECK_GREATER(then, next);
  // Still ahead of the wall clock: the observed time is not forgotten.
  uint64_t wall = wall_ms();
  CAF_CHECK_GREATER(then, wall);
}

CAF_TEST(observing a past timestamp changes nothing) {
  // Two clocks with the same history, far enough ahead of the wall clock that now() is
  // determined by the history alone; one of them also observes past values.
  uint64_t future = wall_ms() + 60000;
  hybrid_clock a;
  hybrid_clock b;
  a.observe(future);
  b.observe(future);
  uint64_t a1 = a.now();
  uint64_t b1 = b.now();
  CAF_CHECK_EQUAL(a1, b1);
  b.observe(b1 - 1);
  b.observe(future);
  b.observe(b1); // equal to the last value is not newer either
  b.observe(0);
  uint64_t a2 = a.now();
  uint64_t b2 = b.now();
  CAF_CHECK_EQUAL(a2, b2);
  CAF_CHECK_GREATER(b2, b1);
  // On a clock following the wall clock, a past value leaves it on the wall clock.
  hybrid_clock c;
  c.observe(wall_ms() - 10000);
  uint64_t before = wall_ms();
  uint64_t t = c.now();
  uint64_t after = wall_ms();
  CAF_CHECK_GREATER_OR_EQUAL(t, before);
  CAF_CHECK_LESS_OR_EQUAL(t, after);
}

CAF_TEST(two threads never get the same value) {
  // 2 threads x 10,000 calls on one clock must give 20,000 distinct values. A race shows only
  // when the calls really overlap, so the threads start together, and the round is repeated
  // (on a loaded machine one round may run the threads one after the other).
  constexpr size_t per_thread = 10000;
  constexpr int rounds = 20;
  size_t rounds_with_duplicates = 0;
  size_t not_increasing = 0;
  for (int round = 0; round < rounds; ++round) {
    hybrid_clock clk;
    std::vector<uint64_t> xs;
    std::vector<uint64_t> ys;
    xs.reserve(per_thread);
    ys.reserve(per_thread);
    std::atomic<int> ready{0};
    auto run = [&clk, &ready](std::vector<uint64_t>& out) {
      ready.fetch_add(1);
      while (ready.load() < 2)
        std::this_thread::yield();
      for (size_t i = 0; i < per_thread; ++i)
        out.push_back(clk.now());
    };
    std::thread t1{run, std::ref(xs)};
    std::thread t2{run, std::ref(ys)};
    t1.join();
    t2.join();
    std::set<uint64_t> all(xs.begin(), xs.end());
    all.insert(ys.begin(), ys.end());
    if (all.size() != 2 * per_thread) {
      if (rounds_with_duplicates++ == 0)
        CAF_MESSAGE("round " << round << ": " << all.size() << " distinct values of "
                             << 2 * per_thread);
    }
    // And each thread sees its own values increase.
    for (auto* v : {&xs, &ys})
      for (size_t i = 1; i < v->size(); ++i)
        if ((*v)[i] <= (*v)[i - 1])
          ++not_increasing;
  }
  CAF_CHECK_EQUAL(rounds_with_duplicates, 0u);
  CAF_CHECK_EQUAL(not_increasing, 0u);
}

CAF_TEST(versions order by hlc first then node id) {
  version a{100, "bbbb"};
  version b{101, "aaaa"};
  version c{101, "cccc"};
  version a_again{100, "bbbb"};
  CAF_CHECK(a < b); // hlc decides though a's node id is larger
  CAF_CHECK(!(b < a));
  CAF_CHECK(b < c); // same hlc: node id breaks the tie
  CAF_CHECK(!(c < b));
  CAF_CHECK(a < c);
  CAF_CHECK(!(a < a_again));
  CAF_CHECK(!(a_again < a));
  CAF_CHECK(a == a_again);
  CAF_CHECK(!(b == c));
  CAF_CHECK(!(a == version{100, "cccc"}));
  CAF_CHECK(!(a == version{99, "bbbb"}));
  // A strict total order: exactly one of x < y, y < x, x == y for every pair.
  std::vector<version> vs{{0, ""},   {0, "a"},  {1, ""},    {1, "a"},   {1, "b"},
                          {2, "a"},  {UINT64_MAX, "a"},     {UINT64_MAX, "b"}};
  size_t bad = 0;
  for (auto& x : vs)
    for (auto& y : vs) {
      int n = (x < y) + (y < x) + (x == y);
      if (n != 1)
        ++bad;
    }
  CAF_CHECK_EQUAL(bad, 0u);
}

CAF_TEST(newer_than follows the version order) {
  auto older = with_version(100, "zzzz");
  auto newer = with_version(101, "aaaa");
  CAF_CHECK(newer.newer_than(older));
  CAF_CHECK(!older.newer_than(newer));
  auto tie_low = with_version(200, "aaaa");
  auto tie_high = with_version(200, "bbbb");
  CAF_CHECK(tie_high.newer_than(tie_low));
  CAF_CHECK(!tie_low.newer_than(tie_high));
  // Not newer than itself, or than an equal version.
  CAF_CHECK(!newer.newer_than(newer));
  auto copy = with_version(101, "aaaa");
  CAF_CHECK(!newer.newer_than(copy));
  CAF_CHECK(!copy.newer_than(newer));
  // A tombstone is compared by its version like any other write.
  auto tomb = with_version(102, "aaaa", true);
  CAF_CHECK(tomb.newer_than(newer));
  CAF_CHECK(!newer.newer_than(tomb));
  auto old_tomb = with_version(99, "zzzz", true);
  CAF_CHECK(newer.newer_than(old_tomb));
  CAF_CHECK(!old_tomb.newer_than(newer));
}

// -- bounded against the wall clock ----------------------------------------------------------

namespace {

/// A wall clock the test sets by hand.
struct fake_wall {
  std::shared_ptr<uint64_t> ms = std::make_shared<uint64_t>(1'000'000);
  hybrid_clock::wall_source source() const {
    return [ms = ms] { return *ms; };
  }
};

} // namespace

CAF_TEST(a timestamp further ahead than max_skew is refused and leaves the clock alone) {
  fake_wall wall;
  hybrid_clock clk{std::chrono::seconds{60}, wall.source()};
  auto before = clk.now();
  CAF_CHECK_EQUAL(before, 1'000'000u);
  // One hour ahead: refused, and the next timestamp still follows the wall clock.
  CAF_CHECK(!clk.observe(1'000'000 + 3'600'000));
  CAF_CHECK_EQUAL(clk.now(), before + 1);
  // Far in the future, and the largest value there is: refused too.
  CAF_CHECK(!clk.observe(UINT64_MAX));
  CAF_CHECK_EQUAL(clk.now(), before + 2);
  // Exactly max_skew ahead is accepted, and the clock moves past it.
  CAF_CHECK(clk.observe(1'000'000 + 60'000));
  CAF_CHECK_EQUAL(clk.now(), 1'060'001u);
  // Once the wall clock has moved on, what was too far ahead becomes acceptable.
  *wall.ms += 3'600'000;
  CAF_CHECK(clk.observe(1'000'000 + 3'600'000 + 30'000));
  CAF_CHECK_EQUAL(clk.now(), 4'630'001u);
  CAF_CHECK_EQUAL(clk.latest_acceptable(), 4'660'000u);
}

CAF_TEST(the clock saturates at its largest value instead of wrapping) {
  fake_wall wall;
  *wall.ms = UINT64_MAX - 5;
  hybrid_clock clk{std::chrono::seconds{60}, wall.source()};
  // wall + max_skew does not wrap around to a small number: the top is acceptable.
  CAF_CHECK_EQUAL(clk.latest_acceptable(), UINT64_MAX);
  CAF_CHECK(clk.observe(UINT64_MAX - 1));
  auto last = clk.next();
  CAF_REQUIRE(last);
  CAF_CHECK_EQUAL(*last, UINT64_MAX);
  // No newer timestamp exists: next() fails instead of repeating (or wrapping to 0).
  auto stuck = clk.next();
  CAF_REQUIRE(!stuck);
  CAF_CHECK(code_of(stuck.error()) == errc::clock_skew);
  CAF_MESSAGE(describe(stuck.error()));
  CAF_CHECK_EQUAL(clk.now(), UINT64_MAX); // a time, not a version: it stays at the top
}

CAF_TEST(a clock seeded with the newest version held issues newer ones though the wall clock went back) {
  // A node restarted with its clock set back 30 s: its store holds versions from before.
  fake_wall wall;
  uint64_t newest_held = *wall.ms;
  *wall.ms -= 30'000;
  hybrid_clock unseeded{std::chrono::seconds{60}, wall.source()};
  auto unseeded_first = unseeded.next().value(); // what a node without seeding would issue
  CAF_CHECK_LESS(unseeded_first, newest_held);
  hybrid_clock clk{std::chrono::seconds{60}, wall.source()};
  CAF_CHECK(clk.observe(newest_held));
  auto first = clk.next();
  CAF_REQUIRE(first);
  CAF_CHECK_GREATER(*first, newest_held);
  // Versions held further ahead than max_skew are not followed: the seed is refused.
  hybrid_clock far{std::chrono::seconds{10}, wall.source()};
  CAF_CHECK(!far.observe(newest_held));
  auto far_first = far.next().value();
  CAF_CHECK_LESS(far_first, newest_held);
}

CAF_TEST(a clock known to be far behind the cluster issues no versions until it is set right) {
  hybrid_clock clk{std::chrono::seconds{60}, [] { return uint64_t{1'000'000}; }};
  auto before = clk.next();
  CAF_REQUIRE(before);
  clk.set_behind_cluster(90'000);
  auto refused = clk.next();
  CAF_REQUIRE(!refused);
  CAF_CHECK(code_of(refused.error()) == errc::clock_skew);
  CAF_CHECK_NOT_EQUAL(describe(refused.error()).find("90 s behind"), std::string::npos);
  CAF_CHECK_NOT_EQUAL(describe(refused.error()).find("max_clock_skew (60 s)"), std::string::npos);
  // Times for other uses (admin versions, grace periods) go on.
  CAF_CHECK_GREATER(clk.now(), *before);
  clk.set_behind_cluster(0);
  auto after = clk.next();
  CAF_REQUIRE(after);
  CAF_CHECK_GREATER(*after, *before);
}
