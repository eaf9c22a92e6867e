#include "storage/chunk_index.hpp"

#include <algorithm>

namespace dfs {

void chunk_index::assign(std::vector<chunk_id> ids) {
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  base_ = std::move(ids);
  added_.clear();
  removed_.clear();
}

bool chunk_index::in_base(const chunk_id& id) const {
  return std::binary_search(base_.begin(), base_.end(), id);
}

bool chunk_index::contains(const chunk_id& id) const {
  if (added_.count(id))
    return true;
  return in_base(id) && !removed_.count(id);
}

bool chunk_index::insert(const chunk_id& id) {
  if (in_base(id)) {
    if (removed_.erase(id) == 0)
      return false;
  } else if (!added_.insert(id).second) {
    return false;
  }
  maybe_compact();
  return true;
}

bool chunk_index::erase(const chunk_id& id) {
  if (added_.erase(id) > 0)
    return true;
  if (!in_base(id) || !removed_.insert(id).second)
    return false;
  maybe_compact();
  return true;
}

std::vector<chunk_id> chunk_index::sorted() const {
  std::vector<chunk_id> out;
  out.reserve(size());
  // base_ minus removed_ (a subset of it), merged with added_ (disjoint from it); all sorted.
  auto b = base_.begin();
  auto r = removed_.begin();
  auto a = added_.begin();
  while (b != base_.end() || a != added_.end()) {
    if (b != base_.end() && r != removed_.end() && *r == *b) {
      ++b, ++r;
      continue;
    }
    if (a == added_.end() || (b != base_.end() && *b < *a))
      out.push_back(*b++);
    else
      out.push_back(*a++);
  }
  return out;
}

void chunk_index::maybe_compact() {
  auto pending = added_.size() + removed_.size();
  if (pending < std::max<size_t>(1024, base_.size() / 8))
    return;
  base_ = sorted();
  base_.shrink_to_fit();
  added_.clear();
  removed_.clear();
}

} // namespace dfs
