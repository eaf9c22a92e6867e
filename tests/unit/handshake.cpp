#define CAF_SUITE handshake
#include "tests/unit/test_helpers.hpp"

#include "common/error.hpp"
#include "net/frame.hpp"
#include "net/handshake.hpp"
#include "net/messages.hpp"
#include "common/credential.hpp"

#include <deque>
#include <string>
#include <vector>

using namespace dfs;

namespace {

const std::string id_a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string id_b = "0123456789abcdef0123456789abcdef";
const std::string secret = "correct horse battery staple, at least 32 bytes long";

local_identity node(const std::string& id, const std::string& name,
                    const std::string& cluster = "alpha", const std::string& key = secret) {
  return {cluster, id, name, peer_role::peer, "127.0.0.1:" + std::to_string(7000 + name.size()),
          key, {}};
}

local_identity client(const std::string& id, const std::string& cluster = "",
                      const std::string& key = secret) {
  return {cluster, id, "cli", peer_role::client, "", key, {}};
}

using frames = std::vector<handshake::outgoing_frame>;

/// Two handshakes wired back to back: each one's frames reach the other in order.
struct wire {
  handshake a; // the initiator
  handshake b; // the responder
  std::deque<handshake::outgoing_frame> to_a;
  std::deque<handshake::outgoing_frame> to_b;
  std::vector<frame_type> seen_by_a;
  std::vector<frame_type> seen_by_b;

  wire(local_identity x, local_identity y) : a(std::move(x), true), b(std::move(y), false) {}

  void run() {
    to_b.push_back(a.start());
    to_a.push_back(b.start());
    for (size_t guard = 0; guard < 100 && (!to_a.empty() || !to_b.empty()); ++guard) {
      if (!to_b.empty()) {
        auto f = std::move(to_b.front());
        to_b.pop_front();
        seen_by_b.push_back(f.type);
        frames out;
        b.on_frame(f.type, f.payload, out);
        to_a.insert(to_a.end(), out.begin(), out.end());
      }
      if (!to_a.empty()) {
        auto f = std::move(to_a.front());
        to_a.pop_front();
        seen_by_a.push_back(f.type);
        frames out;
        a.on_frame(f.type, f.payload, out);
        to_b.insert(to_b.end(), out.begin(), out.end());
      }
    }
  }
};

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

hello_msg valid_hello(const std::string& id, const std::string& cluster = "alpha") {
  hello_msg h;
  h.version = protocol_version;
  h.cluster = cluster;
  h.node_id = id;
  h.node_name = "mallory";
  h.role = peer_role::peer;
  h.listen_address = "10.0.0.9:7000";
  for (size_t i = 0; i < h.nonce.size(); ++i)
    h.nonce[i] = static_cast<uint8_t>(i * 13 + 1);
  return h;
}

/// The one error frame in out, decoded; a check fails (and the code reads 255) otherwise.
error_msg only_error(const frames& out) {
  CAF_CHECK_EQUAL(out.size(), 1u);
  if (out.size() != 1 || out[0].type != frame_type::error) {
    CAF_CHECK(!"expected exactly one error frame");
    return {255, "no error frame"};
  }
  auto err = from_payload<error_msg>(out[0].payload);
  CAF_CHECK(err);
  return err ? *err : error_msg{255, "malformed error frame"};
}

} // namespace

