#include "net/client_connection.hpp"

#include "storage/crypto.hpp"

#include <cerrno>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

namespace dfs {

client_connection::~client_connection() {
  if (fd_ >= 0)
    ::close(fd_);
}

bool client_connection::set_error(errc code, std::string message) {
  error_ = {code, std::move(message)};
  return false;
}

bool client_connection::open(const std::string& host, uint16_t port, const std::string& cluster,
                             const std::string& secret, std::chrono::milliseconds timeout) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  auto where = host + ":" + std::to_string(port);
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0)
    return set_error(errc::unavailable, "cannot resolve " + host + ": " + gai_strerror(rc));
  int last_errno = 0;
  for (auto* ai = found; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
      continue;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      fd_ = fd;
      break;
    }
    last_errno = errno;
    ::close(fd);
  }
  freeaddrinfo(found);
  if (fd_ < 0)
    return set_error(errc::unavailable,
                     "cannot connect to " + where + ": " + std::strerror(last_errno));
  int one = 1;
  setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{};
  tv.tv_sec = timeout.count() / 1000;
  tv.tv_usec = (timeout.count() % 1000) * 1000;
  setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);

  local_identity self;
  self.cluster = cluster;
  sha256_digest id_bytes{};
  random_bytes(id_bytes.data(), 16);
  self.node_id = to_hex(id_bytes.data(), 16);
  self.node_name = "dfs-cli";
  self.role = peer_role::client;
  self.secret = secret;
  handshake hs{self, true};
  auto hello = hs.start();
  if (!send(hello.type, 0, hello.payload))
    return false;
  std::vector<handshake::outgoing_frame> out;
  while (!hs.done()) {
    received_frame f;
    if (!receive(f))
      return false;
    out.clear();
    hs.on_frame(f.header.type, f.payload, out);
    for (auto& o : out)
      send(o.type, 0, o.payload); // best effort: the error frame may meet a closed socket
    if (hs.failed()) {
      auto code = hs.error_code();
      // Both sides word it their own way; the user sees one sentence per cause.
      if (code == errc::auth_failed)
        return set_error(code, "authentication failed");
      return set_error(code, hs.error_reason());
    }
  }
  return true;
}

bool client_connection::write_all(const char* data, size_t size) {
  while (size > 0) {
    auto n = ::send(fd_, data, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return set_error(errc::unavailable,
                       std::string{"connection to the node lost while sending: "} + std::strerror(errno));
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool client_connection::read_exact(char* data, size_t size) {
  while (size > 0) {
    auto n = ::recv(fd_, data, size, 0);
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0)
      return set_error(errc::unavailable, "the node closed the connection");
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return set_error(errc::timeout, "the node did not answer in time");
      return set_error(errc::unavailable,
                       std::string{"connection to the node lost: "} + std::strerror(errno));
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

bool client_connection::send(frame_type type, uint64_t request_id, const char* payload,
                             size_t size, uint16_t flags) {
  byte_buffer header;
  append_frame_header(header, type, request_id, size, flags);
  return write_all(header.data(), header.size()) && write_all(payload, size);
}

bool client_connection::receive(received_frame& out) {
  char header[frame_header_size];
  if (!read_exact(header, sizeof header))
    return false;
  std::string reason;
  auto h = decode_frame_header(header, client_max_payload, reason);
  if (!h)
    return set_error(errc::protocol, "the node sent a bad frame: " + reason);
  out.header = *h;
  out.payload.resize(h->payload_length);
  return read_exact(out.payload.data(), out.payload.size());
}

} // namespace dfs
