#define CAF_SUITE peer_connection
#include "tests/unit/test_helpers.hpp"

#include <caf/test/io_dsl.hpp>

#include "actors/node_context.hpp"
#include "common/error.hpp"
#include "net/frame.hpp"
#include "net/handshake.hpp"
#include "net/listener.hpp"
#include "net/messages.hpp"
#include "net/peer_connection.hpp"

#include <memory>
#include <string>
#include <vector>

// The peer-connection broker on CAF's test multiplexer: no sockets, no threads. The test plays
// the remote side by hand with the handshake class and the frame codec, feeding bytes with
// mpx.virtual_send and reading what the broker wrote from mpx.output_buffer. Brokers run as
// the multiplexer's runnables, other actors on the deterministic scheduler; drain() runs both
// without ever firing a timer, so a test decides exactly when time passes.

using namespace dfs;
using caf::io::accept_handle;
using caf::io::connection_handle;

namespace {

const std::string id_a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"; // the node under test
const std::string id_b = "0123456789abcdef0123456789abcdef"; // the remote side
const std::string secret = "a cluster secret of at least thirty-two bytes";

/// What the stub actors saw.
struct observed {
  struct up {
    peer_info info;
    caf::actor connection;
    bool outbound;
  };
  std::vector<up> ups;
  bool keep = true; // the membership stub answer to peer_up
  std::vector<std::string> heartbeats_from; // heartbeat_atom messages to membership
  std::vector<byte_buffer> replies;         // what requesters received
  std::vector<caf::error> errors;           // ... or the errors they received
  std::vector<chunk_id> store_gets;         // get_chunk requests the store stub answered
  std::vector<caf::actor_addr> down;
  std::vector<caf::error> down_reasons;
};

// Dynamically typed stubs handle only what the broker sends them; node_context holds them
// through actor_cast, so they do not have to spell out whole interfaces.
caf::behavior membership_stub(caf::event_based_actor*, std::shared_ptr<observed> seen) {
  return {
    [=](peer_up_atom, const peer_info& info, const caf::actor& connection, bool outbound) {
      seen->ups.push_back({info, connection, outbound});
      return seen->keep;
    },
    [=](heartbeat_atom, const std::string& node_id) { seen->heartbeats_from.push_back(node_id); },
    [=](gossip_atom, const std::vector<roster_entry>&) {},
  };
}

/// A store that holds exactly one chunk: "chunk bytes", under the id of those bytes.
caf::behavior store_stub(caf::event_based_actor*, std::shared_ptr<observed> seen) {
  return {
    [=](get_chunk_atom, const chunk_id& id) -> caf::result<byte_buffer> {
      seen->store_gets.push_back(id);
      byte_buffer held{'c', 'h', 'u', 'n', 'k', ' ', 'b', 'y', 't', 'e', 's'};
      if (id == chunk_id::of(held.data(), held.size()))
        return held;
      return make_error(errc::not_found, "no chunk " + id.hex().substr(0, 8));
    },
  };
}

/// Asks the target for a chunk once, and records the answer.
caf::behavior requester(caf::event_based_actor* self, caf::actor target, chunk_id id,
                        std::shared_ptr<observed> seen) {
  self->request(target, caf::infinite, get_chunk_atom::value, id)
    .then([=](byte_buffer& bytes) { seen->replies.push_back(std::move(bytes)); },
          [=](caf::error& err) { seen->errors.push_back(std::move(err)); });
  return {
    [](tick_atom) {},
  };
}

caf::behavior inert_stub(caf::event_based_actor*) {
  return {
    [](tick_atom) {},
  };
}

/// Records the end of every actor it is told to watch.
caf::behavior watcher(caf::event_based_actor* self, std::shared_ptr<observed> seen) {
  self->set_down_handler([=](caf::down_msg& msg) {
    seen->down.push_back(msg.source);
    seen->down_reasons.push_back(msg.reason);
  });
  return {
    [=](const caf::actor& target) { self->monitor(target); },
  };
}

struct wire_frame {
  frame_header header;
  byte_buffer payload;
};

byte_buffer frame_bytes(frame_type type, const byte_buffer& payload, uint64_t request_id = 0) {
  byte_buffer out;
  append_frame(out, type, request_id, payload);
  return out;
}

byte_buffer raw_header(uint32_t length, uint16_t type, uint64_t request_id = 0) {
  byte_buffer out;
  writer w{out};
  w.u32(length);
  w.u16(type);
  w.u16(0);
  w.u64(request_id);
  return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

local_identity remote_identity(const std::string& cluster = "alpha",
                               const std::string& key = secret) {
  return {cluster, id_b, "node-b", peer_role::peer, "127.0.0.1:7002", key};
}

struct fixture : test_node_fixture<> {
  std::shared_ptr<observed> seen = std::make_shared<observed>();
  std::shared_ptr<node_context> ctx = std::make_shared<node_context>();
  std::vector<caf::actor> actors; // everything to stop at teardown
  caf::actor membership;
  caf::actor watch;
  connection_handle conn = connection_handle::from_int(42);
  caf::actor broker;
  size_t heartbeats = 0; // heartbeat frames the broker wrote (take_output sets them aside)

  fixture() {
    ctx->config.name = "node-a";
    ctx->config.cluster_name = "alpha";
    ctx->config.secret = secret;
    ctx->config.listen = host_port{"127.0.0.1", 7001};
    ctx->node_id = id_a;
    membership = sys.spawn(membership_stub, seen);
    ctx->membership = caf::actor_cast<membership_actor>(membership);
    auto store = sys.spawn(store_stub, seen);
    ctx->store = caf::actor_cast<store_actor>(store);
    auto coordinator = sys.spawn(inert_stub);
    ctx->coordinator = caf::actor_cast<coordinator_actor>(coordinator);
    watch = sys.spawn(watcher, seen);
    actors = {membership, store, coordinator, watch};
    drain();
  }

  ~fixture() override {
    // Brokers first (they close their connections), then the stubs; ~actor_system waits for
    // every one of them.
    for (auto i = actors.rbegin(); i != actors.rend(); ++i)
      caf::anon_send_exit(*i, caf::exit_reason::user_shutdown);
    drain();
  }

  /// Runs every actor and broker until nothing is left to do, without firing any timer.
  void drain() {
    while (consume_message() || handle_io_event())
      ; // repeat
  }

  void track(const caf::actor& a) {
    actors.push_back(a);
    caf::anon_send(watch, a);
    drain();
  }

  /// A broker for an outbound (dialed by this node) or inbound connection, as the dialer
  /// spawns it.
  void start(bool outbound) {
    mpx.provide_scribe("peer.test", 7002, conn);
    auto res = mm.spawn_client(peer_connection, std::string{"peer.test"}, uint16_t{7002},
                               node_context_ptr{ctx}, outbound);
    CAF_REQUIRE(res);
    broker = *res;
    track(broker);
  }

  bool broker_down() const {
    for (auto& addr : seen->down)
      if (addr == broker.address())
        return true;
    return false;
  }

  /// Everything the broker wrote since the last call, as frames; heartbeats (sent on a timer
  /// of their own once authenticated) are only counted.
  std::vector<wire_frame> take_output() {
    auto& buf = mpx.output_buffer(conn);
    std::vector<wire_frame> frames;
    size_t pos = 0;
    while (buf.size() - pos >= frame_header_size) {
      std::string reason;
      auto h = decode_frame_header(buf.data() + pos, max_frame_payload, reason);
      if (!h)
        CAF_FAIL("the broker wrote a bad frame header: " << reason);
      pos += frame_header_size;
      if (buf.size() - pos < h->payload_length)
        CAF_FAIL("the broker wrote a truncated frame");
      if (h->type == frame_type::heartbeat)
        ++heartbeats;
      else
        frames.push_back(
          {*h, byte_buffer(buf.begin() + pos, buf.begin() + pos + h->payload_length)});
      pos += h->payload_length;
    }
    CAF_CHECK_EQUAL(pos, buf.size());
    buf.clear();
    return frames;
  }

  void send(const byte_buffer& bytes) {
    mpx.virtual_send(conn, bytes);
    drain();
  }

  /// Reads the broker hello, answers it with the remote side's hello and (unless the remote
  /// handshake fails on it) proof. Returns what the remote handshake said.
  std::vector<handshake::outgoing_frame> answer_hello(handshake& remote) {
    auto out = take_output();
    CAF_REQUIRE_EQUAL(out.size(), 1u);
    CAF_REQUIRE(out[0].header.type == frame_type::hello);
    CAF_CHECK_EQUAL(out[0].header.request_id, 0u);
    std::vector<handshake::outgoing_frame> answers;
    remote.on_frame(frame_type::hello, out[0].payload, answers);
    byte_buffer bytes;
    auto hello = remote.start();
    append_frame(bytes, hello.type, 0, hello.payload);
    for (auto& f : answers)
      if (f.type == frame_type::proof)
        append_frame(bytes, f.type, 0, f.payload);
    send(bytes);
    return answers;
  }

  /// The error frame that must be the last thing the broker wrote, and that it stopped after.
  error_msg expect_error_and_close(std::vector<wire_frame> out) {
    CAF_CHECK(broker_down());
    CAF_CHECK(seen->ups.empty());
    CAF_CHECK_EQUAL(heartbeats, 0u); // nothing but handshake frames before authentication
    if (out.empty()) {
      CAF_CHECK(!"the broker wrote no error frame");
      return {255, "no error frame"};
    }
    auto& last = out.back();
    CAF_CHECK(last.header.type == frame_type::error);
    CAF_CHECK_EQUAL(last.header.request_id, 0u);
    auto err = from_payload<error_msg>(last.payload);
    CAF_CHECK(err);
    if (!err)
      return {255, "malformed error frame"};
    CAF_MESSAGE("error frame: " << int{err->code} << " " << err->message);
    return *err;
  }

  /// A complete good handshake; the broker is authenticated afterwards.
  void authenticate(bool outbound) {
    start(outbound);
    handshake remote{remote_identity(), !outbound};
    answer_hello(remote);
    auto out = take_output();
    CAF_REQUIRE_EQUAL(out.size(), 1u);
    CAF_REQUIRE(out[0].header.type == frame_type::proof);
    std::vector<handshake::outgoing_frame> none;
    remote.on_frame(frame_type::proof, out[0].payload, none);
    CAF_REQUIRE(remote.done());
    CAF_REQUIRE_EQUAL(seen->ups.size(), 1u);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(peer_connection_tests, fixture)

CAF_TEST(the broker says hello first) {
  start(true);
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_REQUIRE(out[0].header.type == frame_type::hello);
  auto hello = from_payload<hello_msg>(out[0].payload);
  CAF_REQUIRE(hello);
  CAF_CHECK_EQUAL(hello->version, protocol_version);
  CAF_CHECK_EQUAL(hello->cluster, "alpha");
  CAF_CHECK_EQUAL(hello->node_id, id_a);
  CAF_CHECK_EQUAL(hello->node_name, "node-a");
  CAF_CHECK(hello->role == peer_role::peer);
  CAF_CHECK_EQUAL(hello->listen_address, "127.0.0.1:7001");
  CAF_CHECK(!broker_down());
}

CAF_TEST(a good peer is reported to membership) {
  for (bool outbound : {true, false}) {
    seen->ups.clear();
    conn = connection_handle::from_int(outbound ? 101 : 102);
    start(outbound);
    handshake remote{remote_identity(), !outbound};
    answer_hello(remote);
    auto out = take_output();
    CAF_REQUIRE_EQUAL(out.size(), 1u);
    CAF_REQUIRE(out[0].header.type == frame_type::proof);
    std::vector<handshake::outgoing_frame> none;
    remote.on_frame(frame_type::proof, out[0].payload, none);
    CAF_CHECK(remote.done()); // the broker proved it holds the secret, too
    CAF_CHECK(none.empty());
    CAF_REQUIRE_EQUAL(seen->ups.size(), 1u);
    auto& up = seen->ups[0];
    CAF_CHECK_EQUAL(up.info.node_id, id_b);
    CAF_CHECK_EQUAL(up.info.name, "node-b");
    CAF_CHECK_EQUAL(up.info.listen_address, "127.0.0.1:7002");
    CAF_CHECK_EQUAL(up.outbound, outbound);
    CAF_CHECK(up.connection == broker);
    CAF_CHECK(!broker_down());
    // The handshake timer fires later and changes nothing on an authenticated connection.
    advance_time(ctx->handshake_timeout + std::chrono::seconds{1});
    drain();
    CAF_CHECK(take_output().empty());
    CAF_CHECK(!broker_down());
  }
}

CAF_TEST(hello bytes may arrive one at a time) {
  start(false);
  handshake remote{remote_identity(), true};
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  std::vector<handshake::outgoing_frame> answers;
  remote.on_frame(frame_type::hello, out[0].payload, answers);
  CAF_REQUIRE_EQUAL(answers.size(), 1u);
  byte_buffer bytes;
  auto hello = remote.start();
  append_frame(bytes, hello.type, 0, hello.payload);
  append_frame(bytes, answers[0].type, 0, answers[0].payload);
  for (char c : bytes)
    send(byte_buffer{c});
  CAF_REQUIRE_EQUAL(seen->ups.size(), 1u);
  CAF_CHECK_EQUAL(seen->ups[0].info.node_id, id_b);
  CAF_CHECK(!broker_down());
}

CAF_TEST(a duplicate connection is closed quietly) {
  seen->keep = false;
  start(true);
  handshake remote{remote_identity(), false};
  answer_hello(remote);
  CAF_REQUIRE_EQUAL(seen->ups.size(), 1u);
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::proof); // and no error frame
  CAF_CHECK(broker_down());
}

CAF_TEST(a wrong secret gets an error frame and the connection closes) {
  start(true);
  handshake remote{remote_identity("alpha", secret + " but not quite"), false};
  answer_hello(remote);
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 2u);
  CAF_CHECK(out[0].header.type == frame_type::proof);
  auto err = expect_error_and_close(out);
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::auth_failed));
  CAF_CHECK(contains(err.message, "authentication failed"));
}

