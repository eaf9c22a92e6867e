// The frame layer: decode_frame_header and the incremental frame_decoder (net/frame*.hpp), the
// first code that sees a stranger's bytes.
//
// Input: [limits] [split seed] [stop after] stream...
//   limits      bits 0-2 pick the payload limit of the first frame, bits 3-5 the limit after it
//               (the decoder's limit grows once a peer is authenticated)
//   split seed  how the stream is cut into pieces for a second decoder
//   stop after  a third decoder calls stop() after this many frames (0: never)
//
// Invariants: the decoder fed the whole stream at once, the one fed it in pieces and a plain
// sequential parse with decode_frame_header agree on every frame and on the error; the decoder
// never holds more than a header plus the current limit and never allocates more than the
// limit at once; every frame encodes back to exactly the bytes it came from.
#include "common/buffer_pool.hpp"
#include "fuzz/fuzz_common.hpp"
#include "net/frame.hpp"
#include "net/frame_decoder.hpp"

#include <algorithm>
#include <string>
#include <vector>

using namespace dfs;
using dfs::fuzz::alloc_meter;

namespace {

constexpr size_t limits[] = {0, 1, 16, 255, max_handshake_payload, 65536, 1 << 20, 7};

struct seen_frame {
  frame_header header;
  byte_buffer payload;
  bool operator==(const seen_frame& o) const {
    return header.payload_length == o.header.payload_length && header.type == o.header.type
           && header.flags == o.header.flags && header.request_id == o.header.request_id
           && payload == o.payload;
  }
};

struct outcome {
  std::vector<seen_frame> frames;
  bool failed = false;
  std::string error;
};

/// The reference: the stream parsed header by header, without the decoder's state machine.
outcome reference_parse(const char* data, size_t size, size_t first_limit, size_t later_limit,
                        size_t stop_after) {
  outcome out;
  size_t pos = 0;
  size_t limit = first_limit;
  while (size - pos >= frame_header_size) {
    if (stop_after != 0 && out.frames.size() == stop_after)
      break;
    std::string reason;
    auto h = decode_frame_header(data + pos, limit, reason);
    if (!h) {
      out.failed = true;
      out.error = reason;
      break;
    }
    if (size - pos - frame_header_size < h->payload_length)
      break;
    auto p = data + pos + frame_header_size;
    out.frames.push_back({*h, byte_buffer(p, p + h->payload_length)});
    pos += frame_header_size + h->payload_length;
    limit = later_limit;
  }
  return out;
}

/// Feeds the stream in pieces (piece sizes from the seed; 0 means all at once). With
/// from_source, each piece goes through feed_from, read in bites cut by the same seed (as a
/// TLS endpoint hands out what one record holds).
outcome run_decoder(const char* data, size_t size, size_t first_limit, size_t later_limit,
                    uint8_t split_seed, size_t stop_after, bool from_source = false) {
  outcome out;
  frame_decoder dec{first_limit};
  size_t current_limit = first_limit;
  frame_decoder::frame_handler on_frame = [&](const frame_header& h, byte_buffer& payload) {
    bool was_active = alloc_meter::active;
    alloc_meter::active = false; // the harness's own copies do not count
    FUZZ_CHECK(payload.size() == h.payload_length);
    FUZZ_CHECK(h.payload_length <= current_limit);
    FUZZ_CHECK(is_known_frame_type(static_cast<uint16_t>(h.type)));
    out.frames.push_back({h, payload});
    alloc_meter::active = was_active;
    dec.set_max_payload(later_limit);
    current_limit = later_limit;
    if (stop_after != 0 && out.frames.size() == stop_after)
      dec.stop();
  };
  dfs::fuzz::piece_splitter cut{split_seed, 40};
  dfs::fuzz::piece_splitter bite{static_cast<uint8_t>(split_seed ^ 0x5a), 24};
  size_t pos = 0;
  while (pos < size) {
    size_t piece = cut.next(size - pos);
    bool ok;
    {
      alloc_meter meter;
      if (from_source) {
        const char* next = data + pos;
        size_t left = piece;
        ok = dec.feed_from(
          [&](char* dst, size_t n) {
            size_t k = left == 0 ? 0 : std::min(n, bite.next(left));
            std::copy(next, next + k, dst);
            next += k;
            left -= k;
            return k;
          },
          on_frame);
        FUZZ_CHECK(!ok || left == 0 || (stop_after != 0 && out.frames.size() == stop_after));
      } else {
        ok = dec.feed(data + pos, piece, on_frame);
      }
      // Beyond the payload, the decoder allocates only the short refusal reason; a chunk-sized
      // payload buffer from the pool may have its headroom.
      size_t allowed = std::max({first_limit, later_limit, size_t{512}});
      if (allowed >= buffer_pool_min_capacity)
        allowed += buffer_pool_headroom;
      FUZZ_CHECK(alloc_meter::largest <= allowed);
    }
    FUZZ_CHECK(dec.buffered() <= frame_header_size + std::max(first_limit, later_limit));
    pos += piece;
    if (!ok) {
      out.failed = true;
      out.error = dec.error();
      FUZZ_CHECK(!out.error.empty());
      // Once refused, nothing more is decoded.
      auto frames_before = out.frames.size();
      FUZZ_CHECK(!dec.feed(data, size, on_frame));
      FUZZ_CHECK(out.frames.size() == frames_before);
      break;
    }
    FUZZ_CHECK(dec.error().empty());
  }
  if (stop_after != 0)
    FUZZ_CHECK(out.frames.size() <= stop_after);
  return out;
}

void check_same(const outcome& a, const outcome& b) {
  FUZZ_CHECK(a.frames.size() == b.frames.size());
  for (size_t i = 0; i < a.frames.size(); ++i)
    FUZZ_CHECK(a.frames[i] == b.frames[i]);
  FUZZ_CHECK(a.failed == b.failed);
  FUZZ_CHECK(a.error == b.error);
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  alloc_meter::install();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* raw, size_t raw_size) {
  if (raw_size < 3)
    return 0;
  size_t first_limit = limits[raw[0] & 7];
  size_t later_limit = limits[(raw[0] >> 3) & 7];
  uint8_t split_seed = raw[1];
  size_t stop_after = raw[2] % 4;
  auto data = reinterpret_cast<const char*>(raw + 3);
  size_t size = raw_size - 3;

  // The header alone: a decoded header encodes back to the same 16 bytes.
  if (size >= frame_header_size) {
    std::string reason;
    auto h = decode_frame_header(data, first_limit, reason);
    if (h) {
      FUZZ_CHECK(reason.empty());
      byte_buffer again;
      append_frame_header(again, h->type, h->request_id, h->payload_length, h->flags);
      FUZZ_CHECK(again.size() == frame_header_size);
      FUZZ_CHECK(std::equal(again.begin(), again.end(), data));
    } else {
      FUZZ_CHECK(!reason.empty());
    }
  }

  auto expected = reference_parse(data, size, first_limit, later_limit, 0);
  auto whole = run_decoder(data, size, first_limit, later_limit, 0, 0);
  check_same(expected, whole);
  auto pieces = run_decoder(data, size, first_limit, later_limit, split_seed, 0);
  check_same(expected, pieces);
  auto from_source = run_decoder(data, size, first_limit, later_limit, split_seed, 0, true);
  check_same(expected, from_source);
  if (stop_after != 0) {
    auto stopped = run_decoder(data, size, first_limit, later_limit, split_seed, stop_after);
    check_same(reference_parse(data, size, first_limit, later_limit, stop_after), stopped);
  }

  // The frames encode back to exactly the bytes they were decoded from.
  byte_buffer encoded;
  for (auto& f : expected.frames)
    append_frame(encoded, f.header.type, f.header.request_id, f.payload.data(),
                 f.payload.size(), f.header.flags);
  FUZZ_CHECK(encoded.size() <= size);
  FUZZ_CHECK(std::equal(encoded.begin(), encoded.end(), data));
  return 0;
}
