#pragma once
// One broker per TCP connection, inbound or outbound, for peers and clients alike. It owns the
// frame decoder and the handshake; once the peer is authenticated it turns frames into actor
// messages and back:
//  - a peer's storage requests go to the local store actor, and their answers back as frames;
//  - local actors send this broker store_actor messages meant for the remote node; it sends
//    them as frames and answers with the remote node's response (a replica proxy);
//  - a client's put and get run in session actors spawned here; rm/ls/stat/status go to the
//    coordinator.
#include "actors/node_context.hpp"
#include "net/frame_decoder.hpp"
#include "net/tls_endpoint.hpp"

#include <caf/io/broker.hpp>
#include <caf/response_promise.hpp>

#include <caf/actor_clock.hpp>

#include <chrono>
#include <cstddef>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace dfs {

// -- limits on inbound connections ----------------------------------------------------------

/// The listener to a connection it accepted: you are the oldest one still in the handshake and
/// [node] max_pending_handshakes is reached; close unless authenticated meanwhile.
using evict_atom = caf::atom_constant<caf::atom("evict")>;
/// A connection to itself: time to look at how long nothing was received.
using idle_check_atom = caf::atom_constant<caf::atom("idlecheck")>;
/// The end of a closed peer connection's lingering (see close_connection).
using linger_end_atom = caf::atom_constant<caf::atom("lingerend")>;

/// The inbound connections of one listener, shared by the listener and the connection brokers
/// it forked (all of them run on the middleman's I/O thread; the mutex makes that not matter).
/// It keeps the connections still in the handshake in the order they were accepted, so that
/// the oldest can make room for a new one, and counts the authenticated ones.
class inbound_connections {
public:
  inbound_connections(size_t max_connections, size_t max_pending)
    : max_connections_(max_connections), max_pending_(max_pending) {}

  /// A connection was accepted. Returns the one to evict (the oldest still in the handshake)
  /// when max_pending would be exceeded.
  std::optional<caf::actor_addr> accepted(const caf::actor_addr& who);

  /// The connection finished its handshake. True when it may stay: always for a peer (their
  /// number is bounded by the cluster's size, and refusing one could split the cluster), for a
  /// client only while fewer than max_connections authenticated connections exist.
  bool authenticated(const caf::actor_addr& who, bool is_client);

  /// The connection ended (idempotent).
  void closed(const caf::actor_addr& who);

  size_t pending() const;
  size_t established() const;
  size_t max_connections() const { return max_connections_; }
  size_t max_pending() const { return max_pending_; }

private:
  const size_t max_connections_;
  const size_t max_pending_;
  mutable std::mutex mtx_;
  std::list<caf::actor_addr> pending_; // oldest first
  std::unordered_map<caf::actor_addr, std::list<caf::actor_addr>::iterator> pending_index_;
  std::unordered_map<caf::actor_addr, bool> established_; // counted ones
};

using inbound_connections_ptr = std::shared_ptr<inbound_connections>;

struct peer_connection_state {
  static inline const char* name = "peer_connection";

  node_context_ptr ctx;
  caf::io::connection_handle hdl;
  bool outbound = false;
  std::string who = "peer_connection"; // for log lines: names the peer once known
  std::string address;                 // the remote end, "ip:port", for log lines

  // Limits ([node] handshake_timeout, idle_timeout, max_buffered_bytes, max_connections).
  inbound_connections_ptr inbound;     // set when the listener accepted this connection
  bool closing = false;                // close_connection ran (or runs): it happens once
  bool output_closed = false;          // nothing more goes to the socket
  bool tls_deferred = false;           // inbound with TLS: the endpoint waits for the first bytes
  caf::actor_clock::time_point last_frame; // when the last whole frame arrived
  caf::actor_clock::time_point last_bytes; // when the last bytes arrived (a big frame is slow)

  std::unique_ptr<handshake> hs;
  bool authenticated = false;
  hello_msg peer;
  // A client with a user credential: its record as last looked up (refreshed on every request,
  // so that a removed user is refused and changed limits apply). Empty: the node secret.
  std::optional<user_record> user;

  // TLS under the frames (when [cluster] tls = required), then the frame decoder.
  std::unique_ptr<tls_endpoint> tls;
  bool first_bytes = true;
  frame_decoder decoder{max_handshake_payload};
  frame_header header; // of the frame being handled

  // Requests this broker sent to the remote node on behalf of local actors.
  struct pending_request {
    caf::response_promise promise;
    frame_type expected;
    std::chrono::steady_clock::time_point sent = std::chrono::steady_clock::now();
  };
  uint64_t last_request_id = 0;
  std::unordered_map<uint64_t, pending_request> pending;

  // A client's streaming operations, by the client's request id.
  std::unordered_map<uint64_t, caf::actor> sessions;
};

using peer_connection_broker = caf::io::stateful_broker<peer_connection_state>;

/// outbound: dialed by this node. inbound: the listener's table, for connections it accepted
/// (null for outbound ones, which the limits on inbound connections do not count).
caf::behavior peer_connection(peer_connection_broker* self, caf::io::connection_handle hdl,
                              node_context_ptr ctx, bool outbound,
                              inbound_connections_ptr inbound);

/// The bytes a connection holds: an unfinished frame in the decoder, what waits in the TLS
/// endpoint, and the write buffer queued behind the piece the socket is sending.
size_t buffered_bytes(peer_connection_broker* self);

} // namespace dfs
