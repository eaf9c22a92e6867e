#include "actors/peer_connection.hpp"

#include "common/buffer_pool.hpp"
#include "common/host_port.hpp"
#include "common/unexpected_messages.hpp"

#include "actors/get_session.hpp"
#include "actors/permissions.hpp"
#include "actors/put_session.hpp"
#include "actors/users.hpp"
#include "common/log.hpp"

#include <caf/io/receive_policy.hpp>
#include <caf/io/system_messages.hpp>

#include <algorithm>
#include <utility>

namespace dfs {

// -- inbound_connections ----------------------------------------------------------------------

void inbound_connections::forget_pending(pending_list::iterator i) {
  if (auto n = pending_per_source_.find(i->source); n != pending_per_source_.end() && --n->second == 0)
    pending_per_source_.erase(n);
  pending_index_.erase(i->who);
  pending_.erase(i);
}

inbound_connections::pending_list::iterator
inbound_connections::oldest_from(const std::string& source) {
  return std::find_if(pending_.begin(), pending_.end(),
                      [&](const pending_connection& p) { return p.source == source; });
}

std::optional<inbound_connections::eviction>
inbound_connections::accepted(const caf::actor_addr& who, const std::string& source) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (pending_index_.count(who) || established_.count(who))
    return std::nullopt;
  pending_.push_back({who, source});
  pending_index_.emplace(who, std::prev(pending_.end()));
  auto from_source = ++pending_per_source_[source];
  std::string victim_source;
  if (from_source > max_pending_per_source_) {
    victim_source = source;
  } else if (pending_.size() > max_pending_) {
    // The source with the most handshakes pending gives up its oldest (the oldest overall
    // among equals: the list is in order of arrival).
    size_t most = 0;
    for (auto& p : pending_)
      if (auto n = pending_per_source_[p.source]; n > most)
        most = n, victim_source = p.source;
  } else {
    return std::nullopt;
  }
  auto victim = oldest_from(victim_source);
  eviction evicted{victim->who, from_source > max_pending_per_source_};
  forget_pending(victim);
  return evicted;
}

bool inbound_connections::authenticated(const caf::actor_addr& who, bool is_client) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = pending_index_.find(who); i != pending_index_.end())
    forget_pending(i->second);
  if (established_.count(who))
    return true;
  if (is_client && established_.size() >= max_connections_)
    return false;
  established_.emplace(who, is_client);
  return true;
}

void inbound_connections::closed(const caf::actor_addr& who) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (auto i = pending_index_.find(who); i != pending_index_.end())
    forget_pending(i->second);
  established_.erase(who);
}

size_t inbound_connections::pending() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return pending_.size();
}

size_t inbound_connections::established() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return established_.size();
}

namespace {

using caf::io::receive_policy;

/// How much the broker asks the socket for at a time once the peer is authenticated. Before,
/// it asks for little: CAF keeps a read buffer of this size per connection, and a stranger's
/// idle connection must cost little.
constexpr size_t read_piece_size = 256 * 1024;
constexpr size_t handshake_read_piece_size = 4096;

/// How long the broker waits for this node's own actors to answer a request it relays. They
/// bound their own work (the store answers after its group commit; the coordinator's steps to
/// the replicas each have [cluster] request_timeout), so these only catch an actor that never
/// answers, and are longer than a request_timeout for that reason.
constexpr auto store_or_coordinator_deadline = std::chrono::seconds{120};
constexpr auto users_deadline = std::chrono::seconds{60};
constexpr auto membership_deadline = std::chrono::seconds{30};

/// A timer message to ourselves, sent anonymously: in CAF 0.17.6 a delayed message whose
/// sender is the broker itself and that arrives after the broker quit leaks the broker (seen by
/// LeakSanitizer, about 2 KiB per closed connection).
template <class Duration, class... Ts>
void send_later(peer_connection_broker* self, Duration delay, Ts&&... xs) {
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), delay, std::forward<Ts>(xs)...);
}

/// Lines about connections closed at a limit or refused in the handshake, and about refused
/// requests: each kind at most log::limiter::per_second a second, so that a flood of
/// connections or frames does not become a flood of log lines. The next line written says how
/// many were left out.
using log_limiter = log::limiter;

log_limiter handshake_timeout_lines;
log_limiter eviction_lines;
log_limiter refusal_lines;
log_limiter idle_lines;
log_limiter buffer_lines;
log_limiter handshake_failure_lines;
log_limiter malformed_lines;

std::string seconds_text(std::chrono::seconds s) { return std::to_string(s.count()) + " s"; }

bool check_buffer_limit(peer_connection_broker* self);

/// Sends what the TLS endpoint produced: records it wrote straight into the write buffer
/// (its ciphertext sink, once the handshake is done) and what it kept inside (handshake
/// messages, an alert before that).
void flush_tls(peer_connection_broker* self) {
  auto& st = self->state;
  if (st.output_closed || !st.tls || !self->valid(st.hdl))
    return;
  auto& buf = self->wr_buf(st.hdl);
  if (st.tls->pending_ciphertext() > 0)
    st.tls->take_ciphertext(buf);
  if (!buf.empty()) {
    self->flush(st.hdl);
    check_buffer_limit(self);
  }
}

/// Sends the bytes of one frame, given in consecutive parts: through TLS when it is on,
/// straight into the connection's write buffer when it is off.
void send_frame_parts(peer_connection_broker* self,
                      std::initializer_list<std::pair<const char*, size_t>> parts) {
  auto& st = self->state;
  // Nothing can be sent before TLS starts (an inbound connection's endpoint is made when the
  // first bytes arrive), and nothing once the output is closed.
  if (st.output_closed || st.tls_deferred)
    return;
  if (st.tls) {
    if (st.tls->failed())
      return;
    // The records go into the write buffer 16 KiB at a time: room for all of them at once
    // spares a chain of reallocations, each copying what is there (about the frame again).
    // Each part starts a record of its own. Growing at least twofold keeps a buffer that
    // already queues frames (a slow socket) from being copied again for every frame.
    size_t need = 0;
    for (auto& part : parts)
      need += tls_ciphertext_bound(part.second);
    auto& buf = self->wr_buf(st.hdl);
    reserve_growing(buf, buf.size() + need);
    for (auto& [data, size] : parts)
      st.tls->write_plaintext(data, size);
    return flush_tls(self);
  }
  auto& buf = self->wr_buf(st.hdl);
  for (auto& [data, size] : parts)
    buf.insert(buf.end(), data, data + size);
  self->flush(st.hdl);
  check_buffer_limit(self);
}

