#include "net/client_connection.hpp"

#include "common/buffer_pool.hpp"

#include "common/credential.hpp"
#include "common/crypto.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <netdb.h>
#include <optional>
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
  std::optional<user_credential> user;
  if (looks_like_credential(secret)) {
    std::string why;
    user = parse_credential(secret, why);
    if (!user)
      return set_error(errc::bad_request, "bad credential: " + why);
  }
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

  const char* tls_setting = std::getenv("DFS_TLS");
  if (tls_setting == nullptr || std::string{tls_setting} != "off") {
    try {
      tls_context_ = std::make_unique<tls_context>(secret);
    } catch (const std::exception& e) {
      return set_error(errc::bad_request, std::string{"cannot set up TLS: "} + e.what());
    }
  }

  local_identity self;
  self.cluster = cluster;
  sha256_digest id_bytes{};
  random_bytes(id_bytes.data(), 16);
  self.node_id = to_hex(id_bytes.data(), 16);
  self.node_name = "dfs-cli";
  self.role = peer_role::client;
  self.secret = user ? user->secret_key : secret;
  if (user)
    self.access_key = user->access_key;
  if (tls_context_) {
    tls_ = std::make_unique<tls_endpoint>(*tls_context_, tls_side::client, self.node_id);
    tls_->set_ciphertext_sink(&tls_out_);
    if (!tls_handshake())
      return false;
  }
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

bool client_connection::read_some() {
  char buf[256 * 1024];
  ssize_t n;
  do {
    n = ::recv(fd_, buf, sizeof buf, 0);
  } while (n < 0 && errno == EINTR);
  if (n == 0) {
    if (tls_ && tls_->failed())
      return set_error(errc::protocol, *tls_->error());
    return set_error(errc::unavailable, "the node closed the connection");
  }
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK)
      return set_error(errc::timeout, "the node did not answer in time");
    return set_error(errc::unavailable,
                     std::string{"connection to the node lost: "} + std::strerror(errno));
  }
  auto keep = [this](const frame_header& h, byte_buffer& payload) {
    frames_.push_back({h, std::move(payload)});
  };
  bool ok = true;
  if (tls_) {
    // libssl reads the records from buf and decrypts straight into the frame being decoded.
    tls_->feed_lent(buf, static_cast<size_t>(n), [&] {
      ok = decoder_.feed_from([this](char* dst, size_t size) { return tls_->read_into(dst, size); },
                              keep);
    });
    flush_tls(); // alerts and key updates answer what we read
    if (tls_->failed()) {
      if (tls_->failure() == tls_failure::authentication)
        return set_error(errc::auth_failed, "authentication failed");
      return set_error(errc::protocol, *tls_->error());
    }
  } else {
    ok = decoder_.feed(buf, static_cast<size_t>(n), keep);
  }
  if (!ok)
    return set_error(errc::protocol, "the node sent a bad frame: " + decoder_.error());
  return true;
}

bool client_connection::flush_tls() {
  if (!tls_)
    return true;
  if (tls_->pending_ciphertext() > 0)
    tls_->take_ciphertext(tls_out_); // handshake messages and alerts wait inside the endpoint
  if (tls_out_.empty())
    return true;
  bool ok = write_all(tls_out_.data(), tls_out_.size());
  tls_out_.clear();
  return ok;
}

bool client_connection::tls_handshake() {
  tls_->start();
  if (!flush_tls())
    return false;
  while (!tls_->handshake_done()) {
    if (tls_->failed())
      break;
    if (!read_some()) {
      // A node with tls = off answers a ClientHello with an error frame or a closed socket.
      if (error_.code == errc::unavailable || error_.code == errc::protocol)
        return set_error(errc::protocol,
                         "TLS handshake with the node failed (is [cluster] tls off there? then "
                         "set DFS_TLS=off): " + error_.message);
      return false;
    }
  }
  if (tls_->failed()) {
    if (tls_->failure() == tls_failure::authentication)
      return set_error(errc::auth_failed, "authentication failed");
    return set_error(errc::protocol, *tls_->error());
  }
  return true;
}

bool client_connection::send(frame_type type, uint64_t request_id, const char* payload,
                             size_t size, uint16_t flags) {
  byte_buffer header;
  append_frame_header(header, type, request_id, size, flags);
  if (!tls_)
    return write_all(header.data(), header.size()) && write_all(payload, size);
  // Sealed and sent a piece at a time: the kernel sends one piece while the next is sealed,
  // and only one piece of ciphertext is held, whatever the frame's size.
  constexpr size_t piece = 256 * 1024;
  auto refused = [this] {
    return set_error(errc::protocol, tls_->error().value_or("the TLS connection is closed"));
  };
  if (!tls_->write_plaintext(header.data(), header.size()))
    return refused();
  do {
    size_t n = std::min(size, piece);
    if (!tls_->write_plaintext(payload, n))
      return refused();
    if (!flush_tls())
      return false;
    payload += n;
    size -= n;
  } while (size > 0);
  return true;
}

bool client_connection::receive(received_frame& out) {
  while (frames_.empty())
    if (!read_some())
      return false;
  give_back(std::move(out.payload)); // the caller is done with the last frame: the next one's buffer
  out = std::move(frames_.front());
  frames_.pop_front();
  return true;
}

} // namespace dfs
