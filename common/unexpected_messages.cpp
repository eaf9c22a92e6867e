#include "common/unexpected_messages.hpp"

#include "common/log.hpp"

#include <caf/atom.hpp>
#include <caf/message_view.hpp>
#include <caf/sec.hpp>
#include <caf/type_erased_tuple.hpp>

namespace dfs {

namespace {

log::limiter unexpected_lines;

/// What a message is without what it carries: its leading atom, if any, and its size.
std::string summary(const caf::type_erased_tuple& xs) {
  std::string out = "(";
  if (!xs.empty() && xs.type_nr(0) == caf::type_nr<caf::atom_value>::value)
    out += "'" + caf::to_string(*static_cast<const caf::atom_value*>(xs.get(0))) + "', ";
  return out + std::to_string(xs.size()) + " elements)";
}

} // namespace

caf::result<caf::message> drop_unexpected_message(caf::scheduled_actor* self,
                                                  caf::message_view& msg) {
  uint64_t left_out = 0;
  if (unexpected_lines.admit(left_out))
    DFS_WARN(self->name(), "dropped an unexpected message " << summary(msg.content())
                                                            << log::left_out_note(left_out));
  return caf::sec::unexpected_message;
}

void drop_unexpected_messages(caf::scheduled_actor* self) {
  self->set_default_handler(drop_unexpected_message);
}

} // namespace dfs
