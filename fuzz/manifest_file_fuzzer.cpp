// The on-disk manifest format (storage/manifest_store.hpp): parse_manifest_file, and
// manifest_store::open loading a directory of such files at start.
//
// Input: [mode] rest...
//   mode % 3 == 0  rest is a whole manifest file ("DFSM", version, SHA-256, payload)
//   mode % 3 == 1  rest is the payload; the harness puts a correct header in front, so that the
//                  fuzzer reaches the manifest decoder instead of stopping at the checksum
//                  (format 2, or format 1 when bit 3 of mode is set)
//   mode % 3 == 2  rest describes up to three files (payload, name, place) written into a
//                  fresh data directory that manifest_store::open then loads
//
// Invariants: a file of the current format that parses is exactly what manifest_file_bytes
// writes for the manifest it holds (so decode -> encode -> decode is the identity), and one of
// format 1 reads back the same once rewritten in the current format; open() never fails on damaged
// files, loads exactly the intact files that sit where put() would write them (named by their
// key's hash, in the fan-out directory of its first byte; the newest per key), and what it
// loads has a valid key and is accepted by put() as it stands (with no bound on how far ahead of
// the clock its version is); a newer version put() writes is
// what the next open() loads, and a removal lasts across open().
#include "fuzz/fuzz_common.hpp"
#include "common/crypto.hpp"
#include "storage/manifest_store.hpp"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace dfs;
using dfs::fuzz::byte_source;

namespace {

byte_buffer with_header(const byte_buffer& payload, char format) {
  byte_buffer out{'D', 'F', 'S', 'M', format, 0};
  auto sum = sha256(payload.data(), payload.size());
  out.insert(out.end(), sum.begin(), sum.end());
  out.insert(out.end(), payload.begin(), payload.end());
  return out;
}

bool same(const manifest& a, const manifest& b) {
  return manifest_file_bytes(a) == manifest_file_bytes(b);
}

void check_file(const byte_buffer& bytes) {
  auto m = parse_manifest_file(bytes);
  if (!m)
    return;
  // Never loaded: the manifest of an inline file without its bytes (put() refuses it).
  FUZZ_CHECK(!(m->is_inline() && m->inline_data.empty()));
  if (bytes[4] != 1)
    FUZZ_CHECK(manifest_file_bytes(*m) == bytes);
  auto again = parse_manifest_file(manifest_file_bytes(*m));
  FUZZ_CHECK(again && same(*again, *m));
}

std::string key_hash(const std::string& key) { return to_hex(sha256(key.data(), key.size())); }

void write_file(const fs::path& p, const byte_buffer& bytes) {
  std::error_code ec;
  fs::create_directories(p.parent_path(), ec);
  std::ofstream out{p, std::ios::binary | std::ios::trunc};
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void check_store(byte_source& in) {
  auto dir = dfs::fuzz::scratch_dir() / "manifest-store";
  dfs::fuzz::reset_dir(dir);
  auto root = dir / "manifests";
  // key -> every manifest that open() may pick for it (more than one only on equal versions)
  std::map<std::string, std::vector<manifest>> expected;
  int files = 1 + in.u8() % 3;
  for (int i = 0; i < files && !in.empty(); ++i) {
    auto how = in.u8();
    auto payload_text = in.bytes(in.u16() % 2048);
    byte_buffer payload(payload_text.begin(), payload_text.end());
    auto bytes = (how & 1) ? payload : with_header(payload, (how & 32) ? 1 : 2);
    auto parsed = parse_manifest_file(bytes);
    std::string name;
    switch ((how >> 1) & 3) {
      case 0:
      case 1: name = parsed ? key_hash(parsed->key) : key_hash(payload_text); break;
      case 2: name = in.str(80); break;
      default: name = key_hash(in.str()); break;
    }
    if (name.empty() || name == "." || name == ".." || name.find('/') != std::string::npos
        || name.find('\0') != std::string::npos)
      name = "x";
    auto sub = (how & 8) ? in.str(4) : name.substr(0, 2);
    if (sub.empty() || sub == "." || sub == ".." || sub.find('/') != std::string::npos
        || sub.find('\0') != std::string::npos)
      sub = "00";
    bool deeper = how & 16; // one level too deep: never loaded
    auto path = deeper ? root / sub / "d" / name : root / sub / name;
    if (fs::exists(path))
      continue;
    write_file(path, bytes);
    if (!deeper && parsed && name == key_hash(parsed->key) && sub == name.substr(0, 2)) {
      auto& candidates = expected[parsed->key];
      if (candidates.empty() || parsed->newer_than(candidates.front()))
        candidates = {*parsed};
      else if (parsed->version == candidates.front().version)
        candidates.push_back(*parsed);
    }
  }

  auto st = manifest_store::open(dir.string());
  FUZZ_CHECK(st);
  // This harness checks the file format, not the clock: a version from any time is taken back
  // (a node refuses versions too far ahead of its clock; the store unit tests check that).
  st->set_clock_bound(std::chrono::milliseconds{0}, [] { return UINT64_MAX; });
  std::vector<std::string> keys;
  for (auto& kv : expected)
    keys.push_back(kv.first);
  FUZZ_CHECK(st->keys() == keys);
  for (auto& [key, candidates] : expected) {
    auto held = st->get(key);
    FUZZ_CHECK(held);
    bool one_of = false;
    for (auto& c : candidates)
      one_of = one_of || same(c, *held);
    FUZZ_CHECK(one_of);
    // What the store holds, it must be able to hold: a valid key, and put() takes it back.
    FUZZ_CHECK(!invalid_key_reason(held->key));
    FUZZ_CHECK(!st->put(*held));
    FUZZ_CHECK(st->path_of(key) == (root / key_hash(key).substr(0, 2) / key_hash(key)).string());
    // A newer version goes to disk and is what the next open() loads.
    if (held->version.hlc < UINT64_MAX) {
      auto newer = *held;
      newer.version.hlc += 1;
      FUZZ_CHECK(!st->put(newer));
      auto reopened = manifest_store::open(dir.string());
      FUZZ_CHECK(reopened);
      auto back = reopened->get(key);
      FUZZ_CHECK(back && same(*back, newer));
      // A removal lasts: the next open() does not bring the key back.
      FUZZ_CHECK(!reopened->remove(key, back->version));
      FUZZ_CHECK(!reopened->get(key));
      auto after_remove = manifest_store::open(dir.string());
      FUZZ_CHECK(after_remove);
      FUZZ_CHECK(!after_remove->get(key));
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dfs::fuzz::quiet_log();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  byte_buffer rest(reinterpret_cast<const char*>(data + 1),
                   reinterpret_cast<const char*>(data + size));
  switch (data[0] % 3) {
    case 0: check_file(rest); break;
    case 1: check_file(with_header(rest, (data[0] & 8) ? 1 : 2)); break;
    default: {
      byte_source in{data + 1, size - 1};
      check_store(in);
      break;
    }
  }
  return 0;
}
