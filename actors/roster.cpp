#include "actors/roster.hpp"

#include "common/host_port.hpp"
#include "config/node_config.hpp"
#include "storage/node_identity.hpp"

#include <chrono>

namespace dfs {

std::optional<std::string> roster_entry_problem(const roster_entry& e, uint64_t wall_ms,
                                                uint64_t max_ahead_ms) {
  if (!is_node_id(e.node_id))
    return "node id '" + e.node_id.substr(0, 64) + "' is not 32 lowercase hex digits";
  if (!valid_node_name(e.name))
    return "name of " + e.node_id + " breaks the [node] name rule (1 to 64 of A-Z a-z 0-9 . _ -)";
  if (!parse_host_port(e.address))
    return "address of " + e.name + " is not host:port";
  auto limit = wall_ms + max_ahead_ms;
  if (e.incarnation > limit)
    return "incarnation of " + e.name + " is more than "
           + std::to_string(max_ahead_ms / 1000) + " s ahead of this node's clock";
  if (e.admin_version > limit)
    return "decision about " + e.name + " is dated more than "
           + std::to_string(max_ahead_ms / 1000) + " s ahead of this node's clock";
  return std::nullopt;
}

} // namespace dfs
