#pragma once
// What replication does about one item (a chunk, or a key's manifest), decided from what every
// readable member holds. Pure functions, so the rules can be tested without a cluster:
//  - the item belongs on its targets: the first min(R, placement members) in rendezvous order;
//  - of the members holding a good copy, the first in rendezvous order is responsible for
//    copying it to targets that lack it (so repair work spreads over the survivors);
//  - a holder that is not a target drops its copy only once every target holds the item.
// plan_pass applies them to every item this node holds, from the pass's member views and
// inventories, and adds garbage collection and the rule for a suspect member (the top of
// repair_planner.cpp says why it is safe).
#include "actors/interfaces.hpp"
#include "common/crypto.hpp"
#include "common/manifest.hpp"

#include <chrono>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace dfs {

struct placement_view {
  std::string self_id;
  std::vector<std::string> targets_pool; // where data belongs: members up and active, and suspect ones
  std::set<std::string> suspect;         // members of the pool that are never copied to
  size_t replicas = 3;
};

struct item_plan {
  std::vector<std::string> copy_to; // targets this node must copy the item to
  bool drop_local = false;          // this node may delete its surplus copy
};

/// The targets of an item: the first min(R, pool) of the pool in rendezvous order.
std::vector<std::string> item_targets(const sha256_digest& item, const placement_view& view);

/// holders: the readable members holding a good (for manifests: the newest) copy.
/// self_holds: this node holds some copy (for manifests: maybe an older version).
/// A suspect target is never copied to; it is never a holder (not readable), so an item it is
/// a target of is never dropped either.
item_plan plan_item(const sha256_digest& item, const std::set<std::string>& holders,
                    bool self_holds, const placement_view& view);

/// Chunks referenced by the newest, non-deleted manifest of any key.
std::set<chunk_id> referenced_chunks(const std::map<std::string, manifest>& newest_by_key);

/// The placement of a pass: the targets pool is the members that are placement targets, and
/// the suspect ones too, which are also listed as `suspect`.
placement_view pass_placement(const std::vector<member_view>& members, const std::string& self_id,
                              size_t replicas);

/// What the readable members hold, gathered at the start of a pass.
struct holdings {
  std::map<chunk_id, std::set<std::string>> chunk_holders;          // chunk -> members
  std::map<std::string, std::map<std::string, manifest>> manifests; // key -> member -> manifest
  std::set<chunk_id> my_chunks;
};

/// What a pass decides from, besides the holdings.
struct pass_input {
  std::string self_id;
  size_t replicas = 3;
  std::vector<member_view> members;
  bool may_collect = false; // collection_waits (actors/collection_gate.hpp) found no reason to wait
  uint64_t now_ms = 0;      // this node's HLC now: the age of a tombstone
  std::chrono::steady_clock::time_point now; // the unreferenced clocks of chunks
  std::chrono::steady_clock::duration gc_grace{};
  // [cluster] max_clock_skew: a tombstone waits gc_grace plus this (see tombstone_collectible).
  std::chrono::milliseconds max_clock_skew{};
};

/// The work on one key's manifest: push `newest` to `copy_to`; remove this node's copy
/// (version `held`), a surplus copy or, when `collect`, a collectible tombstone.
struct manifest_work {
  manifest newest;
  std::vector<std::string> copy_to;
  bool remove = false;
  bool collect = false;
  version held;
};

/// The work on one chunk of this node: copy it to `copy_to`; remove it, a surplus copy or,
/// when `garbage`, one no manifest references (the store re-checks those).
struct chunk_work {
  chunk_id id;
  std::vector<std::string> copy_to;
  bool remove = false;
  bool garbage = false;
};

struct pass_plan {
  std::vector<manifest_work> manifests; // only keys with work, in key order
  std::vector<chunk_work> chunks;       // only chunks with work, in id order
  bool handed_over = false;             // this node is leaving and holds nothing any more
  size_t copies() const;
  size_t removals() const;
};

/// When passes have seen each chunk of this node unreferenced since (steady clock).
using unreferenced_clocks = std::map<chunk_id, std::chrono::steady_clock::time_point>;

/// The work of one pass on the items this node holds. `unreferenced_since` is carried from
/// pass to pass: started, kept or cleared for each chunk, and pruned to this node's chunks.
pass_plan plan_pass(const pass_input& in, const holdings& h, unreferenced_clocks& unreferenced_since);

/// A tombstone may go once no member holds an older version of its key (every holder has
/// exactly this tombstone) and it is older than the grace period. plan_pass passes gc_grace
/// plus max_clock_skew: a writer whose clock is up to max_clock_skew behind this node's (a
/// further behind one writes nothing, see actors/peer_clocks.hpp) then writes above the
/// tombstone even once it is gone, so an older version can never pass under a collected rm.
bool tombstone_collectible(const manifest& tombstone, const std::vector<version>& held_versions,
                           uint64_t now_ms, uint64_t grace_ms);

} // namespace dfs
