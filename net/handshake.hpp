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
  std::string secret;
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
};

/// True when the string is 32 lowercase hex digits (a node id).
bool is_valid_node_id(const std::string& id);

} // namespace dfs
