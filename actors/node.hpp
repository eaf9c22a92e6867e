#pragma once
// A whole node: starts the actors in order, serves until SIGINT or SIGTERM, stops them in order.
#include "config/node_config.hpp"

namespace dfs {

/// Runs the node; returns the process exit code (0 after an orderly shutdown, 2 when it could
/// not start, with one line on stderr saying why).
int run_node(const node_config& config);

} // namespace dfs
