#include "actors/membership.hpp"

#include "common/log.hpp"
#include "net/dialer.hpp"

#include <algorithm>

namespace dfs {

namespace {

using self_ptr = membership_actor::stateful_pointer<membership_state>;

constexpr auto tick_interval = std::chrono::milliseconds{500};
constexpr auto max_backoff = std::chrono::milliseconds{10000};
constexpr unsigned gossip_every_ticks = 10;

bool is_connected_to(const membership_state& st, const std::string& address) {
  return std::any_of(st.members.begin(), st.members.end(), [&](auto& kv) {
    return kv.second.connection && kv.second.info.listen_address == address;
  });
}

std::vector<std::string> known_addresses(const membership_state& st) {
  std::vector<std::string> out;
  out.push_back(st.ctx->config.listen.to_string());
  for (auto& [id, m] : st.members)
    if (!m.info.listen_address.empty())
      out.push_back(m.info.listen_address);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void learn_address(membership_state& st, const std::string& address) {
  if (address.empty() || address == st.ctx->config.listen.to_string())
    return;
  if (!parse_host_port(address))
    return;
  st.addresses.emplace(address, membership_state::dial_target{});
}

void dial_missing(self_ptr self) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  for (auto& [address, target] : st.addresses) {
    if (target.dialing || now < target.next_attempt || is_connected_to(st, address))
      continue;
    target.dialing = true;
    target.next_attempt = now + target.backoff;
    target.backoff = std::min(target.backoff * 2, max_backoff);
    auto addr = address;
    self->request(st.dialer, std::chrono::seconds{30}, dial_atom::value, addr)
      .then(
        [=](caf::actor& connection) {
          auto& st = self->state;
          st.addresses[addr].dialing = false;
          self->monitor(connection);
          st.dialed.insert(connection);
        },
        [=](caf::error& err) {
          self->state.addresses[addr].dialing = false;
          DFS_DEBUG("membership", "dial " << addr << ": " << describe(err));
        });
  }
}

void gossip(self_ptr self) {
  auto& st = self->state;
  auto addresses = known_addresses(st);
  for (auto& [id, m] : st.members)
    if (m.connection)
      caf::anon_send(m.connection, gossip_atom::value, addresses);
}

bool on_peer_up(self_ptr self, const peer_info& info, const caf::actor& connection, bool outbound) {
  auto& st = self->state;
  auto& m = st.members[info.node_id];
  if (m.connection && m.connection != connection) {
    // Both nodes apply the same rule, so both keep the same one of two parallel connections.
    bool prefer_new = outbound == (st.ctx->node_id < info.node_id);
    if (!prefer_new)
      return false;
    self->send_exit(m.connection, caf::exit_reason::user_shutdown);
  }
  bool was_down = !m.connection;
  m.info = info;
  m.connection = connection;
  m.outbound = outbound;
  self->monitor(connection);
  learn_address(st, info.listen_address);
  if (auto i = st.addresses.find(info.listen_address); i != st.addresses.end())
    i->second.backoff = std::chrono::milliseconds{200};
  if (was_down)
    DFS_INFO("membership", "member " << info.name << " is up at " << info.listen_address);
  caf::anon_send(connection, gossip_atom::value, known_addresses(st));
  return true;
}

void on_connection_down(self_ptr self, const caf::actor_addr& source) {
  auto& st = self->state;
  for (auto i = st.dialed.begin(); i != st.dialed.end(); ++i)
    if (i->address() == source) {
      st.dialed.erase(i);
      break;
    }
  for (auto& [id, m] : st.members)
    if (m.connection && m.connection.address() == source) {
      m.connection = nullptr;
      DFS_INFO("membership", "member " << m.info.name << " is down");
      // Redial soon: a restarted node should be seen again within a tick or two.
      if (auto t = st.addresses.find(m.info.listen_address); t != st.addresses.end())
        t->second.next_attempt = std::chrono::steady_clock::now();
    }
}

} // namespace

membership_actor::behavior_type
membership(membership_actor::stateful_pointer<membership_state> self, node_context_ptr ctx) {
  auto& st = self->state;
  st.ctx = ctx;
  st.dialer = self->spawn<caf::detached>(dialer, ctx);
  self->link_to(st.dialer);
  for (auto& address : ctx->config.bootstrap)
    learn_address(st, address.to_string());
  self->set_down_handler([=](caf::down_msg& msg) { on_connection_down(self, msg.source); });
  self->set_exit_handler([=](caf::exit_msg& msg) {
    auto& st = self->state;
    for (auto& connection : st.dialed)
      self->send_exit(connection, msg.reason);
    for (auto& [id, m] : st.members)
      if (m.connection)
        self->send_exit(m.connection, msg.reason);
    self->send_exit(st.dialer, msg.reason);
    self->quit(msg.reason);
  });
  return {
    [=](peer_up_atom, const peer_info& info, const caf::actor& connection, bool outbound) {
      return on_peer_up(self, info, connection, outbound);
    },
    [=](gossip_atom, const std::vector<std::string>& addresses) {
      for (auto& a : addresses)
        learn_address(self->state, a);
    },
    [=](members_atom) {
      auto& st = self->state;
      std::vector<member_view> out;
      out.push_back({st.ctx->node_id, st.ctx->config.name, st.ctx->config.listen.to_string(), true,
                     caf::actor_cast<caf::actor>(st.ctx->store)});
      for (auto& [id, m] : st.members)
        out.push_back({id, m.info.name, m.info.listen_address, static_cast<bool>(m.connection),
                       m.connection});
      return out;
    },
    [=](tick_atom) {
      auto& st = self->state;
      dial_missing(self);
      if (++st.ticks % gossip_every_ticks == 0)
        gossip(self);
      self->delayed_send(self, tick_interval, tick_atom::value);
    },
  };
}

} // namespace dfs