void write_error(peer_connection_broker* self, uint64_t request_id, errc code,
                 const std::string& message);

/// Why a frame of `size` bytes cannot be sent: the other side's decoder would refuse its header
/// and close the connection, so the request gets this error instead and the link stays.
std::string too_large_reason(const char* what, frame_type type, size_t size) {
  return std::string{what} + " too large: the " + to_string(type) + " would be "
         + std::to_string(size) + " bytes, over the frame limit of "
         + std::to_string(max_frame_payload) + " bytes";
}

void write_frame(peer_connection_broker* self, frame_type type, uint64_t request_id,
                 const char* payload, size_t size) {
  if (size > max_frame_payload) {
    auto reason = too_large_reason("answer", type, size);
    DFS_WARN(self->state.who, "request #" << request_id << ": " << reason);
    return write_error(self, request_id, errc::bad_request, reason);
  }
  byte_buffer header;
  append_frame_header(header, type, request_id, size);
  send_frame_parts(self, {{header.data(), header.size()}, {payload, size}});
}

void write_frame(peer_connection_broker* self, frame_type type, uint64_t request_id,
                 const byte_buffer& payload) {
  write_frame(self, type, request_id, payload.data(), payload.size());
}

void write_error(peer_connection_broker* self, uint64_t request_id, errc code,
                 const std::string& message) {
  write_frame(self, frame_type::error, request_id,
              to_payload(error_msg{static_cast<uint8_t>(code), message}));
}

void write_error(peer_connection_broker* self, uint64_t request_id, const caf::error& err) {
  // With the version a superseded error carries: the writing node must go past it.
  write_frame(self, frame_type::error, request_id, to_payload(to_error_msg(err)));
}

/// Ends this connection, and only this one: tells the peer why (if it can), fails every
/// request still waiting for the peer, and stops the sessions it served. Closes at a limit
/// pass the limiter of their kind, which keeps a flood from flooding the log.
void close_connection(peer_connection_broker* self, errc code, const std::string& reason,
                      bool tell_peer, log_limiter* lines = nullptr) {
  auto& st = self->state;
  if (st.closing)
    return;
  st.closing = true;
  bool was_peer_link = st.authenticated && st.peer.role == peer_role::peer;
  if (tell_peer)
    write_error(self, 0, code, reason);
  // Anyone can connect and fail the handshake: those lines are throttled like a limit's.
  if (!lines && st.hs && code != errc::none)
    lines = &handshake_failure_lines;
  uint64_t left_out = 0;
  if (lines && !lines->admit(left_out)) {
    // counted, and mentioned by the next line of this kind
  } else if (code == errc::none) {
    DFS_DEBUG(st.who, "closing: " << reason);
  } else {
    DFS_WARN(st.who, "closing: " << reason << log::left_out_note(left_out));
  }
  if (st.inbound)
    st.inbound->closed(self->address());
  for (auto& [id, req] : st.pending)
    req.promise.deliver(make_error(errc::unavailable, "connection to " + st.peer.node_name
                                                        + " lost: " + reason));
  st.pending.clear();
  // Requests that still reach this broker while it terminates fail at once, not at a timeout.
  st.authenticated = false;
  for (auto& [id, session] : st.sessions)
    self->send_exit(session.actor, caf::exit_reason::user_shutdown);
  st.sessions.clear();
  if (st.tls && !st.tls->failed() && !st.output_closed) {
    st.tls->close();
    flush_tls(self);
  }
  st.output_closed = true;
  if (st.tls)
    st.tls->set_ciphertext_sink(nullptr); // the write buffer goes with the connection
  self->close(st.hdl);
  if (!was_peer_link)
    return self->quit();
  // A peer link lingers before it terminates: CAF 0.17.6 neither answers nor bounces a message
  // sent to a terminated broker (checked with a standalone program), so a put session or a
  // replication pass still holding this handle would wait out its whole request timeout. While
  // it lingers, every request fails at once (authenticated is false). Membership hears of the
  // close now rather than from its monitor at the end.
  self->send(caf::actor_cast<caf::actor>(st.ctx->membership), peer_down_atom::value,
             caf::actor_cast<caf::actor>(self));
  send_later(self, 2 * st.ctx->request_timeout, linger_end_atom::value);
}

/// Closes the connection when it holds more than [node] max_buffered_bytes: a peer that
/// sends a frame it never finishes while it reads nothing, or one that asks for more than it
/// reads. What waits to be sent is dropped. False when it closed the connection.
bool check_buffer_limit(peer_connection_broker* self) {
  auto& st = self->state;
  if (st.closing)
    return !st.output_closed;
  auto held = buffered_bytes(self);
  auto limit = st.ctx->config.max_buffered_bytes;
  if (held <= limit)
    return true;
  st.output_closed = true;
  if (self->valid(st.hdl))
    std::vector<char>{}.swap(self->wr_buf(st.hdl));
  close_connection(self, errc::unavailable,
                   "buffered more than " + std::to_string(limit)
                     + " bytes ([node] max_buffered_bytes): " + std::to_string(held)
                     + " bytes held",
                   false, &buffer_lines);
  return false;
}

// -- the replica proxy: local requests out, remote responses in ---------------

caf::response_promise forward_request(peer_connection_broker* self, frame_type type,
                                      const byte_buffer& payload, frame_type expected) {
  auto& st = self->state;
  auto rp = self->make_response_promise();
  if (!st.authenticated || st.peer.role != peer_role::peer) {
    rp.deliver(make_error(errc::unavailable, "no authenticated peer on this connection"));
    return rp;
  }
  if (payload.size() > max_frame_payload) {
    rp.deliver(make_error(errc::bad_request, too_large_reason("request", type, payload.size())));
    return rp;
  }
  auto id = ++st.last_request_id;
  st.pending.emplace(id, peer_connection_state::pending_request{rp, expected, std::chrono::steady_clock::now()});
  write_frame(self, type, id, payload);
  return rp;
}

