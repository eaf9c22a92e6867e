#define CAF_SUITE buffer_pool
#include "tests/unit/test_helpers.hpp"

#include "common/buffer_pool.hpp"

#include <vector>

using namespace dfs;

namespace {

constexpr size_t chunk = 4u << 20;

/// Empties the pool (it is process-wide and other suites may have left buffers in it).
void drain() {
  std::vector<std::vector<char>> held;
  while (pooled_bytes() > 0)
    held.push_back(take_buffer(buffer_pool_min_capacity));
}

} // namespace

CAF_TEST(a chunk buffer given back is the next one taken and comes back empty) {
  drain();
  auto a = take_buffer(chunk);
  CAF_CHECK_GREATER_OR_EQUAL(a.capacity(), chunk + 28); // room for the chunk sealed
  a.assign(chunk, 'x');
  const char* where = a.data();
  give_back(std::move(a));
  CAF_CHECK(a.empty());
  CAF_CHECK_GREATER_OR_EQUAL(pooled_bytes(), chunk);
  auto b = take_buffer(chunk);
  CAF_CHECK_EQUAL(b.data(), where); // the same memory: no fresh mapping to fault in
  CAF_CHECK(b.empty());
  CAF_CHECK_EQUAL(pooled_bytes(), 0u);
}

CAF_TEST(a scratch buffer keeps the size it was given back with) {
  // So that a caller about to overwrite it does not zero-fill it first.
  drain();
  auto a = take_buffer(chunk);
  a.assign(chunk, 'x');
  const char* where = a.data();
  give_back(std::move(a));
  auto b = take_scratch_buffer(chunk);
  CAF_CHECK_EQUAL(b.data(), where);
  CAF_CHECK_EQUAL(b.size(), chunk);
  CAF_CHECK_EQUAL(pooled_bytes(), 0u);
  CAF_CHECK(take_scratch_buffer(chunk).empty()); // a new one has no old size
}

CAF_TEST(small buffers are not kept and the pool stays within its budget) {
  drain();
  std::vector<char> small;
  small.reserve(buffer_pool_min_capacity / 2);
  give_back(std::move(small));
  CAF_CHECK_EQUAL(pooled_bytes(), 0u);
  for (size_t i = 0; i < 2 * buffer_pool_budget / chunk; ++i) {
    std::vector<char> v;
    v.reserve(chunk);
    give_back(std::move(v));
  }
  CAF_CHECK_LESS_OR_EQUAL(pooled_bytes(), buffer_pool_budget);
  CAF_CHECK_GREATER(pooled_bytes(), buffer_pool_budget - chunk);
  drain();
}

CAF_TEST(a request larger than every pooled buffer gets a new one) {
  drain();
  give_back(take_buffer(chunk));
  auto big = take_buffer(2 * chunk);
  CAF_CHECK_GREATER_OR_EQUAL(big.capacity(), 2 * chunk);
  CAF_CHECK_GREATER_OR_EQUAL(pooled_bytes(), chunk); // the small one is still there
  drain();
}
