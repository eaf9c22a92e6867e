#define CAF_SUITE placement
#include "tests/unit/test_helpers.hpp"

#include "actors/placement.hpp"
#include "common/crypto.hpp"
#include "common/manifest.hpp"

#include <algorithm>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace dfs;

namespace {

// Everything below is derived from counters: the same items and nodes on every run.
sha256_digest item(size_t i) {
  auto text = "item-" + std::to_string(i);
  return sha256(text.data(), text.size());
}

std::vector<std::string> node_ids(size_t n) {
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) {
    auto text = "node-" + std::to_string(i);
    ids.push_back(to_hex(sha256(text.data(), text.size())).substr(0, 32));
  }
  return ids;
}

/// The node ids of the first r ranks.
std::vector<std::string> top(const sha256_digest& it, const std::vector<std::string>& ids,
                             size_t r) {
  auto order = rank_nodes(it, ids);
  std::vector<std::string> out;
  for (size_t i = 0; i < r && i < order.size(); ++i)
    out.push_back(ids[order[i]]);
  return out;
}

constexpr size_t item_count = 10000;

} // namespace

CAF_TEST(the score is the first 8 bytes of SHA-256 of item and node id) {
  auto it = item(1);
  auto id = node_ids(1)[0];
  std::string input(reinterpret_cast<const char*>(it.data()), it.size());
  input += id;
  auto d = sha256(input.data(), input.size());
  uint64_t expected = 0;
  for (int i = 0; i < 8; ++i)
    expected = (expected << 8) | d[i];
  CAF_CHECK_EQUAL(rendezvous_score(it, id), expected);
  CAF_CHECK_NOT_EQUAL(rendezvous_score(it, id), rendezvous_score(item(2), id));
  CAF_CHECK_NOT_EQUAL(rendezvous_score(it, id), rendezvous_score(it, node_ids(2)[1]));
}

CAF_TEST(the ranking is a permutation ordered by score) {
  auto ids = node_ids(7);
  for (size_t i = 0; i < 200; ++i) {
    auto it = item(i);
    auto order = rank_nodes(it, ids);
    CAF_REQUIRE_EQUAL(order.size(), ids.size());
    auto sorted = order;
    std::sort(sorted.begin(), sorted.end());
    std::vector<size_t> iota(ids.size());
    std::iota(iota.begin(), iota.end(), size_t{0});
    CAF_CHECK(sorted == iota);
    for (size_t k = 1; k < order.size(); ++k)
      CAF_CHECK_GREATER_OR_EQUAL(rendezvous_score(it, ids[order[k - 1]]),
                                 rendezvous_score(it, ids[order[k]]));
    CAF_CHECK(rank_nodes(it, ids) == order); // deterministic
  }
  CAF_CHECK(rank_nodes(item(0), {}).empty());
  CAF_CHECK(rank_nodes(item(0), {ids[0]}) == std::vector<size_t>{0});
}

CAF_TEST(the ranking does not depend on the order of the node list) {
  auto ids = node_ids(8);
  std::mt19937 gen{12345};
  for (size_t i = 0; i < 500; ++i) {
    auto it = item(i);
    auto shuffled = ids;
    std::shuffle(shuffled.begin(), shuffled.end(), gen);
    CAF_CHECK(top(it, ids, ids.size()) == top(it, shuffled, shuffled.size()));
  }
}

CAF_TEST(first places are spread evenly) {
  auto ids = node_ids(5);
  std::vector<size_t> first(ids.size(), 0);
  std::vector<size_t> in_top3(ids.size(), 0);
  for (size_t i = 0; i < item_count; ++i) {
    auto order = rank_nodes(item(i), ids);
    ++first[order[0]];
    for (size_t k = 0; k < 3; ++k)
      ++in_top3[order[k]];
  }
  // Expected 2,000 first places (sd 40) and 6,000 top-3 places (sd 49) per node: +-20% is
  // a bound no even spread misses, and these items are fixed anyway.
  for (size_t n = 0; n < ids.size(); ++n) {
    CAF_MESSAGE("node " << n << ": " << first[n] << " first places, " << in_top3[n] << " in the top 3");
    CAF_CHECK_GREATER_OR_EQUAL(first[n], 1600u);
    CAF_CHECK_LESS_OR_EQUAL(first[n], 2400u);
    CAF_CHECK_GREATER_OR_EQUAL(in_top3[n], 4800u);
    CAF_CHECK_LESS_OR_EQUAL(in_top3[n], 7200u);
  }
}

