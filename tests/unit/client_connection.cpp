#define CAF_SUITE client_connection
#include "tests/unit/test_helpers.hpp"

#include "net/client_connection.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <string>
#include <thread>

using namespace dfs;
using namespace std::chrono_literals;

namespace {

const std::string secret(64, 's');

/// A listening socket on 127.0.0.1 whose first connection gets `serve(fd)` on a thread of its
/// own; the connection closes when `serve` returns. Joined (and closed) at destruction.
class one_shot_server {
public:
  explicit one_shot_server(std::function<void(int)> serve) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CAF_REQUIRE(::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    CAF_REQUIRE(::listen(listener_, 1) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread{[this, serve = std::move(serve)] {
      int fd = ::accept(listener_, nullptr, nullptr);
      if (fd < 0)
        return;
      serve(fd);
      ::close(fd);
    }};
  }
  ~one_shot_server() {
    ::shutdown(listener_, SHUT_RDWR); // wakes an accept that never got its connection
    thread_.join();
    ::close(listener_);
  }
  uint16_t port() const { return port_; }

private:
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
};

/// Reads until the peer closes or `limit` passes.
void drain(int fd, std::chrono::milliseconds limit) {
  timeval tv{0, static_cast<suseconds_t>(std::chrono::microseconds{limit}.count())};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[4096];
  while (::recv(fd, buf, sizeof buf, 0) > 0) {
  }
}

/// A port nothing listens on (bound once, then released).
uint16_t unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

/// DFS_TLS=off for one test.
struct plaintext_scope {
  plaintext_scope() { ::setenv("DFS_TLS", "off", 1); }
  ~plaintext_scope() { ::unsetenv("DFS_TLS"); }
};

} // namespace

CAF_TEST(nothing listening is a clear connection error) {
  auto port = unused_port();
  client_connection c;
  CAF_CHECK(!c.open("127.0.0.1", port, "", secret, 1000ms));
  CAF_CHECK(c.error().code == errc::unavailable);
  CAF_CHECK_EQUAL(c.error().message,
                  "cannot connect to 127.0.0.1:" + std::to_string(port) + ": Connection refused");
}

CAF_TEST(a name that does not resolve is a clear error) {
  client_connection c;
  CAF_CHECK(!c.open("no-such-host.invalid", 7000, "", secret, 1000ms));
  CAF_CHECK(c.error().code == errc::unavailable);
  CAF_CHECK(starts_with(c.error().message, "cannot resolve no-such-host.invalid: "));
}

CAF_TEST(a node that never answers times out) {
  one_shot_server server{[](int fd) { drain(fd, 2000ms); }};
  client_connection c;
  CAF_CHECK(!c.open("127.0.0.1", server.port(), "", secret, 200ms));
  CAF_CHECK(c.error().code == errc::timeout);
  CAF_CHECK_EQUAL(c.error().message, "the node did not answer in time");
}

CAF_TEST(a peer that closes at once or answers garbage fails the TLS handshake and says so) {
  {
    one_shot_server server{[](int) {}};
    client_connection c;
    CAF_CHECK(!c.open("127.0.0.1", server.port(), "", secret, 2000ms));
    CAF_CHECK(c.error().code == errc::protocol);
    CAF_CHECK(starts_with(c.error().message, "TLS handshake with the node failed"));
  }
  {
    one_shot_server server{[](int fd) {
      std::string garbage(512, '\x17');
      ::send(fd, garbage.data(), garbage.size(), MSG_NOSIGNAL);
      drain(fd, 2000ms);
    }};
    client_connection c;
    CAF_CHECK(!c.open("127.0.0.1", server.port(), "", secret, 2000ms));
    CAF_CHECK(c.error().code == errc::protocol);
    CAF_CHECK_NOT_EQUAL(c.error().message, "");
  }
}

CAF_TEST(a bad frame from the node is a protocol error that names the reason) {
  plaintext_scope plaintext;
  one_shot_server server{[](int fd) {
    // A frame header with an unknown type, in answer to the hello.
    byte_buffer bad;
    append_frame_header(bad, static_cast<frame_type>(999), 0, 0);
    ::send(fd, bad.data(), bad.size(), MSG_NOSIGNAL);
    drain(fd, 2000ms);
  }};
  client_connection c;
  CAF_CHECK(!c.open("127.0.0.1", server.port(), "", secret, 2000ms));
  CAF_CHECK(c.error().code == errc::protocol);
  CAF_CHECK(starts_with(c.error().message, "the node sent a bad frame: "));
}

CAF_TEST(a node that closes the connection mid-handshake is named as such) {
  plaintext_scope plaintext;
  one_shot_server server{[](int fd) { drain(fd, 100ms); }};
  client_connection c;
  CAF_CHECK(!c.open("127.0.0.1", server.port(), "", secret, 2000ms));
  CAF_CHECK(c.error().code == errc::unavailable);
  CAF_CHECK_EQUAL(c.error().message, "the node closed the connection");
}
