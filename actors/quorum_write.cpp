#include "actors/quorum_write.hpp"

#include "common/error.hpp"
#include "common/log.hpp"
#include "common/manifest.hpp"

#include <algorithm>
#include <optional>

namespace dfs {

struct quorum_writer::state {
  std::string operation;
  std::string local_node_id;
  send_request_fn send;
  std::set<std::string> full_nodes; // answered no_space: skipped from then on
  std::set<std::string> failed_nodes; // failed otherwise: skipped, its requests given up
  // node id -> (answered?, what to do if that node fails first) for each request in flight.
  std::map<std::string, std::vector<std::pair<std::shared_ptr<bool>, std::function<void()>>>>
    in_flight;
};

namespace {

using writer_state = quorum_writer::state;

/// One item on its way: the spec, the members tried so far, the answers.
struct item_progress {
  quorum_item item;
  size_t next = 0;        // the next member of the ranking to try
  size_t outstanding = 0; // requests not answered yet
  size_t acks = 0;
  bool quorum_reported = false;
  std::vector<std::pair<std::string, std::string>> full; // (node, what it said)
  std::optional<version> superseded_by;                  // the newest version reported
  caf::error clock_refusal;
};

using progress_ptr = std::shared_ptr<item_progress>;

/// Called after every answer: settles the item once nothing is outstanding.
void settle_if_done(item_progress& p) {
  if (p.outstanding > 0)
    return;
  auto& item = p.item;
  if (p.superseded_by)
    return item.on_superseded(*p.superseded_by);
  if (p.clock_refusal && p.acks < item.needed)
    return item.on_failed(p.clock_refusal);
  if (p.acks < item.needed)
    return item.on_failed(quorum_error(p.full, p.acks, item.needed));
  item.local_request = caf::message{}; // it may refer to request: let go, so request is unique
  item.on_settled(p.acks, item.request);
}

/// Marks a member failed for the rest of the operation and gives up its requests in flight.
void member_failed(writer_state& ws, const member_view& member, const caf::error& err) {
  if (!ws.failed_nodes.insert(member.node_id).second)
    return;
  DFS_WARN("quorum_write", ws.operation << ": replica " << member.name << " failed: "
                                        << describe(err) << "; not asked again");
  auto abandoned = std::move(ws.in_flight[member.node_id]);
  ws.in_flight.erase(member.node_id);
  for (auto& [answered, give_up] : abandoned)
    if (!*answered)
      give_up();
}

/// A manifest's answer that says the version is not the newest (errc::superseded) or too far
/// ahead of the replica's clock (errc::clock_skew): kept in `p`; false for any other answer.
bool record_version_answer(writer_state& ws, item_progress& p, const member_view& member,
                           const caf::error& err) {
  if (!p.item.on_superseded)
    return false;
  if (auto newer = superseding_version(err)) {
    if (!p.superseded_by || *p.superseded_by < *newer)
      p.superseded_by = *newer;
    return true;
  }
  if (code_of(err) == errc::clock_skew) {
    p.clock_refusal = make_error(errc::clock_skew, "on node " + member.name + ": " + describe(err));
    DFS_WARN("quorum_write", ws.operation << ": replica " << member.name << " " << describe(err));
    return true;
  }
  return false;
}

/// Starts the request to the next member of the ranking that is not known to be full or failed;
/// false when there is none left.
bool send_to_next(const std::shared_ptr<writer_state>& ws, const progress_ptr& p) {
  auto& ranking = p->item.ranking;
  while (p->next < ranking.size()) {
    auto member = ranking[p->next++];
    if (ws->full_nodes.count(member.node_id) || ws->failed_nodes.count(member.node_id))
      continue;
    ++p->outstanding;
    // Whichever comes first, the answer or the member's failure, settles this request.
    auto answered = std::make_shared<bool>(false);
    auto& waiting = ws->in_flight[member.node_id];
    waiting.erase(std::remove_if(waiting.begin(), waiting.end(),
                                 [](const auto& entry) { return *entry.first; }),
                  waiting.end());
    // Weak: the request's own handlers keep the item alive while it waits for an answer, and
    // the writer, which may outlive them, must not keep every item it ever wrote.
    waiting.emplace_back(answered, [weak = std::weak_ptr<item_progress>{p}, answered] {
      auto p = weak.lock();
      if (!p)
        return;
      *answered = true;
      --p->outstanding;
      settle_if_done(*p);
    });
    bool local = member.node_id == ws->local_node_id && !p->item.local_request.empty();
    ws->send(
      member, local ? p->item.local_request : p->item.request,
      [p, member, answered] {
        if (*answered)
          return;
        *answered = true;
        if (p->item.on_stored)
          p->item.on_stored(member);
        if (++p->acks >= p->item.needed && !p->quorum_reported) {
          p->quorum_reported = true;
          if (p->item.on_quorum)
            p->item.on_quorum();
        }
        --p->outstanding;
        settle_if_done(*p);
      },
      [ws, p, member, answered](caf::error& err) {
        if (*answered)
          return;
        *answered = true;
        if (record_version_answer(*ws, *p, member, err)) {
          // Not a failure of the member: it holds a newer version or its clock disagrees.
        } else if (code_of(err) == errc::no_space) {
          // Full: not asked again during this operation; the next member in rendezvous order
          // takes its place for this item.
          if (ws->full_nodes.insert(member.node_id).second)
            DFS_WARN("quorum_write", ws->operation << ": no space on node " << member.name << ": "
                                                   << describe(err)
                                                   << "; placing its copies on the next nodes");
          p->full.emplace_back(member.name, describe(err));
          send_to_next(ws, p);
        } else {
          member_failed(*ws, member, err);
        }
        --p->outstanding;
        settle_if_done(*p);
      });
    return true;
  }
  return false;
}

} // namespace

std::string quorum_failure_message(size_t reached, size_t required) {
  return "only " + std::to_string(reached) + " of " + std::to_string(required)
         + " required replicas reachable";
}

caf::error quorum_error(const std::vector<std::pair<std::string, std::string>>& full,
                        size_t reached, size_t required) {
  if (full.empty())
    return make_error(errc::too_few_replicas, quorum_failure_message(reached, required));
  std::string names;
  for (auto& [name, what] : full)
    names += (names.empty() ? "" : ", ") + name;
  return make_error(errc::no_space, std::string{"no space on node"} + (full.size() > 1 ? "s " : " ")
                                      + names + ": " + full.front().second + " ("
                                      + quorum_failure_message(reached, required) + ")");
}

quorum_writer::quorum_writer(std::string operation, std::string local_node_id,
                             send_request_fn send)
  : state_(std::make_shared<state>()) {
  state_->operation = std::move(operation);
  state_->local_node_id = std::move(local_node_id);
  state_->send = std::move(send);
}

void quorum_writer::write(quorum_item item) const {
  auto p = std::make_shared<item_progress>();
  p->item = std::move(item);
  for (size_t i = 0; i < p->item.replicas; ++i)
    if (!send_to_next(state_, p))
      break;
  settle_if_done(*p);
}

const std::set<std::string>& quorum_writer::failed_nodes() const { return state_->failed_nodes; }

} // namespace dfs