CAF_TEST(two nodes with the same secret authenticate each other) {
  wire w{node(id_a, "node-a"), node(id_b, "node-b")};
  CAF_CHECK(w.a.current() == handshake::state::waiting_hello);
  w.run();
  CAF_REQUIRE(w.a.done());
  CAF_REQUIRE(w.b.done());
  CAF_CHECK(w.a.error_code() == errc::none);
  CAF_CHECK(w.b.error_code() == errc::none);
  CAF_CHECK_EQUAL(w.a.peer().node_id, id_b);
  CAF_CHECK_EQUAL(w.a.peer().node_name, "node-b");
  CAF_CHECK_EQUAL(w.a.peer().cluster, "alpha");
  CAF_CHECK_EQUAL(w.a.peer().listen_address, "127.0.0.1:7006");
  CAF_CHECK(w.a.peer().role == peer_role::peer);
  CAF_CHECK_EQUAL(w.a.peer().version, protocol_version);
  CAF_CHECK_EQUAL(w.b.peer().node_id, id_a);
  CAF_CHECK_EQUAL(w.b.peer().node_name, "node-a");
  // Exactly hello and proof went each way: nothing more, no error.
  CAF_CHECK_EQUAL(w.seen_by_a.size(), 2u);
  CAF_CHECK_EQUAL(w.seen_by_b.size(), 2u);
  CAF_CHECK(w.seen_by_a == (std::vector<frame_type>{frame_type::hello, frame_type::proof}));
  CAF_CHECK(w.seen_by_b == (std::vector<frame_type>{frame_type::hello, frame_type::proof}));
}

CAF_TEST(each start sends a fresh nonce) {
  handshake x{node(id_a, "node-a"), true};
  handshake y{node(id_a, "node-a"), true};
  auto hx = from_payload<hello_msg>(x.start().payload);
  auto hy = from_payload<hello_msg>(y.start().payload);
  CAF_REQUIRE(hx && hy);
  CAF_CHECK(hx->nonce != hy->nonce);
  CAF_CHECK(x.start().type == frame_type::hello);
  CAF_CHECK_EQUAL(hx->version, protocol_version);
  CAF_CHECK_EQUAL(hx->node_id, id_a);
  CAF_CHECK_EQUAL(hx->cluster, "alpha");
}

CAF_TEST(a wrong secret fails on both sides) {
  wire w{node(id_a, "node-a"), node(id_b, "node-b", "alpha", secret + "!")};
  w.run();
  CAF_CHECK(w.a.failed());
  CAF_CHECK(w.b.failed());
  CAF_CHECK(w.a.error_code() == errc::auth_failed);
  CAF_CHECK(w.b.error_code() == errc::auth_failed);
  CAF_CHECK(contains(w.a.error_reason(), "authentication failed"));
  CAF_CHECK(contains(w.b.error_reason(), "authentication failed"));
}

CAF_TEST(a wrong cluster name fails and names both clusters) {
  wire w{node(id_a, "node-a", "alpha"), node(id_b, "node-b", "beta")};
  w.run();
  CAF_REQUIRE(w.a.failed());
  CAF_REQUIRE(w.b.failed());
  CAF_CHECK(w.a.error_code() == errc::wrong_cluster);
  CAF_CHECK(w.b.error_code() == errc::wrong_cluster);
  for (auto* reason : {&w.a.error_reason(), &w.b.error_reason()}) {
    CAF_MESSAGE(*reason);
    CAF_CHECK(contains(*reason, "'alpha'"));
    CAF_CHECK(contains(*reason, "'beta'"));
  }
  // Neither sent a proof to a node of another cluster.
  for (auto t : w.seen_by_a)
    CAF_CHECK(t != frame_type::proof);
  for (auto t : w.seen_by_b)
    CAF_CHECK(t != frame_type::proof);
}

CAF_TEST(a wrong protocol version fails with wrong_version) {
  for (uint16_t v : {uint16_t{0}, uint16_t(protocol_version - 1), uint16_t(protocol_version + 1),
                     uint16_t{99}, uint16_t{0xFFFF}}) {
    handshake hs{node(id_a, "node-a"), false};
    hs.start();
    auto h = valid_hello(id_b);
    h.version = v;
    frames out;
    hs.on_frame(frame_type::hello, to_payload(h), out);
    CAF_CHECK(hs.failed());
    CAF_CHECK(hs.error_code() == errc::wrong_version);
    CAF_CHECK(contains(hs.error_reason(), std::to_string(v)));
    auto err = only_error(out);
    CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::wrong_version));
    CAF_CHECK_EQUAL(err.message, hs.error_reason());
  }
}

