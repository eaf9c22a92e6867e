#include "actors/get_session.hpp"

#include "actors/session_frames.hpp"
#include "common/unexpected_messages.hpp"

#include "actors/read_path.hpp"
#include "common/log.hpp"

#include <algorithm>
#include <chrono>

namespace dfs {

namespace {

constexpr uint32_t window_frames = transfer_window; // data frames in flight to the client
constexpr size_t prefetch_chunks = transfer_window;  // chunks being fetched from replicas at once

using get_actor = caf::stateful_actor<get_session_state>;

void send_frame(get_actor* self, frame_type type, byte_buffer payload) {
  send_client_frame(self, type, std::move(payload));
}

void fail(get_actor* self, errc code, const std::string& message) {
  fail_session(self, "get of '" + self->state.key + "'", code, message);
}

/// Out of credit, the get waits for its client. A client that returns none within [node]
/// idle_timeout (0: never checked) ends the get, which gives its chunks' memory back.
void watch_for_stall(get_actor* self) {
  auto& st = self->state;
  auto limit = st.ctx->config.idle_timeout;
  if (limit.count() == 0 || st.stall_check_armed || st.window->credit_left() > 0)
    return;
  st.stall_check_armed = true;
  auto quiet = self->clock().now() - st.last_credit;
  // Anonymous: a timer whose sender is the session itself can outlive it in CAF 0.17.6.
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self),
                         std::chrono::duration_cast<std::chrono::nanoseconds>(limit - quiet),
                         stall_check_atom::value);
}

void on_stall_check(get_actor* self) {
  auto& st = self->state;
  st.stall_check_armed = false;
  auto limit = st.ctx->config.idle_timeout;
  if (st.window->credit_left() == 0 && self->clock().now() - st.last_credit >= limit)
    return fail(self, errc::timeout,
                "get stalled: the client returned no credit within [node] idle_timeout = "
                  + std::to_string(limit.count()) + " s");
  watch_for_stall(self);
}

void pump(get_actor* self) {
  auto& st = self->state;
  if (st.failed || !st.window)
    return; // before the manifest there is nothing to send or fetch
  auto& window = *st.window;
  // Send what is ready, in order, as far as the client's credit goes.
  while (auto frame = window.sendable())
    send_frame(self, frame_type::get_data, std::move(*frame));
  if (window.all_sent()) {
    DFS_DEBUG("get_session", "sent '" << st.key << "' (" << st.file.size << " bytes)");
    self->quit();
    return;
  }
  watch_for_stall(self);
  // Fetch only what the credit will take: a chunk is sent as soon as it is its turn.
  while (auto next = window.fetchable()) {
    auto ref = st.file.chunks[*next];
    if (!take_session_memory(self, ref.length))
      return; // memory_freed_atom calls pump again
    auto index = window.begin_fetch();
    auto open = [cipher = st.cipher](byte_buffer&& stored) { return cipher->open(std::move(stored)); };
    fetch_chunk(self, *st.ctx, st.live, ref.id, [self, index, ref](caf::expected<byte_buffer> bytes) {
      auto& st = self->state;
      if (!bytes || bytes->size() != ref.length) {
        st.window->fetched(index, std::nullopt);
        if (!bytes)
          return fail(self, code_of(bytes.error()),
                      "cannot read '" + st.key + "': " + describe(bytes.error()));
        return fail(self, errc::corrupt, "chunk " + ref.id.hex() + " has the wrong length");
      }
      st.window->fetched(index, std::move(*bytes));
      pump(self);
    }, open);
  }
}

/// The client has `frames` more data frames: each returns the oldest frame sent, whose chunk no
/// longer counts in the session memory. Credit past the window is not the client's to give.
void on_credit(get_actor* self, uint32_t frames) {
  auto& st = self->state;
  if (frames > 0)
    st.last_credit = self->clock().now();
  if (!st.window)
    return; // credit before get_meta: nothing was sent that it could acknowledge
  st.window->credit(frames, [&st](size_t index) {
    if (!st.file.is_inline())
      st.memory.give(st.file.chunks[index].length);
  });
  pump(self);
}

/// An inline file is the one frame to send: opened here, nothing to fetch. False when it
/// failed the get.
bool open_inline_file(get_actor* self) {
  auto& st = self->state;
  auto sealed = std::move(st.file.inline_data);
  if (sealed.empty()) {
    fail(self, errc::corrupt, "the manifest of '" + st.key + "' came without its inline bytes");
    return false;
  }
  auto opened = st.cipher->open(std::move(sealed));
  if (!opened || opened->size() != st.file.size) {
    fail(self, errc::corrupt,
         "cannot read '" + st.key + "': its inline bytes "
           + (opened ? std::string{"have the wrong length"} : describe(opened.error())));
    return false;
  }
  st.window.emplace(1, window_frames, prefetch_chunks);
  st.window->ready(0, std::move(*opened));
  return true;
}

} // namespace

caf::behavior get_session(caf::stateful_actor<get_session_state>* self, node_context_ptr ctx,
                          caf::actor connection, uint64_t request_id, std::string key) {
  drop_unexpected_messages(self);
  auto& st = self->state;
  st.ctx = ctx;
  st.connection = std::move(connection);
  st.request_id = request_id;
  st.key = std::move(key);
  st.cipher = std::make_shared<const chunk_cipher>(ctx->config.secret);
  st.memory.attach(ctx->memory);
  self->request(ctx->membership, ctx->request_timeout, members_atom::value)
    .then(
      [=](std::vector<member_view>& members) {
        auto& st = self->state;
        st.live = readable_members(members);
        find_newest_manifest(self, *st.ctx, st.live, st.key,
                             [self](std::optional<manifest> newest, size_t) {
                               auto& st = self->state;
                               if (!newest || newest->deleted)
                                 return fail(self, errc::not_found, "not found: " + st.key);
                               st.file = std::move(*newest);
                               st.last_credit = self->clock().now();
                               if (st.file.is_inline()) {
                                 if (!open_inline_file(self))
                                   return;
                               } else {
                                 st.window.emplace(st.file.chunks.size(), window_frames,
                                                   prefetch_chunks);
                               }
                               send_frame(self, frame_type::get_meta,
                                          to_payload(get_meta_msg{
                                            st.file.size,
                                            static_cast<uint32_t>(st.file.chunks.size()),
                                            window_frames, st.file.version.to_string()}));
                               pump(self);
                             });
      },
      [=](caf::error& err) { fail(self, errc::unavailable, describe(err)); });
  return {
    [=](credit_atom, uint32_t frames) { on_credit(self, frames); },
    [=](memory_freed_atom) { pump(self); },
    [=](stall_check_atom) { on_stall_check(self); },
    [=](memory_wait_atom) {
      if (auto busy = memory_wait_expired(self))
        fail(self, errc::unavailable, *busy);
    },
  };
}

} // namespace dfs
