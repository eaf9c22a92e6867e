#define CAF_SUITE peer_connection
#include "tests/unit/test_helpers.hpp"

#include <algorithm>

#include <caf/test/io_dsl.hpp>

#include "actors/node_context.hpp"
#include "common/error.hpp"
#include "net/frame.hpp"
#include "net/handshake.hpp"
#include "actors/listener.hpp"
#include "net/messages.hpp"
#include "actors/peer_connection.hpp"
#include "actors/users.hpp"
#include "common/credential.hpp"
#include "actors/get_session.hpp"
#include "common/log.hpp"

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
  std::vector<uint64_t> heartbeat_clocks;    // ... and the wall clocks they carried
  std::vector<byte_buffer> replies;         // what requesters received
  std::vector<caf::error> errors;           // ... or the errors they received
  std::vector<chunk_id> store_gets;         // get_chunk requests the store stub answered
  std::vector<chunk_id> store_touches;      // ids of touch_chunks requests it answered
  std::vector<std::vector<bool>> touch_answers; // what touch_chunks requesters received
  std::vector<caf::actor_addr> down;
  std::vector<caf::error> down_reasons;
  std::vector<caf::actor_addr> closed; // peer_down_atom messages to membership
  std::vector<caf::response_promise> member_questions; // from sessions, never answered
};

// Dynamically typed stubs handle only what the broker sends them; node_context holds them
// through actor_cast, so they do not have to spell out whole interfaces.
caf::behavior membership_stub(caf::event_based_actor* self, std::shared_ptr<observed> seen) {
  return {
    [=](peer_up_atom, const peer_info& info, const caf::actor& connection, bool outbound) {
      seen->ups.push_back({info, connection, outbound});
      return seen->keep;
    },
    [=](heartbeat_atom, const std::string& node_id, uint64_t wall_ms) {
      seen->heartbeats_from.push_back(node_id);
      seen->heartbeat_clocks.push_back(wall_ms);
    },
    [=](peer_down_atom, const caf::actor& connection) {
      seen->closed.push_back(connection.address());
    },
    [=](gossip_atom, const std::string&, const std::vector<roster_entry>&,
        const std::vector<std::string>&) {},
    // A session's question stays unanswered: the session stays open as long as the test needs.
    [=](members_atom) -> caf::result<std::vector<member_view>> {
      auto rp = self->make_response_promise<std::vector<member_view>>();
      seen->member_questions.push_back(rp);
      return rp;
    },
    // From the test: answer the questions so far (a promise is delivered in its actor).
    [=](std::vector<member_view>& members) {
      for (auto& rp : seen->member_questions)
        rp.deliver(members);
      seen->member_questions.clear();
    },
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
    [=](put_chunk_atom, const chunk_id&, const byte_buffer&) { return caf::ok_atom::value; },
    // Past the frame limit: 65 manifests with 1 MiB of inline bytes each.
    [=](list_manifests_atom, const std::string&) {
      std::vector<manifest> all(65);
      for (size_t i = 0; i < all.size(); ++i) {
        all[i].key = "huge/" + std::to_string(i);
        all[i].inline_data.assign(1u << 20, 'i');
      }
      return all;
    },
    [=](touch_chunks_atom, const std::vector<chunk_id>& ids) {
      byte_buffer held{'c', 'h', 'u', 'n', 'k', ' ', 'b', 'y', 't', 'e', 's'};
      std::vector<bool> present;
      for (auto& id : ids) {
        seen->store_touches.push_back(id);
        present.push_back(id == chunk_id::of(held.data(), held.size()));
      }
      return present;
    },
  };
}

