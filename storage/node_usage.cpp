#include "storage/node_usage.hpp"

#include <cstring>

namespace dfs {

namespace {

// Laid out in the pseudo manifest's 32-byte content hash: "DFSU", u32 0, then three u64, all
// little-endian.
constexpr char magic[4] = {'D', 'F', 'S', 'U'};

void put_u64(sha256_digest& d, size_t at, uint64_t x) {
  for (size_t i = 0; i < 8; ++i)
    d[at + i] = static_cast<uint8_t>(x >> (8 * i));
}

uint64_t get_u64(const sha256_digest& d, size_t at) {
  uint64_t x = 0;
  for (size_t i = 0; i < 8; ++i)
    x |= static_cast<uint64_t>(d[at + i]) << (8 * i);
  return x;
}

} // namespace

const std::string& node_usage_key() {
  static const std::string key{"\0dfs:node-usage", 15};
  return key;
}

manifest node_usage_manifest(const node_usage& u) {
  manifest m;
  m.key = node_usage_key();
  m.deleted = true; // no chunks, and nobody mistakes it for a file
  std::memcpy(m.content_hash.data(), magic, 4);
  put_u64(m.content_hash, 8, u.used);
  put_u64(m.content_hash, 16, u.capacity);
  put_u64(m.content_hash, 24, u.chunks);
  return m;
}

std::optional<node_usage> parse_node_usage(const manifest& m) {
  if (m.key != node_usage_key() || std::memcmp(m.content_hash.data(), magic, 4) != 0)
    return std::nullopt;
  return node_usage{get_u64(m.content_hash, 8), get_u64(m.content_hash, 16),
                    get_u64(m.content_hash, 24)};
}

} // namespace dfs
