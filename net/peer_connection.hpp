#pragma once
// One broker per TCP connection, inbound or outbound, for peers and clients alike. It owns the
// frame decoder and the handshake; once the peer is authenticated it turns frames into actor
// messages and back:
//  - a peer's storage requests go to the local store actor, and their answers back as frames;
//  - local actors send this broker store_actor messages meant for the remote node; it sends
//    them as frames and answers with the remote node's response (a replica proxy);
//  - a client's put and get run in session actors spawned here; rm/ls/stat/status go to the
//    coordinator.
#include "actors/node_context.hpp"
#include "net/frame_decoder.hpp"
#include "net/tls_endpoint.hpp"

#include <caf/io/broker.hpp>
#include <caf/response_promise.hpp>

#include <chrono>
#include <memory>
#include <unordered_map>

namespace dfs {

struct peer_connection_state {
  static inline const char* name = "peer_connection";

  node_context_ptr ctx;
  caf::io::connection_handle hdl;
  bool outbound = false;
  std::string who = "peer_connection"; // for log lines: names the peer once known

  std::unique_ptr<handshake> hs;
  bool authenticated = false;
  hello_msg peer;

  // TLS under the frames (when [cluster] tls = required), then the frame decoder.
  std::unique_ptr<tls_endpoint> tls;
  bool first_bytes = true;
  frame_decoder decoder{max_handshake_payload};
  frame_header header; // of the frame being handled

  // Requests this broker sent to the remote node on behalf of local actors.
  struct pending_request {
    caf::response_promise promise;
    frame_type expected;
    std::chrono::steady_clock::time_point sent = std::chrono::steady_clock::now();
  };
  uint64_t last_request_id = 0;
  std::unordered_map<uint64_t, pending_request> pending;

  // A client's streaming operations, by the client's request id.
  std::unordered_map<uint64_t, caf::actor> sessions;
};

using peer_connection_broker = caf::io::stateful_broker<peer_connection_state>;

caf::behavior peer_connection(peer_connection_broker* self, caf::io::connection_handle hdl,
                              node_context_ptr ctx, bool outbound);

} // namespace dfs
