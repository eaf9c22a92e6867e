// The hello/proof handshake (net/handshake.hpp): the state machine every connection runs before
// anything above it sees the peer.
//
// Input: [flags] rest...
//   flags bits 0-1  mode: 0 = rest is a byte stream from a stranger, cut into frames by a
//                   frame_decoder with the handshake's limit and fed to the handshake;
//                   1 = rest describes a peer's hello field by field, and the harness answers
//                   with the correct proof (or a damaged one), computed independently;
//                   2 = rest describes two identities whose handshakes run against each other;
//                   3 = as 0
//   flags bit 2     this side initiated the connection
//   flags bit 3     this side is a client
//   flags bit 4     this side has no cluster name
//
// Invariants: a finished handshake ignores every later frame; each frame moves the state
// forward (waiting_hello -> waiting_proof -> done, or failed); a hello is accepted exactly when
// the rules of the protocol (version, cluster name, node id, not itself) say so, and refused
// with the error code they name; the proof sent is HMAC-SHA256 over the documented fields; the
// handshake is done only after the peer's correct proof; a failure sends exactly one error
// frame carrying its code and reason, except in answer to the peer's own error frame; two
// handshakes agree on the outcome.
#include "fuzz/fuzz_common.hpp"
#include "net/frame_decoder.hpp"
#include "net/handshake.hpp"
#include "common/credential.hpp"
#include "common/crypto.hpp"

#include <deque>
#include <string>
#include <vector>

using namespace dfs;
using dfs::fuzz::byte_source;

