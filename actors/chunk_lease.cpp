#include "actors/chunk_lease.hpp"

#include <algorithm>

namespace dfs {

void chunk_lease::held_by(const member_view& member, const chunk_id& id) {
  auto& held = by_replica_[member.node_id];
  if (held.ids.empty())
    held.member = member;
  held.ids.push_back(id);
}

std::vector<chunk_lease::touch_request>
chunk_lease::touch_requests(const std::set<std::string>& skip) {
  std::vector<touch_request> out;
  for (auto& [node_id, held] : by_replica_) {
    if (skip.count(node_id))
      continue;
    // A file that repeats itself (zeros, say) writes one chunk many times: touch it once.
    std::sort(held.ids.begin(), held.ids.end());
    held.ids.erase(std::unique(held.ids.begin(), held.ids.end()), held.ids.end());
    for (size_t first = 0; first < held.ids.size(); first += max_ids_per_touch) {
      auto last = std::min(held.ids.size(), first + max_ids_per_touch);
      out.push_back({held.member, {held.ids.begin() + first, held.ids.begin() + last}});
    }
  }
  return out;
}

void chunk_lease::count(const touch_request& request, const std::vector<bool>& present) {
  for (size_t i = 0; i < request.ids.size() && i < present.size(); ++i)
    if (present[i])
      ++present_[request.ids[i]];
}

std::optional<std::pair<chunk_id, size_t>> chunk_lease::short_of(size_t needed) const {
  for (auto& [node_id, held] : by_replica_)
    for (auto& id : held.ids) {
      auto i = present_.find(id);
      auto copies = i == present_.end() ? size_t{0} : i->second;
      if (copies < needed)
        return std::make_pair(id, copies);
    }
  return std::nullopt;
}

} // namespace dfs
