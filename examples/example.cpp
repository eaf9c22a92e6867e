// dfs-example: a short tour of the client library (include/dfs/client.hpp).
//
//   build/bin/dfs-example 127.0.0.1:7001 .cluster/secret
//
// Stores a buffer, reads it back, stats and lists it, stores a file from a stream, removes both.
// Exits 0 when everything came back as it went in, 1 otherwise.
#include <dfs/client.hpp>

#include <cstdio>
#include <iostream>
#include <sstream>
#include <string>

namespace {

/// Prints what failed the way the dfs CLI does, and returns the CLI's exit code for it.
int fail(const dfs::error& e) {
  std::cerr << "dfs-example: " << e.message << " (" << dfs::to_string(e.code) << ")\n";
  return 1;
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: dfs-example HOST:PORT SECRET_FILE\n";
    return 2;
  }
  auto secret = dfs::load_secret_file(argv[2]);
  if (!secret)
    return fail(secret.error());

  dfs::client c;
  if (auto connected = c.connect(argv[1], *secret); !connected)
    return fail(connected.error());

  // put from a buffer, get into a buffer.
  const std::string key = "examples/hello.txt";
  auto stored = c.put(key, std::string_view{"hello, dfs\n"});
  if (!stored)
    return fail(stored.error());
  std::cout << "stored " << key << ": " << stored->size << " bytes, " << stored->copies
            << " copies, version " << stored->version << "\n";

  std::string text;
  if (auto got = c.get(key, text); !got)
    return fail(got.error());
  std::cout << "read back: " << text;
  if (text != "hello, dfs\n") {
    std::cerr << "dfs-example: the bytes read back differ\n";
    return 1;
  }

  // stat and list.
  auto info = c.stat(key);
  if (!info)
    return fail(info.error());
  std::cout << "sha256 " << info->sha256 << ", " << info->chunks << " chunk(s)\n";
  auto entries = c.list("examples/");
  if (!entries)
    return fail(entries.error());
  for (auto& e : *entries)
    std::cout << "  " << e.size << "\t" << e.key << "\n";

  // put from a stream (of unknown length: read to its end), get to a stream.
  std::istringstream in{std::string(100'000, 'x')};
  auto streamed = c.put("examples/stream.bin", in);
  if (!streamed)
    return fail(streamed.error());
  std::ostringstream out;
  if (auto got = c.get("examples/stream.bin", out); !got)
    return fail(got.error());
  std::cout << "streamed " << streamed->size << " bytes, got " << out.str().size() << " back\n";
  if (out.str() != std::string(100'000, 'x')) {
    std::cerr << "dfs-example: the streamed bytes read back differ\n";
    return 1;
  }

  // Errors are values: a missing key is error_code::not_found with the node's sentence.
  std::string nothing;
  auto missing = c.get("examples/no-such-key", nothing);
  if (missing || missing.error().code != dfs::error_code::not_found) {
    std::cerr << "dfs-example: a missing key was not reported as not_found\n";
    return 1;
  }
  std::cout << "as expected: " << missing.error().message << "\n";

  // status: the members as this node sees them.
  auto status = c.status();
  if (!status)
    return fail(status.error());
  for (auto& m : status->members)
    std::cout << "  " << m.name << " " << m.address << " " << m.state << "\n";

  for (auto* k : {"examples/hello.txt", "examples/stream.bin"})
    if (auto removed = c.remove(k); !removed)
      return fail(removed.error());
  std::cout << "removed both\n";
  return 0;
}
