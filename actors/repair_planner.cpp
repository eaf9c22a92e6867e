#include "actors/repair_planner.hpp"

#include "actors/placement.hpp"

#include <algorithm>

namespace dfs {

std::vector<std::string> item_targets(const sha256_digest& item, const placement_view& view) {
  std::vector<std::string> targets;
  auto order = rank_nodes(item, view.targets_pool);
  for (size_t i = 0; i < order.size() && i < view.replicas; ++i)
    targets.push_back(view.targets_pool[order[i]]);
  return targets;
}

item_plan plan_item(const sha256_digest& item, const std::set<std::string>& holders,
                    bool self_holds, const placement_view& view) {
  item_plan plan;
  auto targets = item_targets(item, view);
  if (!holders.empty()) {
    std::vector<std::string> holder_list(holders.begin(), holders.end());
    auto responsible = holder_list[rank_nodes(item, holder_list).front()];
    if (responsible == view.self_id)
      for (auto& t : targets)
        if (!holders.count(t))
          plan.copy_to.push_back(t);
  }
  bool self_is_target = std::find(targets.begin(), targets.end(), view.self_id) != targets.end();
  bool every_target_holds = !targets.empty()
                            && std::all_of(targets.begin(), targets.end(),
                                           [&](auto& t) { return holders.count(t) > 0; });
  plan.drop_local = self_holds && !self_is_target && every_target_holds;
  return plan;
}

std::set<chunk_id> referenced_chunks(const std::map<std::string, manifest>& newest_by_key) {
  std::set<chunk_id> out;
  for (auto& [key, m] : newest_by_key)
    if (!m.deleted)
      for (auto& c : m.chunks)
        out.insert(c.id);
  return out;
}

bool tombstone_collectible(const manifest& tombstone, const std::vector<version>& held_versions,
                           uint64_t now_ms, uint64_t grace_ms) {
  if (!tombstone.deleted)
    return false;
  for (auto& v : held_versions)
    if (!(v == tombstone.version))
      return false;
  return now_ms >= tombstone.version.hlc && now_ms - tombstone.version.hlc >= grace_ms;
}

} // namespace dfs
