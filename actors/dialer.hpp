#pragma once
// Opens one outbound connection. Resolving a name and connecting block, so each dial runs on a
// thread of its own (spawn it detached, one per attempt): a silent or slow address holds up
// neither the scheduler nor the dials to other addresses. The connect itself gives up after
// [node] handshake_timeout. The connection gets a peer_connection broker.
#include "actors/node_context.hpp"

#include <caf/event_based_actor.hpp>

namespace dfs {

/// Answers one (dial_atom, "host:port") with the new connection's broker, or an error, and ends.
caf::behavior dialer(caf::event_based_actor* self, node_context_ptr ctx);

} // namespace dfs
