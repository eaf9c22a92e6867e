#define CAF_SUITE replication
#include "tests/unit/test_helpers.hpp"

#include "actors/replication.hpp"
#include "actors/store.hpp"
#include "common/error.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <tuple>

using namespace dfs;
using namespace std::chrono_literals;

// Replication against a real store (detached, on its own thread) and real time: the store's
// re-check compares steady-clock times, which CAF's deterministic scheduler does not drive. A
// gate between the replication actor and the store holds the first removal of a pass until the
// test has done what it wants to happen between planning and removing.

namespace {

using steady = std::chrono::steady_clock;

using test::bytes_of;

chunk_id id_of(const byte_buffer& b) { return chunk_id::of(b.data(), b.size()); }

/// Answers members with a fixed list, as membership would.
caf::behavior membership_stub(caf::event_based_actor*, std::vector<member_view> members) {
  return {[members](members_atom) { return members; }};
}

struct gate_state {
  static inline const char* name = "delete_gate";
  bool open = false;
  std::vector<std::tuple<caf::response_promise, chunk_id, steady::time_point>> held;
};

/// Stands in for the store where replication removes chunks: tells `test` of the first
/// collection and holds it, and every one after, until `test` sends resume; then passes them
/// on to `real`.
caf::behavior delete_gate(caf::stateful_actor<gate_state>* self, caf::actor real,
                          caf::actor test) {
  return {
    [=](delete_chunk_atom, const chunk_id& id, steady::time_point planned_at) {
      auto rp = self->make_response_promise();
      if (self->state.open) {
        rp.delegate(real, delete_chunk_atom::value, id, planned_at);
      } else {
        if (self->state.held.empty())
          self->send(test, delete_chunk_atom::value, id);
        self->state.held.emplace_back(rp, id, planned_at);
      }
      return rp;
    },
    [=](resume_atom) {
      self->state.open = true;
      for (auto& [rp, id, planned_at] : self->state.held)
        rp.delegate(real, delete_chunk_atom::value, id, planned_at);
      self->state.held.clear();
    },
  };
}

struct fixture {
  test::temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  store_actor st = sys.spawn<caf::detached>(store, dir.path.string());
  caf::actor gate = sys.spawn(delete_gate, caf::actor_cast<caf::actor>(st), caf::actor{self});
  caf::actor membership;
  replication_actor repl;

  const std::string node_id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  /// The store's gc_grace: how long a touch keeps a chunk.
  const steady::duration grace = 200ms;

  fixture() {
    membership = sys.spawn(membership_stub, std::vector<member_view>{
      {node_id, "a", "127.0.0.1:1", member_state::up, caf::actor_cast<caf::actor>(st)}});
    bool set = false;
    self->request(caf::actor_cast<caf::actor>(st), 10s, gc_grace_atom::value, caf::timespan{grace})
      .receive([&](caf::ok_atom) { set = true; }, [](caf::error&) {});
    CAF_REQUIRE(set);
    auto ctx = std::make_shared<node_context>();
    ctx->node_id = node_id;
    ctx->config.replicas = 1;
    ctx->config.write_quorum = 1;
    ctx->config.anti_entropy_interval = std::chrono::seconds{3600}; // passes only when asked
    // The planner's own clock out of the way: garbage at the first pass that sees it, so that
    // only the store's re-check stands between a pass and a chunk.
    ctx->config.gc_grace = std::chrono::seconds{0};
    ctx->store = caf::actor_cast<store_actor>(gate);
    ctx->membership = caf::actor_cast<membership_actor>(membership);
    repl = sys.spawn(replication, node_context_ptr{ctx});
  }

  ~fixture() {
    for (auto a : {caf::actor_cast<caf::actor>(repl), gate, membership, caf::actor_cast<caf::actor>(st)})
      self->send_exit(a, caf::exit_reason::user_shutdown);
  }

  void put(const byte_buffer& b) {
    bool ok = false;
    self->request(st, 10s, put_chunk_atom::value, id_of(b), b)
      .receive([&](caf::ok_atom) { ok = true; },
               [&](caf::error& err) { CAF_FAIL("put failed: " << describe(err)); });
    CAF_REQUIRE(ok);
  }

  bool holds(const byte_buffer& b) {
    bool held = false;
    self->request(st, 10s, has_chunks_atom::value, std::vector<chunk_id>{id_of(b)})
      .receive([&](std::vector<bool>& present) { held = present.at(0); }, [](caf::error&) {});
    return held;
  }

