#pragma once
// The store actor: one node's chunks and manifests behind the store_actor interface. Its
// handlers only dispatch to chunk_store and manifest_store (puts through a write batch, see
// store_state), except get_chunk, which goes to one of its chunk readers
// (actors/chunk_reader.hpp); it runs detached,
//   system.spawn<caf::detached>(dfs::store, data_dir)
// so that fsync and friends block a thread of its own, never the scheduler.
//
// Opening: the actor opens both stores itself, on its own thread, before it handles its first
// message (loading the manifest index can take a while on a big node). If that fails it logs
// the error and quits with it as exit reason (errc::io_error or errc::no_space, describe() gives
// the sentence), so the node must link to or monitor it and stop on that exit. We chose this
// over an open step before spawning because it keeps one way to start a store and keeps all its
// disk I/O on its thread; requests that race with a failed open get sec::request_receiver_down.
//
// Settings that come from the node's configuration arrive as messages, because the store is
// spawned with its data_dir alone: (capacity_atom, bytes) sets the capacity ([storage]
// capacity, 0 = no limit), (disk_reserve_atom, bytes) the disk reserve ([storage] reserve,
// see chunk_store::disk_reserve), (clock_skew_atom, milliseconds) how far ahead of the wall
// clock a manifest's version may be ([cluster] max_clock_skew, see manifest_store::put) and
// (gc_grace_atom, caf::timespan) how long a touch keeps a chunk from collection ([cluster]
// gc_grace, see chunk_store::collect); each answers ok. (newest_hlc_atom) answers the largest
// hlc of the manifests held, with which the node seeds its clock before it serves anything. They are local only (no frame carries them)
// and sit outside the typed store_actor interface, in the actor's default handler: send them to
// caf::actor_cast<caf::actor>(store). The node sends them all and waits for the answers before it
// spawns anything else, so they precede every put and every collection.
#include "actors/chunk_reader.hpp"
#include "actors/interfaces.hpp"
#include "storage/chunk_store.hpp"
#include "storage/manifest_store.hpp"

#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <memory>
#include <optional>
#include <string>

namespace dfs {

/// Threads that read and verify chunks for gets, repairs and scrubs (actors/chunk_reader.hpp):
/// two keep the disk busy while one of them hashes.
inline constexpr size_t chunk_readers = 2;

struct store_state {
  static inline const char* name = "store";
  // Empty until the actor opens them (CAF default-constructs the state).
  std::optional<chunk_store> chunks;
  std::optional<manifest_store> manifests;
  // Group commit: puts are staged in `batch` and answered together once it is durable. The
  // first staged write sends the actor a commit_atom, which queues behind every message
  // already in the mailbox, so a batch holds whatever arrived while the last one was being
  // flushed. (Declared after the stores: destroyed first, while its callbacks' targets live.)
  std::optional<write_batch> batch;
  std::vector<caf::typed_response_promise<caf::ok_atom>> waiting;
  bool commit_scheduled = false;
  std::shared_ptr<std::vector<chunk_reader_actor>> readers; // shared with the cleanup
  size_t next_reader = 0;
};

store_actor::behavior_type store(store_actor::stateful_pointer<store_state> self,
                                 std::string data_dir);

} // namespace dfs
