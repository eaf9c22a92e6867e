#include "actors/read_path.hpp"


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
  std::vector<std::string> ids;
  for (auto& m : live)
    ids.push_back(m.node_id);
  std::vector<member_view> order;
  for (auto i : rank_nodes(id.bytes, ids)) {
    if (live[i].node_id == ctx.node_id)
      order.insert(order.begin(), live[i]);
    else
      order.push_back(live[i]);
  }
  return order;
}

} // namespace dfs
