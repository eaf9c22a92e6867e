#pragma once
// Byte sizes as people write them ("4MiB", "500MB", "4096"): one grammar for the node's
// configuration, dfs-bench and the scripts (which ask dfs-bench), so that a size valid in one
// place means the same number of bytes everywhere.
#include <cstdint>
#include <optional>
#include <string>

namespace dfs {

/// Parses a byte size: decimal digits, optionally followed (spaces allowed between) by a unit
/// (case-sensitive):
///   (none), B          1
///   K, k, KiB          1024        KB, kB   1000
///   M, MiB             1024^2      MB       1000^2
///   G, GiB             1024^3      GB       1000^3
///   T, TiB             1024^4      TB       1000^4
/// A letter alone or with "iB" is a power of 1024 (as in the README's config table); with "B"
/// alone a power of 1000. Whitespace around the whole text is ignored. nullopt when the
/// text is empty, has a sign, a fraction or an unknown unit, or when the size exceeds uint64_t.
std::optional<uint64_t> parse_byte_size(const std::string& text);

} // namespace dfs