CAF_TEST(a wrong cluster gets an error frame naming both clusters) {
  start(false);
  handshake remote{remote_identity("beta"), true};
  answer_hello(remote);
  CAF_CHECK(remote.failed()); // the remote side refused the broker hello, too
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u); // no proof for a stranger
  auto err = expect_error_and_close(out);
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::wrong_cluster));
  CAF_CHECK(contains(err.message, "'alpha'"));
  CAF_CHECK(contains(err.message, "'beta'"));
}

CAF_TEST(a wrong protocol version gets an error frame) {
  start(true);
  take_output();
  hello_msg hello;
  hello.version = 99;
  hello.cluster = "alpha";
  hello.node_id = id_b;
  hello.node_name = "node-b";
  hello.role = peer_role::peer;
  hello.listen_address = "127.0.0.1:7002";
  send(frame_bytes(frame_type::hello, to_payload(hello)));
  auto err = expect_error_and_close(take_output());
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::wrong_version));
  CAF_CHECK(contains(err.message, "99"));
}

CAF_TEST(a reflected proof is refused) {
  start(false);
  take_output();
  // Mallory, without the secret: a hello of her own, then the broker proof sent straight back.
  hello_msg hello;
  hello.version = protocol_version;
  hello.cluster = "alpha";
  hello.node_id = id_b;
  hello.node_name = "mallory";
  hello.role = peer_role::peer;
  hello.listen_address = "127.0.0.1:7002";
  hello.nonce.fill(7);
  send(frame_bytes(frame_type::hello, to_payload(hello)));
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_REQUIRE(out[0].header.type == frame_type::proof);
  send(frame_bytes(frame_type::proof, out[0].payload));
  auto err = expect_error_and_close(take_output());
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::auth_failed));
  CAF_CHECK(contains(err.message, "authentication failed"));
}

