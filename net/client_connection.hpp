#pragma once
// A blocking client connection for programs that are not actors (the dfs CLI, the client
// library): one TCP socket, the same frame codec and handshake as the node's brokers.
#include "common/error.hpp"
#include "net/frame.hpp"
#include "net/handshake.hpp"

#include <chrono>
#include <string>

namespace dfs {

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

  /// Connects to host:port and runs the handshake as a client. False with error() set on
  /// failure (connection refused, wrong secret, wrong cluster, timeout).
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
  bool read_exact(char* data, size_t size);
  bool set_error(errc code, std::string message);

  int fd_ = -1;
  client_error error_;
  uint64_t last_request_id_ = 0;
};

/// The largest payload a client accepts from a node.
constexpr size_t client_max_payload = max_frame_payload;

} // namespace dfs
