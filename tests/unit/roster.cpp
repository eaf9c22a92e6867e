#define CAF_SUITE roster
#include "tests/unit/test_helpers.hpp"

#include "actors/roster.hpp"
#include "common/host_port.hpp"
#include "actors/roster_store.hpp"
#include "net/messages.hpp"

#include <algorithm>
#include <array>
#include <sstream>
#include <string>
#include <vector>

using namespace dfs;

namespace {

const std::string node = "0123456789abcdef0123456789abcdef";

/// An entry whose name and address follow from its incarnation, as they do for a real node: one
/// start, one address.
roster_entry entry(uint64_t incarnation, admin_state admin, uint64_t admin_version) {
  roster_entry e;
  e.node_id = node;
  e.name = "n" + std::to_string(incarnation);
  e.address = "127.0.0.1:" + std::to_string(7000 + incarnation);
  e.incarnation = incarnation;
  e.admin = admin;
  e.admin_version = admin_version;
  return e;
}

bool same(const roster_entry& a, const roster_entry& b) {
  return a.node_id == b.node_id && a.name == b.name && a.address == b.address
         && a.incarnation == b.incarnation && a.admin == b.admin
         && a.admin_version == b.admin_version;
}

std::string show(const roster_entry& e) {
  std::ostringstream out;
  out << "{" << e.node_id.substr(0, 6) << " " << e.name << " " << e.address << " inc "
      << e.incarnation << " admin " << static_cast<int>(e.admin) << " v " << e.admin_version
      << "}";
  return out.str();
}

/// What a node says about itself: the merge under test in most cases below.
bool merge_roster_entry(roster_entry& mine, const roster_entry& theirs) {
  return merge_own_entry(mine, theirs);
}

/// mine, with `theirs` merged in.
roster_entry merged(roster_entry mine, const roster_entry& theirs) {
  merge_roster_entry(mine, theirs);
  return mine;
}

/// What the merge of any set of entries must give: each field group from its largest version.
roster_entry expected_merge(const std::vector<roster_entry>& xs) {
  auto out = xs.front();
  for (auto& x : xs) {
    if (x.incarnation > out.incarnation) {
      out.incarnation = x.incarnation;
      out.name = x.name;
      out.address = x.address;
    }
    if (x.admin > out.admin || (x.admin == out.admin && x.admin_version > out.admin_version)) {
      out.admin = x.admin;
      out.admin_version = x.admin_version;
    }
  }
  return out;
}

std::vector<roster_entry> domain() {
  std::vector<roster_entry> out;
  for (uint64_t inc = 1; inc <= 4; ++inc)
    for (uint64_t av = 0; av <= 3; ++av)
      for (auto st : {admin_state::active, admin_state::leaving, admin_state::left})
        out.push_back(entry(inc, st, av));
  return out;
}

} // namespace

CAF_TEST(a larger incarnation wins name and address) {
  auto mine = entry(5, admin_state::active, 0);
  auto theirs = entry(6, admin_state::active, 0);
  CAF_CHECK(merge_roster_entry(mine, theirs));
  uint64_t inc = mine.incarnation;
  CAF_CHECK_EQUAL(inc, 6u);
  std::string name = mine.name;
  std::string address = mine.address;
  CAF_CHECK_EQUAL(name, theirs.name);
  CAF_CHECK_EQUAL(address, theirs.address);
  CAF_CHECK(same(mine, theirs));
}

CAF_TEST(a smaller incarnation is ignored) {
  auto mine = entry(6, admin_state::active, 0);
  auto before = mine;
  auto theirs = entry(5, admin_state::active, 0);
  CAF_CHECK(!merge_roster_entry(mine, theirs));
  CAF_CHECK(same(mine, before));
  std::string name = mine.name;
  std::string expected_name = "n6";
  CAF_CHECK_EQUAL(name, expected_name);
}