void on_response(peer_connection_broker* self, byte_buffer& payload) {
  auto& st = self->state;
  auto i = st.pending.find(st.header.request_id);
  if (i == st.pending.end())
    return; // the requester gave up (timeout) or never existed: nothing to answer
  auto request = std::move(i->second);
  st.pending.erase(i);
  auto& rp = request.promise;
  auto type = st.header.type;
  auto malformed = [&] {
    rp.deliver(make_error(errc::protocol, std::string{"malformed "} + to_string(type)
                                            + " from " + st.peer.node_name));
  };
  if (type == frame_type::error) {
    auto err = from_payload<error_msg>(payload);
    if (!err)
      return malformed();
    return rp.deliver(from_error_msg(*err));
  }
  if (type != request.expected)
    return rp.deliver(make_error(errc::protocol, std::string{"expected "} + to_string(request.expected)
                                                   + ", got " + to_string(type)));
  switch (type) {
    case frame_type::ok:
      return rp.deliver(caf::ok_atom::value);
    case frame_type::chunk_data:
      return rp.deliver(std::move(payload));
    case frame_type::has_chunks_result:
    case frame_type::touch_chunks_result: {
      auto msg = from_payload<has_chunks_result_msg>(payload);
      return msg ? rp.deliver(std::move(msg->present)) : malformed();
    }
    case frame_type::manifest_data: {
      auto msg = from_payload<manifest_msg>(payload);
      if (!msg)
        return malformed();
      // A version too far ahead of our wall clock is not observed (the clock stays bounded);
      // a write that must go past it then fails with a clear error instead.
      st.ctx->clock->observe(msg->value.version.hlc);
      return rp.deliver(std::move(msg->value));
    }
    case frame_type::manifest_list: {
      auto msg = from_payload<manifest_list_msg>(payload);
      return msg ? rp.deliver(std::move(msg->values)) : malformed();
    }
    case frame_type::inventory_result: {
      auto msg = from_payload<inventory_result_msg>(payload);
      return msg ? rp.deliver(std::move(msg->chunks), std::move(msg->manifests), msg->bytes)
                 : malformed();
    }
    default:
      return malformed();
  }
}

/// Forgets requests the peer never answered: their requesters gave up after request_timeout,
/// and a silent peer must not make this table grow for as long as the connection lasts.
void expire_pending(peer_connection_broker* self) {
  auto& st = self->state;
  auto limit = std::chrono::steady_clock::now() - st.ctx->request_timeout;
  for (auto i = st.pending.begin(); i != st.pending.end();) {
    if (i->second.sent < limit) {
      i->second.promise.deliver(
        make_error(errc::timeout, st.peer.node_name + " did not answer in time"));
      i = st.pending.erase(i);
    } else {
      ++i;
    }
  }
}

// -- serving a peer: remote requests in, local store answers out --------------

/// A request whose payload does not decode: the frame itself was whole, so the connection
/// is still in step; only this request is refused (a peer's link carries every other put).
void refuse_malformed_request(peer_connection_broker* self) {
  auto& st = self->state;
  std::string reason = std::string{"malformed "} + to_string(st.header.type) + " request";
  uint64_t left_out = 0;
  if (malformed_lines.admit(left_out))
    DFS_WARN(st.who, "refused a " << reason << log::left_out_note(left_out));
  write_error(self, st.header.request_id, errc::protocol, reason);
}

void on_peer_request(peer_connection_broker* self, byte_buffer& payload) {
  auto& st = self->state;
  auto id = st.header.request_id;
  auto store = st.ctx->store;
  auto timeout = store_or_coordinator_deadline;
  auto reply_error = [self, id](caf::error& err) { write_error(self, id, err); };
  auto bad = [&] { refuse_malformed_request(self); };
  switch (st.header.type) {
    case frame_type::put_chunk: {
      // The chunk's id travels after its bytes, so the bytes can be handed on without a copy.
      if (payload.size() < 32)
        return bad();
      chunk_id cid;
      std::memcpy(cid.bytes.data(), payload.data() + payload.size() - 32, 32);
      payload.resize(payload.size() - 32);
      self->request(store, timeout, put_chunk_atom::value, cid, std::move(payload))
        .then([=](caf::ok_atom) { write_frame(self, frame_type::ok, id, nullptr, 0); }, reply_error);
      return;
    }
    case frame_type::get_chunk: {
      if (payload.size() != 32)
        return bad();
      chunk_id cid;
      std::memcpy(cid.bytes.data(), payload.data(), 32);
      self->request(store, timeout, get_chunk_atom::value, cid)
        .then(
          [=](byte_buffer& bytes) {
            write_frame(self, frame_type::chunk_data, id, bytes);
            give_back(std::move(bytes)); // copied into the write buffer: the next read's buffer
          },
          reply_error);
      return;
    }
    case frame_type::has_chunks:
    case frame_type::touch_chunks: {
      auto msg = from_payload<has_chunks_msg>(payload);
      if (!msg)
        return bad();
      auto answer = [=](std::vector<bool>& present, frame_type type) {
        write_frame(self, type, id, to_payload(has_chunks_result_msg{std::move(present)}));
      };
      if (st.header.type == frame_type::touch_chunks)
        self->request(store, timeout, touch_chunks_atom::value, std::move(msg->ids))
          .then([=](std::vector<bool>& p) { answer(p, frame_type::touch_chunks_result); },
                reply_error);
      else
        self->request(store, timeout, has_chunks_atom::value, std::move(msg->ids))
          .then([=](std::vector<bool>& p) { answer(p, frame_type::has_chunks_result); },
                reply_error);
      return;
    }
    case frame_type::put_manifest: {
      auto msg = from_payload<manifest_msg>(payload);
      if (!msg)
        return bad();
      // Bounded: a version too far ahead is not observed, and the store refuses it
      // (errc::clock_skew) by the same bound.
      st.ctx->clock->observe(msg->value.version.hlc);
      self->request(store, timeout, put_manifest_atom::value, std::move(msg->value))
        .then([=](caf::ok_atom) { write_frame(self, frame_type::ok, id, nullptr, 0); }, reply_error);
      return;
    }
    case frame_type::get_manifest: {
      auto msg = from_payload<key_msg>(payload);
      if (!msg)
        return bad();
      self->request(store, timeout, get_manifest_atom::value, std::move(msg->key))
        .then(
          [=](manifest& m) {
            write_frame(self, frame_type::manifest_data, id, to_payload(manifest_msg{std::move(m)}));
          },
          reply_error);
      return;
    }
    case frame_type::list_manifests: {
      auto msg = from_payload<prefix_msg>(payload);
      if (!msg)
        return bad();
      self->request(store, timeout, list_manifests_atom::value, std::move(msg->prefix))
        .then(
          [=](std::vector<manifest>& ms) {
            write_frame(self, frame_type::manifest_list, id,
                        to_payload(manifest_list_msg{std::move(ms)}));
          },
          reply_error);
      return;
    }
    case frame_type::inventory: {
      self->request(store, timeout, inventory_atom::value)
        .then(
          [=](std::vector<chunk_id>& chunks, std::vector<manifest>& manifests, uint64_t bytes) {
            write_frame(self, frame_type::inventory_result, id,
                        to_payload(inventory_result_msg{std::move(chunks), std::move(manifests), bytes}));
          },
          reply_error);
      return;
    }
    case frame_type::peers: {
      auto msg = from_payload<peers_msg>(payload);
      if (!msg)
        return bad();
      self->send(st.ctx->membership, gossip_atom::value, st.peer.node_id,
                 std::move(msg->roster.entries), std::move(msg->waiting_for));
      return;
    }
    case frame_type::heartbeat: {
      auto msg = from_payload<heartbeat_msg>(payload);
      if (!msg)
        return bad();
      self->send(st.ctx->membership, heartbeat_atom::value, st.peer.node_id, msg->wall_ms);
      return;
    }
    case frame_type::users: {
      auto msg = from_payload<user_list_msg>(payload);
      if (!msg)
        return bad();
      if (st.ctx->users)
        self->send(st.ctx->users, users_atom::value, std::move(msg->records));
      return;
    }
    case frame_type::ok:
    case frame_type::chunk_data:
    case frame_type::has_chunks_result:
    case frame_type::touch_chunks_result:
    case frame_type::manifest_data:
    case frame_type::manifest_list:
    case frame_type::inventory_result:
    case frame_type::error:
      return on_response(self, payload);
    default:
      return close_connection(self, errc::protocol,
                              std::string{"unexpected "} + to_string(st.header.type)
                                + " frame from a peer",
                              true);
  }
}