  /// Polls `done` until it holds or 5 s pass.
  template <class Predicate>
  bool within_5s(Predicate done) {
    for (int i = 0; i < 100 && !done(); ++i)
      std::this_thread::sleep_for(50ms);
    return done();
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(replication_tests, fixture)

CAF_TEST(a pass planned before a put and run after it does not delete the chunk the put wrote) {
  auto first = bytes_of("garbage, then put again");
  auto second = bytes_of("garbage");
  put(first);
  put(second);
  // Both unreferenced and untouched for longer than gc_grace: garbage to the next pass.
  std::this_thread::sleep_for(grace + 50ms);
  self->send(repl, changed_atom::value);
  chunk_id held_back;
  bool planned = false;
  self->receive([&](delete_chunk_atom, const chunk_id& id) { held_back = id, planned = true; },
                caf::after(10s) >> [] {});
  CAF_REQUIRE(planned);
  // The pass has made its inventories and planned both removals. Now a put stores the content
  // of the first removal again: a no-op on disk, since the store still holds it.
  auto again = held_back == id_of(first) ? first : second;
  auto other = held_back == id_of(first) ? second : first;
  put(again);
  self->send(gate, resume_atom::value);
  CAF_CHECK(within_5s([&] { return !holds(other); }));
  CAF_CHECK(holds(again));
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- The pass while a member is suspect, on the deterministic scheduler ----------------------

namespace {

struct replica_state {
  static inline const char* name = "replica_stub";
  std::vector<chunk_id> chunks;
  std::vector<manifest> manifests;
  std::map<chunk_id, byte_buffer> bytes;
  size_t received = 0;              // every message, of any kind
  std::vector<chunk_id> chunks_put; // put_chunk, in order
  std::vector<std::string> keys_put; // put_manifest, in order
  size_t removals = 0;              // delete_chunk and delete_manifest
  std::function<void()> on_inventory; // runs before an inventory is answered
  bool paused = false; // holds every put unanswered, as a paused node does
  bool inventory_paused = false; // holds inventories unanswered
  std::vector<caf::response_promise> unanswered;
};

caf::response_promise answer_put(caf::stateful_actor<replica_state>* self) {
  auto rp = self->make_response_promise();
  if (self->state.paused)
    self->state.unanswered.push_back(rp);
  else
    rp.deliver(caf::ok_atom::value);
  return rp;
}

/// A member's store as replication sees it: answers inventories and reads from what it was
/// given, and records every write and removal.
caf::behavior replica_stub(caf::stateful_actor<replica_state>* self, std::vector<byte_buffer> held,
                           std::vector<manifest> manifests) {
  for (auto& b : held) {
    self->state.chunks.push_back(id_of(b));
    self->state.bytes[id_of(b)] = b;
  }
  self->state.manifests = std::move(manifests);
  auto& st = self->state;
  return {
    [self](inventory_atom) {
      auto& st = self->state;
      ++st.received;
      if (st.on_inventory)
        st.on_inventory();
      auto rp = self->make_response_promise();
      if (st.inventory_paused)
        st.unanswered.push_back(rp);
      else
        rp.deliver(st.chunks, st.manifests, uint64_t{0});
      return rp;
    },
    [&st](get_chunk_atom, const chunk_id& id) -> caf::result<byte_buffer> {
      ++st.received;
      auto i = st.bytes.find(id);
      if (i == st.bytes.end())
        return make_error(errc::not_found, "no such chunk");
      return i->second;
    },
    [self](put_chunk_atom, const chunk_id& id, const byte_buffer&) {
      auto& st = self->state;
      ++st.received;
      st.chunks_put.push_back(id);
      return answer_put(self);
    },
    [self](put_manifest_atom, const manifest& m) {
      auto& st = self->state;
      ++st.received;
      st.keys_put.push_back(m.key);
      return answer_put(self);
    },
    [&st](delete_chunk_atom, const chunk_id&) {
      ++st.received, ++st.removals;
      return caf::ok_atom::value;
    },
    [&st](delete_chunk_atom, const chunk_id&, steady::time_point) {
      ++st.received, ++st.removals;
      return true;
    },
    [&st](delete_manifest_atom, const std::string&, const version&) {
      ++st.received, ++st.removals;
      return caf::ok_atom::value;
    },
  };
}

/// Answers members with whatever `members` holds at the time.
caf::behavior shared_membership(caf::event_based_actor*,
                                std::shared_ptr<std::vector<member_view>> members) {
  return {[members](members_atom) { return *members; }};
}

struct suspect_fixture : test_coordinator_fixture<> {
  // Four members, R = 3: every item's targets are this node, n1 and n3 (the ranking keeps the
  // suspect n3; the down n2 is out of it).
  const std::string self_id = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const std::string n1_id = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
  const std::string n2_id = "cccccccccccccccccccccccccccccccc"; // down for good
  const std::string n3_id = "dddddddddddddddddddddddddddddddd"; // suspect: paused, still connected
  byte_buffer chunk = bytes_of("a chunk n2 held, now only here");
  manifest file;
  caf::actor own_store;
  caf::actor n1;
  caf::actor n3;
  std::shared_ptr<std::vector<member_view>> roster = std::make_shared<std::vector<member_view>>();
  caf::actor membership;
  replication_actor repl;

  suspect_fixture() {
    file.key = "file";
    file.size = chunk.size();
    file.version = version{1000, self_id};
    file.chunks.push_back(chunk_ref{id_of(chunk), static_cast<uint32_t>(chunk.size())});
    own_store = sys.spawn(replica_stub, std::vector<byte_buffer>{chunk}, std::vector<manifest>{file});
    n1 = sys.spawn(replica_stub, std::vector<byte_buffer>{}, std::vector<manifest>{});
    // n3 holds a surplus-looking copy: whatever it holds, nobody may ask it anything.
    n3 = sys.spawn(replica_stub, std::vector<byte_buffer>{chunk}, std::vector<manifest>{file});
    *roster = {{self_id, "self", "127.0.0.1:1", member_state::up, own_store},
               {n1_id, "n1", "127.0.0.1:2", member_state::up, n1},
               {n2_id, "n2", "127.0.0.1:3", member_state::down, caf::actor{}},
               {n3_id, "n3", "127.0.0.1:4", member_state::suspect, n3}};
    membership = sys.spawn(shared_membership, roster);
    auto ctx = std::make_shared<node_context>();
    ctx->node_id = self_id;
    ctx->config.replicas = 3;
    ctx->config.repair_rate = 0;
    ctx->config.anti_entropy_interval = std::chrono::seconds{3600}; // passes only when asked
    ctx->config.gc_grace = std::chrono::seconds{0}; // garbage at the first pass that may collect
    ctx->store = caf::actor_cast<store_actor>(own_store);
    ctx->membership = caf::actor_cast<membership_actor>(membership);
    repl = sys.spawn(replication, node_context_ptr{ctx});
    sched.run();
  }

  // Before the base fixture's run(), which fires timeouts until none is left: the replication
  // actor's tick would schedule the next one for ever.
  ~suspect_fixture() override {
    for (auto a : {caf::actor_cast<caf::actor>(repl), own_store, n1, n3, membership})
      self->send_exit(a, caf::exit_reason::user_shutdown);
    sched.run();
  }

  replica_state& state_of(const caf::actor& a) {
    return deref<caf::stateful_actor<replica_state>>(a).state;
  }

  /// Starts a pass with n3 up and paused (its stub holds what the test paused), checks that the
  /// pass waits for n3, then has membership call n3 suspect and say so.
  void pass_waits_for_n3_then_n3_is_suspect() {
    self->send(repl, changed_atom::value);
    sched.run();
    CAF_REQUIRE_EQUAL(state_of(n3).unanswered.size(), 1u);
    CAF_CHECK(state_of(n1).chunks_put.empty());
    set_state(n3_id, member_state::suspect);
    self->send(repl, changed_atom::value);
    sched.run();
  }

  void set_state(const std::string& id, member_state state) {
    for (auto& m : *roster)
      if (m.node_id == id)
        m.state = state;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(suspect_member_tests, suspect_fixture)

CAF_TEST(with a member suspect and another down a pass copies to the up member) {
  // Messages only: fixture's run() would also fire the ticks, each of which schedules the next.
  self->send(repl, changed_atom::value);
  sched.run();
  // The item n2 held is rebuilt on n1, which is up.
  auto& at_n1 = state_of(n1);
  CAF_CHECK(at_n1.chunks_put == std::vector<chunk_id>{id_of(chunk)});
  CAF_CHECK(at_n1.keys_put == std::vector<std::string>{"file"});
  // The suspect n3 is neither asked for its inventory nor sent a copy; nothing is removed.
  CAF_CHECK_EQUAL(state_of(n3).received, 0u);
  CAF_CHECK_EQUAL(state_of(own_store).removals, 0u);
  CAF_CHECK_EQUAL(at_n1.removals, 0u);
}

CAF_TEST(a copy planned while a member was up is skipped once it is suspect) {
  // n3 is up when the pass starts and lacks the item; right after it answers the inventory it
  // falls silent: membership calls it suspect and says so, before the copies run.
  set_state(n3_id, member_state::up);
  auto& at_n3 = state_of(n3);
  at_n3.chunks.clear();
  at_n3.manifests.clear();
  at_n3.on_inventory = [this] {
    set_state(n3_id, member_state::suspect);
    self->send(repl, changed_atom::value);
  };
  self->send(repl, changed_atom::value);
  sched.run();
  CAF_CHECK_EQUAL(at_n3.received, 1u); // the inventory, and nothing after it
  CAF_CHECK(at_n3.chunks_put.empty());
  CAF_CHECK(at_n3.keys_put.empty());
  // The copies to n1, which is still up, go ahead.
  CAF_CHECK(state_of(n1).chunks_put == std::vector<chunk_id>{id_of(chunk)});
  CAF_CHECK(state_of(n1).keys_put == std::vector<std::string>{"file"});
}

CAF_TEST(a copy to a member that falls suspect while the copy waits does not hold the queue) {
  // n3 is up and lacks the item, but paused: it answers no put. The manifest's copies come
  // first, so the chunk's copy to n1 waits behind a copy to n3.
  set_state(n3_id, member_state::up);
  auto& at_n3 = state_of(n3);
  at_n3.chunks.clear();
  at_n3.manifests.clear();
  at_n3.paused = true;
  pass_waits_for_n3_then_n3_is_suspect();
  // The queue moved on without its answer.
  CAF_CHECK(state_of(n1).chunks_put == std::vector<chunk_id>{id_of(chunk)});
  CAF_CHECK(state_of(n1).keys_put == std::vector<std::string>{"file"});
  CAF_CHECK_EQUAL(at_n3.unanswered.size(), 1u); // and nothing more was sent to n3
  CAF_CHECK(at_n3.chunks_put.empty());
}

CAF_TEST(a pass does not wait for the inventory of a member that falls suspect) {
  // n3 is up when the pass starts, but paused: its inventory does not come.
  set_state(n3_id, member_state::up);
  auto& at_n3 = state_of(n3);
  at_n3.inventory_paused = true;
  pass_waits_for_n3_then_n3_is_suspect();
  // The pass was given up, and the one the change asked for (200 ms later) copies around n3
  // without asking it anything.
  CAF_CHECK(state_of(n1).chunks_put.empty());
  CAF_CHECK(sched.trigger_timeout()); // the first timeout due: that pass, 200 ms later
  sched.run();
  CAF_CHECK(state_of(n1).chunks_put == std::vector<chunk_id>{id_of(chunk)});
  CAF_CHECK(state_of(n1).keys_put == std::vector<std::string>{"file"});
  CAF_CHECK_EQUAL(at_n3.received, 1u);
}

CAF_TEST(a removal planned while every member was up is skipped once one is suspect) {
  // Collection may run (n2 has left, n1 and n3 wait for nobody), and this node holds a chunk
  // no manifest references: garbage at the first pass (gc_grace 0). n3 falls silent right
  // after it answers the inventory.
  set_state(n2_id, member_state::left);
  set_state(n3_id, member_state::up);
  for (auto& m : *roster)
    m.waits_for = std::vector<std::string>{};
  auto garbage = bytes_of("no manifest references this");
  auto& mine = state_of(own_store);
  mine.chunks.push_back(id_of(garbage));
  mine.bytes[id_of(garbage)] = garbage;
  state_of(n3).on_inventory = [this] {
    set_state(n3_id, member_state::suspect);
    self->send(repl, changed_atom::value);
  };
  self->send(repl, changed_atom::value);
  sched.run();
  CAF_CHECK_EQUAL(mine.removals, 0u);
  // Once n3 is back, the next pass collects it.
  state_of(n3).on_inventory = nullptr;
  set_state(n3_id, member_state::up);
  self->send(repl, changed_atom::value);
  sched.run();
  CAF_CHECK_EQUAL(mine.removals, 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()
