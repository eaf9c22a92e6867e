#define CAF_SUITE scrubber
#include "tests/unit/test_helpers.hpp"

#include "actors/scrubber.hpp"
#include "actors/store.hpp"
#include "common/error.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

namespace fs = std::filesystem;
using namespace dfs;
using namespace std::chrono_literals;

namespace {

using test::bytes_of;

chunk_id id_of(const byte_buffer& b) { return chunk_id::of(b.data(), b.size()); }

std::string path_of(const fs::path& data_dir, const chunk_id& id) {
  auto hex = id.hex();
  return (data_dir / "chunks" / hex.substr(0, 2) / hex.substr(2, 2) / hex).string();
}

void flip_first_byte(const std::string& path) {
  std::fstream f{path, std::ios::in | std::ios::out | std::ios::binary};
  char c = 0;
  f.get(c);
  f.seekp(0);
  f.put(static_cast<char>(c ^ 0x01));
}

/// Answers members with a fixed list, as membership would.
caf::behavior membership_stub(caf::event_based_actor*, std::vector<member_view> members) {
  return {[members](members_atom) { return members; }};
}

/// Tells the test which chunk B was asked for, once B has answered (the answer passes through).
using asked_atom = caf::atom_constant<caf::atom("asked")>;

/// Stands in front of B's store for get_chunk, the one request a chunk's restore sends it.
caf::behavior replica_spy(caf::event_based_actor* self, caf::actor store, caf::actor observer) {
  return {[=](get_chunk_atom, const chunk_id& id) {
    auto rp = self->make_response_promise();
    self->request(store, caf::infinite, get_chunk_atom::value, id)
      .then(
        [=](byte_buffer& bytes) mutable {
          rp.deliver(std::move(bytes));
          self->send(observer, asked_atom::value, id);
        },
        [=](caf::error& err) mutable {
          rp.deliver(std::move(err));
          self->send(observer, asked_atom::value, id);
        });
    return rp;
  }};
}

// Two nodes' stores (A is "this node", B a replica) on real threads, a membership stub that
// lists both as up, and a scrubber of A's that reports each pass to the scoped actor.
struct fixture {
  test::temp_dir dir_a;
  test::temp_dir dir_b;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  store_actor store_a = sys.spawn<caf::detached>(store, dir_a.path.string());
  store_actor store_b = sys.spawn<caf::detached>(store, dir_b.path.string());
  caf::actor membership;
  caf::actor scrub;
  std::shared_ptr<node_context> ctx = std::make_shared<node_context>();

  const std::string id_a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
  const std::string id_b = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

  fixture() {
    std::vector<member_view> members{
      {id_a, "a", "127.0.0.1:1", member_state::up, caf::actor_cast<caf::actor>(store_a)},
      {id_b, "b", "127.0.0.1:2", member_state::up, caf::actor_cast<caf::actor>(store_b)}};
    membership = sys.spawn(membership_stub, members);
    ctx->node_id = id_a;
    ctx->config.replicas = 3;
    ctx->config.scrub_interval = std::chrono::seconds{3600}; // passes only when asked
    ctx->config.scrub_rate = 0;
    ctx->store = store_a;
    ctx->membership = caf::actor_cast<membership_actor>(membership);
    scrub = sys.spawn(scrubber, node_context_ptr{ctx}, caf::actor{}, caf::actor{self});
  }

  ~fixture() {
    for (auto a : {caf::actor_cast<caf::actor>(store_a), caf::actor_cast<caf::actor>(store_b),
                   membership, scrub})
      self->send_exit(a, caf::exit_reason::user_shutdown);
  }

  void put(store_actor& st, const byte_buffer& b) {
    bool ok = false;
    self->request(st, 10s, put_chunk_atom::value, id_of(b), b)
      .receive([&](caf::ok_atom) { ok = true; },
               [&](caf::error& err) { CAF_FAIL("put failed: " << describe(err)); });
    CAF_REQUIRE(ok);
  }

  bool holds_good_copy(store_actor& st, const byte_buffer& b) {
    bool good = false;
    self->request(st, 10s, get_chunk_atom::value, id_of(b))
      .receive([&](byte_buffer& got) { good = got == b; }, [&](caf::error&) {});
    return good;
  }

  void put_manifest(store_actor& st, const manifest& m) {
    bool ok = false;
    self->request(st, 10s, put_manifest_atom::value, m)
      .receive([&](caf::ok_atom) { ok = true; },
               [&](caf::error& err) { CAF_FAIL("put_manifest failed: " << describe(err)); });
    CAF_REQUIRE(ok);
  }

  bool holds_inline_file(store_actor& st, const manifest& m) {
    bool good = false;
    self->request(st, 10s, get_manifest_atom::value, m.key)
      .receive([&](manifest& got) { good = got.inline_data == m.inline_data; },
               [&](caf::error&) {});
    return good;
  }

  /// Polls `done` until it holds or 5 s pass (the replacement is asynchronous).
  template <class Predicate>
  bool within_5s(Predicate done) {
    for (int i = 0; i < 100; ++i) {
      if (done())
        return true;
      std::this_thread::sleep_for(50ms);
    }
    return done();
  }

  /// Asks for a pass and waits for its report.
  scrub_counters run_pass() {
    self->send(scrub, tick_atom::value);
    scrub_counters total;
    bool done = false;
    self->receive([&](scrub_done_atom, const scrub_counters& c) { total = c, done = true; },
                  caf::after(10s) >> [] {});
    CAF_REQUIRE(done);
    return total;
  }
};

} // namespace

