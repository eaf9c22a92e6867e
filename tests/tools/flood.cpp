// dfs-flood: a connection flood against one node, for tests/integration/test_flood.sh.
//
//   dfs-flood --target HOST:PORT [--idle N] [--trickle N] [--duration SECONDS] [--plain]
//
// Opens N idle TCP connections (they send nothing), then N "trickle" connections that send one
// byte a second: the start of a TLS ClientHello record that announces 512 bytes (with --plain,
// a dfs hello frame header announcing 200 bytes), so the node waits for a record or frame that
// never completes in time. It never reopens a connection the node closed. Every second, and once
// more at the end, it prints one line of key=value pairs on stdout:
//
//   t=3 opened=1100 failed=0 open=256 idle_open=156 trickle_open=100 closed_by_node=844
//       trickle_closed=0 max_trickle_lifetime_ms=0 max_idle_lifetime_ms=52
//
// (one line; the last one starts with "done"). Lifetimes run from the connect to the moment the
// tool saw the node close the connection. Raises its open-file limit as needed; exits with 77
// (skip) when it cannot, 2 on bad arguments, 0 otherwise.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using clock_type = std::chrono::steady_clock;

struct connection {
  int fd = -1;
  bool trickle = false;
  clock_type::time_point opened;
  size_t sent = 0; // trickle bytes sent so far
  bool closed_by_node = false;
  long lifetime_ms = 0;
};

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr,
               "dfs-flood: %s\n"
               "usage: dfs-flood --target HOST:PORT [--idle N] [--trickle N] [--duration SECONDS]"
               " [--plain]\n",
               why);
  std::exit(2);
}

unsigned long parse_number(const char* option, const char* text) {
  char* end = nullptr;
  errno = 0;
  auto n = std::strtoul(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0')
    usage((std::string{option} + ": expected a whole number, got '" + text + "'").c_str());
  return n;
}

/// The bytes a trickle connection sends, one a second: a record that never completes in time.
std::string trickle_bytes(bool plain) {
  std::string out;
  if (plain) {
    // A dfs frame header: u32 length 200, u16 type 1 (hello), u16 flags, u64 request id 0.
    const unsigned char header[16] = {200, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    out.assign(reinterpret_cast<const char*>(header), sizeof header);
    out.append(200, 'h');
  } else {
    // A TLS handshake record of 512 bytes: a ClientHello of 508 bytes, version 3.3, then filler.
    const unsigned char start[] = {0x16, 0x03, 0x01, 0x02, 0x00, 0x01,
                                   0x00, 0x01, 0xfc, 0x03, 0x03};
    out.assign(reinterpret_cast<const char*>(start), sizeof start);
    out.append(512 - 6, '\x2a');
  }
  return out;
}

int connect_to(const sockaddr_storage& addr, socklen_t len) {
  int fd = ::socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return -1;
  timeval tv{5, 0}; // a connect the node's accept queue cannot take fails after 5 s
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), len) != 0) {
    ::close(fd);
    return -1;
  }
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

} // namespace

