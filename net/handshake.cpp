#include "net/handshake.hpp"

#include "common/credential.hpp"
#include "common/crypto.hpp"

namespace dfs {

bool is_valid_node_id(const std::string& id) {
  if (id.size() != 32)
    return false;
  for (char c : id)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

handshake::handshake(local_identity self, bool initiator)
  : self_(std::move(self)), initiator_(initiator) {
  hello_.version = protocol_version;
  hello_.cluster = self_.cluster;
  hello_.node_id = self_.node_id;
  hello_.node_name = self_.node_name;
  hello_.role = self_.role;
  hello_.listen_address = self_.listen_address;
  hello_.access_key = self_.access_key;
  random_bytes(hello_.nonce.data(), hello_.nonce.size());
}

handshake::outgoing_frame handshake::start() {
  return {frame_type::hello, to_payload(hello_)};
}

sha256_digest handshake::proof_for(bool from_initiator) const {
  auto& init = initiator_ ? hello_ : peer_;
  auto& resp = initiator_ ? peer_ : hello_;
  byte_buffer input;
  writer w{input};
  w.str("dfs-proof-v1");
  w.str(from_initiator ? "initiator" : "responder");
  w.fixed(init.nonce);
  w.fixed(resp.nonce);
  w.str(init.node_id);
  w.str(resp.node_id);
  return hmac_sha256(proof_key_, input.data(), input.size());
}

void handshake::fail(errc code, std::string reason, std::vector<outgoing_frame>& out,
                     bool tell_peer) {
  state_ = state::failed;
  error_code_ = code;
  error_reason_ = std::move(reason);
  if (tell_peer)
    out.push_back({frame_type::error,
                   to_payload(error_msg{static_cast<uint8_t>(code), error_reason_})});
}

void handshake::on_frame(frame_type type, const byte_buffer& payload,
                         std::vector<outgoing_frame>& out) {
  if (state_ == state::done || state_ == state::failed)
    return;
  if (type == frame_type::error) {
    auto err = from_payload<error_msg>(payload);
    if (!err)
      return fail(errc::protocol, "the peer sent a malformed error frame", out, false);
    auto code = static_cast<errc>(err->code);
    return fail(code == errc::none ? errc::protocol : code, err->message, out, false);
  }
  if (state_ == state::waiting_hello && type == frame_type::hello)
    return on_hello(payload, out);
  if (state_ == state::waiting_proof && type == frame_type::proof)
    return on_proof(payload, out);
  fail(errc::protocol,
       std::string{"unexpected "} + to_string(type) + " frame during the handshake", out, true);
}

void handshake::on_hello(const byte_buffer& payload, std::vector<outgoing_frame>& out) {
  auto hello = from_payload<hello_msg>(payload);
  if (!hello)
    return fail(errc::protocol, "malformed hello", out, true);
  if (hello->version != protocol_version)
    return fail(errc::wrong_version,
                "unsupported protocol version " + std::to_string(hello->version) + " (this node speaks "
                  + std::to_string(protocol_version) + ")",
                out, true);
  // A user credential is a client's, whatever its hello says (checked before the cluster name,
  // which a client does not send).
  if (!hello->access_key.empty()) {
    if (!is_valid_access_key(hello->access_key))
      return fail(errc::protocol, "malformed access key in hello", out, true);
    if (hello->role != peer_role::client)
      return fail(errc::forbidden,
                  "permission denied: a user credential cannot act as a node (only the node "
                  "secret can)",
                  out, true);
    if (!self_.access_key.empty())
      return fail(errc::protocol, "both ends hold user credentials: one must be a node", out,
                  true);
  }
  // A client knows the cluster by its secret, not its name: it sends an empty name and checks
  // none, and that costs nothing, since the proof below needs the secret either way.
  bool client_without_name = (hello->role == peer_role::client && hello->cluster.empty())
                             || (self_.role == peer_role::client && self_.cluster.empty());
  if (!client_without_name && hello->cluster != self_.cluster)
    return fail(errc::wrong_cluster,
                "wrong cluster name: this node belongs to '" + self_.cluster + "', the peer to '"
                  + hello->cluster + "'",
                out, true);
  if (!is_valid_node_id(hello->node_id))
    return fail(errc::protocol, "malformed node id in hello", out, true);
  if (hello->node_id == self_.node_id)
    return fail(errc::protocol, "connected to itself", out, true);
  if (!hello->access_key.empty())
    proof_key_ = derive_user_secret_key(self_.secret, hello->access_key);
  else
    proof_key_ = self_.secret; // ours: the node secret, or (a user client) our secret key
  peer_ = std::move(*hello);
  state_ = state::waiting_proof;
  out.push_back({frame_type::proof, to_payload(proof_msg{proof_for(initiator_)})});
}

void handshake::on_proof(const byte_buffer& payload, std::vector<outgoing_frame>& out) {
  auto proof = from_payload<proof_msg>(payload);
  if (!proof)
    return fail(errc::protocol, "malformed proof", out, true);
  if (!constant_time_equal(proof->mac, proof_for(!initiator_)))
    return fail(errc::auth_failed,
                "authentication failed: the peer does not hold this cluster's secret", out, true);
  state_ = state::done;
}

} // namespace dfs
