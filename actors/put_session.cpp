#include "actors/put_session.hpp"

#include "actors/fan_out.hpp"
#include "actors/placement.hpp"
#include "actors/read_path.hpp"
#include "common/log.hpp"

namespace dfs {

namespace {

/// Chunks a client may send before their replicas confirm: enough to keep the pipeline busy,
/// few enough that a put holds at most window * chunk_size bytes.
constexpr uint32_t put_window = 4;

using put_actor = caf::stateful_actor<put_session_state>;

void send_frame(put_actor* self, frame_type type, const byte_buffer& payload) {
  self->send(self->state.connection, frame_atom::value, static_cast<uint16_t>(type),
             self->state.request_id, payload);
}

void fail(put_actor* self, errc code, const std::string& message) {
  auto& st = self->state;
  if (st.failed)
    return;
  st.failed = true;
  DFS_WARN("put_session", "put of '" << st.result.key << "' failed: " << message);
  send_frame(self, frame_type::error, to_payload(error_msg{static_cast<uint8_t>(code), message}));
  self->quit();
}

/// Writes one item (a chunk or the manifest) to its replicas; on_durable runs once, with the
/// number of copies, when every replica has answered and at least W succeeded.
void replicate(put_actor* self, const sha256_digest& placement_id, caf::message request,
               std::function<void()> on_quorum, std::function<void(size_t copies)> on_settled) {
  auto& st = self->state;
  auto targets = replicas_for(placement_id, st.live, st.ctx->config.replicas);
  size_t needed = std::min<size_t>(st.ctx->config.write_quorum, targets.size());
  auto acks = std::make_shared<size_t>(0);
  auto quorum_reported = std::make_shared<bool>(false);
  fan_out(
    self, targets, request, st.ctx->request_timeout,
    [=](const member_view&, caf::ok_atom) {
      if (++*acks >= needed && !*quorum_reported) {
        *quorum_reported = true;
        on_quorum();
      }
    },
    [=](const member_view& m, const caf::error& err) {
      DFS_WARN("put_session", "replica " << m.name << " failed: " << describe(err));
    },
    [=] {
      if (*acks < needed)
        return fail(self, errc::too_few_replicas, quorum_failure_message(*acks, needed));
      on_settled(*acks);
    });
}

void maybe_finish(put_actor* self);

void on_chunk(put_actor* self, byte_buffer& bytes, bool final) {
  auto& st = self->state;
  auto chunk_size = st.ctx->config.chunk_size;
  if (!st.ready)
    return fail(self, errc::bad_request, "data before put_ready");
  if (st.all_received)
    return fail(self, errc::bad_request, "data after the final frame");
  if (bytes.size() > chunk_size || (!final && bytes.size() != chunk_size))
    return fail(self, errc::bad_request,
                "data frames must be exactly the chunk size (" + std::to_string(chunk_size)
                  + " bytes) but for the last");
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
  auto id = chunk_id::of(bytes.data(), bytes.size());
  st.result.chunks.push_back({id, static_cast<uint32_t>(bytes.size())});
  ++st.chunks_in_flight;
  // One message shared by every replica's request: the bytes are not copied per replica.
  auto request = caf::make_message(put_chunk_atom::value, id, std::move(bytes));
  replicate(
    self, id.bytes, std::move(request),
    [self] {
      if (!self->state.all_received)
        send_frame(self, frame_type::put_credit, to_payload(credit_msg{1}));
    },
    [self](size_t copies) {
      auto& st = self->state;
      st.fewest_copies = std::min<uint32_t>(st.fewest_copies, static_cast<uint32_t>(copies));
      --st.chunks_in_flight;
      maybe_finish(self);
    });
}

void maybe_finish(put_actor* self) {
  auto& st = self->state;
  if (!st.all_received || st.chunks_in_flight > 0 || st.failed)
    return;
  st.result.size = st.received;
  st.result.content_hash = st.content_hash->finish();
  st.result.version = {st.ctx->clock->now(), st.ctx->node_id};
  auto placement_id = manifest_placement_id(st.result.key);
  replicate(
    self, placement_id, caf::make_message(put_manifest_atom::value, st.result), [] {},
    [self](size_t copies) {
      auto& st = self->state;
      st.fewest_copies = std::min<uint32_t>(st.fewest_copies, static_cast<uint32_t>(copies));
      DFS_INFO("put_session", "stored '" << st.result.key << "': " << st.result.size << " bytes, "
                                         << st.result.chunks.size() << " chunks, "
                                         << st.fewest_copies << " copies");
      send_frame(self, frame_type::put_done,
                 to_payload(put_done_msg{st.fewest_copies, st.result.version.to_string()}));
      self->quit();
    });
}

} // namespace

std::string quorum_failure_message(size_t reached, size_t required) {
  return "only " + std::to_string(reached) + " of " + std::to_string(required)
         + " required replicas reachable";
}

caf::behavior put_session(caf::stateful_actor<put_session_state>* self, node_context_ptr ctx,
                          caf::actor connection, uint64_t request_id, std::string key,
                          uint64_t size) {
  auto& st = self->state;
  st.ctx = ctx;
  st.connection = std::move(connection);
  st.request_id = request_id;
  st.result.key = std::move(key);
  st.declared_size = size;
  if (auto reason = invalid_key_reason(st.result.key)) {
    fail(self, errc::bad_request, *reason);
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
        st.ready = true;
        send_frame(self, frame_type::put_ready,
                   to_payload(put_ready_msg{st.ctx->config.chunk_size, put_window}));
      },
      [=](caf::error& err) { fail(self, errc::unavailable, describe(err)); });
  return {
    [=](data_atom, byte_buffer& bytes, bool final) { on_chunk(self, bytes, final); },
  };
}

} // namespace dfs
