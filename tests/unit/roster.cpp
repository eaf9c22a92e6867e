#define CAF_SUITE roster
#include "tests/unit/test_helpers.hpp"

#include "actors/roster.hpp"
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
    if (x.admin_version > out.admin_version
        || (x.admin_version == out.admin_version && x.admin > out.admin)) {
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

CAF_TEST(a larger admin_version wins the admin state whichever way it goes) {
  // Forward: active -> leaving.
  auto mine = entry(3, admin_state::active, 10);
  CAF_CHECK(merge_roster_entry(mine, entry(3, admin_state::leaving, 11)));
  auto leaving = admin_state::leaving;
  auto state = mine.admin;
  uint64_t av = mine.admin_version;
  CAF_CHECK(state == leaving);
  CAF_CHECK_EQUAL(av, 11u);
  // Back: an operator cancelled a decommission with a newer decision; that must stick.
  auto left_entry = entry(3, admin_state::left, 11);
  CAF_CHECK(merge_roster_entry(left_entry, entry(3, admin_state::active, 12)));
  CAF_CHECK(left_entry.admin == admin_state::active);
  uint64_t av2 = left_entry.admin_version;
  CAF_CHECK_EQUAL(av2, 12u);
  // An older decision is ignored, even when it is "further".
  auto newer = entry(3, admin_state::active, 20);
  auto before = newer;
  CAF_CHECK(!merge_roster_entry(newer, entry(3, admin_state::left, 19)));
  CAF_CHECK(same(newer, before));
}

CAF_TEST(field groups merge independently) {
  // Theirs has the newer incarnation but the older decision: we take one group from each.
  auto mine = entry(1, admin_state::leaving, 9);
  auto theirs = entry(2, admin_state::active, 4);
  CAF_CHECK(merge_roster_entry(mine, theirs));
  auto expected = entry(2, admin_state::leaving, 9);
  CAF_CHECK(same(mine, expected));
  if (!same(mine, expected))
    CAF_MESSAGE("got " << show(mine) << ", expected " << show(expected));
}

CAF_TEST(equal admin_version takes the further state) {
  const admin_state states[] = {admin_state::active, admin_state::leaving, admin_state::left};
  for (auto a : states)
    for (auto b : states) {
      auto mine = entry(1, a, 7);
      bool changed = merge_roster_entry(mine, entry(1, b, 7));
      auto want = std::max(a, b); // left > leaving > active
      CAF_CHECK(mine.admin == want);
      CAF_CHECK_EQUAL(changed, b > a);
      uint64_t av = mine.admin_version;
      CAF_CHECK_EQUAL(av, 7u);
    }
  // Spelled out, so the test does not rest on the enum's numbering alone.
  auto e = entry(1, admin_state::leaving, 7);
  merge_roster_entry(e, entry(1, admin_state::left, 7));
  CAF_CHECK(e.admin == admin_state::left);
  merge_roster_entry(e, entry(1, admin_state::active, 7));
  CAF_CHECK(e.admin == admin_state::left);
  merge_roster_entry(e, entry(1, admin_state::leaving, 7));
  CAF_CHECK(e.admin == admin_state::left);
  auto f = entry(1, admin_state::active, 7);
  merge_roster_entry(f, entry(1, admin_state::leaving, 7));
  CAF_CHECK(f.admin == admin_state::leaving);
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
  CAF_CHECK(merge_roster_entry(e, entry(1, admin_state::active, 6)));   // newer decision
  CAF_CHECK(merge_roster_entry(e, entry(1, admin_state::leaving, 6)));  // further, same version
  CAF_CHECK(!merge_roster_entry(e, entry(1, admin_state::active, 6)));  // less far, same version
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
