#include "storage/buffer_memory.hpp"

#include <malloc.h>

namespace dfs {

void return_large_buffers_to_the_system() {
#ifdef M_MMAP_THRESHOLD
  // Setting it explicitly also turns glibc's dynamic adjustment off.
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
#endif
}

} // namespace dfs
