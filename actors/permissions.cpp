#include "actors/permissions.hpp"

namespace dfs {

namespace {

bool starts_with(const std::string& s, const std::string& prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

std::string read_only(const user_record& u) {
  return "permission denied: user " + u.name + " is read-only";
}

std::string outside_prefix(const user_record& u, const std::string& key) {
  return "permission denied: key " + key + " is outside user " + u.name + "'s prefix "
         + u.prefix;
}

std::string needs_node_secret(const user_record& u, const char* what) {
  return std::string{"permission denied: "} + what + " needs the node secret, and user " + u.name
         + " holds a user credential";
}

} // namespace

std::optional<std::string> refusal(const user_record* user, frame_type request,
                                   const std::string& key) {
  if (user == nullptr)
    return std::nullopt;
  switch (request) {
    case frame_type::put_begin:
    case frame_type::rm:
      if (user->read_only)
        return read_only(*user);
      [[fallthrough]];
    case frame_type::get:
    case frame_type::stat:
      if (!starts_with(key, user->prefix))
        return outside_prefix(*user, key);
      return std::nullopt;
    case frame_type::decommission:
      if (user->read_only)
        return read_only(*user);
      return needs_node_secret(*user, "decommissioning a node");
    case frame_type::user_add:
    case frame_type::user_rm:
    case frame_type::user_ls:
      if (user->read_only)
        return read_only(*user);
      return needs_node_secret(*user, "managing users");
    default: // status, ls (narrowed instead), and the frames of a request already admitted
      return std::nullopt;
  }
}

std::optional<std::string> narrowed_ls_prefix(const user_record* user,
                                              const std::string& requested) {
  if (user == nullptr || starts_with(requested, user->prefix))
    return requested;
  if (starts_with(user->prefix, requested))
    return user->prefix;
  return std::nullopt;
}

} // namespace dfs
