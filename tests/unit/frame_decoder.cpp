#define CAF_SUITE frame_decoder
#include "tests/unit/test_helpers.hpp"

#include "common/buffer_pool.hpp"
#include "net/frame_decoder.hpp"

#include <vector>

using namespace dfs;

namespace {

struct seen_frame {
  frame_type type;
  uint64_t request_id;
  std::string payload;
};

byte_buffer three_frames() {
  byte_buffer stream;
  append_frame(stream, frame_type::heartbeat, 0, nullptr, 0);
  std::string big(100000, 'x');
  big[99999] = 'y';
  append_frame(stream, frame_type::put_data, 7, big.data(), big.size());
  append_frame(stream, frame_type::ok, 9, "abc", 3);
  return stream;
}

std::vector<seen_frame> decode_in_pieces(const byte_buffer& stream, size_t piece) {
  frame_decoder decoder{1 << 20};
  std::vector<seen_frame> seen;
  for (size_t i = 0; i < stream.size(); i += piece) {
    auto n = std::min(piece, stream.size() - i);
    CAF_REQUIRE(decoder.feed(stream.data() + i, n, [&](const frame_header& h, byte_buffer& p) {
      seen.push_back({h.type, h.request_id, std::string(p.begin(), p.end())});
    }));
  }
  CAF_CHECK_EQUAL(decoder.buffered(), 0u);
  return seen;
}

} // namespace

CAF_TEST(frames split at every piece size come out whole and in order) {
  auto stream = three_frames();
  for (size_t piece : {size_t{1}, size_t{3}, size_t{16}, size_t{17}, size_t{4096}, stream.size()}) {
    auto seen = decode_in_pieces(stream, piece);
    CAF_REQUIRE_EQUAL(seen.size(), 3u);
    CAF_CHECK(seen[0].type == frame_type::heartbeat);
    CAF_CHECK(seen[0].payload.empty());
    CAF_CHECK(seen[1].type == frame_type::put_data);
    CAF_CHECK_EQUAL(seen[1].request_id, 7u);
    auto size = seen[1].payload.size();
    CAF_CHECK_EQUAL(size, 100000u);
    auto last = seen[1].payload.back();
    CAF_CHECK_EQUAL(last, 'y');
    CAF_CHECK_EQUAL(seen[2].payload, "abc");
  }
}

CAF_TEST(a chunk decoded into a longer recycled buffer has exactly its own bytes) {
  // The pool hands the decoder a buffer as it was given back: longer than the next payload and
  // full of another chunk's bytes. None of them may show through, whatever the piece size.
  const size_t small = buffer_pool_min_capacity + 10;
  std::string payload(small, 'n');
  payload[0] = 'f';
  payload[small - 1] = 'l';
  byte_buffer stream;
  append_frame(stream, frame_type::put_data, 3, payload.data(), payload.size());
  for (size_t piece : {size_t{1000}, size_t{16384 + 5}, stream.size()}) {
    while (pooled_bytes() > 0) // the pool is the process's: only the stale buffer in it
      take_buffer(buffer_pool_min_capacity);
    give_back(byte_buffer(small + 100000, 's'));
    frame_decoder decoder{64 << 20};
    std::string seen;
    size_t fed = 0;
    for (size_t i = 0; i < stream.size(); i += piece) {
      auto n = std::min(piece, stream.size() - i);
      CAF_REQUIRE(decoder.feed(stream.data() + i, n, [&](const frame_header&, byte_buffer& p) {
        seen.assign(p.begin(), p.end());
      }));
      fed += n;
      if (fed < stream.size()) // held: the bytes received so far, not the buffer's old size
        CAF_CHECK_EQUAL(decoder.buffered(), fed);
    }
    CAF_CHECK_EQUAL(seen.size(), payload.size());
    CAF_CHECK(seen == payload);
  }
}

CAF_TEST(a header over the limit is refused before its payload arrives) {
  frame_decoder decoder{1000};
  byte_buffer stream;
  append_frame_header(stream, frame_type::put_data, 1, 1001);
  int frames = 0;
  CAF_CHECK(!decoder.feed(stream.data(), stream.size(),
                          [&](const frame_header&, byte_buffer&) { ++frames; }));
  CAF_CHECK_EQUAL(frames, 0);
  CAF_CHECK(decoder.error().find("1001") != std::string::npos);
  CAF_CHECK_EQUAL(decoder.buffered(), 16u); // the header only: no room was made for the payload
  // Nothing more is decoded after a refusal.
  byte_buffer good;
  append_frame(good, frame_type::ok, 2, "x", 1);
  CAF_CHECK(!decoder.feed(good.data(), good.size(), [&](const frame_header&, byte_buffer&) { ++frames; }));
  CAF_CHECK_EQUAL(frames, 0);
}

CAF_TEST(an unknown type is refused) {
  frame_decoder decoder{1000};
  char header[16] = {4, 0, 0, 0, char(0xfe), char(0xfe)};
  CAF_CHECK(!decoder.feed(header, sizeof header, [](const frame_header&, byte_buffer&) {}));
  CAF_CHECK(decoder.error().find("unknown frame type") != std::string::npos);
}

CAF_TEST(stop leaves the rest unread) {
  auto stream = three_frames();
  frame_decoder decoder{1 << 20};
  int frames = 0;
  CAF_CHECK(decoder.feed(stream.data(), stream.size(), [&](const frame_header&, byte_buffer&) {
    ++frames;
    decoder.stop();
  }));
  CAF_CHECK_EQUAL(frames, 1);
}