/// Asks the target to touch chunks once, and records the answer.
caf::behavior toucher(caf::event_based_actor* self, caf::actor target, std::vector<chunk_id> ids,
                      std::shared_ptr<observed> seen) {
  self->request(target, caf::infinite, touch_chunks_atom::value, ids)
    .then([=](std::vector<bool>& present) { seen->touch_answers.push_back(std::move(present)); },
          [=](caf::error& err) { seen->errors.push_back(std::move(err)); });
  return {
    [](tick_atom) {},
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

// The unused int: CAF 0.17 spawns a function without arguments through a null
// shared_ptr<std::tuple<>> (UBSan: reference binding to null pointer).
caf::behavior inert_stub(caf::event_based_actor*, int) {
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
  return {cluster, id_b, "node-b", peer_role::peer, "127.0.0.1:7002", key, {}};
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
  byte_buffer last_heartbeat; // the payload of the last one

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
    auto coordinator = sys.spawn(inert_stub, 0);
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
                               node_context_ptr{ctx}, outbound, inbound_connections_ptr{});
    CAF_REQUIRE(res);
    broker = *res;
    track(broker);
  }

  /// The broker terminated, or (a peer link, which lingers before it terminates) closed its
  /// connection and told membership.
  bool broker_down() const {
    for (auto& addrs : {&seen->down, &seen->closed})
      for (auto& addr : *addrs)
        if (addr == broker.address())
          return true;
    return false;
  }

  /// Everything the broker wrote since the last call, as frames; heartbeats (sent on a timer
  /// of their own once authenticated) are only counted.
  std::vector<wire_frame> take_output() { return take_output(conn); }

  std::vector<wire_frame> take_output(connection_handle from) {
    auto& buf = mpx.output_buffer(from);
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
      if (h->type == frame_type::heartbeat) {
        ++heartbeats;
        last_heartbeat.assign(buf.begin() + pos, buf.begin() + pos + h->payload_length);
      } else
        frames.push_back(
          {*h, byte_buffer(buf.begin() + pos, buf.begin() + pos + h->payload_length)});
      pos += h->payload_length;
    }
    CAF_CHECK_EQUAL(pos, buf.size());
    buf.clear();
    return frames;
  }

  void send(const byte_buffer& bytes) { send(conn, bytes); }

  void send(connection_handle to, const byte_buffer& bytes) {
    mpx.virtual_send(to, bytes);
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

  /// A listener on port 7001 whose connections this test accepts with accept().
  caf::actor start_listener() {
    mpx.provide_acceptor(7001, listener_acceptor);
    auto lst = mm.spawn_broker(listener, mpx.new_doorman(listener_acceptor, 7001),
                               node_context_ptr{ctx});
    track(lst);
    return lst;
  }

  accept_handle listener_acceptor = accept_handle::from_int(7);

  void accept(connection_handle hdl) {
    mpx.add_pending_connect(listener_acceptor, hdl);
    mpx.accept_connection(listener_acceptor);
    drain();
  }

  /// What the multiplexer delivers when the socket reports EOF.
  void peer_hangs_up(connection_handle hdl) {
    mpx.impl_ptr(hdl)->io_failure(&mpx, caf::io::network::operation::read);
    drain();
  }

  /// Bytes in the broker's write buffer (the test network never drains it by itself).
  size_t buffered_bytes_of_output() { return mpx.output_buffer(conn).size(); }

  /// An inbound connection from a client, authenticated afterwards.
  void authenticate_client() {
    start(false);
    handshake remote{{"", "11111111111111111111111111111111", "dfs-cli", peer_role::client, "",
                      secret, ""},
                     true};
    answer_hello(remote);
    auto out = take_output();
    CAF_REQUIRE_EQUAL(out.size(), 1u);
    CAF_REQUIRE(out[0].header.type == frame_type::proof);
    CAF_REQUIRE(!broker_down());
  }

  /// Passes TLS records both ways between `client` and the broker until neither has more;
  /// returns the plaintext the broker sent.
  byte_buffer tls_exchange(tls_endpoint& client) {
    byte_buffer plain;
    for (int round = 0; round < 10; ++round) {
      byte_buffer bytes;
      client.take_ciphertext(bytes);
      if (bytes.empty() && mpx.output_buffer(conn).empty())
        break;
      if (!bytes.empty())
        send(bytes);
      auto& out = mpx.output_buffer(conn);
      client.feed(out.data(), out.size());
      out.clear();
      client.read_plaintext(plain);
    }
    return plain;
  }

  /// A good handshake as a peer inside TLS, on an inbound connection started with ctx->tls.
  void authenticate_over_tls(tls_endpoint& client) {
    client.start();
    auto plain = tls_exchange(client);
    CAF_REQUIRE(client.handshake_done());
    CAF_REQUIRE(!client.failed());
    // Inside TLS, the usual handshake: the broker's hello, then ours and our proof.
    std::string reason;
    CAF_REQUIRE_GREATER_OR_EQUAL(plain.size(), frame_header_size);
    auto header = decode_frame_header(plain.data(), max_handshake_payload, reason);
    CAF_REQUIRE(header);
    CAF_REQUIRE(header->type == frame_type::hello);
    byte_buffer broker_hello(plain.begin() + frame_header_size,
                             plain.begin() + frame_header_size + header->payload_length);
    handshake remote{remote_identity(), true};
    std::vector<handshake::outgoing_frame> answers;
    remote.on_frame(frame_type::hello, broker_hello, answers);
    byte_buffer frames;
    auto hello = remote.start();
    append_frame(frames, hello.type, 0, hello.payload);
    for (auto& f : answers)
      append_frame(frames, f.type, 0, f.payload);
    client.write_plaintext(frames);
    tls_exchange(client);
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
  ctx->config.down_after = std::chrono::hours{24}; // the silent-peer rule out of the way
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
    advance_time(ctx->config.handshake_timeout + std::chrono::seconds{1});
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
  advance_time(ctx->config.handshake_timeout - std::chrono::seconds{1});
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
  advance_time(ctx->config.handshake_timeout + std::chrono::seconds{1});
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
  ctx->clock = std::make_shared<hybrid_clock>(std::chrono::seconds{60},
                                              [] { return uint64_t{1'700'000'000'000}; });
  authenticate(true);
  take_output();
  CAF_CHECK_GREATER_OR_EQUAL(heartbeats, 1u); // one right after the handshake
  auto before = heartbeats;
  advance_time(ctx->heartbeat_interval());
  drain();
  CAF_CHECK(take_output().empty());
  CAF_CHECK_EQUAL(heartbeats, before + 1);
  // Each carries this node's wall clock, for the peer to compare with its own.
  auto mine = from_payload<heartbeat_msg>(last_heartbeat);
  CAF_REQUIRE(mine);
  CAF_CHECK_EQUAL(mine->wall_ms, uint64_t{1'700'000'000'000});
  send(frame_bytes(frame_type::heartbeat, to_payload(heartbeat_msg{123456789})));
  CAF_CHECK_EQUAL(seen->heartbeats_from, std::vector<std::string>{id_b});
  CAF_CHECK_EQUAL(seen->heartbeat_clocks, std::vector<uint64_t>{123456789});
  CAF_CHECK(!broker_down());
}

CAF_TEST(a heartbeat without its clock is a protocol error and reaches nobody) {
  authenticate(true);
  take_output();
  send(frame_bytes(frame_type::heartbeat, byte_buffer{}));
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::error);
  auto err = from_payload<error_msg>(out[0].payload);
  CAF_REQUIRE(err);
  CAF_CHECK_EQUAL(err->code, static_cast<uint8_t>(errc::protocol));
  CAF_CHECK(seen->heartbeats_from.empty());
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

CAF_TEST(touch_chunks travels both ways between peers) {
  authenticate(false);
  take_output();
  byte_buffer held{'c', 'h', 'u', 'n', 'k', ' ', 'b', 'y', 't', 'e', 's'};
  std::vector<chunk_id> ids{chunk_id::of(held.data(), held.size()), chunk_id::of("other", 5)};
  // The peer asks: the store touches, the answer says which ids it holds.
  send(frame_bytes(frame_type::touch_chunks, to_payload(has_chunks_msg{ids}), 31));
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::touch_chunks_result);
  CAF_CHECK_EQUAL(out[0].header.request_id, 31u);
  auto answer = from_payload<has_chunks_result_msg>(out[0].payload);
  CAF_REQUIRE(answer);
  CAF_CHECK_EQUAL(answer->present, (std::vector<bool>{true, false}));
  CAF_CHECK_EQUAL(seen->store_touches, ids);
  // A local session asks the peer through the broker.
  track(sys.spawn(toucher, broker, ids, seen));
  out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::touch_chunks);
  auto request = from_payload<has_chunks_msg>(out[0].payload);
  CAF_REQUIRE(request);
  CAF_CHECK_EQUAL(request->ids, ids);
  send(frame_bytes(frame_type::touch_chunks_result, to_payload(has_chunks_result_msg{{false, true}}),
                   out[0].header.request_id));
  CAF_REQUIRE_EQUAL(seen->touch_answers.size(), 1u);
  CAF_CHECK_EQUAL(seen->touch_answers[0], (std::vector<bool>{false, true}));
  CAF_CHECK(!broker_down());
}

