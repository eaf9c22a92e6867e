#include "actors/dialer.hpp"

#include "actors/peer_connection.hpp"
#include "common/host_port.hpp"
#include "common/unexpected_messages.hpp"

#include <caf/io/middleman.hpp>
#include <caf/io/network/native_socket.hpp>

#include <cerrno>
#include <cstring>
#include <memory>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dfs {

namespace {

using steady = std::chrono::steady_clock;

/// A connected TCP socket to `target`, trying each address its name resolves to until
/// `timeout` has passed; an error naming the address otherwise. CAF's own connect
/// (spawn_client) blocks without a limit of ours: a host that drops SYNs would hold it for
/// minutes (the kernel's SYN retries).
caf::expected<int> connect_within(const host_port& target, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  auto port = std::to_string(target.port);
  if (int rc = ::getaddrinfo(target.host.c_str(), port.c_str(), &hints, &found); rc != 0)
    return make_error(errc::unavailable,
                      "cannot resolve " + target.host + ": " + ::gai_strerror(rc));
  std::unique_ptr<addrinfo, decltype(&::freeaddrinfo)> guard{found, ::freeaddrinfo};
  auto deadline = steady::now() + timeout;
  std::string why = "no address";
  for (auto* ai = found; ai != nullptr; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                      ai->ai_protocol);
    if (fd < 0) {
      why = std::strerror(errno);
      continue;
    }
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
      return fd;
    int err = errno;
    if (err == EINPROGRESS) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - steady::now());
      pollfd p{fd, POLLOUT, 0};
      int n = 0;
      do {
        n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
      } while (n < 0 && errno == EINTR);
      if (n == 0) {
        ::close(fd);
        why = "no answer within " + std::to_string(timeout.count()) + " ms";
        break;
      }
      socklen_t len = sizeof err;
      if (n < 0 || ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
        err = errno;
      if (err == 0)
        return fd;
    }
    why = std::strerror(err);
    ::close(fd);
    if (steady::now() >= deadline)
      break;
  }
  return make_error(errc::unavailable, "cannot connect to " + target.to_string() + ": " + why);
}

/// The broker of a connection this node opened: CAF takes over the connected socket.
caf::behavior outbound_connection(peer_connection_broker* self, caf::io::network::native_socket fd,
                                  node_context_ptr ctx) {
  auto hdl = self->add_scribe(fd);
  return peer_connection(self, hdl, std::move(ctx), true, inbound_connections_ptr{});
}

} // namespace

caf::behavior dialer(caf::event_based_actor* self, node_context_ptr ctx) {
  drop_unexpected_messages(self);
  return {
    [=](dial_atom, const std::string& address) {
      auto rp = self->make_response_promise<caf::actor>();
      auto target = parse_host_port(address);
      auto fd = target ? connect_within(*target, ctx->config.handshake_timeout)
                       : caf::expected<int>{make_error(errc::bad_request,
                                                       "not a host:port address: " + address)};
      if (fd)
        rp.deliver(self->system().middleman().spawn_broker(outbound_connection, *fd, ctx));
      else
        rp.deliver(fd.error());
      self->quit(); // one dial, then this thread ends
      return rp;
    },
  };
}

} // namespace dfs
