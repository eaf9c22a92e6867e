#define CAF_SUITE json_text
#include "tests/unit/test_helpers.hpp"

#include "common/json_text.hpp"

#include <string>

using namespace dfs;

CAF_TEST(plain text is quoted as it is) {
  CAF_CHECK_EQUAL(json_string(""), "\"\"");
  CAF_CHECK_EQUAL(json_string("photos/a.jpg"), "\"photos/a.jpg\"");
}

CAF_TEST(quotes and backslashes are escaped) {
  CAF_CHECK_EQUAL(json_string("say \"hi\""), "\"say \\\"hi\\\"\"");
  CAF_CHECK_EQUAL(json_string("a\\b"), "\"a\\\\b\"");
}

CAF_TEST(control characters are escaped so that the output stays one line) {
  CAF_CHECK_EQUAL(json_string("a\nb\rc\td"), "\"a\\nb\\rc\\td\"");
  CAF_CHECK_EQUAL(json_string(std::string("\0", 1)), "\"\\u0000\"");
  CAF_CHECK_EQUAL(json_string("\x01\x1b\x1f"), "\"\\u0001\\u001b\\u001f\"");
  CAF_CHECK_EQUAL(json_string("\x7f"), "\"\\u007f\"");
  CAF_CHECK_EQUAL(json_string(" ~"), "\" ~\"");
}

CAF_TEST(well formed UTF-8 is kept) {
  CAF_CHECK_EQUAL(json_string("caf\xc3\xa9"), "\"caf\xc3\xa9\"");              // U+00E9
  CAF_CHECK_EQUAL(json_string("\xe2\x82\xac"), "\"\xe2\x82\xac\"");             // U+20AC
  CAF_CHECK_EQUAL(json_string("\xf0\x9f\x98\x80"), "\"\xf0\x9f\x98\x80\"");     // U+1F600
  CAF_CHECK_EQUAL(json_string("\xf4\x8f\xbf\xbf"), "\"\xf4\x8f\xbf\xbf\"");     // U+10FFFF
}

CAF_TEST(bytes that are not well formed UTF-8 become U+FFFD one by one) {
  CAF_CHECK_EQUAL(json_string("\xff"), "\"\\ufffd\"");
  CAF_CHECK_EQUAL(json_string("a\x80z"), "\"a\\ufffdz\"");                       // lone continuation
  CAF_CHECK_EQUAL(json_string("\xc3"), "\"\\ufffd\"");                           // cut short at the end
  CAF_CHECK_EQUAL(json_string("\xc3z"), "\"\\ufffdz\"");                         // cut short
  CAF_CHECK_EQUAL(json_string("\xc0\xaf"), "\"\\ufffd\\ufffd\"");                // overlong '/'
  CAF_CHECK_EQUAL(json_string("\xe0\x80\xaf"), "\"\\ufffd\\ufffd\\ufffd\"");     // overlong
  CAF_CHECK_EQUAL(json_string("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");     // surrogate D800
  CAF_CHECK_EQUAL(json_string("\xf4\x90\x80\x80"),
                  "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");                           // past U+10FFFF
  CAF_CHECK_EQUAL(json_string("\xf5\x80\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");
}
