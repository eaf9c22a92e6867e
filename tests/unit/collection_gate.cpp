#define CAF_SUITE collection_gate
#include "tests/unit/test_helpers.hpp"

#include "actors/collection_gate.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace dfs;

namespace {

const std::string self_id = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const std::string n1_id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string c_id = "cccccccccccccccccccccccccccccccc";

// The deterministic scheduler: the members' replicas are actors that never run.
struct fixture : test_coordinator_fixture<> {
  // (Spawned with an argument: CAF 0.17 dereferences a null argument tuple for a function
  // spawned with none, which UBSan reports.)
  caf::actor replica = sys.spawn([](int) { return caf::behavior{[](int) {}}; }, 0);

  member_view member(const std::string& id, const std::string& name, member_state state,
                     std::optional<std::vector<std::string>> waits = std::vector<std::string>{}) {
    bool connected = state != member_state::down && state != member_state::left;
    return {id, name, "127.0.0.1:1", state, connected ? replica : caf::actor{}, std::move(waits)};
  }

  std::vector<member_view> cluster(std::optional<std::vector<std::string>> n1_waits) {
    return {member(self_id, "self", member_state::up),
            member(n1_id, "n1", member_state::up, std::move(n1_waits))};
  }
};

bool mentions(const std::vector<std::string>& reasons, const std::string& text) {
  return std::any_of(reasons.begin(), reasons.end(),
                     [&](auto& r) { return r.find(text) != std::string::npos; });
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(collection_gate_tests, fixture)

CAF_TEST(collection waits for a node only a readable member knows) {
  // This node never met c (it joined while c was away); n1 knows c and waits for it.
  auto reasons = collection_waits(cluster(std::vector<std::string>{c_id}), self_id);
  CAF_CHECK_EQUAL(reasons.size(), 1u);
  CAF_CHECK(mentions(reasons, "n1 waits for " + c_id));
  // n1's next list no longer names c: nothing is remembered of the previous one.
  CAF_CHECK(collection_waits(cluster(std::vector<std::string>{}), self_id).empty());
}

CAF_TEST(a readable member that has not said whom it waits for holds collection) {
  auto reasons = collection_waits(cluster(std::nullopt), self_id);
  CAF_CHECK(mentions(reasons, "n1 has not said yet"));
}

CAF_TEST(a node known here as left is not waited for) {
  auto members = cluster(std::vector<std::string>{c_id});
  members.push_back(member(c_id, "c", member_state::left));
  CAF_CHECK(collection_waits(members, self_id).empty());
  // Known, but not left: named with its name.
  members.back() = member(c_id, "c", member_state::down);
  auto reasons = collection_waits(members, self_id);
  CAF_CHECK(mentions(reasons, "c is down"));
  CAF_CHECK(mentions(reasons, "n1 waits for c (" + c_id + ")"));
}

CAF_TEST(only readable members speak for whom collection waits) {
  // A member that is down holds collection by being down; what it said before does not count.
  std::vector<member_view> members{member(self_id, "self", member_state::up),
                                   member(n1_id, "n1", member_state::down,
                                          std::vector<std::string>{c_id})};
  auto reasons = collection_waits(members, self_id);
  CAF_CHECK_EQUAL(reasons.size(), 1u);
  CAF_CHECK(mentions(reasons, "n1 is down"));
  // A leaving member is readable: its list counts.
  members[1] = member(n1_id, "n1", member_state::leaving, std::vector<std::string>{c_id});
  CAF_CHECK(mentions(collection_waits(members, self_id), "n1 waits for " + c_id));
  // This node's own list is its members' states, not the field.
  members = cluster(std::vector<std::string>{});
  members[0].waits_for = std::vector<std::string>{c_id};
  CAF_CHECK(collection_waits(members, self_id).empty());
}

CAF_TEST(a node waits for the members it knows that are suspect or down) {
  std::vector<member_view> members{member(self_id, "self", member_state::up),
                                   member(n1_id, "n1", member_state::suspect),
                                   member(c_id, "c", member_state::down),
                                   member("dddddddddddddddddddddddddddddddd", "d", member_state::left),
                                   member("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "e", member_state::up)};
  CAF_CHECK_EQUAL(ids_waited_for(members), (std::vector<std::string>{n1_id, c_id}));
}

CAF_TEST_FIXTURE_SCOPE_END()
