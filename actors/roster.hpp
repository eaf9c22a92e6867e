#pragma once
// The gossiped roster: who the members are, where they listen, and what an operator decided
// about them. Merging is idempotent, commutative and associative (each field group takes the
// entry with the larger version), so every node converges on the same roster whatever order
// gossip arrives in.
#include "net/messages.hpp"

namespace dfs {

/// Merges `theirs` into `mine` (same node id); true if anything changed.
///  - name and address: from the larger (incarnation, address) (a restart may move a node);
///  - admin state: from the larger admin_version (ties: the further state, left > leaving >
///    active, so a decision never goes back by accident).
inline bool merge_roster_entry(roster_entry& mine, const roster_entry& theirs) {
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
  if (theirs.admin_version > mine.admin_version
      || (theirs.admin_version == mine.admin_version && theirs.admin > mine.admin)) {
    mine.admin = theirs.admin;
    mine.admin_version = theirs.admin_version;
    changed = true;
  }
  return changed;
}

} // namespace dfs
