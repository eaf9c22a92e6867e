#pragma once
// The listening socket: accepts connections and hands each to a peer_connection broker of its
// own. It keeps track of them so that a shutdown closes every one, and enforces the limits on
// inbound connections with the brokers (inbound_connections in actors/peer_connection.hpp):
// at most [node] max_pending_handshakes connections still in the handshake (a new one closes
// the oldest), at most [node] max_connections authenticated clients.
#include "actors/node_context.hpp"
#include "actors/peer_connection.hpp"

#include <caf/io/broker.hpp>
#include <caf/io/doorman.hpp>

#include <set>

namespace dfs {

struct listener_state {
  static inline const char* name = "listener";
  std::set<caf::actor> connections;
  inbound_connections_ptr inbound;
};

using listener_broker = caf::io::stateful_broker<listener_state>;

/// The doorman is opened beforehand (so that a busy port is reported before the node starts).
caf::behavior listener(listener_broker* self, caf::io::doorman_ptr doorman, node_context_ptr ctx);

} // namespace dfs
