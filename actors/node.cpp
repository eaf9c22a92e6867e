#include "actors/node.hpp"

#include "actors/coordinator.hpp"
#include "actors/membership.hpp"
#include "actors/node_context.hpp"
#include "actors/replication.hpp"
#include "actors/roster_store.hpp"
#include "actors/store.hpp"
#include "actors/users.hpp"
#include "common/log.hpp"
#include "actors/listener.hpp"
#include "common/credential.hpp"
#include "storage/node_identity.hpp"
#include "storage/user_registry.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/multiplexer.hpp>
#include <caf/scoped_actor.hpp>

#include <csignal>
#include <cstdlib>
#include <set>
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

/// Waits until every actor in `whom` is down (each must be monitored), at most `timeout`.
void await_down(caf::scoped_actor& self, std::set<caf::actor_addr> whom, std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!whom.empty() && std::chrono::steady_clock::now() < deadline) {
    self->receive([&](caf::down_msg& msg) { whom.erase(msg.source); },
                  caf::after(std::chrono::milliseconds{100}) >> [] {});
  }
}

/// Starts the clock past every version the store holds, before the node serves anything: a
/// restarted node (whose wall clock may have gone back) then never issues a version older than
/// one it wrote or took before, nor the same (hlc, node id) again for other contents.
bool seed_clock(caf::scoped_actor& self, const caf::actor& store, hybrid_clock& clock) {
  bool seeded = false;
  self->request(store, std::chrono::seconds{60}, newest_hlc_atom::value)
    .receive(
      [&](uint64_t newest) {
        seeded = true;
        if (clock.observe(newest))
          return;
        // Too far ahead to follow: the clock stays bounded, and writes to the keys that hold
        // such versions fail with errc::clock_skew until the wall clock catches up.
        DFS_WARN("node", "the manifests in data_dir hold versions up to "
                           << newest << ", " << (newest - clock.wall()) / 1000
                           << " s ahead of this node's clock, more than [cluster] max_clock_skew ("
                           << clock.max_skew().count() / 1000
                           << " s): was this node's clock set back? Writes to those keys fail "
                              "until the clock passes them");
      },
      [&](caf::error& err) {
        std::fprintf(stderr, "config: [node] data_dir: the store did not report its newest "
                             "version: %s\n", describe(err).c_str());
      });
  return seeded;
}

} // namespace

