#pragma once
// The configuration of one dfs-node: read from an INI file, every key overridable on the command
// line as --section.key value, validated before anything starts.
#include "common/byte_size.hpp" // parse_byte_size, which every size key goes through
#include "common/host_port.hpp"
#include "common/log.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dfs {

/// The [node] name rule: 1 to 64 of A-Z a-z 0-9 . _ - (names reach logs, paths and gossip).
bool valid_node_name(const std::string& name);

/// The chunks one put or get may have in flight to or from its client (its credit window):
/// [node] session_memory must hold at least one such window of the largest chunks.
constexpr uint32_t transfer_window = 4;

struct node_config {
  // [node]
  std::string name;       // unique in the cluster
  host_port listen;       // where peers and clients connect
  std::string data_dir;   // chunks, manifests and node.id live here
  // [node] limits against connection floods (actors/listener, actors/peer_connection)
  uint32_t max_connections = 1024;             // authenticated inbound connections (peers count)
  uint32_t max_pending_handshakes = 256;       // inbound connections still in the handshake
  std::chrono::seconds handshake_timeout{10};  // from accept to authenticated, absolute
  std::chrono::seconds idle_timeout{300};      // no frame received for this long; 0 = off
  uint64_t max_buffered_bytes = 256ull << 20;  // per connection: partial frame + write backlog
  uint32_t max_pending_per_source = 64;        // of max_pending_handshakes, from one address
  uint32_t max_sessions_per_connection = 32;   // puts and gets open at once on one connection
  uint64_t session_memory = 512ull << 20;      // chunk bytes all put and get sessions hold
  // [cluster]
  std::string cluster_name = "dfs";
  std::string secret_file;
  std::string secret;     // the file's contents (at least 32 bytes), loaded during validation
  std::vector<host_port> bootstrap;
  uint32_t replicas = 3;      // R
  uint32_t write_quorum = 2;  // W, 1..R
  std::chrono::seconds suspect_after{3};          // silence before a member is suspect
  std::chrono::seconds down_after{10};            // silence before it is down and repaired
  uint64_t repair_rate = 64 * 1024 * 1024;        // bytes/s of repair copies, 0 = unlimited
  std::chrono::seconds anti_entropy_interval{10}; // between comparisons of holdings and placement
  bool tls_required = true;                       // [cluster] tls: required (default) or off
  std::chrono::seconds gc_grace{3600};            // before unreferenced chunks/tombstones go, >= min_gc_grace
  std::chrono::seconds max_clock_skew{60};        // how far ahead of our clock a version may be
  // [storage]
  uint64_t chunk_size = 4 * 1024 * 1024;
  uint64_t capacity = 0;                    // bytes of chunks this node accepts, 0 = no limit
  uint64_t disk_reserve = 64ull << 20;      // bytes of the disk chunks leave free for deletes
  std::chrono::seconds scrub_interval{86400}; // between scrub passes, 0 = never scrub
  uint64_t scrub_rate = 32 * 1024 * 1024;   // bytes/s the scrubber reads, 0 = unlimited
  // [log]
  log::level log_level = log::level::info;
};

/// The shortest [cluster] gc_grace accepted: long enough for a put session's lease renewals
/// (every gc_grace/3) and its last touch before the manifest to be answered well in time.
inline constexpr std::chrono::seconds min_gc_grace{2};

/// What the command line asked for.
struct config_outcome {
  enum kind_t { run, help, version, error } kind = error;
  node_config config;   // valid when kind == run
  std::string text;     // the help text, or the one-line error naming the key and the problem
};

/// Reads `--config FILE` and the overrides from argv, loads the secret and checks every value
/// (including that data_dir exists or can be created and is writable). Never throws.
config_outcome parse_node_config(int argc, const char* const* argv);

} // namespace dfs
