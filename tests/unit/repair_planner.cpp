#define CAF_SUITE repair_planner
#include "tests/unit/test_helpers.hpp"

#include "actors/placement.hpp"
#include "actors/repair_planner.hpp"
#include "common/crypto.hpp"
#include "common/manifest.hpp"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace dfs;

namespace {

// Items and nodes derived from counters: the same on every run.
sha256_digest item(size_t i) {
  auto text = "repair-item-" + std::to_string(i);
  return sha256(text.data(), text.size());
}

std::vector<std::string> node_ids(size_t n) {
  std::vector<std::string> ids;
  for (size_t i = 0; i < n; ++i) {
    auto text = "repair-node-" + std::to_string(i);
    ids.push_back(to_hex(sha256(text.data(), text.size())).substr(0, 32));
  }
  return ids;
}

placement_view view_of(const std::string& self, const std::vector<std::string>& pool,
                       size_t replicas = 3) {
  placement_view v;
  v.self_id = self;
  v.targets_pool = pool;
  v.replicas = replicas;
  return v;
}

/// The nodes in rendezvous order, computed from the scores directly (not from rank_nodes).
std::vector<std::string> by_score(const sha256_digest& it, std::vector<std::string> nodes) {
  std::sort(nodes.begin(), nodes.end(), [&](const std::string& a, const std::string& b) {
    auto sa = rendezvous_score(it, a);
    auto sb = rendezvous_score(it, b);
    return sa != sb ? sa > sb : a < b;
  });
  return nodes;
}

std::vector<std::string> first_n(std::vector<std::string> xs, size_t n) {
  if (xs.size() > n)
    xs.resize(n);
  return xs;
}

/// The holder that must do the copying: the first holder in rendezvous order.
std::string first_holder(const sha256_digest& it, const std::set<std::string>& holders) {
  return by_score(it, std::vector<std::string>(holders.begin(), holders.end())).front();
}

std::set<std::string> as_set(const std::vector<std::string>& xs) {
  return std::set<std::string>(xs.begin(), xs.end());
}

bool contains(const std::vector<std::string>& xs, const std::string& x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

chunk_id cid(const std::string& text) { return chunk_id::of(text.data(), text.size()); }

manifest make_manifest(const std::string& key, uint64_t hlc, std::vector<std::string> chunks,
                       bool deleted = false) {
  manifest m;
  m.key = key;
  m.version = version{hlc, "node-a"};
  m.deleted = deleted;
  for (auto& c : chunks)
    m.chunks.push_back(chunk_ref{cid(c), static_cast<uint32_t>(c.size())});
  return m;
}

} // namespace

// -- item_targets ---------------------------------------------------------------------------

CAF_TEST(item targets are the first min of R and pool in rendezvous order) {
  auto all = node_ids(8);
  size_t bad = 0;
  for (size_t n = 0; n <= all.size(); ++n) {
    std::vector<std::string> pool(all.begin(), all.begin() + n);
    for (size_t r : {1u, 2u, 3u, 5u}) {
      for (size_t i = 0; i < 200; ++i) {
        auto it = item(i);
        auto got = item_targets(it, view_of("x", pool, r));
        auto want = first_n(by_score(it, pool), std::min(r, n));
        if (got != want && bad++ == 0)
          CAF_MESSAGE("wrong targets for pool " << n << ", R " << r << ", item " << i);
      }
    }
  }
  CAF_CHECK_EQUAL(bad, 0u);
  // The sizes spelled out.
  auto it = item(0);
  auto empty = item_targets(it, view_of("x", {}, 3));
  CAF_CHECK(empty.empty());
  auto two = item_targets(it, view_of("x", first_n(all, 2), 3));
  CAF_CHECK_EQUAL(two.size(), 2u);
  auto three = item_targets(it, view_of("x", all, 3));
  CAF_CHECK_EQUAL(three.size(), 3u);
}

CAF_TEST(item targets do not depend on the order of the pool) {
  auto pool = node_ids(7);
  std::mt19937 gen{4711};
  size_t bad = 0;
  for (size_t i = 0; i < 500; ++i) {
    auto it = item(i);
    auto shuffled = pool;
    std::shuffle(shuffled.begin(), shuffled.end(), gen);
    auto a = item_targets(it, view_of("x", pool));
    auto b = item_targets(it, view_of("x", shuffled));
    if (a != b)
      ++bad;
  }
  CAF_CHECK_EQUAL(bad, 0u);
}

// -- plan_item ------------------------------------------------------------------------------

CAF_TEST(when every target holds the item nobody copies and only non targets drop) {
  auto pool = node_ids(6);
  size_t bad_copy = 0;
  size_t bad_drop = 0;
  size_t drops = 0;
  for (size_t i = 0; i < 300; ++i) {
    auto it = item(i);
    auto targets = item_targets(it, view_of("x", pool));
    // Every target holds it, and so does one non-target (a surplus copy).
    auto holders = as_set(targets);
    auto ordered = by_score(it, pool);
    auto surplus = ordered[3 + i % 3];
    holders.insert(surplus);
    for (auto& self : pool) {
      bool holds = holders.count(self) > 0;
      auto plan = plan_item(it, holders, holds, view_of(self, pool));
      if (!plan.copy_to.empty())
        ++bad_copy;
      bool want_drop = self == surplus;
      if (plan.drop_local != want_drop)
        ++bad_drop;
      drops += plan.drop_local;
      // A target never drops, whatever it is told about itself.
      if (contains(targets, self)) {
        auto again = plan_item(it, holders, true, view_of(self, pool));
        if (again.drop_local)
          ++bad_drop;
      }
    }
  }
  CAF_CHECK_EQUAL(bad_copy, 0u);
  CAF_CHECK_EQUAL(bad_drop, 0u);
  CAF_CHECK_EQUAL(drops, 300u);
}

CAF_TEST(a holder outside the pool drops once every target holds the item) {
  // A leaving member: readable, holding a copy, but no longer where data belongs. With R larger
  // than the pool, every member of the pool is a target.
  auto ids = node_ids(3);
  std::vector<std::string> pool{ids[0], ids[1]};
  const auto& leaving = ids[2];
  for (size_t i = 0; i < 50; ++i) {
    auto it = item(i);
    std::set<std::string> holders{ids[0], ids[1], leaving};
    auto plan = plan_item(it, holders, true, view_of(leaving, pool, 3));
    CAF_CHECK(plan.drop_local);
    // Before the second target holds it: no drop.
    std::set<std::string> partial{ids[0], leaving};
    auto early = plan_item(it, partial, true, view_of(leaving, pool, 3));
    CAF_CHECK(!early.drop_local);
  }
}

CAF_TEST(when two of three targets die exactly one holder repairs) {
  auto all = node_ids(5);
  const std::set<std::string> dead{all[0], all[1]};
  std::vector<std::string> survivors{all[2], all[3], all[4]};
  std::map<std::string, size_t> responsible_for;        // all items with copying to do
  std::map<std::string, size_t> responsible_two_dead;   // items that lost two of three targets
  size_t items_two_dead = 0;
  size_t items_with_work = 0;
  size_t multi_holder_items = 0;
  size_t bad = 0;
  for (size_t i = 0; i < 1000; ++i) {
    auto it = item(i);
    auto before = item_targets(it, view_of("x", all));
    std::set<std::string> holders; // the original targets that are still alive
    for (auto& t : before)
      if (!dead.count(t))
        holders.insert(t);
    CAF_REQUIRE(!holders.empty()); // 3 targets, 2 dead: at least one survives
    auto after = item_targets(it, view_of("x", survivors));
    std::set<std::string> lacking;
    for (auto& t : after)
      if (!holders.count(t))
        lacking.insert(t);
    auto expected_responsible = first_holder(it, holders);
    if (holders.size() > 1)
      ++multi_holder_items;
    size_t copiers = 0;
    for (auto& self : survivors) {
      bool holds = holders.count(self) > 0;
      auto plan = plan_item(it, holders, holds, view_of(self, survivors));
      if (plan.copy_to.empty())
        continue;
      ++copiers;
      ++responsible_for[self];
      if (before.size() == 3 && holders.size() == 1)
        ++responsible_two_dead[self];
      if (self != expected_responsible) {
        if (bad++ == 0)
          CAF_MESSAGE("item " << i << ": " << self.substr(0, 6) << " copies, but "
                              << expected_responsible.substr(0, 6) << " is the first holder");
      }
      if (as_set(plan.copy_to) != lacking || plan.copy_to.size() != lacking.size())
        ++bad;
      if (plan.drop_local) // survivors are all targets now
        ++bad;
    }
    if (holders.size() == 1)
      ++items_two_dead;
    if (!lacking.empty())
      ++items_with_work;
    if (copiers != (lacking.empty() ? 0u : 1u)) {
      if (bad++ == 0)
        CAF_MESSAGE("item " << i << ": " << copiers << " holders copy, lacking "
                            << lacking.size());
    }
  }
  CAF_MESSAGE(items_two_dead << " items lost two targets, " << items_with_work
                             << " need copies, " << multi_holder_items << " have several holders");
  CAF_CHECK_EQUAL(bad, 0u);
  CAF_CHECK_GREATER(items_two_dead, 0u);
  CAF_CHECK_GREATER(multi_holder_items, 0u);
  // The work spreads: every survivor is responsible for some items, both overall and among
  // the items that lost two of their three targets.
  for (auto& s : survivors) {
    auto n = responsible_for[s];
    auto n2 = responsible_two_dead[s];
    CAF_MESSAGE(s.substr(0, 6) << " responsible for " << n << " items (" << n2
                               << " that lost two targets)");
    CAF_CHECK_GREATER(n, 0u);
    CAF_CHECK_GREATER(n2, 0u);
  }
}

CAF_TEST(the responsible holder is the first holder in rendezvous order) {
  // Seven members, two of an item's three targets dead, and copies left on other members (an
  // earlier placement): the first holder by score copies, whoever it is, target or not.
  auto all = node_ids(7);
  std::mt19937 gen{99};
  std::map<std::string, size_t> responsible_for;
  size_t bad = 0;
  for (size_t i = 0; i < 1000; ++i) {
    auto it = item(i);
    auto order = by_score(it, all);
    // Two of the three targets die; which two depends on the item.
    size_t keep = i % 3;
    std::set<std::string> dead;
    for (size_t k = 0; k < 3; ++k)
      if (k != keep)
        dead.insert(order[k]);
    std::vector<std::string> pool;
    for (auto& n : all)
      if (!dead.count(n))
        pool.push_back(n);
    std::set<std::string> holders{order[keep]};
    for (auto& n : pool)
      if (gen() % 3 == 0)
        holders.insert(n);
    auto targets = item_targets(it, view_of("x", pool));
    std::set<std::string> lacking;
    for (auto& t : targets)
      if (!holders.count(t))
        lacking.insert(t);
    auto want = first_holder(it, holders);
    for (auto& self : pool) {
      bool holds = holders.count(self) > 0;
      auto plan = plan_item(it, holders, holds, view_of(self, pool));
      bool should_copy = self == want && !lacking.empty();
      if (should_copy) {
        ++responsible_for[self];
        if (as_set(plan.copy_to) != lacking || plan.copy_to.size() != lacking.size())
          ++bad;
      } else if (!plan.copy_to.empty()) {
        if (bad++ == 0)
          CAF_MESSAGE("item " << i << ": " << self.substr(0, 6) << " copies, but "
                              << want.substr(0, 6) << " is the first holder");
      }
    }
  }
  CAF_CHECK_EQUAL(bad, 0u);
  CAF_CHECK_EQUAL(responsible_for.size(), all.size());
}

CAF_TEST(a joining node gets copies and the displaced holder drops only after) {
  auto six = node_ids(6);
  std::vector<std::string> five(six.begin(), six.begin() + 5);
  const auto& newcomer = six[5];
  size_t moved = 0;
  size_t bad = 0;
  for (size_t i = 0; i < 1000; ++i) {
    auto it = item(i);
    auto old_targets = item_targets(it, view_of("x", five));
    auto new_targets = item_targets(it, view_of("x", six));
    auto holders = as_set(old_targets); // the data sits where the old targets said
    if (!contains(new_targets, newcomer)) {
      // Nothing moves: nobody copies, nobody drops.
      for (auto& self : six) {
        auto plan = plan_item(it, holders, holders.count(self) > 0, view_of(self, six));
        if (!plan.copy_to.empty() || plan.drop_local)
          ++bad;
      }
      continue;
    }
    ++moved;
    std::string displaced;
    for (auto& t : old_targets)
      if (!contains(new_targets, t))
        displaced = t;
    CAF_REQUIRE(!displaced.empty());
    auto responsible = first_holder(it, holders);
    // Step 1: the newcomer does not hold it yet.
    for (auto& self : six) {
      bool holds = holders.count(self) > 0;
      auto plan = plan_item(it, holders, holds, view_of(self, six));
      if (self == responsible) {
        if (plan.copy_to != std::vector<std::string>{newcomer}) {
          if (bad++ == 0)
            CAF_MESSAGE("item " << i << ": the responsible holder copies to "
                                << plan.copy_to.size() << " nodes");
        }
      } else if (!plan.copy_to.empty()) {
        ++bad;
      }
      if (plan.drop_local) { // nobody drops before the newcomer holds it
        if (bad++ == 0)
          CAF_MESSAGE("item " << i << ": " << self.substr(0, 6) << " drops too early");
      }
    }
    // Step 2: the newcomer holds it; the displaced holder may now drop, and nobody copies.
    holders.insert(newcomer);
    for (auto& self : six) {
      bool holds = holders.count(self) > 0;
      auto plan = plan_item(it, holders, holds, view_of(self, six));
      if (!plan.copy_to.empty())
        ++bad;
      if (plan.drop_local != (self == displaced))
        ++bad;
      // Told it holds nothing, the displaced node drops nothing.
      if (self == displaced) {
        auto none = plan_item(it, holders, false, view_of(self, six));
        if (none.drop_local)
          ++bad;
      }
    }
  }
  CAF_MESSAGE(moved << " of 1000 items move to the newcomer");
  CAF_CHECK_EQUAL(bad, 0u);
  CAF_CHECK_GREATER(moved, 300u); // expected about half
}

CAF_TEST(no holders means no copies and no drop) {
  auto pool = node_ids(5);
  size_t bad = 0;
  for (size_t i = 0; i < 200; ++i) {
    auto it = item(i);
    for (auto& self : pool)
      for (bool holds : {false, true}) { // holds: e.g. an older version of a manifest
        auto plan = plan_item(it, {}, holds, view_of(self, pool));
        if (!plan.copy_to.empty() || plan.drop_local)
          ++bad;
      }
    // And with an empty pool there are no targets: nothing to copy to, nothing may drop.
    std::set<std::string> holders{pool[0]};
    auto plan = plan_item(it, holders, true, view_of(pool[0], {}));
    if (!plan.copy_to.empty() || plan.drop_local)
      ++bad;
  }
  CAF_CHECK_EQUAL(bad, 0u);
}

CAF_TEST(a node that holds nothing never drops) {
  auto pool = node_ids(6);
  auto extra = node_ids(8)[7]; // a holder outside the pool
  size_t bad = 0;
  for (size_t i = 0; i < 300; ++i) {
    auto it = item(i);
    auto targets = item_targets(it, view_of("x", pool));
    std::set<std::string> everyone(pool.begin(), pool.end());
    everyone.insert(extra);
    for (auto holders : {as_set(targets), everyone})
      for (auto self : pool) {
        auto plan = plan_item(it, holders, false, view_of(self, pool));
        if (plan.drop_local)
          ++bad;
      }
    auto plan = plan_item(it, everyone, false, view_of(extra, pool));
    if (plan.drop_local)
      ++bad;
    // The same situation with self_holds=true does drop: the flag is what decides.
    auto held = plan_item(it, everyone, true, view_of(extra, pool));
    if (!held.drop_local)
      ++bad;
  }
  CAF_CHECK_EQUAL(bad, 0u);
}

// -- referenced_chunks ----------------------------------------------------------------------

CAF_TEST(referenced chunks come from live manifests only) {
  std::map<std::string, manifest> newest;
  newest["a"] = make_manifest("a", 10, {"a1", "a2", "shared"});
  newest["b"] = make_manifest("b", 11, {"b1", "shared", "b1"});
  newest["gone"] = make_manifest("gone", 12, {"dead1", "dead2"}, true); // a tombstone
  newest["also-gone"] = make_manifest("also-gone", 13, {"a1"}, true);   // chunk live elsewhere
  newest["empty"] = make_manifest("empty", 14, {});
  auto got = referenced_chunks(newest);
  std::set<chunk_id> want{cid("a1"), cid("a2"), cid("shared"), cid("b1")};
  CAF_CHECK_EQUAL(got.size(), want.size());
  CAF_CHECK(got == want);
  CAF_CHECK(got.count(cid("dead1")) == 0);
  CAF_CHECK(got.count(cid("dead2")) == 0);
  auto none = referenced_chunks({});
  CAF_CHECK(none.empty());
  std::map<std::string, manifest> only_tombstones;
  only_tombstones["t"] = make_manifest("t", 1, {"x"}, true);
  auto from_tombstones = referenced_chunks(only_tombstones);
  CAF_CHECK(from_tombstones.empty());
}

CAF_TEST(every chunk of a large manifest is referenced) {
  std::map<std::string, manifest> newest;
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i)
    names.push_back("chunk-" + std::to_string(i));
  newest["big"] = make_manifest("big", 1, names);
  auto got = referenced_chunks(newest);
  CAF_CHECK_EQUAL(got.size(), 1000u);
  size_t missing = 0;
  for (auto& n : names)
    if (!got.count(cid(n)))
      ++missing;
  CAF_CHECK_EQUAL(missing, 0u);
}

