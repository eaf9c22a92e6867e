#include "actors/chunk_reader.hpp"

#include "storage/chunk_store.hpp"

namespace dfs {

chunk_reader_actor::behavior_type chunk_reader(chunk_reader_actor::pointer self,
                                               store_actor store) {
  return {
    [self, store](read_chunk_atom, const chunk_id& id,
                  const std::string& path) -> caf::result<byte_buffer> {
      auto bytes = chunk_store::read_verified(path, id);
      if (bytes)
        return std::move(*bytes);
      return self->delegate(store, check_chunk_atom::value, id);
    },
  };
}

} // namespace dfs
