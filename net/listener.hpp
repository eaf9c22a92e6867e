#pragma once
// The listening socket: accepts connections and hands each to a peer_connection broker of its
// own. It keeps track of them so that a shutdown closes every one.
#include "actors/node_context.hpp"

#include <caf/io/broker.hpp>
#include <caf/io/doorman.hpp>

#include <set>

namespace dfs {

struct listener_state {
  static inline const char* name = "listener";
  std::set<caf::actor> connections;
};

using listener_broker = caf::io::stateful_broker<listener_state>;

/// The doorman is opened beforehand (so that a busy port is reported before the node starts).
caf::behavior listener(listener_broker* self, caf::io::doorman_ptr doorman, node_context_ptr ctx);

} // namespace dfs
