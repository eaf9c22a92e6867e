#pragma once
// The peer table: who the members are, which are connected, and how to reach the others.
// Dials every known address that has no live connection, with exponential back-off, and
// spreads the addresses it knows so that every node learns every other one.
#include "actors/node_context.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <map>
#include <set>

namespace dfs {

struct membership_state {
  static inline const char* name = "membership";

  struct member {
    peer_info info;
    caf::actor connection; // invalid while down
    bool outbound = false;
  };

  struct dial_target {
    std::chrono::steady_clock::time_point next_attempt;
    std::chrono::milliseconds backoff{200};
    bool dialing = false;
  };

  node_context_ptr ctx;
  caf::actor dialer;
  std::map<std::string, member> members;          // by node id, this node excluded
  std::map<std::string, dial_target> addresses;   // every address we know of
  std::set<caf::actor> dialed;                    // connections we opened, until they end
  unsigned ticks = 0;
};

/// Starts dialing at its first tick_atom, which the node sends once every actor is in place.
membership_actor::behavior_type
membership(membership_actor::stateful_pointer<membership_state> self, node_context_ptr ctx);

} // namespace dfs