CAF_TEST(a decision only moves forward however new the one that would undo it) {
  // Forward: active -> leaving -> left.
  auto mine = entry(3, admin_state::active, 10);
  CAF_CHECK(merge_roster_entry(mine, entry(3, admin_state::leaving, 11)));
  CAF_CHECK(mine.admin == admin_state::leaving);
  CAF_CHECK(merge_roster_entry(mine, entry(3, admin_state::left, 12)));
  CAF_CHECK(mine.admin == admin_state::left);
  // A decommission of a member that was down: active -> left at once.
  auto down = entry(3, admin_state::active, 0);
  CAF_CHECK(merge_admin_decision(down, entry(3, admin_state::left, 5)));
  CAF_CHECK(down.admin == admin_state::left);
  // Back: nothing brings a decommissioned node back, not even a far newer version (a node
  // that comes back with its old roster, or a peer that says so).
  auto left_entry = entry(3, admin_state::left, 11);
  auto before = left_entry;
  CAF_CHECK(!merge_roster_entry(left_entry, entry(3, admin_state::active, 12)));
  CAF_CHECK(!merge_admin_decision(left_entry, entry(3, admin_state::leaving, 99)));
  CAF_CHECK(same(left_entry, before));
  auto leaving = entry(3, admin_state::leaving, 11);
  CAF_CHECK(!merge_admin_decision(leaving, entry(3, admin_state::active, 50)));
  CAF_CHECK(leaving.admin == admin_state::leaving);
  // At the same state the larger version is kept (so every node ends with the same one).
  auto twice = entry(3, admin_state::left, 11);
  CAF_CHECK(merge_admin_decision(twice, entry(3, admin_state::left, 19)));
  uint64_t av = twice.admin_version;
  CAF_CHECK_EQUAL(av, 19u);
}

CAF_TEST(a decision about another node takes nothing else from it) {
  auto mine = entry(3, admin_state::active, 0);
  auto theirs = entry(9, admin_state::leaving, 4); // newer incarnation, other name and address
  CAF_CHECK(merge_admin_decision(mine, theirs));
  CAF_CHECK(mine.admin == admin_state::leaving);
  std::string name = mine.name, address = mine.address;
  uint64_t inc = mine.incarnation;
  CAF_CHECK_EQUAL(name, "n3");
  CAF_CHECK_EQUAL(address, "127.0.0.1:7003");
  CAF_CHECK_EQUAL(inc, 3u);
}

CAF_TEST(merging is idempotent) {
  size_t bad = 0;
  auto xs = domain();
  for (auto& a : xs) {
    // An entry merged with itself.
    auto self = a;
    if (merge_roster_entry(self, a) || !same(self, a))
      ++bad;
    for (auto& b : xs) {
      auto once = merged(a, b);
      auto twice = once;
      if (merge_roster_entry(twice, b) || !same(twice, once)) {
        if (bad++ == 0)
          CAF_MESSAGE("not idempotent: " << show(a) << " + " << show(b));
      }
    }
  }
  CAF_CHECK_EQUAL(bad, 0u);
}

CAF_TEST(merging is commutative) {
  size_t bad = 0;
  auto xs = domain();
  for (auto& a : xs)
    for (auto& b : xs) {
      auto ab = merged(a, b);
      auto ba = merged(b, a);
      if (!same(ab, ba) && bad++ == 0)
        CAF_MESSAGE("a+b " << show(ab) << " != b+a " << show(ba));
    }
  CAF_CHECK_EQUAL(bad, 0u);
}

