#include "common/host_port.hpp"

namespace dfs {

namespace {

bool host_char(char c, bool bracketed) {
  auto u = static_cast<unsigned char>(c);
  if (u <= 0x20 || u == 0x7f || c == '[' || c == ']' || c == ',')
    return false;
  return bracketed || c != ':';
}

std::optional<uint16_t> parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5)
    return std::nullopt;
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535)
    return std::nullopt;
  return static_cast<uint16_t>(value);
}

} // namespace

std::string host_port::to_string() const {
  auto port_text = std::to_string(port);
  if (host.find(':') != std::string::npos)
    return "[" + host + "]:" + port_text;
  return host + ":" + port_text;
}

namespace {

const char* const expected_address = "expected host:port with a port from 1 to 65535";

/// Fills `out` and returns nullopt, or says why `text` is not an address.
std::optional<std::string> parse_into(std::string_view text, host_port& out) {
  std::string_view host;
  std::string_view port;
  bool bracketed = !text.empty() && text.front() == '[';
  if (bracketed) {
    auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return std::string{expected_address};
    host = text.substr(1, close - 1);
    port = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string_view::npos)
      return std::string{expected_address};
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos)
      return std::string{"an IPv6 address needs brackets: [host]:port, as in [::1]:7000"};
  }
  if (host.empty())
    return std::string{expected_address};
  for (char c : host)
    if (!host_char(c, bracketed))
      return std::string{expected_address};
  auto number = parse_port(port);
  if (!number)
    return std::string{expected_address};
  out = host_port{std::string{host}, *number};
  return std::nullopt;
}

} // namespace

std::optional<std::string> host_port_problem(std::string_view text) {
  host_port ignored;
  return parse_into(text, ignored);
}

std::optional<host_port> parse_host_port(std::string_view text) {
  host_port out;
  if (parse_into(text, out))
    return std::nullopt;
  return out;
}

std::optional<host_port> parse_saved_host_port(std::string_view text) {
  if (auto strict = parse_host_port(text))
    return strict;
  auto colon = text.rfind(':');
  if (colon == std::string_view::npos || text.substr(0, colon).find(':') == std::string_view::npos)
    return std::nullopt;
  // "::1:7000" is "[::1]:7000" with its brackets left out.
  std::string bracketed = "[" + std::string{text.substr(0, colon)} + "]" + std::string{text.substr(colon)};
  return parse_host_port(bracketed);
}

} // namespace dfs