CAF_TEST(a malformed peer request is refused and the link stays) {
  authenticate(true);
  take_output();
  // get_chunk takes exactly a 32-byte id.
  send(frame_bytes(frame_type::get_chunk, byte_buffer(31, 'i'), 5));
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::error);
  CAF_CHECK_EQUAL(out[0].header.request_id, 5u);
  auto err = from_payload<error_msg>(out[0].payload);
  CAF_REQUIRE(err);
  CAF_CHECK_EQUAL(err->code, static_cast<uint8_t>(errc::protocol));
  CAF_CHECK(contains(err->message, "get_chunk"));
  CAF_CHECK(!broker_down());
  CAF_CHECK(seen->store_gets.empty());
}

CAF_TEST(a hostile list count from a peer is refused and the link stays) {
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
  CAF_CHECK_EQUAL(out[0].header.request_id, 9u);
  auto err = from_payload<error_msg>(out[0].payload);
  CAF_REQUIRE(err);
  CAF_CHECK_EQUAL(err->code, static_cast<uint8_t>(errc::protocol));
  CAF_CHECK(contains(err->message, "has_chunks"));
  CAF_CHECK(!broker_down());
}

CAF_TEST(an answer over the frame limit is an error for its request and the link stays) {
  authenticate(false);
  take_output();
  send(frame_bytes(frame_type::list_manifests, to_payload(prefix_msg{"huge/"}), 11));
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::error);
  CAF_CHECK_EQUAL(out[0].header.request_id, 11u);
  auto err = from_payload<error_msg>(out[0].payload);
  CAF_REQUIRE(err);
  CAF_CHECK(contains(err->message, "answer too large"));
  CAF_CHECK(!broker_down());
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

// -- limits against connection floods -------------------------------------------------------

CAF_TEST(the handshake timeout is configurable) {
  ctx->config.handshake_timeout = std::chrono::seconds{3};
  start(false);
  take_output();
  advance_time(std::chrono::seconds{2});
  drain();
  CAF_CHECK(!broker_down());
  advance_time(std::chrono::seconds{2});
  drain();
  auto err = expect_error_and_close(take_output());
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::timeout));
  CAF_CHECK(contains(err.message, "handshake timed out"));
  CAF_CHECK(contains(err.message, "[node] handshake_timeout = 3 s"));
}

CAF_TEST(trickling bytes does not extend the handshake timeout) {
  // A slowloris: a valid hello, one byte a second. The deadline counts from the connection.
  start(false);
  take_output();
  handshake remote{remote_identity(), true};
  auto hello = remote.start();
  auto bytes = frame_bytes(hello.type, hello.payload);
  CAF_REQUIRE_GREATER(bytes.size(), 20u);
  auto seconds = ctx->config.handshake_timeout.count();
  for (long i = 0; i < seconds - 1; ++i) {
    send(byte_buffer{bytes[i]});
    advance_time(std::chrono::seconds{1});
    drain();
  }
  CAF_CHECK(!broker_down());
  send(byte_buffer{bytes[seconds - 1]});
  advance_time(std::chrono::seconds{1});
  drain();
  auto err = expect_error_and_close(take_output());
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::timeout));
}

CAF_TEST(a closed peer link answers late requests at once and terminates after lingering) {
  // CAF 0.17.6 swallows messages sent to a terminated broker: a requester still holding this
  // handle would wait out its timeout. So the broker lingers, failing every request at once.
  authenticate(false);
  take_output();
  mpx.impl_ptr(conn)->io_failure(&mpx, caf::io::network::operation::read);
  drain();
  CAF_CHECK(broker_down()); // membership was told
  bool terminated = std::find(seen->down.begin(), seen->down.end(), broker.address())
                    != seen->down.end();
  CAF_CHECK(!terminated);
  track(sys.spawn(requester, broker, chunk_id::of("late", 4), seen));
  drain();
  CAF_REQUIRE_EQUAL(seen->errors.size(), 1u);
  CAF_CHECK(code_of(seen->errors[0]) == errc::unavailable);
  advance_time(2 * ctx->request_timeout + std::chrono::seconds{1});
  drain();
  terminated = std::find(seen->down.begin(), seen->down.end(), broker.address())
               != seen->down.end();
  CAF_CHECK(terminated);
}

