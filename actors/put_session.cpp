#include "actors/put_session.hpp"

#include "common/buffer_pool.hpp"
#include "common/unexpected_messages.hpp"

#include "actors/session_frames.hpp"

#include "actors/placement.hpp"
#include "actors/read_path.hpp"
#include "common/log.hpp"

#include <algorithm>

namespace dfs {

namespace {

/// Chunks a client may send before their replicas confirm: enough to keep the pipeline busy,
/// few enough that a put holds at most window * chunk_size bytes.
constexpr uint32_t put_window = transfer_window;

/// Chunks that reached W copies but still wait for a slower replica. Credit goes back at W, but
/// once this many chunks lag it waits for them to settle, so a replica that is slower than the
/// others slows the client down instead of making this node queue ever more chunks for it.
constexpr size_t max_lagging = 4;

using put_actor = caf::stateful_actor<put_session_state>;

void send_frame(put_actor* self, frame_type type, byte_buffer payload) {
  send_client_frame(self, type, std::move(payload));
}

void fail(put_actor* self, errc code, const std::string& message) {
  fail_session(self, "put of '" + self->state.result.key + "'", code, message);
}

/// Writes one item (a chunk or the manifest) to its replicas: the first R placement targets in
/// rendezvous order that are not known to be full or failed (actors/quorum_write.hpp).
/// on_stored runs for each replica that acknowledges it; on_quorum runs once W of them hold it;
/// on_settled runs once, with the number of copies, when every replica has answered and at
/// least W succeeded. With on_superseded (manifests), a replica that holds a newer version makes
/// it run instead of on_settled, with the newest version reported.
void replicate(put_actor* self, const sha256_digest& placement_id, caf::message request,
               std::function<void()> on_quorum, std::function<void(size_t copies)> on_settled,
               std::function<void(const version& newer)> on_superseded = {},
               std::function<void(const member_view&)> on_stored = {}) {
  auto& st = self->state;
  quorum_item item;
  item.ranking = replicas_for(placement_id, st.live, st.live.size());
  item.replicas = std::min<size_t>(st.ctx->config.replicas, item.ranking.size());
  item.needed = std::min<size_t>(st.ctx->config.write_quorum, item.replicas);
  item.request = std::move(request);
  if (item.request.match_elements<put_chunk_atom, chunk_id, byte_buffer>())
    item.local_request =
      caf::message::concat(caf::make_message(sealed_here_atom::value), item.request);
  item.on_stored = std::move(on_stored);
  item.on_quorum = std::move(on_quorum);
  item.on_settled = [on_settled = std::move(on_settled)](size_t copies, caf::message& request) {
    // Every replica has answered, so a chunk's bytes are written (or copied into a connection's
    // write buffer) everywhere: unless someone still shares the request, its buffer serves the
    // next chunk sealed on this node instead of going back to the system.
    if (request.match_elements<put_chunk_atom, chunk_id, byte_buffer>() && request.cvals()->unique())
      give_back(std::move(request.get_mutable_as<byte_buffer>(2)));
    on_settled(copies);
  };
  item.on_failed = [self](const caf::error& err) { fail(self, code_of(err), describe(err)); };
  item.on_superseded = std::move(on_superseded);
  st.writes->write(std::move(item));
}

void maybe_finish(put_actor* self);
void on_chunk(put_actor* self, byte_buffer& bytes, bool final);

/// The largest file a manifest can describe with this node's chunk size.
uint64_t max_put_size(const node_context& ctx) {
  return uint64_t{max_chunks_per_manifest} * ctx.config.chunk_size;
}

std::string too_large_message(const node_context& ctx, uint64_t size) {
  return "file too large: " + (size == unknown_size ? std::string{"more than "} : std::string{})
         + std::to_string(size == unknown_size ? max_put_size(ctx) : size)
         + " bytes; a file may have at most " + std::to_string(max_chunks_per_manifest)
         + " chunks of [storage] chunk_size = " + std::to_string(ctx.config.chunk_size)
         + " bytes (" + std::to_string(max_put_size(ctx)) + " bytes)";
}

/// Tells the client to send (put_ready with its credit window) once placement is known and the
/// window's chunks fit in the node's session memory; until then the client waits.
void open_for_data(put_actor* self) {
  auto& st = self->state;
  if (!st.placed || st.ready || st.failed)
    return;
  uint64_t window_bytes = uint64_t{put_window} * st.ctx->config.chunk_size;
  if (st.declared_size != unknown_size)
    window_bytes = std::min(window_bytes, st.declared_size);
  if (!take_session_memory(self, window_bytes))
    return; // memory_freed_atom calls this again
  st.ready = true;
  send_frame(self, frame_type::put_ready,
             to_payload(put_ready_msg{st.ctx->config.chunk_size, put_window}));
  if (st.early_data) {
    auto bytes = std::move(*st.early_data);
    st.early_data.reset();
    on_chunk(self, bytes, true);
  }
}

// -- the lease on the put's chunks (see put_session.hpp) --------------------------------------

using steady = std::chrono::steady_clock;

/// How many replicas must hold each item: W, or fewer when fewer members can take it.
size_t copies_needed(const put_session_state& st) {
  auto replicas = std::min<size_t>(st.ctx->config.replicas, st.live.size());
  return std::min<size_t>(st.ctx->config.write_quorum, replicas);
}

/// Touches every chunk acknowledged so far on the replicas that acknowledged it. on_answer
/// gets each answer (a failed request has none); on_done runs once every request is answered.
void touch_leased_chunks(
  put_actor* self,
  std::function<void(const chunk_lease::touch_request&, const std::vector<bool>&)> on_answer,
  std::function<void()> on_done) {
  auto& st = self->state;
  auto requests =
    std::make_shared<std::vector<chunk_lease::touch_request>>(st.lease.touch_requests(st.writes->failed_nodes()));
  auto left = std::make_shared<size_t>(requests->size());
  if (requests->empty())
    return on_done();
  for (size_t i = 0; i < requests->size(); ++i) {
    auto& request = (*requests)[i];
    self->request(request.member.replica, st.ctx->request_timeout, touch_chunks_atom::value,
                  request.ids)
      .then(
        [requests, i, left, on_answer, on_done](std::vector<bool>& present) {
          on_answer((*requests)[i], present);
          if (--*left == 0)
            on_done();
        },
        [requests, i, left, on_done](caf::error& err) {
          DFS_WARN("put_session", "cannot touch the put's chunks on " << (*requests)[i].member.name
                                                                      << ": " << describe(err));
          if (--*left == 0)
            on_done();
        });
  }
}

/// Renews the lease every gc_grace/3, so that a chunk is touched again well before gc_grace
/// since its last touch has passed, however long the client takes.
void renew_lease_later(put_actor* self) {
  auto grace = std::chrono::duration_cast<std::chrono::milliseconds>(self->state.ctx->config.gc_grace);
  self->delayed_send(self, grace / 3, renew_lease_atom::value);
}

void renew_lease(put_actor* self) {
  touch_leased_chunks(self, [](const auto&, const auto&) {}, [] {});
  renew_lease_later(self);
}

/// The last touch before the manifest: every chunk must still be on W replicas, which keep it
/// for gc_grace from now. Goes on with maybe_finish once they are.
void confirm_lease(put_actor* self) {
  auto& st = self->state;
  st.lease_confirming = true;
  st.lease.start_count();
  auto sent = steady::now();
  touch_leased_chunks(
    self,
    [self](const chunk_lease::touch_request& request, const std::vector<bool>& present) {
      self->state.lease.count(request, present);
    },
    [self, sent] {
      auto& st = self->state;
      if (auto shortfall = st.lease.short_of(copies_needed(st)))
        return fail(self, errc::too_few_replicas,
                    "chunk " + shortfall->first.hex() + " of the put is held by only "
                      + std::to_string(shortfall->second) + " of "
                      + std::to_string(copies_needed(st))
                      + " required replicas before its manifest (lost or collected while the "
                        "put ran); nothing was stored");
      st.lease_confirmed_at = sent;
      maybe_finish(self);
    });
}

/// Whether the chunks were safe until the manifest reached its quorum: a store keeps a touched
/// chunk for gc_grace, and a collection pass that began after the manifest landed sees it. If
/// not, the put fails (false).
bool manifest_within_lease(put_actor* self) {
  auto& st = self->state;
  if (st.lease.empty())
    return true;
  auto grace = st.ctx->config.gc_grace;
  auto took = st.manifest_quorum_at - *st.lease_confirmed_at;
  if (took <= grace)
    return true;
  fail(self, errc::timeout,
       "the manifest reached its write quorum "
         + std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(took).count())
         + " ms after the chunks were last confirmed, more than [cluster] gc_grace ("
         + std::to_string(grace.count()) + " s): they may have been collected; put again");
  return false;
}

/// Sends the credit owed to the client, unless too many chunks wait for a slow replica.
void grant_credit(put_actor* self) {
  auto& st = self->state;
  if (st.credit_owed == 0 || st.lagging > max_lagging)
    return;
  if (!st.all_received)
    send_frame(self, frame_type::put_credit, to_payload(credit_msg{st.credit_owed}));
  st.credit_owed = 0;
}

static_assert(max_early_put_size <= max_inline_size,
              "a file sent before put_ready must fit in its manifest");

/// The whole file in one frame, small enough to live in its manifest (whatever the chunk size).
bool whole_inline_file(const put_session_state& st, const byte_buffer& bytes, bool final) {
  return final && st.received == 0 && !bytes.empty() && bytes.size() <= max_inline_size;
}

void on_chunk(put_actor* self, byte_buffer& bytes, bool final) {
  auto& st = self->state;
  auto chunk_size = st.ctx->config.chunk_size;
  const bool inline_file = whole_inline_file(st, bytes, final);
  if (!st.ready) {
    // Only the whole of a small file of the declared size may come early.
    if (!st.early_data && inline_file
        && bytes.size() <= max_early_put_size && bytes.size() == st.declared_size) {
      st.early_data = std::move(bytes);
      return;
    }
    return fail(self, errc::bad_request, "data before put_ready");
  }
  if (st.all_received)
    return fail(self, errc::bad_request, "data after the final frame");
  if (!inline_file && (bytes.size() > chunk_size || (!final && bytes.size() != chunk_size)))
    return fail(self, errc::bad_request,
                "data frames must be exactly the chunk size (" + std::to_string(chunk_size)
                  + " bytes) but for the last");
  if (!inline_file && !bytes.empty() && st.result.chunks.size() >= max_chunks_per_manifest)
    return fail(self, errc::bad_request, too_large_message(*st.ctx, unknown_size));
  st.received += bytes.size();
  if (st.declared_size != unknown_size && st.received > st.declared_size)
    return fail(self, errc::bad_request, "more data than the declared size");
  if (final) {
    st.all_received = true;
    if (st.declared_size != unknown_size && st.received != st.declared_size)
      return fail(self, errc::bad_request,
                  "the upload ended after " + std::to_string(st.received) + " of "
                    + std::to_string(st.declared_size) + " bytes");
  }
  if (bytes.empty())
    return maybe_finish(self);
  st.content_hash->update(bytes.data(), bytes.size());
  if (inline_file) {
    // The whole file in one small frame: it goes inside the manifest, sealed like a chunk, so
    // the put is one durable round on R replicas instead of two (chunk, then manifest).
    st.result.inline_data = st.cipher->seal(bytes.data(), bytes.size());
    give_back(std::move(bytes));
    return maybe_finish(self);
  }
  // Encrypted before it leaves this node; the id is the hash of what is stored.
  auto sealed = st.cipher->seal(bytes.data(), bytes.size());
  auto plain_size = static_cast<uint32_t>(bytes.size());
  give_back(std::move(bytes)); // the plaintext is not needed any more: the next frame's buffer
  auto id = chunk_id::of(sealed.data(), sealed.size());
  st.result.chunks.push_back({id, plain_size});
  ++st.chunks_in_flight;
  // One message shared by every replica's request: the bytes are not copied per replica.
  auto request = caf::make_message(put_chunk_atom::value, id, std::move(sealed));
  auto hold_lease = [self, id](const member_view& member) { self->state.lease.held_by(member, id); };
  replicate(
    self, id.bytes, std::move(request),
    [self] {
      ++self->state.lagging;
      ++self->state.credit_owed;
      grant_credit(self);
    },
    [self](size_t copies) {
      auto& st = self->state;
      st.fewest_copies = std::min<uint32_t>(st.fewest_copies, static_cast<uint32_t>(copies));
      --st.chunks_in_flight;
      if (st.lagging > 0)
        --st.lagging;
      grant_credit(self);
      maybe_finish(self);
    },
    {}, hold_lease);
}

/// Writes the manifest at version `hlc` to its replicas; puts it again above a newer version a
/// replica reports, at most max_version_retries times (see next_version_above).
void write_manifest(put_actor* self, uint64_t hlc, int retries) {
  auto& st = self->state;
  st.result.version = {hlc, st.ctx->node_id};
  // Masked under the data keys: a plain SHA-256 on every disk would let anyone with a disk test
  // a guess of a file's content. The mask depends on the version, so each attempt masks anew.
  st.result.content_hash =
    st.cipher->mask_content_hash(st.result.key, st.result.version, *st.plain_content_hash);
  auto placement_id = manifest_placement_id(st.result.key);
  replicate(
    self, placement_id, caf::make_message(put_manifest_atom::value, st.result),
    [self] { self->state.manifest_quorum_at = steady::now(); },
    [self](size_t copies) {
      if (!manifest_within_lease(self))
        return;
      auto& st = self->state;
      st.fewest_copies = std::min<uint32_t>(st.fewest_copies, static_cast<uint32_t>(copies));
      DFS_INFO("put_session", "stored '" << st.result.key << "': " << st.result.size << " bytes, "
                                         << (st.result.is_inline()
                                               ? std::string{"inline"}
                                               : std::to_string(st.result.chunks.size()) + " chunks")
                                         << ", " << st.fewest_copies << " copies");
      send_frame(self, frame_type::put_done,
                 to_payload(put_done_msg{st.fewest_copies, st.result.version.to_string()}));
      self->quit();
    },
    [self, retries](const version& newer) {
      auto& st = self->state;
      auto next = next_version_above(*st.ctx->clock, st.result.key, newer, retries);
      if (!next)
        return fail(self, code_of(next.error()), describe(next.error()));
      DFS_DEBUG("put_session", "'" << st.result.key << "' has a newer version " << newer.to_string()
                                   << " on a replica; writing it again above");
      write_manifest(self, *next, retries + 1);
    });
}

void maybe_finish(put_actor* self) {
  auto& st = self->state;
  if (!st.all_received || st.chunks_in_flight > 0 || st.failed || st.plain_content_hash)
    return;
  if (!st.lease_confirmed_at) {
    if (!st.lease_confirming)
      confirm_lease(self);
    return;
  }
  st.result.size = st.received;
  st.plain_content_hash = st.content_hash->finish();
  auto hlc = st.ctx->clock->next();
  if (!hlc)
    return fail(self, code_of(hlc.error()), describe(hlc.error()));
  write_manifest(self, *hlc, 0);
}

} // namespace

