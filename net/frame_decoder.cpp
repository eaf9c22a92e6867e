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
  payload_fill_ = 0;
  if (header_.payload_length >= buffer_pool_min_capacity) {
    // A chunk: a recycled buffer if any. Its old bytes are overwritten as the payload arrives.
    payload_ = take_scratch_buffer(header_.payload_length);
  } else {
    payload_.clear();
    payload_.reserve(header_.payload_length);
  }
  return true;
}

void frame_decoder::finish_frame(const frame_handler& on_frame) {
  have_header_ = false;
  header_fill_ = 0;
  payload_.resize(header_.payload_length); // a recycled buffer may have been longer
  payload_fill_ = 0;
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
  // Room past what a recycled buffer already has is made a record's worth at a time: the
  // zero-fill of a resize is then still in the cache when the bytes overwrite it, and memory
  // is only touched as bytes arrive.
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
    if (payload_fill_ < header_.payload_length) {
      if (payload_.size() == payload_fill_)
        payload_.resize(payload_fill_
                        + std::min<size_t>(step, header_.payload_length - payload_fill_));
      size_t room = std::min<size_t>(payload_.size(), header_.payload_length) - payload_fill_;
      size_t got = read(payload_.data() + payload_fill_, room);
      payload_fill_ += got;
      if (got == 0)
        return true;
      if (payload_fill_ < header_.payload_length)
        continue;
    }
    finish_frame(on_frame);
  }
  return true;
}

} // namespace dfs
