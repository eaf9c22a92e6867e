#include "common/chunk_cipher.hpp"

#include "common/buffer_pool.hpp"

#include "common/error.hpp"
#include "common/manifest.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include <climits>
#include <cstring>
#include <memory>
#include <stdexcept>

namespace dfs {

namespace {

constexpr size_t tag_size = 16;

struct kdf_ctx_deleter {
  void operator()(EVP_KDF_CTX* p) const { EVP_KDF_CTX_free(p); }
};
struct cipher_ctx_deleter {
  void operator()(EVP_CIPHER_CTX* p) const { EVP_CIPHER_CTX_free(p); }
};
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_deleter>;

/// OpenSSL's EVP update functions take int lengths; a chunk is at most 64 MiB, but say so.
int checked_int(size_t n) {
  if (n > static_cast<size_t>(INT_MAX))
    throw std::runtime_error("AES-256-GCM input larger than 2 GiB");
  return static_cast<int>(n);
}

cipher_ctx_ptr gcm_context(bool encrypt, const aes256_key& key, const gcm_nonce& nonce) {
  cipher_ctx_ptr ctx{EVP_CIPHER_CTX_new()};
  if (!ctx)
    throw std::runtime_error("EVP_CIPHER_CTX_new failed");
  auto init = encrypt ? EVP_EncryptInit_ex : EVP_DecryptInit_ex;
  // A 12-byte IV is GCM's default length, so no EVP_CTRL_GCM_SET_IVLEN is needed.
  if (init(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), nonce.data()) != 1)
    throw std::runtime_error("AES-256-GCM init failed");
  return ctx;
}

aes256_key derive_key(const std::string& secret, const char* label) {
  auto okm = hkdf_sha256(secret.data(), secret.size(), nullptr, 0, label, std::strlen(label), 32);
  aes256_key out{};
  std::memcpy(out.data(), okm.data(), out.size());
  OPENSSL_cleanse(okm.data(), okm.size());
  return out;
}

std::string derive_key_string(const std::string& secret, const char* label) {
  auto k = derive_key(secret, label);
  std::string out(reinterpret_cast<const char*>(k.data()), k.size());
  OPENSSL_cleanse(k.data(), k.size());
  return out;
}

} // namespace

std::vector<uint8_t> hkdf_sha256(const void* ikm, size_t ikm_size, const void* salt,
                                 size_t salt_size, const void* info, size_t info_size,
                                 size_t length) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr)
    throw std::runtime_error("HKDF is not available in this OpenSSL");
  std::unique_ptr<EVP_KDF_CTX, kdf_ctx_deleter> ctx{EVP_KDF_CTX_new(kdf)};
  EVP_KDF_free(kdf);
  if (!ctx)
    throw std::runtime_error("EVP_KDF_CTX_new failed");
  // OSSL_PARAM wants non-const pointers; OpenSSL only reads through them.
  static char digest_name[] = "SHA256";
  static const uint8_t empty = 0;
  OSSL_PARAM params[5];
  size_t n = 0;
  params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest_name, 0);
  params[n++] = OSSL_PARAM_construct_octet_string(
    OSSL_KDF_PARAM_KEY, const_cast<void*>(ikm_size ? ikm : &empty), ikm_size);
  if (salt_size > 0)
    params[n++] =
      OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<void*>(salt), salt_size);
  params[n++] = OSSL_PARAM_construct_octet_string(
    OSSL_KDF_PARAM_INFO, const_cast<void*>(info_size ? info : &empty), info_size);
  params[n] = OSSL_PARAM_construct_end();
  std::vector<uint8_t> out(length);
  if (EVP_KDF_derive(ctx.get(), out.data(), out.size(), params) != 1)
    throw std::runtime_error("HKDF-SHA256 failed");
  return out;
}

namespace {

/// Encrypts plaintext into dst as ciphertext || tag (size + tag_size bytes).
void aes256gcm_seal_into(const aes256_key& key, const gcm_nonce& nonce, const void* aad,
                         size_t aad_size, const void* plaintext, size_t size,
                         unsigned char* dst) {
  auto ctx = gcm_context(true, key, nonce);
  int len = 0;
  if (aad_size > 0
      && EVP_EncryptUpdate(ctx.get(), nullptr, &len, static_cast<const unsigned char*>(aad),
                           checked_int(aad_size))
           != 1)
    throw std::runtime_error("AES-256-GCM AAD failed");
  size_t done = 0;
  if (size > 0) {
    if (EVP_EncryptUpdate(ctx.get(), dst, &len, static_cast<const unsigned char*>(plaintext),
                          checked_int(size))
        != 1)
      throw std::runtime_error("AES-256-GCM encryption failed");
    done = static_cast<size_t>(len);
  }
  if (EVP_EncryptFinal_ex(ctx.get(), dst + done, &len) != 1)
    throw std::runtime_error("AES-256-GCM final failed");
  done += static_cast<size_t>(len);
  if (done != size
      || EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, tag_size, dst + size) != 1)
    throw std::runtime_error("AES-256-GCM tag failed");
}

} // namespace

byte_buffer aes256gcm_seal(const aes256_key& key, const gcm_nonce& nonce, const void* aad,
                           size_t aad_size, const void* plaintext, size_t size) {
  byte_buffer out(size + tag_size);
  aes256gcm_seal_into(key, nonce, aad, aad_size, plaintext, size,
                      reinterpret_cast<unsigned char*>(out.data()));
  return out;
}

