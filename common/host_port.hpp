#pragma once
// The address of a node, as people write it in the config, on the dfs command line and as nodes
// pass it to each other in gossip: one grammar everywhere.
//
//   address = host ":" port | "[" host "]" ":" port
//   port    = 1 to 5 decimal digits, 1..65535 (leading zeros allowed)
//   host    = 1 or more bytes, none of them a control character, space, DEL, "[", "]" or ",";
//             outside brackets also no ":"
//
// An IPv6 address therefore needs brackets ("[::1]:7000"): in a bare "::1:7000" the port could
// be read two ways, so it is refused rather than guessed.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dfs {

struct host_port {
  std::string host; // without brackets
  uint16_t port = 0;

  /// The address in the grammar above: a host containing ':' gets its brackets back, so
  /// parse_host_port(to_string()) gives this address again.
  std::string to_string() const;

  friend bool operator==(const host_port& a, const host_port& b) {
    return a.host == b.host && a.port == b.port;
  }
};

/// The address `text` names, or nullopt when it does not follow the grammar above.
std::optional<host_port> parse_host_port(std::string_view text);

/// The same, and also the bare IPv6 form "::1:7000" (split at the last ':') that roster files
/// written before this grammar hold: for reading those files only, never for what people type.
std::optional<host_port> parse_saved_host_port(std::string_view text);

/// Why `text` is not an address, in words for an error message (nullopt when it is one): a
/// bare IPv6 address is told to use brackets, anything else hears the expected form.
std::optional<std::string> host_port_problem(std::string_view text);

} // namespace dfs
