#define CAF_SUITE chunk_cipher
#include "tests/unit/test_helpers.hpp"

#include "common/error.hpp"
#include "common/chunk_cipher.hpp"
#include "common/manifest.hpp"

#include <cstring>

using namespace dfs;

namespace {

std::vector<uint8_t> unhex(const std::string& hex) {
  std::vector<uint8_t> out(hex.size() / 2);
  if (!from_hex(hex, out.data(), out.size()))
    CAF_FAIL("bad hex in the test: " << hex);
  return out;
}

template <size_t N>
std::array<uint8_t, N> unhex_array(const std::string& hex) {
  std::array<uint8_t, N> out{};
  if (!from_hex(hex, out.data(), N))
    CAF_FAIL("bad hex in the test: " << hex);
  return out;
}

std::string hex_of(const byte_buffer& b) {
  return to_hex(reinterpret_cast<const uint8_t*>(b.data()), b.size());
}

std::string hex_of(const std::vector<uint8_t>& b) { return to_hex(b.data(), b.size()); }

using test::bytes_of;

const std::string secret = "dfs unit test secret: 32+ bytes long!";

} // namespace

// -- known answers ---------------------------------------------------------------------------

CAF_TEST(HKDF-SHA256 gives RFC 5869 test case 1) {
  auto ikm = unhex("0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b");
  auto salt = unhex("000102030405060708090a0b0c");
  auto info = unhex("f0f1f2f3f4f5f6f7f8f9");
  auto okm = hkdf_sha256(ikm.data(), ikm.size(), salt.data(), salt.size(), info.data(),
                         info.size(), 42);
  CAF_CHECK_EQUAL(hex_of(okm), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
                               "34007208d5b887185865");
}

