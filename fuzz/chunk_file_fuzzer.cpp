// The on-disk (and on-the-wire) chunk format of encryption at rest (common/chunk_cipher.hpp):
// nonce (12) || AES-256-GCM ciphertext || tag (16), read back by chunk_cipher::open.
//
// Input: [mode] rest...
//   mode % 2 == 0  rest is a stored chunk as read from disk or from a peer: open() must refuse
//                  it cleanly (a forgery cannot carry a valid tag) or, if it opens, it must be
//                  exactly what seal() makes of the plaintext
//   mode % 2 == 1  rest[0..1] pick a bit to flip and a length to cut, rest[2..] is a plaintext:
//                  seal() is deterministic, costs exactly the overhead, starts with
//                  nonce_for(), and open() gives the plaintext back; the sealed chunk with one
//                  bit flipped, or cut short, is refused
// Both modes also run the raw aes256gcm_open on the bytes, and mask_content_hash twice (an
// involution).
#include "fuzz/fuzz_common.hpp"
#include "common/chunk_cipher.hpp"
#include "common/manifest.hpp"

#include <algorithm>
#include <string>

using namespace dfs;

namespace {

const chunk_cipher& cipher() {
  static const chunk_cipher c{"fuzzing secret, at least thirty-two bytes long"};
  return c;
}

void check_stored(const char* data, size_t size) {
  auto plain = cipher().open(data, size);
  if (size < chunk_cipher::overhead)
    FUZZ_CHECK(!plain);
  if (plain) {
    FUZZ_CHECK(plain->size() + chunk_cipher::overhead == size);
    auto again = cipher().seal(plain->data(), plain->size());
    FUZZ_CHECK(again.size() == size && std::equal(again.begin(), again.end(), data));
  }
  gcm_nonce nonce{};
  auto raw = aes256gcm_open(cipher().data_key(), nonce, data, std::min<size_t>(size, 13), data,
                            size);
  if (size < 16)
    FUZZ_CHECK(!raw);
}

void check_round_trip(const char* data, size_t size) {
  if (size < 2)
    return;
  auto flip_at = static_cast<uint8_t>(data[0]);
  auto cut = static_cast<uint8_t>(data[1]);
  data += 2, size -= 2;
  auto sealed = cipher().seal(data, size);
  FUZZ_CHECK(sealed.size() == size + chunk_cipher::overhead);
  FUZZ_CHECK(cipher().seal(data, size) == sealed);
  auto nonce = cipher().nonce_for(data, size);
  FUZZ_CHECK(std::equal(nonce.begin(), nonce.end(), reinterpret_cast<uint8_t*>(sealed.data())));
  auto opened = cipher().open(sealed);
  FUZZ_CHECK(opened && opened->size() == size && std::equal(opened->begin(), opened->end(), data));

  auto damaged = sealed;
  auto bit = (static_cast<size_t>(flip_at) * 131) % (damaged.size() * 8);
  damaged[bit / 8] = static_cast<char>(damaged[bit / 8] ^ (1 << (bit % 8)));
  FUZZ_CHECK(!cipher().open(damaged));

  auto short_len = sealed.size() - 1 - std::min<size_t>(cut, sealed.size() - 1);
  FUZZ_CHECK(!cipher().open(sealed.data(), short_len));

  version v{static_cast<uint64_t>(size) * 7919, std::string(data, std::min<size_t>(size, 32))};
  sha256_digest digest{};
  std::copy_n(reinterpret_cast<const uint8_t*>(sealed.data()),
              std::min(digest.size(), sealed.size()), digest.begin());
  std::string key(data, size);
  auto masked = cipher().mask_content_hash(key, v, digest);
  FUZZ_CHECK(cipher().mask_content_hash(key, v, masked) == digest);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  cipher();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* raw, size_t raw_size) {
  if (raw_size < 1)
    return 0;
  auto data = reinterpret_cast<const char*>(raw + 1);
  size_t size = raw_size - 1;
  if (raw[0] % 2 == 0)
    check_stored(data, size);
  else
    check_round_trip(data, size);
  return 0;
}
