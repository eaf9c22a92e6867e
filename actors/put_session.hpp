#pragma once
// One client's put, from put_begin to put_done. The client sends a chunk per data frame and may
// have only `window` of them unacknowledged; each chunk is hashed and written to its R replicas,
// and its credit goes back to the client once W of them hold it durably. So a put holds at most
// window chunks in memory whatever the file's size, and a slow replica slows the client down
// (credit goes back at W copies, but only while few chunks wait for the slower replicas).
//
// Each chunk is encrypted here, before it leaves this node (common/chunk_cipher.hpp); the
// manifest lists the ids of the stored (encrypted) chunks with their plaintext lengths, and its
// content hash is masked. A replica that answers no_space (full disk, or its [storage] capacity)
// is skipped for the rest of the put and the item goes to the next member in rendezvous order
// instead; if too few replicas can take an item, the put fails with errc::no_space naming the
// full nodes.
//
// A file of at most max_inline_size bytes that arrives in one frame is not chunked: its sealed
// bytes go inside the manifest (manifest::inline_data), and the put is one round to R replicas.
// Such a frame may come before put_ready, right after put_begin (net/frame.hpp,
// max_early_put_size); the session keeps it until it knows the placement targets.
//
// The chunks of a put are garbage to collection until its manifest lands, so the session holds
// a lease on them, however long the put takes ([cluster] gc_grace, actors/chunk_lease.hpp):
//  - every gc_grace/3 it touches (touch_chunks) every chunk written so far on the replicas that
//    acknowledged it; a store keeps a chunk touched within gc_grace (chunk_store::collect);
//  - just before the manifest it touches them all once more and needs each one still held by
//    W replicas, or the put fails with errc::too_few_replicas and nothing is written;
//  - if the manifest reaches its write quorum more than gc_grace after that last touch, the
//    chunks may have been collected meanwhile: the put fails with errc::timeout instead of being
//    acknowledged.
#include "actors/chunk_lease.hpp"
#include "actors/node_context.hpp"
#include "actors/quorum_write.hpp"
#include "common/chunk_cipher.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/event_based_actor.hpp>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>
#include <functional>

namespace dfs {

struct put_session_state {
  static inline const char* name = "put_session";

  node_context_ptr ctx;
  caf::actor connection;
  uint64_t request_id = 0;
  manifest result;
  uint64_t declared_size = 0;
  uint64_t received = 0;
  bool placed = false; // membership answered with enough placement targets
  bool ready = false; // put_ready was sent: the client may send data
  // Its credit window of chunks in the node's session memory (actors/session_memory.hpp),
  // taken before put_ready, given back when the put ends.
  session_memory_lease memory;
  std::optional<caf::actor_clock::time_point> memory_wait_started;
  // The whole of a small file, sent with put_begin (max_early_put_size), until membership answers.
  std::optional<byte_buffer> early_data;
  bool all_received = false;
  bool failed = false;
  std::vector<member_view> live; // the members that were up when the put began
  std::unique_ptr<sha256_stream> content_hash = std::make_unique<sha256_stream>();
  // The content hash once all data arrived: the manifest is being written (and each attempt
  // masks it under its own version).
  std::optional<sha256_digest> plain_content_hash;
  size_t chunks_in_flight = 0;
  size_t lagging = 0;       // chunks with W copies that still wait for another replica
  uint32_t credit_owed = 0; // credit earned by chunks at W, held back while too many lag
  uint32_t fewest_copies = ~0u;
  std::optional<chunk_cipher> cipher;   // the cluster's data keys
  // The put's replicas: who answered no_space or failed, skipped for the rest of the put.
  std::optional<quorum_writer> writes;
  // The lease on the chunks written so far (see above).
  chunk_lease lease;
  bool lease_confirming = false;
  // When the last touch before the manifest was sent, once every chunk was confirmed.
  std::optional<std::chrono::steady_clock::time_point> lease_confirmed_at;
  std::chrono::steady_clock::time_point manifest_quorum_at;
};

caf::behavior put_session(caf::stateful_actor<put_session_state>* self, node_context_ptr ctx,
                          caf::actor connection, uint64_t request_id, std::string key,
                          uint64_t size);

/// How often a put's manifest, or an rm's tombstone, is written again above a newer version a
/// replica reported before the operation fails: enough to get past a few writers of one key at
/// the same moment; each attempt is a round to R replicas.
constexpr int max_version_retries = 3;

/// The hlc for writing `key` again after a replica answered that it holds `newer`, when
/// `retries` attempts were already made again: `clock` observes `newer` and issues a timestamp
/// above it. errc::superseded after max_version_retries; errc::clock_skew when `newer` is more
/// than max_clock_skew ahead of this node's wall clock (it cannot become the newest version
/// without this node issuing one as far ahead).
caf::expected<uint64_t> next_version_above(hybrid_clock& clock, const std::string& key,
                                           const version& newer, int retries);

} // namespace dfs