CAF_TEST(a link superseded by a parallel one lingers and answers late requests at once) {
  // Membership keeps one of two connections to the same peer. A replication pass may still
  // hold the other's handle: an exit would end that broker at once and leave the pass waiting
  // out its request timeout.
  authenticate(false);
  take_output();
  caf::anon_send(broker, superseded_atom::value);
  drain();
  CAF_CHECK(broker_down()); // membership was told
  CAF_CHECK(std::find(seen->down.begin(), seen->down.end(), broker.address()) == seen->down.end());
  track(sys.spawn(requester, broker, chunk_id::of("late", 4), seen));
  drain();
  CAF_REQUIRE_EQUAL(seen->errors.size(), 1u);
  CAF_CHECK(code_of(seen->errors[0]) == errc::unavailable);
}

CAF_TEST(a peer that sends nothing for down_after is closed and its requests fail at once) {
  // A peer killed while we were writing to it can leave the socket open here without an
  // error: its silence is what tells, as it does for the failure detector.
  authenticate(false);
  take_output();
  track(sys.spawn(requester, broker, chunk_id::of("x", 1), seen));
  CAF_REQUIRE_EQUAL(take_output().size(), 1u);
  advance_time(ctx->config.down_after - std::chrono::seconds{2});
  drain();
  CAF_CHECK(!broker_down());
  CAF_CHECK(seen->errors.empty());
  send(frame_bytes(frame_type::heartbeat, to_payload(heartbeat_msg{1}))); // alive: the silence starts again
  advance_time(ctx->config.down_after - std::chrono::seconds{2});
  drain();
  CAF_CHECK(!broker_down());
  advance_time(std::chrono::seconds{3});
  drain();
  CAF_CHECK(broker_down());
  CAF_REQUIRE_EQUAL(seen->errors.size(), 1u);
  CAF_CHECK(code_of(seen->errors[0]) == errc::unavailable);
  CAF_CHECK(contains(describe(seen->errors[0]), "down_after"));
}

CAF_TEST(an idle authenticated connection is closed after idle_timeout) {
  ctx->config.idle_timeout = std::chrono::seconds{60};
  ctx->config.down_after = std::chrono::hours{24}; // the silent-peer rule out of the way
  authenticate(false);
  take_output();
  advance_time(std::chrono::seconds{30});
  drain();
  send(frame_bytes(frame_type::heartbeat, to_payload(heartbeat_msg{1}))); // the clock restarts
  advance_time(std::chrono::seconds{40});                   // 70 s since authentication
  drain();
  CAF_CHECK(take_output().empty());
  CAF_CHECK(!broker_down());
  advance_time(std::chrono::seconds{21}); // 61 s since the last frame
  drain();
  auto out = take_output();
  CAF_CHECK(broker_down());
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::error);
  auto err = from_payload<error_msg>(out[0].payload);
  CAF_REQUIRE(err);
  CAF_CHECK_EQUAL(err->code, static_cast<uint8_t>(errc::timeout));
  CAF_CHECK(contains(err->message, "[node] idle_timeout = 60 s"));
}

CAF_TEST(an idle timeout of 0 keeps a quiet connection open) {
  ctx->config.idle_timeout = std::chrono::seconds{0};
  ctx->config.down_after = std::chrono::hours{24}; // the silent-peer rule out of the way
  authenticate(true);
  take_output();
  for (int i = 0; i < 10; ++i) {
    advance_time(std::chrono::hours{1});
    drain();
  }
  CAF_CHECK(take_output().empty());
  CAF_CHECK(!broker_down());
}

CAF_TEST(a write backlog above max_buffered_bytes closes the connection) {
  ctx->config.max_buffered_bytes = 10000;
  authenticate(false);
  take_output();
  // What a session sends; the test network never drains the write buffer by itself.
  byte_buffer payload(4000, 'x');
  for (uint64_t id = 1; id <= 2; ++id)
    caf::anon_send(broker, frame_atom::value, static_cast<uint16_t>(frame_type::get_data), id,
                   payload);
  drain();
  CAF_CHECK(!broker_down());
  CAF_CHECK_EQUAL(buffered_bytes_of_output(), 2 * (4000 + frame_header_size));
  caf::anon_send(broker, frame_atom::value, static_cast<uint16_t>(frame_type::get_data),
                 uint64_t{3}, payload);
  drain();
  CAF_CHECK(broker_down());
  // What was queued is dropped, not sent after all.
  CAF_CHECK_EQUAL(buffered_bytes_of_output(), 0u);
}

CAF_TEST(a partial frame above max_buffered_bytes closes the connection) {
  ctx->config.max_buffered_bytes = 10000;
  authenticate(true);
  take_output();
  auto header = raw_header(50000, static_cast<uint16_t>(frame_type::put_chunk), 9);
  send(header);
  send(byte_buffer(9000, 'p'));
  CAF_CHECK(!broker_down());
  send(byte_buffer(1000, 'p'));
  CAF_CHECK(broker_down());
  CAF_CHECK(seen->store_gets.empty());
}

