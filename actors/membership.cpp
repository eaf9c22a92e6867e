#include "actors/membership.hpp"

#include "actors/collection_gate.hpp"
#include "actors/peer_clocks.hpp"
#include "actors/roster.hpp"
#include "actors/roster_store.hpp"
#include "common/unexpected_messages.hpp"
#include "common/log.hpp"
#include "actors/dialer.hpp"
#include "storage/node_identity.hpp"

#include <algorithm>

namespace dfs {

namespace {

using self_ptr = membership_actor::stateful_pointer<membership_state>;
using clock = membership_state::clock;

constexpr auto max_backoff = std::chrono::milliseconds{5000};
// An address only another node named may be stale or false: tried rarely, and only so many.
constexpr auto hint_max_backoff = std::chrono::milliseconds{60000};
constexpr size_t max_dial_hints = 64;
// Each dial has a thread of its own (actors/dialer.hpp); this many at a time at most.
constexpr size_t max_dials_in_flight = 8;
constexpr unsigned gossip_every_ticks = 4;
constexpr auto warning_interval = std::chrono::seconds{60};

const char* const reuse_advice =
  "To reuse the machine, empty its data_dir so it joins as a new node";

std::string refusal_text(const roster_entry& e) {
  return "node " + e.name + " (id " + e.node_id + ") was decommissioned; it is refused. "
         + reuse_advice;
}

std::string self_refusal_text(const membership_state& st) {
  return "this node, " + st.ctx->config.name + " (id " + st.ctx->node_id
         + "), was decommissioned; the cluster refuses it. " + reuse_advice;
}

membership_state::member make_member(const node_context& ctx, roster_entry entry) {
  membership_state::member m{std::move(entry), nullptr, false,
                             failure_detector{ctx.config.suspect_after, ctx.config.down_after},
                             member_state::down, {}, std::nullopt, std::nullopt};
  return m;
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

bool self_left(const membership_state& st) {
  return st.self_entry.admin == admin_state::left;
}

std::vector<roster_entry> roster(const membership_state& st) {
  std::vector<roster_entry> out{st.self_entry};
  for (auto& [id, m] : st.members)
    out.push_back(m.entry);
  return out;
}

std::vector<member_view> member_views(const membership_state& st) {
  auto now = clock::now();
  std::vector<member_view> out;
  out.push_back({st.ctx->node_id, st.ctx->config.name, st.ctx->config.listen.to_string(),
                 self_state(st), caf::actor_cast<caf::actor>(st.ctx->store), std::nullopt});
  for (auto& [id, m] : st.members)
    out.push_back({id, m.entry.name, m.entry.address, state_of(m, now), m.connection, m.waits_for});
  out.front().waits_for = ids_waited_for(out);
  return out;
}

/// What this node gossips with its roster: the members it waits for before collecting.
std::vector<std::string> waiting_for(const membership_state& st) {
  return *member_views(st).front().waits_for;
}

/// After every change that must survive a restart: a member first seen, a new address or
/// incarnation, a decision.
void save(const membership_state& st) {
  if (st.ctx->config.data_dir.empty()) // unit tests
    return;
  if (auto err = save_roster(st.ctx->config.data_dir, roster(st)))
    DFS_ERROR("membership", "cannot save the roster: " << describe(err));
}

bool is_connected_to(const membership_state& st, const std::string& address) {
  if (auto t = st.addresses.find(address); t != st.addresses.end() && !t->second.node_id.empty())
    if (auto m = st.members.find(t->second.node_id); m != st.members.end() && m->second.connection)
      return true;
  return std::any_of(st.members.begin(), st.members.end(), [&](auto& kv) {
    return kv.second.connection && kv.second.entry.address == address;
  });
}

/// A decommissioned node is refused: dialing it would only be refused again.
bool leads_to_left_member(const membership_state& st, const std::string& address,
                          const membership_state::dial_target& target) {
  return std::any_of(st.members.begin(), st.members.end(), [&](auto& kv) {
    return kv.second.entry.admin == admin_state::left
           && (kv.first == target.node_id || kv.second.entry.address == address);
  });
}

/// Remembers which node a dialled address led to (see dial_target::node_id).
void note_dialled_node(membership_state& st, const caf::actor& connection,
                       const std::string& node_id) {
  for (auto& [address, target] : st.addresses)
    if (target.last_connection == connection)
      target.node_id = node_id;
}

/// `hint`: only another node named this address (see dial_target::hint).
void learn_address(membership_state& st, const std::string& address, bool hint) {
  if (address.empty() || address == st.ctx->config.listen.to_string() || !parse_host_port(address))
    return;
  if (auto i = st.addresses.find(address); i != st.addresses.end()) {
    if (!hint)
      i->second.hint = false;
    return;
  }
  if (hint) {
    auto hints = std::count_if(st.addresses.begin(), st.addresses.end(),
                               [](auto& kv) { return kv.second.hint; });
    if (static_cast<size_t>(hints) >= max_dial_hints) {
      DFS_DEBUG("membership", "not trying " << address << ": " << max_dial_hints
                                            << " addresses named by gossip are tried already");
      return;
    }
  }
  membership_state::dial_target target;
  target.hint = hint;
  st.addresses.emplace(address, target);
}

void notify_replication(self_ptr self) {
  if (self->state.ctx->replication)
    self->send(self->state.ctx->replication, changed_atom::value);
}

void gossip(self_ptr self) {
  auto entries = roster(self->state);
  auto waits = waiting_for(self->state);
  for (auto& [id, m] : self->state.members)
    if (m.connection)
      caf::anon_send(m.connection, gossip_atom::value, entries, waits);
}

void dial_missing(self_ptr self) {
  auto& st = self->state;
  if (self_left(st))
    return; // every member refuses a decommissioned node
  auto now = clock::now();
  // The dialer gives up connecting after handshake_timeout; resolving a name has no timeout of
  // its own, so the answer is awaited a little longer.
  auto timeout = st.ctx->config.handshake_timeout + std::chrono::seconds{10};
  for (auto& [address, target] : st.addresses) {
    if (st.dials_in_flight >= max_dials_in_flight)
      break;
    if (target.dialing || now < target.next_attempt || is_connected_to(st, address)
        || leads_to_left_member(st, address, target))
      continue;
    target.dialing = true;
    ++st.dials_in_flight;
    target.next_attempt = now + target.backoff;
    target.backoff = std::min(target.backoff * 2, target.hint ? hint_max_backoff : max_backoff);
    auto addr = address;
    auto attempt = self->spawn<caf::detached>(dialer, st.ctx);
    self->request(attempt, timeout, dial_atom::value, addr)
      .then(
        [=](caf::actor& connection) {
          auto& st = self->state;
          --st.dials_in_flight;
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
          --self->state.dials_in_flight;
          self->state.addresses[addr].dialing = false;
          DFS_DEBUG("membership", "dial " << addr << ": " << describe(err));
        });
  }
}

/// Judges this node's wall clock against those of the members up (actors/peer_clocks.hpp) and
/// tells the hybrid clock, which refuses to issue versions while it is far behind.
void judge_clock(self_ptr self) {
  auto& st = self->state;
  auto now = clock::now();
  std::vector<int64_t> ahead;
  for (auto& [id, m] : st.members)
    if (m.clock_ahead_ms && state_of(m, now) == member_state::up)
      ahead.push_back(*m.clock_ahead_ms);
  auto& hlc = *st.ctx->clock;
  auto skew_ms = static_cast<uint64_t>(hlc.max_skew().count());
  auto verdict = behind_the_cluster(ahead, skew_ms);
  if (!verdict || *verdict == hlc.behind_cluster())
    return;
  if (*verdict > 0 && hlc.behind_cluster() == 0)
    DFS_WARN("membership", "this node's wall clock is " << *verdict / 1000
                             << " s behind most of the cluster's nodes, more than [cluster] "
                                "max_clock_skew ("
                             << skew_ms / 1000
                             << " s): it refuses puts and rms until its clock is set right (NTP)");
  else if (*verdict == 0)
    DFS_INFO("membership", "this node's wall clock agrees with the cluster's again: it takes "
                           "writes");
  hlc.set_behind_cluster(*verdict);
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
  if (changed) {
    notify_replication(self);
    gossip(self); // whom this node waits for changed: the others hold collection at once
  }
}

/// Refuses a link: the peer hears why (the decision, as gossip it can verify the shape of, then
/// the error from its connection) and nothing it holds is read.
caf::error refuse(const caf::actor& connection, const roster_entry& decision, std::string why) {
  caf::anon_send(connection, gossip_atom::value, std::vector<roster_entry>{decision},
                 std::vector<std::string>{});
  return make_error(errc::auth_failed, std::move(why));
}

caf::result<bool> on_peer_up(self_ptr self, const peer_info& info, const caf::actor& connection,
                             bool outbound) {
  auto& st = self->state;
  if (self_left(st))
    return refuse(connection, st.self_entry, self_refusal_text(st));
  auto i = st.members.find(info.node_id);
  if (i != st.members.end() && i->second.entry.admin == admin_state::left) {
    auto& m = i->second;
    auto now = clock::now();
    if (now - m.last_refusal_logged >= warning_interval) {
      m.last_refusal_logged = now;
      DFS_ERROR("membership", refusal_text(m.entry));
    }
    return refuse(connection, m.entry, refusal_text(m.entry));
  }
  // The hello is the node's own word on its name and address; it goes into the roster file,
  // so it must have the shape every entry has.
  roster_entry announced{info.node_id, info.name, info.listen_address, 0, admin_state::active, 0};
  if (auto problem = roster_entry_problem(announced, wall_clock_ms()))
    return make_error(errc::protocol, "refused as a member: " + *problem);
  bool is_new = i == st.members.end();
  // The roster file holds at most this many entries (a longer one would not load).
  if (is_new && st.members.size() + 1 >= max_roster_entries)
    return make_error(errc::unavailable, "refused as a member: the roster holds "
                                           + std::to_string(max_roster_entries) + " nodes already");
  if (is_new)
    i = st.members.emplace(info.node_id, make_member(*st.ctx, announced)).first;
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
  bool moved = m.entry.name != info.name || m.entry.address != info.listen_address;
  m.entry.name = info.name;
  m.entry.address = info.listen_address;
  if (is_new || moved)
    save(st);
  if (m.connection != connection)
    m.waits_for.reset(); // until it says so on this connection
  m.connection = connection;
  m.outbound = outbound;
  m.detector.heard(clock::now());
  self->monitor(connection);
  learn_address(st, info.listen_address, false);
  if (auto t = st.addresses.find(info.listen_address); t != st.addresses.end())
    t->second.backoff = std::chrono::milliseconds{200};
  caf::anon_send(connection, gossip_atom::value, roster(st), waiting_for(st));
  detect(self);
  return true;
}

/// One line per warning_interval at most, however often a peer repeats itself.
void refuse_gossip(self_ptr self, const std::string& sender_name, const std::string& problem) {
  auto& st = self->state;
  auto now = clock::now();
  if (now - st.last_gossip_warning < warning_interval) {
    ++st.gossip_warnings_left_out;
    return;
  }
  st.last_gossip_warning = now;
  auto left_out = std::exchange(st.gossip_warnings_left_out, 0);
  DFS_WARN("membership", "gossip from " << sender_name << " refused: " << problem
                                        << (left_out > 0 ? " (and " + std::to_string(left_out)
                                                             + " more refused, not logged)"
                                                         : std::string{}));
}

/// A decision about this node made elsewhere (a decommission) reaches it by gossip. True if
/// this node's state changed.
bool take_decision_about_self(self_ptr self, const roster_entry& decision) {
  auto& st = self->state;
  if (!merge_admin_decision(st.self_entry, decision))
    return false;
  if (self_left(st))
    DFS_ERROR("membership", self_refusal_text(st));
  else
    DFS_INFO("membership", "this node is now " << to_string(self_state(st)));
  return true;
}

/// Replaces what `sender` said it waits for, a list checked on its own: a roster line refused
/// does not keep the list from counting. A list that breaks the rules counts as not said yet,
/// which holds collection back until the sender sends a good one.
void take_waiting_list(self_ptr self, membership_state::member& sender,
                       const std::vector<std::string>& waits) {
  sender.waits_for.reset();
  if (waits.size() > max_roster_entries)
    return refuse_gossip(self, sender.entry.name,
                         "it waits for " + std::to_string(waits.size()) + " nodes, more than "
                           + std::to_string(max_roster_entries));
  for (auto& id : waits)
    if (!is_node_id(id))
      return refuse_gossip(self, sender.entry.name, "it waits for '" + id.substr(0, 64)
                                                      + "', not 32 lowercase hex digits");
  std::set<std::string> unique{waits.begin(), waits.end()};
  sender.waits_for.emplace(unique.begin(), unique.end());
}

/// `sender`: the peer the frame came from, as its handshake proved. It alone speaks for its own
/// name, address and incarnation, and for whom it waits; what it says of others is a decision
/// to check or an address to try.
void on_gossip(self_ptr self, const std::string& sender, const std::vector<roster_entry>& entries,
               const std::vector<std::string>& waits) {
  auto& st = self->state;
  auto from = st.members.find(sender);
  if (from == st.members.end() || from->second.entry.admin == admin_state::left)
    return; // not a member: a link being refused
  take_waiting_list(self, from->second, waits);
  auto& sender_entry = from->second.entry;
  if (entries.size() > max_roster_entries)
    return refuse_gossip(self, sender_entry.name,
                         std::to_string(entries.size()) + " entries, more than "
                           + std::to_string(max_roster_entries));
  auto wall = wall_clock_ms();
  auto max_ahead = static_cast<uint64_t>(
    std::chrono::duration_cast<std::chrono::milliseconds>(st.ctx->config.max_clock_skew).count());
  for (auto& e : entries)
    if (auto problem = roster_entry_problem(e, wall, max_ahead))
      return refuse_gossip(self, sender_entry.name, *problem);
  bool changed = false;
  for (auto& e : entries) {
    if (e.node_id == st.ctx->node_id) {
      changed |= take_decision_about_self(self, e);
    } else if (e.node_id == sender) {
      changed |= merge_own_entry(sender_entry, e);
      learn_address(st, sender_entry.address, false);
    } else if (auto i = st.members.find(e.node_id); i != st.members.end()) {
      changed |= merge_admin_decision(i->second.entry, e);
      if (e.address != i->second.entry.address && i->second.entry.admin != admin_state::left)
        learn_address(st, e.address, true);
    } else if (e.admin != admin_state::left) {
      // A node we never met: becomes a member only once it completes a handshake itself.
      learn_address(st, e.address, true);
    }
  }
  if (changed) {
    save(st);
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
      m.waits_for.reset(); // it is not readable now, so its being away holds collection
      m.clock_ahead_ms.reset();
      DFS_INFO("membership", "lost the connection to " << m.entry.name);
      // Redial at once: a restarted node should be seen again within a tick or two.
      if (auto t = st.addresses.find(m.entry.address); t != st.addresses.end()) {
        t->second.next_attempt = clock::now();
        t->second.backoff = std::chrono::milliseconds{200};
      }
    }
  detect(self);
}

/// The member a decommission of `name` is about. A machine whose data_dir was emptied comes
/// back under its old name with a new id while the old id stays in the roster (down): of two
/// members with one name, the one that is down is meant. Already decommissioned ones count only
/// when no other has the name (deciding again changes nothing).
caf::expected<roster_entry*> find_to_decommission(membership_state& st, const std::string& name) {
  std::vector<roster_entry*> named, down;
  roster_entry* decided = nullptr;
  auto now = clock::now();
  if (name == st.ctx->config.name)
    (self_left(st) ? decided : named.emplace_back()) = &st.self_entry;
  for (auto& [id, m] : st.members) {
    if (m.entry.name != name)
      continue;
    if (m.entry.admin == admin_state::left) {
      decided = &m.entry;
      continue;
    }
    named.push_back(&m.entry);
    if (state_of(m, now) == member_state::down)
      down.push_back(&m.entry);
  }
  if (named.size() == 1)
    return named.front();
  if (named.empty()) {
    if (decided != nullptr)
      return decided;
    return make_error(errc::not_found, "no member named " + name);
  }
  if (down.size() == 1)
    return down.front();
  std::string ids;
  for (auto* e : named)
    ids += (ids.empty() ? "" : ", ") + e->node_id;
  return make_error(errc::bad_request, "several members are named " + name + " (" + ids
                                         + ") and not exactly one of them is down");
}

/// The one way a decommission starts (a client's request, through the coordinator).
caf::result<caf::ok_atom> on_leave(self_ptr self, const std::string& name) {
  auto& st = self->state;
  auto found = find_to_decommission(st, name);
  if (!found)
    return std::move(found.error());
  roster_entry* entry = *found;
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
    save(st);
    gossip(self);
    detect(self);
    notify_replication(self);
  }
  return caf::ok_atom::value;
}


/// The roster as saved before this start. This node keeps its decisions (a decommissioned node
/// stays so) and takes a newer incarnation; every other member is suspect until heard from, and
/// down after down_after, so nothing is collected while one of them may hold an older version.
void restore(membership_state& st, const std::vector<roster_entry>& saved) {
  auto now = clock::now();
  for (auto& e : saved) {
    if (e.node_id == st.ctx->node_id) {
      st.self_entry.incarnation = std::max(st.self_entry.incarnation, e.incarnation + 1);
      st.self_entry.admin = e.admin;
      st.self_entry.admin_version = e.admin_version;
      continue;
    }
    auto& m = st.members.emplace(e.node_id, make_member(*st.ctx, e)).first->second;
    m.detector.heard(now); // the silence counts from the start
    m.last_state = state_of(m, now);
    if (e.admin != admin_state::left)
      learn_address(st, e.address, false);
  }
  if (!st.members.empty())
    DFS_INFO("membership", "roster: " << st.members.size() << " members known from "
                                      << roster_path(st.ctx->config.data_dir)
                                      << "; each is suspect until heard from");
  if (self_left(st))
    DFS_ERROR("membership", self_refusal_text(st));
}

} // namespace

membership_actor::behavior_type
membership(membership_actor::stateful_pointer<membership_state> self, node_context_ptr ctx,
           std::vector<roster_entry> saved) {
  drop_unexpected_messages(self);
  auto& st = self->state;
  st.ctx = ctx;
  st.self_entry = {ctx->node_id, ctx->config.name, ctx->config.listen.to_string(),
                   ctx->clock->now(), admin_state::active, 0};
  restore(st, saved);
  save(st); // this start's incarnation
  for (auto& address : ctx->config.bootstrap)
    learn_address(st, address.to_string(), false);
  self->set_down_handler([=](caf::down_msg& msg) { on_connection_down(self, msg.source); });
  self->set_exit_handler([=](caf::exit_msg& msg) {
    auto& st = self->state;
    for (auto& connection : st.dialed)
      self->send_exit(connection, msg.reason);
    for (auto& [id, m] : st.members)
      if (m.connection)
        self->send_exit(m.connection, msg.reason);
    self->quit(msg.reason);
  });
  return {
    [=](peer_up_atom, const peer_info& info, const caf::actor& connection,
        bool outbound) -> caf::result<bool> {
      if (outbound)
        note_dialled_node(self->state, connection, info.node_id);
      return on_peer_up(self, info, connection, outbound);
    },
    [=](peer_down_atom, const caf::actor& connection) {
      on_connection_down(self, connection.address());
    },
    [=](heartbeat_atom, const std::string& node_id, uint64_t peer_wall_ms) {
      auto i = self->state.members.find(node_id);
      if (i == self->state.members.end())
        return;
      i->second.detector.heard(clock::now());
      // Both clocks read within a heartbeat's trip: milliseconds against a bound of seconds.
      i->second.clock_ahead_ms = static_cast<int64_t>(peer_wall_ms)
                                 - static_cast<int64_t>(self->state.ctx->clock->wall());
      judge_clock(self);
    },
    [=](gossip_atom, const std::string& sender, const std::vector<roster_entry>& entries,
        const std::vector<std::string>& waits) {
      on_gossip(self, sender, entries, waits);
    },
    [=](members_atom) { return member_views(self->state); },
    [=](leave_atom, const std::string& name) { return on_leave(self, name); },
    [=](left_atom) {
      auto& st = self->state;
      if (st.self_entry.admin != admin_state::leaving)
        return;
      st.self_entry.admin = admin_state::left;
      st.self_entry.admin_version = st.ctx->clock->now();
      DFS_INFO("membership", "this node handed all its data over and has left the cluster");
      save(st);
      gossip(self);
    },
    [=](tick_atom) {
      auto& st = self->state;
      detect(self);
      judge_clock(self);
      dial_missing(self);
      if (++st.ticks % gossip_every_ticks == 0)
        gossip(self);
      self->delayed_send(self, st.ctx->heartbeat_interval(), tick_atom::value);
    },
  };
}

} // namespace dfs
