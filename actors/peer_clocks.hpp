#pragma once
// Whether this node's wall clock is far behind the cluster's, judged from the wall clocks its
// peers send in their heartbeats.
//
// Why it matters: a tombstone is collected once it is older than gc_grace + max_clock_skew
// (actors/repair_planner.hpp). A node whose clock is no more than max_clock_skew behind then
// always writes above a collected tombstone. A node further behind would write below it, and
// its write would bring back a key an acknowledged rm removed. Replicas cannot tell such a
// write from a repair copy of an old version, so the writer refuses itself: while most of the
// nodes up are more than max_clock_skew ahead of it, its hybrid clock issues no versions
// (hybrid_clock::next answers errc::clock_skew). A majority decides because with two clocks
// apart nobody can tell which one is wrong; a node far ahead is handled by the replicas, which
// refuse versions from the future (manifest_store::put).
#include <cstdint>
#include <optional>
#include <vector>

namespace dfs {

/// `peers_ahead_ms`: for each peer that is up and has sent its clock, how far its wall clock is
/// ahead of this node's (negative when behind). Answers how far this node is behind (the
/// smallest lead among the peers ahead by more than `max_skew_ms`) when those peers are more
/// than half of the nodes up, this one included; 0 when it is not; nullopt when no peer clock
/// is known (the caller keeps its last verdict: a node cut off from every peer cannot learn
/// that its clock was set right).
std::optional<uint64_t> behind_the_cluster(const std::vector<int64_t>& peers_ahead_ms,
                                           uint64_t max_skew_ms);

} // namespace dfs
