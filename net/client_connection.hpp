#pragma once
// A blocking client connection for programs that are not actors (the dfs CLI, the client
// library): one TCP socket, the same frame codec and handshake as the node's brokers.
#include "common/error.hpp"
#include "net/frame.hpp"
#include "net/frame_decoder.hpp"
#include "net/handshake.hpp"
#include "net/tls_endpoint.hpp"

#include <deque>
#include <memory>

#include <chrono>
#include <string>

namespace dfs {

/// The largest payload a client accepts from a node.
constexpr size_t client_max_payload = max_frame_payload;

/// A frame as received: header plus its whole payload.
struct received_frame {
  frame_header header;
  byte_buffer payload;
};

/// What went wrong, as the sentence the CLI prints after "dfs: ".
struct client_error {
  errc code = errc::none;
  std::string message;
};

class client_connection {
public:
  client_connection() = default;
  ~client_connection();
  client_connection(const client_connection&) = delete;
  client_connection& operator=(const client_connection&) = delete;

  /// Connects to host:port and runs the handshake as a client: TLS 1.3 keyed by the secret,
  /// then hello and proof inside it. `secret` is the node secret or a user credential file's
  /// contents (common/credential.hpp). False with error() set on failure (connection refused,
  /// wrong secret, wrong cluster, timeout). The environment variable DFS_TLS=off talks plaintext
  /// to a node whose [cluster] tls is off (for debugging only).
  bool open(const std::string& host, uint16_t port, const std::string& cluster,
            const std::string& secret, std::chrono::milliseconds timeout);

  bool send(frame_type type, uint64_t request_id, const char* payload, size_t size,
            uint16_t flags = 0);
  bool send(frame_type type, uint64_t request_id, const byte_buffer& payload) {
    return send(type, request_id, payload.data(), payload.size());
  }

  /// Blocks for the next frame (up to the timeout given to open()). An error frame from the node
  /// is returned as a frame; the caller decides.
  bool receive(received_frame& out);

  const client_error& error() const { return error_; }
  uint64_t next_request_id() { return ++last_request_id_; }

private:
  bool write_all(const char* data, size_t size);
  /// Reads what the socket has (at least one byte) into the TLS endpoint or the decoder.
  bool read_some();
  bool flush_tls();
  bool tls_handshake();
  bool set_error(errc code, std::string message);

  int fd_ = -1;
  std::unique_ptr<tls_context> tls_context_;
  std::unique_ptr<tls_endpoint> tls_;
  byte_buffer tls_out_;   // records sealed and not yet sent (the endpoint's ciphertext sink)
  frame_decoder decoder_{client_max_payload};
  std::deque<received_frame> frames_;
  client_error error_;
  uint64_t last_request_id_ = 0;
};

} // namespace dfs
