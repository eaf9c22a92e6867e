#define CAF_SUITE put_session
#include "tests/unit/test_helpers.hpp"
#include "tests/unit/one_node.hpp"

#include "actors/get_session.hpp"
#include "actors/put_session.hpp"
#include "common/buffer_pool.hpp"
#include "common/error.hpp"
#include "common/wall_clock.hpp"
#include "net/frame.hpp"
#include "net/messages.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>
#include <thread>

using namespace dfs;
using namespace std::chrono_literals;

namespace {

// One put session against a real store (R = W = 1), with the test standing in for the client
// connection (it receives the session's frames) and for membership (it answers when told), so
// that data can reach the session before put_ready.
struct fixture : test::one_node {
  caf::scoped_actor client{sys};
  caf::actor session;

  fixture() { ctx->config.chunk_size = 4096; }

  ~fixture() {
    if (session)
      client->send_exit(session, caf::exit_reason::user_shutdown);
  }

  void begin(uint64_t size) {
    session = sys.spawn(put_session, ctx, caf::actor{client}, uint64_t{1}, std::string{"k"}, size);
  }

  void send_data(byte_buffer bytes, bool final) {
    client->send(session, data_atom::value, std::move(bytes), final);
  }

  /// Makes sessions begun from now on run with this gc_grace.
  void set_gc_grace(std::chrono::seconds grace) {
    auto c = std::make_shared<node_context>(*ctx);
    c->config.gc_grace = grace;
    ctx = c;
  }

  /// What a replica played by the test saw of a put.
  struct replica_log {
    std::vector<chunk_id> chunks;                 // put_chunk, in order
    std::vector<std::vector<chunk_id>> touches;   // touch_chunks, in order
    bool manifest = false;                        // put_manifest
  };

  /// Plays the one replica of a put: stores every chunk; answers each touch with `held` for
  /// every id; answers the manifest after `manifest_delay`. Returns after the manifest, after a
  /// touch answered "not held", or after 5 s without a request.
  replica_log serve(caf::scoped_actor& replica, bool held,
                    std::chrono::milliseconds manifest_delay = 0ms) {
    replica_log log;
    for (bool more = true; more;) {
      more = false;
      replica->receive(
        [&](put_chunk_atom, const chunk_id& id, const byte_buffer&) {
          log.chunks.push_back(id);
          more = true;
          return caf::ok_atom::value;
        },
        [&](touch_chunks_atom, const std::vector<chunk_id>& ids) {
          log.touches.push_back(ids);
          more = held;
          return std::vector<bool>(ids.size(), held);
        },
        [&](put_manifest_atom, const manifest&) {
          log.manifest = true;
          std::this_thread::sleep_for(manifest_delay); // a slow disk
          return caf::ok_atom::value;
        },
        caf::after(5s) >> [] {});
    }
    return log;
  }

  /// The first frame after the credits.
  std::pair<frame_type, byte_buffer> outcome() {
    auto f = next_frame();
    while (f.first == frame_type::put_credit)
      f = next_frame();
    return f;
  }

  /// Begins a put of `size` bytes whose one replica is `replica`, up to put_ready.
  void begin_on(caf::scoped_actor& replica, uint64_t size) {
    begin(size);
    answer_membership(caf::actor{replica});
    CAF_REQUIRE(next_frame().first == frame_type::put_ready);
  }

  /// The error the put ended with.
  error_msg failure() {
    auto f = outcome();
    CAF_REQUIRE(f.first == frame_type::error);
    auto err = from_payload<error_msg>(f.second);
    CAF_REQUIRE(err);
    CAF_MESSAGE(err->message);
    return *err;
  }

  /// The next frame the session sends the client.
  std::pair<frame_type, byte_buffer> next_frame() {
    std::pair<frame_type, byte_buffer> out{frame_type::error, {}};
    bool got = false;
    client->receive(
      [&](frame_atom, uint16_t type, uint64_t, byte_buffer& payload) {
        out = {static_cast<frame_type>(type), std::move(payload)};
        got = true;
      },
      caf::after(10s) >> [] {});
    CAF_REQUIRE(got);
    return out;
  }

  std::string error_message(const byte_buffer& payload) {
    auto err = from_payload<error_msg>(payload);
    return err ? err->message : "(malformed)";
  }

