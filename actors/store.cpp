#include "actors/store.hpp"

#include "actors/chunk_reader.hpp"
#include "common/unexpected_messages.hpp"
#include "common/buffer_pool.hpp"
#include "common/log.hpp"
#include "storage/buffer_memory.hpp"
#include "storage/node_usage.hpp"

#include <caf/message_view.hpp>

namespace dfs {

store_actor::behavior_type store(store_actor::stateful_pointer<store_state> self,
                                 std::string data_dir) {
  // The store starts first on a node: from here on, chunk buffers go back to the system when
  // freed (storage/buffer_memory.hpp).
  return_large_buffers_to_the_system();
  auto chunks = chunk_store::open(data_dir);
  auto manifests = chunks ? manifest_store::open(data_dir)
                          : caf::expected<manifest_store>{chunks.error()};
  if (!manifests) {
    DFS_ERROR("store", "cannot open the store in " << data_dir << ": "
                                                   << describe(manifests.error()));
    self->quit(manifests.error());
    return store_actor::behavior_type::make_empty_behavior();
  }
  self->state.chunks.emplace(std::move(*chunks));
  self->state.manifests.emplace(std::move(*manifests));
  self->state.batch.emplace(data_dir);
  DFS_INFO("store", "serving " << data_dir);
  auto& st = self->state;
  auto spawn_reader = [self] {
    return self->spawn<caf::detached + caf::monitored>(chunk_reader,
                                                       caf::actor_cast<caf::weak_actor_ptr>(self));
  };
  st.readers = std::make_shared<std::vector<chunk_reader_actor>>();
  for (size_t i = 0; i < chunk_readers; ++i)
    st.readers->push_back(spawn_reader());
  // A reader that ends on its own (an exception) is replaced: otherwise every other get would
  // go to a dead actor, which CAF answers with request_receiver_down.
  self->set_down_handler([readers = st.readers, spawn_reader](caf::down_msg& msg) {
    for (auto& reader : *readers)
      if (reader.address() == msg.source) {
        DFS_ERROR("store", "a chunk reader stopped (" << to_string(msg.reason)
                                                      << "); starting another");
        reader = spawn_reader();
      }
  });
  // The readers must end with the store, however it ends (a link would not end them when the
  // store quits normally). The list is shared: the state is gone by the time this runs.
  self->attach_functor([readers = st.readers] {
    for (auto& reader : *readers)
      caf::anon_send_exit(reader, caf::exit_reason::user_shutdown);
  });
  // Inline files count against the capacity like chunks (and show in the bytes used).
  auto used_bytes = [&st] { return st.chunks->used() + st.manifests->inline_bytes(); };
  st.chunks->count_bytes_elsewhere(
    [&st] { return st.manifests->inline_bytes() + st.manifests->staged_inline_bytes(); });
  // Answers a put once the batch it joined is durable (at once if nothing is pending).
  auto after_commit = [self, &st]() -> caf::result<caf::ok_atom> {
    if (st.batch->empty())
      return caf::ok_atom::value;
    if (!st.commit_scheduled) {
      st.commit_scheduled = true;
      self->send(self, commit_atom::value);
    }
    st.waiting.push_back(self->make_response_promise<caf::ok_atom>());
    return st.waiting.back();
  };
  self->set_default_handler([&st, used_bytes](caf::scheduled_actor* ptr,
                                  caf::message_view& x) -> caf::result<caf::message> {
    auto msg = x.copy_content_to_message();
    if (msg.match_elements<gc_grace_atom, caf::timespan>()) {
      st.chunks->set_gc_grace(msg.get_as<caf::timespan>(1));
      return caf::make_message(caf::ok_atom::value);
    }
    if (msg.match_elements<disk_reserve_atom, uint64_t>()) {
      st.chunks->set_disk_reserve(msg.get_as<uint64_t>(1));
      DFS_INFO("store", "keeps the last " << st.chunks->disk_reserve()
                                          << " bytes of its disk for deletes and metadata");
      return caf::make_message(caf::ok_atom::value);
    }
    if (msg.match_elements<clock_skew_atom, uint64_t>()) {
      st.manifests->set_clock_bound(std::chrono::milliseconds{msg.get_as<uint64_t>(1)});
      return caf::make_message(caf::ok_atom::value);
    }
    if (msg.match_elements<newest_hlc_atom>())
      return caf::make_message(st.manifests->newest_hlc());
    if (!msg.match_elements<capacity_atom, uint64_t>())
      return drop_unexpected_message(ptr, x);
    auto bytes = msg.get_as<uint64_t>(1);
    st.chunks->set_capacity(bytes);
    auto limit = bytes == 0 ? std::string{"unlimited"} : std::to_string(bytes) + " bytes";
    DFS_INFO("store", "capacity " << limit << ", " << used_bytes() << " bytes used");
    return caf::make_message(caf::ok_atom::value);
  });
  return {
    [self, &st, after_commit](put_chunk_atom, const chunk_id& id,
                              const byte_buffer& bytes) -> caf::result<caf::ok_atom> {
      auto err = st.chunks->put(id, bytes, *st.batch);
      // The bytes are in a file now. A chunk that came from a peer arrives in a message of its
      // own: its buffer goes back to the pool for the next frame the connection decodes. (A
      // message that is shared, such as a put session's one request for every replica, is
      // left alone: the others still read it.)
      auto* element = self->current_mailbox_element();
      if (element != nullptr && !static_cast<const caf::mailbox_element*>(element)->content().shared())
        give_back(std::move(const_cast<byte_buffer&>(bytes)));
      if (err)
        return err;
      return after_commit();
    },
    [&st, after_commit](sealed_here_atom, put_chunk_atom, const chunk_id& id,
                        const byte_buffer& bytes) -> caf::result<caf::ok_atom> {
      // The bytes belong to the put session's one request for every replica (this message
      // only refers to it), so they stay where they are: the session recycles them.
      if (auto err = st.chunks->put(id, bytes, *st.batch, id_check::computed_here))
        return err;
      return after_commit();
    },
    [self, &st](get_chunk_atom, const chunk_id& id) -> caf::result<byte_buffer> {
      auto& reader = (*st.readers)[st.next_reader++ % st.readers->size()];
      return self->delegate(reader, read_chunk_atom::value, id, st.chunks->path_of(id));
    },
    [&st](check_chunk_atom, const chunk_id& id) -> caf::result<byte_buffer> {
      return st.chunks->get(id);
    },
    [&st](has_chunks_atom, const std::vector<chunk_id>& ids) {
      std::vector<bool> held;
      held.reserve(ids.size());
      for (auto& id : ids)
        held.push_back(st.chunks->has(id));
      return held;
    },
    [&st, after_commit](put_manifest_atom, const manifest& m) -> caf::result<caf::ok_atom> {
      auto room = [&st](uint64_t bytes) { return st.chunks->check_room(bytes, "an inline file of"); };
      if (auto err = st.manifests->put(m, *st.batch, room))
        return err;
      return after_commit();
    },
    [&st](commit_atom) {
      st.commit_scheduled = false;
      auto files = st.batch->size();
      auto err = st.batch->commit();
      if (err)
        DFS_ERROR("store", "a batch of " << files << " writes failed: " << describe(err));
      auto waiting = std::move(st.waiting);
      st.waiting.clear();
      for (auto& promise : waiting) {
        if (err)
          promise.deliver(err);
        else
          promise.deliver(caf::ok_atom::value);
      }
    },
    [&st, used_bytes](get_manifest_atom, const std::string& key) -> caf::result<manifest> {
      if (key == node_usage_key())
        return node_usage_manifest({used_bytes(), st.chunks->capacity(), st.chunks->count()});
      return st.manifests->get(key);
    },
    [&st](list_manifests_atom, const std::string& prefix) {
      return st.manifests->list(prefix);
    },
    [&st, used_bytes](inventory_atom)
      -> caf::result<std::vector<chunk_id>, std::vector<manifest>, uint64_t> {
      auto ids = st.chunks->list();
      if (!ids)
        return ids.error();
      return {std::move(*ids), st.manifests->list(""), used_bytes()};
    },
    [&st](touch_chunks_atom, const std::vector<chunk_id>& ids) { return st.chunks->touch(ids); },
    [&st](delete_chunk_atom, const chunk_id& id) -> caf::result<caf::ok_atom> {
      if (auto err = st.chunks->remove(id))
        return err;
      return caf::ok_atom::value;
    },
    [&st](delete_chunk_atom, const chunk_id& id,
          chunk_store::clock::time_point planned_at) -> caf::result<bool> {
      auto gone = st.chunks->collect(id, planned_at);
      if (!gone)
        return gone.error();
      return *gone;
    },
    [&st](delete_manifest_atom, const std::string& key,
          const version& held) -> caf::result<caf::ok_atom> {
      if (auto err = st.manifests->remove(key, held))
        return err;
      return caf::ok_atom::value;
    },
  };
}

} // namespace dfs
