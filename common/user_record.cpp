#include "common/user_record.hpp"

#include "common/credential.hpp"
#include "common/manifest.hpp" // max_key_length

namespace dfs {

void user_record::write(writer& w) const {
  w.str(name), w.str(access_key), w.u8(read_only ? 1 : 0), w.str(prefix), w.u64(version),
    w.u8(deleted ? 1 : 0);
}

void user_record::read(reader& r) {
  name = r.str(max_user_name_length);
  access_key = r.str(access_key_length);
  read_only = r.boolean();
  prefix = r.str(max_key_length);
  version = r.u64();
  deleted = r.boolean();
}

bool user_record::newer_than(const user_record& other) const {
  if (version != other.version)
    return version > other.version;
  if (deleted != other.deleted)
    return deleted;
  return access_key > other.access_key;
}

std::optional<std::string> check_user_record(const user_record& r) {
  if (auto why = check_user_name(r.name))
    return why;
  if (!is_valid_access_key(r.access_key))
    return "malformed access key for user " + r.name;
  if (r.prefix.size() > max_key_length || r.prefix.find('\0') != std::string::npos)
    return "malformed prefix for user " + r.name;
  return std::nullopt;
}

} // namespace dfs
