#include "net/frame.hpp"

namespace dfs {

const char* to_string(frame_type type) {
  switch (type) {
#define DFS_FRAME_NAME(x) case frame_type::x: return #x;
    DFS_FRAME_NAME(hello) DFS_FRAME_NAME(proof) DFS_FRAME_NAME(error)
    DFS_FRAME_NAME(put_begin) DFS_FRAME_NAME(put_data) DFS_FRAME_NAME(get) DFS_FRAME_NAME(rm)
    DFS_FRAME_NAME(ls) DFS_FRAME_NAME(stat) DFS_FRAME_NAME(status) DFS_FRAME_NAME(credit) DFS_FRAME_NAME(decommission)
    DFS_FRAME_NAME(user_add) DFS_FRAME_NAME(user_rm) DFS_FRAME_NAME(user_ls)
    DFS_FRAME_NAME(put_ready) DFS_FRAME_NAME(put_credit) DFS_FRAME_NAME(put_done)
    DFS_FRAME_NAME(get_meta) DFS_FRAME_NAME(get_data) DFS_FRAME_NAME(ok)
    DFS_FRAME_NAME(ls_result) DFS_FRAME_NAME(stat_result) DFS_FRAME_NAME(status_result)
    DFS_FRAME_NAME(user_result) DFS_FRAME_NAME(user_list) DFS_FRAME_NAME(rm_result)
    DFS_FRAME_NAME(put_chunk) DFS_FRAME_NAME(get_chunk) DFS_FRAME_NAME(chunk_data)
    DFS_FRAME_NAME(has_chunks) DFS_FRAME_NAME(has_chunks_result) DFS_FRAME_NAME(put_manifest)
    DFS_FRAME_NAME(get_manifest) DFS_FRAME_NAME(manifest_data) DFS_FRAME_NAME(list_manifests)
    DFS_FRAME_NAME(manifest_list) DFS_FRAME_NAME(inventory) DFS_FRAME_NAME(inventory_result)
    DFS_FRAME_NAME(peers) DFS_FRAME_NAME(heartbeat) DFS_FRAME_NAME(users)
    DFS_FRAME_NAME(touch_chunks) DFS_FRAME_NAME(touch_chunks_result)
#undef DFS_FRAME_NAME
  }
  return "unknown";
}

bool is_known_frame_type(uint16_t type) {
  return std::string{to_string(static_cast<frame_type>(type))} != "unknown";
}

std::optional<frame_header> decode_frame_header(const char* data, size_t max_payload,
                                                std::string& reason) {
  reader r{data, frame_header_size};
  frame_header h;
  h.payload_length = r.u32();
  auto type = r.u16();
  h.flags = r.u16();
  h.request_id = r.u64();
  if (!is_known_frame_type(type)) {
    reason = "unknown frame type " + std::to_string(type);
    return std::nullopt;
  }
  if (h.payload_length > max_payload) {
    reason = "frame of " + std::to_string(h.payload_length) + " bytes exceeds the maximum of "
             + std::to_string(max_payload);
    return std::nullopt;
  }
  h.type = static_cast<frame_type>(type);
  return h;
}

void append_frame_header(byte_buffer& out, frame_type type, uint64_t request_id,
                         size_t payload_length, uint16_t flags) {
  writer w{out};
  w.u32(static_cast<uint32_t>(payload_length));
  w.u16(static_cast<uint16_t>(type));
  w.u16(flags);
  w.u64(request_id);
}

void append_frame(byte_buffer& out, frame_type type, uint64_t request_id, const char* payload,
                  size_t payload_length, uint16_t flags) {
  out.reserve(out.size() + frame_header_size + payload_length);
  append_frame_header(out, type, request_id, payload_length, flags);
  out.insert(out.end(), payload, payload + payload_length);
}

} // namespace dfs
