#pragma once
// The gossiped roster: who the members are, where they listen, and what an operator decided
// about them. Gossip comes from nodes that hold the cluster secret, but none of them may speak
// for another, so two kinds of facts follow two rules:
//  - a member's identity (name, address, incarnation) is taken only from the member itself,
//    in its handshake or in its own line of its gossip (merge_own_entry); what others say of
//    it is at most an address to try;
//  - an operator's decision (the admin state) spreads from the node that served it, so it may
//    come from anyone, but it only moves forward: active -> leaving -> left, or active -> left
//    for a member decommissioned while it was down (merge_admin_decision). Nothing can bring a
//    decommissioned node back, and a stale view is simply older, never a step back.
// Both merges are idempotent, commutative and associative, so every node converges on the same
// roster whatever order gossip arrives in. Each entry is checked (roster_entry_problem) before
// it is merged.
#include "common/wall_clock.hpp"
#include "net/messages.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace dfs {

/// How far ahead of this node's wall clock a version stamped by another node (an incarnation,
/// an admin decision) may be. A version further ahead would win every merge until the clocks
/// caught up with it: a decision no newer one could replace.
/// ([cluster] max_clock_skew's default; wall_clock_ms() in common/wall_clock.hpp.)
constexpr uint64_t max_clock_ahead_ms = std::chrono::milliseconds{default_max_clock_skew}.count();

/// The most entries a peers frame (and the roster file) may hold: far more nodes than a
/// cluster of this design has, few enough that a roster stays small.
constexpr size_t max_roster_entries = 1024;

/// Why `e` cannot be taken, as a sentence naming the field, or nullopt when it is well formed:
/// the id is 32 lowercase hex digits, the name follows the [node] name rule, the address is
/// host:port, and neither version is more than `max_ahead_ms` ([cluster] max_clock_skew) ahead
/// of `wall_ms`.
std::optional<std::string> roster_entry_problem(const roster_entry& e, uint64_t wall_ms,
                                                uint64_t max_ahead_ms = max_clock_ahead_ms);

/// Merges an operator's decision about the same node; true if anything changed. The further
/// state wins (left > leaving > active); at the same state, the larger version.
inline bool merge_admin_decision(roster_entry& mine, const roster_entry& theirs) {
  if (theirs.admin > mine.admin
      || (theirs.admin == mine.admin && theirs.admin_version > mine.admin_version)) {
    mine.admin = theirs.admin;
    mine.admin_version = theirs.admin_version;
    return true;
  }
  return false;
}

/// Merges what a node says about itself (`theirs`, the same node id); true if anything changed.
/// Name and address come with the larger (incarnation, address): a restart may move a node.
/// Its own admin state is a decision like any other (a leaving node declares itself left).
inline bool merge_own_entry(roster_entry& mine, const roster_entry& theirs) {
  bool changed = false;
  // Ties (one start time, two addresses: astronomically unlikely) go to the larger address,
  // so that the merge stays commutative.
  if (theirs.incarnation > mine.incarnation
      || (theirs.incarnation == mine.incarnation && theirs.address > mine.address)) {
    mine.incarnation = theirs.incarnation;
    mine.name = theirs.name;
    mine.address = theirs.address;
    changed = true;
  }
  changed |= merge_admin_decision(mine, theirs);
  return changed;
}

} // namespace dfs
