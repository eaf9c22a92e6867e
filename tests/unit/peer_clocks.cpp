#define CAF_SUITE peer_clocks
#include "tests/unit/test_helpers.hpp"

#include "actors/peer_clocks.hpp"

#include <cstdint>
#include <vector>

using namespace dfs;

namespace {

constexpr uint64_t skew = 60'000;

} // namespace

CAF_TEST(no peer clock known gives no verdict) {
  CAF_CHECK(!behind_the_cluster({}, skew));
}

CAF_TEST(a node behind most nodes up by more than the skew is behind) {
  // Five nodes, this one 90 s back: four peers 90 s ahead.
  CAF_CHECK_EQUAL(behind_the_cluster({90'000, 90'100, 89'900, 90'050}, skew), uint64_t{89'900});
  // Three nodes, the other two far ahead.
  CAF_CHECK_EQUAL(behind_the_cluster({61'000, 3'600'000}, skew), uint64_t{61'000});
  // Five nodes, three far ahead and one not: still most of the five.
  CAF_CHECK_EQUAL(behind_the_cluster({70'000, 70'000, 70'000, 0}, skew), uint64_t{70'000});
}

CAF_TEST(a node within the skew or ahead is not behind) {
  CAF_CHECK_EQUAL(behind_the_cluster({60'000, 60'000, 60'000, 60'000}, skew), uint64_t{0});
  CAF_CHECK_EQUAL(behind_the_cluster({-90'000, -90'000}, skew), uint64_t{0});
  CAF_CHECK_EQUAL(behind_the_cluster({0, 10, -10, 5}, skew), uint64_t{0});
}

CAF_TEST(one fast node does not make the others behind) {
  // Five nodes, one of them an hour ahead: the other four are right.
  CAF_CHECK_EQUAL(behind_the_cluster({3'600'000, 0, 0, 0}, skew), uint64_t{0});
  // Two of five far ahead is not most of them.
  CAF_CHECK_EQUAL(behind_the_cluster({3'600'000, 90'000, 0, 0}, skew), uint64_t{0});
  // Two nodes, clocks apart: neither can tell which is wrong, so neither stops.
  CAF_CHECK_EQUAL(behind_the_cluster({3'600'000}, skew), uint64_t{0});
}
