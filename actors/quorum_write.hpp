#pragma once
// Writing one item (a chunk, a manifest, a tombstone) to its replicas until W of them hold it:
// the rule that a put's chunks and manifest and an rm's tombstone share.
//  - The item goes to the first R members of its ranking (the placement targets in rendezvous
//    order). A member that answers no_space (a full disk, or its [storage] capacity) is skipped
//    for the rest of the operation, and the next member of the ranking takes its place.
//  - A member that fails otherwise (connection lost, timeout) is skipped for the rest of the
//    operation too, and its other requests still in flight count as failed at once, so an
//    operation does not wait out a timeout per item on a peer that just died.
//  - A manifest's write learns of a newer version a replica holds (errc::superseded) or of a
//    replica that finds it too far ahead of its clock (errc::clock_skew): the operation then
//    decides, once every replica has answered.
// The writer does not send by itself: the actor that owns it says how (requests_from), so the
// rules run the same in a put session, the coordinator, and a test without actors.
#include "actors/interfaces.hpp"

#include <caf/error.hpp>
#include <caf/message.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dfs {

/// The message a write fails with when too few replicas hold an item.
std::string quorum_failure_message(size_t reached, size_t required);

/// What a write (a put's item, an rm's tombstone) that reached `reached` of `required`
/// replicas fails with. When full nodes, (name, what it said), kept it from its quorum:
/// errc::no_space, "no space on node n2: <what n2 said> (only 1 of 2 required replicas
/// reachable)"; otherwise errc::too_few_replicas with quorum_failure_message.
caf::error quorum_error(const std::vector<std::pair<std::string, std::string>>& full,
                        size_t reached, size_t required);

/// Sends `request` to `member`: on_ok once it answers ok_atom, on_error with its error.
using send_request_fn =
  std::function<void(const member_view& member, const caf::message& request,
                     std::function<void()> on_ok, std::function<void(caf::error&)> on_error)>;

/// How an actor sends a quorum write's requests: self->request(member.replica, timeout, ...).
template <class Self>
send_request_fn requests_from(Self* self, std::chrono::seconds timeout) {
  return [self, timeout](const member_view& member, const caf::message& request,
                         std::function<void()> on_ok, std::function<void(caf::error&)> on_error) {
    self->request(member.replica, timeout, request)
      .then([on_ok](caf::ok_atom) { on_ok(); }, [on_error](caf::error& err) { on_error(err); });
  };
}

/// One item to write, and what to do as its replicas answer.
struct quorum_item {
  std::vector<member_view> ranking; // every member that may take it, in rendezvous order
  size_t replicas = 0;              // how many of them to write it to: R, or fewer if fewer
  size_t needed = 0;                // the acknowledgements that make its quorum: W, or fewer
  caf::message request;
  // For the member that is this node, when not empty: sent instead of `request` (a chunk sealed
  // here goes to the local store by reference).
  caf::message local_request;
  std::function<void(const member_view&)> on_stored; // each replica that acknowledged it
  std::function<void()> on_quorum;                   // once, at the `needed`th acknowledgement
  // Once every replica has answered and at least `needed` acknowledged: with the number of
  // copies, and the request, which nobody else holds then unless the caller shares it.
  std::function<void(size_t copies, caf::message& request)> on_settled;
  // Once every replica has answered and fewer than `needed` acknowledged: why (quorum_error,
  // or the clock_skew refusal of a replica).
  std::function<void(const caf::error&)> on_failed;
  // Manifests only: a replica holds a newer version. Runs instead of on_settled or on_failed
  // once every replica has answered, with the newest version reported: the write is not the
  // newest version and must not be acknowledged.
  std::function<void(const version& newer)> on_superseded;
};

/// The replicas of one operation (a put, an rm): which members were full or failed, shared by
/// every item it writes, so that one is asked no more once it has answered so.
class quorum_writer {
public:
  /// `operation` names the operation in log lines ("put of 'k'"); `local_node_id` is this node.
  quorum_writer(std::string operation, std::string local_node_id, send_request_fn send);

  /// Writes `item` to the first item.replicas members of its ranking that are not known to be
  /// full or failed, and to the next ones in place of those that answer no_space.
  void write(quorum_item item) const;

  /// The members that failed (not for want of room) during the operation.
  const std::set<std::string>& failed_nodes() const;

  struct state; // what the operation learned of its members, shared with the requests in flight

private:
  std::shared_ptr<state> state_;
};

} // namespace dfs
