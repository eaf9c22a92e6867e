#pragma once
// The roster on disk: data_dir/roster holds every member this node knows of, this node first,
// with the operator's decisions about each. Loaded at start, so that a node that restarts still
// counts the members that are away (they hold up garbage collection until heard from) and still
// refuses the ones that were decommissioned; saved on every change that matters.
#include "net/messages.hpp"

#include <caf/error.hpp>

#include <string>
#include <vector>

namespace dfs {

/// data_dir/roster.
std::string roster_path(const std::string& data_dir);

/// The saved roster; empty when there is none yet (a new node). Throws std::runtime_error naming
/// the file when it cannot be read or is damaged: a node must not start as if it had never met
/// its cluster, since it would then collect tombstones while a member that may hold an older
/// version is away.
std::vector<roster_entry> load_roster(const std::string& data_dir);

/// Replaces the saved roster atomically (temporary file, fsync, rename, fsync of data_dir).
caf::error save_roster(const std::string& data_dir, const std::vector<roster_entry>& entries);

} // namespace dfs
