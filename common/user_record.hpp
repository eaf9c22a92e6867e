#pragma once
// One user of the cluster as every node knows it (storage/user_registry.hpp keeps them all): the
// record gossip carries and the users file holds, in one encoding. It sits in common/ because
// the protocol's messages (net/messages.hpp) carry it as well.
#include "common/codec.hpp"

#include <cstdint>
#include <optional>
#include <string>

namespace dfs {

struct user_record {
  std::string name;
  std::string access_key;
  bool read_only = false;
  std::string prefix; // keys the user may touch start with it; empty: every key
  uint64_t version = 0; // HLC time of the change
  bool deleted = false; // a tombstone: the user was removed

  void write(writer& w) const;
  void read(reader& r);
  /// The newer of two records of one name: higher version; on a tie a tombstone, then the
  /// larger access key (any rule every node applies alike would do).
  bool newer_than(const user_record& other) const;
};

/// Why a record from a peer or a file is unfit (bad name, access key or prefix), or nullopt.
std::optional<std::string> check_user_record(const user_record& r);

} // namespace dfs