// -- decisions ----------------------------------------------------------------------------------

CAF_TEST(each answer of the store means one thing) {
  CAF_CHECK(judge_scrub_read(caf::error{}) == scrub_verdict::good);
  CAF_CHECK(judge_scrub_read(make_error(errc::corrupt, "x")) == scrub_verdict::quarantined);
  CAF_CHECK(judge_scrub_read(make_error(errc::not_found, "x")) == scrub_verdict::vanished);
  CAF_CHECK(judge_scrub_read(make_error(errc::io_error, "x")) == scrub_verdict::failed);
  CAF_CHECK(judge_scrub_read(caf::make_error(caf::sec::request_timeout)) == scrub_verdict::failed);
}

// -- passes against real stores ---------------------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(scrubber_tests, fixture)

CAF_TEST(a pass verifies every chunk and finds nothing wrong in good ones) {
  for (auto text : {"one", "two", "three"})
    put(store_a, bytes_of(text));
  auto c = run_pass();
  CAF_CHECK_EQUAL(c.passes, 1u);
  CAF_CHECK_EQUAL(c.verified, 3u);
  CAF_CHECK_EQUAL(c.bytes, 11u);
  CAF_CHECK_EQUAL(c.quarantined, 0u);
  CAF_CHECK_EQUAL(c.errors, 0u);
  c = run_pass();
  CAF_CHECK_EQUAL(c.passes, 2u);
  CAF_CHECK_EQUAL(c.verified, 6u);
}

CAF_TEST(a bad copy is quarantined and replaced from a replica) {
  auto good = bytes_of("precious bytes");
  auto other = bytes_of("other bytes");
  put(store_a, good);
  put(store_a, other);
  put(store_b, good); // the replica's copy
  flip_first_byte(path_of(dir_a.path, id_of(good)));
  auto c = run_pass();
  CAF_CHECK_EQUAL(c.verified, 1u);
  CAF_CHECK_EQUAL(c.quarantined, 1u);
  CAF_CHECK_EQUAL(std::distance(fs::directory_iterator{dir_a.path / "quarantine"},
                                fs::directory_iterator{}),
                  1);
  // The replacement comes from B once the pass has found the damage.
  CAF_CHECK(within_5s([&] { return holds_good_copy(store_a, good); }));
  c = run_pass();
  CAF_CHECK_EQUAL(c.replaced, 1u);
  CAF_CHECK_EQUAL(c.quarantined, 1u); // nothing new
  CAF_CHECK_EQUAL(c.verified, 3u);    // 1 + both chunks in the second pass
}

CAF_TEST(a bad copy with no good one elsewhere stays quarantined and is counted) {
  auto lonely = bytes_of("only here");
  put(store_a, lonely);
  flip_first_byte(path_of(dir_a.path, id_of(lonely)));
  // B is asked through a spy, which says when B has answered: then the restore has nothing
  // left to wait for. (Set before the pass: the scrubber reads it after our tick.)
  auto spy = sys.spawn(replica_spy, caf::actor_cast<caf::actor>(store_b), caf::actor{self});
  ctx->membership = caf::actor_cast<membership_actor>(sys.spawn(
    membership_stub,
    std::vector<member_view>{
      {id_a, "a", "127.0.0.1:1", member_state::up, caf::actor_cast<caf::actor>(store_a)},
      {id_b, "b", "127.0.0.1:2", member_state::up, spy}}));
  auto c = run_pass();
  CAF_CHECK_EQUAL(c.quarantined, 1u);
  CAF_CHECK_EQUAL(c.verified, 0u);
  bool asked = false;
  self->receive([&](asked_atom, const chunk_id& id) { asked = id == id_of(lonely); },
                caf::after(10s) >> [] {});
  CAF_REQUIRE(asked);
  CAF_CHECK(!holds_good_copy(store_a, lonely));
  c = run_pass();
  CAF_CHECK_EQUAL(c.replaced, 0u);
  CAF_CHECK_EQUAL(c.quarantined, 1u); // not counted again: it is no longer listed
}

CAF_TEST(a damaged inline file is found and restored from a replica) {
  auto small = test::inline_file_manifest("small.txt", 100, 7, "cccccccccccccccccccccccccccccccc");
  put_manifest(store_a, small);
  put_manifest(store_b, small); // the replica's copy
  put(store_a, bytes_of("a chunk"));
  auto c = run_pass();
  CAF_CHECK_EQUAL(c.verified, 1u);
  CAF_CHECK_EQUAL(c.inline_verified, 1u);
  CAF_CHECK_EQUAL(c.bytes, 7u + 128u);
  auto hex = to_hex(sha256(small.key.data(), small.key.size()));
  flip_first_byte((dir_a.path / "manifests" / hex.substr(0, 2) / hex).string());
  c = run_pass();
  CAF_CHECK_EQUAL(c.quarantined, 1u);
  CAF_CHECK_EQUAL(c.inline_verified, 1u); // only the first pass's
  CAF_CHECK(within_5s([&] { return holds_inline_file(store_a, small); }));
  c = run_pass();
  CAF_CHECK_EQUAL(c.replaced, 1u);
  CAF_CHECK_EQUAL(c.inline_verified, 2u);
}

CAF_TEST_FIXTURE_SCOPE_END()
