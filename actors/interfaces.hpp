#pragma once
// The whole message vocabulary of a dfs node on one page: every atom and every typed interface.
// Peer-connection brokers speak the replica interface on behalf of the remote node they are
// connected to, so a coordinator talks to a local store and to a remote one with the same
// messages.
#include "common/error.hpp"
#include "common/codec.hpp"
#include "net/messages.hpp"
#include "common/manifest.hpp"

#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>

#include <optional>
#include <chrono>
#include <string>
#include <vector>

namespace dfs {

// -- atoms (at most 10 characters of text) -----------------------------------

using put_chunk_atom = caf::atom_constant<caf::atom("putchunk")>;
using get_chunk_atom = caf::atom_constant<caf::atom("getchunk")>;
using check_chunk_atom = caf::atom_constant<caf::atom("checkchunk")>;
using has_chunks_atom = caf::atom_constant<caf::atom("haschunks")>;
using put_manifest_atom = caf::atom_constant<caf::atom("putmanif")>;
using get_manifest_atom = caf::atom_constant<caf::atom("getmanif")>;
using list_manifests_atom = caf::atom_constant<caf::atom("listmanif")>;
using inventory_atom = caf::atom_constant<caf::atom("inventory")>;
using peer_up_atom = caf::atom_constant<caf::atom("peerup")>;
using peer_down_atom = caf::atom_constant<caf::atom("peerdown")>;
using members_atom = caf::atom_constant<caf::atom("members")>;
using gossip_atom = caf::atom_constant<caf::atom("gossip")>;
using dial_atom = caf::atom_constant<caf::atom("dial")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using timeout_atom = caf::atom_constant<caf::atom("timeout")>;
using credit_atom = caf::atom_constant<caf::atom("credit")>;
using data_atom = caf::atom_constant<caf::atom("data")>;
using frame_atom = caf::atom_constant<caf::atom("frame")>;
using ls_atom = caf::atom_constant<caf::atom("ls")>;
using stat_atom = caf::atom_constant<caf::atom("stat")>;
using status_atom = caf::atom_constant<caf::atom("status")>;
using rm_atom = caf::atom_constant<caf::atom("rm")>;
using start_put_atom = caf::atom_constant<caf::atom("startput")>;
using start_get_atom = caf::atom_constant<caf::atom("startget")>;
using heartbeat_atom = caf::atom_constant<caf::atom("heartbeat")>;
using delete_chunk_atom = caf::atom_constant<caf::atom("delchunk")>;
using delete_manifest_atom = caf::atom_constant<caf::atom("delmanif")>;
using leave_atom = caf::atom_constant<caf::atom("leave")>;
using left_atom = caf::atom_constant<caf::atom("left")>;
using changed_atom = caf::atom_constant<caf::atom("changed")>;
using resume_atom = caf::atom_constant<caf::atom("resume")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
/// Membership to a peer connection: a parallel connection to the same peer won; close, but
/// linger like any closed peer link, since others may still hold this one's handle.
using superseded_atom = caf::atom_constant<caf::atom("superseded")>;
/// Put session to its own node's store, in front of a put_chunk request: this node sealed the
/// chunk and hashed these very bytes into its id, so the store need not hash them again.
using sealed_here_atom = caf::atom_constant<caf::atom("sealedhere")>;
/// A put session's lease on the chunks it wrote: "touch these", see store_actor.
using touch_chunks_atom = caf::atom_constant<caf::atom("touchchunk")>;
/// A put session's own timer: renew the lease on its chunks.
using renew_lease_atom = caf::atom_constant<caf::atom("renewlease")>;

// The store's settings, local only and outside the typed store_actor interface (its default
// handler: see actors/store.hpp), sent by the node before it spawns anything else.
/// (capacity_atom, uint64_t bytes) -> ok: [storage] capacity.
using capacity_atom = caf::atom_constant<caf::atom("capacity")>;
/// (disk_reserve_atom, uint64_t bytes) -> ok: [storage] reserve.
using disk_reserve_atom = caf::atom_constant<caf::atom("reserve")>;
/// (clock_skew_atom, uint64_t milliseconds) -> ok: [cluster] max_clock_skew.
using clock_skew_atom = caf::atom_constant<caf::atom("clockskew")>;
/// (newest_hlc_atom) -> uint64_t: the largest hlc of the manifests held.
using newest_hlc_atom = caf::atom_constant<caf::atom("newesthlc")>;
/// (gc_grace_atom, caf::timespan grace) -> ok: [cluster] gc_grace.
using gc_grace_atom = caf::atom_constant<caf::atom("gcgrace")>;

// The chunk readers (actors/chunk_reader.hpp): read a chunk off the store's thread.
using read_chunk_atom = caf::atom_constant<caf::atom("readchunk")>;

// The users actor (actors/users.hpp).
/// A client's user add: answered with the new user_record (errc::bad_request for a bad or
/// taken name).
using user_add_atom = caf::atom_constant<caf::atom("useradd")>;
/// A client's user rm (a name): ok, or errc::not_found.
using user_rm_atom = caf::atom_constant<caf::atom("userrm")>;
/// A client's user ls: the live users as a user_list_msg.
using user_ls_atom = caf::atom_constant<caf::atom("userls")>;
/// User records: from a peer link to the users actor (what the peer sent), and from the
/// users actor to a peer link (what to send the peer).
using users_atom = caf::atom_constant<caf::atom("users")>;
/// A peer link came up (the broker's handle): it is sent the whole registry, then each change.
using users_link_atom = caf::atom_constant<caf::atom("userslink")>;

// Sessions and the node's session memory (actors/session_memory.hpp).
/// To a session that waits for session memory: some was given back, try again.
using memory_freed_atom = caf::atom_constant<caf::atom("memfreed")>;
/// A session's own timer: how long it has waited for session memory.
using memory_wait_atom = caf::atom_constant<caf::atom("memwait")>;
/// A get's own timer: has the client returned credit within [node] idle_timeout?
using stall_check_atom = caf::atom_constant<caf::atom("getstall")>;

// The scrubber (actors/scrubber.hpp).
/// (scrub_done_atom, scrub_counters): a pass ended (to the observer, if any).
using scrub_done_atom = caf::atom_constant<caf::atom("scrubdone")>;
/// The scrubber's own timer: the next read, or the next pass.
using scrub_tick_atom = caf::atom_constant<caf::atom("scrubtick")>;

// A peer-connection broker's own timers (actors/peer_connection.hpp).
/// The listener to a connection it accepted, with a bool: you are the oldest one still in the
/// handshake from your address, and that address reached [node] max_pending_per_source (true)
/// or all of them max_pending_handshakes (false); close unless authenticated meanwhile.
using evict_atom = caf::atom_constant<caf::atom("evict")>;
/// A connection to itself: time to look at how long nothing was received.
using idle_check_atom = caf::atom_constant<caf::atom("idlecheck")>;
/// The end of a closed peer connection's lingering (see close_connection).
using linger_end_atom = caf::atom_constant<caf::atom("lingerend")>;

// -- the replica interface: what one node's storage answers ------------------

/// The store actor interface. Replies come after the data is durable (written, flushed,
/// renamed, flushed; writes that arrive together are made durable together: group commit). Errors: errc::not_found, errc::corrupt, errc::io_error, errc::no_space,
/// errc::bad_request (a chunk whose bytes do not hash to its id).
using store_actor = caf::typed_actor<
  // Stores a chunk; its SHA-256 must equal the id.
  caf::replies_to<put_chunk_atom, chunk_id, byte_buffer>::with<caf::ok_atom>,
  // Local, never sent over the wire (no decoder makes it): the same, for a chunk this node's
  // own put session sealed and named, whose id is not checked again (one SHA-256 pass less).
  caf::replies_to<sealed_here_atom, put_chunk_atom, chunk_id, byte_buffer>::with<caf::ok_atom>,
  // Reads a chunk and verifies its hash before answering.
  caf::replies_to<get_chunk_atom, chunk_id>::with<byte_buffer>,
  // For each id, whether this store holds it.
  caf::replies_to<has_chunks_atom, std::vector<chunk_id>>::with<std::vector<bool>>,
  // The same, and each chunk held counts as touched now: collection leaves it alone for
  // gc_grace (a put session's lease on the chunks it wrote).
  caf::replies_to<touch_chunks_atom, std::vector<chunk_id>>::with<std::vector<bool>>,
  // Keeps the manifest if it is newer than the one held (newest wins). Ok only when the store
  // now holds that version or already held that very write; errc::superseded, carrying the
  // version held, when it holds a newer one (or the same version with other contents);
  // errc::clock_skew when the version is more than [cluster] max_clock_skew ahead of this
  // node's wall clock.
  caf::replies_to<put_manifest_atom, manifest>::with<caf::ok_atom>,
  // The newest manifest held for a key, tombstones included; errc::not_found if none.
  caf::replies_to<get_manifest_atom, std::string>::with<manifest>,
  // Every manifest whose key starts with the prefix, tombstones included, sorted by key.
  caf::replies_to<list_manifests_atom, std::string>::with<std::vector<manifest>>,
  // Everything held: chunk ids, manifests (tombstones included) and the bytes the chunks take.
  caf::replies_to<inventory_atom>::with<std::vector<chunk_id>, std::vector<manifest>, uint64_t>,
  // Local housekeeping, never sent over the wire: drop a chunk (a surplus copy); collect a
  // garbage chunk unless it was touched within gc_grace before the given steady-clock time,
  // when the collection pass began (true: gone; false: kept); drop a key's manifest if the
  // version held is still the given one (a newer write in between is kept).
  caf::replies_to<delete_chunk_atom, chunk_id>::with<caf::ok_atom>,
  caf::replies_to<delete_chunk_atom, chunk_id, std::chrono::steady_clock::time_point>::with<bool>,
  caf::replies_to<delete_manifest_atom, std::string, version>::with<caf::ok_atom>,
  // Local: get_chunk on the store's own thread, for a chunk reader whose read failed (see
  // actors/chunk_reader.hpp): a missing chunk is forgotten, a damaged one quarantined.
  caf::replies_to<check_chunk_atom, chunk_id>::with<byte_buffer>,
  // The store's own reminder to make its pending writes durable (it sends this to itself).
  caf::reacts_to<commit_atom>>;

// -- membership --------------------------------------------------------------

/// What a peer said about itself in its (authenticated) hello.
struct peer_info {
  std::string node_id;
  std::string name;
  std::string listen_address;
};

/// One member as this node sees it. `replica` speaks store_actor's messages: the local store
/// for this node itself, the peer-connection broker for a connected peer (invalid otherwise).
struct member_view {
  std::string node_id;
  std::string name;
  std::string address;
  member_state state = member_state::down;
  caf::actor replica;
  /// The node ids this member last said it waits for (suspect or down in its view), replaced
  /// by each of its gossips; nullopt until it has said so on its current connection. Used only
  /// to hold garbage collection back (actors/collection_gate.hpp), never to make a member.
  std::optional<std::vector<std::string>> waits_for = std::nullopt;

