#define CAF_SUITE log
#include "tests/unit/test_helpers.hpp"

#include "common/log.hpp"

#include <string>
#include <vector>

using namespace dfs;

CAF_TEST(the limiter admits per_second lines a second and counts the rest) {
  log::limiter lines;
  auto t0 = log::limiter::clock::now();
  uint64_t left_out = 99;
  for (int i = 0; i < log::limiter::per_second; ++i) {
    CAF_CHECK(lines.admit(left_out, t0));
    CAF_CHECK_EQUAL(left_out, 0u);
  }
  CAF_CHECK(!lines.admit(left_out, t0));
  CAF_CHECK(!lines.admit(left_out, t0 + std::chrono::milliseconds{999}));
  // The next second: the first line says how many were left out.
  CAF_CHECK(lines.admit(left_out, t0 + std::chrono::seconds{1}));
  CAF_CHECK_EQUAL(left_out, 2u);
  CAF_CHECK_EQUAL(log::left_out_note(2), " (and 2 more like it, not logged)");
  CAF_CHECK_EQUAL(log::left_out_note(0), "");
}

CAF_TEST(printable escapes control characters and backslashes only) {
  CAF_CHECK_EQUAL(log::printable("photos/cat.jpg"), "photos/cat.jpg");
  CAF_CHECK_EQUAL(log::printable("a\nb\rc\td"), "a\\nb\\rc\\td");
  CAF_CHECK_EQUAL(log::printable("back\\slash"), "back\\\\slash");
  CAF_CHECK_EQUAL(log::printable(std::string{"\x01\x1b[31m\x7f", 7}), "\\x01\\x1b[31m\\x7f");
  CAF_CHECK_EQUAL(log::printable("caf\xc3\xa9"), "caf\xc3\xa9"); // UTF-8 stays
}

CAF_TEST(a logged line is one line whatever its key holds) {
  std::vector<std::string> lines;
  log::set_sink([&](log::level, const std::string& line) { lines.push_back(line); });
  DFS_WARN("put_session", "put of 'evil\n2026-01-01T00:00:00.000Z ERROR [node] forged' failed");
  log::set_sink({});
  CAF_REQUIRE_EQUAL(lines.size(), 1u);
  CAF_CHECK_EQUAL(lines[0].find('\n'), std::string::npos);
  CAF_CHECK_NOT_EQUAL(lines[0].find("put of 'evil\\n2026-01-01T00:00:00.000Z ERROR [node] forged'"),
                      std::string::npos);
}