CAF_TEST(AES-256-GCM gives the GCM specification test cases 13 14 and 16) {
  aes256_key zero_key{};
  gcm_nonce zero_nonce{};
  // Test case 13: empty plaintext, no AAD: the output is the tag alone.
  auto tc13 = aes256gcm_seal(zero_key, zero_nonce, nullptr, 0, nullptr, 0);
  CAF_CHECK_EQUAL(hex_of(tc13), "530f8afbc74536b9a963b4f1c4cb738b");
  // Test case 14: one zero block.
  std::array<uint8_t, 16> zeros{};
  auto tc14 = aes256gcm_seal(zero_key, zero_nonce, nullptr, 0, zeros.data(), zeros.size());
  CAF_CHECK_EQUAL(hex_of(tc14),
                  "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");
  // Test case 16: 60 bytes of plaintext with 20 bytes of AAD.
  auto key = unhex_array<32>("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  auto nonce = unhex_array<12>("cafebabefacedbaddecaf888");
  auto pt = unhex("d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
                  "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
  auto aad = unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  auto tc16 = aes256gcm_seal(key, nonce, aad.data(), aad.size(), pt.data(), pt.size());
  CAF_CHECK_EQUAL(hex_of(tc16),
                  "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
                  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
                  "76fc6ece0f4e1768cddf8853bb2d551b");
  auto back = aes256gcm_open(key, nonce, aad.data(), aad.size(), tc16.data(), tc16.size());
  CAF_REQUIRE(back);
  CAF_CHECK_EQUAL(hex_of(*back), hex_of(pt));
  // The same ciphertext under other AAD does not open.
  auto wrong_aad = aad;
  wrong_aad[0] ^= 1;
  CAF_CHECK(!aes256gcm_open(key, nonce, wrong_aad.data(), wrong_aad.size(), tc16.data(),
                            tc16.size()));
}

CAF_TEST(a chunk seals to the bytes computed independently) {
  // Computed once with Python's `cryptography` package from the definitions in
  // common/chunk_cipher.hpp (HKDF-SHA256 without salt, info = the label; nonce = HMAC-SHA256
  // of the plaintext under the nonce key, first 12 bytes; AES-256-GCM without AAD).
  chunk_cipher c{secret};
  CAF_CHECK_EQUAL(to_hex(c.data_key()),
                  "20b8fcd388be90d0de286767b752cac8e44f908db1b7e245e21899ccce9b0867");
  auto stored = c.seal("attack at dawn", 14);
  CAF_CHECK_EQUAL(hex_of(stored), "3c0f7305a5b44efb4c15b937cffac6f803b67a2d7724e3982ff60aa18a3a"
                                  "788a52554237e81e6c5377f7");
  CAF_CHECK_EQUAL(chunk_id::of(stored.data(), stored.size()).hex(),
                  "b46e1a82679f12f6c11e552b1187aa9158cd2668b235e94d8f79d732ecf06349");
}

// -- properties -----------------------------------------------------------------------------

CAF_TEST(seal and open round trip for every size) {
  chunk_cipher c{secret};
  for (size_t size : {0u, 1u, 15u, 16u, 17u, 4096u, 65537u}) {
    byte_buffer pt(size);
    for (size_t i = 0; i < size; ++i)
      pt[i] = static_cast<char>(i * 31 + 7);
    auto stored = c.seal(pt.data(), pt.size());
    CAF_CHECK_EQUAL(stored.size(), size + chunk_cipher::overhead);
    auto back = c.open(stored);
    CAF_REQUIRE(back);
    CAF_CHECK(*back == pt);
    auto in_place = c.open(byte_buffer{stored}); // decrypts in the stored bytes' own buffer
    CAF_REQUIRE(in_place);
    CAF_CHECK(*in_place == pt);
  }
}

CAF_TEST(sealing is deterministic so identical chunks dedup) {
  chunk_cipher a{secret};
  chunk_cipher b{secret}; // another node with the same secret
  auto pt = bytes_of("the same plaintext on two nodes");
  auto s1 = a.seal(pt.data(), pt.size());
  auto s2 = b.seal(pt.data(), pt.size());
  CAF_CHECK(s1 == s2);
  auto other = bytes_of("the same plaintext on two nodeS");
  auto s3 = a.seal(other.data(), other.size());
  CAF_CHECK(s1 != s3);
  // The nonces differ as well: never one nonce for two plaintexts.
  CAF_CHECK(!std::equal(s1.begin(), s1.begin() + 12, s3.begin()));
  // The plaintext appears nowhere in what is stored.
  std::string stored_text(s1.begin(), s1.end());
  CAF_CHECK_EQUAL(stored_text.find("plaintext"), std::string::npos);
}

CAF_TEST(another secret gives other keys and cannot open) {
  chunk_cipher a{secret};
  chunk_cipher b{secret + "x"};
  CAF_CHECK(a.data_key() != b.data_key());
  auto pt = bytes_of("secret stuff");
  auto stored = a.seal(pt.data(), pt.size());
  CAF_CHECK(stored != b.seal(pt.data(), pt.size()));
  auto opened = b.open(stored);
  CAF_REQUIRE(!opened);
  CAF_CHECK(code_of(opened.error()) == errc::corrupt);
}

CAF_TEST(the data key differs from the handshake key) {
  // The handshake MACs with the raw secret; the data key is derived under its own label.
  chunk_cipher c{secret};
  auto raw = hmac_sha256(secret, "dfs data key v1", 15);
  CAF_CHECK(c.data_key() != raw);
  std::array<uint8_t, 32> secret_prefix{};
  std::memcpy(secret_prefix.data(), secret.data(), 32);
  CAF_CHECK(c.data_key() != secret_prefix);
}

CAF_TEST(any flipped bit in nonce ciphertext or tag is detected) {
  chunk_cipher c{secret};
  auto pt = bytes_of("sixteen bytes!!!and some more");
  auto stored = c.seal(pt.data(), pt.size());
  // nonce (0..11), ciphertext (12..12+n-1), tag (last 16)
  for (size_t pos : {size_t{0}, size_t{11}, size_t{12}, size_t{12} + pt.size() - 1,
                     stored.size() - 16, stored.size() - 1}) {
    auto bad = stored;
    bad[pos] = static_cast<char>(bad[pos] ^ 0x01);
    auto opened = c.open(bad);
    CAF_CHECK(!opened);
    if (!opened)
      CAF_CHECK(code_of(opened.error()) == errc::corrupt);
    auto opened_in_place = c.open(byte_buffer{bad});
    CAF_CHECK(!opened_in_place);
    if (!opened_in_place)
      CAF_CHECK(code_of(opened_in_place.error()) == errc::corrupt);
  }
  // Truncated: shorter than nonce + tag, or a tag cut short.
  CAF_CHECK(!c.open(byte_buffer(stored.begin(), stored.begin() + 27)));
  CAF_CHECK(!c.open(byte_buffer(stored.begin(), stored.end() - 1)));
  CAF_CHECK(!c.open(byte_buffer{}));
}

CAF_TEST(the content hash mask hides the digest and undoes itself) {
  chunk_cipher c{secret};
  auto digest = sha256("file", 4);
  version v1{1000, "00112233445566778899aabbccddeeff"};
  version v2{1001, "00112233445566778899aabbccddeeff"};
  auto m1 = c.mask_content_hash("k", v1, digest);
  CAF_CHECK(m1 != digest);
  CAF_CHECK(c.mask_content_hash("k", v1, m1) == digest);
  // The same content under another version or key looks unrelated.
  CAF_CHECK(c.mask_content_hash("k", v2, digest) != m1);
  CAF_CHECK(c.mask_content_hash("j", v1, digest) != m1);
  // Without the secret the pad is unknown.
  chunk_cipher other{secret + "!"};
  CAF_CHECK(other.mask_content_hash("k", v1, m1) != digest);
}
