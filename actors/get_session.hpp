#pragma once
// One client's get: finds the newest manifest, then streams the chunks in order. The client
// grants credit per data frame, up to the window announced in get_meta, and a chunk is fetched
// only when the credit will take it: a get holds at most its window of chunks whatever the
// file's size or the client's speed. Each chunk counts in the node's session memory
// (actors/session_memory.hpp) from its fetch until the client's credit says it has it, so
// idle gets cannot grow the node; a get whose client returns no credit for [node] idle_timeout
// fails, so that idle gets cannot keep that memory for ever either.
//
// Chunks are decrypted here, after fetch_chunk checked their hash: a copy whose GCM tag does not
// verify counts as corrupt and the next replica is tried, so a client never sees bytes that are
// not exactly what was put. An inline file (common/manifest.hpp) comes with its manifest and
// is sent as one frame.
#include "actors/interfaces.hpp"
#include "actors/get_window.hpp"
#include "actors/node_context.hpp"
#include "common/chunk_cipher.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <map>
#include <optional>
#include <memory>

namespace dfs {

struct get_session_state {
  static inline const char* name = "get_session";

  node_context_ptr ctx;
  caf::actor connection;
  uint64_t request_id = 0;
  std::string key;
  manifest file;
  std::vector<member_view> live;
  // Data frames to send (one per chunk, or one for an inline file), fetched, sent and
  // acknowledged; from the newest manifest on.
  std::optional<get_window> window;
  session_memory_lease memory;    // the chunks fetched and not yet acknowledged
  std::optional<caf::actor_clock::time_point> memory_wait_started;
  caf::actor_clock::time_point last_credit; // from the client, or get_meta
  bool stall_check_armed = false;
  bool failed = false;
  std::shared_ptr<const chunk_cipher> cipher; // the cluster's data keys
};

caf::behavior get_session(caf::stateful_actor<get_session_state>* self, node_context_ptr ctx,
                          caf::actor connection, uint64_t request_id, std::string key);

} // namespace dfs
