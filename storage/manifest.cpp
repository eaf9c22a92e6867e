#include "storage/manifest.hpp"

namespace dfs {

std::string version::to_string() const { return std::to_string(hlc) + "@" + node_id; }

std::optional<std::string> invalid_key_reason(const std::string& key) {
  if (key.empty())
    return "the key is empty";
  if (key.size() > max_key_length)
    return "the key is longer than " + std::to_string(max_key_length) + " bytes";
  if (key.find('\0') != std::string::npos)
    return "the key contains a NUL byte";
  return std::nullopt;
}

void encode(writer& w, const chunk_id& id) { w.fixed(id.bytes); }

void decode(reader& r, chunk_id& id) { r.fixed(id.bytes); }

void encode(writer& w, const manifest& m) {
  w.str(m.key);
  w.u64(m.size);
  w.fixed(m.content_hash);
  w.u64(m.version.hlc);
  w.str(m.version.node_id);
  w.boolean(m.deleted);
  w.u32(static_cast<uint32_t>(m.chunks.size()));
  for (auto& c : m.chunks) {
    encode(w, c.id);
    w.u32(c.length);
  }
}

void decode(reader& r, manifest& m) {
  m.key = r.str(max_key_length);
  m.size = r.u64();
  r.fixed(m.content_hash);
  m.version.hlc = r.u64();
  m.version.node_id = r.str(64);
  m.deleted = r.boolean();
  auto n = r.u32();
  // Each entry takes 36 bytes: refuse a count the remaining input cannot hold before reserving.
  if (n > max_chunks_per_manifest || static_cast<size_t>(n) * 36 > r.remaining()) {
    r.fail();
    m.chunks.clear();
    return;
  }
  m.chunks.resize(n);
  uint64_t total = 0;
  for (auto& c : m.chunks) {
    decode(r, c.id);
    c.length = r.u32();
    total += c.length;
  }
  if (r.ok() && !m.deleted && total != m.size)
    r.fail(); // the chunk lengths must add up to the file size
}

sha256_digest manifest_placement_id(const std::string& key) {
  std::string tagged = "manifest:" + key;
  return sha256(tagged.data(), tagged.size());
}

} // namespace dfs
