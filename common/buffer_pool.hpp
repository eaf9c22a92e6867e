#pragma once
// Chunk-sized buffers, recycled. A node allocates megabyte buffers all the time (a chunk read
// from disk, a frame's payload, a sealed chunk) and glibc serves each with a fresh mmap, since
// storage/buffer_memory.cpp keeps them out of the heap so that freed ones go back to the system.
// Every fresh mapping costs a page fault and a zeroed page per 4 KiB: a quarter of the node's
// CPU in a large get or put. Where a buffer's last user knows it is done (the connection that
// wrote a get's chunk to the socket, the client that handed a chunk to its sink, the put that
// sealed a chunk), it gives the buffer back here, and the next reader of a chunk takes it.
//
// The pool is bounded (buffer_pool_budget bytes of free buffers, each at least
// buffer_pool_min_capacity), so it adds at most that much to the resident memory; a buffer
// given back when the pool is full is freed as before. Thread-safe.
#include <cstddef>
#include <vector>

namespace dfs {

/// Free buffers the pool keeps at most, in bytes of capacity.
inline constexpr size_t buffer_pool_budget = 32u << 20;
/// Smaller buffers are not worth keeping: glibc's heap serves them without a fresh mapping.
inline constexpr size_t buffer_pool_min_capacity = 1u << 20;

/// A new buffer is at most this much larger than asked for (see take_buffer).
inline constexpr size_t buffer_pool_headroom = 128u << 10;

/// An empty buffer with room for at least `capacity` bytes: a recycled one if the pool has one
/// large enough, else a new one.
std::vector<char> take_buffer(size_t capacity);

/// Like take_buffer(), but a recycled buffer keeps the size and the bytes it had when it was
/// given back (a new one is empty). For a caller that overwrites every byte it uses: resize()
/// then zero-fills only past the old size, instead of 4 MiB about to be overwritten anyway.
std::vector<char> take_scratch_buffer(size_t capacity);

/// Hands a buffer back for reuse. Small buffers, and any beyond the budget, are freed.
void give_back(std::vector<char>&& buffer);

/// Free bytes held right now (for tests).
size_t pooled_bytes();

} // namespace dfs