CAF_TEST(every order and grouping of three entries gives the same result) {
  // A hand-picked case first: a tie on admin_version between b and c, and the newest
  // incarnation in b.
  {
    auto a = entry(5, admin_state::active, 0);
    auto b = entry(7, admin_state::leaving, 3);
    auto c = entry(6, admin_state::left, 3);
    auto want = entry(7, admin_state::left, 3);
    std::array<roster_entry, 3> p{a, b, c};
    std::array<int, 3> idx{0, 1, 2};
    size_t orders = 0;
    do {
      auto left_fold = merged(merged(p[idx[0]], p[idx[1]]), p[idx[2]]);
      auto right_fold = merged(p[idx[0]], merged(p[idx[1]], p[idx[2]]));
      CAF_CHECK(same(left_fold, want));
      CAF_CHECK(same(right_fold, want));
      ++orders;
    } while (std::next_permutation(idx.begin(), idx.end()));
    CAF_CHECK_EQUAL(orders, 6u);
  }
  // Then every triple of a small domain, each in all 6 orders and both groupings.
  size_t bad = 0;
  size_t triples = 0;
  auto xs = domain();
  for (auto& a : xs)
    for (auto& b : xs)
      for (auto& c : xs) {
        ++triples;
        auto want = expected_merge({a, b, c});
        std::array<const roster_entry*, 3> p{&a, &b, &c};
        std::array<int, 3> idx{0, 1, 2};
        do {
          auto& x = *p[idx[0]];
          auto& y = *p[idx[1]];
          auto& z = *p[idx[2]];
          auto left_fold = merged(merged(x, y), z);
          auto right_fold = merged(x, merged(y, z));
          if ((!same(left_fold, want) || !same(right_fold, want)) && bad++ == 0)
            CAF_MESSAGE("order-dependent: " << show(x) << " " << show(y) << " " << show(z)
                                            << " -> " << show(left_fold) << " / "
                                            << show(right_fold) << ", want " << show(want));
        } while (std::next_permutation(idx.begin(), idx.end()));
      }
  CAF_CHECK_EQUAL(triples, xs.size() * xs.size() * xs.size());
  CAF_CHECK_EQUAL(bad, 0u);
}

CAF_TEST(merge returns true exactly when something changed) {
  // Explicit cases.
  auto e = entry(2, admin_state::active, 5);
  CAF_CHECK(!merge_roster_entry(e, entry(2, admin_state::active, 5)));  // identical
  CAF_CHECK(!merge_roster_entry(e, entry(1, admin_state::active, 4)));  // older in both
  CAF_CHECK(!merge_roster_entry(e, entry(1, admin_state::active, 5)));  // older, same decision
  CAF_CHECK(merge_roster_entry(e, entry(3, admin_state::active, 5)));   // newer incarnation
  CAF_CHECK(merge_roster_entry(e, entry(1, admin_state::active, 6)));   // same state, newer
  CAF_CHECK(merge_roster_entry(e, entry(1, admin_state::leaving, 3)));  // further, older version
  CAF_CHECK(!merge_roster_entry(e, entry(1, admin_state::active, 9)));  // back, newer version
  // Every pair of the domain: the answer matches a before/after comparison.
  size_t bad = 0;
  auto xs = domain();
  for (auto& a : xs)
    for (auto& b : xs) {
      auto m = a;
      bool changed = merge_roster_entry(m, b);
      if (changed != !same(m, a) && bad++ == 0)
        CAF_MESSAGE("returned " << changed << " for " << show(a) << " + " << show(b));
    }
  CAF_CHECK_EQUAL(bad, 0u);
}

// -- checks on every entry (roster_entry_problem) ---------------------------------------------

namespace {

constexpr uint64_t now_ms = 1'800'000'000'000; // a wall clock in 2027

roster_entry good() {
  auto e = entry(now_ms, admin_state::active, now_ms);
  e.name = "n1";
  e.address = "127.0.0.1:7001";
  return e;
}

bool refused(const roster_entry& e) {
  auto problem = roster_entry_problem(e, now_ms);
  if (problem)
    CAF_MESSAGE("refused: " << *problem);
  return problem.has_value();
}

} // namespace

CAF_TEST(a well formed entry passes) {
  CAF_CHECK(!refused(good()));
  auto e = good();
  e.incarnation = now_ms + max_clock_ahead_ms; // at the bound
  e.admin_version = now_ms + max_clock_ahead_ms;
  CAF_CHECK(!refused(e));
  e.address = "node-1.example.org:65535";
  CAF_CHECK(!refused(e));
}

CAF_TEST(ids are 32 lowercase hex digits) {
  for (auto id : {"", "0123456789abcdef", "0123456789ABCDEF0123456789ABCDEF",
                  "0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcdef0"}) {
    auto e = good();
    e.node_id = id;
    CAF_CHECK(refused(e));
  }
}

