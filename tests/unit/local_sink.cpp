#define CAF_SUITE local_sink
#include "tests/unit/test_helpers.hpp"

// The client library's local destination of a get (client/local.cpp): a regular file or a new
// name is written to a temporary file and renamed into place; anything else that exists (a
// FIFO, a device) is written in place, as cp does, and never replaced; a symbolic link is
// written through, or refused when it points nowhere.

#include "dfs/client.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <string>

using namespace dfs;
namespace fs = std::filesystem;

namespace {

struct fixture {
  test::temp_dir dir;

  std::string path(const std::string& name) const { return (dir.path / name).string(); }

  // Opens the sink for `target`, writes `text` and commits it; the first error, if any.
  std::optional<std::string> get_into(const std::string& target, const std::string& text) {
    auto sink = local_sink::open(target, "some/key");
    if (!sink)
      return sink.error().message;
    if (auto e = sink->write(text.data(), text.size()))
      return e->message;
    if (auto e = sink->commit())
      return e->message;
    return std::nullopt;
  }

  std::string read(const std::string& p) const {
    std::ifstream in{p, std::ios::binary};
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  }

  static bool is_fifo(const std::string& p) {
    struct stat st{};
    return ::lstat(p.c_str(), &st) == 0 && S_ISFIFO(st.st_mode);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(local_sink_tests, fixture)

CAF_TEST(a regular file is replaced whole) {
  auto p = path("file");
  std::ofstream{p} << "old content, longer than the new";
  CAF_CHECK_EQUAL(get_into(p, "new"), std::nullopt);
  CAF_CHECK_EQUAL(read(p), "new");
  CAF_CHECK_EQUAL(test::files_in(dir.path), 1u); // no temporary left
}

CAF_TEST(a fifo is written into and stays a fifo) {
  auto p = path("pipe");
  CAF_REQUIRE_EQUAL(::mkfifo(p.c_str(), 0600), 0);
  // Hold the pipe open for reading (O_RDWR does not block), so the sink's open does not wait.
  int reader = ::open(p.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC);
  CAF_REQUIRE(reader >= 0);
  CAF_CHECK_EQUAL(get_into(p, "through the pipe"), std::nullopt);
  char buf[64] = {};
  auto n = ::read(reader, buf, sizeof buf);
  ::close(reader);
  CAF_CHECK_EQUAL(std::string(buf, n > 0 ? static_cast<size_t>(n) : 0), "through the pipe");
  CAF_CHECK(is_fifo(p));
  CAF_CHECK_EQUAL(test::files_in(dir.path), 1u);
}

CAF_TEST(a character device is written into and stays a device) {
  // /dev/null's own numbers, on a node of our own: the test never touches the real one.
  auto p = path("null");
  if (::mknod(p.c_str(), S_IFCHR | 0666, makedev(1, 3)) != 0) {
    CAF_MESSAGE("skipped: mknod needs root (" << std::strerror(errno) << ")");
    return;
  }
  CAF_CHECK_EQUAL(get_into(p, "discarded"), std::nullopt);
  struct stat st{};
  CAF_REQUIRE_EQUAL(::lstat(p.c_str(), &st), 0);
  CAF_CHECK(S_ISCHR(st.st_mode));
  CAF_CHECK_EQUAL(test::files_in(dir.path), 1u);
}

CAF_TEST(a symbolic link is written through and stays a link) {
  auto file = path("real");
  auto link = path("link");
  std::ofstream{file} << "old";
  fs::create_symlink(file, link);
  CAF_CHECK_EQUAL(get_into(link, "new"), std::nullopt);
  CAF_CHECK(fs::is_symlink(link));
  CAF_CHECK_EQUAL(read(file), "new");
  CAF_CHECK_EQUAL(test::files_in(dir.path), 2u);
}

CAF_TEST(a dangling symbolic link is refused and left alone) {
  auto link = path("dangling");
  fs::create_symlink(path("nowhere"), link);
  auto err = get_into(link, "data");
  CAF_REQUIRE(err);
  CAF_CHECK(err->find("symbolic link") != std::string::npos);
  CAF_CHECK(fs::is_symlink(link));
  CAF_CHECK(!fs::exists(path("nowhere")));
  CAF_CHECK_EQUAL(test::files_in(dir.path), 1u);
}

CAF_TEST(a new name is created) {
  auto p = path("new-file");
  CAF_CHECK_EQUAL(get_into(p, "fresh"), std::nullopt);
  CAF_CHECK_EQUAL(read(p), "fresh");
}

CAF_TEST_FIXTURE_SCOPE_END()
