#include "common/credential.hpp"

#include "common/chunk_cipher.hpp" // hkdf_sha256
#include "common/crypto.hpp"

#include <openssl/crypto.h>

#include <sys/stat.h>

#include <cstdio>

namespace dfs {

std::string user_key_root(const std::string& node_secret) {
  // Under a label no other key uses: holding any number of secret keys tells nothing about
  // the node secret, the TLS keys between nodes or the at-rest keys.
  auto root = hkdf_sha256(node_secret.data(), node_secret.size(), user_key_label.data(),
                          user_key_label.size(), "user secret keys", 16, 32);
  std::string key(reinterpret_cast<const char*>(root.data()), root.size());
  OPENSSL_cleanse(root.data(), root.size());
  return key;
}

std::string user_secret_key(const std::string& root, const std::string& access_key) {
  return to_hex(hmac_sha256(root, access_key.data(), access_key.size()));
}

std::string derive_user_secret_key(const std::string& node_secret, const std::string& access_key) {
  auto root = user_key_root(node_secret);
  auto key = user_secret_key(root, access_key);
  OPENSSL_cleanse(root.data(), root.size());
  return key;
}

std::string generate_access_key() {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  uint8_t raw[access_key_length];
  random_bytes(raw, sizeof raw);
  std::string key(access_key_length, 'A');
  for (size_t i = 0; i < access_key_length; ++i)
    key[i] = alphabet[raw[i] % 32]; // 256 is a multiple of 32: no bias
  return key;
}

bool is_valid_access_key(std::string_view text) {
  if (text.size() != access_key_length)
    return false;
  for (char c : text)
    if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')))
      return false;
  return true;
}

std::optional<std::string> check_user_name(std::string_view name) {
  if (name.empty() || name.size() > max_user_name_length)
    return "a user name is 1 to " + std::to_string(max_user_name_length) + " characters";
  if (name[0] == '.' || name[0] == '-')
    return "a user name does not start with '.' or '-'";
  for (char c : name)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.'
          || c == '_' || c == '-'))
      return "a user name has only letters, digits, '.', '_' and '-'";
  return std::nullopt;
}

bool looks_like_credential(std::string_view text) {
  return text.substr(0, credential_format_line.size()) == credential_format_line
         && (text.size() == credential_format_line.size()
             || text[credential_format_line.size()] == '\n'
             || text[credential_format_line.size()] == '\r');
}

namespace {

/// The next line of text (without its line end), advancing pos.
std::string_view next_line(std::string_view text, size_t& pos) {
  auto end = text.find('\n', pos);
  if (end == std::string_view::npos)
    end = text.size();
  auto line = text.substr(pos, end - pos);
  pos = end < text.size() ? end + 1 : end;
  if (!line.empty() && line.back() == '\r')
    line.remove_suffix(1);
  return line;
}

bool take_field(std::string_view line, std::string_view field, std::string& out) {
  if (line.size() <= field.size() + 1 || line.substr(0, field.size()) != field
      || line[field.size()] != ' ')
    return false;
  out = std::string{line.substr(field.size() + 1)};
  return true;
}

bool is_lower_hex(std::string_view s, size_t n) {
  if (s.size() != n)
    return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

} // namespace

std::optional<user_credential> parse_credential(std::string_view text, std::string& why) {
  size_t pos = 0;
  if (next_line(text, pos) != credential_format_line) {
    why = "not a dfs user credential (its first line is not '"
          + std::string{credential_format_line} + "')";
    return std::nullopt;
  }
  user_credential c;
  if (!take_field(next_line(text, pos), "name", c.name) || check_user_name(c.name)) {
    why = "a credential's second line is 'name NAME'";
    return std::nullopt;
  }
  if (!take_field(next_line(text, pos), "access_key", c.access_key)
      || !is_valid_access_key(c.access_key)) {
    why = "a credential's third line is 'access_key' and 20 characters of A-Z and 2-7";
    return std::nullopt;
  }
  if (!take_field(next_line(text, pos), "secret_key", c.secret_key)
      || !is_lower_hex(c.secret_key, 64)) {
    why = "a credential's fourth line is 'secret_key' and 64 lowercase hex digits";
    return std::nullopt;
  }
  while (pos < text.size())
    if (!next_line(text, pos).empty()) {
      why = "a credential has four lines";
      return std::nullopt;
    }
  return c;
}

std::string format_credential(const user_credential& c) {
  return std::string{credential_format_line} + "\nname " + c.name + "\naccess_key " + c.access_key
         + "\nsecret_key " + c.secret_key + "\n";
}

std::optional<std::string> readable_by_others_warning(const std::string& path,
                                                      const std::string& what) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || (st.st_mode & (S_IRWXG | S_IRWXO)) == 0)
    return std::nullopt;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return what + " '" + path + "' is accessible by its group or by others (mode " + mode
         + "); anyone who can read it can use it: chmod 600 " + path;
}

} // namespace dfs