CAF_TEST(names follow the node name rule) {
  for (auto name : {std::string{}, std::string(65, 'a'), std::string{"a b"},
                    std::string{"n1\x1b[2J"}, std::string{"n/1"}}) {
    auto e = good();
    e.name = name;
    CAF_CHECK(refused(e));
  }
}

CAF_TEST(addresses parse as host and port) {
  for (auto address : {"", "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536", ":7001",
                       "127.0.0.1:70x1"}) {
    auto e = good();
    e.address = address;
    CAF_CHECK(refused(e));
  }
}

CAF_TEST(the bound is the configured max_clock_skew) {
  auto e = good();
  e.admin_version = now_ms + 300'000; // five minutes ahead
  CAF_CHECK(roster_entry_problem(e, now_ms, 60'000));
  CAF_CHECK(!roster_entry_problem(e, now_ms, 300'000));
}

CAF_TEST(versions more than the bound ahead of the wall clock are refused) {
  auto e = good();
  e.admin_version = now_ms + max_clock_ahead_ms + 1;
  CAF_CHECK(refused(e));
  e = good();
  e.admin_version = ~uint64_t{0}; // the "huge version" that retired a node for good
  CAF_CHECK(refused(e));
  e = good();
  e.incarnation = ~uint64_t{0};
  CAF_CHECK(refused(e));
}

// -- the roster file ---------------------------------------------------------------------------

CAF_TEST(the roster file round-trips) {
  dfs::test::temp_dir dir;
  CAF_CHECK(load_roster(dir.path.string()).empty()); // a new node: no file yet
  auto a = good();
  auto b = good();
  b.node_id = "fedcba9876543210fedcba9876543210";
  b.name = "n2";
  b.admin = admin_state::left;
  b.admin_version = now_ms + 7;
  CAF_REQUIRE(!save_roster(dir.path.string(), {a, b}));
  auto loaded = load_roster(dir.path.string());
  CAF_REQUIRE_EQUAL(loaded.size(), 2u);
  CAF_CHECK(same(loaded[0], a));
  CAF_CHECK(same(loaded[1], b));
  // Saving again replaces it and leaves no temporary behind.
  CAF_REQUIRE(!save_roster(dir.path.string(), {b}));
  CAF_CHECK_EQUAL(load_roster(dir.path.string()).size(), 1u);
  CAF_CHECK_EQUAL(dfs::test::files_in(dir.path), 1u);
}

CAF_TEST(a roster file from before the address grammar loads its bare IPv6 addresses bracketed) {
  dfs::test::temp_dir dir;
  auto e = good();
  e.address = "::1:7001"; // what older builds wrote for [::1]:7001
  CAF_REQUIRE(!save_roster(dir.path.string(), {e}));
  auto loaded = load_roster(dir.path.string());
  CAF_REQUIRE_EQUAL(loaded.size(), 1u);
  CAF_CHECK_EQUAL(loaded[0].address, "[::1]:7001");
  // Only saved files get this reading: typed or gossiped, the bare form stays refused.
  CAF_CHECK(!parse_host_port("::1:7001"));
  CAF_CHECK(!parse_saved_host_port("localhost"));
  CAF_CHECK(!parse_saved_host_port("::1:99999"));
}

CAF_TEST(a damaged roster file stops the start with an error naming it) {
  dfs::test::temp_dir dir;
  CAF_REQUIRE(!save_roster(dir.path.string(), {good()}));
  auto path = roster_path(dir.path.string());
  dfs::test::flip_byte(path, 20);
  std::string what;
  try {
    load_roster(dir.path.string());
  } catch (const std::exception& e) {
    what = e.what();
  }
  CAF_MESSAGE(what);
  CAF_CHECK(what.find(path) != std::string::npos);
  CAF_CHECK(what.find("damaged") != std::string::npos);
  // Cut short, too.
  std::filesystem::resize_file(path, 10);
  what.clear();
  try {
    load_roster(dir.path.string());
  } catch (const std::exception& e) {
    what = e.what();
  }
  CAF_CHECK(what.find("damaged") != std::string::npos);
}
