#pragma once
// A node's identity across restarts: a random 16-byte id kept in data_dir/node.id. Placement
// hashes node ids, so a node that kept its data must come back under the same id.
#include <string>

namespace dfs {

/// True for a node id's one spelling: 32 lowercase hex digits.
bool is_node_id(const std::string& text);

/// The id in data_dir/node.id as 32 lowercase hex digits, creating the directory and a fresh
/// random id (written atomically) on first start. Throws std::runtime_error naming the file
/// when it cannot be read or written or does not hold an id: start-up should stop there rather
/// than rejoin the cluster as a different node.
std::string load_or_create_node_id(const std::string& data_dir);

} // namespace dfs
