#pragma once
// Whether garbage (tombstones, and chunks no manifest references) may be collected now.
// A member that is suspect or down may hold an older version of a key: collecting the tombstone
// that hides it would bring the removed file back when that member returns. A node knows only
// the members it met itself (what others say about a node is no proof that it exists), so a
// node that joined while some member was away would not wait for it. Hence every node also
// gossips the ids it waits for, and collection waits while any readable member names a node this
// node does not know as left. Only each member's latest list counts, and only while that member
// is readable: a planted or stale id is gone as soon as its sender stops naming it, and a list
// can only hold collection back, never make a member or a placement target.
#include "actors/interfaces.hpp"

#include <string>
#include <vector>

namespace dfs {

/// Why collection must wait, one phrase per reason ("n3 is down", "n2 waits for n3 (<id>)");
/// empty when it may run. `self_id`: this node, whose own list is its members' states.
std::vector<std::string> collection_waits(const std::vector<member_view>& members,
                                          const std::string& self_id);

/// What this node gossips as the ids it waits for: members it knows that are suspect or down.
std::vector<std::string> ids_waited_for(const std::vector<member_view>& members);

} // namespace dfs
