#pragma once
// JSON string literals, for the programs that print JSON by hand (the dfs CLI's --json,
// dfs-bench): a few small shapes do not justify a library, but the escaping must be right once.
#include <string>

namespace dfs {

/// `text` as a JSON string literal, quotes included: `"` and `\` escaped, \n \r \t by name,
/// other control characters (and DEL) as \u00XX, well-formed UTF-8 kept as it is. Keys and
/// messages are bytes, JSON is Unicode: a byte that is not part of well-formed UTF-8 (overlong
/// forms, surrogates and code points past U+10FFFF included) becomes \ufffd, so the output is
/// always valid JSON.
std::string json_string(const std::string& text);

} // namespace dfs
