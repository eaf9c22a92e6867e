#pragma once
// Rendezvous (highest-random-weight) hashing: the nodes that hold an item are the R with the
// highest score(item, node). Adding a node moves only the items for which it now scores in the
// top R, about 1/(N+1) of them, which is the least possible; there is no master to fail.
#include "common/crypto.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace dfs {

/// The weight of a node for an item: the first 8 bytes of SHA-256(item id | node id).
uint64_t rendezvous_score(const sha256_digest& item, const std::string& node_id);

/// Indices into node_ids, best first: the first R hold the item, the rest are fallbacks in order.
std::vector<size_t> rank_nodes(const sha256_digest& item, const std::vector<std::string>& node_ids);

} // namespace dfs