CAF_TEST(silence until the handshake timeout closes the connection) {
  start(true);
  CAF_REQUIRE_EQUAL(take_output().size(), 1u);
  // Just before the deadline nothing happens.
  advance_time(ctx->handshake_timeout - std::chrono::seconds{1});
  drain();
  CAF_CHECK(take_output().empty());
  CAF_CHECK(!broker_down());
  // Past it the broker says why and stops.
  advance_time(std::chrono::seconds{2});
  drain();
  auto err = expect_error_and_close(take_output());
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::timeout));
  CAF_CHECK(contains(err.message, "handshake timed out"));
}

CAF_TEST(a half handshake times out as well) {
  start(false);
  take_output();
  // A hello but never a proof.
  handshake remote{remote_identity(), true};
  auto hello = remote.start();
  send(frame_bytes(hello.type, hello.payload));
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::proof);
  advance_time(ctx->handshake_timeout + std::chrono::seconds{1});
  drain();
  auto err = expect_error_and_close(take_output());
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::timeout));
}

CAF_TEST(an unknown frame type gets an error frame and the connection closes) {
  start(true);
  take_output();
  send(raw_header(8, 999));
  auto err = expect_error_and_close(take_output());
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::protocol));
  CAF_CHECK_EQUAL(err.message, "unknown frame type 999");
}

