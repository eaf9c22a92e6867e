#define CAF_SUITE membership
#include "tests/unit/test_helpers.hpp"

#include "actors/membership.hpp"
#include "actors/node_context.hpp"
#include "actors/roster.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>
#include <thread>
#include <optional>

using namespace dfs;
using namespace std::chrono_literals;

namespace {

using waits = std::vector<std::string>;

/// Stands in for a peer-connection broker: tells the test when membership supersedes it, and
/// takes the gossip membership sends every new connection.
caf::behavior fake_connection(caf::event_based_actor* self, caf::actor test, std::string name) {
  return {
    [=](superseded_atom) { self->send(test, superseded_atom::value, name); },
    [=](gossip_atom, const std::vector<roster_entry>& entries, const waits& waiting_for) {
      self->send(test, gossip_atom::value, name, entries, waiting_for);
    },
  };
}

const std::string a_id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string c_id = "cccccccccccccccccccccccccccccccc";
const std::string ghost_id = "dddddddddddddddddddddddddddddddd";

roster_entry line(const std::string& id, const std::string& name, const std::string& address,
                  admin_state admin = admin_state::active, uint64_t admin_version = 0) {
  return {id, name, address, wall_clock_ms(), admin, admin_version};
}

// A real actor system: membership dials nothing here (nothing sends it a tick).
struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor test{sys};
  membership_actor members;
  std::vector<caf::actor> connections;

  fixture() { start({}); }

  void start(std::vector<roster_entry> saved, std::chrono::seconds down_after = 10s) {
    if (members)
      test->send_exit(members, caf::exit_reason::user_shutdown);
    auto ctx = std::make_shared<node_context>();
    ctx->node_id = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    ctx->config.name = "b";
    ctx->config.suspect_after = std::min(ctx->config.suspect_after, down_after);
    ctx->config.down_after = down_after;
    members = sys.spawn(membership, node_context_ptr{ctx}, std::move(saved));
  }

  ~fixture() {
    for (auto& c : connections)
      test->send_exit(c, caf::exit_reason::user_shutdown);
    test->send_exit(members, caf::exit_reason::user_shutdown);
  }

  caf::actor connection(const std::string& name) {
    auto c = sys.spawn(fake_connection, caf::actor{test}, name);
    connections.push_back(c);
    return c;
  }

  caf::expected<bool> peer_up(const peer_info& who, const caf::actor& connection, bool outbound) {
    caf::expected<bool> result{false};
    test->request(members, 10s, peer_up_atom::value, who, connection, outbound)
      .receive([&](bool answer) { result = answer; }, [&](caf::error& err) { result = err; });
    return result;
  }

  bool peer_up(const caf::actor& connection, bool outbound) {
    auto keep = peer_up(peer_info{a_id, "a", "127.0.0.1:1"}, connection, outbound);
    if (!keep)
      CAF_FAIL("peer_up failed: " << to_string(keep.error()));
    return *keep;
  }

  std::vector<member_view> views() {
    std::vector<member_view> out;
    test->request(members, 10s, members_atom::value)
      .receive([&](std::vector<member_view>& vs) { out = std::move(vs); },
               [&](caf::error& err) { CAF_FAIL("members failed: " << to_string(err)); });
    return out;
  }

  std::optional<member_view> view_of(const std::string& id) {
    for (auto& v : views())
      if (v.node_id == id)
        return v;
    return std::nullopt;
  }

  /// What the member said it waits for (the test fails if it has not said anything yet).
  waits waits_of(const std::string& id) {
    auto v = view_of(id);
    CAF_REQUIRE(v && v->waits_for);
    return *v->waits_for;
  }

  /// `from` gossips `entries`, waiting for `waiting_for`.
  void gossip(const std::string& from, std::vector<roster_entry> entries, waits waiting_for = {}) {
    test->send(members, gossip_atom::value, from, std::move(entries), std::move(waiting_for));
  }

