#pragma once
// Whole-file writes and reads that bypass the page cache (O_DIRECT), for chunk files.
//
// Why: copying a chunk into the page cache can cost more CPU than anything else in a put. A
// fresh page-cache page is faulted in on first touch, and in a VM that fault traps to the
// host, so a buffered write of a GiB costs many times the system time of a direct one. With
// R = 3 on one machine every byte of a put is written three times. Reads bypass the cache too:
// a chunk written this way is not cached anyway, and a cold buffered read pays the same
// first-touch cost. Manifests, small and read often, keep the page cache. The figures are in
// docs/PERFORMANCE.md, "Large put".
//
// O_DIRECT wants the memory address, the file offset and the length aligned to the device's
// block. In the node, chunk buffers are vectors whose memory is 4 KiB-aligned
// (storage/buffer_memory.hpp), so whole blocks are written straight from them and a read
// fills them straight, last block included (read_all makes room for it). A write's last
// partial block, and memory that is not aligned, pass through one aligned buffer per thread
// (`bounce_size` bytes): a memcpy per byte, still far cheaper than the page-cache fault. That
// last block is written padded and the file is then truncated to its size.
//
// A file system without O_DIRECT (tmpfs, some network file systems) refuses it with EINVAL;
// the functions then fall back to ordinary buffered I/O, so nothing breaks, it is only slower.
#include <cstddef>
#include <string>
#include <vector>

#include <sys/types.h>

namespace dfs {

/// Whether a whole-file write or read goes through the page cache (manifests, the node's
/// identity) or past it (chunks; see above).
enum class page_cache { use, bypass };

} // namespace dfs

namespace dfs::uncached {

/// Alignment of addresses, offsets and lengths for O_DIRECT: a page covers every block size in
/// use (512 B and 4 KiB sectors).
inline constexpr size_t block_size = 4096;

/// Bytes moved per system call; also the size of the per-thread aligned buffer.
inline constexpr size_t bounce_size = 1u << 20;

/// Like mkostemp(path_template, O_CLOEXEC), with O_DIRECT where the file system allows it.
/// Returns the descriptor, or -1 with errno set.
int make_temporary(std::string& path_template);

/// Opens `path` read-only, with O_DIRECT where the file system allows it. -1 with errno set.
int open_for_reading(const std::string& path);

/// Writes `size` bytes at the start of a new, empty file opened by make_temporary, leaving the
/// file exactly `size` bytes long. 0, or the errno of the failed call.
int write_all(int fd, const char* data, size_t size);

/// Reads up to `size` bytes from the start of a file opened by open_for_reading into `out`,
/// which ends up holding exactly the bytes read (whatever it held before is overwritten). Give
/// it a scratch buffer (take_scratch_buffer): only room past its old size is zero-filled
/// first. The number of bytes read (fewer if the file is shorter), or -errno.
ssize_t read_all(int fd, std::vector<char>& out, size_t size);

} // namespace dfs::uncached
