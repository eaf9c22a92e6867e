// dfs-idle-gets: many gets on one client connection that never grant credit, for
// tests/integration/test_idle_gets.sh.
//
//   dfs-idle-gets --node HOST:PORT --secret-file FILE --key KEY --gets N --expect-data D
//                 [--timeout SECONDS]
//
// Connects as a client, sends N get requests for KEY (request ids 1..N) at once, then reads
// what the node sends without ever sending credit, so that each get stalls after its window.
// Once it has seen a get_meta or an error for every request and at least D get_data frames (or
// at the timeout), it prints one line:
//
//   meta=32 data=16 errors=32 first_error=too many transfers on this connection: ...
//
// and keeps the connection open, reading, until it is killed. Exit 1 when it cannot connect.
#include "dfs/client.hpp"
#include "net/client_connection.hpp"
#include "net/messages.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "dfs-idle-gets: %s\nusage: dfs-idle-gets --node HOST:PORT --secret-file FILE "
               "--key KEY --gets N --expect-data D [--timeout SECONDS]\n",
               why.c_str());
  std::exit(2);
}

} // namespace

int main(int argc, char** argv) {
  std::string node, secret_file, key;
  unsigned long gets = 0, expect_data = 0, timeout = 30;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (i + 1 >= argc)
      usage(arg + " needs a value");
    std::string value = argv[++i];
    if (arg == "--node")
      node = value;
    else if (arg == "--secret-file")
      secret_file = value;
    else if (arg == "--key")
      key = value;
    else if (arg == "--gets")
      gets = std::stoul(value);
    else if (arg == "--expect-data")
      expect_data = std::stoul(value);
    else if (arg == "--timeout")
      timeout = std::stoul(value);
    else
      usage("unknown argument '" + arg + "'");
  }
  auto address = dfs::parse_node_address(node);
  if (!address || secret_file.empty() || key.empty() || gets == 0)
    usage("--node (host:port), --secret-file, --key and --gets are required");
  auto secret = dfs::load_secret_file(secret_file);
  if (!secret) {
    std::fprintf(stderr, "dfs-idle-gets: %s\n", secret.error().message.c_str());
    return 1;
  }
  dfs::client_connection conn;
  // Each receive waits at most a second, so that the deadline is checked.
  if (!conn.open(address->host, address->port, "", *secret, std::chrono::seconds{1})) {
    std::fprintf(stderr, "dfs-idle-gets: %s\n", conn.error().message.c_str());
    return 1;
  }
  auto request = dfs::to_payload(dfs::key_msg{key});
  for (unsigned long id = 1; id <= gets; ++id)
    if (!conn.send(dfs::frame_type::get, id, request)) {
      std::fprintf(stderr, "dfs-idle-gets: %s\n", conn.error().message.c_str());
      return 1;
    }
  unsigned long meta = 0, data = 0, errors = 0;
  std::string first_error;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{timeout};
  bool reported = false;
  auto report = [&] {
    std::printf("meta=%lu data=%lu errors=%lu first_error=%s\n", meta, data, errors,
                first_error.c_str());
    std::fflush(stdout);
    reported = true;
  };
  for (;;) {
    dfs::received_frame frame;
    if (conn.receive(frame)) {
      switch (frame.header.type) {
        case dfs::frame_type::get_meta: ++meta; break;
        case dfs::frame_type::get_data: ++data; break;
        case dfs::frame_type::error:
          if (++errors == 1)
            if (auto err = dfs::from_payload<dfs::error_msg>(frame.payload))
              first_error = err->message;
          break;
        default: break;
      }
    } else if (conn.error().code != dfs::errc::timeout) {
      if (!reported)
        report();
      std::fprintf(stderr, "dfs-idle-gets: %s\n", conn.error().message.c_str());
      return 1;
    }
    if (!reported && ((meta + errors >= gets && data >= expect_data)
                      || std::chrono::steady_clock::now() >= deadline))
      report();
  }
}
