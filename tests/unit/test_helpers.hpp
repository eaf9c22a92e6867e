#pragma once
// Shared by the unit-test suites. Include after `#define CAF_SUITE name`.
#define FAIL(msg) CAF_FAIL(msg)
#include <caf/test/dsl.hpp>

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

} // namespace dfs::test