CAF_TEST(the oldest connection in the handshake makes room for a new one) {
  ctx->config.max_pending_handshakes = 2;
  auto lst = start_listener();
  for (int i = 1; i <= 3; ++i)
    accept(connection_handle::from_int(100 + i));
  // The first one was closed with a reason; the other two wait.
  auto first = take_output(connection_handle::from_int(101));
  CAF_REQUIRE_EQUAL(first.size(), 2u); // its hello, then the error
  CAF_CHECK(first[1].header.type == frame_type::error);
  auto err = from_payload<error_msg>(first[1].payload);
  CAF_REQUIRE(err);
  CAF_CHECK_EQUAL(err->code, static_cast<uint8_t>(errc::unavailable));
  CAF_CHECK(contains(err->message, "[node] max_pending_handshakes = 2"));
  CAF_CHECK(mpx.stopped_reading(connection_handle::from_int(101)));
  CAF_CHECK(!mpx.stopped_reading(connection_handle::from_int(102)));
  CAF_CHECK(!mpx.stopped_reading(connection_handle::from_int(103)));
  // The newest still completes its handshake. Authenticated, it no longer counts as pending:
  // two more strangers push out the second one, then the fourth, never the third.
  conn = connection_handle::from_int(103);
  handshake remote{remote_identity(), true};
  answer_hello(remote);
  CAF_REQUIRE_EQUAL(seen->ups.size(), 1u);
  take_output();
  accept(connection_handle::from_int(104));
  CAF_CHECK(!mpx.stopped_reading(connection_handle::from_int(102)));
  accept(connection_handle::from_int(105));
  CAF_CHECK(mpx.stopped_reading(connection_handle::from_int(102)));
  accept(connection_handle::from_int(106));
  CAF_CHECK(mpx.stopped_reading(connection_handle::from_int(104)));
  CAF_CHECK(!mpx.stopped_reading(connection_handle::from_int(105)));
  CAF_CHECK(!mpx.stopped_reading(connection_handle::from_int(106)));
  for (auto& frame : take_output())
    CAF_CHECK(frame.header.type != frame_type::error);
  CAF_CHECK(!mpx.stopped_reading(conn));
  caf::anon_send_exit(lst, caf::exit_reason::user_shutdown);
  drain();
}

CAF_TEST(clients past max_connections are refused and peers are not) {
  ctx->config.max_connections = 1;
  auto lst = start_listener();
  auto client_identity = [](const std::string& id) {
    return local_identity{"", id, "dfs-cli", peer_role::client, "", secret, {}};
  };
  // The first client is served.
  conn = connection_handle::from_int(201);
  accept(conn);
  handshake first{client_identity("11111111111111111111111111111111"), true};
  answer_hello(first);
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::proof);
  CAF_CHECK(!mpx.stopped_reading(conn));
  // The second client proves it holds the secret, and is told the node is full.
  conn = connection_handle::from_int(202);
  accept(conn);
  handshake second{client_identity("22222222222222222222222222222222"), true};
  answer_hello(second);
  out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 2u);
  CAF_CHECK(out[1].header.type == frame_type::error);
  auto err = from_payload<error_msg>(out[1].payload);
  CAF_REQUIRE(err);
  CAF_CHECK_EQUAL(err->code, static_cast<uint8_t>(errc::unavailable));
  CAF_CHECK(contains(err->message, "[node] max_connections = 1"));
  CAF_CHECK(mpx.stopped_reading(conn));
  // A peer still gets in: refusing it could split the cluster.
  conn = connection_handle::from_int(203);
  accept(conn);
  handshake peer{remote_identity(), true};
  answer_hello(peer);
  CAF_CHECK_EQUAL(seen->ups.size(), 1u);
  CAF_CHECK(!mpx.stopped_reading(conn));
  // Peers count, though: with the first client gone, the peer still holds the only place.
  peer_hangs_up(connection_handle::from_int(201));
  conn = connection_handle::from_int(204);
  accept(conn);
  handshake third{client_identity("33333333333333333333333333333333"), true};
  answer_hello(third);
  out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 2u);
  CAF_CHECK(out[1].header.type == frame_type::error);
  // Once the peer leaves too, a client is served again.
  peer_hangs_up(connection_handle::from_int(203));
  conn = connection_handle::from_int(205);
  accept(conn);
  handshake fourth{client_identity("44444444444444444444444444444444"), true};
  answer_hello(fourth);
  out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::proof);
  CAF_CHECK(!mpx.stopped_reading(conn));
  caf::anon_send_exit(lst, caf::exit_reason::user_shutdown);
  drain();
}

CAF_TEST(an inbound TLS connection costs no TLS state until its first bytes) {
  ctx->tls = std::make_shared<const tls_context>(secret);
  start(false);
  // Nothing goes out before the client speaks: the hello waits for TLS, TLS for the client.
  CAF_CHECK(mpx.output_buffer(conn).empty());
  CAF_CHECK_EQUAL(buffered_bytes_of_output(), 0u);
  tls_endpoint client{*ctx->tls, tls_side::client, id_b};
  authenticate_over_tls(client);
  CAF_REQUIRE_EQUAL(seen->ups.size(), 1u);
  CAF_CHECK_EQUAL(seen->ups[0].info.node_id, id_b);
  CAF_CHECK(!broker_down());
}

CAF_TEST(frames after the one that closes a TLS link are not handled either) {
  ctx->tls = std::make_shared<const tls_context>(secret);
  start(false);
  tls_endpoint client{*ctx->tls, tls_side::client, id_b};
  authenticate_over_tls(client);
  CAF_REQUIRE(!broker_down());
  // In one record: a frame a peer may not send, then another.
  byte_buffer frames = frame_bytes(frame_type::get, byte_buffer{'x'}, 1);
  auto second = frame_bytes(frame_type::status, {}, 2);
  frames.insert(frames.end(), second.begin(), second.end());
  client.write_plaintext(frames);
  tls_exchange(client);
  CAF_CHECK(broker_down());
  CAF_CHECK(mpx.stopped_reading(conn));
}

CAF_TEST(frames after the one that closes a plaintext link are not handled) {
  // Each link is closed by its first frame (one a role may not send); the second frame of the
  // same read must not reach the handshake, which is gone once authenticated.
  for (bool client : {false, true}) {
    conn = connection_handle::from_int(client ? 301 : 302);
    if (client)
      authenticate_client();
    else
      authenticate(false);
    take_output();
    byte_buffer bytes = frame_bytes(client ? frame_type::put_chunk : frame_type::get,
                                    byte_buffer{'x'}, 1);
    auto second = frame_bytes(frame_type::status, {}, 2);
    bytes.insert(bytes.end(), second.begin(), second.end());
    send(bytes);
    auto out = take_output();
    CAF_REQUIRE_EQUAL(out.size(), 1u);
    CAF_CHECK(out[0].header.type == frame_type::error);
    CAF_CHECK(broker_down());
    CAF_CHECK(mpx.stopped_reading(conn));
  }
}

