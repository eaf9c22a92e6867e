#pragma once
// An incremental frame decoder for byte streams that arrive in arbitrary pieces (plaintext out
// of TLS records). It holds at most one frame: the header is checked (type, length against
// the limit) before any room is made for the payload.
#include "net/frame.hpp"

#include <functional>
#include <string>

namespace dfs {

class frame_decoder {
public:
  /// Called for each complete frame; the payload may be moved from.
  using frame_handler = std::function<void(const frame_header&, byte_buffer& payload)>;

  explicit frame_decoder(size_t max_payload) : max_payload_(max_payload) {}

  /// The limit may change between frames (it grows once a peer is authenticated).
  void set_max_payload(size_t max_payload) { max_payload_ = max_payload; }

  /// Consumes bytes and calls on_frame for every frame they complete. Returns false (with
  /// error() set) on a header that is refused; nothing more is decoded after that. on_frame may
  /// ask to stop (stop()) — e.g. when the connection closes — and the rest is left unread.
  bool feed(const char* data, size_t size, const frame_handler& on_frame);

  /// Writes at most n bytes of the stream to dst and returns how many; 0 when it has none now.
  using byte_source = std::function<size_t(char* dst, size_t n)>;
  /// Like feed(), but asks `read` for the bytes and has them written straight into the frame
  /// being decoded, until `read` has none: no copy in between (the TLS endpoint decrypts into
  /// the payload). feed() is this over the bytes it is given.
  bool feed_from(const byte_source& read, const frame_handler& on_frame);

  void stop() { stopped_ = true; }
  const std::string& error() const { return error_; }
  /// Bytes of an unfinished frame held right now.
  size_t buffered() const { return header_fill_ + payload_fill_; }

private:
  /// The header is complete: checks it and makes room for the payload. False if refused.
  bool begin_payload();
  /// The payload is complete: hands the frame over and gets ready for the next header.
  void finish_frame(const frame_handler& on_frame);

  size_t max_payload_;
  char header_bytes_[frame_header_size];
  size_t header_fill_ = 0;
  bool have_header_ = false;
  frame_header header_;
  // A recycled payload buffer may be larger than the bytes received so far: payload_fill_
  // counts those. Its size only grows past what it held before as bytes arrive.
  byte_buffer payload_;
  size_t payload_fill_ = 0;
  std::string error_;
  bool stopped_ = false;
};

} // namespace dfs
