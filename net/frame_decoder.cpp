#include "net/frame_decoder.hpp"

#include <algorithm>
#include <cstring>

namespace dfs {

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
      auto header = decode_frame_header(header_bytes_, max_payload_, error_);
      if (!header)
        return false;
      header_ = *header;
      have_header_ = true;
      payload_.clear();
      payload_.reserve(header_.payload_length);
    }
    auto want = header_.payload_length - payload_.size();
    auto n = std::min(size, want);
    payload_.insert(payload_.end(), data, data + n);
    data += n, size -= n;
    if (payload_.size() < header_.payload_length)
      return true;
    have_header_ = false;
    header_fill_ = 0;
    byte_buffer payload;
    payload.swap(payload_);
    on_frame(header_, payload);
  }
  // A frame whose payload is empty completes with its header, even at the end of the input.
  if (have_header_ && header_.payload_length == 0 && !stopped_) {
    have_header_ = false;
    header_fill_ = 0;
    byte_buffer empty;
    on_frame(header_, empty);
  }
  return true;
}

} // namespace dfs
