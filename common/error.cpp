#include "common/error.hpp"

#include <caf/sec.hpp>

namespace dfs {

errc code_of(const caf::error& err) {
  if (!err)
    return errc::none; // CAF's accessors require an error that is not none
  if (err.category() == error_category)
    return static_cast<errc>(err.code());
  if (err.category() == caf::atom("system") && err.code() == static_cast<uint8_t>(caf::sec::request_timeout))
    return errc::timeout;
  return errc::unavailable;
}

std::string describe(const caf::error& err) {
  if (!err)
    return "no error";
  // The sentence comes first; some errors carry more after it (superseding_version).
  if (err.category() == error_category && !err.context().empty()
      && err.context().match_element<std::string>(0))
    return err.context().get_as<std::string>(0);
  if (err.category() == caf::atom("system")) {
    auto code = static_cast<caf::sec>(err.code());
    if (code == caf::sec::request_timeout)
      return "a peer did not answer in time";
    return "internal error: " + to_string(code);
  }
  return "internal error";
}

} // namespace dfs
