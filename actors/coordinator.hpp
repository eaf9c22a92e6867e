#pragma once
// The client operations that are one request and one answer: ls, stat, rm, status. Each asks
// the live members and merges what they say; newest manifest wins, tombstones hide keys.
#include "actors/node_context.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace dfs {

struct coordinator_state {
  static inline const char* name = "coordinator";
  node_context_ptr ctx;
};

coordinator_actor::behavior_type
coordinator(coordinator_actor::stateful_pointer<coordinator_state> self, node_context_ptr ctx);

} // namespace dfs