CAF_TEST(an oversized frame before the handshake is refused by its header) {
  start(true);
  take_output();
  auto length = static_cast<uint32_t>(max_handshake_payload + 1);
  send(raw_header(length, static_cast<uint16_t>(frame_type::hello)));
  auto err = expect_error_and_close(take_output());
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::protocol));
  CAF_CHECK(contains(err.message, std::to_string(length)));
  CAF_CHECK(contains(err.message, std::to_string(max_handshake_payload)));
  // The broker never asked for the payload: it stopped at the header.
  CAF_CHECK_NOT_EQUAL(mpx.read_config(conn).second, size_t{length});
}

CAF_TEST(a huge length is refused by its header) {
  start(false);
  take_output();
  send(raw_header(0xFFFFFFFFu, static_cast<uint16_t>(frame_type::put_chunk)));
  auto err = expect_error_and_close(take_output());
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::protocol));
  CAF_CHECK(contains(err.message, "4294967295"));
}

CAF_TEST(an oversized frame after the handshake is refused by its header) {
  authenticate(true);
  auto length = static_cast<uint32_t>(max_frame_payload + 1);
  send(raw_header(length, static_cast<uint16_t>(frame_type::put_chunk), 7));
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::error);
  auto err = from_payload<error_msg>(out[0].payload);
  CAF_REQUIRE(err);
  CAF_CHECK(contains(err->message, std::to_string(length)));
  CAF_CHECK(contains(err->message, std::to_string(max_frame_payload)));
  CAF_CHECK(broker_down());
}