// -- serving a client ------------------------------------------------------------

template <class Result>
void answer_from_coordinator(peer_connection_broker* self, uint64_t id, frame_type response,
                             caf::message request) {
  self->request(caf::actor_cast<caf::actor>(self->state.ctx->coordinator), store_or_coordinator_deadline,
                std::move(request))
    .then([=](Result& result) { write_frame(self, response, id, to_payload(result)); },
          [=](caf::error& err) { write_error(self, id, err); });
}

/// A put or get may start under this request id: it is not in use, and fewer than [node]
/// max_sessions_per_connection sessions are open. If not, the client is told for this request
/// and the connection stays up.
bool may_start_session(peer_connection_broker* self, uint64_t id) {
  auto& st = self->state;
  if (st.sessions.count(id)) {
    write_error(self, id, errc::bad_request, "request id already in use");
    return false;
  }
  auto limit = st.ctx->config.max_sessions_per_connection;
  if (st.sessions.size() >= limit) {
    write_error(self, id, errc::unavailable,
                "too many transfers on this connection: [node] max_sessions_per_connection = "
                  + std::to_string(limit) + " puts and gets are open");
    return false;
  }
  return true;
}

void start_session(peer_connection_broker* self, uint64_t id, caf::actor session, bool is_put) {
  auto& st = self->state;
  // Linked: a session ends with its connection; it ends normally by itself when done.
  self->link_to(session);
  self->monitor(session);
  auto& entry = st.sessions[id];
  entry.actor = std::move(session);
  entry.is_put = is_put;
}

/// A put_data frame: goes to its put session if the client had credit for it. Data beyond the
/// credit would pile up in the session's mailbox as fast as the client can send: the client
/// breaks the protocol, and its connection is closed.
void on_put_data(peer_connection_broker* self, uint64_t id, byte_buffer& payload) {
  auto& st = self->state;
  auto i = st.sessions.find(id);
  if (i == st.sessions.end())
    return; // the put already failed and the client was told; drop what is still in flight
  auto& session = i->second;
  if (!session.is_put) {
    DFS_DEBUG(st.who, "dropped a put_data frame for request #" << id << ", which is a get");
    return;
  }
  bool final = (st.header.flags & flag_final) != 0;
  bool early = std::exchange(session.early_frame_allowed, false) && final
               && payload.size() <= max_early_put_size;
  if (session.put_credit > 0)
    --session.put_credit;
  else if (!early)
    return close_connection(self, errc::protocol,
                            "put data beyond credit: request #" + std::to_string(id)
                              + " sent a data frame the node had not granted (put_ready's credit "
                                "plus put_credit)",
                            true);
  self->send(session.actor, data_atom::value, std::move(payload), final);
}

/// A frame a session sends its client: the put credit it grants is what on_put_data allows.
void note_session_frame(peer_connection_broker* self, frame_type type, uint64_t id,
                        const byte_buffer& payload) {
  if (type != frame_type::put_ready && type != frame_type::put_credit)
    return;
  auto i = self->state.sessions.find(id);
  if (i == self->state.sessions.end())
    return;
  if (type == frame_type::put_ready) {
    if (auto msg = from_payload<put_ready_msg>(payload))
      i->second.put_credit += msg->credit;
  } else if (auto msg = from_payload<credit_msg>(payload)) {
    i->second.put_credit += msg->frames;
  }
}

/// Looks the connection's user up again: a user removed since the last request is refused and
/// the connection closed; changed limits apply from this request on. False when closed.
bool user_still_known(peer_connection_broker* self) {
  auto& st = self->state;
  if (!st.user)
    return true;
  auto current = st.ctx->users_directory->lookup(st.user->access_key);
  if (!current) {
    close_connection(self, errc::auth_failed,
                     "unknown or revoked credential: user " + st.user->name + " was removed",
                     true);
    return false;
  }
  st.user = std::move(current);
  return true;
}

