#define CAF_SUITE membership
#include "tests/unit/test_helpers.hpp"

#include "actors/membership.hpp"
#include "actors/node_context.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>

using namespace dfs;
using namespace std::chrono_literals;

namespace {

/// Stands in for a peer-connection broker: tells the test when membership supersedes it, and
/// takes the gossip membership sends every new connection.
caf::behavior fake_connection(caf::event_based_actor* self, caf::actor test, std::string name) {
  return {
    [=](superseded_atom) { self->send(test, superseded_atom::value, name); },
    [](gossip_atom, const std::vector<roster_entry>&) {},
  };
}

// A real actor system: membership spawns a detached dialer (idle here: nothing sends a tick).
struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor test{sys};
  membership_actor members;

  fixture() {
    auto ctx = std::make_shared<node_context>();
    ctx->node_id = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    ctx->config.name = "b";
    members = sys.spawn(membership, node_context_ptr{ctx});
  }

  ~fixture() { test->send_exit(members, caf::exit_reason::user_shutdown); }

  bool peer_up(const caf::actor& connection, bool outbound) {
    bool keep = false;
    test->request(members, 10s, peer_up_atom::value,
                  peer_info{"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "a", "127.0.0.1:1"}, connection,
                  outbound)
      .receive([&](bool answer) { keep = answer; },
               [&](caf::error& err) { CAF_FAIL("peer_up failed: " << to_string(err)); });
    return keep;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(membership_tests, fixture)

CAF_TEST(the connection that loses to a parallel one is superseded and stays alive) {
  // The peer's id is the smaller one, so both nodes keep the connection the peer dialed.
  auto ours = sys.spawn(fake_connection, caf::actor{test}, std::string{"dialed by us"});
  auto theirs = sys.spawn(fake_connection, caf::actor{test}, std::string{"dialed by the peer"});
  test->monitor(ours);
  CAF_CHECK(peer_up(ours, true));
  CAF_CHECK(peer_up(theirs, false)); // kept: the one we held gives way
  std::string superseded;
  test->receive([&](superseded_atom, const std::string& name) { superseded = name; },
                [&](caf::down_msg&) { CAF_FAIL("the replaced connection was ended, not superseded"); },
                caf::after(10s) >> [] { CAF_FAIL("no connection was superseded"); });
  CAF_CHECK_EQUAL(superseded, "dialed by us");
  for (auto& c : {ours, theirs})
    test->send_exit(c, caf::exit_reason::user_shutdown);
}

CAF_TEST_FIXTURE_SCOPE_END()
