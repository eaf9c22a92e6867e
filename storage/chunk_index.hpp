#pragma once
// The chunk store's memory of what it holds: a set of chunk ids, rebuilt from the directory tree
// when the store opens. Kept compact because a big node holds millions of chunks: a sorted
// vector (32 bytes an id) plus two small sets of recent inserts and removals, folded into the
// vector once they grow past an eighth of it, so an insert or removal costs O(log n) amortised
// and a million ids take about 32 MiB rather than the 80 of a node-based set.
#include "common/manifest.hpp"

#include <set>
#include <vector>

namespace dfs {

class chunk_index {
public:
  /// Replaces the contents (any order, duplicates allowed).
  void assign(std::vector<chunk_id> ids);

  bool contains(const chunk_id& id) const;
  /// True when the id was not held before.
  bool insert(const chunk_id& id);
  /// True when the id was held.
  bool erase(const chunk_id& id);

  size_t size() const { return base_.size() + added_.size() - removed_.size(); }
  bool empty() const { return size() == 0; }

  /// Every id, sorted.
  std::vector<chunk_id> sorted() const;

private:
  bool in_base(const chunk_id& id) const;
  void maybe_compact();

  std::vector<chunk_id> base_; // sorted, unique
  std::set<chunk_id> added_;   // held, not in base_
  std::set<chunk_id> removed_; // in base_, no longer held
};

} // namespace dfs
