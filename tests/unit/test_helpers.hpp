#pragma once
// Shared by the unit-test suites. Include after `#define CAF_SUITE name`.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "common/manifest.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

namespace dfs::test {

/// The bytes of a text, as a buffer.
inline byte_buffer bytes_of(const std::string& text) { return byte_buffer(text.begin(), text.end()); }

/// A fresh directory under the system's temp dir, removed when the fixture ends.
struct temp_dir {
  std::filesystem::path path;
  temp_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "dfs-test-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
};

/// How many entries a directory holds.
inline size_t files_in(const std::filesystem::path& dir) {
  return static_cast<size_t>(std::distance(std::filesystem::directory_iterator{dir},
                                           std::filesystem::directory_iterator{}));
}

/// Flips one bit of the byte at `offset` in a file, as a failing disk would.
inline void flip_byte(const std::filesystem::path& p, std::streamoff offset) {
  std::fstream f{p, std::ios::in | std::ios::out | std::ios::binary};
  f.seekg(offset);
  char c = 0;
  f.get(c);
  f.seekp(offset);
  f.put(static_cast<char>(c ^ 0x01));
}

/// The manifest of an inline file of `size` bytes, as a put session stores a small file, with
/// stand-in sealed bytes of the right length (nothing in these tests opens them).
inline manifest inline_file_manifest(const std::string& key, size_t size, uint64_t hlc = 1,
                                     const std::string& node_id = "node-a") {
  manifest m;
  m.key = key;
  m.size = size;
  m.version = version{hlc, node_id};
  m.inline_data = byte_buffer(size + chunk_cipher::overhead, 'i');
  return m;
}

} // namespace dfs::test