// With rendezvous hashing, a sixth node enters an item's top 3 with probability 3/6; when it
// does it pushes out exactly one old holder (the old third) and leaves the other two in place.
// So about half the items change their set, each by one slot: 1/6 of all (item, replica)
// slots move, and nothing else does.
CAF_TEST(adding a sixth node moves about one sixth of the replica slots) {
  auto six = node_ids(6);
  auto five = std::vector<std::string>(six.begin(), six.begin() + 5);
  const auto& newcomer = six[5];
  const size_t r = 3;
  size_t items_changed = 0;
  size_t slots_moved = 0;
  size_t primaries_moved = 0;
  size_t odd_changes = 0; // anything rendezvous hashing should never do
  for (size_t i = 0; i < item_count; ++i) {
    auto it = item(i);
    auto before = top(it, five, r);
    auto after = top(it, six, r);
    std::set<std::string> b(before.begin(), before.end());
    std::set<std::string> a(after.begin(), after.end());
    std::vector<std::string> gone;
    std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(gone));
    slots_moved += gone.size();
    if (before[0] != after[0]) {
      ++primaries_moved;
      if (after[0] != newcomer)
        ++odd_changes; // a primary changed to an old node
    }
    if (gone.empty()) {
      if (before != after)
        ++odd_changes; // same set, different order
      continue;
    }
    ++items_changed;
    // Exactly one slot moved, to the newcomer, and the one pushed out was the old third.
    if (gone.size() != 1 || !a.count(newcomer) || gone[0] != before[2])
      ++odd_changes;
  }
  double item_fraction = double(items_changed) / item_count;
  double slot_fraction = double(slots_moved) / (item_count * r);
  double primary_fraction = double(primaries_moved) / item_count;
  CAF_MESSAGE("items changed " << item_fraction << ", slots moved " << slot_fraction
                               << ", primaries moved " << primary_fraction);
  CAF_CHECK_EQUAL(odd_changes, 0u);
  CAF_CHECK_GREATER_OR_EQUAL(item_fraction, 0.45);  // expected 1/2
  CAF_CHECK_LESS_OR_EQUAL(item_fraction, 0.55);
  CAF_CHECK_GREATER_OR_EQUAL(slot_fraction, 0.15);  // expected 1/6
  CAF_CHECK_LESS_OR_EQUAL(slot_fraction, 0.185);
  CAF_CHECK_GREATER_OR_EQUAL(primary_fraction, 0.14); // expected 1/6
  CAF_CHECK_LESS_OR_EQUAL(primary_fraction, 0.19);
}

CAF_TEST(removing a node moves only the slots it held) {
  auto six = node_ids(6);
  auto without = six;
  auto removed = without[2];
  without.erase(without.begin() + 2);
  size_t odd_changes = 0;
  size_t items_changed = 0;
  for (size_t i = 0; i < item_count; ++i) {
    auto it = item(i);
    auto before = top(it, six, 3);
    auto after = top(it, without, 3);
    bool held = std::find(before.begin(), before.end(), removed) != before.end();
    if (!held) {
      if (before != after)
        ++odd_changes;
      continue;
    }
    ++items_changed;
    // The survivors keep their order; the old fourth moves up into the last slot.
    auto survivors = before;
    survivors.erase(std::find(survivors.begin(), survivors.end(), removed));
    auto fourth = top(it, six, 4)[3];
    survivors.push_back(fourth);
    if (after != survivors)
      ++odd_changes;
  }
  CAF_CHECK_EQUAL(odd_changes, 0u);
  double fraction = double(items_changed) / item_count; // expected 3/6
  CAF_CHECK_GREATER_OR_EQUAL(fraction, 0.45);
  CAF_CHECK_LESS_OR_EQUAL(fraction, 0.55);
}

CAF_TEST(manifests are placed by their key) {
  auto ids = node_ids(5);
  CAF_CHECK(manifest_placement_id("a/b") == manifest_placement_id("a/b"));
  CAF_CHECK(manifest_placement_id("a/b") != manifest_placement_id("a/c"));
  std::string tagged = "manifest:a/b";
  CAF_CHECK(manifest_placement_id("a/b") == sha256(tagged.data(), tagged.size()));
  CAF_CHECK(rank_nodes(manifest_placement_id("a/b"), ids)
            == rank_nodes(manifest_placement_id("a/b"), ids));
}

CAF_TEST(the first R in rendezvous order are the top R ranks of any pool) {
  auto ids = node_ids(5);
  auto same_id = [](const std::string& id) { return id; };
  for (size_t i = 0; i < 200; ++i) {
    for (size_t r : {0, 1, 3, 5, 8}) {
      auto expected = top(item(i), ids, r);
      CAF_CHECK(first_in_rendezvous_order(item(i), ids, r, same_id) == expected);
      // Ranked by the id an element carries, whatever else it holds.
      struct member {
        std::string id;
        size_t index;
      };
      std::vector<member> pool;
      for (size_t k = 0; k < ids.size(); ++k)
        pool.push_back({ids[k], k});
      auto got = first_in_rendezvous_order(item(i), pool, r, [](auto& m) { return m.id; });
      CAF_REQUIRE_EQUAL(got.size(), expected.size());
      for (size_t k = 0; k < got.size(); ++k)
        CAF_CHECK(got[k].id == expected[k] && ids[got[k].index] == expected[k]);
    }
  }
  CAF_CHECK(first_in_rendezvous_order(item(0), std::vector<std::string>{}, 3, same_id).empty());
}
