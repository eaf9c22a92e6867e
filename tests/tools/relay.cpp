// dfs-relay: a small TCP relay for the hostile-network integration tests.
//
//   dfs-relay --target HOST:PORT [--listen [HOST:]PORT] [--port-file FILE] [--record DIR]
//             [--flip c2s|s2c:OFFSET] [--flip-connections K]
//
// Listens (default 127.0.0.1, port 0 = any free port), and for every accepted connection opens
// one to the target and copies bytes both ways until both directions have ended. "c2s" is the
// direction from the side that connected to the relay towards the target, "s2c" the other one.
//
//   --port-file FILE       once listening, writes the port to FILE (atomically, via rename)
//   --record DIR           writes every byte of connection N to DIR/N.c2s and DIR/N.s2c
//   --flip DIR:OFFSET      XORs the byte at OFFSET (0-based, counted per connection in that
//                          direction) with 0x01 before forwarding it
//   --flip-connections K   flips in at most K connections, the first K that reach the offset
//                          (default 1; 0 = in every connection), so a retry through the relay
//                          can go through cleanly
//
// Prints "listening on HOST:PORT" on stdout once ready; logs every connection, every flipped
// byte and every close on stderr. SIGTERM or SIGINT end it cleanly (exit 0). A half-close is
// passed on as a half-close; a reset or error on either side closes both sides.
// POSIX only, no dependency on the rest of dfs.
#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

volatile std::sig_atomic_t stop_requested = 0;
int wake_pipe[2] = {-1, -1};

void on_signal(int) {
  stop_requested = 1;
  int saved = errno;
  char c = 0;
  [[maybe_unused]] auto n = ::write(wake_pipe[1], &c, 1);
  errno = saved;
}

void usage(const char* why) {
  std::fprintf(stderr,
               "dfs-relay: %s\nusage: dfs-relay --target HOST:PORT [--listen [HOST:]PORT] "
               "[--port-file FILE] [--record DIR] [--flip c2s|s2c:OFFSET] "
               "[--flip-connections K]\n",
               why);
  std::exit(2);
}

bool parse_u64(const std::string& text, uint64_t& out) {
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos)
    return false;
  errno = 0;
  char* end = nullptr;
  auto v = std::strtoull(text.c_str(), &end, 10);
  if (errno != 0 || *end != '\0')
    return false;
  out = v;
  return true;
}

/// "HOST:PORT" or "PORT" (then the host is `default_host`).
bool split_host_port(const std::string& text, const std::string& default_host, std::string& host,
                     uint16_t& port) {
  auto colon = text.rfind(':');
  std::string port_text = colon == std::string::npos ? text : text.substr(colon + 1);
  host = colon == std::string::npos ? default_host : text.substr(0, colon);
  uint64_t p = 0;
  if (host.empty() || !parse_u64(port_text, p) || p > 65535)
    return false;
  port = static_cast<uint16_t>(p);
  return true;
}

bool resolve(const std::string& host, uint16_t port, sockaddr_storage& out, socklen_t& len) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0 || !found)
    return false;
  std::memcpy(&out, found->ai_addr, found->ai_addrlen);
  len = found->ai_addrlen;
  freeaddrinfo(found);
  return true;
}

std::string describe(const sockaddr_storage& addr) {
  char host[INET6_ADDRSTRLEN] = "?";
  uint16_t port = 0;
  if (addr.ss_family == AF_INET) {
    auto& a = reinterpret_cast<const sockaddr_in&>(addr);
    inet_ntop(AF_INET, &a.sin_addr, host, sizeof host);
    port = ntohs(a.sin_port);
  } else if (addr.ss_family == AF_INET6) {
    auto& a = reinterpret_cast<const sockaddr_in6&>(addr);
    inet_ntop(AF_INET6, &a.sin6_addr, host, sizeof host);
    port = ntohs(a.sin6_port);
  }
  return std::string{host} + ":" + std::to_string(port);
}

