#pragma once
// The replication actor keeps the cluster's promise of R copies without an operator. Each pass
// (every anti_entropy_interval, and soon after any membership change) it asks every readable
// member what it holds, compares that with placement, and for the items this node holds:
//  - copies an item to targets that lack it when this node is the item's responsible holder
//    (repair after a failure, hand-off after a join or during a decommission);
//  - drops a surplus copy once every target holds the item;
//  - collects garbage: chunks no live manifest references and tombstones no node can still
//    contradict, after gc_grace, and only while no member is suspect or down and no readable
//    member waits for a node not known here as left (actors/collection_gate.hpp). The store has
//    the last word on a chunk: it keeps one that a put touched within gc_grace before the pass
//    began (chunk_store::collect), since that put's manifest may not have landed yet.
// While a member is suspect a pass still repairs, around it, and removes nothing
// (actors/repair_planner.cpp says why).
// Copies are paced to [cluster] repair_rate bytes per second so clients keep being served.
#include "actors/node_context.hpp"
#include "actors/repair_planner.hpp"
#include "common/pacer.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>

namespace dfs {

/// What a queued copy or removal must know of the members when it runs.
struct members_now {
  std::set<std::string> placement_targets;
  std::set<std::string> readable;
  bool anyone_suspect = false;
};

/// The copy the queue waits for, and how to stop waiting (see awaiting).
struct copy_wait {
  std::string target;
  std::function<void()> finish;
};

struct replication_state {
  static inline const char* name = "replication";
  using clock = std::chrono::steady_clock;

  node_context_ptr ctx;
  bool pass_running = false;
  bool pass_wanted = false;        // a change arrived during a pass: run another right after
  uint64_t pass_id = 0;            // the pass under way; a pass given up is left behind
  std::set<std::string> inventories_awaited; // members the pass under way waits for
  std::deque<std::function<void(std::function<void()>)>> tasks; // copies and drops of a pass
  pacer copy_pacer; // [cluster] repair_rate
  /// What membership last said, checked before each copy and removal; reset by every
  /// membership change (see with_members_now).
  std::optional<members_now> now;
  std::optional<copy_wait> copy_in_flight;
  unreferenced_clocks unreferenced_since;
  clock::time_point last_wait_logged; // the "collection waits: ..." line, throttled
  std::string last_waits_logged;       // what it said
  uint64_t copies_done = 0;
  uint64_t bytes_copied = 0;
  uint64_t drops_done = 0;
};

replication_actor::behavior_type
replication(replication_actor::stateful_pointer<replication_state> self, node_context_ptr ctx);

} // namespace dfs
