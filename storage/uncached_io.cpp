#include "storage/uncached_io.hpp"

#include "common/log.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

namespace dfs::uncached {

namespace {

constexpr size_t block = block_size;

size_t round_up(size_t n) { return (n + block - 1) / block * block; }

/// This thread's aligned buffer, allocated on first use and kept for the thread's life.
char* bounce_buffer() {
  struct aligned_free {
    void operator()(char* p) const { std::free(p); }
  };
  thread_local std::unique_ptr<char, aligned_free> buffer{
    static_cast<char*>(std::aligned_alloc(block, bounce_size))};
  return buffer.get();
}

/// Says once per process that a file system refused O_DIRECT: the node still works, only
/// slower, and whoever wonders why should find it in the log.
void note_fallback(const std::string& path) {
  static std::atomic<bool> noted{false};
  if (!noted.exchange(true))
    DFS_WARN("store", "the file system of " << path << " refuses O_DIRECT: chunk files go "
                                                       "through the page cache instead");
}

bool is_direct(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  return flags >= 0 && (flags & O_DIRECT) != 0;
}

/// From here on the descriptor does ordinary buffered I/O.
void stop_bypassing(int fd) {
  int flags = ::fcntl(fd, F_GETFL);
  if (flags >= 0)
    ::fcntl(fd, F_SETFL, flags & ~O_DIRECT);
}

/// The aligned buffer for a descriptor opened with O_DIRECT; nullptr for any other, or when
/// the buffer cannot be had (out of memory), in which case the descriptor stops bypassing the
/// cache so that ordinary unaligned I/O works on it.
char* direct_buffer_for(int fd) {
  if (!is_direct(fd))
    return nullptr;
  char* bounce = bounce_buffer();
  if (bounce == nullptr)
    stop_bypassing(fd);
  return bounce;
}

} // namespace

int make_temporary(std::string& path_template) {
  auto pristine = path_template; // mkostemp leaves its last try in the template when it fails
  int fd = ::mkostemp(path_template.data(), O_CLOEXEC | O_DIRECT);
  if (fd < 0 && errno == EINVAL) {
    note_fallback(pristine);
    path_template = pristine;
    fd = ::mkostemp(path_template.data(), O_CLOEXEC);
  }
  return fd;
}

int open_for_reading(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_DIRECT);
  if (fd < 0 && errno == EINVAL) {
    note_fallback(path);
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  }
  return fd;
}

int write_all(int fd, const char* data, size_t size) {
  size_t done = 0;
  bool padded = false;
  char* bounce = direct_buffer_for(fd);
  while (bounce != nullptr && done < size) {
    size_t n = 0;             // bytes of data this write covers
    size_t whole_blocks = 0;  // what it writes: n, or n padded to the next block
    const char* from = nullptr;
    if (reinterpret_cast<uintptr_t>(data + done) % block == 0 && size - done >= block) {
      n = whole_blocks = (size - done) / block * block; // aligned memory: no copy
      from = data + done;
    } else {
      n = std::min(bounce_size, size - done);
      whole_blocks = round_up(n);
      std::memcpy(bounce, data + done, n);
      std::memset(bounce + n, 0, whole_blocks - n);
      from = bounce;
    }
    auto written = ::pwrite(fd, from, whole_blocks, static_cast<off_t>(done));
    if (written < 0 && errno == EINTR)
      continue;
    if (written < 0 && errno != EINVAL)
      return errno;
    padded = padded || whole_blocks != n;
    if (written < 0 || static_cast<size_t>(written) < whole_blocks) {
      // EINVAL: this file system wants another alignment. A short write leaves the offset
      // unaligned. Either way the rest goes through the page cache.
      if (written > 0)
        done += std::min(n, static_cast<size_t>(written));
      stop_bypassing(fd);
      bounce = nullptr;
      break;
    }
    done += n;
  }
  while (done < size) {
    auto written = ::pwrite(fd, data + done, size - done, static_cast<off_t>(done));
    if (written < 0 && errno == EINTR)
      continue;
    if (written < 0)
      return errno;
    done += static_cast<size_t>(written);
  }
  // The padding of the last block is not part of the file.
  if (padded && ::ftruncate(fd, static_cast<off_t>(size)) != 0)
    return errno;
  return 0;
}

ssize_t read_all(int fd, std::vector<char>& out, size_t size) {
  char* bounce = direct_buffer_for(fd);
  // Direct reads come in whole blocks, so out needs room for the last one. A scratch buffer
  // already has most of it: resize() zero-fills only what it adds.
  out.resize(bounce != nullptr ? round_up(size) : size);
  // Aligned memory (a chunk buffer) takes the blocks straight from the disk.
  bool straight_into_out =
    bounce != nullptr && reinterpret_cast<uintptr_t>(out.data()) % block == 0;
  size_t done = 0;
  auto finish = [&out, &done] {
    out.resize(done);
    return static_cast<ssize_t>(done);
  };
  while (bounce != nullptr && done < size) {
    char* dst = straight_into_out ? out.data() + done : bounce;
    size_t want =
      straight_into_out ? out.size() - done : std::min(bounce_size, round_up(size - done));
    auto got = ::pread(fd, dst, want, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0 && errno == EINVAL) {
      stop_bypassing(fd); // this file system wants another alignment
      break;
    }
    if (got < 0) {
      int code = errno;
      finish();
      return -code;
    }
    auto useful = std::min(static_cast<size_t>(got), size - done);
    if (!straight_into_out)
      std::memcpy(out.data() + done, bounce, useful);
    done += useful;
    // A read that ends inside a block ended at the end of the file. One that stopped short
    // on a block boundary may have been cut short: only a read of nothing says the end.
    if (got == 0 || static_cast<size_t>(got) % block != 0)
      return finish();
  }
  while (done < size) {
    auto got = ::pread(fd, out.data() + done, size - done, static_cast<off_t>(done));
    if (got < 0 && errno == EINTR)
      continue;
    if (got < 0) {
      int code = errno;
      finish();
      return -code;
    }
    if (got == 0)
      break;
    done += static_cast<size_t>(got);
  }
  return finish();
}

} // namespace dfs::uncached