CAF_TEST(an empty hello is a protocol error) {
  start(true);
  take_output();
  send(raw_header(0, static_cast<uint16_t>(frame_type::hello)));
  auto err = expect_error_and_close(take_output());
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::protocol));
  CAF_CHECK(contains(err.message, "hello"));
}

CAF_TEST(a request before the handshake is a protocol error) {
  start(false);
  take_output();
  chunk_id id{};
  send(frame_bytes(frame_type::get_chunk, byte_buffer(id.bytes.begin(), id.bytes.end()), 1));
  auto err = expect_error_and_close(take_output());
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::protocol));
  CAF_CHECK(contains(err.message, "get_chunk"));
}

CAF_TEST(the peer closing the connection stops the broker) {
  authenticate(false);
  auto scribe = mpx.impl_ptr(conn);
  CAF_REQUIRE(scribe != nullptr);
  // What the multiplexer delivers when the socket reports EOF.
  scribe->io_failure(&mpx, caf::io::network::operation::read);
  drain();
  CAF_CHECK(broker_down());
  CAF_CHECK(take_output().empty()); // nothing to say to a closed socket
}

CAF_TEST(an authenticated peer gets heartbeats and its heartbeats reach membership) {
  authenticate(true);
  take_output();
  CAF_CHECK_GREATER_OR_EQUAL(heartbeats, 1u); // one right after the handshake
  auto before = heartbeats;
  advance_time(ctx->heartbeat_interval());
  drain();
  CAF_CHECK(take_output().empty());
  CAF_CHECK_EQUAL(heartbeats, before + 1);
  send(frame_bytes(frame_type::heartbeat, byte_buffer{}));
  CAF_CHECK_EQUAL(seen->heartbeats_from, std::vector<std::string>{id_b});
  CAF_CHECK(!broker_down());
}