  /// Stores six chunks under "k" with a put, then starts a get of them (request id 2) whose
  /// client grants no credit, counted in a session memory of its own; returns once the
  /// get_meta and the window's four get_data frames have arrived.
  std::shared_ptr<session_memory> start_get_of_six_chunks() {
    begin(6 * 4096);
    answer_membership();
    CAF_REQUIRE(next_frame().first == frame_type::put_ready);
    for (int i = 0; i < 6; ++i)
      send_data(byte_buffer(4096, static_cast<char>('a' + i)), i == 5);
    while (next_frame().first != frame_type::put_done)
      ; // credit
    auto memory = std::make_shared<session_memory>(64 * 4096);
    std::const_pointer_cast<node_context>(ctx)->memory = memory;
    session = sys.spawn(get_session, ctx, caf::actor{client}, uint64_t{2}, std::string{"k"});
    answer_membership();
    CAF_REQUIRE(next_frame().first == frame_type::get_meta);
    for (int i = 0; i < 4; ++i)
      CAF_REQUIRE(next_frame().first == frame_type::get_data);
    return memory;
  }

  /// True once a session that ended gave its memory back (its state goes on another thread).
  static bool memory_given_back(const session_memory& memory) {
    for (int i = 0; i < 100 && memory.used() != 0; ++i)
      std::this_thread::sleep_for(10ms);
    return memory.used() == 0;
  }

