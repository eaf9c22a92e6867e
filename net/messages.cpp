#include "net/messages.hpp"

namespace dfs {

namespace {
bool carries_version(uint8_t code) { return code == static_cast<uint8_t>(errc::superseded); }
} // namespace

void error_msg::write(writer& w) const {
  w.u8(code), w.str(message);
  if (carries_version(code))
    w.u64(newer.hlc), w.str(newer.node_id);
}

void error_msg::read(reader& r) {
  code = r.u8(), message = r.str(4096);
  if (carries_version(code))
    newer.hlc = r.u64(), newer.node_id = r.str(64);
}

error_msg to_error_msg(const caf::error& err) {
  return {static_cast<uint8_t>(code_of(err)), describe(err),
          superseding_version(err).value_or(version{})};
}

caf::error from_error_msg(const error_msg& msg) {
  if (carries_version(msg.code))
    return superseded_error_with_message(msg.message, msg.newer);
  return make_error(static_cast<errc>(msg.code), msg.message);
}

namespace {

// Every list on the wire is bounded by what its remaining bytes can hold, so a hostile count
// never makes us reserve memory.
template <class T, class ReadOne>
void read_list(reader& r, std::vector<T>& out, size_t min_item_size, ReadOne read_one) {
  auto n = r.u32();
  if (static_cast<size_t>(n) * min_item_size > r.remaining()) {
    r.fail();
    return;
  }
  out.resize(n);
  for (auto& item : out) {
    read_one(item);
    if (!r.ok())
      return;
  }
}

} // namespace

void hello_msg::write(writer& w) const {
  w.u16(version);
  w.str(cluster);
  w.str(node_id);
  w.str(node_name);
  w.u8(static_cast<uint8_t>(role));
  w.str(listen_address);
  w.fixed(nonce);
  if (!access_key.empty())
    w.str(access_key);
}

void hello_msg::read(reader& r) {
  version = r.u16();
  cluster = r.str(256);
  node_id = r.str(64);
  node_name = r.str(256);
  auto role_byte = r.u8();
  if (role_byte != static_cast<uint8_t>(peer_role::peer)
      && role_byte != static_cast<uint8_t>(peer_role::client))
    r.fail();
  role = static_cast<peer_role>(role_byte);
  listen_address = r.str(300);
  r.fixed(nonce);
  if (r.remaining() > 0) {
    access_key = r.str(64);
    if (access_key.empty()) // written only when set: one value, one encoding
      r.fail();
  }
}

void user_list_msg::write(writer& w) const {
  w.u32(static_cast<uint32_t>(records.size()));
  for (auto& rec : records)
    rec.write(w);
}

void user_list_msg::read(reader& r) {
  // name, access key, prefix: three lengths; flags and version: 10 bytes.
  read_list(r, records, 22, [&](user_record& rec) { rec.read(r); });
}

void ls_result_msg::write(writer& w) const {
  w.u32(static_cast<uint32_t>(entries.size()));
  for (auto& e : entries)
    w.str(e.key), w.u64(e.size), w.str(e.version);
}

void ls_result_msg::read(reader& r) {
  read_list(r, entries, 16, [&](ls_entry& e) {
    e.key = r.str(max_key_length), e.size = r.u64(), e.version = r.str(256);
  });
}

void stat_result_msg::write(writer& w) const {
  w.str(key), w.u64(size), w.u32(chunks), w.str(version), w.u32(copies), w.str(content_sha256);
}

void stat_result_msg::read(reader& r) {
  key = r.str(max_key_length), size = r.u64(), chunks = r.u32(), version = r.str(256);
  copies = r.u32(), content_sha256 = r.str(64);
}

void status_result_msg::write(writer& w) const {
  w.str(node);
  w.u32(static_cast<uint32_t>(members.size()));
  for (auto& m : members)
    w.str(m.name), w.str(m.node_id), w.str(m.address), w.str(m.state), w.u64(m.chunks),
      w.u64(m.bytes), w.u64(m.used), w.u64(m.capacity);
  w.u64(under_replicated);
  w.u64(over_replicated);
  w.u32(static_cast<uint32_t>(collection_waits.size()));
  for (auto& why : collection_waits)
    w.str(why);
}

void status_result_msg::read(reader& r) {
  node = r.str(256);
  // A member takes at least 48 bytes: four empty strings (4 each) and four u64.
  read_list(r, members, 48, [&](member_status& m) {
    m.name = r.str(256), m.node_id = r.str(64), m.address = r.str(300), m.state = r.str(32);
    m.chunks = r.u64(), m.bytes = r.u64(), m.used = r.u64(), m.capacity = r.u64();
  });
  under_replicated = r.u64();
  over_replicated = r.u64();
  read_list(r, collection_waits, 4, [&](std::string& why) { why = r.str(1024); });
}

void has_chunks_msg::write(writer& w) const {
  w.u32(static_cast<uint32_t>(ids.size()));
  for (auto& id : ids)
    encode(w, id);
}

void has_chunks_msg::read(reader& r) {
  read_list(r, ids, 32, [&](chunk_id& id) { decode(r, id); });
}

void has_chunks_result_msg::write(writer& w) const {
  w.u32(static_cast<uint32_t>(present.size()));
  for (bool p : present)
    w.boolean(p);
}

void has_chunks_result_msg::read(reader& r) {
  auto n = r.u32();
  if (n > r.remaining()) {
    r.fail();
    return;
  }
  present.resize(n);
  for (size_t i = 0; i < n; ++i)
    present[i] = r.boolean();
}

void manifest_list_msg::write(writer& w) const {
  w.u32(static_cast<uint32_t>(values.size()));
  for (auto& m : values)
    encode(w, m);
}

void manifest_list_msg::read(reader& r) {
  read_list(r, values, 60, [&](manifest& m) { decode(r, m); });
}

void inventory_result_msg::write(writer& w) const {
  w.u32(static_cast<uint32_t>(chunks.size()));
  for (auto& id : chunks)
    encode(w, id);
  w.u32(static_cast<uint32_t>(manifests.size()));
  for (auto& m : manifests)
    encode(w, m);
  w.u64(bytes);
}

void inventory_result_msg::read(reader& r) {
  read_list(r, chunks, 32, [&](chunk_id& id) { decode(r, id); });
  read_list(r, manifests, 60, [&](manifest& m) { decode(r, m); });
  bytes = r.u64();
}

const char* to_string(member_state state) {
  switch (state) {
    case member_state::up: return "up";
    case member_state::suspect: return "suspect";
    case member_state::down: return "down";
    case member_state::leaving: return "leaving";
    case member_state::left: return "left";
  }
  return "unknown";
}

void roster_msg::write(writer& w) const {
  w.u32(static_cast<uint32_t>(entries.size()));
  for (auto& e : entries) {
    w.str(e.node_id), w.str(e.name), w.str(e.address);
    w.u64(e.incarnation), w.u8(static_cast<uint8_t>(e.admin)), w.u64(e.admin_version);
  }
}

void roster_msg::read(reader& r) {
  read_list(r, entries, 29, [&](roster_entry& e) {
    e.node_id = r.str(64), e.name = r.str(256), e.address = r.str(300);
    e.incarnation = r.u64();
    auto admin = r.u8();
    if (admin > static_cast<uint8_t>(admin_state::left))
      r.fail();
    e.admin = static_cast<admin_state>(admin);
    e.admin_version = r.u64();
  });
}

void peers_msg::write(writer& w) const {
  roster.write(w);
  w.u32(static_cast<uint32_t>(waiting_for.size()));
  for (auto& id : waiting_for)
    w.str(id);
}

void peers_msg::read(reader& r) {
  roster.read(r);
  read_list(r, waiting_for, 4, [&](std::string& id) { id = r.str(64); });
}

} // namespace dfs
