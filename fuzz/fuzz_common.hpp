#pragma once
// Shared by the libFuzzer harnesses in fuzz/: an invariant check that aborts (libFuzzer then
// saves the input as a crash file), an allocation meter for "a decoder never allocates more
// than its input could hold", a scratch directory for the harnesses that read files, and a
// small deterministic byte source.
#include "common/log.hpp"

#include <sanitizer/allocator_interface.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <system_error>

#include <unistd.h>

/// Like assert, but always on and with the failed condition named on stderr.
#define FUZZ_CHECK(cond)                                                                \
  do {                                                                                  \
    if (!(cond)) {                                                                      \
      std::fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                     \
    }                                                                                   \
  } while (false)

namespace dfs::fuzz {

/// Counts the bytes malloc'd while a meter is active (through the sanitizer's malloc hook, so
/// operator new, std::string and std::vector are all seen). The harnesses are single-threaded.
struct alloc_meter {
  static inline bool active = false;
  static inline size_t total = 0;
  static inline size_t largest = 0;

  static void on_malloc(const volatile void*, size_t size) {
    if (!active)
      return;
    total += size;
    if (size > largest)
      largest = size;
  }
  static void on_free(const volatile void*) {}

  /// Call once from LLVMFuzzerInitialize.
  static void install() { __sanitizer_install_malloc_and_free_hooks(&on_malloc, &on_free); }

  alloc_meter() {
    total = 0;
    largest = 0;
    active = true;
  }
  ~alloc_meter() { active = false; }
  alloc_meter(const alloc_meter&) = delete;
  alloc_meter& operator=(const alloc_meter&) = delete;
};

/// Cuts an input into the pieces a network might deliver: the whole rest when `seed` is 0,
/// otherwise 1..max_piece bytes at a time from a seeded xorshift (the same cuts for the same
/// seed, so a crash reproduces).
class piece_splitter {
public:
  piece_splitter(uint8_t seed, size_t max_piece)
    : seed_(seed), max_piece_(max_piece), x_(seed * 2654435761u + 1) {}

  /// The size of the next piece, with `left` bytes still to deliver.
  size_t next(size_t left) {
    if (seed_ == 0)
      return left;
    x_ ^= x_ << 13, x_ ^= x_ >> 17, x_ ^= x_ << 5;
    return std::min<size_t>(left, 1 + x_ % max_piece_);
  }

private:
  uint8_t seed_;
  size_t max_piece_;
  uint32_t x_;
};

/// Silences the node's logger (a harness runs millions of inputs that log warnings).
inline void quiet_log() { log::set_level(log::level::error); }

/// A fresh directory of this process under $TMPDIR (scripts/fuzz.sh points TMPDIR at a scratch
/// directory that it removes afterwards), created on first use.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    auto tmpl = (std::filesystem::temp_directory_path()
                 / ("dfs-fuzz-" + std::to_string(::getpid()) + "-XXXXXX"))
                  .string();
    if (::mkdtemp(tmpl.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    static std::string to_remove;
    to_remove = tmpl;
    // libFuzzer ends a run with exit(): leave nothing behind (a crash leaves it for a look).
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(to_remove, ec);
    });
    return std::filesystem::path{tmpl};
  }();
  return dir;
}

/// Empties a directory (and creates it if needed).
inline void reset_dir(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
}

/// Reads the fuzzer's input front to back; past the end every read yields zeros.
class byte_source {
public:
  byte_source(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool empty() const { return pos_ >= size_; }
  size_t remaining() const { return empty() ? 0 : size_ - pos_; }
  uint8_t u8() { return empty() ? 0 : data_[pos_++]; }
  uint16_t u16() { return static_cast<uint16_t>(u8() | (u8() << 8)); }
  uint32_t u32() { return static_cast<uint32_t>(u16() | (uint32_t{u16()} << 16)); }
  /// Up to n bytes (fewer at the end of the input).
  std::string bytes(size_t n) {
    n = std::min(n, remaining());
    std::string out(reinterpret_cast<const char*>(data_ + pos_), n);
    pos_ += n;
    return out;
  }
  /// A string of u8() bytes' length (0..max_len).
  std::string str(size_t max_len = 255) { return bytes(std::min<size_t>(u8(), max_len)); }
  std::string rest() { return bytes(remaining()); }

private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

} // namespace dfs::fuzz