CAF_TEST(a client without a cluster name meets a named cluster) {
  // The node accepts the nameless client, and the client accepts the named node.
  wire w{client(id_b), node(id_a, "node-a", "alpha")};
  w.run();
  CAF_REQUIRE(w.a.done());
  CAF_REQUIRE(w.b.done());
  CAF_CHECK(w.b.peer().role == peer_role::client);
  CAF_CHECK_EQUAL(w.b.peer().cluster, "");
  CAF_CHECK_EQUAL(w.a.peer().cluster, "alpha");
  // The same with the client as the responder.
  wire w2{node(id_a, "node-a", "alpha"), client(id_b)};
  w2.run();
  CAF_CHECK(w2.a.done());
  CAF_CHECK(w2.b.done());
}

CAF_TEST(a nameless client still needs the secret) {
  wire w{client(id_b, "", "not the secret"), node(id_a, "node-a", "alpha")};
  w.run();
  CAF_CHECK(w.a.failed());
  CAF_CHECK(w.b.failed());
  CAF_CHECK(w.a.error_code() == errc::auth_failed);
  CAF_CHECK(w.b.error_code() == errc::auth_failed);
}

CAF_TEST(a client naming another cluster is refused) {
  wire w{client(id_b, "beta"), node(id_a, "node-a", "alpha")};
  w.run();
  CAF_CHECK(w.a.failed());
  CAF_CHECK(w.b.failed());
  CAF_CHECK(w.b.error_code() == errc::wrong_cluster);
}

CAF_TEST(a nameless peer that is not a client is refused) {
  wire w{node(id_a, "node-a", ""), node(id_b, "node-b", "alpha")};
  w.run();
  CAF_CHECK(w.a.failed());
  CAF_CHECK(w.b.failed());
  CAF_CHECK(w.b.error_code() == errc::wrong_cluster);
}

CAF_TEST(connecting to itself fails) {
  wire w{node(id_a, "node-a"), node(id_a, "node-a")};
  w.run();
  CAF_REQUIRE(w.a.failed());
  CAF_REQUIRE(w.b.failed());
  CAF_CHECK(w.a.error_code() == errc::protocol);
  CAF_CHECK(w.b.error_code() == errc::protocol);
  CAF_CHECK(contains(w.a.error_reason(), "itself"));
}

CAF_TEST(a proof before the hello is a protocol error) {
  for (bool initiator : {true, false}) {
    handshake hs{node(id_a, "node-a"), initiator};
    hs.start();
    frames out;
    hs.on_frame(frame_type::proof, byte_buffer(32, 'p'), out);
    CAF_CHECK(hs.failed());
    CAF_CHECK(hs.error_code() == errc::protocol);
    auto err = only_error(out);
    CAF_CHECK_EQUAL(err.code, static_cast<uint8_t>(errc::protocol));
    CAF_CHECK(contains(err.message, "proof"));
  }
}

CAF_TEST(any other frame during the handshake is a protocol error) {
  for (auto type : {frame_type::put_begin, frame_type::get_chunk, frame_type::ok}) {
    handshake hs{node(id_a, "node-a"), false};
    frames out;
    hs.on_frame(type, byte_buffer{}, out);
    CAF_CHECK(hs.failed());
    CAF_CHECK(hs.error_code() == errc::protocol);
    CAF_CHECK(contains(only_error(out).message, to_string(type)));
  }
  // A second hello, too.
  handshake hs{node(id_a, "node-a"), false};
  frames out;
  hs.on_frame(frame_type::hello, to_payload(valid_hello(id_b)), out);
  CAF_REQUIRE(hs.current() == handshake::state::waiting_proof);
  out.clear();
  hs.on_frame(frame_type::hello, to_payload(valid_hello(id_b)), out);
  CAF_CHECK(hs.failed());
  CAF_CHECK(hs.error_code() == errc::protocol);
}

