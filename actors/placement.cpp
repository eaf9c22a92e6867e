#include "actors/placement.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace dfs {

uint64_t rendezvous_score(const sha256_digest& item, const std::string& node_id) {
  std::string input(reinterpret_cast<const char*>(item.data()), item.size());
  input += node_id;
  auto digest = sha256(input.data(), input.size());
  uint64_t score = 0;
  for (int i = 0; i < 8; ++i)
    score = score << 8 | digest[i];
  return score;
}

std::vector<size_t> rank_nodes(const sha256_digest& item, const std::vector<std::string>& node_ids) {
  std::vector<std::pair<uint64_t, size_t>> scored;
  scored.reserve(node_ids.size());
  for (size_t i = 0; i < node_ids.size(); ++i)
    scored.emplace_back(rendezvous_score(item, node_ids[i]), i);
  // Ties (astronomically unlikely) are broken by node id so that every node agrees.
  std::sort(scored.begin(), scored.end(), [&](auto& a, auto& b) {
    return a.first != b.first ? a.first > b.first : node_ids[a.second] < node_ids[b.second];
  });
  std::vector<size_t> order;
  order.reserve(scored.size());
  for (auto& s : scored)
    order.push_back(s.second);
  return order;
}

} // namespace dfs