CAF_TEST(local requests travel to the peer and its answers come back) {
  authenticate(true);
  take_output();
  auto id = chunk_id::of("abc", 3);
  track(sys.spawn(requester, broker, id, seen));
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::get_chunk);
  auto rid = out[0].header.request_id;
  CAF_CHECK_NOT_EQUAL(rid, 0u);
  CAF_CHECK(out[0].payload == byte_buffer(id.bytes.begin(), id.bytes.end()));
  // An answer to a request never made is ignored; the right one is delivered.
  send(frame_bytes(frame_type::chunk_data, byte_buffer{'n', 'o'}, rid + 100));
  CAF_CHECK(seen->replies.empty());
  send(frame_bytes(frame_type::chunk_data, byte_buffer{'a', 'b', 'c'}, rid));
  CAF_REQUIRE_EQUAL(seen->replies.size(), 1u);
  CAF_CHECK(seen->replies[0] == (byte_buffer{'a', 'b', 'c'}));
  // A second request, answered with an error frame: code and message reach the requester.
  track(sys.spawn(requester, broker, id, seen));
  out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK_NOT_EQUAL(out[0].header.request_id, rid);
  send(frame_bytes(frame_type::error,
                   to_payload(error_msg{static_cast<uint8_t>(errc::not_found), "no such chunk"}),
                   out[0].header.request_id));
  CAF_REQUIRE_EQUAL(seen->errors.size(), 1u);
  CAF_CHECK(code_of(seen->errors[0]) == errc::not_found);
  CAF_CHECK_EQUAL(describe(seen->errors[0]), "no such chunk");
  CAF_CHECK(!broker_down());
}

CAF_TEST(requests still waiting fail when the connection closes) {
  authenticate(false);
  take_output();
  track(sys.spawn(requester, broker, chunk_id::of("x", 1), seen));
  CAF_REQUIRE_EQUAL(take_output().size(), 1u);
  mpx.impl_ptr(conn)->io_failure(&mpx, caf::io::network::operation::read);
  drain();
  CAF_CHECK(broker_down());
  CAF_REQUIRE_EQUAL(seen->errors.size(), 1u);
  CAF_CHECK(code_of(seen->errors[0]) == errc::unavailable);
  CAF_CHECK(seen->replies.empty());
}

CAF_TEST(a local request on an unauthenticated connection fails at once) {
  start(true);
  take_output();
  track(sys.spawn(requester, broker, chunk_id::of("x", 1), seen));
  CAF_CHECK(take_output().empty()); // nothing went to a peer nobody has authenticated
  CAF_REQUIRE_EQUAL(seen->errors.size(), 1u);
  CAF_CHECK(code_of(seen->errors[0]) == errc::unavailable);
}