CAF_TEST(a reflected proof is rejected) {
  // Mallory does not hold the secret: she sends a hello, receives the node proof and sends
  // it straight back, in either role.
  for (bool initiator : {true, false}) {
    handshake hs{node(id_a, "node-a"), initiator};
    hs.start();
    frames out;
    hs.on_frame(frame_type::hello, to_payload(valid_hello(id_b)), out);
    CAF_REQUIRE_EQUAL(out.size(), 1u);
    CAF_REQUIRE(out[0].type == frame_type::proof);
    auto reflected = out[0].payload;
    out.clear();
    hs.on_frame(frame_type::proof, reflected, out);
    CAF_CHECK(hs.failed());
    CAF_CHECK(hs.error_code() == errc::auth_failed);
    CAF_CHECK_EQUAL(only_error(out).code, static_cast<uint8_t>(errc::auth_failed));
  }
}

CAF_TEST(a proof from another session is rejected) {
  // A proof recorded from one handshake (other nonces) does not open another one.
  wire recorded{node(id_a, "node-a"), node(id_b, "node-b")};
  recorded.to_b.clear();
  auto hello_a = recorded.a.start();
  auto hello_b = recorded.b.start();
  frames out_b;
  recorded.b.on_frame(hello_a.type, hello_a.payload, out_b);
  CAF_REQUIRE_EQUAL(out_b.size(), 1u);
  auto proof_of_b = out_b[0].payload;
  // A fresh initiator with the same identity gets the same hello from "b" replayed, then the
  // recorded proof: its own nonce differs, so the proof does not match.
  handshake fresh{node(id_a, "node-a"), true};
  fresh.start();
  frames out;
  fresh.on_frame(frame_type::hello, hello_b.payload, out);
  CAF_REQUIRE(fresh.current() == handshake::state::waiting_proof);
  out.clear();
  fresh.on_frame(frame_type::proof, proof_of_b, out);
  CAF_CHECK(fresh.failed());
  CAF_CHECK(fresh.error_code() == errc::auth_failed);
  // While the original initiator, which sent hello_a, accepts it.
  frames out_a;
  recorded.a.on_frame(hello_b.type, hello_b.payload, out_a);
  out_a.clear();
  recorded.a.on_frame(frame_type::proof, proof_of_b, out_a);
  CAF_CHECK(recorded.a.done());
  CAF_CHECK(out_a.empty());
}

CAF_TEST(a malformed hello is a protocol error) {
  std::vector<byte_buffer> bad;
  bad.push_back(byte_buffer{});
  bad.push_back(byte_buffer{'g', 'a', 'r', 'b', 'a', 'g', 'e'});
  auto full = to_payload(valid_hello(id_b));
  bad.push_back(byte_buffer(full.begin(), full.end() - 1));   // truncated nonce
  auto longer = full;
  longer.push_back(0);                                         // trailing byte
  bad.push_back(longer);
  auto not_hex = valid_hello("0123456789ABCDEF0123456789ABCDEF"); // uppercase is not a node id
  bad.push_back(to_payload(not_hex));
  auto short_id = valid_hello("abc");
  bad.push_back(to_payload(short_id));
  for (auto& payload : bad) {
    handshake hs{node(id_a, "node-a"), false};
    hs.start();
    frames out;
    hs.on_frame(frame_type::hello, payload, out);
    CAF_CHECK(hs.failed());
    CAF_CHECK(hs.error_code() == errc::protocol);
    CAF_CHECK_EQUAL(only_error(out).code, static_cast<uint8_t>(errc::protocol));
  }
}

CAF_TEST(a malformed proof is a protocol error) {
  handshake hs{node(id_a, "node-a"), false};
  frames out;
  hs.on_frame(frame_type::hello, to_payload(valid_hello(id_b)), out);
  out.clear();
  hs.on_frame(frame_type::proof, byte_buffer(31, 'p'), out);
  CAF_CHECK(hs.failed());
  CAF_CHECK(hs.error_code() == errc::protocol);
  CAF_CHECK_EQUAL(only_error(out).code, static_cast<uint8_t>(errc::protocol));
}