CAF_TEST(sessions past max_sessions_per_connection get an error and the connection stays) {
  ctx->config.max_sessions_per_connection = 2;
  authenticate_client();
  for (uint64_t id = 1; id <= 3; ++id)
    send(frame_bytes(frame_type::get, to_payload(key_msg{"k"}), id));
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::error);
  CAF_CHECK_EQUAL(out[0].header.request_id, 3u);
  auto err = from_payload<error_msg>(out[0].payload);
  CAF_REQUIRE(err);
  CAF_CHECK_EQUAL(err->code, static_cast<uint8_t>(errc::unavailable));
  CAF_CHECK(contains(err->message, "[node] max_sessions_per_connection = 2"));
  CAF_CHECK_EQUAL(seen->member_questions.size(), 2u); // two sessions started, not three
  // A put counts as well.
  send(frame_bytes(frame_type::put_begin, to_payload(put_begin_msg{"p", 10}), 4));
  out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK_EQUAL(out[0].header.request_id, 4u);
  CAF_CHECK(!broker_down());
  CAF_CHECK(!mpx.stopped_reading(conn));
}

CAF_TEST(put data beyond the granted credit closes the connection) {
  ctx->config.chunk_size = 4096;
  ctx->config.replicas = 1;
  ctx->config.write_quorum = 1;
  authenticate_client();
  send(frame_bytes(frame_type::put_begin, to_payload(put_begin_msg{"p", unknown_size}), 5));
  CAF_REQUIRE_EQUAL(seen->member_questions.size(), 1u);
  caf::anon_send(membership, std::vector<member_view>{{id_b, "node-b", "127.0.0.1:7002",
                                                       member_state::up,
                                                       caf::actor_cast<caf::actor>(ctx->store)}});
  drain();
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_REQUIRE(out[0].header.type == frame_type::put_ready);
  auto ready = from_payload<put_ready_msg>(out[0].payload);
  CAF_REQUIRE(ready);
  // The whole window in one read, and the chunks reach their replica: credit comes back.
  byte_buffer bytes;
  for (uint32_t i = 0; i < ready->credit; ++i)
    append_frame(bytes, frame_type::put_data, 5, byte_buffer(4096, 'd'));
  send(bytes);
  uint32_t returned = 0;
  for (auto& f : take_output()) {
    CAF_REQUIRE(f.header.type == frame_type::put_credit);
    returned += from_payload<credit_msg>(f.payload)->frames;
  }
  CAF_CHECK_EQUAL(returned, ready->credit);
  CAF_CHECK(!broker_down());
  // One frame more than the credit, in one read: the last one breaks the protocol.
  bytes.clear();
  for (uint32_t i = 0; i < returned + 1; ++i)
    append_frame(bytes, frame_type::put_data, 5, byte_buffer(4096, 'd'));
  send(bytes);
  out = take_output();
  CAF_REQUIRE_GREATER_OR_EQUAL(out.size(), 1u);
  CAF_CHECK(out.back().header.type == frame_type::error);
  auto err = from_payload<error_msg>(out.back().payload);
  CAF_REQUIRE(err);
  CAF_CHECK_EQUAL(err->code, static_cast<uint8_t>(errc::protocol));
  CAF_CHECK(contains(err->message, "put data beyond credit"));
  CAF_CHECK(broker_down());
}

CAF_TEST(the whole of a small file may come before put_ready and nothing more) {
  authenticate_client();
  byte_buffer early = frame_bytes(frame_type::put_begin, to_payload(put_begin_msg{"p", 10}), 6);
  append_frame(early, frame_type::put_data, 6, byte_buffer(10, 's').data(), 10, flag_final);
  send(early);
  CAF_CHECK(!broker_down());
  // A large put's first chunk before put_ready is data without credit.
  send(frame_bytes(frame_type::put_begin, to_payload(put_begin_msg{"q", unknown_size}), 7));
  send(frame_bytes(frame_type::put_data, byte_buffer(4096, 'd'), 7));
  CAF_CHECK(broker_down());
}

CAF_TEST(a message no handler expects is dropped with one short line) {
  std::vector<std::string> lines;
  log::set_sink([&](log::level, const std::string& line) { lines.push_back(line); });
  auto session = sys.spawn(get_session, node_context_ptr{ctx}, caf::actor{}, uint64_t{1},
                           std::string{"k"});
  actors.push_back(session);
  drain();
  caf::anon_send(session, data_atom::value, byte_buffer(4u << 20, 'x'), true);
  drain();
  log::set_sink({});
  CAF_REQUIRE_EQUAL(lines.size(), 1u);
  CAF_CHECK(contains(lines[0], "get_session"));
  CAF_CHECK(contains(lines[0], "dropped an unexpected message ('data', 3 elements)"));
  CAF_CHECK_LESS(lines[0].size(), 200u);
}

CAF_TEST(failed handshakes are logged at most per_second times a second) {
  std::vector<std::string> lines;
  log::set_sink([&](log::level lvl, const std::string& line) {
    if (lvl == log::level::warn && contains(line, "handshake failed"))
      lines.push_back(line);
  });
  for (int i = 0; i < 3 * log::limiter::per_second; ++i) {
    conn = connection_handle::from_int(400 + i);
    start(true);
    handshake remote{remote_identity("alpha", secret + " but not quite"), false};
    answer_hello(remote);
    CAF_CHECK(broker_down());
  }
  log::set_sink({});
  CAF_CHECK_LESS_OR_EQUAL(lines.size(), size_t{log::limiter::per_second});
}

