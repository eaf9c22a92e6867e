#pragma once
// Frames: the unit everything travels in. A fixed 16-byte header, then the payload:
//
//   u32 payload length | u16 type | u16 flags | u64 request id      (little-endian)
//
// The request id pairs a response with its request on one connection; 0 means "the connection
// itself" (handshake, connection-level errors, gossip).
#include "common/codec.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace dfs {

constexpr size_t frame_header_size = 16;
// 2: manifests carry inline files (common/manifest.hpp).
// 3: peers frames carry the ids the sender waits for; status answers say why collection waits;
//    touch_chunks (a put's lease on its chunks), which a node of version 2 would refuse as an
//    unknown frame.
// 4: rm is answered by rm_result (the tombstone's version), get_meta carries the version served:
//    a client of version 3 would misread both.
constexpr uint16_t protocol_version = 5;
/// The largest chunk any node may be configured with ([storage] chunk_size).
constexpr size_t max_chunk_size = 64u << 20;
/// The largest payload an authenticated connection accepts: a chunk of the largest size plus
/// room for its id. Nodes of one cluster may differ in chunk_size and still exchange chunks.
constexpr size_t max_frame_payload = max_chunk_size + (64u << 10);
/// Before the handshake completes, frames are small (hello, proof, error): a stranger may not
/// make a node set aside more than this for one frame.
constexpr size_t max_handshake_payload = 4096;
/// On put_data: the last data frame of a put (it may be shorter than a chunk, or empty).
constexpr uint16_t flag_final = 1;
/// A put of a known size of 1 to this many bytes may send all its data as one final put_data
/// right after put_begin, without waiting for put_ready (whatever the node's chunk size): such
/// a file is stored inline in its manifest, and the put saves a round trip.
constexpr size_t max_early_put_size = 64u << 10;

enum class frame_type : uint16_t {
  // handshake and errors, both directions
  hello = 1,
  proof = 2,
  error = 3,
  // client -> node
  put_begin = 16,
  put_data = 17,
  get = 18,
  rm = 19,
  ls = 20,
  stat = 21,
  status = 22,
  credit = 23, // the reader of a get grants more data frames
  decommission = 24,
  user_add = 25, // node secret only: a new user; answered with user_result
  user_rm = 26,  // node secret only: removes a user; answered with ok
  user_ls = 27,  // node secret only: answered with user_list
  // node -> client
  put_ready = 32,
  put_credit = 33,
  put_done = 34,
  get_meta = 35,
  get_data = 36,
  ok = 37,
  ls_result = 38,
  stat_result = 39,
  status_result = 40,
  user_result = 41, // the user record user_add made
  user_list = 42,   // the live users
  rm_result = 43,   // the version of the tombstone an rm wrote
  // node <-> node: requests and their responses
  put_chunk = 48,
  get_chunk = 49,
  chunk_data = 50,
  has_chunks = 51,
  has_chunks_result = 52,
  put_manifest = 53,
  get_manifest = 54,
  manifest_data = 55,
  list_manifests = 56,
  manifest_list = 57,
  inventory = 58,
  inventory_result = 59,
  peers = 60,     // gossip: the sender's roster and the ids it waits for (peers_msg)
  heartbeat = 61, // a sign of life, every second or so, with the sender's wall clock
  users = 62,     // gossip: user records (all of them when a link comes up, then each change)
  // A put session's lease on the chunks it wrote (actors/put_session.hpp): the payloads of
  // has_chunks and has_chunks_result, and each chunk held counts as touched.
  touch_chunks = 63,
  touch_chunks_result = 64,
};

/// True for every type above; the decoder refuses anything else.
bool is_known_frame_type(uint16_t type);
const char* to_string(frame_type type);

struct frame_header {
  uint32_t payload_length = 0;
  frame_type type = frame_type::error;
  uint16_t flags = 0;
  uint64_t request_id = 0;
};

/// Why a header was refused; the text goes into the error frame sent before closing.
struct frame_header_error {
  std::string reason;
};

/// Decodes a header from exactly frame_header_size bytes, refusing an unknown type or a payload
/// longer than max_payload before anything is allocated for it.
std::optional<frame_header> decode_frame_header(const char* data, size_t max_payload,
                                                std::string& reason);

/// Appends a complete frame (header and payload) to out.
void append_frame(byte_buffer& out, frame_type type, uint64_t request_id,
                  const char* payload, size_t payload_length, uint16_t flags = 0);
inline void append_frame(byte_buffer& out, frame_type type, uint64_t request_id,
                         const byte_buffer& payload) {
  append_frame(out, type, request_id, payload.data(), payload.size());
}

/// Appends only the header; the caller appends payload_length bytes of payload right after.
void append_frame_header(byte_buffer& out, frame_type type, uint64_t request_id,
                         size_t payload_length, uint16_t flags = 0);

} // namespace dfs
