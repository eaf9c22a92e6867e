#pragma once
// The membership actor: the roster (gossiped), the failure detector (one per member, fed by
// heartbeats on the member's own connection), dialing and decommissioning. It tells the
// replication actor whenever a member changes state, so that repair starts without an operator.
#include "actors/failure_detector.hpp"
#include "actors/node_context.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <map>
#include <set>

namespace dfs {

struct membership_state {
  static inline const char* name = "membership";

  struct member {
    roster_entry entry;
    caf::actor connection; // invalid while not connected
    bool outbound = false;
    failure_detector detector;
    member_state last_state = member_state::down;
  };

  struct dial_target {
    std::chrono::steady_clock::time_point next_attempt;
    std::chrono::milliseconds backoff{200};
    bool dialing = false;
    // The node this address led to last time. A bootstrap address may differ from the address
    // that node announces (a name, a relay, another interface): without this, it was redialled
    // for ever, and each new connection replaced the live one.
    caf::actor last_connection;
    std::string node_id;
  };

  node_context_ptr ctx;
  caf::actor dialer;
  roster_entry self_entry;
  std::map<std::string, member> members;          // by node id, this node excluded
  std::map<std::string, dial_target> addresses;   // every address we know of
  std::set<caf::actor> dialed;                    // connections we opened, until they end
  unsigned ticks = 0;
};

/// Starts dialing at its first tick_atom, which the node sends once every actor is in place.
membership_actor::behavior_type
membership(membership_actor::stateful_pointer<membership_state> self, node_context_ptr ctx);

} // namespace dfs