/// Answers request `id` with a forbidden error when the connection's credential does not
/// allow it. True when it does.
bool permitted(peer_connection_broker* self, uint64_t id, const std::string& key = {}) {
  auto& st = self->state;
  auto why = refusal(st.user ? &*st.user : nullptr, st.header.type, key);
  if (!why)
    return true;
  write_error(self, id, errc::forbidden, *why);
  return false;
}

/// User management: the users actor answers; the answer goes back as `response`.
template <class Result>
void answer_from_users(peer_connection_broker* self, uint64_t id, frame_type response,
                       caf::message request) {
  if (!self->state.ctx->users)
    return write_error(self, id, errc::unavailable, "this node keeps no user registry");
  self->request(self->state.ctx->users, users_deadline, std::move(request))
    .then([=](Result& result) { write_frame(self, response, id, to_payload(result)); },
          [=](caf::error& err) { write_error(self, id, err); });
}

void on_client_request(peer_connection_broker* self, byte_buffer& payload) {
  auto& st = self->state;
  auto id = st.header.request_id;
  auto bad = [&] { refuse_malformed_request(self); };
  if (!user_still_known(self))
    return;
  switch (st.header.type) {
    case frame_type::put_begin: {
      auto msg = from_payload<put_begin_msg>(payload);
      if (!msg)
        return bad();
      if (!permitted(self, id, msg->key))
        return;
      if (!may_start_session(self, id))
        return;
      return start_session(self, id,
                           self->spawn(put_session, st.ctx, caf::actor_cast<caf::actor>(self), id,
                                       std::move(msg->key), msg->size),
                           true);
    }
    case frame_type::put_data:
      return on_put_data(self, id, payload);
    case frame_type::get: {
      auto msg = from_payload<key_msg>(payload);
      if (!msg)
        return bad();
      if (!permitted(self, id, msg->key))
        return;
      if (!may_start_session(self, id))
        return;
      return start_session(self, id,
                           self->spawn(get_session, st.ctx, caf::actor_cast<caf::actor>(self), id,
                                       std::move(msg->key)),
                           false);
    }
    case frame_type::credit: {
      auto msg = from_payload<credit_msg>(payload);
      if (!msg)
        return bad();
      auto i = st.sessions.find(id);
      if (i != st.sessions.end() && !i->second.is_put)
        self->send(i->second.actor, credit_atom::value, msg->frames);
      return;
    }
    case frame_type::rm: {
      auto msg = from_payload<key_msg>(payload);
      if (!msg)
        return bad();
      if (!permitted(self, id, msg->key))
        return;
      self->request(caf::actor_cast<caf::actor>(st.ctx->coordinator), store_or_coordinator_deadline,
                    rm_atom::value, std::move(msg->key))
        .then(
          [=](version& removed) {
            write_frame(self, frame_type::rm_result, id,
                        to_payload(rm_result_msg{removed.to_string()}));
          },
          [=](caf::error& err) { write_error(self, id, err); });
      return;
    }
    case frame_type::ls: {
      auto msg = from_payload<prefix_msg>(payload);
      if (!msg)
        return bad();
      auto prefix = narrowed_ls_prefix(st.user ? &*st.user : nullptr, msg->prefix);
      if (!prefix) // nothing this user may see can match
        return write_frame(self, frame_type::ls_result, id, to_payload(ls_result_msg{}));
      return answer_from_coordinator<ls_result_msg>(
        self, id, frame_type::ls_result, caf::make_message(ls_atom::value, std::move(*prefix)));
    }
    case frame_type::stat: {
      auto msg = from_payload<key_msg>(payload);
      if (!msg)
        return bad();
      if (!permitted(self, id, msg->key))
        return;
      return answer_from_coordinator<stat_result_msg>(
        self, id, frame_type::stat_result, caf::make_message(stat_atom::value, std::move(msg->key)));
    }
    case frame_type::decommission: {
      auto msg = from_payload<key_msg>(payload);
      if (!msg)
        return bad();
      if (!permitted(self, id))
        return;
      self->request(caf::actor_cast<caf::actor>(st.ctx->coordinator), store_or_coordinator_deadline,
                    leave_atom::value, std::move(msg->key))
        .then([=](caf::ok_atom) { write_frame(self, frame_type::ok, id, nullptr, 0); },
              [=](caf::error& err) { write_error(self, id, err); });
      return;
    }
    case frame_type::status: {
      if (!payload.empty())
        return bad();
      return answer_from_coordinator<status_result_msg>(self, id, frame_type::status_result,
                                                        caf::make_message(status_atom::value));
    }
    case frame_type::user_add: {
      auto msg = from_payload<user_add_msg>(payload);
      if (!msg)
        return bad();
      if (!permitted(self, id))
        return;
      return answer_from_users<user_record>(
        self, id, frame_type::user_result, caf::make_message(user_add_atom::value, std::move(*msg)));
    }
    case frame_type::user_rm: {
      auto msg = from_payload<user_name_msg>(payload);
      if (!msg)
        return bad();
      if (!permitted(self, id))
        return;
      if (!st.ctx->users)
        return write_error(self, id, errc::unavailable, "this node keeps no user registry");
      self->request(st.ctx->users, users_deadline, user_rm_atom::value,
                    std::move(msg->name))
        .then([=](caf::ok_atom) { write_frame(self, frame_type::ok, id, nullptr, 0); },
              [=](caf::error& err) { write_error(self, id, err); });
      return;
    }
    case frame_type::user_ls: {
      if (!payload.empty())
        return bad();
      if (!permitted(self, id))
        return;
      return answer_from_users<user_list_msg>(self, id, frame_type::user_list,
                                              caf::make_message(user_ls_atom::value));
    }
    default:
      return close_connection(self, errc::protocol,
                              std::string{"unexpected "} + to_string(st.header.type)
                                + " frame from a client",
                              true);
  }
}

// -- handshake ---------------------------------------------------------------------