CAF_TEST(an error frame from the peer ends the handshake without an answer) {
  handshake hs{node(id_a, "node-a"), true};
  frames out;
  hs.on_frame(frame_type::error,
              to_payload(error_msg{static_cast<uint8_t>(errc::wrong_cluster), "go away"}), out);
  CAF_CHECK(hs.failed());
  CAF_CHECK(hs.error_code() == errc::wrong_cluster);
  CAF_CHECK_EQUAL(hs.error_reason(), "go away");
  CAF_CHECK(out.empty());
  // An error code of 0 still counts as a failure.
  handshake hs2{node(id_a, "node-a"), true};
  hs2.on_frame(frame_type::error, to_payload(error_msg{0, "?"}), out);
  CAF_CHECK(hs2.failed());
  CAF_CHECK(hs2.error_code() == errc::protocol);
  CAF_CHECK(out.empty());
}

CAF_TEST(frames after the end change nothing) {
  wire w{node(id_a, "node-a"), node(id_b, "node-b")};
  w.run();
  CAF_REQUIRE(w.a.done());
  frames out;
  w.a.on_frame(frame_type::error, to_payload(error_msg{5, "late"}), out);
  w.a.on_frame(frame_type::hello, byte_buffer{}, out);
  CAF_CHECK(w.a.done());
  CAF_CHECK(out.empty());
  CAF_CHECK_EQUAL(w.a.peer().node_id, id_b);
}

CAF_TEST(node ids are 32 lowercase hex digits) {
  CAF_CHECK(is_valid_node_id(id_a));
  CAF_CHECK(is_valid_node_id(id_b));
  CAF_CHECK(!is_valid_node_id(""));
  CAF_CHECK(!is_valid_node_id(id_b.substr(1)));
  CAF_CHECK(!is_valid_node_id(id_b + "0"));
  CAF_CHECK(!is_valid_node_id("0123456789abcdeg0123456789abcdef"));
  CAF_CHECK(!is_valid_node_id("0123456789ABCDEF0123456789abcdef"));
}

// -- user credentials ----------------------------------------------------------------------------

namespace {

const std::string user_key = "ALICEALICEALICEALICE";

local_identity user(const std::string& secret_key = derive_user_secret_key(secret, user_key),
                    peer_role role = peer_role::client) {
  return {"", id_b, "cli", role, "", secret_key, user_key};
}

} // namespace

CAF_TEST(a user credential authenticates with a node and names its access key) {
  wire w{user(), node(id_a, "node-a")};
  w.run();
  CAF_REQUIRE(w.a.done());
  CAF_REQUIRE(w.b.done());
  CAF_CHECK_EQUAL(w.b.peer_access_key(), user_key);
  CAF_CHECK(w.a.peer_access_key().empty());
}

CAF_TEST(a user secret key made from another secret fails on both sides) {
  wire w{user(derive_user_secret_key("another secret of at least 32 bytes!", user_key)),
         node(id_a, "node-a")};
  w.run();
  CAF_CHECK(w.a.failed());
  CAF_CHECK(w.b.failed());
  CAF_CHECK_EQUAL(w.b.error_code(), errc::auth_failed);
}

CAF_TEST(the node secret itself under an access key fails) {
  // A holder of the node secret who names an access key must prove that user's key.
  wire w{user(secret), node(id_a, "node-a")};
  w.run();
  CAF_CHECK(w.b.failed());
  CAF_CHECK_EQUAL(w.b.error_code(), errc::auth_failed);
}

CAF_TEST(a user credential claiming the peer role is refused) {
  wire w{user(derive_user_secret_key(secret, user_key), peer_role::peer), node(id_a, "node-a")};
  w.run();
  CAF_CHECK(w.b.failed());
  CAF_CHECK_EQUAL(w.b.error_code(), errc::forbidden);
  CAF_CHECK(contains(w.b.error_reason(), "a user credential cannot act as a node"));
  CAF_CHECK(w.a.failed());
}

CAF_TEST(a malformed access key in the hello is a protocol error) {
  auto me = user();
  me.access_key = "alice";
  wire w{me, node(id_a, "node-a")};
  w.run();
  CAF_CHECK(w.b.failed());
  CAF_CHECK_EQUAL(w.b.error_code(), errc::protocol);
}
