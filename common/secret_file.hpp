#pragma once
// Reading a secret from its file: the cluster secret a node starts with, or the secret or user
// credential a client connects with. One reader, so that a file one of them accepts the other
// reads as the same bytes, and both explain a refusal in the same words.
#include <cstddef>
#include <optional>
#include <string>

namespace dfs {

/// A real key file is tiny; the cap keeps something like /dev/zero from filling memory.
inline constexpr size_t max_secret_file_size = 64 * 1024;

/// The shortest secret accepted (what `dfs keygen` writes is 64 hex digits).
inline constexpr size_t min_secret_size = 32;

/// What read_secret_file found: the secret, or why the file does not hold one.
struct secret_file_contents {
  std::optional<std::string> secret;
  /// When there is no secret: a sentence without the file's name, which the caller puts first,
  /// e.g. "cannot read: No such file or directory" or "secret is 12 bytes, at least 32 are
  /// needed".
  std::string problem;
};

/// The whole file, byte for byte (a binary secret keeps its '\0' and inner newlines), without
/// the '\n' and '\r' it ends with (an editor's final newline is not part of the secret); at
/// most max_secret_file_size bytes as stored and at least min_secret_size without the newlines.
secret_file_contents read_secret_file(const std::string& path);

} // namespace dfs
