#include "net/dialer.hpp"

#include "net/peer_connection.hpp"
#include "common/unexpected_messages.hpp"

#include <caf/io/middleman.hpp>

namespace dfs {

caf::behavior dialer(caf::event_based_actor* self, node_context_ptr ctx) {
  drop_unexpected_messages(self);
  return {
    [=](dial_atom, const std::string& address) -> caf::result<caf::actor> {
      auto target = parse_host_port(address);
      if (!target)
        return make_error(errc::bad_request, "not a host:port address: " + address);
      auto connection = self->system().middleman().spawn_client(peer_connection, target->host,
                                                                target->port, ctx, true,
                                                                inbound_connections_ptr{});
      if (!connection)
        return make_error(errc::unavailable, "cannot connect to " + address);
      return *connection;
    },
  };
}

} // namespace dfs
