#include "storage/user_registry.hpp"

#include "common/error.hpp"
#include "storage/chunk_store.hpp" // disk:: helpers
#include "common/credential.hpp"
#include "common/manifest.hpp" // max_key_length

#include <string_view>

namespace dfs {

namespace {

constexpr std::string_view file_magic = "dfs-users v1\n";
constexpr const char* tmp_prefix = "users.tmp";

} // namespace

bool user_registry::merge(const user_record& r) {
  if (check_user_record(r))
    return false;
  auto i = records_.find(r.name);
  if (i == records_.end()) {
    if (records_.size() >= max_user_records)
      return false;
    i = records_.emplace(r.name, r).first;
  } else {
    if (!r.newer_than(i->second))
      return false;
    if (!i->second.deleted)
      live_keys_.erase(i->second.access_key);
    i->second = r;
  }
  if (!r.deleted) {
    // Two live names never share a key in practice (keys are random); should a peer claim so,
    // the key stays with the name that had it, and this record only loses the lookup.
    live_keys_.emplace(r.access_key, r.name);
  }
  return true;
}

const user_record* user_registry::by_name(const std::string& name) const {
  auto i = records_.find(name);
  return i == records_.end() ? nullptr : &i->second;
}

const user_record* user_registry::by_access_key(const std::string& access_key) const {
  auto k = live_keys_.find(access_key);
  if (k == live_keys_.end())
    return nullptr;
  auto r = by_name(k->second);
  if (r == nullptr || r->deleted || r->access_key != access_key)
    return nullptr;
  return r;
}

std::vector<user_record> user_registry::all() const {
  std::vector<user_record> out;
  out.reserve(records_.size());
  for (auto& [name, r] : records_)
    out.push_back(r);
  return out;
}

std::string user_registry_path(const std::string& data_dir) { return data_dir + "/users"; }

caf::expected<user_registry> load_user_registry(const std::string& data_dir) {
  auto path = user_registry_path(data_dir);
  // A save interrupted by a crash leaves its temporary behind; the registry itself is whole.
  if (auto err = disk::remove_leftovers(data_dir, tmp_prefix))
    return err;
  auto bytes = disk::read_whole(path);
  if (!bytes) {
    if (code_of(bytes.error()) == errc::not_found)
      return user_registry{};
    return bytes.error();
  }
  auto corrupt = [&] {
    return make_error(errc::corrupt, path + " is malformed; restore it from another node's "
                                            "data_dir, or remove it to take the users from "
                                            "the other nodes");
  };
  if (bytes->size() < file_magic.size()
      || std::string_view{bytes->data(), file_magic.size()} != file_magic)
    return corrupt();
  reader r{bytes->data() + file_magic.size(), bytes->size() - file_magic.size()};
  auto n = r.u32();
  if (n > max_user_records)
    return corrupt();
  user_registry reg;
  for (uint32_t i = 0; i < n && r.ok(); ++i) {
    user_record rec;
    rec.read(r);
    if (r.ok() && !reg.merge(rec))
      return corrupt();
  }
  if (!r.done())
    return corrupt();
  return reg;
}

caf::error save_user_registry(const std::string& data_dir, const user_registry& registry) {
  byte_buffer out(file_magic.begin(), file_magic.end());
  writer w{out};
  auto records = registry.all();
  w.u32(static_cast<uint32_t>(records.size()));
  for (auto& r : records)
    r.write(w);
  return disk::write_durably(data_dir, tmp_prefix, user_registry_path(data_dir), out.data(),
                             out.size());
}

} // namespace dfs