caf::expected<uint64_t> next_version_above(hybrid_clock& clock, const std::string& key,
                                           const version& newer, int retries) {
  if (retries >= max_version_retries)
    return make_error(errc::superseded,
                      "gave up writing '" + key + "': newer versions written at the same time "
                        "superseded it " + std::to_string(retries + 1) + " times (the last "
                        + newer.to_string() + "); nothing was acknowledged, try again");
  if (!clock.observe(newer.hlc)) {
    auto ahead_s = (newer.hlc - clock.wall()) / 1000;
    return make_error(errc::clock_skew,
                      "cannot write '" + key + "' as its newest version: node " + newer.node_id
                        + " wrote version " + newer.to_string() + ", " + std::to_string(ahead_s)
                        + " s ahead of this node's clock, more than [cluster] max_clock_skew ("
                        + std::to_string(clock.max_skew().count() / 1000)
                        + " s); check the clocks of both nodes");
  }
  return clock.next();
}

caf::behavior put_session(caf::stateful_actor<put_session_state>* self, node_context_ptr ctx,
                          caf::actor connection, uint64_t request_id, std::string key,
                          uint64_t size) {
  drop_unexpected_messages(self);
  auto& st = self->state;
  st.ctx = ctx;
  st.connection = std::move(connection);
  st.request_id = request_id;
  st.result.key = std::move(key);
  st.declared_size = size;
  st.cipher.emplace(ctx->config.secret);
  st.memory.attach(ctx->memory);
  st.writes.emplace("put of '" + st.result.key + "'", ctx->node_id,
                    requests_from(self, ctx->request_timeout));
  if (auto reason = invalid_key_reason(st.result.key)) {
    fail(self, errc::bad_request, *reason);
    return {};
  }
  if (size != unknown_size && size > max_put_size(*ctx)) {
    fail(self, errc::bad_request, too_large_message(*ctx, size));
    return {};
  }
  self->request(ctx->membership, ctx->request_timeout, members_atom::value)
    .then(
      [=](std::vector<member_view>& members) {
        auto& st = self->state;
        st.live = placement_targets(members);
        auto needed = std::min<size_t>(st.ctx->config.write_quorum, st.ctx->config.replicas);
        if (st.live.size() < needed)
          return fail(self, errc::too_few_replicas, quorum_failure_message(st.live.size(), needed));
        st.placed = true;
        renew_lease_later(self);
        open_for_data(self);
      },
      [=](caf::error& err) { fail(self, errc::unavailable, describe(err)); });
  return {
    [=](data_atom, byte_buffer& bytes, bool final) { on_chunk(self, bytes, final); },
    [=](memory_freed_atom) { open_for_data(self); },
    [=](memory_wait_atom) {
      if (auto busy = memory_wait_expired(self))
        fail(self, errc::unavailable, *busy);
    },
    [=](renew_lease_atom) { renew_lease(self); },
  };
}

} // namespace dfs