// -- tombstone_collectible ------------------------------------------------------------------

CAF_TEST(a tombstone is collectible only after grace when every holder has exactly it) {
  const uint64_t hlc = 1'000'000;
  const uint64_t grace = 5000;
  auto tomb = make_manifest("k", hlc, {}, true);
  const auto& v = tomb.version;
  std::vector<version> all_same{v, v, v};
  // After the grace period, every holder with exactly the tombstone: collectible.
  CAF_CHECK(tombstone_collectible(tomb, all_same, hlc + grace, grace));
  CAF_CHECK(tombstone_collectible(tomb, all_same, hlc + grace + 1'000'000, grace));
  // Within grace: not yet.
  CAF_CHECK(!tombstone_collectible(tomb, all_same, hlc, grace));
  CAF_CHECK(!tombstone_collectible(tomb, all_same, hlc + 1, grace));
  CAF_CHECK(!tombstone_collectible(tomb, all_same, hlc + grace - 1, grace));
  // A clock behind the tombstone (skew between nodes) is within grace, not a huge age.
  CAF_CHECK(!tombstone_collectible(tomb, all_same, hlc - 1, grace));
  CAF_CHECK(!tombstone_collectible(tomb, all_same, 0, grace));
  // Any holder with another version of the key: not collectible, however old the tombstone.
  const uint64_t late = hlc + 10 * grace;
  std::vector<version> older{v, version{hlc - 1, v.node_id}, v};
  std::vector<version> newer{v, version{hlc + 1, v.node_id}};
  std::vector<version> other_node{version{hlc, "node-b"}, v};
  std::vector<version> only_other{version{hlc - 100, "node-c"}};
  CAF_CHECK(!tombstone_collectible(tomb, older, late, grace));
  CAF_CHECK(!tombstone_collectible(tomb, newer, late, grace));
  CAF_CHECK(!tombstone_collectible(tomb, other_node, late, grace));
  CAF_CHECK(!tombstone_collectible(tomb, only_other, late, grace));
  CAF_CHECK(tombstone_collectible(tomb, std::vector<version>{v}, late, grace));
}

