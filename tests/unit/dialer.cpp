#define CAF_SUITE dialer
#include "tests/unit/test_helpers.hpp"

#include "actors/node_context.hpp"
#include "actors/dialer.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <vector>

using namespace dfs;
using namespace std::chrono_literals;

namespace {

/// A port on 127.0.0.1 that answers no connect: it listens, accepts nothing, and its accept
/// queue is full, so the kernel drops every further SYN, as a host behind a firewall does.
struct silent_port {
  int listener = -1;
  std::vector<int> fillers;
  uint16_t port = 0;

  silent_port() {
    listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CAF_REQUIRE(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    CAF_REQUIRE(::listen(listener, 0) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    port = ntohs(addr.sin_port);
    for (int i = 0; i < 4; ++i) { // more than the queue holds; the extra ones simply wait
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      fillers.push_back(fd);
    }
  }

  ~silent_port() {
    for (int fd : fillers)
      ::close(fd);
    ::close(listener);
  }
};

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor test;
  node_context_ptr ctx;

  static caf::actor_system_config& with_middleman(caf::actor_system_config& c) {
    c.load<caf::io::middleman>();
    return c;
  }

  fixture() : sys{with_middleman(cfg)}, test{sys} {
    auto c = std::make_shared<node_context>();
    c->node_id = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    c->config.name = "b";
    c->config.handshake_timeout = std::chrono::seconds{1};
    ctx = c;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(dialer_tests, fixture)

CAF_TEST(a silent address fails after handshake_timeout rather than holding the dialer) {
  silent_port silent;
  auto start = std::chrono::steady_clock::now();
  auto attempt = sys.spawn<caf::detached>(dialer, ctx);
  std::string why;
  test->request(attempt, 20s, dial_atom::value, "127.0.0.1:" + std::to_string(silent.port))
    .receive([&](caf::actor&) { CAF_FAIL("connected to a port that answers nothing"); },
             [&](caf::error& err) { why = describe(err); });
  auto took = std::chrono::steady_clock::now() - start;
  CAF_MESSAGE(why);
  CAF_CHECK(why.find("no answer within") != std::string::npos);
  CAF_CHECK(took < 5s);
}

CAF_TEST(a malformed address is an error at once) {
  auto attempt = sys.spawn<caf::detached>(dialer, ctx);
  std::string why;
  test->request(attempt, 20s, dial_atom::value, std::string{"not an address"})
    .receive([&](caf::actor&) { CAF_FAIL("dialed a malformed address"); },
             [&](caf::error& err) { why = describe(err); });
  CAF_CHECK(why.find("not a host:port") != std::string::npos);
}

CAF_TEST_FIXTURE_SCOPE_END()
