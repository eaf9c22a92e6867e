#include "actors/chunk_reader.hpp"

#include "storage/chunk_store.hpp"
#include "common/unexpected_messages.hpp"

namespace dfs {

chunk_reader_actor::behavior_type chunk_reader(chunk_reader_actor::pointer self,
                                               caf::weak_actor_ptr store) {
  drop_unexpected_messages(self);
  return {
    [self, store](read_chunk_atom, const chunk_id& id,
                  const std::string& path) -> caf::result<byte_buffer> {
      auto bytes = chunk_store::read_verified(path, id);
      if (bytes)
        return std::move(*bytes);
      auto owner = caf::actor_cast<store_actor>(store);
      if (!owner)
        return make_error(errc::unavailable, "the store has stopped");
      return self->delegate(owner, check_chunk_atom::value, id);
    },
  };
}

} // namespace dfs