/// The role and the permissions come from the key the peer proved, never from its hello: the
/// node secret makes a peer or an administrator; a user credential makes a client with its
/// record's limits, if the registry still knows it. False when the connection was closed.
bool admit_credential(peer_connection_broker* self) {
  auto& st = self->state;
  auto refuse = [&](errc code, const std::string& reason) {
    close_connection(self, code, reason, true, &refusal_lines);
    return false;
  };
  // With TLS the key is the one the TLS identity named (a server checked it); the hello must
  // name the same. Without TLS, the hello named it and the proof was made with it.
  const std::string& access_key = st.peer.access_key;
  if (st.tls && st.tls->side() == tls_side::server && st.tls->user_access_key() != access_key)
    return refuse(errc::auth_failed, "the hello's access key does not match the TLS identity");
  if (access_key.empty())
    return true;
  if (st.peer.role != peer_role::client) // the handshake refuses it already; never a member
    return refuse(errc::forbidden, "permission denied: a user credential cannot act as a node");
  st.user = st.ctx->users_directory->lookup(access_key);
  if (!st.user)
    return refuse(errc::auth_failed,
                  "unknown or revoked credential (access key " + access_key + ")");
  return true;
}

void on_authenticated(peer_connection_broker* self) {
  auto& st = self->state;
  st.peer = st.hs->peer();
  st.hs.reset();
  // The TLS identity was proven with the secret; the hello must not claim to be someone else.
  if (st.tls && st.tls->side() == tls_side::server && st.tls->peer_sender_id() != st.peer.node_id)
    return close_connection(self, errc::auth_failed,
                            "the TLS identity " + st.tls->peer_sender_id()
                              + " does not match the hello's node id " + st.peer.node_id,
                            true);
  if (!admit_credential(self))
    return;
  bool is_client = st.peer.role == peer_role::client;
  if (st.inbound && !st.inbound->authenticated(self->address(), is_client)) {
    st.who = "client " + st.address;
    return close_connection(self, errc::unavailable,
                            "too many connections: [node] max_connections = "
                              + std::to_string(st.inbound->max_connections())
                              + " authenticated connections are open",
                            true, &refusal_lines);
  }
  st.authenticated = true;
  st.decoder.set_max_payload(max_frame_payload);
  self->configure_read(st.hdl, receive_policy::at_most(read_piece_size));
  st.last_frame = self->clock().now();
  if (st.ctx->config.idle_timeout.count() > 0)
    send_later(self, st.ctx->config.idle_timeout, idle_check_atom::value);
  if (is_client) {
    st.who = "client " + st.address;
    if (st.user)
      st.who += " user " + st.user->name;
    DFS_DEBUG(st.who, "client authenticated");
    return;
  }
  if (st.ctx->users) // user records both ways: the peer catches up with ours, we with its
    self->send(st.ctx->users, users_link_atom::value, caf::actor_cast<caf::actor>(self));
  st.who = "peer_connection " + st.peer.node_name + " " + st.address;
  DFS_INFO(st.who, "authenticated peer " << st.peer.node_name << " (" << st.peer.node_id << ") at "
                                         << st.peer.listen_address
                                         << (st.outbound ? ", dialed by us" : ", dialed by it"));
  self->send(self, heartbeat_atom::value);
  peer_info info{st.peer.node_id, st.peer.node_name, st.peer.listen_address};
  self->request(st.ctx->membership, membership_deadline, peer_up_atom::value, info,
                caf::actor_cast<caf::actor>(self), st.outbound)
    .then(
      [=](bool keep) {
        if (!keep)
          close_connection(self, errc::none, "duplicate connection to " + self->state.peer.node_name,
                           false);
      },
      // Membership refused the peer (a decommissioned node): it is told why.
      [=](caf::error& err) { close_connection(self, code_of(err), describe(err), true); });
}

void on_handshake_frame(peer_connection_broker* self, byte_buffer& payload) {
  auto& st = self->state;
  auto& hs = *st.hs;
  std::vector<handshake::outgoing_frame> out;
  hs.on_frame(st.header.type, payload, out);
  for (auto& f : out)
    write_frame(self, f.type, 0, f.payload);
  if (hs.failed())
    return close_connection(self, hs.error_code(), "handshake failed: " + hs.error_reason(), false);
  if (hs.done())
    on_authenticated(self);
}

// -- the decoder ------------------------------------------------------------------

void on_frame(peer_connection_broker* self, byte_buffer& payload) {
  auto& st = self->state;
  // A closed connection handles nothing more, whatever else the same read brought: once
  // closing, it is not authenticated and has no handshake either (a lingering peer link).
  if (st.closing)
    return;
  if (!st.authenticated)
    return on_handshake_frame(self, payload);
  DFS_TRACE(st.who, "received " << to_string(st.header.type) << " #" << st.header.request_id
                                << " (" << payload.size() << " bytes)");
  if (st.peer.role == peer_role::peer)
    on_peer_request(self, payload);
  else
    on_client_request(self, payload);
}

/// Handles each frame the decoder completes.
void on_decoded_frame(peer_connection_broker* self, const frame_header& header,
                      byte_buffer& payload) {
  self->state.header = header;
  if (self->state.authenticated)
    self->state.last_frame = self->clock().now();
  on_frame(self, payload);
  // quit() does not terminate the broker before this handler returns, and a peer link does
  // not quit at all while it lingers: closing is what says the rest of the read is not ours.
  if (self->state.closing || self->getf(caf::abstract_actor::is_terminated_flag))
    self->state.decoder.stop();
}

void on_decoder_error(peer_connection_broker* self) {
  if (!self->getf(caf::abstract_actor::is_terminated_flag))
    close_connection(self, errc::protocol, self->state.decoder.error(), true);
}

/// Plaintext: the bytes as they came from the socket.
void feed_decoder(peer_connection_broker* self, const char* data, size_t size) {
  if (!self->state.decoder.feed(data, size, [self](const frame_header& h, byte_buffer& payload) {
        on_decoded_frame(self, h, payload);
      }))
    on_decoder_error(self);
}

/// TLS: the bytes as the endpoint decrypts them, written straight into the frame.
void decode_frames(peer_connection_broker* self, const frame_decoder::byte_source& read) {
  if (!self->state.decoder.feed_from(read, [self](const frame_header& h, byte_buffer& payload) {
        on_decoded_frame(self, h, payload);
      }))
    on_decoder_error(self);
}

