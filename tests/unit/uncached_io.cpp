#define CAF_SUITE uncached_io
#include "tests/unit/test_helpers.hpp"

#include "storage/buffer_memory.hpp"
#include "storage/uncached_io.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <new>
#include <fstream>
#include <iterator>
#include <vector>

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

using namespace dfs;

namespace {

std::vector<char> pattern(size_t size) {
  std::vector<char> out(size);
  for (size_t i = 0; i < size; ++i)
    out[i] = static_cast<char>((i * 131 + i / 4096) & 0xff);
  return out;
}

std::vector<char> read_back(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
}

/// Pages of the file that are in the page cache (mincore over a mapping of it).
size_t cached_pages(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  struct stat st {};
  ::fstat(fd, &st);
  auto size = static_cast<size_t>(st.st_size);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  auto page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((size + page - 1) / page);
  ::mincore(map, size, resident.data());
  ::munmap(map, size);
  size_t n = 0;
  for (auto r : resident)
    n += r & 1;
  return n;
}

/// Whether the file system of `dir` takes O_DIRECT and keeps files out of memory (tmpfs
/// refuses O_DIRECT before Linux 6.6 and holds every page in memory after).
bool bypass_supported(const std::string& dir) {
  struct statfs fs {};
  if (::statfs(dir.c_str(), &fs) != 0 || fs.f_type == TMPFS_MAGIC)
    return false;
  auto probe = dir + "/probe.XXXXXX";
  int fd = ::mkostemp(probe.data(), O_DIRECT);
  if (fd < 0)
    return false;
  ::close(fd);
  ::unlink(probe.c_str());
  return true;
}

struct fixture {
  test::temp_dir dir;

  /// Writes `size` bytes to a new file the way chunk files are written; returns its path.
  std::string write_new_file(const char* data, size_t size) {
    auto path = (dir.path / "file.XXXXXX").string();
    int fd = uncached::make_temporary(path);
    CAF_REQUIRE(fd >= 0);
    CAF_REQUIRE_EQUAL(uncached::write_all(fd, data, size), 0);
    ::close(fd);
    return path;
  }
  std::string write_new_file(const std::vector<char>& data) {
    return write_new_file(data.data(), data.size());
  }
};

/// A copy of some bytes at a chosen distance past a 4 KiB boundary: 0 is the memory chunk
/// buffers have (written straight from it), anything else goes through the bounce buffer.
struct placed_copy {
  char* base = nullptr;
  char* data = nullptr;
  placed_copy(const std::vector<char>& bytes, size_t offset) {
    if (::posix_memalign(reinterpret_cast<void**>(&base), uncached::block_size,
                         bytes.size() + offset + 1)
        != 0)
      throw std::bad_alloc{};
    data = base + offset;
    std::copy(bytes.begin(), bytes.end(), data);
  }
  ~placed_copy() { std::free(base); }
  placed_copy(const placed_copy&) = delete;
  placed_copy& operator=(const placed_copy&) = delete;
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(uncached_io_tests, fixture)

CAF_TEST(files of every size round trip with their exact length) {
  // Sizes around the block and the bounce buffer, where padding and the tail are handled.
  for (size_t size : {size_t{0}, size_t{1}, size_t{4095}, size_t{4096}, size_t{4097},
                      uncached::bounce_size - 1, uncached::bounce_size, uncached::bounce_size + 1,
                      3 * uncached::bounce_size + 4096 + 28}) {
    CAF_MESSAGE("size " << size);
    auto data = pattern(size);
    for (size_t offset : {size_t{0}, size_t{16}}) { // from aligned memory, and not
      placed_copy from{data, offset};
      CAF_CHECK(read_back(write_new_file(from.data, size)) == data);
    }
    auto path = write_new_file(data);
    CAF_CHECK(read_back(path) == data);
    int rd = uncached::open_for_reading(path);
    CAF_REQUIRE(rd >= 0);
    // Into a buffer that holds other bytes, more than the file has (a recycled one).
    std::vector<char> got(size + 5000, '>');
    auto n = uncached::read_all(rd, got, size + 100); // more than the file holds
    ::close(rd);
    CAF_CHECK_EQUAL(n, static_cast<ssize_t>(size));
    CAF_CHECK_EQUAL(got.size(), size);
    CAF_CHECK(got == data);
  }
}

CAF_TEST(chunk sized buffers are aligned for direct writes) {
#if defined(DFS_ADDRESS_SANITIZER)
  CAF_MESSAGE("skipped: AddressSanitizer builds keep the library's operator new");
#else
  for (size_t size : {size_t{1} << 20, size_t{4} << 20, (size_t{4} << 20) + 28}) {
    std::vector<char> v;
    v.reserve(size);
    CAF_CHECK_EQUAL(reinterpret_cast<uintptr_t>(v.data()) % large_allocation_alignment, 0u);
  }
#endif
}

CAF_TEST(a descriptor without O_DIRECT reads through the page cache) {
  auto size = uncached::bounce_size + 4097;
  auto data = pattern(size);
  auto path = (dir.path / "plain").string();
  std::ofstream{path, std::ios::binary}.write(data.data(), static_cast<std::streamsize>(size));
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  CAF_REQUIRE(fd >= 0);
  std::vector<char> got{'>', '>'};
  auto n = uncached::read_all(fd, got, size + 10);
  ::close(fd);
  CAF_CHECK_EQUAL(n, static_cast<ssize_t>(size));
  CAF_CHECK(got == data);
}

CAF_TEST(written and read bytes stay out of the page cache) {
  if (!bypass_supported(dir.path.string())) {
    CAF_MESSAGE("skipped: the file system of " << dir.path
                                                << " does not take O_DIRECT, or is in memory");
    return;
  }
  auto size = 2 * uncached::bounce_size + 100;
  auto data = pattern(size);
  auto path = write_new_file(data);
  CAF_CHECK_EQUAL(cached_pages(path), 0u);
  int rd = uncached::open_for_reading(path);
  std::vector<char> got;
  CAF_CHECK_EQUAL(uncached::read_all(rd, got, size), static_cast<ssize_t>(size));
  ::close(rd);
  CAF_CHECK(got == data);
  CAF_CHECK_EQUAL(cached_pages(path), 0u);
}

CAF_TEST_FIXTURE_SCOPE_END()
