// The node's allocation function for chunk-sized buffers: see storage/buffer_memory.hpp.
//
// Linked into dfs-node and dfs-test only (CMakeLists.txt), never into dfs_storage or the client
// library: an application that links dfs_client keeps its own allocator.
#include "storage/buffer_memory.hpp"

#include <cstdlib>
#include <new>

#ifndef DFS_ADDRESS_SANITIZER
// The replaceable allocation function (C++17 [new.delete.single]): the library's calls
// malloc, and every other form (new[], nothrow) calls this one. Memory from posix_memalign is
// freed by free(), which is what the library's operator delete calls.
void* operator new(std::size_t size) {
  for (;;) {
    void* p = nullptr;
    if (size >= dfs::aligned_allocation_threshold) {
      if (::posix_memalign(&p, dfs::large_allocation_alignment, size) != 0)
        p = nullptr;
    } else {
      p = std::malloc(size == 0 ? 1 : size);
    }
    if (p != nullptr)
      return p;
    auto handler = std::get_new_handler();
    if (handler == nullptr)
      throw std::bad_alloc{};
    handler();
  }
}
#endif
