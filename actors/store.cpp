#include "actors/store.hpp"

#include "common/log.hpp"

namespace dfs {

store_actor::behavior_type store(store_actor::stateful_pointer<store_state> self,
                                 std::string data_dir) {
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
  DFS_INFO("store", "serving " << data_dir);
  auto& st = self->state;
  return {
    [&st](put_chunk_atom, const chunk_id& id,
          const byte_buffer& bytes) -> caf::result<caf::ok_atom> {
      if (auto err = st.chunks->put(id, bytes))
        return err;
      return caf::ok_atom::value;
    },
    [&st](get_chunk_atom, const chunk_id& id) -> caf::result<byte_buffer> {
      return st.chunks->get(id);
    },
    [&st](has_chunks_atom, const std::vector<chunk_id>& ids) {
      std::vector<bool> held;
      held.reserve(ids.size());
      for (auto& id : ids)
        held.push_back(st.chunks->has(id));
      return held;
    },
    [&st](put_manifest_atom, const manifest& m) -> caf::result<caf::ok_atom> {
      if (auto err = st.manifests->put(m))
        return err;
      return caf::ok_atom::value;
    },
    [&st](get_manifest_atom, const std::string& key) -> caf::result<manifest> {
      return st.manifests->get(key);
    },
    [&st](list_manifests_atom, const std::string& prefix) {
      return st.manifests->list(prefix);
    },
    [&st](inventory_atom)
      -> caf::result<std::vector<chunk_id>, std::vector<manifest>, uint64_t> {
      auto ids = st.chunks->list();
      if (!ids)
        return ids.error();
      uint64_t bytes = 0;
      for (auto& id : *ids)
        bytes += st.chunks->size_of(id);
      return {std::move(*ids), st.manifests->list(""), bytes};
    },
    [&st](delete_chunk_atom, const chunk_id& id) -> caf::result<caf::ok_atom> {
      if (auto err = st.chunks->remove(id))
        return err;
      return caf::ok_atom::value;
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
