#pragma once
// User credentials: what a client holds instead of the node secret.
//
//   access_key = 20 random characters of base32 (A-Z, 2-7): names the user on the wire (it
//                travels in clear in the TLS PSK identity) and is usable as an S3 access key id
//   secret_key = hex(HMAC-SHA256(HKDF-SHA256(node secret, salt "dfs user key v1"), access_key))
//
// A node derives any user's secret_key from the node secret, so it needs no stored key to
// authenticate a user; a user's secret_key leads back neither to the node secret nor to the
// at-rest keys (which derive from the node secret under labels of their own). Whether a user
// exists, and what it may do, is the user registry's word (storage/user_registry.hpp).
//
// The credential file (written by `dfs user add`, mode 0600) is four lines:
//
//   dfs-user-credential v1
//   name NAME
//   access_key ACCESS_KEY
//   secret_key SECRET_KEY
#include <optional>
#include <string>
#include <string_view>

namespace dfs {

/// The first line of every credential file: tells it apart from a node secret.
inline constexpr std::string_view credential_format_line = "dfs-user-credential v1";
/// The HKDF salt of the key users' secret keys are made with.
inline constexpr std::string_view user_key_label = "dfs user key v1";
inline constexpr size_t access_key_length = 20;
inline constexpr size_t max_user_name_length = 64;

struct user_credential {
  std::string name;
  std::string access_key;
  std::string secret_key; // 64 lowercase hex digits
};

/// The secret key of `access_key` under the node secret.
std::string derive_user_secret_key(const std::string& node_secret, const std::string& access_key);
/// The same in two steps, for a holder that keeps the root rather than the node secret: the
/// 32-byte root every user's secret key is made from, then one user's key.
std::string user_key_root(const std::string& node_secret);
std::string user_secret_key(const std::string& root, const std::string& access_key);

/// A fresh random access key.
std::string generate_access_key();

/// True for access_key_length characters of A-Z and 2-7.
bool is_valid_access_key(std::string_view text);

/// Why `name` cannot name a user (1..64 characters of A-Z a-z 0-9 . _ -, not starting with
/// . or -), or nullopt if it can.
std::optional<std::string> check_user_name(std::string_view name);

/// True when the text (a secret file's contents) is a credential file rather than a secret.
bool looks_like_credential(std::string_view text);

/// Parses a credential file's contents; nullopt with `why` set when malformed.
std::optional<user_credential> parse_credential(std::string_view text, std::string& why);

/// The credential file's contents, newline-terminated.
std::string format_credential(const user_credential& c);

/// A warning when the file at `path` can be read by its group or by others (nullopt when it
/// cannot, or when it cannot be inspected: reading it will say why).
std::optional<std::string> readable_by_others_warning(const std::string& path,
                                                      const std::string& what);

} // namespace dfs
