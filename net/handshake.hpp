#pragma once
// The handshake, as a pure state machine that both the node's peer-connection broker and the
// CLI's blocking client drive. Both sides send hello at once; on the other's hello each checks
// version and cluster name and sends its proof:
//
//   proof = HMAC-SHA256(secret, "dfs-proof-v1" | side | initiator nonce | responder nonce
//                               | initiator id | responder id)
//
// where side is "initiator" or "responder", so a proof cannot be reflected back at its sender.
// A proof is compared in constant time. Nothing above the handshake sees a peer before done().
//
// A client with a user credential names its access key in its hello and both sides make the
// proofs with that user's secret key: the client holds it, the node derives it from the node
// secret (common/credential.hpp). A hello that names an access key and asks for the peer role
// is refused: a user credential never makes a node. Whether the user still exists, and what
// it may do, is decided above the handshake (the user registry).
#include "common/error.hpp"
#include "net/frame.hpp"
#include "net/messages.hpp"

#include <optional>
#include <string>
#include <vector>

namespace dfs {

struct local_identity {
  std::string cluster;
  std::string node_id;
  std::string node_name;
  peer_role role = peer_role::peer;
  std::string listen_address;
  std::string secret;     // the node secret, or a user's secret key (with access_key)
  std::string access_key; // a user credential's access key; empty with the node secret
};

class handshake {
public:
  enum class state { waiting_hello, waiting_proof, done, failed };

  struct outgoing_frame {
    frame_type type;
    byte_buffer payload;
  };

  handshake(local_identity self, bool initiator);

  /// The hello frame to send first.
  outgoing_frame start();

  /// Feeds one frame received before done(). Frames to send go into out. On failure, state()
  /// is failed, error_code()/error_reason() say why, and out holds the error frame to send
  /// (unless the peer itself sent one).
  void on_frame(frame_type type, const byte_buffer& payload, std::vector<outgoing_frame>& out);

  state current() const { return state_; }
  bool done() const { return state_ == state::done; }
  bool failed() const { return state_ == state::failed; }
  errc error_code() const { return error_code_; }
  const std::string& error_reason() const { return error_reason_; }
  /// The peer's hello; valid once its hello arrived.
  const hello_msg& peer() const { return peer_; }
  /// The access key the peer authenticated with (a user); empty for the node secret.
  const std::string& peer_access_key() const { return peer_.access_key; }

private:
  sha256_digest proof_for(bool from_initiator) const;
  void fail(errc code, std::string reason, std::vector<outgoing_frame>& out, bool tell_peer);
  void on_hello(const byte_buffer& payload, std::vector<outgoing_frame>& out);
  void on_proof(const byte_buffer& payload, std::vector<outgoing_frame>& out);

  local_identity self_;
  bool initiator_;
  hello_msg hello_;
  hello_msg peer_;
  state state_ = state::waiting_hello;
  errc error_code_ = errc::none;
  std::string error_reason_;
  std::string proof_key_; // the key both proofs are made with, chosen on the peer's hello
};

/// True when the string is 32 lowercase hex digits (a node id).
bool is_valid_node_id(const std::string& id);

} // namespace dfs
