#pragma once
// What every actor of a node needs to know, fixed at start-up and shared read-only.
#include "actors/hybrid_clock.hpp"
#include "actors/interfaces.hpp"
#include "actors/user_directory.hpp"
#include "actors/session_memory.hpp"
#include "config/node_config.hpp"
#include "net/handshake.hpp"
#include "net/tls_endpoint.hpp"

#include <algorithm>
#include <chrono>
#include <memory>

namespace dfs {

struct node_context {
  node_config config;
  std::string node_id;
  store_actor store;
  membership_actor membership;
  coordinator_actor coordinator;
  replication_actor replication;
  /// The users actor (actors/users.hpp): user records, their gossip and the admin's changes.
  caf::actor users;
  /// The user registry as the connection brokers read it (filled by the users actor).
  std::shared_ptr<user_directory> users_directory = std::make_shared<user_directory>();
  std::shared_ptr<hybrid_clock> clock = std::make_shared<hybrid_clock>();
  /// [node] session_memory: the chunk bytes client sessions hold. Null: no limit.
  std::shared_ptr<session_memory> memory;
  /// TLS 1.3 keyed by the cluster secret on every connection; null when [cluster] tls = off.
  std::shared_ptr<const tls_context> tls;

  /// How long a peer may take over one request before we give up on it.
  std::chrono::seconds request_timeout{30};
  /// How long a read waits for one replica before it tries the next: a slow replica must not
  /// make a get slow while another holds the same bytes.
  std::chrono::seconds read_attempt_timeout{5};

  /// Often enough that three heartbeats fit in suspect_after.
  std::chrono::milliseconds heartbeat_interval() const {
    return std::max(std::chrono::milliseconds{100},
                    std::chrono::duration_cast<std::chrono::milliseconds>(config.suspect_after) / 3);
  }

  local_identity identity(peer_role role) const {
    return {config.cluster_name, node_id, config.name, role, config.listen.to_string(),
            config.secret, {}};
  }
};

using node_context_ptr = std::shared_ptr<const node_context>;

} // namespace dfs