CAF_TEST(a live manifest is never collectible) {
  const uint64_t hlc = 1'000'000;
  const uint64_t grace = 5000;
  auto live = make_manifest("k", hlc, {"c"}, false);
  std::vector<version> held{live.version, live.version};
  CAF_CHECK(!tombstone_collectible(live, held, hlc + 100 * grace, grace));
  CAF_CHECK(!tombstone_collectible(live, held, hlc + grace, grace));
  CAF_CHECK(!tombstone_collectible(live, {}, hlc + 100 * grace, grace));
}

// -- plan_pass: a suspect member ------------------------------------------------------------

namespace {

// Five members; in the tests below n3 is suspect (a paused or lossy node) and n4 down.
struct pass_fixture : test_coordinator_fixture<> {
  // A member's replica: never runs, only makes the member connected (placement_target and
  // readable look at it). Spawned with an argument: CAF 0.17 dereferences a null argument
  // tuple for a function spawned with none.
  caf::actor replica = sys.spawn([](int) { return caf::behavior{[](int) {}}; }, 0);
  std::vector<std::string> ids = node_ids(5);
  const std::string& suspect = ids[3];
  const std::string& down = ids[4];
  static constexpr size_t items = 300;

  std::vector<member_view> members(member_state suspect_state) {
    std::vector<member_view> out;
    for (size_t i = 0; i < ids.size(); ++i) {
      auto state = i == 3 ? suspect_state : i == 4 ? member_state::down : member_state::up;
      bool connected = state == member_state::up;
      out.push_back({ids[i], "n" + std::to_string(i), "127.0.0.1:1", state,
                     connected ? replica : caf::actor{}});
    }
    return out;
  }

