#include "actors/peer_clocks.hpp"

#include <algorithm>
#include <limits>

namespace dfs {

std::optional<uint64_t> behind_the_cluster(const std::vector<int64_t>& peers_ahead_ms,
                                           uint64_t max_skew_ms) {
  if (peers_ahead_ms.empty())
    return std::nullopt;
  size_t nodes_up = peers_ahead_ms.size() + 1;
  size_t far_ahead = 0;
  uint64_t smallest_lead = std::numeric_limits<uint64_t>::max();
  for (auto ahead : peers_ahead_ms)
    if (ahead > 0 && static_cast<uint64_t>(ahead) > max_skew_ms) {
      ++far_ahead;
      smallest_lead = std::min(smallest_lead, static_cast<uint64_t>(ahead));
    }
  return 2 * far_ahead > nodes_up ? smallest_lead : 0;
}

} // namespace dfs
