#pragma once
// A put session's lease on the chunks it has written (actors/put_session.hpp): which replica
// acknowledged which chunk, so that the session can touch them there (touch_chunks), which keeps
// collection off them until its manifest lands, and, just before the manifest, learn whether
// each chunk is still on enough replicas. Plain bookkeeping: the session sends the requests.
#include "actors/interfaces.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dfs {

class chunk_lease {
public:
  /// The most ids in one touch_chunks request (256 KiB of ids, far below the frame limit).
  static constexpr size_t max_ids_per_touch = 8192;

  struct touch_request {
    member_view member;
    std::vector<chunk_id> ids;
  };

  /// `member` acknowledged the chunk `id`: it holds it durably.
  void held_by(const member_view& member, const chunk_id& id);

  bool empty() const { return by_replica_.empty(); }

  /// Requests that touch every chunk on every replica that acknowledged it, each id once per
  /// replica and at most max_ids_per_touch ids a request; replicas named in `skip` (failed
  /// during the put) are left out.
  std::vector<touch_request> touch_requests(const std::set<std::string>& skip);

  /// A confirmation: forget earlier counts, then count each answer to a touch request.
  void start_count() { present_.clear(); }
  void count(const touch_request& request, const std::vector<bool>& present);

  /// A chunk that fewer than `needed` replicas said they hold in the counted answers (a replica
  /// that did not answer holds nothing), with how many did; none if every chunk has enough.
  std::optional<std::pair<chunk_id, size_t>> short_of(size_t needed) const;

private:
  std::map<std::string, touch_request> by_replica_; // node id -> the chunks it acknowledged
  std::map<chunk_id, size_t> present_;
};

} // namespace dfs