int run_node(const node_config& config) {
  auto signals = block_shutdown_signals();
  log::set_level(config.log_level);
  auto ctx = std::make_shared<node_context>();
  ctx->config = config;
  ctx->memory = std::make_shared<session_memory>(config.session_memory);
  auto clock_offset = test_clock_offset_seconds();
  if (!clock_offset) {
    std::fprintf(stderr, "config: %s='%s': expected whole seconds such as 3600 or -3600 (it is for "
                         "tests only: leave it unset)\n",
                 test_clock_offset_variable, std::getenv(test_clock_offset_variable));
    return 2;
  }
  if (*clock_offset != 0)
    DFS_WARN("node", test_clock_offset_variable << "=" << *clock_offset
                       << ": this node's wall clock is shifted by " << *clock_offset
                       << " s; this is for tests only");
  ctx->clock = std::make_shared<hybrid_clock>(config.max_clock_skew);

  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  // One scheduler worker per core (CAF's default is at least 4): extra workers only poll for
  // work, and each keeps a malloc arena of freed chunk buffers (docs/PERFORMANCE.md, "Memory").
  // They also poll less eagerly once idle: eager polling is a visible share of every profile.
  cfg.set("scheduler.max-threads", static_cast<size_t>(std::max(2u, std::thread::hardware_concurrency())));
  cfg.set("work-stealing.moderate-sleep-duration", caf::timespan{std::chrono::microseconds{200}});
  cfg.set("work-stealing.relaxed-sleep-duration", caf::timespan{std::chrono::milliseconds{10}});
  caf::actor_system system{cfg};

  // The listening socket first: a busy port must stop the node before anything else starts.
  auto doorman = system.middleman().backend().new_tcp_doorman(
    config.listen.port, config.listen.host.c_str(), true);
  if (!doorman) {
    std::fprintf(stderr, "config: [node] listen '%s': cannot listen: %s\n",
                 config.listen.to_string().c_str(), system.render(doorman.error()).c_str());
    return 2;
  }

  // The identity only once the port is ours, so that a node refused at start leaves nothing.
  try {
    ctx->node_id = load_or_create_node_id(config.data_dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "config: [node] data_dir '%s': %s\n", config.data_dir.c_str(), e.what());
    return 2;
  }

  // The roster before anything else runs: a node that cannot read it must not start as if it
  // had never met its cluster (actors/roster_store.hpp).
  std::vector<roster_entry> saved_roster;
  try {
    saved_roster = load_roster(config.data_dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "config: [node] data_dir '%s': %s\n", config.data_dir.c_str(), e.what());
    return 2;
  }

  if (auto warning = readable_by_others_warning(config.secret_file, "[cluster] secret_file"))
    DFS_WARN("node", *warning);
  auto registry = load_user_registry(config.data_dir);
  if (!registry) {
    std::fprintf(stderr, "config: [node] data_dir '%s': %s\n", config.data_dir.c_str(),
                 describe(registry.error()).c_str());
    return 2;
  }

  if (config.tls_required) {
    try {
      ctx->tls = std::make_shared<const tls_context>(config.secret);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "config: [cluster] tls: %s\n", e.what());
      return 2;
    }
  } else {
    DFS_WARN("node", "[cluster] tls = off: links are neither encrypted nor protected against "
                     "tampering; use this for debugging only");
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
  // The storage settings before anything can send the store a put: the listener is spawned
  // below, and these requests are in the store's mailbox first.
  auto untyped_store = caf::actor_cast<caf::actor>(ctx->store);
  bool settings_taken = true;
  auto set = [&](auto atom, auto value, const char* key) {
    self->request(untyped_store, std::chrono::seconds{60}, atom, value)
      .receive([](caf::ok_atom) {},
               [&](caf::error& err) {
                 std::fprintf(stderr, "config: %s: the store did not take it: %s\n",
                              key, describe(err).c_str());
                 settings_taken = false;
               });
  };
  set(capacity_atom::value, config.capacity, "[storage] capacity");
  set(disk_reserve_atom::value, config.disk_reserve, "[storage] reserve");
  set(gc_grace_atom::value, caf::timespan{config.gc_grace}, "[cluster] gc_grace");
  set(clock_skew_atom::value,
      static_cast<uint64_t>(std::chrono::milliseconds{config.max_clock_skew}.count()),
      "[cluster] max_clock_skew");
  if (settings_taken)
    settings_taken = seed_clock(self, untyped_store, *ctx->clock);
  if (!settings_taken) {
    // The store may still run (a timeout): end it, or the actor system would wait for it.
    self->send_exit(ctx->store, caf::exit_reason::user_shutdown);
    return 2;
  }
  ctx->coordinator = system.spawn(coordinator, node_context_ptr{ctx});
  ctx->membership = system.spawn(membership, node_context_ptr{ctx}, std::move(saved_roster));
  ctx->replication = system.spawn(replication, node_context_ptr{ctx});
  ctx->users = system.spawn(users, node_context_ptr{ctx}, std::move(*registry));
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
  // Connections first (no new work arrives), then the actors that serve them, the store last,
  // so that a write under way when the signal came is either acknowledged or never was.
  std::vector<caf::actor> front{listening, caf::actor_cast<caf::actor>(ctx->membership),
                                caf::actor_cast<caf::actor>(ctx->coordinator),
                                caf::actor_cast<caf::actor>(ctx->replication), ctx->users};
  for (auto& a : front) {
    self->monitor(a);
    self->send_exit(a, caf::exit_reason::user_shutdown);
  }
  std::set<caf::actor_addr> front_addresses;
  for (auto& a : front)
    front_addresses.insert(a.address());
  await_down(self, front_addresses, std::chrono::seconds{5});
  self->send_exit(ctx->store, caf::exit_reason::user_shutdown);
  await_down(self, {ctx->store.address()}, std::chrono::seconds{10});
  DFS_INFO("node", "stopped");
  std::fflush(stderr);
  // ~actor_system would wait for every actor CAF knows of, ours and its own helpers alike. All
  // that this node acknowledged is on disk and its connections are closed: leave now rather
  // than risk waiting on a straggler.
  std::_Exit(0);
}

} // namespace dfs
