#pragma once
// Chunk readers: the store's helpers that read and verify chunk files on threads of their own.
//
// A chunk read bypasses the page cache (storage/uncached_io.hpp), so it waits for the disk,
// and then hashes 4 MiB to check the chunk's id. Done on the store's one thread, every get,
// repair and scrub waited behind each other and behind the store's fsyncs. The store instead
// hands each get_chunk to one of its readers (round robin), and the reader answers the
// requester directly: reads overlap with each other and with writes.
//
// Readers touch no state of the store. When a read fails (the file is missing or damaged, or
// the disk refuses), the reader delegates to the store's check_chunk, which reads it again on
// the store's thread and sets a missing or damaged chunk aside (chunk_store::get): the store
// stays the only one that changes its index and its files.
#include "actors/interfaces.hpp"

#include <caf/typed_event_based_actor.hpp>

#include <string>

namespace dfs {

/// (read_chunk_atom, id, path of the chunk file) -> the verified bytes.
using chunk_reader_actor =
  caf::typed_actor<caf::replies_to<read_chunk_atom, chunk_id, std::string>::with<byte_buffer>>;

/// Spawned detached by the store, which ends them when it ends (and replaces one that ends
/// first). A weak handle to the store: a reader must not keep its store alive.
chunk_reader_actor::behavior_type chunk_reader(chunk_reader_actor::pointer self,
                                               caf::weak_actor_ptr store);

} // namespace dfs
