#include "common/pacer.hpp"

#include <algorithm>

namespace dfs {

void pacer::charge(clock::time_point now, uint64_t bytes) {
  if (rate_ == 0)
    return;
  next_ = std::max(now, next_)
          + std::chrono::duration_cast<clock::duration>(
            std::chrono::duration<double>(static_cast<double>(bytes) / static_cast<double>(rate_)));
}

} // namespace dfs
