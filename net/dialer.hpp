#pragma once
// Opens outbound connections. Connecting blocks, so it runs on a thread of its own (detached)
// rather than on the scheduler or the I/O thread. Each connection gets a peer_connection broker.
#include "actors/node_context.hpp"

#include <caf/event_based_actor.hpp>

namespace dfs {

/// Answers (dial_atom, "host:port") with the new connection's broker, or an error.
caf::behavior dialer(caf::event_based_actor* self, node_context_ptr ctx);

} // namespace dfs