namespace {

const std::string self_id = "0123456789abcdef0123456789abcdef";
const std::string other_id = "fedcba9876543210fedcba9876543210";
const std::string secret = "fuzzing secret, at least thirty-two bytes long";
const std::string other_secret = "another secret, also at least thirty-two bytes";

using frames = std::vector<handshake::outgoing_frame>;

bool lower_hex_id(const std::string& s) {
  if (s.size() != 32)
    return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

/// The documented proof, computed here rather than by handshake.cpp.
sha256_digest expected_proof(const std::string& key, bool from_initiator, const hello_msg& init,
                             const hello_msg& resp) {
  byte_buffer input;
  writer w{input};
  w.str("dfs-proof-v1");
  w.str(from_initiator ? "initiator" : "responder");
  w.fixed(init.nonce);
  w.fixed(resp.nonce);
  w.str(init.node_id);
  w.str(resp.node_id);
  return hmac_sha256(key, input.data(), input.size());
}

/// What the protocol says about a hello received by `self`: errc::none when it is accepted.
errc judge_hello(const local_identity& self, const char* data, size_t size) {
  auto hello = from_payload<hello_msg>(data, size);
  if (!hello)
    return errc::protocol;
  if (hello->version != protocol_version)
    return errc::wrong_version;
  if (!hello->access_key.empty()) {
    if (!is_valid_access_key(hello->access_key))
      return errc::protocol;
    if (hello->role != peer_role::client)
      return errc::forbidden; // a user credential never makes a node
    if (!self.access_key.empty())
      return errc::protocol;
  }
  bool nameless_client = (hello->role == peer_role::client && hello->cluster.empty())
                         || (self.role == peer_role::client && self.cluster.empty());
  if (!nameless_client && hello->cluster != self.cluster)
    return errc::wrong_cluster;
  if (!lower_hex_id(hello->node_id) || hello->node_id == self.node_id)
    return errc::protocol;
  return errc::none;
}

/// The key both proofs are made with: a user's (derived from the node secret) when the peer
/// named an access key, else our own.
std::string proof_key(const local_identity& self, const hello_msg& peer) {
  return peer.access_key.empty() ? self.secret : derive_user_secret_key(self.secret, peer.access_key);
}

/// One handshake with the checks around each frame it is fed.
struct checked_handshake {
  local_identity self;
  bool initiator;
  handshake hs;
  hello_msg own_hello;

  checked_handshake(local_identity id, bool init)
    : self(id), initiator(init), hs(std::move(id), init) {}

  handshake::outgoing_frame start() {
    auto f = hs.start();
    FUZZ_CHECK(f.type == frame_type::hello);
    auto h = from_payload<hello_msg>(f.payload);
    FUZZ_CHECK(h);
    FUZZ_CHECK(h->version == protocol_version && h->cluster == self.cluster
               && h->node_id == self.node_id && h->node_name == self.node_name
               && h->role == self.role && h->listen_address == self.listen_address);
    own_hello = *h;
    FUZZ_CHECK(hs.current() == handshake::state::waiting_hello);
    return f;
  }

  frames feed(frame_type type, const byte_buffer& payload) {
    auto before = hs.current();
    frames out;
    hs.on_frame(type, payload, out);
    auto after = hs.current();
    if (before == handshake::state::done || before == handshake::state::failed) {
      FUZZ_CHECK(out.empty() && after == before);
      return out;
    }
    FUZZ_CHECK(after != before);
    switch (after) {
      case handshake::state::waiting_hello:
        FUZZ_CHECK(!"a frame moved the handshake back to waiting_hello");
        break;
      case handshake::state::waiting_proof: {
        FUZZ_CHECK(before == handshake::state::waiting_hello && type == frame_type::hello);
        FUZZ_CHECK(judge_hello(self, payload.data(), payload.size()) == errc::none);
        FUZZ_CHECK(hs.peer().node_id != self.node_id);
        FUZZ_CHECK(out.size() == 1 && out[0].type == frame_type::proof);
        auto proof = from_payload<proof_msg>(out[0].payload);
        FUZZ_CHECK(proof);
        auto& init = initiator ? own_hello : hs.peer();
        auto& resp = initiator ? hs.peer() : own_hello;
        FUZZ_CHECK(proof->mac == expected_proof(proof_key(self, hs.peer()), initiator, init, resp));
        break;
      }
      case handshake::state::done: {
        FUZZ_CHECK(before == handshake::state::waiting_proof && type == frame_type::proof);
        FUZZ_CHECK(out.empty());
        auto proof = from_payload<proof_msg>(payload);
        FUZZ_CHECK(proof);
        auto& init = initiator ? own_hello : hs.peer();
        auto& resp = initiator ? hs.peer() : own_hello;
        FUZZ_CHECK(proof->mac == expected_proof(proof_key(self, hs.peer()), !initiator, init, resp));
        break;
      }
      case handshake::state::failed: {
        FUZZ_CHECK(hs.error_code() != errc::none);
        if (before == handshake::state::waiting_hello && type == frame_type::hello) {
          auto verdict = judge_hello(self, payload.data(), payload.size());
          FUZZ_CHECK(verdict != errc::none);
          FUZZ_CHECK(hs.error_code() == verdict);
        }
        if (type == frame_type::error) {
          FUZZ_CHECK(out.empty());
        } else {
          FUZZ_CHECK(out.size() == 1 && out[0].type == frame_type::error);
          auto err = from_payload<error_msg>(out[0].payload);
          FUZZ_CHECK(err);
          FUZZ_CHECK(err->code == static_cast<uint8_t>(hs.error_code()));
          FUZZ_CHECK(err->message == hs.error_reason());
        }
        break;
      }
    }
    return out;
  }
};

local_identity make_self(uint8_t flags) {
  bool client = flags & 8;
  bool nameless = flags & 16;
  return {nameless ? "" : "alpha", self_id, client ? "cli" : "n1",
          client ? peer_role::client : peer_role::peer, client ? "" : "127.0.0.1:7000", secret,
          {}};
}

// -- mode 0: a stranger's byte stream ---------------------------------------------------------

void stranger_stream(uint8_t flags, const std::string& stream) {
  checked_handshake h{make_self(flags), (flags & 4) != 0};
  h.start();
  frame_decoder dec{max_handshake_payload};
  dec.feed(stream.data(), stream.size(), [&](const frame_header& hdr, byte_buffer& payload) {
    h.feed(hdr.type, payload);
  });
}

// -- mode 1: a hello built field by field, then the correct (or a damaged) proof ----------------

std::string pick_cluster(byte_source& in) {
  switch (in.u8() % 4) {
    case 0: return "alpha";
    case 1: return "";
    case 2: return "beta";
    default: return in.str();
  }
}

std::string pick_id(byte_source& in) {
  switch (in.u8() % 5) {
    case 0: return other_id;
    case 1: return self_id;
    case 2: { // random lowercase hex
      std::string id = in.bytes(16);
      id.resize(16, '\0');
      return to_hex(reinterpret_cast<const uint8_t*>(id.data()), id.size());
    }
    case 3: { // almost an id: one character replaced
      std::string id = other_id;
      auto at = in.u8() % id.size();
      id[at] = static_cast<char>(in.u8());
      return id;
    }
    default: return in.str(70);
  }
}

void built_hello(uint8_t flags, byte_source& in) {
  auto self = make_self(flags);
  checked_handshake h{self, (flags & 4) != 0};
  h.start();
  hello_msg peer;
  auto shape = in.u8();
  peer.version = (shape & 1) ? in.u16() : protocol_version;
  peer.cluster = pick_cluster(in);
  peer.node_id = pick_id(in);
  peer.node_name = in.str();
  auto role = in.u8();
  peer.role = (shape & 2) ? static_cast<peer_role>(role) : (role & 1) ? peer_role::client
                                                                       : peer_role::peer;
  peer.listen_address = in.str();
  auto nonce = in.bytes(32);
  std::copy(nonce.begin(), nonce.end(), peer.nonce.begin());
  h.feed(frame_type::hello, to_payload(peer));
  if (h.hs.current() != handshake::state::waiting_proof)
    return;
  // The proof this peer would send, with the peer's view of who initiated.
  auto& init = h.initiator ? h.own_hello : peer;
  auto& resp = h.initiator ? peer : h.own_hello;
  proof_msg proof{expected_proof((shape & 4) ? other_secret : secret, !h.initiator, init, resp)};
  bool damage = shape & 8;
  if (damage)
    proof.mac[in.u8() % proof.mac.size()] ^= static_cast<uint8_t>(1 + in.u8() % 255);
  h.feed(frame_type::proof, to_payload(proof));
  bool should_pass = !damage && !(shape & 4);
  FUZZ_CHECK(h.hs.done() == should_pass);
  if (!should_pass)
    FUZZ_CHECK(h.hs.error_code() == errc::auth_failed);
  // Anything after the end changes nothing.
  auto type = static_cast<frame_type>(1 + in.u8() % 3);
  auto extra = in.str();
  h.feed(type, byte_buffer(extra.begin(), extra.end()));
}

// -- mode 2: two handshakes against each other ---------------------------------------------------

local_identity pick_identity(byte_source& in, const std::string& default_id) {
  auto b = in.u8();
  local_identity id;
  id.cluster = pick_cluster(in);
  // A local id is always valid (storage/node_identity.cpp, or a client's random one); both
  // sides may have the same one.
  id.node_id = (b & 1) ? self_id : default_id;
  id.node_name = "n";
  id.role = (b & 2) ? peer_role::client : peer_role::peer;
  id.listen_address = (b & 2) ? "" : "10.0.0.1:7000";
  id.secret = (b & 4) ? other_secret : secret;
  return id;
}

void two_sides(byte_source& in) {
  auto a_id = pick_identity(in, self_id);
  auto b_id = pick_identity(in, other_id);
  checked_handshake a{a_id, true};
  checked_handshake b{b_id, false};
  std::deque<handshake::outgoing_frame> to_a, to_b;
  to_b.push_back(a.start());
  to_a.push_back(b.start());
  bool b_first = in.u8() & 1;
  for (int guard = 0; guard < 20 && (!to_a.empty() || !to_b.empty()); ++guard) {
    auto deliver = [](std::deque<handshake::outgoing_frame>& q, checked_handshake& h,
                      std::deque<handshake::outgoing_frame>& back) {
      if (q.empty())
        return;
      auto f = std::move(q.front());
      q.pop_front();
      for (auto& o : h.feed(f.type, f.payload))
        back.push_back(std::move(o));
    };
    if (b_first) {
      deliver(to_b, b, to_a);
      deliver(to_a, a, to_b);
    } else {
      deliver(to_a, a, to_b);
      deliver(to_b, b, to_a);
    }
  }
  FUZZ_CHECK(to_a.empty() && to_b.empty());
  FUZZ_CHECK(a.hs.done() || a.hs.failed());
  FUZZ_CHECK(b.hs.done() || b.hs.failed());
  auto a_hello = to_payload(a.own_hello);
  auto b_hello = to_payload(b.own_hello);
  bool should_pass = a_id.secret == b_id.secret
                     && judge_hello(a_id, b_hello.data(), b_hello.size()) == errc::none
                     && judge_hello(b_id, a_hello.data(), a_hello.size()) == errc::none;
  FUZZ_CHECK(a.hs.done() == should_pass);
  FUZZ_CHECK(b.hs.done() == should_pass);
  if (should_pass) {
    FUZZ_CHECK(a.hs.peer().node_id == b_id.node_id && b.hs.peer().node_id == a_id.node_id);
    FUZZ_CHECK(a.hs.peer().role == b_id.role && b.hs.peer().role == a_id.role);
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dfs::fuzz::quiet_log();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  uint8_t flags = data[0];
  byte_source in{data + 1, size - 1};
  switch (flags & 3) {
    case 1: built_hello(flags, in); break;
    case 2: two_sides(in); break;
    default: stranger_stream(flags, in.rest()); break;
  }
  return 0;
}
