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
  if (!error_.empty())
    return false;
  while (size > 0 && !stopped_) {
    if (!have_header_) {
      auto n = std::min(size, frame_header_size - header_fill_);
      std::memcpy(header_bytes_ + header_fill_, data, n);
      header_fill_ += n, data += n, size -= n;
      if (header_fill_ < frame_header_size)
        return true;
      if (!begin_payload())
        return false;
    }
    auto want = header_.payload_length - payload_.size();
    auto n = std::min(size, want);
    payload_.insert(payload_.end(), data, data + n);
    data += n, size -= n;
    if (payload_.size() < header_.payload_length)
      return true;
    finish_frame(on_frame);
  }
  // A frame whose payload is empty completes with its header, even at the end of the input.
  if (have_header_ && header_.payload_length == 0 && !stopped_)
    finish_frame(on_frame);
  return true;
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