CAF_TEST(one address flooding handshakes does not evict those of another address) {
  inbound_connections table{100, 4, 2};
  std::vector<caf::actor> flood;
  for (int i = 0; i < 6; ++i)
    flood.push_back(sys.spawn(inert_stub, 0));
  auto client = sys.spawn(inert_stub, 0);
  auto other = sys.spawn(inert_stub, 0);
  actors.insert(actors.end(), flood.begin(), flood.end());
  actors.insert(actors.end(), {client, other});
  CAF_CHECK(!table.accepted(client.address(), "192.0.2.7"));
  CAF_CHECK(!table.accepted(flood[0].address(), "198.51.100.1"));
  CAF_CHECK(!table.accepted(flood[1].address(), "198.51.100.1"));
  // Past max_pending_per_source = 2, the flooding address loses its own oldest.
  for (int i = 2; i < 6; ++i) {
    auto evicted = table.accepted(flood[i].address(), "198.51.100.1");
    CAF_REQUIRE(evicted);
    CAF_CHECK(evicted->who == flood[i - 2].address());
    CAF_CHECK(evicted->per_source);
  }
  // Past max_pending = 4 in all, the busiest address gives way, not the oldest connection.
  CAF_CHECK(!table.accepted(other.address(), "203.0.113.9")); // 4 pending: client, other, 2 flood
  auto third = sys.spawn(inert_stub, 0);
  actors.push_back(third);
  auto evicted = table.accepted(third.address(), "203.0.113.10");
  CAF_REQUIRE(evicted);
  CAF_CHECK(evicted->who == flood[4].address());
  CAF_CHECK(!evicted->per_source);
  CAF_CHECK(table.authenticated(client.address(), true)); // still pending until now
}

CAF_TEST(inbound_connections counts and evicts in order) {
  inbound_connections table{2, 2, 2};
  auto a = sys.spawn(inert_stub, 0);
  auto b = sys.spawn(inert_stub, 0);
  auto c = sys.spawn(inert_stub, 0);
  auto d = sys.spawn(inert_stub, 0);
  actors.insert(actors.end(), {a, b, c, d});
  CAF_CHECK(!table.accepted(a.address(), "a"));
  CAF_CHECK(!table.accepted(b.address(), "b"));
  CAF_CHECK_EQUAL(table.pending(), 2u);
  auto evicted = table.accepted(c.address(), "c");
  CAF_REQUIRE(evicted);
  CAF_CHECK(evicted->who == a.address());
  CAF_CHECK(table.authenticated(b.address(), true));
  CAF_CHECK(table.authenticated(c.address(), true));
  CAF_CHECK_EQUAL(table.pending(), 0u);
  CAF_CHECK_EQUAL(table.established(), 2u);
  // Full for clients, not for peers.
  CAF_CHECK(!table.accepted(d.address(), "d"));
  CAF_CHECK(!table.authenticated(d.address(), true));
  CAF_CHECK(table.authenticated(a.address(), false));
  CAF_CHECK_EQUAL(table.established(), 3u);
  table.closed(b.address());
  table.closed(b.address()); // twice is harmless
  table.closed(c.address());
  CAF_CHECK_EQUAL(table.established(), 1u);
  CAF_CHECK(table.authenticated(d.address(), true));
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- users: the role and the limits come from the credential --------------------------------

namespace {

const std::string user_key = "ALICEALICEALICEALICE"; // an access key: 20 of A-Z, 2-7

user_record alice(bool read_only = false, const std::string& prefix = "",
                  bool deleted = false, uint64_t version = 1) {
  user_record r;
  r.name = "alice";
  r.access_key = user_key;
  r.read_only = read_only;
  r.prefix = prefix;
  r.version = version;
  r.deleted = deleted;
  return r;
}

void publish_users(node_context& ctx, std::vector<user_record> records) {
  auto reg = std::make_shared<user_registry>();
  for (auto& r : records)
    reg->merge(r);
  ctx.users_directory->publish(reg);
}

/// A client holding alice's credential; role as it claims.
local_identity user_identity(peer_role role = peer_role::client) {
  return {"", "99999999999999999999999999999999", "dfs-cli", role, "",
          derive_user_secret_key(secret, user_key), user_key};
}

/// An inbound connection from alice's client through a complete handshake: the broker sent
/// its proof and the client accepted it.
void connect_user(fixture& f) {
  f.start(false);
  handshake remote{user_identity(), true};
  f.answer_hello(remote);
  auto out = f.take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_REQUIRE(out[0].header.type == frame_type::proof);
  std::vector<handshake::outgoing_frame> none;
  remote.on_frame(frame_type::proof, out[0].payload, none);
  CAF_REQUIRE(remote.done());
}

/// The one frame the broker wrote since the last look, which must be an error (for request
/// `request_id`).
error_msg sole_error(fixture& f, uint64_t request_id) {
  auto out = f.take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_REQUIRE(out[0].header.type == frame_type::error);
  CAF_CHECK_EQUAL(out[0].header.request_id, request_id);
  auto err = from_payload<error_msg>(out[0].payload);
  CAF_REQUIRE(err);
  return *err;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(user_link_tests, fixture)

CAF_TEST(a user credential authenticates a client with its record and never a peer) {
  publish_users(*ctx, {alice()});
  connect_user(*this);
  CAF_CHECK(seen->ups.empty()); // not a member
  CAF_CHECK(!broker_down());
  // A node-to-node request from a user link is refused and the link closed: the store is
  // never asked.
  send(frame_bytes(frame_type::inventory, {}, 3));
  auto err = sole_error(*this, 0);
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::protocol));
  CAF_CHECK(contains(err.message, "unexpected inventory frame from a client"));
  CAF_CHECK(broker_down());
}

CAF_TEST(a user credential that claims the peer role is refused) {
  publish_users(*ctx, {alice()});
  start(false);
  handshake remote{user_identity(peer_role::peer), true};
  answer_hello(remote);
  auto err = expect_error_and_close(take_output());
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::forbidden));
  CAF_CHECK(contains(err.message, "a user credential cannot act as a node"));
}

