#include "net/listener.hpp"

#include "common/log.hpp"
#include "net/peer_connection.hpp"

#include <caf/io/system_messages.hpp>

namespace dfs {

caf::behavior listener(listener_broker* self, caf::io::doorman_ptr doorman, node_context_ptr ctx) {
  self->add_doorman(std::move(doorman));
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& connections = self->state.connections;
    for (auto i = connections.begin(); i != connections.end(); ++i)
      if (i->address() == msg.source) {
        connections.erase(i);
        return;
      }
  });
  self->set_exit_handler([=](caf::exit_msg& msg) {
    for (auto& connection : self->state.connections)
      self->send_exit(connection, msg.reason);
    self->state.connections.clear();
    self->quit(msg.reason);
  });
  return {
    [=](const caf::io::new_connection_msg& msg) {
      auto connection = self->fork(peer_connection, msg.handle, ctx, false);
      self->monitor(connection);
      self->state.connections.insert(connection);
      DFS_DEBUG("listener", "accepted a connection (" << self->state.connections.size() << " open)");
    },
    [=](const caf::io::acceptor_closed_msg&) {
      DFS_ERROR("listener", "the listening socket was closed");
    },
  };
}

} // namespace dfs
