#pragma once
// What put and get sessions share: frames for their client go through the client's connection
// broker under the client's request id, and a failure is told once, as an error frame, before
// the session ends. Each session's state has `connection`, `request_id` and `failed`.
#include "actors/interfaces.hpp"
#include "common/log.hpp"

#include <string>

namespace dfs {

/// Takes the payload by value: a caller that moves a chunk in hands it over without a copy
/// (a chunk-sized copy, and its page faults, per chunk of a get).
template <class Session>
void send_client_frame(Session* self, frame_type type, byte_buffer payload) {
  self->send(self->state.connection, frame_atom::value, static_cast<uint16_t>(type),
             self->state.request_id, std::move(payload));
}

/// Tells the client why the operation failed (once) and ends the session. `what` names the
/// operation for the log, e.g. "put of 'photos/cat.jpg'".
template <class Session>
void fail_session(Session* self, const std::string& what, errc code, const std::string& message) {
  auto& st = self->state;
  if (st.failed)
    return;
  st.failed = true;
  DFS_WARN(st.name, what << " failed: " << message);
  send_client_frame(self, frame_type::error,
                    to_payload(error_msg{static_cast<uint8_t>(code), message}));
  self->quit();
}

} // namespace dfs
