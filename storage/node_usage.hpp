#pragma once
// How full a node's store is, asked for across the cluster by `status`.
//
// The store interface (actors/interfaces.hpp) and the peer link have no message for this yet, so
// it rides on get_manifest: asking for the reserved key node_usage_key() (it starts with a NUL
// byte, which no real key may contain, so it can never name a file) returns a pseudo manifest
// that carries the figures. It is a tombstone without chunks, never stored, never listed, and an
// old node simply answers not_found. A field of its own in the inventory answer would be the
// cleaner home once the interface may change.
#include "common/manifest.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace dfs {

struct node_usage {
  uint64_t used = 0;     // bytes of chunks held
  uint64_t capacity = 0; // the configured limit; 0 = none
  uint64_t chunks = 0;   // chunks held
};

/// The reserved key: "\0dfs:node-usage".
const std::string& node_usage_key();

/// The pseudo manifest that carries `u`.
manifest node_usage_manifest(const node_usage& u);

/// The figures, or nullopt when `m` is not such a manifest.
std::optional<node_usage> parse_node_usage(const manifest& m);

} // namespace dfs
