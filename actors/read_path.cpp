#include "actors/read_path.hpp"

#include <algorithm>

namespace dfs {

std::vector<member_view> readable_members(const std::vector<member_view>& members) {
  std::vector<member_view> out;
  for (auto& m : members)
    if (m.readable())
      out.push_back(m);
  return out;
}

std::vector<member_view> placement_targets(const std::vector<member_view>& members) {
  std::vector<member_view> out;
  for (auto& m : members)
    if (m.placement_target())
      out.push_back(m);
  return out;
}

std::vector<member_view> replicas_for(const sha256_digest& item, const std::vector<member_view>& pool,
                                      size_t replicas) {
  return first_in_rendezvous_order(item, pool, replicas, [](auto& m) { return m.node_id; });
}

std::set<std::string> chunk_target_ids(const node_context& ctx, const std::vector<member_view>& live,
                                       const chunk_id& id) {
  std::set<std::string> out;
  for (auto& m : replicas_for(id.bytes, placement_targets(live), ctx.config.replicas))
    out.insert(m.node_id);
  return out;
}

std::vector<member_view> read_order(const node_context& ctx, const std::vector<member_view>& live,
                                    const chunk_id& id) {
  // Every live member in rendezvous order, this node first: a local read costs no transfer.
  auto order = replicas_for(id.bytes, live, live.size());
  auto self = std::find_if(order.begin(), order.end(),
                           [&](const member_view& m) { return m.node_id == ctx.node_id; });
  if (self != order.end())
    std::rotate(order.begin(), self, self + 1);
  return order;
}

} // namespace dfs
