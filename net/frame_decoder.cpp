#include "net/frame_decoder.hpp"

#include "common/buffer_pool.hpp"

#include <algorithm>
#include <cstring>

namespace dfs {

bool frame_decoder::begin_payload() {
  auto header = decode_frame_header(header_bytes_, max_payload_, error_);
  if (!header)
    return false;
  header_ = *header;
  have_header_ = true;
  if (header_.payload_length >= buffer_pool_min_capacity) {
    payload_ = take_buffer(header_.payload_length); // a chunk: a recycled buffer if any
  } else {
    payload_.clear();
    payload_.reserve(header_.payload_length);
  }
  return true;
}

void frame_decoder::finish_frame(const frame_handler& on_frame) {
  have_header_ = false;
  header_fill_ = 0;
  byte_buffer payload;
  payload.swap(payload_);
  on_frame(header_, payload);
}

bool frame_decoder::feed(const char* data, size_t size, const frame_handler& on_frame) {
  return feed_from(
    [&data, &size](char* dst, size_t n) {
      n = std::min(n, size);
      if (n == 0)
        return n; // data may be null at its end
      std::memcpy(dst, data, n);
      data += n, size -= n;
      return n;
    },
    on_frame);
}

bool frame_decoder::feed_from(const byte_source& read, const frame_handler& on_frame) {
  // Room is made a record's worth at a time: the zero-fill of a resize is then still in the
  // cache when the bytes overwrite it.
  constexpr size_t step = 16 * 1024;
  if (!error_.empty())
    return false;
  while (!stopped_) {
    if (!have_header_) {
      size_t got = read(header_bytes_ + header_fill_, frame_header_size - header_fill_);
      if (got == 0)
        return true;
      header_fill_ += got;
      if (header_fill_ < frame_header_size)
        continue;
      if (!begin_payload())
        return false;
    }
    if (payload_.size() < header_.payload_length) {
      size_t old = payload_.size();
      payload_.resize(old + std::min(step, header_.payload_length - old));
      size_t got = read(payload_.data() + old, payload_.size() - old);
      payload_.resize(old + got);
      if (got == 0)
        return true;
      if (payload_.size() < header_.payload_length)
        continue;
    }
    finish_frame(on_frame);
  }
  return true;
}

} // namespace dfs
