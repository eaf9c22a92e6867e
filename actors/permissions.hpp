#pragma once
// What a connection's credential allows, decided from the credential alone (never from what
// the client says about itself). The node secret allows everything. A user may read (get,
// stat, ls) and, unless read-only, write (put, rm) keys that start with its prefix; status is
// open to every user; decommissioning and managing users need the node secret.
#include "net/frame.hpp"
#include "storage/user_registry.hpp"

#include <optional>
#include <string>

namespace dfs {

/// Why `user` may not send a request of this type about `key` (the sentence for the client,
/// "permission denied: ..."), or nullopt when it may. `user` null: the node secret. `key` is
/// ignored by requests that name no key.
std::optional<std::string> refusal(const user_record* user, frame_type request,
                                   const std::string& key);

/// The prefix an ls by `user` for `requested` runs with: the longer of the two when one
/// starts with the other; nullopt when no key the user may see can match.
std::optional<std::string> narrowed_ls_prefix(const user_record* user,
                                              const std::string& requested);

} // namespace dfs