void on_tls_failure(peer_connection_broker* self) {
  auto& st = self->state;
  auto failure = st.tls->failure();
  std::string reason = st.tls->error().value_or("TLS failed");
  if (failure == tls_failure::not_tls) {
    reason = "refusing a plaintext peer: [cluster] tls = required here (" + reason + ")";
    // A TLS alert would be noise to a plaintext peer: the connection answers in plaintext from
    // here on, with an error frame that tells a client or node with TLS off why it is refused.
    st.tls.reset();
    write_error(self, 0, errc::protocol,
                "this node requires TLS ([cluster] tls = required) and this connection spoke "
                "plaintext");
  } else {
    flush_tls(self); // the alert tells the peer why
  }
  close_connection(self, failure == tls_failure::authentication ? errc::auth_failed : errc::protocol,
                   reason, false);
}

/// Sends hello (or, with TLS, queues it inside the endpoint until the TLS handshake is done).
void say_hello(peer_connection_broker* self) {
  auto hello = self->state.hs->start();
  write_frame(self, hello.type, 0, hello.payload);
}

/// An inbound connection's TLS endpoint is made when its first bytes arrive: a stranger that
/// connects and sends nothing costs no SSL object.
void start_tls(peer_connection_broker* self) {
  auto& st = self->state;
  st.tls = std::make_unique<tls_endpoint>(*st.ctx->tls,
                                          st.outbound ? tls_side::client : tls_side::server,
                                          st.ctx->node_id);
  // Records go straight into CAF's write buffer for this connection, which lives as long as
  // the connection (close_connection unsets it before closing).
  st.tls->set_ciphertext_sink(&self->wr_buf(st.hdl));
  st.tls_deferred = false;
  st.tls->start();
  flush_tls(self);
}

void on_bytes(peer_connection_broker* self, byte_buffer& bytes) {
  auto& st = self->state;
  if (st.closing)
    return;
  st.last_bytes = self->clock().now();
  bool first = st.first_bytes;
  st.first_bytes = false;
  if (st.tls_deferred) {
    start_tls(self);
    say_hello(self); // queued in TLS until its handshake is done
  }
  if (!st.tls) {
    if (first && looks_like_tls(bytes.data(), bytes.size()))
      return close_connection(self, errc::protocol,
                              "refusing a TLS peer: [cluster] tls = off here", false);
    feed_decoder(self, bytes.data(), bytes.size());
    if (!st.closing)
      check_buffer_limit(self);
    return;
  }
  // libssl reads the records from CAF's buffer and decrypts straight into the frame being
  // decoded: no copy of either in between.
  st.tls->feed_lent(bytes.data(), bytes.size(), [self] {
    auto& st = self->state;
    decode_frames(self, [&st](char* dst, size_t n) {
      return st.closing ? 0 : st.tls->read_into(dst, n);
    });
  });
  flush_tls(self);
  if (st.tls && st.tls->failed() && !self->getf(caf::abstract_actor::is_terminated_flag))
    on_tls_failure(self);
  if (!st.closing)
    check_buffer_limit(self);
}

} // namespace

size_t buffered_bytes(peer_connection_broker* self) {
  auto& st = self->state;
  size_t held = st.decoder.buffered();
  if (st.tls)
    held += st.tls->pending_ciphertext() + st.tls->queued_plaintext();
  // After a flush, CAF's write buffer holds what waits behind the piece the socket is sending.
  if (self->valid(st.hdl))
    held += self->wr_buf(st.hdl).size();
  return held;
}

