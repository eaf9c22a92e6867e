#pragma once
// One client's put, from put_begin to put_done. The client sends a chunk per data frame and may
// have only `window` of them unacknowledged; each chunk is hashed and written to its R replicas,
// and its credit goes back to the client once W of them hold it durably. So a put holds at most
// window chunks in memory whatever the file's size, and a slow replica slows the client down.
#include "actors/node_context.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/event_based_actor.hpp>

#include <map>
#include <memory>

namespace dfs {

struct put_session_state {
  static inline const char* name = "put_session";

  node_context_ptr ctx;
  caf::actor connection;
  uint64_t request_id = 0;
  manifest result;
  uint64_t declared_size = 0;
  uint64_t received = 0;
  bool ready = false; // put_ready was sent: the client may send data
  bool all_received = false;
  bool failed = false;
  std::vector<member_view> live; // the members that were up when the put began
  std::unique_ptr<sha256_stream> content_hash = std::make_unique<sha256_stream>();
  size_t chunks_in_flight = 0;
  uint32_t fewest_copies = ~0u;
};

caf::behavior put_session(caf::stateful_actor<put_session_state>* self, node_context_ptr ctx,
                          caf::actor connection, uint64_t request_id, std::string key,
                          uint64_t size);

/// The message a put fails with when too few replicas hold an item.
std::string quorum_failure_message(size_t reached, size_t required);

} // namespace dfs
