#pragma once
// The scrubber re-reads every chunk this node holds, in the background, so that a bit that rots
// on a disk nobody reads is found before the other copies go too. Each pass (every
// [storage] scrub_interval seconds, counted from the end of the previous one) takes the store's
// list of chunks and asks the store for each in turn: the store checks the bytes against the id
// and moves a bad copy to quarantine/ (chunk_store::get). The scrubber then fetches a good copy
// from a replica, and read repair (actors/read_path.hpp) writes it back here; anti-entropy would
// find the gap as well, a little later. Reads are paced to [storage] scrub_rate bytes per second
// and go one at a time, so clients keep the disk.
//
// The pass's counts are logged ("scrub pass: ... verified, ... quarantined, ... replaced") and,
// when an observer is given, sent to it after each pass as (scrub_done_atom, scrub_counters).
//
// The SHA-256 check is all a scrub needs: the id is the hash of the stored (encrypted) bytes, so
// a copy that matches it is exactly what the writer stored, and its GCM tag verifies if it did
// then.
//
// After the chunks, the pass reads back every inline file (a small file inside its manifest,
// common/manifest.hpp) through get_manifest: the store checks the manifest file's checksum and
// forgets a damaged one, and the scrubber then puts the newest manifest of the key, fetched from
// the replicas, back into this node's store.
#include "actors/interfaces.hpp"
#include "actors/node_context.hpp"
#include "common/pacer.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>

#include <chrono>
#include <vector>

namespace dfs {

struct scrub_counters {
  uint64_t passes = 0;
  uint64_t verified = 0;        // chunks read back intact
  uint64_t inline_verified = 0; // inline files read back intact
  uint64_t bytes = 0;           // bytes those chunks and inline files hold
  uint64_t quarantined = 0; // chunks that failed their check and were quarantined, and inline
                            // files that failed theirs and were forgotten (manifest_store::get)
  uint64_t replaced = 0;    // of those, fetched again from a replica and stored again
  uint64_t vanished = 0;    // listed at the start of the pass, gone by their turn (GC, drop)
  uint64_t errors = 0;      // reads that failed otherwise (I/O errors, timeouts)

  scrub_counters& operator+=(const scrub_counters& other);
};

/// What one answer of the store to a scrub read means.
enum class scrub_verdict { good, quarantined, vanished, failed };
scrub_verdict judge_scrub_read(const caf::error& err);

struct scrubber_state {
  static inline const char* name = "scrubber";
  using clock = std::chrono::steady_clock;

  node_context_ptr ctx;
  caf::actor observer;
  std::vector<chunk_id> queue;         // this pass's chunks
  std::vector<std::string> inline_keys; // then its inline files, by key
  size_t next = 0;                      // into queue, then on into inline_keys
  bool running = false;
  pacer read_pacer;    // [storage] scrub_rate
  scrub_counters pass;  // the pass under way
  scrub_counters total; // since the node started
  clock::time_point pass_started;
};

/// Runs passes every ctx->config.scrub_interval (none if it is 0). A (tick_atom) message starts
/// a pass at once unless one is under way. `owner`, if valid, is monitored: the scrubber ends
/// with it.
caf::behavior scrubber(caf::stateful_actor<scrubber_state>* self, node_context_ptr ctx,
                       caf::actor owner, caf::actor observer);

} // namespace dfs

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dfs::scrub_counters)
