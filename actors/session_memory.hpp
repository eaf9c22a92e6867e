#pragma once
// The chunk bytes that the client sessions of one node hold at once, bounded by [node]
// session_memory. A get takes a chunk's bytes before it fetches the chunk and gives them back
// when the client's credit says it has the chunk; a put takes its credit window's worth before
// it tells the client to send. A session whose bytes do not fit waits until another gives some
// back, and fails after request_timeout: many idle sessions then cost a bounded amount of
// memory and make new transfers wait or fail ("node busy"), instead of growing the node.
#include "actors/interfaces.hpp"
#include <caf/actor.hpp>
#include <caf/actor_addr.hpp>
#include <caf/atom.hpp>

#include <caf/actor_cast.hpp>
#include <caf/actor_clock.hpp>
#include <caf/send.hpp>

#include <chrono>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <mutex>
#include <vector>

namespace dfs {

class session_memory {
public:
  explicit session_memory(uint64_t limit) : limit_(limit) {}

  /// Takes n bytes if they fit under the limit. If not, `waiter` hears memory_freed_atom the
  /// next time bytes are given back.
  bool try_take(uint64_t n, const caf::actor& waiter);
  /// Gives n bytes back and wakes every waiter.
  void give(uint64_t n);

  uint64_t used() const;
  uint64_t limit() const { return limit_; }

private:
  const uint64_t limit_;
  mutable std::mutex mtx_;
  uint64_t used_ = 0;
  std::vector<caf::actor_addr> waiters_;
};

/// What one session holds of the node's session memory; gives it all back when destroyed
/// (with the session's state), however the session ends. Without a pool it holds nothing and
/// every take succeeds (a node_context without one: unit tests of other parts).
class session_memory_lease {
public:
  session_memory_lease() = default;
  ~session_memory_lease() { give(held_); }
  session_memory_lease(const session_memory_lease&) = delete;
  session_memory_lease& operator=(const session_memory_lease&) = delete;

  /// The pool to take from; set once, before the first take.
  void attach(std::shared_ptr<session_memory> pool) { pool_ = std::move(pool); }
  bool take(uint64_t n, const caf::actor& waiter);
  void give(uint64_t n);
  uint64_t held() const { return held_; }

private:
  std::shared_ptr<session_memory> pool_;
  uint64_t held_ = 0;
};

} // namespace dfs

namespace dfs {

/// For put and get sessions, whose state has `ctx`, `memory` (a session_memory_lease) and
/// `memory_wait_started` (an optional time point): takes n bytes of session memory, or starts
/// waiting for them (the session retries on memory_freed_atom, and fail_on_memory_wait ends the
/// wait after request_timeout). True when taken.
template <class Session>
bool take_session_memory(Session* self, uint64_t n) {
  auto& st = self->state;
  if (st.memory.take(n, caf::actor_cast<caf::actor>(self))) {
    st.memory_wait_started.reset();
    return true;
  }
  if (!st.memory_wait_started) {
    st.memory_wait_started = self->clock().now();
    // Anonymous: a timer whose sender is the session itself can outlive it in CAF 0.17.6.
    caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), st.ctx->request_timeout,
                           memory_wait_atom::value);
  }
  return false;
}

/// The memory_wait_atom timer: the message a session fails with when it has waited for session
/// memory for request_timeout, nullopt while it may wait on (the timer is then set again).
template <class Session>
std::optional<std::string> memory_wait_expired(Session* self) {
  auto& st = self->state;
  if (!st.memory_wait_started)
    return std::nullopt;
  auto waited = self->clock().now() - *st.memory_wait_started;
  if (waited >= st.ctx->request_timeout)
    return "node busy: its [node] session_memory is held by other transfers; try again later";
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self),
                         std::chrono::duration_cast<std::chrono::nanoseconds>(
                           st.ctx->request_timeout - waited),
                         memory_wait_atom::value);
  return std::nullopt;
}

} // namespace dfs
