// The node identity file data_dir/node.id (storage/node_identity.hpp), read at every start.
//
// Input: [mode] rest...
//   mode % 4 == 0..2  rest is the content of node.id
//   mode % 4 == 3     there is no node.id (rest is ignored): a fresh id is created
//   mode bit 2        leftover temporaries node.id.tmp.* lie next to it (they must go)
//
// Invariants: the file is accepted exactly when it holds 32 lowercase hex digits, optionally
// followed by one newline, and the id returned is those digits; anything else throws
// std::runtime_error naming the file and leaves the file as it was; a created id is valid,
// written with a newline, and read back unchanged by the next start.
#include "fuzz/fuzz_common.hpp"
#include "storage/node_identity.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>

namespace fs = std::filesystem;
using namespace dfs;

namespace {

bool lower_hex_32(const std::string& s) {
  if (s.size() != 32)
    return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

std::string read_file(const fs::path& p) {
  std::ifstream in{p, std::ios::binary};
  return std::string(std::istreambuf_iterator<char>{in}, {});
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out{p, std::ios::binary | std::ios::trunc};
  out << text;
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dfs::fuzz::quiet_log();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  auto dir = dfs::fuzz::scratch_dir() / "node-id";
  dfs::fuzz::reset_dir(dir);
  auto file = dir / "node.id";
  std::string content(reinterpret_cast<const char*>(data + 1), size - 1);
  bool absent = data[0] % 4 == 3;
  if (!absent)
    write_file(file, content);
  if (data[0] & 4)
    write_file(dir / "node.id.tmp.abc123", "junk");

  std::string expected;
  bool valid = false;
  if (!absent) {
    expected = content;
    if (!expected.empty() && expected.back() == '\n')
      expected.pop_back();
    valid = lower_hex_32(expected);
  }

  std::string id;
  bool threw = false;
  try {
    id = load_or_create_node_id(dir.string());
  } catch (const std::runtime_error& e) {
    threw = true;
    FUZZ_CHECK(std::string{e.what()}.find(file.string()) != std::string::npos);
  }
  FUZZ_CHECK(!fs::exists(dir / "node.id.tmp.abc123"));
  if (absent) {
    FUZZ_CHECK(!threw && lower_hex_32(id));
    FUZZ_CHECK(read_file(file) == id + "\n");
    FUZZ_CHECK(load_or_create_node_id(dir.string()) == id);
    return 0;
  }
  FUZZ_CHECK(threw == !valid);
  if (valid)
    FUZZ_CHECK(id == expected);
  FUZZ_CHECK(read_file(file) == content);
  return 0;
}