namespace {

/// Decrypts ciphertext || tag from src into dst (dst == src decrypts in place) and checks the
/// tag; false when it does not verify. size >= tag_size.
bool aes256gcm_open_into(const aes256_key& key, const gcm_nonce& nonce, const void* aad,
                         size_t aad_size, const unsigned char* src, size_t size,
                         unsigned char* dst) {
  auto body = size - tag_size;
  auto ctx = gcm_context(false, key, nonce);
  int len = 0;
  if (aad_size > 0
      && EVP_DecryptUpdate(ctx.get(), nullptr, &len, static_cast<const unsigned char*>(aad),
                           checked_int(aad_size))
           != 1)
    throw std::runtime_error("AES-256-GCM AAD failed");
  // The tag is read before an in-place decryption could overwrite anything near it.
  unsigned char tag[tag_size];
  std::memcpy(tag, src + body, tag_size);
  size_t done = 0;
  if (body > 0) {
    if (EVP_DecryptUpdate(ctx.get(), dst, &len, src, checked_int(body)) != 1)
      throw std::runtime_error("AES-256-GCM decryption failed");
    done = static_cast<size_t>(len);
  }
  // The expected tag must be set before the final call, which compares in constant time.
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, tag_size, tag) != 1)
    throw std::runtime_error("AES-256-GCM set tag failed");
  if (EVP_DecryptFinal_ex(ctx.get(), dst + done, &len) != 1) {
    OPENSSL_cleanse(dst, body); // unauthenticated plaintext is not left lying around
    return false;
  }
  return true;
}

} // namespace

caf::expected<byte_buffer> aes256gcm_open(const aes256_key& key, const gcm_nonce& nonce,
                                          const void* aad, size_t aad_size, const void* sealed,
                                          size_t size) {
  if (size < tag_size)
    return make_error(errc::corrupt, "the sealed data is shorter than its tag");
  byte_buffer out(size - tag_size);
  if (!aes256gcm_open_into(key, nonce, aad, aad_size, static_cast<const unsigned char*>(sealed),
                           size, reinterpret_cast<unsigned char*>(out.data())))
    return make_error(errc::corrupt, "the authentication tag does not verify");
  return out;
}

chunk_cipher::chunk_cipher(const std::string& cluster_secret)
  : data_key_(derive_key(cluster_secret, "dfs data key v1")),
    nonce_key_(derive_key_string(cluster_secret, "dfs nonce key v1")),
    content_hash_key_(derive_key_string(cluster_secret, "dfs content hash key v1")) {
}

chunk_cipher::~chunk_cipher() {
  OPENSSL_cleanse(data_key_.data(), data_key_.size());
  OPENSSL_cleanse(nonce_key_.data(), nonce_key_.size());
  OPENSSL_cleanse(content_hash_key_.data(), content_hash_key_.size());
}

gcm_nonce chunk_cipher::nonce_for(const void* plaintext, size_t size) const {
  auto mac = hmac_sha256(nonce_key_, plaintext, size);
  gcm_nonce nonce{};
  std::memcpy(nonce.data(), mac.data(), nonce.size());
  return nonce;
}

byte_buffer chunk_cipher::seal(const void* plaintext, size_t size) const {
  auto nonce = nonce_for(plaintext, size);
  // Sealed straight behind the nonce: one chunk-sized buffer, not a second one and a copy.
  // Every byte is written below: a recycled buffer's old bytes need no zero-fill first.
  byte_buffer out = take_scratch_buffer(overhead + size);
  out.resize(overhead + size);
  std::memcpy(out.data(), nonce.data(), nonce.size());
  aes256gcm_seal_into(data_key_, nonce, nullptr, 0, plaintext, size,
                      reinterpret_cast<unsigned char*>(out.data()) + nonce.size());
  return out;
}

caf::expected<byte_buffer> chunk_cipher::open(const void* stored, size_t size) const {
  if (size < overhead)
    return make_error(errc::corrupt, "a stored chunk of " + std::to_string(size)
                                       + " bytes is shorter than its nonce and tag");
  gcm_nonce nonce{};
  std::memcpy(nonce.data(), stored, nonce.size());
  auto plain = aes256gcm_open(data_key_, nonce, nullptr, 0,
                              static_cast<const char*>(stored) + nonce.size(), size - nonce.size());
  if (!plain)
    return make_error(errc::corrupt, "the chunk does not decrypt: its authentication tag does "
                                     "not verify (damaged, or another cluster's secret)");
  return plain;
}

caf::expected<byte_buffer> chunk_cipher::open(byte_buffer&& stored) const {
  if (stored.size() < overhead)
    return open(stored.data(), stored.size()); // the same error as ever
  gcm_nonce nonce{};
  std::memcpy(nonce.data(), stored.data(), nonce.size());
  auto body = reinterpret_cast<unsigned char*>(stored.data()) + nonce.size();
  if (!aes256gcm_open_into(data_key_, nonce, nullptr, 0, body, stored.size() - nonce.size(),
                           body))
    return make_error(errc::corrupt, "the chunk does not decrypt: its authentication tag does "
                                     "not verify (damaged, or another cluster's secret)");
  // The plaintext moves down over the nonce: one pass over bytes already in hand, instead of a
  // fresh chunk-sized buffer (its page faults and zero-fill) for every chunk read.
  size_t plain = stored.size() - overhead;
  std::memmove(stored.data(), body, plain);
  stored.resize(plain);
  return std::move(stored);
}

sha256_digest chunk_cipher::mask_content_hash(const std::string& key, const version& v,
                                              const sha256_digest& digest) const {
  byte_buffer input;
  writer w{input};
  w.str("dfs content hash v1");
  w.str(key);
  w.u64(v.hlc);
  w.str(v.node_id);
  auto pad = hmac_sha256(content_hash_key_, input.data(), input.size());
  sha256_digest out{};
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = digest[i] ^ pad[i];
  return out;
}

} // namespace dfs
