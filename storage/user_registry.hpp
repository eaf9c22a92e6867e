#pragma once
// The user registry: who may use the cluster with a user credential (common/credential.hpp),
// and within which limits. Every node holds all of it; changes spread by gossip and the newest
// record of a name wins (last writer wins by version), so a removed user is a tombstone that
// must outrank the record it removes wherever that record still lives. The same records are
// meant to serve as the S3 gateway's access keys.
//
// On disk: data_dir/users, written whole (temporary file, fsync, rename) after every change:
//   "dfs-users v1\n" | u32 count | count x record (the wire encoding below)
#include "common/user_record.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace dfs {

/// The most users (tombstones included) a registry holds: bounds what gossip can make a node
/// keep in memory and send.
inline constexpr size_t max_user_records = 100000;

class user_registry {
public:
  /// Takes the record if it is newer than what the registry holds for its name. True when it
  /// changed something. False for an unfit record, or a new name beyond max_user_records.
  bool merge(const user_record& r);

  /// The current record of a name (perhaps a tombstone); null when never heard of.
  const user_record* by_name(const std::string& name) const;
  /// The live user holding this access key; null when unknown or removed.
  const user_record* by_access_key(const std::string& access_key) const;
  /// Every record, tombstones included, sorted by name.
  std::vector<user_record> all() const;
  size_t size() const { return records_.size(); }

private:
  std::map<std::string, user_record> records_;            // by name
  std::unordered_map<std::string, std::string> live_keys_; // access key -> name, live ones
};

/// The registry's file in data_dir.
std::string user_registry_path(const std::string& data_dir);
/// Reads data_dir/users; an empty registry when the file does not exist. errc::corrupt when
/// it is malformed, errc::io_error when unreadable.
caf::expected<user_registry> load_user_registry(const std::string& data_dir);
/// Writes the registry to data_dir/users durably (old file or new one after a crash).
caf::error save_user_registry(const std::string& data_dir, const user_registry& registry);

} // namespace dfs