  /// New data is placed only on members that are up and not leaving.
  bool placement_target() const { return state == member_state::up && replica; }
  /// Data is read from (and repaired out of) members that are up or leaving.
  bool readable() const {
    return replica && (state == member_state::up || state == member_state::leaving);
  }
};

/// The membership actor interface: the roster, the failure detector, dialing, gossip.
using membership_actor = caf::typed_actor<
  // A broker finished a handshake with a peer; the answer says whether to keep the connection
  // (false for a duplicate: of two connections between the same nodes, both keep the one
  // dialed by the node with the smaller id).
  caf::replies_to<peer_up_atom, peer_info, caf::actor, bool>::with<bool>,
  // A broker closed its connection to a peer. It says so at once because it lingers a while
  // before it terminates (see actors/peer_connection.hpp), and a monitor only fires at the end.
  caf::reacts_to<peer_down_atom, caf::actor>,
  // A peer's heartbeat arrived, with the peer's wall clock in milliseconds (any sign of life
  // counts for the failure detector; the clocks, see actors/peer_clocks.hpp).
  caf::reacts_to<heartbeat_atom, std::string, uint64_t>,
  // A peer's view of the roster and the ids it waits for, with the peer's node id as its
  // handshake proved it.
  caf::reacts_to<gossip_atom, std::string, std::vector<roster_entry>, std::vector<std::string>>,
  // Every member ever seen, this node first, with its state.
  caf::replies_to<members_atom>::with<std::vector<member_view>>,
  // Decommission the named member: it becomes leaving, hands its data over, then is left.
  caf::replies_to<leave_atom, std::string>::with<caf::ok_atom>,
  // From this node's replication actor: it was leaving and now holds nothing anyone needs.
  caf::reacts_to<left_atom>,
  // Internal timer: heartbeats, failure detection, dialing, gossip.
  caf::reacts_to<tick_atom>>;

/// The replication actor interface: repair, hand-off, anti-entropy and garbage collection.
using replication_actor = caf::typed_actor<
  // Membership changed (a member went down, came up, joined or is leaving): compare soon.
  caf::reacts_to<changed_atom>,
  // Internal timer: the periodic comparison (anti-entropy), every anti_entropy_interval.
  caf::reacts_to<tick_atom>,
  // Internal: go on with a pass's copies after waiting for the repair_rate.
  caf::reacts_to<resume_atom>>;

// -- coordinator ---------------------------------------------------------------

/// The coordinator actor interface: the client operations that are one request, one answer.
/// Streams (put, get) run in session actors of their own, spawned by the client's connection.
using coordinator_actor = caf::typed_actor<
  caf::replies_to<ls_atom, std::string>::with<ls_result_msg>,
  caf::replies_to<stat_atom, std::string>::with<stat_result_msg>,
  // The version of the tombstone written (the one the replicas acknowledged).
  caf::replies_to<rm_atom, std::string>::with<version>,
  caf::replies_to<status_atom>::with<status_result_msg>,
  caf::replies_to<leave_atom, std::string>::with<caf::ok_atom>>;

} // namespace dfs

// Our message structs travel between actors of one process only; on the wire they are encoded
// by our own codec (net/messages.hpp), never by CAF's serializers.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::chrono::steady_clock::time_point)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dfs::peer_info)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dfs::roster_entry)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dfs::roster_entry>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dfs::version)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dfs::member_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dfs::member_view>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dfs::ls_result_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dfs::stat_result_msg)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dfs::status_result_msg)