int main(int argc, char** argv) {
  std::string target;
  unsigned long idle = 1000;
  unsigned long trickle = 100;
  unsigned long duration = 60;
  bool plain = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    auto value = [&]() -> const char* {
      if (i + 1 >= argc)
        usage((arg + " needs a value").c_str());
      return argv[++i];
    };
    if (arg == "--target")
      target = value();
    else if (arg == "--idle")
      idle = parse_number("--idle", value());
    else if (arg == "--trickle")
      trickle = parse_number("--trickle", value());
    else if (arg == "--duration")
      duration = parse_number("--duration", value());
    else if (arg == "--plain")
      plain = true;
    else
      usage(("unknown argument '" + arg + "'").c_str());
  }
  auto colon = target.rfind(':');
  if (target.empty() || colon == std::string::npos)
    usage("--target HOST:PORT is required");
  std::string host = target.substr(0, colon);
  std::string port = target.substr(colon + 1);

  std::signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, nullptr, _IOLBF, 0);

  // One descriptor per connection, and a few to spare.
  rlim_t needed = idle + trickle + 32;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < needed) {
    if (limit.rlim_max != RLIM_INFINITY && limit.rlim_max < needed) {
      std::printf("SKIP: %lu connections need %lu open files; the hard limit is %lu\n",
                  idle + trickle, static_cast<unsigned long>(needed),
                  static_cast<unsigned long>(limit.rlim_max));
      return 77;
    }
    limit.rlim_cur = needed;
    if (::setrlimit(RLIMIT_NOFILE, &limit) != 0) {
      std::printf("SKIP: cannot raise the open-file limit to %lu: %s\n",
                  static_cast<unsigned long>(needed), std::strerror(errno));
      return 77;
    }
  }

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0 || !found) {
    std::fprintf(stderr, "dfs-flood: cannot resolve %s: %s\n", target.c_str(), gai_strerror(rc));
    return 1;
  }
  sockaddr_storage addr{};
  std::memcpy(&addr, found->ai_addr, found->ai_addrlen);
  auto addr_len = static_cast<socklen_t>(found->ai_addrlen);
  ::freeaddrinfo(found);

  const std::string pattern = trickle_bytes(plain);
  std::vector<connection> conns;
  conns.reserve(idle + trickle);
  size_t failed = 0;
  auto start = clock_type::now();
  auto deadline = start + std::chrono::seconds{duration};
  auto since = [](clock_type::time_point t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t).count();
  };

  auto report = [&](const char* prefix) {
    size_t open = 0, idle_open = 0, trickle_open = 0, closed = 0, trickle_closed = 0;
    long max_trickle = 0, max_idle = 0;
    for (auto& c : conns) {
      if (c.closed_by_node) {
        ++closed;
        if (c.trickle) {
          ++trickle_closed;
          max_trickle = std::max(max_trickle, c.lifetime_ms);
        } else {
          max_idle = std::max(max_idle, c.lifetime_ms);
        }
      } else {
        ++open;
        ++(c.trickle ? trickle_open : idle_open);
      }
    }
    std::printf("%st=%ld opened=%zu failed=%zu open=%zu idle_open=%zu trickle_open=%zu "
                "closed_by_node=%zu trickle_closed=%zu max_trickle_lifetime_ms=%ld "
                "max_idle_lifetime_ms=%ld\n",
                prefix, static_cast<long>(since(start) / 1000), conns.size(), failed, open,
                idle_open, trickle_open, closed, trickle_closed, max_trickle, max_idle);
  };

  auto send_next_byte = [&](connection& c) {
    if (c.closed_by_node || c.sent >= pattern.size())
      return;
    if (::send(c.fd, pattern.data() + c.sent, 1, MSG_NOSIGNAL) == 1)
      ++c.sent;
  };

  for (unsigned long i = 0; i < idle + trickle && clock_type::now() < deadline; ++i) {
    int fd = connect_to(addr, addr_len);
    if (fd < 0) {
      ++failed;
      continue;
    }
    connection c;
    c.fd = fd;
    c.trickle = i >= idle;
    c.opened = clock_type::now();
    conns.push_back(c);
    if (conns.back().trickle)
      send_next_byte(conns.back());
  }
  report("");

  std::vector<pollfd> fds;
  std::vector<size_t> index;
  char sink[4096];
  auto next_tick = clock_type::now() + std::chrono::seconds{1};
  while (clock_type::now() < deadline) {
    fds.clear();
    index.clear();
    for (size_t i = 0; i < conns.size(); ++i)
      if (!conns[i].closed_by_node) {
        fds.push_back({conns[i].fd, POLLIN, 0});
        index.push_back(i);
      }
    ::poll(fds.data(), fds.size(), 100);
    for (size_t k = 0; k < fds.size(); ++k) {
      if (fds[k].revents == 0)
        continue;
      auto& c = conns[index[k]];
      // Drain what the node said (a hello, an error frame); a zero read or an error is its close.
      for (;;) {
        auto n = ::recv(c.fd, sink, sizeof sink, 0);
        if (n > 0)
          continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
          break;
        c.closed_by_node = true;
        c.lifetime_ms = static_cast<long>(since(c.opened));
        ::close(c.fd);
        c.fd = -1;
        break;
      }
    }
    if (clock_type::now() >= next_tick) {
      next_tick += std::chrono::seconds{1};
      for (auto& c : conns)
        if (c.trickle)
          send_next_byte(c);
      report("");
    }
  }
  report("done ");
  for (auto& c : conns)
    if (c.fd >= 0)
      ::close(c.fd);
  return 0;
}
