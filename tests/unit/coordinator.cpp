#define CAF_SUITE coordinator
#include "tests/unit/test_helpers.hpp"
#include "tests/unit/one_node.hpp"

#include "actors/coordinator.hpp"
#include "actors/placement.hpp"
#include "common/error.hpp"
#include "common/wall_clock.hpp"

#include <chrono>
#include <memory>
#include <vector>

using namespace dfs;
using namespace std::chrono_literals;

namespace {

// The coordinator of a node alone in its cluster, with a real store.
struct fixture : test::one_node {
  caf::scoped_actor self{sys};
  coordinator_actor coord = sys.spawn(coordinator, node_context_ptr{ctx});

  std::vector<caf::actor> replicas; // stand-ins for other members, stopped with the fixture

  ~fixture() {
    self->send_exit(coord, caf::exit_reason::user_shutdown);
    for (auto& r : replicas)
      self->send_exit(r, caf::exit_reason::user_shutdown);
  }

  /// A member whose replica is a replica_stub.
  member_view stub_member(std::string id, std::string name, caf::actor stub) {
    replicas.push_back(stub);
    return {std::move(id), std::move(name), "127.0.0.1:2", member_state::up, std::move(stub)};
  }

  version removed; // what the last successful rm answered

  caf::error rm(const std::string& key) {
    caf::error out;
    self->send(coord, rm_atom::value, key); // the answer arrives as an ordinary message
    answer_membership();
    self->receive([&](version& v) { removed = std::move(v); },
                  [&](caf::error& e) { out = std::move(e); },
                  caf::after(10s) >> [&] { out = make_error(errc::timeout, "no answer to rm"); });
    return out;
  }

  manifest stored(const std::string& key) {
    manifest out;
    self->request(st, 10s, get_manifest_atom::value, key)
      .receive([&](manifest& m) { out = std::move(m); }, [](caf::error& e) { CAF_FAIL(describe(e)); });
    return out;
  }
};

/// A replica that holds `file` and takes manifests into `taken`, or refuses them for want of
/// room as a full disk does.
caf::behavior replica_stub(caf::event_based_actor*, manifest file, bool full,
                           std::shared_ptr<std::vector<manifest>> taken) {
  return {
    [=](get_manifest_atom, const std::string&) { return file; },
    [=](put_manifest_atom, const manifest& m) -> caf::result<caf::ok_atom> {
      if (full)
        return make_error(errc::no_space, "disk nearly full: 1000 bytes free");
      taken->push_back(m);
      return caf::ok_atom::value;
    },
  };
}

manifest empty_file_manifest(const std::string& key, version v) {
  manifest m;
  m.key = key;
  m.version = std::move(v);
  return m; // an empty file: no chunks, nothing inline
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(coordinator_tests, fixture)

CAF_TEST(rm writes its tombstone again above a newer version it had not seen) {
  // Another node wrote k with its clock 30 s ahead of this one (within max_clock_skew), and
  // this node's clock has not seen that version. Before, the store answered ok while it kept
  // the file: rm was acknowledged and the file stayed.
  version ahead{wall_clock_ms() + 30'000, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"};
  hold(empty_file_manifest("k", ahead));
  auto err = rm("k");
  CAF_REQUIRE_EQUAL(describe(err), "no error");
  auto m = stored("k");
  CAF_CHECK(m.deleted);
  CAF_CHECK(ahead < m.version);
  CAF_CHECK_EQUAL(m.version.node_id, node_id);
  // rm answers the version it wrote last, the one the store acknowledged, not its first try.
  CAF_CHECK_EQUAL(removed.to_string(), m.version.to_string());
}

CAF_TEST(rm fails and says why when the newest version is far ahead of its clock) {
  store_accepts_versions_ahead(2h);
  version far{wall_clock_ms() + 3'600'000, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"};
  hold(empty_file_manifest("k", far));
  auto err = rm("k");
  CAF_CHECK(code_of(err) == errc::clock_skew);
  CAF_MESSAGE(describe(err));
  auto m = stored("k");
  CAF_CHECK(!m.deleted);
  CAF_CHECK(m.version == far);
}

// A replica of the key's that is full refuses the tombstone: the next member in rendezvous order
// takes its place, as it takes a put's manifest. Before, rm wrote only to the first R and failed
// with no_space while a member with room was up.
CAF_TEST(rm places the tombstone on the next member when a replica is full) {
  ctx->config.replicas = 2;
  ctx->config.write_quorum = 2;
  auto file = empty_file_manifest("k", version{wall_clock_ms(), node_id});
  std::vector<std::string> ids = {std::string(32, 'b'), std::string(32, 'c'), std::string(32, 'd')};
  auto order = rank_nodes(manifest_placement_id("k"), ids);
  std::vector<member_view> members;
  std::vector<std::shared_ptr<std::vector<manifest>>> taken;
  for (size_t i = 0; i < ids.size(); ++i) {
    bool full = i == order[0]; // the first replica of the key
    taken.push_back(std::make_shared<std::vector<manifest>>());
    members.push_back(stub_member(ids[i], "n" + std::to_string(i),
                                  sys.spawn(replica_stub, file, full, taken.back())));
  }
  self->send(coord, rm_atom::value, std::string{"k"});
  membership->receive([&](members_atom) { return members; });
  caf::error err;
  self->receive([&](version& v) { removed = std::move(v); },
                [&](caf::error& e) { err = std::move(e); });
  CAF_REQUIRE_EQUAL(describe(err), "no error");
  CAF_CHECK(taken[order[0]]->empty());
  for (auto i : {order[1], order[2]}) {
    CAF_REQUIRE_EQUAL(taken[i]->size(), 1u);
    CAF_CHECK(taken[i]->front().deleted);
    CAF_CHECK_EQUAL(taken[i]->front().version.to_string(), removed.to_string());
  }
}

CAF_TEST(rm fails naming the full nodes when too few members have room) {
  ctx->config.replicas = 2;
  ctx->config.write_quorum = 2;
  auto file = empty_file_manifest("k", version{wall_clock_ms(), node_id});
  auto taken = std::make_shared<std::vector<manifest>>();
  std::vector<member_view> members = {
    stub_member(std::string(32, 'b'), "n1", sys.spawn(replica_stub, file, true, taken)),
    stub_member(std::string(32, 'c'), "n2", sys.spawn(replica_stub, file, false, taken))};
  self->send(coord, rm_atom::value, std::string{"k"});
  membership->receive([&](members_atom) { return members; });
  caf::error err;
  self->receive([&](version&) {}, [&](caf::error& e) { err = std::move(e); });
  CAF_CHECK(code_of(err) == errc::no_space);
  CAF_CHECK_EQUAL(describe(err), "no space on node n1: disk nearly full: 1000 bytes free (only 1 "
                                 "of 2 required replicas reachable)");
}

CAF_TEST_FIXTURE_SCOPE_END()
