#pragma once
// What replication does about one item (a chunk, or a key's manifest), decided from what every
// readable member holds. Pure functions, so the rules can be tested without a cluster:
//  - the item belongs on its targets: the first min(R, placement members) in rendezvous order;
//  - of the members holding a good copy, the first in rendezvous order is responsible for
//    copying it to targets that lack it (so repair work spreads over the survivors);
//  - a holder that is not a target drops its copy only once every target holds the item.
#include "storage/crypto.hpp"
#include "storage/manifest.hpp"

#include <map>
#include <set>
#include <string>
#include <vector>

namespace dfs {

struct placement_view {
  std::string self_id;
  std::vector<std::string> targets_pool; // members that are up and active: where data belongs
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
item_plan plan_item(const sha256_digest& item, const std::set<std::string>& holders,
                    bool self_holds, const placement_view& view);

/// Chunks referenced by the newest, non-deleted manifest of any key.
std::set<chunk_id> referenced_chunks(const std::map<std::string, manifest>& newest_by_key);

/// A tombstone may go once no member holds an older version of its key (every holder has
/// exactly this tombstone) and it is older than the grace period.
bool tombstone_collectible(const manifest& tombstone, const std::vector<version>& held_versions,
                           uint64_t now_ms, uint64_t grace_ms);

} // namespace dfs
