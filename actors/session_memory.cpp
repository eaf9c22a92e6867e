#include "actors/session_memory.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include <algorithm>

namespace dfs {

bool session_memory::try_take(uint64_t n, const caf::actor& waiter) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (used_ + n <= limit_) {
    used_ += n;
    return true;
  }
  if (waiter && std::find(waiters_.begin(), waiters_.end(), waiter.address()) == waiters_.end())
    waiters_.push_back(waiter.address());
  return false;
}

void session_memory::give(uint64_t n) {
  std::vector<caf::actor_addr> wake;
  {
    std::lock_guard<std::mutex> guard{mtx_};
    used_ -= std::min(n, used_);
    wake.swap(waiters_);
  }
  // Sent outside the lock: a waiter that retries at once must not find it held.
  for (auto& addr : wake)
    if (auto who = caf::actor_cast<caf::actor>(addr))
      caf::anon_send(who, memory_freed_atom::value);
}

uint64_t session_memory::used() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return used_;
}

bool session_memory_lease::take(uint64_t n, const caf::actor& waiter) {
  if (pool_ && !pool_->try_take(n, waiter))
    return false;
  held_ += n;
  return true;
}

void session_memory_lease::give(uint64_t n) {
  n = std::min(n, held_);
  if (n == 0)
    return;
  held_ -= n;
  if (pool_)
    pool_->give(n);
}

} // namespace dfs
