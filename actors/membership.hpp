#pragma once
// The membership actor: the roster (gossiped, and kept in data_dir/roster across restarts), the
// failure detector (one per member, fed by heartbeats on the member's own connection), dialing
// and decommissioning. It tells the replication actor whenever a member changes state, so that
// repair starts without an operator.
#include "actors/failure_detector.hpp"
#include "actors/node_context.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace dfs {

struct membership_state {
  static inline const char* name = "membership";
  using clock = std::chrono::steady_clock;

  struct member {
    roster_entry entry;
    caf::actor connection; // invalid while not connected
    bool outbound = false;
    failure_detector detector;
    member_state last_state = member_state::down;
    clock::time_point last_refusal_logged; // a decommissioned node's refusals, throttled
    // The ids this member last said it waits for (see actors/collection_gate.hpp): replaced by
    // each of its gossips, forgotten with its connection; nullopt until it has said so.
    std::optional<std::vector<std::string>> waits_for;
    // How far its wall clock is ahead of ours (ms, negative when behind), from its latest
    // heartbeat on the current connection (see actors/peer_clocks.hpp).
    std::optional<int64_t> clock_ahead_ms;
  };

  struct dial_target {
    clock::time_point next_attempt;
    std::chrono::milliseconds backoff{200};
    bool dialing = false;
    // Named by another node's gossip only: never dialed more often than hint_max_backoff, and
    // at most max_dial_hints of them are kept.
    bool hint = false;
    // The node this address led to last time. A bootstrap address may differ from the address
    // that node announces (a name, a relay, another interface): without this, it was redialled
    // for ever, and each new connection replaced the live one.
    caf::actor last_connection;
    std::string node_id;
  };

  node_context_ptr ctx;
  roster_entry self_entry;
  std::map<std::string, member> members;          // by node id, this node excluded
  std::map<std::string, dial_target> addresses;   // every address we may dial
  std::set<caf::actor> dialed;                    // connections we opened, until they end
  size_t dials_in_flight = 0;
  unsigned ticks = 0;
  // Refused gossip, logged at most once a minute (a peer that breaks a rule keeps breaking it).
  clock::time_point last_gossip_warning;
  uint64_t gossip_warnings_left_out = 0;
};

/// `saved`: the roster from data_dir/roster (load_roster), this node's own entry among them.
/// Every saved member other than this node starts as suspect: not heard from since the start.
/// Starts dialing at its first tick_atom, which the node sends once every actor is in place.
membership_actor::behavior_type
membership(membership_actor::stateful_pointer<membership_state> self, node_context_ptr ctx,
           std::vector<roster_entry> saved);

} // namespace dfs
