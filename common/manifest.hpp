#pragma once
// The data model: a key maps to a manifest, which lists the content-addressed chunks of a file,
// or, for a file of at most max_inline_size bytes, holds the file itself (sealed like a chunk).
#include "common/error.hpp"
#include "common/codec.hpp"
#include "common/chunk_cipher.hpp"
#include "common/crypto.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dfs {

/// SHA-256 of a chunk's stored bytes: any node can check a chunk without knowing more.
struct chunk_id {
  sha256_digest bytes{};

  static chunk_id of(const void* data, size_t size) { return chunk_id{sha256(data, size)}; }
  std::string hex() const { return to_hex(bytes); }
  friend bool operator==(const chunk_id& a, const chunk_id& b) { return a.bytes == b.bytes; }
  friend bool operator!=(const chunk_id& a, const chunk_id& b) { return !(a == b); }
  friend bool operator<(const chunk_id& a, const chunk_id& b) { return a.bytes < b.bytes; }
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, chunk_id& x) {
  return f(x.bytes);
}

struct chunk_ref {
  chunk_id id;
  uint32_t length = 0;
};

/// Which write of a key is newer: a hybrid-logical-clock timestamp (milliseconds, bumped past
/// anything seen), ties broken by the writing node's id, so every node picks the same winner.
struct version {
  uint64_t hlc = 0;
  std::string node_id;

  friend bool operator<(const version& a, const version& b) {
    return a.hlc != b.hlc ? a.hlc < b.hlc : a.node_id < b.node_id;
  }
  friend bool operator==(const version& a, const version& b) {
    return a.hlc == b.hlc && a.node_id == b.node_id;
  }
  std::string to_string() const;
};

/// Files up to this size live inside their manifest instead of in a chunk: a small put is then
/// one durable write per replica (the manifest) instead of two rounds (chunk, then manifest).
constexpr size_t max_inline_size = 64 * 1024;

struct manifest {
  std::string key;
  uint64_t size = 0;
  sha256_digest content_hash{}; // SHA-256 of the whole plaintext file
  std::vector<chunk_ref> chunks;
  struct version version;
  bool deleted = false; // a tombstone: the key was removed at this version
  // An inline file's bytes, sealed by chunk_cipher exactly as a chunk would be. Empty for a
  // chunked file, a tombstone, an empty file, and for an inline file's manifest in listings and
  // inventories, which carry the metadata only (see without_inline_data).
  byte_buffer inline_data;

  /// True when this manifest should replace `other` on every node.
  bool newer_than(const manifest& other) const { return other.version < version; }

  /// The file's bytes are in the manifest (inline_data), not in chunks. Such a manifest may
  /// arrive without them (listings, inventories): inline_data is then empty.
  bool is_inline() const { return !deleted && size > 0 && chunks.empty(); }
};

/// Both are the same write: one version and the same contents. (Two writes of one version
/// with different contents come from a node whose clock went back: not the same write.)
bool same_write(const manifest& a, const manifest& b);

/// The answer of a replica asked to keep a version of `key` older than the one it holds, or
/// the one it holds with other contents: errc::superseded, carrying `held` so that the writer
/// can go past it (error frames carry it too, see error_msg).
caf::error superseded_error(const std::string& key, const version& held);
/// The same with the sentence given (an error frame's, from a peer).
caf::error superseded_error_with_message(std::string message, const version& held);
/// The version a superseded error carries; nullopt for any other error.
std::optional<version> superseding_version(const caf::error& err);

/// The manifest as listings carry it: everything but the inline file's bytes.
manifest without_inline_data(const manifest& m);

/// How many bytes an inline file's sealed bytes take (0 for any other manifest), known from
/// its size even where the manifest comes without them.
inline uint64_t sealed_inline_size(const manifest& m) {
  return m.is_inline() ? m.size + chunk_cipher::overhead : 0;
}

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, manifest& x) {
  return f(x.key, x.size, x.version.hlc, x.version.node_id, x.deleted);
}

/// Longest key accepted anywhere (bytes of UTF-8).
constexpr size_t max_key_length = 1024;
/// Most chunks one manifest may list: 2^20 chunks of the default 4 MiB is 4 TiB.
constexpr size_t max_chunks_per_manifest = 1 << 20;

/// A key is 1..max_key_length bytes, without NUL; returns an explanation when it is not.
std::optional<std::string> invalid_key_reason(const std::string& key);

void encode(writer& w, const chunk_id& id);
void decode(reader& r, chunk_id& id);
void encode(writer& w, const manifest& m);
/// Leaves `r` failed on malformed input: chunk lengths that do not add up to the size, or
/// inline bytes that are not the size plus the seal's overhead, or both chunks and inline bytes.
void decode(reader& r, manifest& m);
/// The encoding of on-disk format 1, from before inline files: no inline_data field.
void decode_without_inline_data(reader& r, manifest& m);

/// The id under which a key's manifest is placed: SHA-256 of "manifest:" + key.
sha256_digest manifest_placement_id(const std::string& key);

} // namespace dfs
