#pragma once
// One broker per TCP connection, inbound or outbound, for peers and clients alike. It owns the
// frame decoder and the handshake; once the peer is authenticated it turns frames into actor
// messages and back:
//  - a peer's storage requests go to the local store actor, and their answers back as frames;
//  - local actors send this broker store_actor messages meant for the remote node; it sends
//    them as frames and answers with the remote node's response (a replica proxy);
//  - a client's put and get run in session actors spawned here; rm/ls/stat/status go to the
//    coordinator.
#include "actors/interfaces.hpp"
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
#include <string>
#include <unordered_map>

namespace dfs {

// -- limits on inbound connections ----------------------------------------------------------

/// The inbound connections of one listener, shared by the listener and the connection brokers
/// it forked (all of them run on the middleman's I/O thread; the mutex makes that not matter).
/// It keeps the connections still in the handshake in the order they were accepted, with the
/// address each came from, so that one can make room for a new one, and counts the
/// authenticated ones.
class inbound_connections {
public:
  inbound_connections(size_t max_connections, size_t max_pending, size_t max_pending_per_source)
    : max_connections_(max_connections),
      max_pending_(max_pending),
      max_pending_per_source_(max_pending_per_source) {}

  /// A connection from `source` (its address without the port) was accepted. Returns the one
  /// to evict, if any: the oldest from the same source when that source has more than
  /// max_pending_per_source in the handshake; else, when more than max_pending are, the oldest
  /// from the source with the most of them. One address flooding handshakes then only pushes
  /// out its own connections, never another address's.
  struct eviction {
    caf::actor_addr who;
    bool per_source; // at max_pending_per_source, rather than max_pending
  };
  std::optional<eviction> accepted(const caf::actor_addr& who, const std::string& source);

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
  size_t max_pending_per_source() const { return max_pending_per_source_; }

private:
  struct pending_connection {
    caf::actor_addr who;
    std::string source;
  };
  using pending_list = std::list<pending_connection>;

  /// Forgets a pending connection (the lock is held).
  void forget_pending(pending_list::iterator i);
  /// The oldest pending connection from `source` (the lock is held; there is one).
  pending_list::iterator oldest_from(const std::string& source);

  const size_t max_connections_;
  const size_t max_pending_;
  const size_t max_pending_per_source_;
  mutable std::mutex mtx_;
  pending_list pending_; // oldest first
  std::unordered_map<caf::actor_addr, pending_list::iterator> pending_index_;
  std::unordered_map<std::string, size_t> pending_per_source_;
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

  // A client's streaming operations, by the client's request id; at most [node]
  // max_sessions_per_connection of them.
  struct client_session {
    caf::actor actor;
    bool is_put = false;
    // A put's data frames the client may still send: the credit its session granted in
    // put_ready and put_credit, seen as they passed through here. One frame, the whole of a
    // small file (max_early_put_size), may come before put_ready.
    uint64_t put_credit = 0;
    bool early_frame_allowed = true;
  };
  std::unordered_map<uint64_t, client_session> sessions;
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