void set_nonblocking(int fd) {
  int flags = fcntl(fd, F_GETFL, 0);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

struct options {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  std::string target_host;
  uint16_t target_port = 0;
  std::string port_file;
  std::string record_dir;
  int flip_dir = -1; // 0 = c2s, 1 = s2c
  uint64_t flip_offset = 0;
  uint64_t flip_connections = 1;
};

options opts;
uint64_t flips_done = 0;

/// One direction of a connection: bytes read from `from`, waiting to be written to `to`.
struct direction {
  int from = -1;
  int to = -1;
  std::vector<char> pending;
  size_t sent = 0;       // of pending
  uint64_t total = 0;    // bytes read so far in this direction
  bool eof = false;      // `from` has ended; pass on a half-close once pending is written
  bool shut = false;     // the half-close was passed on
  bool flipped = false;
  FILE* record = nullptr;
};

struct connection {
  uint64_t number = 0;
  int client = -1;
  int server = -1;
  bool connecting = true; // the connection to the target is not established yet
  direction dir[2];       // 0 = c2s, 1 = s2c
  bool dead = false;
};

/// Closes both sides; `abort` resets them (a failure), otherwise a clean close.
void close_connection(connection& c, const char* why, bool abort = true) {
  if (c.dead)
    return;
  c.dead = true;
  std::fprintf(stderr, "dfs-relay: connection %llu closed (%s; c2s %llu bytes, s2c %llu bytes)\n",
               static_cast<unsigned long long>(c.number), why,
               static_cast<unsigned long long>(c.dir[0].total),
               static_cast<unsigned long long>(c.dir[1].total));
  // A reset tells the other side that something broke, rather than a clean end.
  for (int fd : {c.client, c.server}) {
    if (fd < 0)
      continue;
    if (abort) {
      linger l{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
    ::close(fd);
  }
  for (auto& d : c.dir)
    if (d.record)
      std::fclose(d.record);
}

/// Reads what `from` has (when nothing is pending), flipping and recording it. False on error.
bool pump_read(connection& c, int index) {
  auto& d = c.dir[index];
  if (d.eof || d.sent < d.pending.size())
    return true;
  char buf[64 * 1024];
  ssize_t n = ::recv(d.from, buf, sizeof buf, 0);
  if (n < 0)
    return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
  if (n == 0) {
    d.eof = true;
    return true;
  }
  if (opts.flip_dir == index && !d.flipped
      && (opts.flip_connections == 0 || flips_done < opts.flip_connections)
      && opts.flip_offset >= d.total && opts.flip_offset < d.total + static_cast<uint64_t>(n)) {
    auto at = static_cast<size_t>(opts.flip_offset - d.total);
    unsigned char before = static_cast<unsigned char>(buf[at]);
    buf[at] = static_cast<char>(before ^ 0x01);
    d.flipped = true;
    ++flips_done;
    std::fprintf(stderr, "dfs-relay: connection %llu: flipped the byte at %s offset %llu "
                         "(0x%02x -> 0x%02x)\n",
                 static_cast<unsigned long long>(c.number), index == 0 ? "c2s" : "s2c",
                 static_cast<unsigned long long>(opts.flip_offset), before,
                 static_cast<unsigned>(static_cast<unsigned char>(buf[at])));
  }
  if (d.record) {
    std::fwrite(buf, 1, static_cast<size_t>(n), d.record);
    std::fflush(d.record);
  }
  d.total += static_cast<uint64_t>(n);
  d.pending.assign(buf, buf + n);
  d.sent = 0;
  return true;
}

/// Writes what is pending to `to`; passes on a half-close when due. False on error.
bool pump_write(connection& c, int index) {
  auto& d = c.dir[index];
  while (d.sent < d.pending.size()) {
    ssize_t n = ::send(d.to, d.pending.data() + d.sent, d.pending.size() - d.sent, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        return true;
      if (errno == EINTR)
        continue;
      return false;
    }
    d.sent += static_cast<size_t>(n);
  }
  if (d.eof && !d.shut) {
    ::shutdown(d.to, SHUT_WR);
    d.shut = true;
  }
  return true;
}

int open_listener() {
  sockaddr_storage addr{};
  socklen_t len = 0;
  if (!resolve(opts.listen_host, opts.listen_port, addr, len))
    usage(("cannot resolve " + opts.listen_host).c_str());
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(fd, 64) != 0) {
    std::fprintf(stderr, "dfs-relay: cannot listen on %s:%u: %s\n", opts.listen_host.c_str(),
                 opts.listen_port, std::strerror(errno));
    std::exit(1);
  }
  set_nonblocking(fd);
  return fd;
}

void write_port_file(uint16_t port) {
  if (opts.port_file.empty())
    return;
  auto tmp = opts.port_file + ".tmp";
  FILE* f = std::fopen(tmp.c_str(), "w");
  if (!f || std::fprintf(f, "%u\n", port) < 0 || std::fclose(f) != 0
      || std::rename(tmp.c_str(), opts.port_file.c_str()) != 0) {
    std::fprintf(stderr, "dfs-relay: cannot write %s: %s\n", opts.port_file.c_str(),
                 std::strerror(errno));
    std::exit(1);
  }
}

/// Accepts one connection and starts connecting to the target; nullptr when nothing came.
std::unique_ptr<connection> accept_one(int listener, uint64_t number) {
  sockaddr_storage peer{};
  socklen_t peer_len = sizeof peer;
  int client = ::accept4(listener, reinterpret_cast<sockaddr*>(&peer), &peer_len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (client < 0)
    return nullptr;
  auto c = std::make_unique<connection>();
  c->number = number;
  c->client = client;
  sockaddr_storage target{};
  socklen_t target_len = 0;
  if (!resolve(opts.target_host, opts.target_port, target, target_len)) {
    std::fprintf(stderr, "dfs-relay: cannot resolve %s\n", opts.target_host.c_str());
    c->server = -1;
    close_connection(*c, "target unresolvable");
    return c;
  }
  c->server = ::socket(target.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(c->server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  int rc = ::connect(c->server, reinterpret_cast<sockaddr*>(&target), target_len);
  if (rc != 0 && errno != EINPROGRESS) {
    std::fprintf(stderr, "dfs-relay: connection %llu: cannot connect to %s:%u: %s\n",
                 static_cast<unsigned long long>(number), opts.target_host.c_str(),
                 opts.target_port, std::strerror(errno));
    close_connection(*c, "target refused");
    return c;
  }
  c->connecting = rc != 0;
  c->dir[0].from = client;
  c->dir[0].to = c->server;
  c->dir[1].from = c->server;
  c->dir[1].to = client;
  if (!opts.record_dir.empty()) {
    for (int i = 0; i < 2; ++i) {
      auto path = opts.record_dir + "/" + std::to_string(number) + (i == 0 ? ".c2s" : ".s2c");
      c->dir[i].record = std::fopen(path.c_str(), "wb");
      if (!c->dir[i].record)
        std::fprintf(stderr, "dfs-relay: cannot record to %s: %s\n", path.c_str(),
                     std::strerror(errno));
    }
  }
  std::fprintf(stderr, "dfs-relay: connection %llu from %s\n",
               static_cast<unsigned long long>(number), describe(peer).c_str());
  return c;
}

} // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        usage((arg + " needs a value").c_str());
      return argv[++i];
    };
    if (arg == "--listen") {
      if (!split_host_port(value(), opts.listen_host, opts.listen_host, opts.listen_port))
        usage("--listen: expected [HOST:]PORT");
    } else if (arg == "--target") {
      if (!split_host_port(value(), "", opts.target_host, opts.target_port) || opts.target_port == 0)
        usage("--target: expected HOST:PORT");
    } else if (arg == "--port-file") {
      opts.port_file = value();
    } else if (arg == "--record") {
      opts.record_dir = value();
    } else if (arg == "--flip") {
      auto v = value();
      auto colon = v.find(':');
      auto dir = v.substr(0, colon);
      if (colon == std::string::npos || (dir != "c2s" && dir != "s2c")
          || !parse_u64(v.substr(colon + 1), opts.flip_offset))
        usage("--flip: expected c2s:OFFSET or s2c:OFFSET");
      opts.flip_dir = dir == "c2s" ? 0 : 1;
    } else if (arg == "--flip-connections") {
      if (!parse_u64(value(), opts.flip_connections))
        usage("--flip-connections: expected a number");
    } else if (arg == "-h" || arg == "--help") {
      std::printf("see the comment at the top of tests/tools/relay.cpp\n");
      return 0;
    } else {
      usage(("unknown argument: " + arg).c_str());
    }
  }
  if (opts.target_host.empty())
    usage("--target is required");
  if (!opts.record_dir.empty())
    ::mkdir(opts.record_dir.c_str(), 0755);

  if (::pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0)
    return 1;
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  int listener = open_listener();
  sockaddr_storage bound{};
  socklen_t bound_len = sizeof bound;
  getsockname(listener, reinterpret_cast<sockaddr*>(&bound), &bound_len);
  uint16_t port = bound.ss_family == AF_INET6
                    ? ntohs(reinterpret_cast<sockaddr_in6&>(bound).sin6_port)
                    : ntohs(reinterpret_cast<sockaddr_in&>(bound).sin_port);
  write_port_file(port);
  std::printf("listening on %s\n", describe(bound).c_str());
  std::fflush(stdout);

  std::vector<std::unique_ptr<connection>> conns;
  uint64_t next_number = 1;
  while (!stop_requested) {
    std::vector<pollfd> fds;
    fds.push_back({wake_pipe[0], POLLIN, 0});
    fds.push_back({listener, POLLIN, 0});
    // Per live connection: client, server, in that order.
    for (auto& c : conns) {
      short cev = 0, sev = 0;
      if (c->connecting) {
        sev = POLLOUT;
      } else {
        auto& up = c->dir[0];
        auto& down = c->dir[1];
        if (!up.eof && up.sent >= up.pending.size())
          cev |= POLLIN;
        if (up.sent < up.pending.size())
          sev |= POLLOUT;
        if (!down.eof && down.sent >= down.pending.size())
          sev |= POLLIN;
        if (down.sent < down.pending.size())
          cev |= POLLOUT;
      }
      fds.push_back({c->client, cev, 0});
      fds.push_back({c->server, sev, 0});
    }
    int rc = ::poll(fds.data(), fds.size(), -1);
    if (rc < 0) {
      if (errno == EINTR)
        continue;
      std::perror("dfs-relay: poll");
      return 1;
    }
    if (fds[0].revents) {
      char drain[64];
      while (::read(wake_pipe[0], drain, sizeof drain) > 0) {
      }
    }
    size_t k = 2;
    for (auto& c : conns) {
      auto& cfd = fds[k++];
      auto& sfd = fds[k++];
      if (c->dead)
        continue;
      if (c->connecting) {
        if (sfd.revents == 0)
          continue;
        int err = 0;
        socklen_t len = sizeof err;
        getsockopt(c->server, SOL_SOCKET, SO_ERROR, &err, &len);
        if (err != 0) {
          std::fprintf(stderr, "dfs-relay: connection %llu: cannot connect to %s:%u: %s\n",
                       static_cast<unsigned long long>(c->number), opts.target_host.c_str(),
                       opts.target_port, std::strerror(err));
          close_connection(*c, "target refused");
          continue;
        }
        c->connecting = false;
        continue;
      }
      bool ok = true;
      if (cfd.revents & (POLLIN | POLLHUP | POLLERR))
        ok = ok && pump_read(*c, 0);
      if (sfd.revents & (POLLIN | POLLHUP | POLLERR))
        ok = ok && pump_read(*c, 1);
      ok = ok && pump_write(*c, 0) && pump_write(*c, 1);
      if (!ok) {
        close_connection(*c, std::strerror(errno));
        continue;
      }
      if (c->dir[0].shut && c->dir[1].shut) {
        close_connection(*c, "both directions ended", false);
        continue;
      }
      // An error or a hang-up on a side that has nothing more to read (a reset, or both
      // directions shut) ends the connection; polling on would only spin.
      if (((cfd.revents & (POLLERR | POLLHUP)) && c->dir[0].eof)
          || ((sfd.revents & (POLLERR | POLLHUP)) && c->dir[1].eof)
          || (cfd.revents & POLLERR) || (sfd.revents & POLLERR))
        close_connection(*c, "socket error or hang-up");
    }
    conns.erase(std::remove_if(conns.begin(), conns.end(), [](auto& c) { return c->dead; }),
                conns.end());
    if (fds[1].revents & POLLIN) {
      while (auto c = accept_one(listener, next_number)) {
        ++next_number;
        if (!c->dead)
          conns.push_back(std::move(c));
      }
    }
  }
  std::fprintf(stderr, "dfs-relay: stopping (%zu connections open)\n", conns.size());
  for (auto& c : conns)
    close_connection(*c, "relay stopping", false);
  ::close(listener);
  return 0;
}
