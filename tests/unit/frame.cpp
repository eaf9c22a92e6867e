#define CAF_SUITE frame
#include "tests/unit/test_helpers.hpp"

#include "common/codec.hpp"
#include "net/frame.hpp"
#include "net/messages.hpp"

#include <cstdint>
#include <string>
#include <vector>

using namespace dfs;

namespace {

// Every type the protocol defines, with the number it travels as.
const std::vector<std::pair<frame_type, uint16_t>> all_types = {
  {frame_type::hello, 1},
  {frame_type::proof, 2},
  {frame_type::error, 3},
  {frame_type::put_begin, 16},
  {frame_type::put_data, 17},
  {frame_type::get, 18},
  {frame_type::rm, 19},
  {frame_type::ls, 20},
  {frame_type::stat, 21},
  {frame_type::status, 22},
  {frame_type::credit, 23},
  {frame_type::decommission, 24},
  {frame_type::user_add, 25},
  {frame_type::user_rm, 26},
  {frame_type::user_ls, 27},
  {frame_type::put_ready, 32},
  {frame_type::put_credit, 33},
  {frame_type::put_done, 34},
  {frame_type::get_meta, 35},
  {frame_type::get_data, 36},
  {frame_type::ok, 37},
  {frame_type::ls_result, 38},
  {frame_type::stat_result, 39},
  {frame_type::status_result, 40},
  {frame_type::user_result, 41},
  {frame_type::user_list, 42},
  {frame_type::rm_result, 43},
  {frame_type::put_chunk, 48},
  {frame_type::get_chunk, 49},
  {frame_type::chunk_data, 50},
  {frame_type::has_chunks, 51},
  {frame_type::has_chunks_result, 52},
  {frame_type::put_manifest, 53},
  {frame_type::get_manifest, 54},
  {frame_type::manifest_data, 55},
  {frame_type::list_manifests, 56},
  {frame_type::manifest_list, 57},
  {frame_type::inventory, 58},
  {frame_type::inventory_result, 59},
  {frame_type::peers, 60},
  {frame_type::heartbeat, 61},
  {frame_type::users, 62},
  {frame_type::touch_chunks, 63},
  {frame_type::touch_chunks_result, 64},
};

/// A raw header, written byte by byte (independently of append_frame_header).
byte_buffer raw_header(uint32_t length, uint16_t type, uint16_t flags, uint64_t request_id) {
  byte_buffer out;
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((length >> (8 * i)) & 0xff));
  for (int i = 0; i < 2; ++i)
    out.push_back(static_cast<char>((type >> (8 * i)) & 0xff));
  for (int i = 0; i < 2; ++i)
    out.push_back(static_cast<char>((flags >> (8 * i)) & 0xff));
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((request_id >> (8 * i)) & 0xff));
  return out;
}

bool contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

constexpr size_t max_payload = 4 * 1024 * 1024 + 64 * 1024;

} // namespace

CAF_TEST(the header is 16 little-endian bytes) {
  CAF_CHECK_EQUAL(frame_header_size, 16u);
  byte_buffer out;
  append_frame_header(out, frame_type::put_data, 0x0102030405060708ull, 0x0A0B0C0Du, 0x0E0F);
  const std::vector<uint8_t> expected{0x0D, 0x0C, 0x0B, 0x0A, // length
                                      0x11, 0x00,             // type 17 (put_data)
                                      0x0F, 0x0E,             // flags
                                      0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01}; // request id
  CAF_REQUIRE_EQUAL(out.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i)
    CAF_CHECK_EQUAL(static_cast<uint8_t>(out[i]), expected[i]);
  CAF_CHECK(out == raw_header(0x0A0B0C0Du, 17, 0x0E0F, 0x0102030405060708ull));
}

CAF_TEST(append_frame writes the header then the payload and appends) {
  byte_buffer out{'x', 'y'}; // whatever is already there stays
  const std::string payload = "payload bytes";
  append_frame(out, frame_type::chunk_data, 42, payload.data(), payload.size(), flag_final);
  CAF_REQUIRE_EQUAL(out.size(), 2 + frame_header_size + payload.size());
  CAF_CHECK_EQUAL(out[0], 'x');
  CAF_CHECK_EQUAL(out[1], 'y');
  auto expected_header = raw_header(static_cast<uint32_t>(payload.size()), 50, flag_final, 42);
  CAF_CHECK(byte_buffer(out.begin() + 2, out.begin() + 2 + 16) == expected_header);
  CAF_CHECK_EQUAL(std::string(out.begin() + 18, out.end()), payload);
  // The byte_buffer overload: same frame, flags 0.
  byte_buffer again;
  append_frame(again, frame_type::chunk_data, 42, byte_buffer(payload.begin(), payload.end()));
  CAF_CHECK(byte_buffer(again.begin(), again.begin() + 16)
            == raw_header(static_cast<uint32_t>(payload.size()), 50, 0, 42));
  CAF_CHECK_EQUAL(std::string(again.begin() + 16, again.end()), payload);
}

