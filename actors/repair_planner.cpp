#include "actors/repair_planner.hpp"

#include "actors/placement.hpp"

#include <algorithm>

namespace dfs {

// A suspect member is silent or disconnected for now, and nothing yet says it is gone: it may
// be paused, slow or on a lossy link, and it may come back in a second, or go down. A pass must
// be right in either case, and must make progress while the suspicion lasts, since a member
// that flaps between up and suspect may never settle (a pass that waited for the verdict would
// hold off all repair for as long as the flapping lasts, also the repair of a member that is
// down for good). So a pass treats a suspect member as a member it cannot see:
//  - It stays in the targets pool. Its items keep their targets, so a short suspicion re-homes
//    nothing: no copy is made that would be surplus once it is back, and a node that sees it
//    up and one that sees it suspect agree on every item's targets. If it goes down, it leaves
//    the pool and the next pass repairs its items like any down member's.
//  - It is never copied to (it may not answer, and nothing it holds can be counted) and never
//    read from: only readable members are asked for inventories, and a copy is always of the
//    copier's own item.
//  - It holds no copy that counts: an item whose other targets lack it is copied to those of
//    them that are up, so the copies of a down member are rebuilt on up members meanwhile.
//  - Nothing is deleted while any member is suspect: no surplus copy, no garbage chunk, no
//    tombstone. What it holds is unknown: maybe the only other copy of an item, or a newer
//    version of a key whose chunks look unreferenced without it; and views of it differ from
//    node to node while it flaps. Copies are only ever added, so no copy can be the last one
//    deleted.
// A suspect member that is leaving shows as suspect, so it ranks like an active one meanwhile:
// its items lack one copy until it is back (and no longer a target) or down.

std::vector<std::string> item_targets(const sha256_digest& item, const placement_view& view) {
  return first_in_rendezvous_order(item, view.targets_pool, view.replicas,
                                   [](const std::string& id) { return id; });
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
        if (!holders.count(t) && !view.suspect.count(t))
          plan.copy_to.push_back(t);
  }
  bool self_is_target = std::find(targets.begin(), targets.end(), view.self_id) != targets.end();
  bool every_target_holds = !targets.empty()
                            && std::all_of(targets.begin(), targets.end(),
                                           [&](auto& t) { return holders.count(t) > 0; });
  plan.drop_local = self_holds && !self_is_target && every_target_holds;
  return plan;
}

placement_view pass_placement(const std::vector<member_view>& members, const std::string& self_id,
                              size_t replicas) {
  placement_view view{self_id, {}, {}, replicas};
  for (auto& m : members) {
    bool suspect = m.state == member_state::suspect;
    if (m.placement_target() || suspect)
      view.targets_pool.push_back(m.node_id);
    if (suspect)
      view.suspect.insert(m.node_id);
  }
  return view;
}

size_t pass_plan::copies() const {
  size_t n = 0;
  for (auto& w : manifests)
    n += w.copy_to.size();
  for (auto& w : chunks)
    n += w.copy_to.size();
  return n;
}

size_t pass_plan::removals() const {
  size_t n = 0;
  for (auto& w : manifests)
    n += w.remove;
  for (auto& w : chunks)
    n += w.remove;
  return n;
}

pass_plan plan_pass(const pass_input& in, const holdings& h, unreferenced_clocks& unreferenced_since) {
  pass_plan plan;
  auto view = pass_placement(in.members, in.self_id, in.replicas);
  // Removal of any kind waits while a member is suspect (see the top of this file).
  bool may_remove = view.suspect.empty();
  bool may_collect = may_remove && in.may_collect;
  auto grace_ms = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(in.gc_grace + in.max_clock_skew).count());

  // Manifests: the newest version of each key, and who holds exactly that version.
  std::map<std::string, manifest> newest;
  for (auto& [key, by_node] : h.manifests)
    for (auto& [node, m] : by_node)
      if (!newest.count(key) || m.newer_than(newest[key]))
        newest[key] = m;
  for (auto& [key, by_node] : h.manifests) {
    auto mine = by_node.find(in.self_id);
    if (mine == by_node.end())
      continue;
    auto& top = newest[key];
    std::set<std::string> holders;
    std::vector<version> held_versions;
    for (auto& [node, m] : by_node) {
      held_versions.push_back(m.version);
      if (m.version == top.version)
        holders.insert(node);
    }
    auto item = plan_item(manifest_placement_id(key), holders, true, view);
    manifest_work work{top, std::move(item.copy_to), false, false, mine->second.version};
    // Every holder reaches the same verdict on a collectible tombstone, so none copies it
    // back to a holder that already let it go.
    work.collect = may_collect && top.deleted
                   && tombstone_collectible(top, held_versions, in.now_ms, grace_ms);
    if (work.collect)
      work.copy_to.clear();
    work.remove = may_remove && (item.drop_local || work.collect);
    if (!work.copy_to.empty() || work.remove)
      plan.manifests.push_back(std::move(work));
  }

  // Chunks: repair and hand-off, then garbage.
  auto referenced = referenced_chunks(newest);
  for (auto& id : h.my_chunks) {
    auto holders_it = h.chunk_holders.find(id);
    auto item = plan_item(id.bytes, holders_it == h.chunk_holders.end() ? std::set<std::string>{}
                                                                         : holders_it->second,
                          true, view);
    chunk_work work{id, std::move(item.copy_to)};
    // A chunk no manifest references is garbage (or part of a put still under way, which
    // places its own copies): repairing it would only race its collection.
    bool unreferenced = may_collect && !referenced.count(id);
    if (unreferenced) {
      work.copy_to.clear();
      auto since = unreferenced_since.emplace(id, in.now).first->second;
      work.garbage = in.now - since >= in.gc_grace;
    } else {
      unreferenced_since.erase(id);
    }
    work.remove = may_remove && (item.drop_local || work.garbage);
    if (!work.copy_to.empty() || work.remove)
      plan.chunks.push_back(std::move(work));
  }
  for (auto i = unreferenced_since.begin(); i != unreferenced_since.end();)
    i = h.my_chunks.count(i->first) ? std::next(i) : unreferenced_since.erase(i);

  // A leaving node that holds nothing has handed everything over.
  bool leaving = std::any_of(in.members.begin(), in.members.end(), [&](auto& m) {
    return m.node_id == in.self_id && m.state == member_state::leaving;
  });
  plan.handed_over = leaving && h.my_chunks.empty()
                     && std::none_of(h.manifests.begin(), h.manifests.end(),
                                     [&](auto& kv) { return kv.second.count(in.self_id) > 0; });
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