CAF_TEST(a peer request is answered from the store) {
  authenticate(false);
  take_output();
  byte_buffer held{'c', 'h', 'u', 'n', 'k', ' ', 'b', 'y', 't', 'e', 's'};
  auto id = chunk_id::of(held.data(), held.size());
  send(frame_bytes(frame_type::get_chunk, byte_buffer(id.bytes.begin(), id.bytes.end()), 77));
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::chunk_data);
  CAF_CHECK_EQUAL(out[0].header.request_id, 77u);
  CAF_CHECK(out[0].payload == held);
  CAF_REQUIRE_EQUAL(seen->store_gets.size(), 1u);
  CAF_CHECK(seen->store_gets[0] == id);
  // A chunk the store does not hold: an error frame with the store's code and message.
  auto other = chunk_id::of("other", 5);
  send(frame_bytes(frame_type::get_chunk, byte_buffer(other.bytes.begin(), other.bytes.end()), 78));
  out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::error);
  CAF_CHECK_EQUAL(out[0].header.request_id, 78u);
  auto err = from_payload<error_msg>(out[0].payload);
  CAF_REQUIRE(err);
  CAF_CHECK_EQUAL(err->code, static_cast<uint8_t>(errc::not_found));
  CAF_CHECK_EQUAL(err->message, "no chunk " + other.hex().substr(0, 8));
  CAF_CHECK(!broker_down());
}

CAF_TEST(a malformed peer request closes the connection) {
  authenticate(true);
  take_output();
  // get_chunk takes exactly a 32-byte id.
  send(frame_bytes(frame_type::get_chunk, byte_buffer(31, 'i'), 5));
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::error);
  auto err = from_payload<error_msg>(out[0].payload);
  CAF_REQUIRE(err);
  CAF_CHECK_EQUAL(err->code, static_cast<uint8_t>(errc::protocol));
  CAF_CHECK(contains(err->message, "get_chunk"));
  CAF_CHECK(broker_down());
  CAF_CHECK(seen->store_gets.empty());
}

CAF_TEST(a hostile list count from a peer closes the connection) {
  authenticate(false);
  take_output();
  byte_buffer payload;
  writer w{payload};
  w.u32(0xFFFFFFFFu);
  w.raw("tiny", 4);
  send(frame_bytes(frame_type::has_chunks, payload, 9));
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::error);
  auto err = from_payload<error_msg>(out[0].payload);
  CAF_REQUIRE(err);
  CAF_CHECK_EQUAL(err->code, static_cast<uint8_t>(errc::protocol));
  CAF_CHECK(contains(err->message, "has_chunks"));
  CAF_CHECK(broker_down());
}

CAF_TEST(the listener hands each connection to a broker of its own) {
  auto acc = accept_handle::from_int(7);
  mpx.provide_acceptor(7001, acc);
  auto doorman = mpx.new_doorman(acc, 7001);
  auto lst = mm.spawn_broker(listener, doorman, node_context_ptr{ctx});
  track(lst);
  mpx.add_pending_connect(acc, conn);
  mpx.accept_connection(acc);
  drain();
  handshake remote{remote_identity(), true};
  answer_hello(remote);
  CAF_REQUIRE_EQUAL(seen->ups.size(), 1u);
  CAF_CHECK_EQUAL(seen->ups[0].info.node_id, id_b);
  CAF_CHECK(!seen->ups[0].outbound);
  CAF_CHECK(seen->ups[0].connection != lst);
  // Stopping the listener stops its connections.
  broker = seen->ups[0].connection;
  track(broker);
  caf::anon_send_exit(lst, caf::exit_reason::user_shutdown);
  drain();
  CAF_CHECK(broker_down());
}

CAF_TEST_FIXTURE_SCOPE_END()
