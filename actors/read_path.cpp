#include "actors/read_path.hpp"

namespace dfs {

std::vector<member_view> live_members(std::vector<member_view> members) {
  std::vector<member_view> live;
  for (auto& m : members)
    if (m.up)
      live.push_back(std::move(m));
  return live;
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