  pass_input input(const std::string& self, member_state suspect_state) {
    pass_input in;
    in.self_id = self;
    in.replicas = 3;
    in.members = members(suspect_state);
    in.may_collect = true; // the planner itself must hold removals back
    in.now_ms = 10'000'000;
    in.now = std::chrono::steady_clock::now();
    in.gc_grace = std::chrono::seconds{0};
    return in;
  }

  static std::string key_of(size_t i) { return "key-" + std::to_string(i); }
  static chunk_id chunk_of(size_t i) { return cid("chunk-" + std::to_string(i)); }

  /// Every item (key i and its chunk i) placed on its targets among all five members, as
  /// before n3 fell silent and n4 died; only the readable members (n0, n1, n2) report.
  holdings placed_before(const std::string& self) {
    holdings h;
    for (size_t i = 0; i < items; ++i) {
      auto m = make_manifest(key_of(i), 1000 + i, {"chunk-" + std::to_string(i)});
      for (auto& t : item_targets(manifest_placement_id(m.key), view_of("x", ids)))
        if (t != suspect && t != down)
          h.manifests[m.key][t] = m;
      for (auto& t : item_targets(chunk_of(i).bytes, view_of("x", ids)))
        if (t != suspect && t != down) {
          h.chunk_holders[chunk_of(i)].insert(t);
          if (t == self)
            h.my_chunks.insert(chunk_of(i));
        }
    }
    return h;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(suspect_member_tests, pass_fixture)

CAF_TEST(with one member suspect and another down a pass copies the down members items to up members) {
  // Where each item belongs once n3 is back.
  std::vector<std::string> if_back{ids[0], ids[1], ids[2], suspect};
  std::map<std::string, std::set<std::string>> copied; // item (key or chunk hex) -> targets
  size_t copies = 0;
  size_t bad = 0;
  for (size_t s = 0; s < 3; ++s) {
    auto self = ids[s];
    auto h = placed_before(self);
    unreferenced_clocks clocks;
    auto plan = plan_pass(input(self, member_state::suspect), h, clocks);
    CAF_CHECK_EQUAL(plan.removals(), 0u);
    for (auto& w : plan.manifests)
      for (auto& t : w.copy_to) {
        copied[w.newest.key].insert(t);
        ++copies;
        // A copy made during the suspicion is where the item belongs if n3 comes back.
        if (t == suspect || t == down
            || !contains(item_targets(manifest_placement_id(w.newest.key), view_of("x", if_back)), t))
          ++bad;
      }
    for (auto& w : plan.chunks)
      for (auto& t : w.copy_to) {
        copied[w.id.hex()].insert(t);
        ++copies;
        if (t == suspect || t == down || !contains(item_targets(w.id.bytes, view_of("x", if_back)), t))
          ++bad;
      }
  }
  CAF_CHECK_EQUAL(bad, 0u);
  CAF_CHECK_GREATER(copies, 0u);
  // Afterwards every item is on all of its up targets: those of n4's copies that n3's
  // suspicion does not stand in for are rebuilt on up members.
  auto all = placed_before(ids[0]);
  size_t lacking = 0;
  size_t rebuilt = 0; // items n4 held and that got a copy
  for (size_t i = 0; i < items; ++i) {
    auto k = key_of(i);
    auto c = chunk_of(i);
    std::set<std::string> key_holders;
    for (auto& [node, m] : all.manifests[k])
      key_holders.insert(node);
    auto chunk_holders = all.chunk_holders[c];
    for (auto& t : copied[k])
      key_holders.insert(t);
    for (auto& t : copied[c.hex()])
      chunk_holders.insert(t);
    for (auto& t : item_targets(manifest_placement_id(k), view_of("x", if_back)))
      lacking += t != suspect && !key_holders.count(t);
    for (auto& t : item_targets(c.bytes, view_of("x", if_back)))
      lacking += t != suspect && !chunk_holders.count(t);
    rebuilt += contains(item_targets(c.bytes, view_of("x", ids)), down) && !copied[c.hex()].empty();
  }
  CAF_CHECK_EQUAL(lacking, 0u);
  CAF_CHECK_GREATER(rebuilt, 0u);
}

CAF_TEST(with a member suspect a pass copies nothing to it and removes nothing) {
  // The node holds items that would be removed were n3 up: a surplus chunk and a surplus
  // manifest (every target holds them), a chunk no manifest references (garbage: gc_grace 0),
  // and a tombstone that every holder has and that is long past gc_grace.
  auto self = ids[0];
  pass_input up = input(self, member_state::up);
  auto pool = pass_placement(up.members, self, 3).targets_pool;
  holdings h;
  size_t surplus_chunks = 0;
  size_t surplus_keys = 0;
  for (size_t i = 0; i < items; ++i) {
    auto c = chunk_of(i);
    auto targets = item_targets(c.bytes, view_of("x", pool));
    if (!contains(targets, self)) { // self holds a surplus copy
      h.chunk_holders[c] = as_set(targets);
      h.chunk_holders[c].insert(self);
      h.my_chunks.insert(c);
      ++surplus_chunks;
    }
    auto m = make_manifest(key_of(i), 1000 + i, {"chunk-" + std::to_string(i)});
    auto key_targets = item_targets(manifest_placement_id(m.key), view_of("x", pool));
    if (!contains(key_targets, self)) {
      for (auto& t : key_targets)
        h.manifests[m.key][t] = m;
      h.manifests[m.key][self] = m;
      ++surplus_keys;
    }
  }
  auto garbage = cid("referenced by nothing");
  h.chunk_holders[garbage] = {self};
  h.my_chunks.insert(garbage);
  auto tomb = make_manifest("removed", 1, {}, true);
  for (auto& t : item_targets(manifest_placement_id(tomb.key), view_of("x", pool)))
    h.manifests[tomb.key][t] = tomb;
  h.manifests[tomb.key][self] = tomb;
  CAF_REQUIRE_GREATER(surplus_chunks, 0u);
  CAF_REQUIRE_GREATER(surplus_keys, 0u);
  // The same holdings with n3 up: every one of those items is removed (the test can fail).
  unreferenced_clocks clocks;
  auto settled = plan_pass(up, h, clocks);
  CAF_CHECK_EQUAL(settled.removals(), surplus_chunks + surplus_keys + 2);
  // With n3 suspect: nothing is removed, and nothing goes to n3.
  // (n3's copies are not in the holdings: it is not readable, so it was not asked.)
  for (auto& [id, holders] : h.chunk_holders)
    holders.erase(suspect);
  for (auto& [key, by_node] : h.manifests)
    by_node.erase(suspect);
  unreferenced_clocks clocks_while_suspect;
  auto plan = plan_pass(input(self, member_state::suspect), h, clocks_while_suspect);
  CAF_CHECK_EQUAL(plan.removals(), 0u);
  size_t to_suspect = 0;
  for (auto& w : plan.manifests)
    to_suspect += contains(w.copy_to, suspect);
  for (auto& w : plan.chunks)
    to_suspect += contains(w.copy_to, suspect);
  CAF_CHECK_EQUAL(to_suspect, 0u);
  // Its clock did not start: a chunk is garbage only after gc_grace of passes that could
  // collect.
  CAF_CHECK(clocks_while_suspect.empty());
}

CAF_TEST(a tombstone waits gc_grace plus max_clock_skew before it is collected) {
  // A writer whose clock is up to max_clock_skew behind issues versions up to that far below
  // the tombstone's: collected after gc_grace alone, such a write would pass under it and the
  // key would come back. Every member up, every target holds exactly the tombstone.
  auto self = ids[0];
  pass_input in = input(self, member_state::up);
  in.members[4].state = member_state::up;
  in.members[4].replica = replica;
  in.gc_grace = std::chrono::seconds{10};
  in.max_clock_skew = std::chrono::seconds{60};
  uint64_t tomb_hlc = 5'000'000;
  auto tomb = make_manifest("removed", tomb_hlc, {}, true);
  auto pool = pass_placement(in.members, self, 3).targets_pool;
  holdings h;
  for (auto& t : item_targets(manifest_placement_id(tomb.key), view_of("x", pool)))
    h.manifests[tomb.key][t] = tomb;
  h.manifests[tomb.key][self] = tomb;
  auto collected_at = [&](uint64_t age_ms) {
    in.now_ms = tomb_hlc + age_ms;
    unreferenced_clocks clocks;
    auto plan = plan_pass(in, h, clocks);
    for (auto& w : plan.manifests)
      if (w.newest.key == tomb.key && w.collect)
        return true;
    return false;
  };
  CAF_CHECK(!collected_at(10'000));          // gc_grace alone is not enough
  CAF_CHECK(!collected_at(69'999));
  CAF_CHECK(collected_at(70'000));           // gc_grace + max_clock_skew
  CAF_CHECK(collected_at(3'600'000));
}

CAF_TEST(a suspect member keeps its place in the ranking) {
  // Targets with n3 suspect are the targets with n3 up: nothing is re-homed while it flaps,
  // and a node that sees n3 up agrees with one that sees it suspect.
  auto with_up = pass_placement(members(member_state::up), ids[0], 3);
  auto with_suspect = pass_placement(members(member_state::suspect), ids[0], 3);
  CAF_CHECK(with_suspect.suspect == std::set<std::string>{suspect});
  CAF_CHECK(with_up.suspect.empty());
  size_t differ = 0;
  for (size_t i = 0; i < items; ++i)
    differ += item_targets(item(i), with_up) != item_targets(item(i), with_suspect);
  CAF_CHECK_EQUAL(differ, 0u);
  // A down member is no target: its items move on.
  CAF_CHECK(!contains(with_up.targets_pool, down));
}

CAF_TEST_FIXTURE_SCOPE_END()
