#include "actors/membership.hpp"

#include "actors/roster.hpp"
#include "common/unexpected_messages.hpp"
#include "common/log.hpp"
#include "net/dialer.hpp"

#include <algorithm>

namespace dfs {

namespace {

using self_ptr = membership_actor::stateful_pointer<membership_state>;
using clock = std::chrono::steady_clock;

constexpr auto max_backoff = std::chrono::milliseconds{5000};
constexpr unsigned gossip_every_ticks = 4;

membership_state::member make_member(const node_context& ctx) {
  return {roster_entry{}, nullptr, false,
          failure_detector{ctx.config.suspect_after, ctx.config.down_after}, member_state::down};
}

member_state state_of(const membership_state::member& m, clock::time_point now) {
  if (m.entry.admin == admin_state::left)
    return member_state::left;
  auto seen = m.detector.state(now, static_cast<bool>(m.connection));
  if (m.entry.admin == admin_state::leaving && seen == member_state::up)
    return member_state::leaving;
  return seen;
}

member_state self_state(const membership_state& st) {
  switch (st.self_entry.admin) {
    case admin_state::leaving: return member_state::leaving;
    case admin_state::left: return member_state::left;
    default: return member_state::up;
  }
}

std::vector<roster_entry> roster(const membership_state& st) {
  std::vector<roster_entry> out{st.self_entry};
  for (auto& [id, m] : st.members)
    out.push_back(m.entry);
  return out;
}

bool is_connected_to(const membership_state& st, const std::string& address) {
  if (auto t = st.addresses.find(address); t != st.addresses.end() && !t->second.node_id.empty())
    if (auto m = st.members.find(t->second.node_id); m != st.members.end() && m->second.connection)
      return true;
  return std::any_of(st.members.begin(), st.members.end(), [&](auto& kv) {
    return kv.second.connection && kv.second.entry.address == address;
  });
}

/// Remembers which node a dialled address led to (see dial_target::node_id).
void note_dialled_node(membership_state& st, const caf::actor& connection,
                       const std::string& node_id) {
  for (auto& [address, target] : st.addresses)
    if (target.last_connection == connection)
      target.node_id = node_id;
}

void learn_address(membership_state& st, const std::string& address) {
  if (address.empty() || address == st.ctx->config.listen.to_string() || !parse_host_port(address))
    return;
  st.addresses.emplace(address, membership_state::dial_target{});
}

void notify_replication(self_ptr self) {
  if (self->state.ctx->replication)
    self->send(self->state.ctx->replication, changed_atom::value);
}

void gossip(self_ptr self) {
  auto entries = roster(self->state);
  for (auto& [id, m] : self->state.members)
    if (m.connection)
      caf::anon_send(m.connection, gossip_atom::value, entries);
}

void dial_missing(self_ptr self) {
  auto& st = self->state;
  auto now = clock::now();
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
          auto& target = st.addresses[addr];
          target.dialing = false;
          target.last_connection = connection;
          // The handshake may already have reported this connection's node.
          for (auto& [id, m] : st.members)
            if (m.connection == connection)
              target.node_id = id;
          self->monitor(connection);
          st.dialed.insert(connection);
        },
        [=](caf::error& err) {
          self->state.addresses[addr].dialing = false;
          DFS_DEBUG("membership", "dial " << addr << ": " << describe(err));
        });
  }
}

/// Compares every member's state with the last one seen; logs and reports transitions.
void detect(self_ptr self) {
  auto& st = self->state;
  auto now = clock::now();
  bool changed = false;
  for (auto& [id, m] : st.members) {
    auto state = state_of(m, now);
    if (state == m.last_state)
      continue;
    DFS_INFO("membership", "member " << m.entry.name << " is " << to_string(state)
                                     << " (was " << to_string(m.last_state) << ")");
    m.last_state = state;
    changed = true;
  }
  if (changed)
    notify_replication(self);
}

bool on_peer_up(self_ptr self, const peer_info& info, const caf::actor& connection, bool outbound) {
  auto& st = self->state;
  auto i = st.members.find(info.node_id);
  if (i == st.members.end())
    i = st.members.emplace(info.node_id, make_member(*st.ctx)).first;
  auto& m = i->second;
  if (m.connection && m.connection != connection) {
    // Both nodes apply the same rule, so both keep the same one of two parallel connections.
    bool prefer_new = outbound == (st.ctx->node_id < info.node_id);
    if (!prefer_new)
      return false;
    // Not an exit: a broker told to exit terminates at once, and a replication pass or a put
    // session that already holds its handle would wait out the request timeout (CAF 0.17
    // neither answers nor bounces a request to a terminated broker). Superseded, it lingers
    // and fails such requests at once.
    caf::anon_send(m.connection, superseded_atom::value);
  }
  if (m.entry.node_id.empty()) {
    m.entry.node_id = info.node_id;
    m.entry.name = info.name;
    m.entry.address = info.listen_address;
  }
  m.connection = connection;
  m.outbound = outbound;
  m.detector.heard(clock::now());
  self->monitor(connection);
  learn_address(st, info.listen_address);
  if (auto t = st.addresses.find(info.listen_address); t != st.addresses.end())
    t->second.backoff = std::chrono::milliseconds{200};
  caf::anon_send(connection, gossip_atom::value, roster(st));
  detect(self);
  return true;
}

