#pragma once
// The payloads of control frames. Each struct knows how to write itself and read itself back;
// to_payload/from_payload add the rule that a payload must be consumed exactly. Chunk bytes
// (put_data, get_data, chunk_data, the tail of put_chunk) travel raw, without a codec pass.
#include "common/codec.hpp"
#include "common/manifest.hpp"
#include "common/credential.hpp"
#include "common/user_record.hpp"

#include <array>
#include <optional>
#include <string>
#include <vector>

namespace dfs {

enum class peer_role : uint8_t { peer = 1, client = 2 };

struct hello_msg {
  uint16_t version = 0;
  std::string cluster;
  std::string node_id;   // 32 hex digits; a client sends a fresh random one
  std::string node_name;
  peer_role role = peer_role::peer;
  std::string listen_address; // empty for clients
  std::array<uint8_t, 32> nonce{};
  // A client with a user credential: its access key, which says whose key the proof is made
  // with (and, with TLS, must match the TLS identity). Empty for the node secret. Written
  // only when set, so a hello without it is the hello of before.
  std::string access_key;
  void write(writer& w) const;
  void read(reader& r);
};

struct proof_msg {
  std::array<uint8_t, 32> mac{};
  void write(writer& w) const { w.fixed(mac); }
  void read(reader& r) { r.fixed(mac); }
};

struct error_msg {
  uint8_t code = 0; // an errc
  std::string message;
  // Only when code is errc::superseded, and then always: the newer version the replica holds,
  // which the writer must go past (superseding_version).
  version newer;
  error_msg() = default;
  error_msg(uint8_t code, std::string message, version newer = {})
    : code(code), message(std::move(message)), newer(std::move(newer)) {}
  void write(writer& w) const;
  void read(reader& r);
};

/// The frame form of an error, and back (with the version a superseded error carries).
error_msg to_error_msg(const caf::error& err);
caf::error from_error_msg(const error_msg& msg);

struct key_msg { // get, rm, stat, get_manifest; decommission (the node's name)
  std::string key;
  void write(writer& w) const { w.str(key); }
  void read(reader& r) { key = r.str(max_key_length); }
};

struct prefix_msg { // ls, list_manifests
  std::string prefix;
  void write(writer& w) const { w.str(prefix); }
  void read(reader& r) { prefix = r.str(max_key_length); }
};

/// put_begin's size when the client streams from a pipe and learns the size only at the end.
constexpr uint64_t unknown_size = ~uint64_t{0};

struct put_begin_msg {
  std::string key;
  uint64_t size = 0; // or unknown_size
  void write(writer& w) const { w.str(key), w.u64(size); }
  void read(reader& r) { key = r.str(max_key_length), size = r.u64(); }
};

struct put_ready_msg {
  uint64_t chunk_size = 0; // the client sends put_data frames of exactly this size (the last one shorter)
  uint32_t credit = 0;     // how many put_data frames it may send before the next put_credit
  void write(writer& w) const { w.u64(chunk_size), w.u32(credit); }
  void read(reader& r) { chunk_size = r.u64(), credit = r.u32(); }
};

struct credit_msg { // put_credit (node -> client) and credit (client -> node, during a get)
  uint32_t frames = 0;
  void write(writer& w) const { w.u32(frames); }
  void read(reader& r) { frames = r.u32(); }
};

struct put_done_msg {
  uint32_t copies = 0; // the fewest copies any chunk or the manifest reached
  std::string version;
  void write(writer& w) const { w.u32(copies), w.str(version); }
  void read(reader& r) { copies = r.u32(), version = r.str(256); }
};

struct get_meta_msg {
  uint64_t size = 0;
  uint32_t chunks = 0;
  uint32_t window = 0; // get_data frames the node sends before waiting for credit
  std::string version; // of the manifest served
  void write(writer& w) const { w.u64(size), w.u32(chunks), w.u32(window), w.str(version); }
  void read(reader& r) {
    size = r.u64(), chunks = r.u32(), window = r.u32(), version = r.str(256);
  }
};

struct rm_result_msg {
  std::string version; // of the tombstone the rm wrote, as the replicas acknowledged it
  void write(writer& w) const { w.str(version); }
  void read(reader& r) { version = r.str(256); }
};

struct ls_entry {
  std::string key;
  uint64_t size = 0;
  std::string version;
};

struct ls_result_msg {
  std::vector<ls_entry> entries;
  void write(writer& w) const;
  void read(reader& r);
};

struct stat_result_msg {
  std::string key;
  uint64_t size = 0;
  uint32_t chunks = 0;
  std::string version;
  uint32_t copies = 0; // the fewest copies of any chunk (or of the manifest) on live nodes
  std::string content_sha256;
  void write(writer& w) const;
  void read(reader& r);
};

struct member_status {
  std::string name;
  std::string node_id;
  std::string address;
  std::string state;   // up | suspect | down | leaving | left
  uint64_t chunks = 0; // chunks it holds (0 when it could not be asked)
  uint64_t bytes = 0;  // bytes those chunks take
  uint64_t used = 0;     // bytes of chunks counted against its capacity (0 when not asked)
  uint64_t capacity = 0; // its [storage] capacity; 0 = no limit (or not known)
};

struct status_result_msg {
  std::string node; // the name of the node that answered
  std::vector<member_status> members;
  uint64_t under_replicated = 0; // items with fewer than min(R, live) copies on live members
  uint64_t over_replicated = 0;  // items with more than R copies on live members
  // Why the answering node does not collect garbage now, one phrase each (empty: it may);
  // see actors/collection_gate.hpp.
  std::vector<std::string> collection_waits = {};
  void write(writer& w) const;
  void read(reader& r);
};

struct has_chunks_msg {
  std::vector<chunk_id> ids;
  void write(writer& w) const;
  void read(reader& r);
};

struct has_chunks_result_msg {
  std::vector<bool> present;
  void write(writer& w) const;
  void read(reader& r);
};

struct manifest_msg {
  manifest value;
  void write(writer& w) const { encode(w, value); }
  void read(reader& r) { decode(r, value); }
};

struct manifest_list_msg {
  std::vector<manifest> values;
  void write(writer& w) const;
  void read(reader& r);
};

struct inventory_result_msg {
  std::vector<chunk_id> chunks;
  std::vector<manifest> manifests;
  uint64_t bytes = 0;
  void write(writer& w) const;
  void read(reader& r);
};

/// How a member stands, as this node sees it (spec: up, suspect, down, leaving, left).
enum class member_state : uint8_t { up = 1, suspect = 2, down = 3, leaving = 4, left = 5 };
const char* to_string(member_state state);

/// What an operator decided about a member; spreads by gossip, newest decision wins.
enum class admin_state : uint8_t { active = 0, leaving = 1, left = 2 };

/// One line of the roster that nodes gossip: who exists, where, and what was decided about it.
/// Liveness is not gossiped: every node watches every other over its own connection.
struct roster_entry {
  std::string node_id;
  std::string name;
  std::string address;
  uint64_t incarnation = 0;   // the node's start time (HLC): a newer one carries its new address
  admin_state admin = admin_state::active;
  uint64_t admin_version = 0; // HLC time of the decision
};

struct roster_msg { // the roster file's body, and the first part of a peers frame
  std::vector<roster_entry> entries;
  void write(writer& w) const;
  void read(reader& r);
};

struct user_add_msg { // user_add
  std::string name;
  bool read_only = false;
  std::string prefix;
  void write(writer& w) const { w.str(name), w.boolean(read_only), w.str(prefix); }
  void read(reader& r) {
    name = r.str(max_user_name_length), read_only = r.boolean(), prefix = r.str(max_key_length);
  }
};

struct user_name_msg { // user_rm
  std::string name;
  void write(writer& w) const { w.str(name); }
  void read(reader& r) { name = r.str(max_user_name_length); }
};

struct user_record_msg { // user_result
  user_record value;
  void write(writer& w) const { value.write(w); }
  void read(reader& r) { value.read(r); }
};

struct user_list_msg { // user_list (live users) and users (gossip, tombstones too)
  std::vector<user_record> records;
  void write(writer& w) const;
  void read(reader& r);
};

/// The peers frame: the sender's roster, and the node ids the sender waits for (members it
/// knows that are suspect or down, never left ones). The receiver keeps only each member's
/// latest list, and only to hold garbage collection back (see actors/collection_gate.hpp).
struct peers_msg {
  roster_msg roster;
  std::vector<std::string> waiting_for;
  void write(writer& w) const;
  void read(reader& r);
};

struct heartbeat_msg {
  uint64_t wall_ms = 0; // the sender's wall clock, milliseconds since the Unix epoch
  void write(writer& w) const { w.u64(wall_ms); }
  void read(reader& r) { wall_ms = r.u64(); }
};

struct empty_msg {
  void write(writer&) const {}
  void read(reader&) {}
};

template <class T>
byte_buffer to_payload(const T& msg) {
  byte_buffer out;
  writer w{out};
  msg.write(w);
  return out;
}

/// nullopt unless the payload holds exactly one well-formed T.
template <class T>
std::optional<T> from_payload(const char* data, size_t size) {
  reader r{data, size};
  T msg;
  msg.read(r);
  if (!r.done())
    return std::nullopt;
  return msg;
}

template <class T>
std::optional<T> from_payload(const byte_buffer& payload) {
  return from_payload<T>(payload.data(), payload.size());
}

} // namespace dfs
