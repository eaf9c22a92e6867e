#pragma once
// Chunk-sized buffers (megabytes each) are allocated and freed all the time: frames from
// clients, sealed chunks, copies in connection write buffers. glibc serves a large allocation
// with mmap and raises its mmap threshold to the size of every mmapped block that is freed, so
// after the first few chunks such buffers come from the heap, where freed ones stay as RSS: a
// node's resident memory then grows to the high-water mark of all buffers ever in flight at
// once and stays there. Fixing the threshold at 1 MiB keeps chunk buffers mmapped and returns
// them to the system when freed, which halves a large put's peak RSS at the same speed
// (docs/PERFORMANCE.md, "Memory").
//
// In the node, chunk-sized allocations are also aligned to 4 KiB (storage/aligned_new.cpp
// replaces the global operator new for them, in dfs-node and dfs-test only), so that chunk
// files are written and read with O_DIRECT straight from and into a chunk's vector instead of
// through a bounce buffer (storage/uncached_io.hpp). Smaller allocations go to malloc as
// ever; operator delete stays the library's (free), which takes both. Builds with
// AddressSanitizer keep the library's operator new, whose deletes it checks.
#include "storage/uncached_io.hpp"

#include <cstddef>

// Set in builds with AddressSanitizer (g++ or clang), which keep the library's operator new.
#if defined(__SANITIZE_ADDRESS__)
#define DFS_ADDRESS_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define DFS_ADDRESS_SANITIZER 1
#endif
#endif

namespace dfs {

/// Allocations of at least this many bytes get memory aligned for O_DIRECT.
inline constexpr size_t aligned_allocation_threshold = 1u << 20;
inline constexpr size_t large_allocation_alignment = uncached::block_size;

/// Sets the allocator up for chunk-sized buffers (see above). Process-wide and idempotent;
/// meant for the start of a node (the store actor calls it when it opens).
void return_large_buffers_to_the_system();

} // namespace dfs