void on_gossip(self_ptr self, const std::vector<roster_entry>& entries) {
  auto& st = self->state;
  bool changed = false;
  for (auto& e : entries) {
    if (e.node_id == st.ctx->node_id) {
      // Decisions about this node made elsewhere (a decommission) reach it by gossip.
      auto before = st.self_entry.admin;
      roster_entry mine = st.self_entry;
      merge_roster_entry(mine, e);
      st.self_entry.admin = mine.admin;
      st.self_entry.admin_version = mine.admin_version;
      if (st.self_entry.admin != before) {
        DFS_INFO("membership", "this node is now " << to_string(self_state(st)));
        changed = true;
      }
      continue;
    }
    if (e.node_id.empty())
      continue;
    auto i = st.members.find(e.node_id);
    if (i == st.members.end()) {
      i = st.members.emplace(e.node_id, make_member(*st.ctx)).first;
      i->second.entry = e;
      changed = true;
    } else {
      changed |= merge_roster_entry(i->second.entry, e);
    }
    learn_address(st, i->second.entry.address);
  }
  if (changed) {
    detect(self);
    notify_replication(self);
  }
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
      DFS_INFO("membership", "lost the connection to " << m.entry.name);
      // Redial at once: a restarted node should be seen again within a tick or two.
      if (auto t = st.addresses.find(m.entry.address); t != st.addresses.end()) {
        t->second.next_attempt = clock::now();
        t->second.backoff = std::chrono::milliseconds{200};
      }
    }
  detect(self);
}

caf::result<caf::ok_atom> on_leave(self_ptr self, const std::string& name) {
  auto& st = self->state;
  roster_entry* entry = nullptr;
  if (name == st.ctx->config.name)
    entry = &st.self_entry;
  for (auto& [id, m] : st.members)
    if (m.entry.name == name)
      entry = &m.entry;
  if (entry == nullptr)
    return make_error(errc::not_found, "no member named " + name);
  if (entry->admin == admin_state::active) {
    // A member that is down cannot hand anything over: its data was repaired from replicas
    // when it went down, so it leaves at once (and no longer holds up garbage collection).
    auto i = st.members.find(entry->node_id);
    bool down = i != st.members.end() && state_of(i->second, clock::now()) == member_state::down;
    entry->admin = down ? admin_state::left : admin_state::leaving;
    entry->admin_version = st.ctx->clock->now();
    if (down)
      DFS_INFO("membership", "decommissioning " << name << ": it is down, so it leaves at once");
    else
      DFS_INFO("membership", "decommissioning " << name << ": it hands its data over, then leaves");
    gossip(self);
    detect(self);
    notify_replication(self);
  }
  return caf::ok_atom::value;
}

std::vector<member_view> member_views(const membership_state& st) {
  auto now = clock::now();
  std::vector<member_view> out;
  out.push_back({st.ctx->node_id, st.ctx->config.name, st.ctx->config.listen.to_string(),
                 self_state(st), caf::actor_cast<caf::actor>(st.ctx->store)});
  for (auto& [id, m] : st.members)
    out.push_back({id, m.entry.name, m.entry.address, state_of(m, now), m.connection});
  return out;
}

} // namespace

membership_actor::behavior_type
membership(membership_actor::stateful_pointer<membership_state> self, node_context_ptr ctx) {
  drop_unexpected_messages(self);
  auto& st = self->state;
  st.ctx = ctx;
  st.self_entry = {ctx->node_id, ctx->config.name, ctx->config.listen.to_string(),
                   ctx->clock->now(), admin_state::active, 0};
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
      if (outbound)
        note_dialled_node(self->state, connection, info.node_id);
      return on_peer_up(self, info, connection, outbound);
    },
    [=](peer_down_atom, const caf::actor& connection) {
      on_connection_down(self, connection.address());
    },
    [=](heartbeat_atom, const std::string& node_id) {
      auto i = self->state.members.find(node_id);
      if (i != self->state.members.end())
        i->second.detector.heard(clock::now());
    },
    [=](gossip_atom, const std::vector<roster_entry>& entries) { on_gossip(self, entries); },
    [=](members_atom) { return member_views(self->state); },
    [=](leave_atom, const std::string& name) { return on_leave(self, name); },
    [=](left_atom) {
      auto& st = self->state;
      if (st.self_entry.admin != admin_state::leaving)
        return;
      st.self_entry.admin = admin_state::left;
      st.self_entry.admin_version = st.ctx->clock->now();
      DFS_INFO("membership", "this node handed all its data over and has left the cluster");
      gossip(self);
    },
    [=](tick_atom) {
      auto& st = self->state;
      detect(self);
      dial_missing(self);
      if (++st.ticks % gossip_every_ticks == 0)
        gossip(self);
      self->delayed_send(self, st.ctx->heartbeat_interval(), tick_atom::value);
    },
  };
}

} // namespace dfs
