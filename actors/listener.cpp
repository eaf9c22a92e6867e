#include "actors/listener.hpp"

#include "common/log.hpp"
#include "common/unexpected_messages.hpp"

#include <caf/io/system_messages.hpp>

#include <algorithm>

#include <sys/resource.h>

namespace dfs {

namespace {

/// Every connection takes a file descriptor; the limits must fit under the open-file limit, or
/// accept() fails (EMFILE) while the limits still allow more. Raises the soft limit towards the
/// hard one if needed, and says so when even that is too low.
void fit_open_file_limit(const node_config& cfg) {
  constexpr rlim_t reserve = 256; // the store's files, peers dialed by us, CAF's own
  rlim_t wanted = rlim_t{cfg.max_connections} + cfg.max_pending_handshakes + reserve;
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur >= wanted)
    return;
  rlimit raised = limit;
  raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? wanted : std::min(wanted, limit.rlim_max);
  if (raised.rlim_cur > limit.rlim_cur && ::setrlimit(RLIMIT_NOFILE, &raised) == 0)
    limit = raised;
  if (limit.rlim_cur < wanted)
    DFS_WARN("listener", "the open-file limit (" << limit.rlim_cur
                           << ") is below [node] max_connections + max_pending_handshakes + "
                           << reserve << " = " << wanted
                           << ": raise it (ulimit -n) or lower the limits, or accepting may fail");
  else
    DFS_DEBUG("listener", "raised the open-file limit to " << limit.rlim_cur);
}

} // namespace

caf::behavior listener(listener_broker* self, caf::io::doorman_ptr doorman, node_context_ptr ctx) {
  drop_unexpected_messages(self);
  self->add_doorman(std::move(doorman));
  self->state.inbound = std::make_shared<inbound_connections>(
    ctx->config.max_connections, ctx->config.max_pending_handshakes,
    ctx->config.max_pending_per_source);
  fit_open_file_limit(ctx->config);
  self->set_down_handler([=](caf::down_msg& msg) {
    self->state.inbound->closed(msg.source);
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
      auto& st = self->state;
      auto source = self->remote_addr(msg.handle); // the connection's until the fork
      auto connection = self->fork(peer_connection, msg.handle, ctx, false, st.inbound);
      self->monitor(connection);
      st.connections.insert(connection);
      // At max_pending_handshakes (or max_pending_per_source from one address), a connection
      // still in the handshake makes room, the flooding address's own oldest first: a flood of
      // strangers then pushes out strangers, and a real client still gets in.
      if (auto evicted = st.inbound->accepted(connection.address(), source))
        if (auto victim = caf::actor_cast<caf::actor>(evicted->who))
          self->send(victim, evict_atom::value, evicted->per_source);
      DFS_DEBUG("listener", "accepted a connection (" << st.connections.size() << " open, "
                                                      << st.inbound->pending()
                                                      << " in the handshake)");
    },
    [=](const caf::io::acceptor_closed_msg&) {
      DFS_ERROR("listener", "the listening socket was closed");
    },
  };
}

} // namespace dfs