  /// Drops what the fake connections told the test so far (the roster each new one gets).
  void drain() {
    bool more = true;
    while (more)
      test->receive([](gossip_atom, const std::string&, const std::vector<roster_entry>&, const waits&) {},
                    caf::after(100ms) >> [&] { more = false; });
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(membership_tests, fixture)

CAF_TEST(the connection that loses to a parallel one is superseded and stays alive) {
  // The peer's id is the smaller one, so both nodes keep the connection the peer dialed.
  auto ours = connection("dialed by us");
  auto theirs = connection("dialed by the peer");
  test->monitor(ours);
  CAF_CHECK(peer_up(ours, true));
  CAF_CHECK(peer_up(theirs, false)); // kept: the one we held gives way
  std::string superseded;
  bool waiting = true;
  while (waiting)
    test->receive([&](superseded_atom, const std::string& name) { superseded = name, waiting = false; },
                  [](gossip_atom, const std::string&, const std::vector<roster_entry>&, const waits&) {},
                  [&](caf::down_msg&) { CAF_FAIL("the replaced connection was ended, not superseded"); },
                  caf::after(10s) >> [] { CAF_FAIL("no connection was superseded"); });
  CAF_CHECK_EQUAL(superseded, "dialed by us");
}

CAF_TEST(gossip naming a node nobody met does not make it a member) {
  CAF_CHECK(peer_up(connection("a"), false));
  gossip(a_id,
         std::vector<roster_entry>{line(a_id, "a", "127.0.0.1:1"),
                                   line(ghost_id, "ghost", "127.0.0.1:9")});
  auto vs = views();
  CAF_CHECK_EQUAL(vs.size(), 2u); // this node and a
  CAF_CHECK(!view_of(ghost_id));
  // Not even as a decision: a ghost said to be leaving is no member either.
  gossip(a_id,
         std::vector<roster_entry>{line(ghost_id, "ghost", "127.0.0.1:9", admin_state::leaving,
                                        wall_clock_ms())});
  CAF_CHECK(!view_of(ghost_id));
}

CAF_TEST(gossip cannot move another member or retire it with a version from the future) {
  CAF_CHECK(peer_up(connection("a"), false));
  CAF_CHECK(peer_up(peer_info{c_id, "c", "127.0.0.1:3"}, connection("c"), false) == true);
  auto moved = line(c_id, "c", "10.9.9.9:3");
  moved.incarnation = wall_clock_ms() + 1000; // newer than anything c said itself
  gossip(a_id, std::vector<roster_entry>{moved});
  auto c = view_of(c_id);
  CAF_REQUIRE(c);
  CAF_CHECK_EQUAL(c->address, "127.0.0.1:3");
  // "c left" dated far ahead: refused as a whole frame, c stays up.
  gossip(a_id,
         std::vector<roster_entry>{line(c_id, "c", "127.0.0.1:3", admin_state::left,
                                        ~uint64_t{0})});
  c = view_of(c_id);
  CAF_REQUIRE(c);
  CAF_CHECK(c->state == member_state::up);
  // A bad line spoils the frame: its good lines are not taken either.
  gossip(a_id,
         std::vector<roster_entry>{line(c_id, "c", "127.0.0.1:3", admin_state::leaving,
                                        wall_clock_ms()),
                                   line("not-an-id", "x", "127.0.0.1:4")});
  c = view_of(c_id);
  CAF_REQUIRE(c);
  CAF_CHECK(c->state == member_state::up);
  // A member speaks for itself: c moving is taken from c.
  gossip(c_id, std::vector<roster_entry>{moved});
  c = view_of(c_id);
  CAF_REQUIRE(c);
  CAF_CHECK_EQUAL(c->address, "10.9.9.9:3");
}

CAF_TEST(a decommission relayed by gossip is taken and never undone) {
  CAF_CHECK(peer_up(connection("a"), false));
  CAF_CHECK(peer_up(peer_info{c_id, "c", "127.0.0.1:3"}, connection("c"), false) == true);
  gossip(a_id,
         std::vector<roster_entry>{line(c_id, "c", "127.0.0.1:3", admin_state::leaving,
                                        wall_clock_ms())});
  CAF_CHECK(view_of(c_id)->state == member_state::leaving);
  // c itself saying it is active, with a newer version, does not take it back.
  gossip(c_id,
         std::vector<roster_entry>{line(c_id, "c", "127.0.0.1:3", admin_state::active,
                                        wall_clock_ms() + 5000)});
  CAF_CHECK(view_of(c_id)->state == member_state::leaving);
}

CAF_TEST(saved members start suspect and a decommissioned one is refused) {
  start({line(a_id, "a", "127.0.0.1:1"),
         line(c_id, "c", "127.0.0.1:3", admin_state::left, wall_clock_ms())});
  CAF_CHECK(view_of(a_id)->state == member_state::suspect); // not heard from since the start
  CAF_CHECK(view_of(c_id)->state == member_state::left);
  drain();
  auto refused = peer_up(peer_info{c_id, "c", "127.0.0.1:3"}, connection("c"), false);
  CAF_REQUIRE(!refused);
  auto why = describe(refused.error());
  CAF_MESSAGE(why);
  CAF_CHECK(why.find("was decommissioned") != std::string::npos);
  CAF_CHECK(why.find("empty its data_dir") != std::string::npos);
  // The refused node hears the decision, so it can tell its operator.
  bool told = false;
  test->receive(
    [&](gossip_atom, const std::string& who, const std::vector<roster_entry>& entries,
        const waits&) {
      told = who == "c" && entries.size() == 1 && entries[0].node_id == c_id
             && entries[0].admin == admin_state::left;
    },
    caf::after(10s) >> [] {});
  CAF_CHECK(told);
  CAF_CHECK(view_of(c_id)->state == member_state::left);
  CAF_CHECK(!view_of(c_id)->replica);
}

CAF_TEST(decommissioning a name two members share retires the one that is down) {
  // c's machine came back with an empty data_dir: a new id under the old name.
  const std::string new_c = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee";
  start({line(c_id, "c", "127.0.0.1:3")}, 1s);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (view_of(c_id)->state != member_state::down && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  CAF_REQUIRE(view_of(c_id)->state == member_state::down);
  CAF_CHECK(peer_up(peer_info{new_c, "c", "127.0.0.1:3"}, connection("c"), false) == true);
  bool ok = false;
  test->request(members, 10s, leave_atom::value, std::string{"c"})
    .receive([&](caf::ok_atom) { ok = true; },
             [&](caf::error& err) { CAF_FAIL("decommission failed: " << describe(err)); });
  CAF_CHECK(ok);
  CAF_CHECK(view_of(c_id)->state == member_state::left);
  CAF_CHECK(view_of(new_c)->state != member_state::left);
}

CAF_TEST(a node told it was decommissioned stays so and refuses every peer) {
  CAF_CHECK(peer_up(connection("a"), false));
  gossip(a_id,
         std::vector<roster_entry>{line("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "b", "127.0.0.1:2",
                                        admin_state::left, wall_clock_ms())});
  CAF_CHECK(view_of("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb")->state == member_state::left);
  auto refused = peer_up(peer_info{c_id, "c", "127.0.0.1:3"}, connection("c"), false);
  CAF_REQUIRE(!refused);
  CAF_CHECK(describe(refused.error()).find("this node, b") != std::string::npos);
}

CAF_TEST(each gossip replaces the list of ids its sender waits for and a lost link forgets it) {
  auto a = connection("a");
  CAF_CHECK(peer_up(a, false));
  CAF_CHECK(!view_of(a_id)->waits_for); // not said yet: collection waits for a's word
  auto self_line = std::vector<roster_entry>{line(a_id, "a", "127.0.0.1:1")};
  gossip(a_id, self_line, {ghost_id, c_id, c_id});
  CAF_CHECK_EQUAL(waits_of(a_id), (waits{c_id, ghost_id}));
  CAF_CHECK(!view_of(ghost_id)); // a waited-for id makes no member
  gossip(a_id, self_line, {ghost_id});
  CAF_CHECK_EQUAL(waits_of(a_id), (waits{ghost_id})); // replaced, not added to
  gossip(a_id, self_line, {});
  CAF_CHECK_EQUAL(waits_of(a_id), waits{});
  // A list that breaks the rules counts as not said: collection waits, nothing else changes.
  gossip(a_id, self_line, {"not-an-id"});
  CAF_CHECK(!view_of(a_id)->waits_for);
  // The list stands on its own: a refused roster line does not keep it from counting.
  gossip(a_id, {line("not-an-id", "x", "127.0.0.1:4")}, {c_id});
  CAF_CHECK_EQUAL(waits_of(a_id), (waits{c_id}));
  test->send(members, peer_down_atom::value, a);
  CAF_CHECK(!view_of(a_id)->waits_for);
}

CAF_TEST(a node gossips the saved members it has not heard from as the ids it waits for) {
  start({line(c_id, "c", "127.0.0.1:3"),
         line(ghost_id, "d", "127.0.0.1:4", admin_state::left, wall_clock_ms())});
  CAF_CHECK(peer_up(connection("a"), false));
  waits said;
  bool told = false;
  while (!told)
    test->receive(
      [&](gossip_atom, const std::string& who, const std::vector<roster_entry>&, const waits& w) {
        told = who == "a";
        said = w;
      },
      caf::after(10s) >> [&] { CAF_FAIL("a was sent no gossip"); });
  CAF_CHECK_EQUAL(said, waits{c_id}); // c is suspect; d was decommissioned
  CAF_CHECK_EQUAL(waits_of("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"), waits{c_id});
}

CAF_TEST_FIXTURE_SCOPE_END()
