#pragma once
// The hashing and randomness dfs needs, on OpenSSL 3's EVP interface only.
#include <array>
#include <cstdint>
#include <string>

namespace dfs {

using sha256_digest = std::array<uint8_t, 32>;

sha256_digest sha256(const void* data, size_t size);

/// Incremental SHA-256, for content hashes of whole files that arrive chunk by chunk.
class sha256_stream {
public:
  sha256_stream();
  ~sha256_stream();
  sha256_stream(const sha256_stream&) = delete;
  sha256_stream& operator=(const sha256_stream&) = delete;
  void update(const void* data, size_t size);
  sha256_digest finish();

private:
  void* ctx_;
};

sha256_digest hmac_sha256(const std::string& key, const void* data, size_t size);

/// Compares in time independent of where the inputs differ (CRYPTO_memcmp).
bool constant_time_equal(const sha256_digest& a, const sha256_digest& b);

/// Cryptographically strong random bytes (RAND_bytes); throws std::runtime_error on failure.
void random_bytes(void* out, size_t size);

std::string to_hex(const uint8_t* data, size_t size);
template <size_t N>
std::string to_hex(const std::array<uint8_t, N>& a) { return to_hex(a.data(), N); }
/// Parses exactly 2*N hex digits; false on anything else.
bool from_hex(const std::string& hex, uint8_t* out, size_t size);

} // namespace dfs
