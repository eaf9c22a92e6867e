#pragma once
// A node alone in its cluster (R = W = 1) around a real store, with the test standing in for
// membership (it answers when told): for suites that run one actor of a node (a put session,
// the coordinator) against it. Include after test_helpers.hpp.
#include "actors/node_context.hpp"
#include "actors/store.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace dfs::test {

struct one_node {
  temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor membership{sys};
  store_actor st = sys.spawn<caf::detached>(store, dir.path.string());
  std::shared_ptr<node_context> ctx = std::make_shared<node_context>();

  const std::string node_id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

  one_node() {
    ctx->node_id = node_id;
    ctx->config.replicas = 1;
    ctx->config.write_quorum = 1;
    ctx->config.secret = std::string(32, 's');
    ctx->store = st;
    ctx->membership = caf::actor_cast<membership_actor>(caf::actor{membership});
  }

  ~one_node() { membership->send_exit(st, caf::exit_reason::user_shutdown); }

  /// Answers the next question for the members: this node alone, up, or the given replica.
  void answer_membership(caf::actor replica = {}) {
    bool asked = false;
    membership->receive(
      [&](members_atom) {
        asked = true;
        if (replica)
          return std::vector<member_view>{
            {std::string(32, 'b'), "b", "127.0.0.1:2", member_state::up, replica}};
        return std::vector<member_view>{
          {node_id, "a", "127.0.0.1:1", member_state::up, caf::actor_cast<caf::actor>(st)}};
      },
      caf::after(std::chrono::seconds{10}) >> [] {});
    CAF_REQUIRE(asked);
  }

  /// The store takes versions up to `ahead` past its wall clock ([cluster] max_clock_skew).
  void store_accepts_versions_ahead(std::chrono::milliseconds ahead) {
    bool set = false;
    membership
      ->request(caf::actor_cast<caf::actor>(st), std::chrono::seconds{10}, clock_skew_atom::value,
                static_cast<uint64_t>(ahead.count()))
      .receive([&](caf::ok_atom) { set = true; }, [](caf::error& e) { CAF_FAIL(describe(e)); });
    CAF_REQUIRE(set);
  }

  /// Puts `m` into the store directly, as a replica that took it from another node.
  void hold(const manifest& m) {
    bool held = false;
    membership->request(st, std::chrono::seconds{10}, put_manifest_atom::value, m)
      .receive([&](caf::ok_atom) { held = true; }, [](caf::error& e) { CAF_FAIL(describe(e)); });
    CAF_REQUIRE(held);
  }
};

} // namespace dfs::test