CAF_TEST(every frame type round trips through append and decode) {
  uint64_t rid = 0xFEDCBA9876543210ull;
  for (auto [type, number] : all_types) {
    CAF_CHECK_EQUAL(static_cast<uint16_t>(type), number);
    CAF_CHECK(is_known_frame_type(number));
    CAF_CHECK_NOT_EQUAL(std::string{to_string(type)}, "unknown");
    byte_buffer out;
    std::string payload(number, 'p'); // a different length per type
    append_frame(out, type, rid + number, payload.data(), payload.size(),
                 static_cast<uint16_t>(0xA500 | number));
    CAF_REQUIRE_EQUAL(out.size(), frame_header_size + payload.size());
    std::string reason;
    auto h = decode_frame_header(out.data(), max_payload, reason);
    CAF_REQUIRE(h);
    CAF_CHECK(h->type == type);
    CAF_CHECK_EQUAL(h->payload_length, payload.size());
    CAF_CHECK_EQUAL(h->flags, static_cast<uint16_t>(0xA500 | number));
    CAF_CHECK_EQUAL(h->request_id, rid + number);
    CAF_CHECK_EQUAL(reason, "");
  }
}

CAF_TEST(frame type names) {
  CAF_CHECK_EQUAL(std::string{to_string(frame_type::hello)}, "hello");
  CAF_CHECK_EQUAL(std::string{to_string(frame_type::has_chunks_result)}, "has_chunks_result");
  CAF_CHECK_EQUAL(std::string{to_string(frame_type::peers)}, "peers");
  CAF_CHECK_EQUAL(std::string{to_string(static_cast<frame_type>(4))}, "unknown");
  // Exactly the defined numbers are known, nothing else in the whole 16-bit range.
  size_t known = 0;
  for (uint32_t t = 0; t <= 0xFFFF; ++t)
    if (is_known_frame_type(static_cast<uint16_t>(t)))
      ++known;
  CAF_CHECK_EQUAL(known, all_types.size());
}

CAF_TEST(an unknown type is refused and named) {
  for (uint16_t type : {0, 4, 15, 28, 31, 44, 47, 65, 0x0101, 0xFFFF}) {
    auto bytes = raw_header(8, type, 0, 7);
    std::string reason;
    auto h = decode_frame_header(bytes.data(), max_payload, reason);
    CAF_CHECK(!h);
    CAF_CHECK_EQUAL(reason, "unknown frame type " + std::to_string(type));
  }
}

CAF_TEST(an oversized length is refused and names the size and the maximum) {
  for (uint32_t length : {static_cast<uint32_t>(max_payload + 1), 0x7FFFFFFFu, 0xFFFFFFFFu}) {
    auto bytes = raw_header(length, static_cast<uint16_t>(frame_type::put_data), 0, 1);
    std::string reason;
    auto h = decode_frame_header(bytes.data(), max_payload, reason);
    CAF_CHECK(!h);
    CAF_CHECK(contains(reason, std::to_string(length)));
    CAF_CHECK(contains(reason, std::to_string(max_payload)));
    CAF_MESSAGE(reason);
  }
  // The maximum itself is whatever the caller says: a tiny one refuses one byte more.
  auto bytes = raw_header(11, static_cast<uint16_t>(frame_type::get), 0, 1);
  std::string reason;
  CAF_CHECK(!decode_frame_header(bytes.data(), 10, reason));
  CAF_CHECK_EQUAL(reason, "frame of 11 bytes exceeds the maximum of 10");
}

