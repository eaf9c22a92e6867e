#pragma once
// The flow of one get's chunks: which to fetch next, which to send next, and how far the
// client's credit goes. Plain bookkeeping, no actor: actors/get_session.cpp drives it.
//
// Chunks are sent in order, each once it has arrived and the client has credit for it. A chunk
// is fetched only when the credit will take it (its index is below next_to_send + credit) and
// at most `prefetch` fetches run at once, so a get holds at most its window of chunks whatever
// the file's size or the client's speed. Each credit the client returns acknowledges the oldest
// frame sent that it had not acknowledged yet.
#include "common/codec.hpp" // byte_buffer

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>

namespace dfs {

class get_window {
public:
  /// `frames` data frames to send; the client starts with `window` credit, and never holds
  /// more; at most `prefetch` fetches at once.
  get_window(size_t frames, uint32_t window, size_t prefetch)
    : frames_(frames), window_(window), prefetch_(prefetch), credit_(window) {}

  /// The index of the chunk to fetch next, if the credit and the fetches running allow one.
  /// Nothing changes until begin_fetch (the caller may first have to wait for memory).
  std::optional<size_t> fetchable() const {
    if (fetching_ < prefetch_ && next_to_fetch_ < frames_
        && next_to_fetch_ < next_to_send_ + credit_)
      return next_to_fetch_;
    return std::nullopt;
  }
  /// The fetch of fetchable()'s chunk starts.
  size_t begin_fetch() {
    ++fetching_;
    return next_to_fetch_++;
  }
  /// A fetch ended: with its chunk, or (nullopt) without one (the get fails).
  void fetched(size_t index, std::optional<byte_buffer> bytes) {
    --fetching_;
    if (bytes)
      arrived_.emplace(index, std::move(*bytes));
  }
  /// A frame that needs no fetch (an inline file's one frame): ready to send.
  void ready(size_t index, byte_buffer bytes) {
    next_to_fetch_ = std::max(next_to_fetch_, index + 1);
    arrived_.emplace(index, std::move(bytes));
  }

  /// The next frame to send, if it has arrived and the client has credit for it.
  std::optional<byte_buffer> sendable() {
    if (credit_ == 0 || arrived_.empty() || arrived_.begin()->first != next_to_send_)
      return std::nullopt;
    auto node = arrived_.extract(arrived_.begin());
    --credit_;
    ++next_to_send_;
    return std::move(node.mapped());
  }

  /// The client returned `frames` credits. Calls `acknowledged(index)` for each frame sent
  /// that they acknowledge, oldest first; credit past the window is not the client's to give.
  template <class F>
  void credit(uint32_t frames, F acknowledged) {
    for (uint32_t i = 0; i < frames && next_to_acknowledge_ < next_to_send_; ++i)
      acknowledged(next_to_acknowledge_++);
    credit_ = static_cast<uint32_t>(std::min<uint64_t>(uint64_t{credit_} + frames, window_));
  }

  bool all_sent() const { return next_to_send_ == frames_; }
  uint32_t credit_left() const { return credit_; }
  size_t fetching() const { return fetching_; }
  size_t frames() const { return frames_; }

private:
  size_t frames_;
  uint32_t window_;
  size_t prefetch_;
  uint32_t credit_;
  size_t next_to_fetch_ = 0;
  size_t next_to_send_ = 0;
  size_t next_to_acknowledge_ = 0; // the oldest frame sent that the client's credit did not return
  size_t fetching_ = 0;
  std::map<size_t, byte_buffer> arrived_; // chunks that arrived before their turn or their credit
};

} // namespace dfs
