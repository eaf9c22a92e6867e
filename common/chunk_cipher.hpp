#pragma once
// Encryption at rest. The node that receives a file encrypts each chunk before it leaves, so
// every disk in the cluster (and every wire between nodes) holds only ciphertext:
//
//   stored chunk = nonce (12) || AES-256-GCM ciphertext (same length as the plaintext) || tag (16)
//   nonce        = first 12 bytes of HMAC-SHA256(nonce key, plaintext)
//   chunk id     = SHA-256(stored chunk), as before: any node verifies a chunk without a key
//
// The nonce is a keyed hash of the plaintext (a synthetic IV), so the same plaintext gives the
// same stored bytes and the same id on every node: dedup works cluster-wide, while without the
// secret nobody can even test a guess of a chunk's content. Two different plaintexts share a
// nonce only by a 96-bit collision.
//
// Every key is derived from the cluster secret with HKDF-SHA256 under a label of its own, so
// the handshake (HMAC with the raw secret) and the data keys never share key material:
//   "dfs data key v1"          AES-256-GCM key of chunks
//   "dfs nonce key v1"         HMAC key that derives the nonces
//   "dfs content hash key v1"  HMAC key that masks the manifest's content hash
#include "common/codec.hpp"
#include "common/crypto.hpp"

#include <caf/expected.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace dfs {

struct version;

using aes256_key = std::array<uint8_t, 32>;
using gcm_nonce = std::array<uint8_t, 12>;

/// HKDF-SHA256 (RFC 5869): extract with `salt` (empty = HashLen zeros), expand with `info` to
/// `length` bytes (at most 255 * 32). Throws std::runtime_error if OpenSSL fails.
std::vector<uint8_t> hkdf_sha256(const void* ikm, size_t ikm_size, const void* salt,
                                 size_t salt_size, const void* info, size_t info_size,
                                 size_t length);

/// AES-256-GCM with a 96-bit nonce and a 128-bit tag: ciphertext || tag.
byte_buffer aes256gcm_seal(const aes256_key& key, const gcm_nonce& nonce, const void* aad,
                           size_t aad_size, const void* plaintext, size_t size);

/// The plaintext, or errc::corrupt when the tag does not verify (or the input is shorter than
/// a tag). `sealed` is ciphertext || tag.
caf::expected<byte_buffer> aes256gcm_open(const aes256_key& key, const gcm_nonce& nonce,
                                          const void* aad, size_t aad_size, const void* sealed,
                                          size_t size);

/// The keys of one cluster, derived once from its secret; seals and opens chunks.
class chunk_cipher {
public:
  /// Bytes a stored chunk takes beyond its plaintext: nonce and tag.
  static constexpr size_t overhead = 12 + 16;

  explicit chunk_cipher(const std::string& cluster_secret);
  ~chunk_cipher();
  chunk_cipher(const chunk_cipher&) = default;
  chunk_cipher& operator=(const chunk_cipher&) = default;

  /// nonce || ciphertext || tag, deterministic in the plaintext.
  byte_buffer seal(const void* plaintext, size_t size) const;

  /// The plaintext of a stored chunk. errc::corrupt when it is too short or its tag does not
  /// verify (damaged, or sealed under another cluster's secret).
  caf::expected<byte_buffer> open(const void* stored, size_t size) const;
  caf::expected<byte_buffer> open(const byte_buffer& stored) const {
    return open(stored.data(), stored.size());
  }
  /// The same, decrypting in the stored chunk's own buffer, which becomes the plaintext (on a
  /// failure it holds nothing useful).
  caf::expected<byte_buffer> open(byte_buffer&& stored) const;

  /// The nonce seal() uses for this plaintext.
  gcm_nonce nonce_for(const void* plaintext, size_t size) const;

  /// Hides a file's SHA-256 in its manifest: XOR with HMAC(content hash key, key, version), a
  /// pad that differs for every write of every key. Applying it twice gives the digest back.
  sha256_digest mask_content_hash(const std::string& key, const version& v,
                                  const sha256_digest& digest) const;

  const aes256_key& data_key() const { return data_key_; }

private:
  aes256_key data_key_{};
  std::string nonce_key_;
  std::string content_hash_key_;
};

} // namespace dfs
