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

/// The first min(count, pool size) of `pool` in rendezvous order for `item`: with count = R, the
/// members the item belongs on (puts and repair place it by this one rule); with
/// count = pool size, the whole pool in the order to fall back on. `node_id_of(element)` is the
/// node id the element is ranked by.
template <class Node, class NodeIdOf>
std::vector<Node> first_in_rendezvous_order(const sha256_digest& item, const std::vector<Node>& pool,
                                            size_t count, NodeIdOf node_id_of) {
  std::vector<std::string> ids;
  ids.reserve(pool.size());
  for (auto& node : pool)
    ids.push_back(node_id_of(node));
  auto order = rank_nodes(item, ids);
  std::vector<Node> out;
  for (size_t i = 0; i < order.size() && i < count; ++i)
    out.push_back(pool[order[i]]);
  return out;
}

} // namespace dfs