CAF_TEST(a user link sending peer gossip is refused) {
  publish_users(*ctx, {alice()});
  connect_user(*this);
  send(frame_bytes(frame_type::peers, to_payload(roster_msg{}), 0));
  auto err = sole_error(*this, 0);
  CAF_CHECK(contains(err.message, "unexpected peers frame from a client"));
  CAF_CHECK(broker_down());
}

CAF_TEST(an unknown access key is refused after the handshake) {
  publish_users(*ctx, {}); // nobody
  start(false);
  handshake remote{user_identity(), true};
  answer_hello(remote);
  auto err = expect_error_and_close(take_output());
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::auth_failed));
  CAF_CHECK(contains(err.message, "unknown or revoked credential"));
}

CAF_TEST(a removed user is refused at connect and at the next request) {
  publish_users(*ctx, {alice(false, "", true)});
  start(false);
  handshake refused{user_identity(), true};
  answer_hello(refused);
  auto err = expect_error_and_close(take_output());
  CAF_CHECK(contains(err.message, "unknown or revoked credential"));
  // Connected while alice existed, then removed: the next request is refused.
  publish_users(*ctx, {alice()});
  conn = connection_handle::from_int(43);
  connect_user(*this);
  CAF_REQUIRE(!broker_down());
  publish_users(*ctx, {alice(false, "", true, 2)});
  send(frame_bytes(frame_type::status, {}, 4));
  err = sole_error(*this, 0);
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::auth_failed));
  CAF_CHECK(contains(err.message, "unknown or revoked credential"));
  CAF_CHECK(broker_down());
}

CAF_TEST(a wrong secret key for an access key fails the proof) {
  publish_users(*ctx, {alice()});
  start(false);
  auto me = user_identity();
  me.secret = derive_user_secret_key("another cluster's secret, 32 bytes or more", user_key);
  handshake remote{me, true};
  answer_hello(remote);
  auto err = expect_error_and_close(take_output());
  CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::auth_failed));
}

CAF_TEST(a read-only user with a prefix gets forbidden outside its limits) {
  publish_users(*ctx, {alice(true, "photos/")});
  connect_user(*this);
  auto forbidden = [&](frame_type type, const byte_buffer& payload, const std::string& words) {
    send(frame_bytes(type, payload, 5));
    auto err = sole_error(*this, 5);
    CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::forbidden));
    CAF_CHECK_EQUAL(err.message, words);
  };
  forbidden(frame_type::put_begin, to_payload(put_begin_msg{"photos/a", 3}),
            "permission denied: user alice is read-only");
  forbidden(frame_type::rm, to_payload(key_msg{"photos/a"}),
            "permission denied: user alice is read-only");
  forbidden(frame_type::get, to_payload(key_msg{"docs/a"}),
            "permission denied: key docs/a is outside user alice's prefix photos/");
  forbidden(frame_type::stat, to_payload(key_msg{"docs/a"}),
            "permission denied: key docs/a is outside user alice's prefix photos/");
  forbidden(frame_type::decommission, to_payload(key_msg{"node-b"}),
            "permission denied: user alice is read-only");
  forbidden(frame_type::user_ls, {}, "permission denied: user alice is read-only");
  // An ls outside the prefix finds nothing, without asking anyone.
  send(frame_bytes(frame_type::ls, to_payload(prefix_msg{"docs/"}), 6));
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 1u);
  CAF_CHECK(out[0].header.type == frame_type::ls_result);
  CAF_CHECK(from_payload<ls_result_msg>(out[0].payload)->entries.empty());
  CAF_CHECK(!broker_down());
}

CAF_TEST(user records from a peer go to the users actor and back out to the peer) {
  auto got = std::make_shared<std::vector<user_record>>();
  // (Spawned with an argument: CAF 0.17 dereferences a null argument tuple for a function
  // spawned with none, which UBSan reports.)
  auto users_stub = sys.spawn([](caf::event_based_actor* self, decltype(got) got) -> caf::behavior {
    return {
      [=](users_atom, const std::vector<user_record>& records) {
        got->insert(got->end(), records.begin(), records.end());
      },
      [=](users_link_atom, const caf::actor& link) {
        self->send(link, users_atom::value, std::vector<user_record>{alice()});
      },
    };
  }, got);
  actors.push_back(users_stub);
  ctx->users = users_stub;
  start(false);
  handshake remote{remote_identity(), true};
  answer_hello(remote);
  // The proof, then, on the link coming up, the users actor's records for the peer.
  auto out = take_output();
  CAF_REQUIRE_EQUAL(out.size(), 2u);
  CAF_CHECK(out[0].header.type == frame_type::proof);
  CAF_CHECK(out[1].header.type == frame_type::users);
  auto sent = from_payload<user_list_msg>(out[1].payload);
  CAF_REQUIRE(sent);
  CAF_REQUIRE_EQUAL(sent->records.size(), 1u);
  CAF_CHECK_EQUAL(sent->records[0].access_key, user_key);
  // And the peer's records reach the users actor.
  send(frame_bytes(frame_type::users, to_payload(user_list_msg{{alice(true)}})));
  CAF_REQUIRE_EQUAL(got->size(), 1u);
  CAF_CHECK((*got)[0].read_only);
}

CAF_TEST_FIXTURE_SCOPE_END()