caf::behavior peer_connection(peer_connection_broker* self, caf::io::connection_handle hdl,
                              node_context_ptr ctx, bool outbound,
                              inbound_connections_ptr inbound) {
  drop_unexpected_messages(self);
  auto& st = self->state;
  st.ctx = ctx;
  st.hdl = hdl;
  st.outbound = outbound;
  st.inbound = std::move(inbound);
  auto host = self->remote_addr(hdl);
  st.address =
    host_port{host.empty() ? std::string{"?"} : host, self->remote_port(hdl)}.to_string();
  st.who = (outbound ? "connection to " : "connection from ") + st.address;
  st.hs = std::make_unique<handshake>(ctx->identity(peer_role::peer), outbound);
  if (ctx->tls && !outbound) {
    st.tls_deferred = true; // until the first bytes arrive
  } else {
    // We dial addresses, not node ids: the target is "*", and the hello names the node.
    if (ctx->tls)
      start_tls(self);
    say_hello(self); // with TLS, queued until its handshake is done
  }
  self->configure_read(hdl, receive_policy::at_most(handshake_read_piece_size));
  // Counted from the accept, whatever arrives meanwhile: a peer that trickles bytes does not
  // buy itself more time.
  send_later(self, ctx->config.handshake_timeout, timeout_atom::value);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& sessions = self->state.sessions;
    for (auto i = sessions.begin(); i != sessions.end(); ++i)
      if (i->second.actor.address() == msg.source) {
        sessions.erase(i);
        return;
      }
  });
  self->set_exit_handler([=](caf::exit_msg& msg) {
    // A linked session that finished reports a normal exit: that ends the session, not us.
    if (msg.reason == caf::exit_reason::normal)
      return;
    close_connection(self, errc::none, "node shutting down: " + to_string(msg.reason), false);
    self->quit(msg.reason); // told to stop: no lingering (a lingering close returns without quit)
  });
  return {
    [=](caf::io::new_data_msg& msg) { on_bytes(self, msg.buf); },
    [=](const caf::io::connection_closed_msg&) {
      auto& st = self->state;
      // CAF has detached the connection already: nothing more can be written to it (no
      // close_notify), and its write buffer is no place for records.
      st.output_closed = true;
      if (st.tls) {
        st.tls->set_ciphertext_sink(nullptr);
        st.tls->feed_eof();
      }
      close_connection(self, errc::none, "the peer closed the connection", false);
    },
    [=](timeout_atom) {
      auto& st = self->state;
      if (!st.authenticated)
        close_connection(self, errc::timeout,
                         "handshake timed out: not authenticated within [node] handshake_timeout = "
                           + seconds_text(st.ctx->config.handshake_timeout) + " of connecting",
                         true, &handshake_timeout_lines);
    },
    // From the listener: the oldest connection still in the handshake makes room for a new one.
    [=](evict_atom, bool per_source) {
      auto& st = self->state;
      if (st.authenticated)
        return;
      auto reason =
        per_source
          ? "[node] max_pending_per_source = "
              + std::to_string(st.inbound ? st.inbound->max_pending_per_source()
                                          : st.ctx->config.max_pending_per_source)
              + " was reached by this address: its oldest makes room for its new connection"
          : "[node] max_pending_handshakes = "
              + std::to_string(st.inbound ? st.inbound->max_pending()
                                          : st.ctx->config.max_pending_handshakes)
              + " was reached: the oldest from the busiest address makes room for a new "
                "connection";
      close_connection(self, errc::unavailable, "handshake not finished when " + reason, true,
                       &eviction_lines);
    },
    [=](linger_end_atom) { self->quit(); },
    // From membership: a parallel connection to the same peer won (see on_peer_up there).
    [=](superseded_atom) {
      close_connection(self, errc::none, "duplicate connection to " + self->state.peer.node_name,
                       false);
    },
    [=](idle_check_atom) {
      auto& st = self->state;
      auto limit = st.ctx->config.idle_timeout;
      if (!st.authenticated || limit.count() == 0)
        return;
      auto quiet = self->clock().now() - st.last_frame;
      if (quiet >= limit)
        return close_connection(self, errc::timeout,
                                "idle: no frame received within [node] idle_timeout = "
                                  + seconds_text(limit),
                                true, &idle_lines);
      send_later(self, std::chrono::duration_cast<std::chrono::milliseconds>(limit - quiet)
                         + std::chrono::milliseconds{1},
                 idle_check_atom::value);
    },
    // From sessions: a frame for the client.
    // The payload is ours alone (a session moved it in): once its bytes are in the write
    // buffer, the next chunk read can reuse it.
    [=](frame_atom, uint16_t type, uint64_t request_id, byte_buffer& payload) {
      note_session_frame(self, static_cast<frame_type>(type), request_id, payload);
      write_frame(self, static_cast<frame_type>(type), request_id, payload);
      give_back(std::move(payload));
    },
    // From the users actor: user records for the peer.
    [=](users_atom, const std::vector<user_record>& records) {
      auto& st = self->state;
      if (st.authenticated && st.peer.role == peer_role::peer)
        write_frame(self, frame_type::users, 0, to_payload(user_list_msg{records}));
    },
    // From membership: gossip for the peer.
    [=](gossip_atom, const std::vector<roster_entry>& entries,
        const std::vector<std::string>& waiting_for) {
      if (self->state.authenticated)
        write_frame(self, frame_type::peers, 0, to_payload(peers_msg{{entries}, waiting_for}));
    },
    // Our own timer: a sign of life for the peer's failure detector, also when we are idle.
    [=](heartbeat_atom) {
      auto& st = self->state;
      // A peer that sent nothing, not even a heartbeat, for down_after is gone, whether or not
      // the socket said so: a peer killed while we were writing to it can leave the connection
      // open here without an error. Closing fails its requests now rather than at their timeout.
      auto silent = self->clock().now() - std::max(st.last_bytes, st.last_frame);
      if (st.authenticated && st.peer.role == peer_role::peer
          && silent >= st.ctx->config.down_after)
        return close_connection(self, errc::unavailable,
                                "the peer sent nothing for " + seconds_text(st.ctx->config.down_after)
                                  + " ([cluster] down_after)",
                                false);
      write_frame(self, frame_type::heartbeat, 0, to_payload(heartbeat_msg{st.ctx->clock->wall()}));
      expire_pending(self);
      send_later(self, self->state.ctx->heartbeat_interval(), heartbeat_atom::value);
    },
    // The replica proxy: store_actor's messages, answered by the remote node.
    [=](put_chunk_atom, const chunk_id& id, const byte_buffer& bytes) {
      if (!self->state.authenticated)
        return forward_request(self, frame_type::put_chunk, {}, frame_type::ok);
      // Sent in parts: header, bytes, then the id, without building the payload twice.
      auto rid = ++self->state.last_request_id;
      auto rp = self->make_response_promise();
      self->state.pending.emplace(rid, peer_connection_state::pending_request{
                                         rp, frame_type::ok, std::chrono::steady_clock::now()});
      byte_buffer header;
      append_frame_header(header, frame_type::put_chunk, rid, bytes.size() + 32);
      send_frame_parts(self, {{header.data(), header.size()},
                              {bytes.data(), bytes.size()},
                              {reinterpret_cast<const char*>(id.bytes.data()), 32}});
      return rp;
    },
    [=](get_chunk_atom, const chunk_id& id) {
      byte_buffer payload(id.bytes.begin(), id.bytes.end());
      return forward_request(self, frame_type::get_chunk, payload, frame_type::chunk_data);
    },
    [=](has_chunks_atom, const std::vector<chunk_id>& ids) {
      return forward_request(self, frame_type::has_chunks, to_payload(has_chunks_msg{ids}),
                             frame_type::has_chunks_result);
    },
    [=](touch_chunks_atom, const std::vector<chunk_id>& ids) {
      return forward_request(self, frame_type::touch_chunks, to_payload(has_chunks_msg{ids}),
                             frame_type::touch_chunks_result);
    },
    [=](put_manifest_atom, const manifest& m) {
      return forward_request(self, frame_type::put_manifest, to_payload(manifest_msg{m}),
                             frame_type::ok);
    },
    [=](get_manifest_atom, const std::string& key) {
      return forward_request(self, frame_type::get_manifest, to_payload(key_msg{key}),
                             frame_type::manifest_data);
    },
    [=](list_manifests_atom, const std::string& prefix) {
      return forward_request(self, frame_type::list_manifests, to_payload(prefix_msg{prefix}),
                             frame_type::manifest_list);
    },
    [=](inventory_atom) {
      return forward_request(self, frame_type::inventory, {}, frame_type::inventory_result);
    },
  };
}

} // namespace dfs
