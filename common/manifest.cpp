#include "common/manifest.hpp"

#include <algorithm>

namespace dfs {

std::string version::to_string() const { return std::to_string(hlc) + "@" + node_id; }

bool same_write(const manifest& a, const manifest& b) {
  auto same_chunks = std::equal(a.chunks.begin(), a.chunks.end(), b.chunks.begin(), b.chunks.end(),
                                [](const chunk_ref& x, const chunk_ref& y) {
                                  return x.id == y.id && x.length == y.length;
                                });
  // The content hash covers an inline file's bytes, which listings leave out.
  return a.key == b.key && a.version == b.version && a.deleted == b.deleted && a.size == b.size
         && a.content_hash == b.content_hash && same_chunks;
}

caf::error superseded_error(const std::string& key, const version& held) {
  return superseded_error_with_message("a newer version of '" + key + "' is held ("
                                         + held.to_string() + ")",
                                       held);
}

caf::error superseded_error_with_message(std::string message, const version& held) {
  return caf::error{static_cast<uint8_t>(errc::superseded), error_category,
                    caf::make_message(std::move(message), held.hlc, held.node_id)};
}

std::optional<version> superseding_version(const caf::error& err) {
  if (!err || code_of(err) != errc::superseded
      || !err.context().match_elements<std::string, uint64_t, std::string>())
    return std::nullopt;
  return version{err.context().get_as<uint64_t>(1), err.context().get_as<std::string>(2)};
}

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

manifest without_inline_data(const manifest& m) {
  manifest out;
  out.key = m.key;
  out.size = m.size;
  out.content_hash = m.content_hash;
  out.chunks = m.chunks;
  out.version = m.version;
  out.deleted = m.deleted;
  return out;
}

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
  w.bytes(m.inline_data);
}

namespace {

/// Every field but the inline bytes; leaves checking the sizes to the caller.
void decode_fields(reader& r, manifest& m) {
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
  for (auto& c : m.chunks) {
    decode(r, c.id);
    c.length = r.u32();
  }
}

uint64_t chunk_total(const manifest& m) {
  uint64_t total = 0;
  for (auto& c : m.chunks)
    total += c.length;
  return total;
}

} // namespace

void decode_without_inline_data(reader& r, manifest& m) {
  decode_fields(r, m);
  if (r.ok() && !m.deleted && chunk_total(m) != m.size)
    r.fail(); // the chunk lengths must add up to the file size
}

void decode(reader& r, manifest& m) {
  decode_fields(r, m);
  m.inline_data = r.bytes(max_inline_size + chunk_cipher::overhead);
  if (!r.ok())
    return;
  if (m.deleted) {
    if (!m.inline_data.empty())
      r.fail(); // a tombstone holds no file
    return;
  }
  if (m.is_inline()) {
    // An inline file's bytes seal exactly its size; listings carry none.
    if (m.size > max_inline_size
        || (!m.inline_data.empty() && m.inline_data.size() != sealed_inline_size(m)))
      r.fail();
  } else if (chunk_total(m) != m.size || !m.inline_data.empty()) {
    r.fail(); // the chunk lengths must add up to the file size, and there is nothing inline
  }
}

sha256_digest manifest_placement_id(const std::string& key) {
  std::string tagged = "manifest:" + key;
  return sha256(tagged.data(), tagged.size());
}

} // namespace dfs
