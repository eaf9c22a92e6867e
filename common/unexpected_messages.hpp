#pragma once
// CAF's default for a message no handler matches prints the whole message (a 4 MiB chunk
// becomes a 16 MB log line) to stdout. Every actor of ours drops such a message with one short,
// throttled log line naming its kind instead; a requester still gets unexpected_message.
#include <caf/scheduled_actor.hpp>

namespace dfs {

/// Installs the quiet handler on `self`. Call first thing in the actor's behavior function.
void drop_unexpected_messages(caf::scheduled_actor* self);

/// The quiet handler itself, for an actor whose own default handler falls back to it.
caf::result<caf::message> drop_unexpected_message(caf::scheduled_actor* self,
                                                  caf::message_view& msg);

} // namespace dfs
