#define CAF_SUITE secret_file
#include "tests/unit/test_helpers.hpp"

#include "common/secret_file.hpp"

#include <fstream>
#include <string>

using namespace dfs;

namespace {

struct fixture {
  test::temp_dir tmp;

  std::string write(const std::string& name, const std::string& bytes) {
    auto p = (tmp.path / name).string();
    std::ofstream{p, std::ios::binary} << bytes;
    return p;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(secret_file_tests, fixture)

CAF_TEST(the secret is the whole file without the line ends it finishes with) {
  auto key = std::string(64, 'a');
  for (auto ending : {"", "\n", "\n\n", "\r\n", "\r"}) {
    auto got = read_secret_file(write("key", key + ending));
    CAF_REQUIRE(got.secret);
    CAF_CHECK_EQUAL(*got.secret, key);
    CAF_CHECK_EQUAL(got.problem, "");
  }
}

CAF_TEST(a binary secret is kept byte for byte) {
  std::string key;
  for (int i = 0; i < 40; ++i)
    key += static_cast<char>(i * 7); // '\0' and '\n' inside stay
  auto got = read_secret_file(write("key", key));
  CAF_REQUIRE(got.secret);
  CAF_CHECK(*got.secret == key);
}

CAF_TEST(a missing file cannot be read) {
  auto got = read_secret_file((tmp.path / "nope").string());
  CAF_CHECK(!got.secret);
  CAF_CHECK_EQUAL(got.problem, "cannot read: No such file or directory");
}

CAF_TEST(a directory cannot be read) {
  auto got = read_secret_file(tmp.path.string());
  CAF_CHECK(!got.secret);
  CAF_CHECK_EQUAL(got.problem, "cannot read: Is a directory");
}

CAF_TEST(an empty file is too short) {
  auto got = read_secret_file(write("empty", ""));
  CAF_CHECK(!got.secret);
  CAF_CHECK_EQUAL(got.problem, "secret is 0 bytes, at least 32 are needed");
  got = read_secret_file(write("newlines", "\n\r\n"));
  CAF_CHECK_EQUAL(got.problem, "secret is 0 bytes, at least 32 are needed");
}

CAF_TEST(the line ends do not count toward the 32 bytes) {
  auto got = read_secret_file(write("short", std::string(31, 'x') + "\n"));
  CAF_CHECK(!got.secret);
  CAF_CHECK_EQUAL(got.problem, "secret is 31 bytes, at least 32 are needed");
  got = read_secret_file(write("enough", std::string(32, 'x') + "\n"));
  CAF_REQUIRE(got.secret);
  CAF_CHECK_EQUAL(got.secret->size(), 32u);
}

CAF_TEST(a file larger than 64 KiB is refused without reading it all) {
  auto got = read_secret_file(write("big", std::string(max_secret_file_size, 'x')));
  CAF_CHECK(got.secret);
  got = read_secret_file(write("bigger", std::string(max_secret_file_size + 1, 'x')));
  CAF_CHECK(!got.secret);
  CAF_CHECK_EQUAL(got.problem, "secret is larger than 65536 bytes");
  // An endless file ends at the cap, too.
  got = read_secret_file("/dev/zero");
  CAF_CHECK_EQUAL(got.problem, "secret is larger than 65536 bytes");
}

CAF_TEST_FIXTURE_SCOPE_END()
