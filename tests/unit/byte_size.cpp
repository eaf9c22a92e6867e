#define CAF_SUITE byte_size
#include "tests/unit/test_helpers.hpp"

#include "common/byte_size.hpp"

#include <string>

using namespace dfs;

namespace {

/// The parsed size, or 12345 (a value no test text means) when the text is refused.
uint64_t size(const std::string& text) { return parse_byte_size(text).value_or(12345); }

bool refused(const std::string& text) { return !parse_byte_size(text); }

} // namespace

CAF_TEST(plain numbers are bytes) {
  CAF_CHECK_EQUAL(size("0"), 0u);
  CAF_CHECK_EQUAL(size("4096"), 4096u);
  CAF_CHECK_EQUAL(size("0004096"), 4096u);
  CAF_CHECK_EQUAL(size("4096B"), 4096u);
  CAF_CHECK_EQUAL(size("18446744073709551615"), UINT64_MAX);
}

CAF_TEST(a letter alone or with iB is a power of 1024) {
  CAF_CHECK_EQUAL(size("4K"), 4096u);
  CAF_CHECK_EQUAL(size("4k"), 4096u);
  CAF_CHECK_EQUAL(size("4KiB"), 4096u);
  CAF_CHECK_EQUAL(size("4M"), 4u << 20);
  CAF_CHECK_EQUAL(size("4MiB"), 4u << 20);
  CAF_CHECK_EQUAL(size("1G"), 1u << 30);
  CAF_CHECK_EQUAL(size("1GiB"), 1u << 30);
  CAF_CHECK_EQUAL(size("2T"), 2ull << 40);
  CAF_CHECK_EQUAL(size("2TiB"), 2ull << 40);
}

CAF_TEST(a letter with B alone is a power of 1000) {
  CAF_CHECK_EQUAL(size("4KB"), 4000u);
  CAF_CHECK_EQUAL(size("4kB"), 4000u);
  CAF_CHECK_EQUAL(size("4MB"), 4000000u);
  CAF_CHECK_EQUAL(size("3GB"), 3000000000u);
  CAF_CHECK_EQUAL(size("2TB"), 2000000000000u);
}

CAF_TEST(whitespace around the text and before the unit is ignored) {
  CAF_CHECK_EQUAL(size(" 4MiB"), 4u << 20);
  CAF_CHECK_EQUAL(size("4MiB\t"), 4u << 20);
  CAF_CHECK_EQUAL(size("4 MiB"), 4u << 20);
  CAF_CHECK_EQUAL(size("\t64 KB \r\n"), 64000u);
}

CAF_TEST(the values the README and the tools use are valid) {
  for (auto text : {"4MiB", "512MiB", "256MiB", "65MiB", "64MiB", "32MiB", "0", "1GiB", "2GiB",
                    "4GiB", "4KiB", "10GiB", "500MB", "16777216"})
    if (refused(text))
      CAF_FAIL("refused '" << text << "'");
}

CAF_TEST(empty text and text without digits are refused) {
  for (auto text : {"", " ", "\t", "B", "MiB", "K", "iB"})
    if (!refused(text))
      CAF_FAIL("accepted '" << text << "'");
}

CAF_TEST(signs fractions and other notations are refused) {
  for (auto text : {"-1", "-1MiB", "+1", "1.5MiB", "1,5MiB", "0x10", "1e6", "1_000", "4 M B"})
    if (!refused(text))
      CAF_FAIL("accepted '" << text << "'");
}

CAF_TEST(unknown units are refused and units are case-sensitive) {
  for (auto text : {"4XB", "4MiBs", "4mib", "4m", "4mb", "4g", "4Kib", "4KIB", "4kiB", "4P",
                    "4PiB", "4 bytes", "4b", "4BB"})
    if (!refused(text))
      CAF_FAIL("accepted '" << text << "'");
}

CAF_TEST(sizes beyond 64 bits are refused) {
  for (auto text : {"18446744073709551616", "99999999999999999999999999", "17179869184GiB",
                    "18446744073709552KB", "16777216TiB", "18446745TB"})
    if (!refused(text))
      CAF_FAIL("accepted '" << text << "'");
  // The largest multiples that still fit.
  CAF_CHECK_EQUAL(size("17179869183GiB"), 17179869183ull << 30);
  CAF_CHECK_EQUAL(size("16777215TiB"), 16777215ull << 40);
  CAF_CHECK_EQUAL(size("18446744TB"), 18446744ull * 1000000000000ull);
}
