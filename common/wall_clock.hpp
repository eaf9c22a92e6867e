#pragma once
// The node's wall clock: what the hybrid clock follows and what a replica measures a version's
// distance into the future against. One function, so that a test can run a node with its clock
// ahead or behind (DFS_TEST_CLOCK_OFFSET) without faking the time of the whole process.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace dfs {

/// [cluster] max_clock_skew's default: how far ahead of a node's wall clock a version may be.
inline constexpr std::chrono::seconds default_max_clock_skew{60};

/// For tests only: the environment variable that shifts this node's wall clock by whole seconds
/// (e.g. 3600 or -3600), read once. Unset in production; a node logs a warning when it is set.
inline constexpr const char* test_clock_offset_variable = "DFS_TEST_CLOCK_OFFSET";

/// Milliseconds since the Unix epoch by the system clock, shifted by DFS_TEST_CLOCK_OFFSET.
uint64_t wall_clock_ms();

/// DFS_TEST_CLOCK_OFFSET in seconds: 0 when unset, nullopt when it is not a whole number of
/// seconds within ten years (the node refuses to start then; wall_clock_ms ignores it).
std::optional<int64_t> test_clock_offset_seconds();

/// Adds without wrapping: UINT64_MAX when the sum does not fit.
constexpr uint64_t saturating_add(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

} // namespace dfs
