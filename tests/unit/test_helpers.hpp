#pragma once
// Shared by the unit-test suites. Include after `#define CAF_SUITE name`.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

#include "storage/manifest.hpp"

#include <cstdlib>
#include <filesystem>
#include <string>

namespace dfs::test {

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
