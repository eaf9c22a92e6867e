#pragma once
// The byte codec for every payload we put on the wire or on disk: little-endian integers,
// length-prefixed strings and byte runs. The reader never reads past its input and never
// allocates more than its input could hold, so a hostile length costs nothing.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace dfs {

using byte_buffer = std::vector<char>;

/// Makes room for `size` bytes in all, growing at least twofold: a buffer appended to again and
/// again (records queued for a slow socket) is then copied a bounded number of times.
inline void reserve_growing(byte_buffer& b, size_t size) {
  if (size > b.capacity())
    b.reserve(std::max(size, 2 * b.capacity()));
}

class writer {
public:
  explicit writer(byte_buffer& out) : out_(out) {}

  void u8(uint8_t x) { out_.push_back(static_cast<char>(x)); }
  void u16(uint16_t x) { put_le(x, 2); }
  void u32(uint32_t x) { put_le(x, 4); }
  void u64(uint64_t x) { put_le(x, 8); }
  void boolean(bool x) { u8(x ? 1 : 0); }
  void raw(const void* data, size_t n) {
    auto p = static_cast<const char*>(data);
    out_.insert(out_.end(), p, p + n);
  }
  void str(const std::string& s) {
    u32(static_cast<uint32_t>(s.size()));
    raw(s.data(), s.size());
  }
  void bytes(const byte_buffer& b) {
    u32(static_cast<uint32_t>(b.size()));
    raw(b.data(), b.size());
  }
  template <size_t N>
  void fixed(const std::array<uint8_t, N>& a) { raw(a.data(), N); }

private:
  void put_le(uint64_t x, int n) {
    for (int i = 0; i < n; ++i)
      out_.push_back(static_cast<char>((x >> (8 * i)) & 0xff));
  }
  byte_buffer& out_;
};

class reader {
public:
  reader(const char* data, size_t size) : pos_(data), end_(data + size) {}
  explicit reader(const byte_buffer& b) : reader(b.data(), b.size()) {}

  /// False once any read ran past the end; every later read yields zeros.
  bool ok() const { return ok_; }
  /// True when everything was consumed and nothing failed: a payload with trailing bytes is
  /// as malformed as a short one.
  bool done() const { return ok_ && pos_ == end_; }
  size_t remaining() const { return static_cast<size_t>(end_ - pos_); }
  /// Marks the input malformed for a reason the caller found (a count that cannot fit, say).
  void fail() { ok_ = false; }

  uint8_t u8() { return static_cast<uint8_t>(get_le(1)); }
  uint16_t u16() { return static_cast<uint16_t>(get_le(2)); }
  uint32_t u32() { return static_cast<uint32_t>(get_le(4)); }
  uint64_t u64() { return get_le(8); }
  bool boolean() {
    auto v = u8();
    if (v > 1)
      ok_ = false;
    return v == 1;
  }
  std::string str(size_t max_len = 1 << 20) {
    auto n = u32();
    if (!take(n, max_len))
      return {};
    std::string s(pos_ - n, pos_);
    return s;
  }
  byte_buffer bytes(size_t max_len) {
    auto n = u32();
    if (!take(n, max_len))
      return {};
    return byte_buffer(pos_ - n, pos_);
  }
  template <size_t N>
  void fixed(std::array<uint8_t, N>& a) {
    if (!take(N, N)) {
      a.fill(0);
      return;
    }
    std::memcpy(a.data(), pos_ - N, N);
  }

private:
  bool take(size_t n, size_t max_len) {
    if (!ok_ || n > max_len || n > remaining()) {
      ok_ = false;
      return false;
    }
    pos_ += n;
    return true;
  }
  uint64_t get_le(int n) {
    if (!take(static_cast<size_t>(n), static_cast<size_t>(n)))
      return 0;
    uint64_t x = 0;
    for (int i = 0; i < n; ++i)
      x |= static_cast<uint64_t>(static_cast<uint8_t>(pos_[i - n])) << (8 * i);
    return x;
  }
  const char* pos_;
  const char* end_;
  bool ok_ = true;
};

} // namespace dfs
