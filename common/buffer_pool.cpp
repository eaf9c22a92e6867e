#include "common/buffer_pool.hpp"

#include <mutex>

namespace dfs {

namespace {

struct pool {
  std::mutex mtx;
  std::vector<std::vector<char>> free; // a few entries: a linear search is fine
  size_t bytes = 0;
};

pool& the_pool() {
  // Never destroyed: a buffer may be given back from another static's destructor at exit.
  static pool* p = new pool;
  return *p;
}

} // namespace

std::vector<char> take_buffer(size_t capacity) {
  auto b = take_scratch_buffer(capacity);
  b.clear();
  return b;
}

std::vector<char> take_scratch_buffer(size_t capacity) {
  if (capacity >= buffer_pool_min_capacity) {
    auto& p = the_pool();
    std::lock_guard<std::mutex> guard{p.mtx};
    // The smallest that fits, so that a big buffer stays for a big request.
    size_t best = p.free.size();
    for (size_t i = 0; i < p.free.size(); ++i)
      if (p.free[i].capacity() >= capacity
          && (best == p.free.size() || p.free[i].capacity() < p.free[best].capacity()))
        best = i;
    if (best < p.free.size()) {
      std::vector<char> found = std::move(p.free[best]);
      p.free[best] = std::move(p.free.back());
      p.free.pop_back();
      p.bytes -= found.capacity();
      return found;
    }
  }
  std::vector<char> fresh;
  if (capacity >= buffer_pool_min_capacity) {
    // Headroom, rounded to 64 KiB: a buffer that held a chunk can later hold the same chunk
    // sealed (28 bytes more) or framed.
    constexpr size_t step = buffer_pool_headroom / 2;
    capacity = (capacity + 2 * step - 1) / step * step;
  }
  fresh.reserve(capacity);
  return fresh;
}

void give_back(std::vector<char>&& buffer) {
  std::vector<char> b = std::move(buffer); // whatever happens, the caller's is empty now
  size_t cap = b.capacity();
  if (cap < buffer_pool_min_capacity)
    return;
  auto& p = the_pool();
  {
    std::lock_guard<std::mutex> guard{p.mtx};
    if (p.bytes + cap <= buffer_pool_budget) {
      p.bytes += cap;
      p.free.push_back(std::move(b));
      return;
    }
  }
  // Over the budget: b is freed here, outside the lock.
}

size_t pooled_bytes() {
  auto& p = the_pool();
  std::lock_guard<std::mutex> guard{p.mtx};
  return p.bytes;
}

} // namespace dfs