  caf::expected<manifest> stored() {
    caf::expected<manifest> out{caf::sec::unexpected_response};
    client->request(st, 10s, get_manifest_atom::value, std::string{"k"})
      .receive([&](manifest& m) { out = std::move(m); }, [&](caf::error& e) { out = std::move(e); });
    return out;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(put_session_tests, fixture)

CAF_TEST(a small file sent before put_ready is stored inline whatever the chunk size) {
  // 10,000 bytes: more than the 4 KiB chunk size, under max_early_put_size.
  byte_buffer file(10000, 'f');
  begin(file.size());
  send_data(file, true); // before membership has answered
  answer_membership();
  CAF_CHECK(next_frame().first == frame_type::put_ready);
  auto done = next_frame();
  CAF_REQUIRE(done.first == frame_type::put_done);
  auto m = stored();
  CAF_REQUIRE(m);
  CAF_CHECK(m->is_inline());
  CAF_CHECK_EQUAL(m->size, 10000u);
  CAF_CHECK_EQUAL(m->inline_data.size(), 10000u + chunk_cipher::overhead);
}

CAF_TEST(early data is refused unless it is the whole of a small file) {
  struct early_case {
    uint64_t declared;
    size_t sent;
    bool final;
  };
  for (auto c : {early_case{max_early_put_size + 1, 4096, false}, // a large put's first chunk
                 early_case{100, 50, true},                        // not the declared size
                 early_case{8192, 4096, false}}) {                 // not the final frame
    begin(c.declared);
    send_data(byte_buffer(c.sent, 'x'), c.final);
    auto f = next_frame();
    CAF_REQUIRE(f.first == frame_type::error);
    CAF_CHECK_EQUAL(error_message(f.second), "data before put_ready");
  }
  CAF_CHECK(!stored());
}

CAF_TEST(a put past max_chunks_per_manifest is refused before any data) {
  begin(uint64_t{max_chunks_per_manifest} * 4096 + 1);
  auto f = next_frame();
  CAF_REQUIRE(f.first == frame_type::error);
  auto message = error_message(f.second);
  CAF_CHECK_EQUAL(message.rfind("file too large: 4294967297 bytes", 0), 0u);
  CAF_CHECK_NOT_EQUAL(message.find("at most 1048576 chunks"), std::string::npos);
}

CAF_TEST(a put waits for session memory before put_ready) {
  auto c = std::const_pointer_cast<node_context>(ctx);
  c->memory = std::make_shared<session_memory>(4 * 4096);
  caf::actor holder{client}; // a stand-in for another transfer
  CAF_REQUIRE(c->memory->try_take(4 * 4096, holder));
  begin(8192);
  answer_membership();
  bool early = false;
  client->receive([&](frame_atom, uint16_t, uint64_t, byte_buffer&) { early = true; },
                  caf::after(300ms) >> [] {});
  CAF_CHECK(!early); // no put_ready while the memory is held
  c->memory->give(4 * 4096);
  CAF_CHECK(next_frame().first == frame_type::put_ready);
  CAF_CHECK_EQUAL(c->memory->used(), 8192u); // the declared size, under a window of chunks
  client->receive([](memory_freed_atom) {}, caf::after(0s) >> [] {}); // the holder's wake-up
  send_data(byte_buffer(4096, 'a'), false);
  send_data(byte_buffer(4096, 'b'), true);
  while (next_frame().first != frame_type::put_done)
    ; // credit
  // The put is over: its memory is back once the session's state is gone.
  CAF_CHECK(memory_given_back(*c->memory));
}

CAF_TEST(a put that waits for session memory too long fails with node busy) {
  auto c = std::const_pointer_cast<node_context>(ctx);
  c->request_timeout = 1s;
  c->memory = std::make_shared<session_memory>(4 * 4096);
  CAF_REQUIRE(c->memory->try_take(4 * 4096, caf::actor{}));
  begin(8192);
  answer_membership();
  auto f = next_frame();
  CAF_REQUIRE(f.first == frame_type::error);
  CAF_CHECK_EQUAL(error_message(f.second).rfind("node busy:", 0), 0u);
  c->memory->give(4 * 4096);
}

CAF_TEST(a get holds no more chunks than the credit of its client and counts them) {
  auto memory = start_get_of_six_chunks();
  bool more = false;
  client->receive([&](frame_atom, uint16_t, uint64_t, byte_buffer&) { more = true; },
                  caf::after(300ms) >> [] {});
  CAF_CHECK(!more);
  // The window's four chunks count until the client's credit returns them; none is held ahead.
  CAF_CHECK_EQUAL(memory->used(), 4u * 4096);
  client->send(session, credit_atom::value, uint32_t{1});
  CAF_REQUIRE(next_frame().first == frame_type::get_data);
  CAF_CHECK_EQUAL(memory->used(), 4u * 4096);
  // Credit past the window is not the client's to give: one more chunk, not a thousand.
  client->send(session, credit_atom::value, uint32_t{1000});
  CAF_REQUIRE(next_frame().first == frame_type::get_data);
  CAF_CHECK(memory_given_back(*memory)); // the get is over
}

CAF_TEST(credit that arrives before the get found its manifest does not end the get) {
  begin(3 * 4096);
  answer_membership();
  CAF_REQUIRE(next_frame().first == frame_type::put_ready);
  for (int i = 0; i < 3; ++i)
    send_data(byte_buffer(4096, static_cast<char>('a' + i)), i == 2);
  while (next_frame().first != frame_type::put_done)
    ; // credit
  session = sys.spawn(get_session, ctx, caf::actor{client}, uint64_t{2}, std::string{"k"});
  client->send(session, credit_atom::value, uint32_t{1}); // before membership answers
  answer_membership();
  CAF_REQUIRE(next_frame().first == frame_type::get_meta);
  for (int i = 0; i < 3; ++i)
    CAF_REQUIRE(next_frame().first == frame_type::get_data);
}

CAF_TEST(a get whose client returns no credit for idle_timeout ends and gives its memory back) {
  std::const_pointer_cast<node_context>(ctx)->config.idle_timeout = 1s;
  auto memory = start_get_of_six_chunks();
  auto f = next_frame(); // after about a second without credit
  CAF_REQUIRE(f.first == frame_type::error);
  CAF_CHECK_EQUAL(error_message(f.second).rfind("get stalled: the client returned no credit", 0), 0u);
  CAF_CHECK(memory_given_back(*memory));
}

CAF_TEST(a small file sent after put_ready is stored inline as well) {
  begin(300);
  answer_membership();
  CAF_REQUIRE(next_frame().first == frame_type::put_ready);
  send_data(byte_buffer(300, 'p'), true);
  CAF_REQUIRE(next_frame().first == frame_type::put_done);
  auto m = stored();
  CAF_REQUIRE(m);
  CAF_CHECK(m->is_inline());
}

CAF_TEST(sealed chunks go back to the buffer pool once every replica holds them) {
  // Chunks of the pool's smallest size, so that their buffers are worth keeping.
  const size_t chunk = buffer_pool_min_capacity;
  auto big_chunks = std::make_shared<node_context>(*ctx);
  big_chunks->config.chunk_size = chunk;
  ctx = big_chunks;
  while (pooled_bytes() > 0) // the pool is the process's: start from empty
    take_buffer(buffer_pool_min_capacity);
  begin(2 * chunk + 10);
  answer_membership();
  CAF_REQUIRE(next_frame().first == frame_type::put_ready);
  send_data(byte_buffer(chunk, 'a'), false);
  send_data(byte_buffer(chunk, 'b'), false);
  send_data(byte_buffer(10, 'c'), true);
  auto f = next_frame();
  while (f.first == frame_type::put_credit)
    f = next_frame();
  CAF_REQUIRE(f.first == frame_type::put_done);
  // The two plaintext frames went back as they were sealed (2 chunks' worth); a sealed chunk
  // is 28 bytes larger and only goes back once the store has answered for it.
  CAF_CHECK(pooled_bytes() > 3 * chunk);
}

CAF_TEST(the own store is told a chunk was sealed here and peers get a plain put) {
  // R = W = 2: this node and one peer, each played by the test, so that it sees the requests.
  auto two = std::make_shared<node_context>(*ctx);
  two->config.replicas = 2;
  two->config.write_quorum = 2;
  ctx = two;
  caf::scoped_actor own_store{sys};
  caf::scoped_actor peer{sys};
  begin(4096 + 10);
  bool asked = false;
  membership->receive(
    [&](members_atom) {
      asked = true;
      return std::vector<member_view>{
        {node_id, "a", "127.0.0.1:1", member_state::up, caf::actor{own_store}},
        {std::string(32, 'b'), "b", "127.0.0.1:2", member_state::up, caf::actor{peer}}};
    },
    caf::after(10s) >> [] {});
  CAF_REQUIRE(asked);
  CAF_REQUIRE(next_frame().first == frame_type::put_ready);
  send_data(byte_buffer(4096, 'a'), false); // more than one frame: chunks, not an inline file
  send_data(byte_buffer(10, 'b'), true);
  // Two chunks each. The own store's claim must be true: the bytes hash to the id.
  for (int i = 0; i < 2; ++i) {
    bool sealed_here = false;
    own_store->receive(
      [&](sealed_here_atom, put_chunk_atom, const chunk_id& id, const byte_buffer& bytes) {
        sealed_here = chunk_id::of(bytes.data(), bytes.size()) == id;
        return caf::ok_atom::value;
      },
      [&](put_chunk_atom, const chunk_id&, const byte_buffer&) { return caf::ok_atom::value; },
      caf::after(10s) >> [] {});
    CAF_CHECK(sealed_here);
    bool plain = false;
    peer->receive(
      [&](put_chunk_atom, const chunk_id& id, const byte_buffer& bytes) {
        plain = chunk_id::of(bytes.data(), bytes.size()) == id;
        return caf::ok_atom::value;
      },
      caf::after(10s) >> [] {});
    CAF_CHECK(plain);
  }
  // The last touch of the chunks, on both.
  for (auto* replica : {&own_store, &peer}) {
    bool touched = false;
    (*replica)->receive(
      [&](touch_chunks_atom, const std::vector<chunk_id>& ids) {
        touched = ids.size() == 2;
        return std::vector<bool>(ids.size(), true);
      },
      caf::after(10s) >> [] {});
    CAF_CHECK(touched);
  }
  // Then the manifest, the same message to both.
  for (auto* replica : {&own_store, &peer}) {
    bool got = false;
    (*replica)->receive(
      [&](put_manifest_atom, const manifest& m) {
        got = m.chunks.size() == 2;
        return caf::ok_atom::value;
      },
      caf::after(10s) >> [] {});
    CAF_CHECK(got);
  }
  auto f = next_frame();
  while (f.first == frame_type::put_credit)
    f = next_frame();
  CAF_CHECK(f.first == frame_type::put_done);
}

CAF_TEST(a put that meets a newer version writes its manifest again above it) {
  // Another node wrote k with its clock 30 s ahead of ours (within max_clock_skew). Before,
  // the store answered ok while it kept that version: the put was acknowledged and invisible.
  auto ahead = manifest{};
  ahead.key = "k";
  ahead.version = version{wall_clock_ms() + 30'000, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"};
  ahead.deleted = true;
  hold(ahead);
  begin(5);
  answer_membership();
  CAF_CHECK(next_frame().first == frame_type::put_ready);
  send_data(byte_buffer{'l', 'a', 't', 'e', 'r'}, true);
  auto done = next_frame();
  CAF_REQUIRE(done.first == frame_type::put_done);
  auto m = stored();
  CAF_REQUIRE(m);
  CAF_CHECK(!m->deleted);
  CAF_CHECK_EQUAL(m->size, 5u);
  CAF_CHECK_GREATER(m->version.hlc, ahead.version.hlc);
  CAF_CHECK_EQUAL(m->version.node_id, node_id);
  // The version reported to the client is the one stored, its content hash masked under it.
  auto msg = from_payload<put_done_msg>(done.second);
  CAF_REQUIRE(msg);
  CAF_CHECK_EQUAL(msg->version, m->version.to_string());
  chunk_cipher cipher{ctx->config.secret};
  auto plain = sha256("later", 5);
  CAF_CHECK(cipher.mask_content_hash("k", m->version, m->content_hash) == plain);
}

CAF_TEST(a put that cannot go past a version far ahead of its clock fails and says why) {
  // This replica accepts versions two hours ahead; the put session's node only 60 s.
  store_accepts_versions_ahead(2h);
  auto far = manifest{};
  far.key = "k";
  far.version = version{wall_clock_ms() + 3'600'000, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"};
  far.deleted = true;
  hold(far);
  begin(5);
  answer_membership();
  CAF_CHECK(next_frame().first == frame_type::put_ready);
  send_data(byte_buffer{'l', 'a', 't', 'e', 'r'}, true);
  auto f = next_frame();
  CAF_REQUIRE(f.first == frame_type::error);
  auto err = from_payload<error_msg>(f.second);
  CAF_REQUIRE(err);
  CAF_CHECK_EQUAL(err->code, static_cast<uint8_t>(errc::clock_skew));
  CAF_MESSAGE(err->message);
  CAF_CHECK(err->message.find("max_clock_skew") != std::string::npos);
  auto still = stored();
  CAF_REQUIRE(still);
  CAF_CHECK(still->version == far.version);
}

// -- the lease on the put's chunks ------------------------------------------------------------

CAF_TEST(a put whose chunk vanished before its manifest fails and stores nothing) {
  caf::scoped_actor replica{sys};
  begin_on(replica, 4096 + 10);
  send_data(byte_buffer(4096, 'a'), false);
  send_data(byte_buffer(10, 'b'), true);
  // Both chunks are acknowledged; then collection (say) takes them: the last touch before the
  // manifest finds them gone.
  auto log = serve(replica, false);
  CAF_CHECK_EQUAL(log.chunks.size(), 2u);
  CAF_REQUIRE_EQUAL(log.touches.size(), 1u);
  CAF_CHECK_EQUAL(log.touches[0].size(), 2u);
  CAF_CHECK(!log.manifest);
  auto err = failure();
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::too_few_replicas));
  CAF_CHECK(err.message.find("held by only 0 of 1 required replicas") != std::string::npos);
}

CAF_TEST(a put that waits for its client renews the lease on the chunks it wrote) {
  set_gc_grace(1s); // renewed every 333 ms
  caf::scoped_actor replica{sys};
  begin_on(replica, unknown_size);
  send_data(byte_buffer(4096, 'a'), false);
  // The client sends nothing more for a while: the session touches the chunk it has.
  auto steady_start = std::chrono::steady_clock::now();
  chunk_id written;
  std::vector<chunk_id> touched;
  replica->receive([&](put_chunk_atom, const chunk_id& id, const byte_buffer&) {
    written = id;
    return caf::ok_atom::value;
  }, caf::after(10s) >> [] {});
  replica->receive([&](touch_chunks_atom, const std::vector<chunk_id>& ids) {
    touched = ids;
    return std::vector<bool>(ids.size(), true);
  }, caf::after(2s) >> [] {});
  CAF_CHECK_EQUAL(touched, std::vector<chunk_id>{written});
  // The first renewal comes after about gc_grace/3 (333 ms): well within gc_grace, and not in
  // a busy loop. (Loose bounds: a loaded machine delivers timers late.)
  auto first_renewal = std::chrono::steady_clock::now() - steady_start;
  CAF_CHECK(first_renewal < 1s);
  CAF_CHECK(first_renewal > 100ms);
  send_data(byte_buffer(10, 'b'), true);
  auto log = serve(replica, true);
  CAF_CHECK(log.manifest);
  CAF_CHECK(outcome().first == frame_type::put_done);
}

CAF_TEST(a manifest that reaches its quorum more than gc_grace after the last touch fails the put) {
  set_gc_grace(1s);
  caf::scoped_actor replica{sys};
  begin_on(replica, 4096 + 10);
  send_data(byte_buffer(4096, 'a'), false);
  send_data(byte_buffer(10, 'b'), true);
  auto log = serve(replica, true, 1200ms);
  CAF_CHECK(log.manifest);
  CAF_CHECK_EQUAL(failure().code, static_cast<uint8_t>(errc::timeout));
}

CAF_TEST_FIXTURE_SCOPE_END()
