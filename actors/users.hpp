#pragma once
// The users actor: this node's copy of the user registry (storage/user_registry.hpp). It
// applies an administrator's user add/rm, merges the records peers gossip, writes the registry
// to data_dir after every change, publishes it to the user_directory the connection brokers
// read, and pushes each change to every peer link (and everything to a link that comes up, so
// a new or restarted node catches up).
#include "actors/interfaces.hpp"
#include "actors/node_context.hpp"
#include "net/messages.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <vector>

namespace dfs {

struct users_state {
  static inline const char* name = "users";
  node_context_ptr ctx;
  user_registry registry;
  std::vector<caf::actor> links;
};

/// `initial`: the registry read from data_dir at start.
caf::behavior users(caf::stateful_actor<users_state>* self, node_context_ptr ctx,
                    user_registry initial);

} // namespace dfs

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dfs::user_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dfs::user_record>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dfs::user_add_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dfs::user_list_msg)
