#include "actors/node.hpp"

#include "actors/coordinator.hpp"
#include "actors/membership.hpp"
#include "actors/node_context.hpp"
#include "actors/store.hpp"
#include "common/log.hpp"
#include "net/listener.hpp"
#include "storage/node_identity.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/multiplexer.hpp>
#include <caf/scoped_actor.hpp>

#include <csignal>
#include <cstdio>
#include <thread>
#include <unistd.h>

namespace dfs {

namespace {

/// Blocks SIGINT and SIGTERM in this thread and, by inheritance, in every thread CAF starts,
/// so that only sigwait() below sees them.
sigset_t block_shutdown_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
  return set;
}

/// Waits for a down message from `whom`, at most `timeout`.
bool await_down(caf::scoped_actor& self, const caf::actor_addr& whom, std::chrono::seconds timeout) {
  bool down = false;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!down && std::chrono::steady_clock::now() < deadline) {
    self->receive([&](caf::down_msg& msg) { down = msg.source == whom; },
                  caf::after(std::chrono::milliseconds{200}) >> [] {});
  }
  return down;
}

} // namespace

int run_node(const node_config& config) {
  auto signals = block_shutdown_signals();
  log::set_level(config.log_level);
  auto ctx = std::make_shared<node_context>();
  ctx->config = config;
  try {
    ctx->node_id = load_or_create_node_id(config.data_dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "config: [node] data_dir '%s': %s\n", config.data_dir.c_str(), e.what());
    return 2;
  }

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  caf::actor_system system{cfg};

  // The listening socket first: a busy port must stop the node before anything else starts.
  auto doorman = system.middleman().backend().new_tcp_doorman(
    config.listen.port, config.listen.host.c_str(), true);
  if (!doorman) {
    std::fprintf(stderr, "config: [node] listen '%s': cannot listen: %s\n",
                 config.listen.to_string().c_str(), system.render(doorman.error()).c_str());
    return 2;
  }

  caf::scoped_actor self{system};
  ctx->store = system.spawn<caf::detached>(store, config.data_dir);
  self->monitor(ctx->store);
  // The store opens its directories on its own thread; ask it something to learn whether it could.
  bool store_ready = false;
  self->request(ctx->store, std::chrono::seconds{300}, has_chunks_atom::value, std::vector<chunk_id>{})
    .receive([&](std::vector<bool>&) { store_ready = true; },
             [&](caf::error& err) {
               std::fprintf(stderr, "config: [node] data_dir '%s': %s\n", config.data_dir.c_str(),
                            describe(err).c_str());
             });
  if (!store_ready)
    return 2;
  ctx->coordinator = system.spawn(coordinator, node_context_ptr{ctx});
  ctx->membership = system.spawn(membership, node_context_ptr{ctx});
  // From here on the context is read-only: every actor that reads it was given it above, and
  // none reads the handles filled in after its spawn before the first connection exists.
  auto listening = system.middleman().spawn_broker(listener, std::move(*doorman), node_context_ptr{ctx});
  self->send(ctx->membership, tick_atom::value);
  DFS_INFO("node", "node " << config.name << " (" << ctx->node_id << ") of cluster '"
                           << config.cluster_name << "' listening on " << config.listen.to_string()
                           << ", R=" << config.replicas << ", W=" << config.write_quorum
                           << ", chunk size " << config.chunk_size);

  int signal_number = 0;
  sigwait(&signals, &signal_number);
  DFS_INFO("node", "received " << (signal_number == SIGINT ? "SIGINT" : "SIGTERM")
                               << ", shutting down");
  // A shutdown that stalls must not keep the process alive: every acknowledged write was
  // fsynced when it was acknowledged, so nothing is lost by leaving.
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds{15});
    DFS_ERROR("node", "shutdown did not finish in 15 s; exiting anyway");
    std::_Exit(1);
  }).detach();
  // Connections first (no new work arrives), then the actors that serve them, the store last.
  self->send_exit(listening, caf::exit_reason::user_shutdown);
  self->send_exit(ctx->membership, caf::exit_reason::user_shutdown);
  self->send_exit(ctx->coordinator, caf::exit_reason::user_shutdown);
  self->send_exit(ctx->store, caf::exit_reason::user_shutdown);
  await_down(*&self, ctx->store.address(), std::chrono::seconds{10});
  ctx->store = nullptr;
  ctx->membership = nullptr;
  ctx->coordinator = nullptr;
  DFS_INFO("node", "stopped");
  return 0;
}

} // namespace dfs