CAF_TEST(a length exactly at the maximum is accepted) {
  auto bytes = raw_header(static_cast<uint32_t>(max_payload),
                          static_cast<uint16_t>(frame_type::chunk_data), 0, 99);
  std::string reason;
  auto h = decode_frame_header(bytes.data(), max_payload, reason);
  CAF_REQUIRE(h);
  CAF_CHECK_EQUAL(h->payload_length, max_payload);
  CAF_CHECK(h->type == frame_type::chunk_data);
  CAF_CHECK_EQUAL(h->request_id, 99u);
  // And with a maximum of zero, only empty payloads pass.
  auto empty = raw_header(0, static_cast<uint16_t>(frame_type::ok), 0, 1);
  CAF_CHECK(decode_frame_header(empty.data(), 0, reason));
  auto one = raw_header(1, static_cast<uint16_t>(frame_type::ok), 0, 1);
  CAF_CHECK(!decode_frame_header(one.data(), 0, reason));
}

CAF_TEST(a frame with an empty payload is just its header) {
  byte_buffer out;
  append_frame(out, frame_type::inventory, 5, nullptr, 0);
  CAF_REQUIRE_EQUAL(out.size(), frame_header_size);
  CAF_CHECK(out == raw_header(0, 58, 0, 5));
  std::string reason;
  auto h = decode_frame_header(out.data(), max_payload, reason);
  CAF_REQUIRE(h);
  CAF_CHECK_EQUAL(h->payload_length, 0u);
  CAF_CHECK(h->type == frame_type::inventory);
  CAF_CHECK_EQUAL(h->request_id, 5u);
  byte_buffer out2;
  append_frame(out2, frame_type::status, 6, byte_buffer{});
  CAF_CHECK(out2 == raw_header(0, 22, 0, 6));
}

// decode_frame_header takes exactly frame_header_size bytes by contract (the broker reads
// exactly 16 before calling it), so a short header is caught one level down: the reader the
// decoder uses refuses every read past the end of its input.
CAF_TEST(a short header cannot be decoded by the codec reader) {
  auto full = raw_header(3, 1, 0, 77);
  for (size_t n = 0; n < frame_header_size; ++n) {
    reader r{full.data(), n};
    auto length = r.u32();
    auto type = r.u16();
    auto flags = r.u16();
    auto rid = r.u64();
    CAF_CHECK(!r.ok());
    CAF_CHECK(!r.done());
    // Nothing past the end leaks into a field: a field that did not fit reads as zero.
    CAF_CHECK_EQUAL(rid, 0u);
    if (n < 4)
      CAF_CHECK_EQUAL(length, 0u);
    if (n < 6)
      CAF_CHECK_EQUAL(type, 0u);
    if (n < 8)
      CAF_CHECK_EQUAL(flags, 0u);
  }
  reader r{full.data(), full.size()};
  CAF_CHECK_EQUAL(r.u32(), 3u);
  CAF_CHECK_EQUAL(r.u16(), 1u);
  CAF_CHECK_EQUAL(r.u16(), 0u);
  CAF_CHECK_EQUAL(r.u64(), 77u);
  CAF_CHECK(r.done());
}

CAF_TEST(an unknown type with an oversized length is refused as well) {
  auto bytes = raw_header(0xFFFFFFFFu, 0xBEEF, 0, 0);
  std::string reason;
  CAF_CHECK(!decode_frame_header(bytes.data(), max_payload, reason));
  CAF_CHECK(!reason.empty());
}

CAF_TEST(the protocol limits fit the frames they must carry) {
  // The largest hello the decoder accepts (every string at its limit) fits the limit that
  // applies before the handshake.
  hello_msg hello;
  hello.version = protocol_version;
  hello.cluster = std::string(256, 'c');
  hello.node_id = std::string(64, 'i');
  hello.node_name = std::string(256, 'n');
  hello.role = peer_role::peer;
  hello.listen_address = std::string(300, 'a');
  auto payload = to_payload(hello);
  CAF_REQUIRE(from_payload<hello_msg>(payload));
  CAF_CHECK_LESS_OR_EQUAL(payload.size(), max_handshake_payload);
  CAF_CHECK_LESS_OR_EQUAL(to_payload(proof_msg{}).size(), max_handshake_payload);
  // A put_chunk of the largest chunk (bytes, then the 32-byte id) fits an authenticated frame.
  CAF_CHECK_GREATER_OR_EQUAL(max_frame_payload, max_chunk_size + 32);
  // Both fit the 32-bit length field.
  CAF_CHECK_LESS_OR_EQUAL(max_frame_payload, size_t{0xFFFFFFFFu});
}
