#define CAF_SUITE host_port
#include "tests/unit/test_helpers.hpp"

#include "common/host_port.hpp"
#include "dfs/client.hpp"

#include <string>

using namespace dfs;

namespace {

/// The address as to_string() writes it, or "none" when `text` does not parse.
std::string reparsed(const std::string& text) {
  auto result = parse_host_port(text);
  return result ? result->to_string() : std::string("none");
}

} // namespace

CAF_TEST(host and port) {
  CAF_CHECK_EQUAL(reparsed("127.0.0.1:7001"), "127.0.0.1:7001");
  CAF_CHECK_EQUAL(reparsed("localhost:1"), "localhost:1");
  CAF_CHECK_EQUAL(reparsed("node-a.example.org:65535"), "node-a.example.org:65535");
  CAF_CHECK_EQUAL(reparsed("h:080"), "h:80");
  // CAF_CHECK_EQUAL keeps references to its arguments: compare named values, not temporaries.
  auto plain = parse_host_port("node-b:7002");
  CAF_REQUIRE(plain);
  auto plain_host = plain->host;
  auto plain_port = plain->port;
  CAF_CHECK_EQUAL(plain_host, "node-b");
  CAF_CHECK_EQUAL(plain_port, 7002u);
}

CAF_TEST(an IPv6 address is written in brackets and read back without them) {
  auto bracketed = parse_host_port("[::1]:7001");
  CAF_REQUIRE(bracketed);
  auto host = bracketed->host;
  CAF_CHECK_EQUAL(host, "::1");
  auto written = bracketed->to_string();
  CAF_CHECK_EQUAL(written, "[::1]:7001");
  CAF_CHECK(parse_host_port(written) == bracketed);
  CAF_CHECK_EQUAL(reparsed("[fe80::1:2]:80"), "[fe80::1:2]:80");
  // Brackets around a host without ':' are allowed and not needed.
  CAF_CHECK_EQUAL(reparsed("[node-a]:7001"), "node-a:7001");
}

CAF_TEST(a bare IPv6 address is refused) {
  // Its port could be read two ways ("::1:7001" is also the address ::1:7001 without a port).
  CAF_CHECK(!parse_host_port("::1:7001"));
  CAF_CHECK(!parse_host_port("fe80::1:80"));
  auto why = host_port_problem("::1:7001");
  CAF_REQUIRE(why);
  auto text = *why;
  CAF_CHECK_EQUAL(text, "an IPv6 address needs brackets: [host]:port, as in [::1]:7000");
}

CAF_TEST(malformed addresses) {
  for (auto bad : {"", ":", "host", "host:", ":7001", "[]:7001", "host:0", "host:65536",
                   "host:99999999999999999999", "host:-1", "host:+1", "host:7x", "host:7001 ",
                   "ho st:7001", " host:7001", "a,b:7001", "[::1]", "[::1]7001", "[::1:7001",
                   "[a b]:7001", "[a]b]:7001", "[[::1]]:7001", "a\tb:1"}) {
    if (parse_host_port(bad))
      CAF_FAIL("parse_host_port accepted '" << bad << "'");
    auto why = host_port_problem(bad);
    CAF_REQUIRE(why);
    auto text = *why;
    CAF_CHECK_EQUAL(text, "expected host:port with a port from 1 to 65535");
  }
  CAF_CHECK(!host_port_problem("127.0.0.1:7001"));
}

CAF_TEST(the client library reads addresses with the same grammar) {
  auto v6 = parse_node_address("[::1]:7001");
  CAF_REQUIRE(v6);
  auto host = v6->host;
  auto port = v6->port;
  CAF_CHECK_EQUAL(host, "::1");
  CAF_CHECK_EQUAL(port, 7001u);
  CAF_CHECK(!parse_node_address("::1:7001"));
  CAF_CHECK(!parse_node_address("ho st:7001"));
  CAF_CHECK(parse_node_address("node-a:7001"));
}
