#pragma once
// The whole message vocabulary of a dfs node on one page: every atom and every typed interface.
// Peer-connection brokers speak the replica interface on behalf of the remote node they are
// connected to, so a coordinator talks to a local store and to a remote one with the same
// messages.
#include "common/error.hpp"
#include "net/codec.hpp"
#include "storage/manifest.hpp"

#include <caf/atom.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <caf/actor.hpp>

#include <string>
#include <vector>

namespace dfs {

// -- atoms (at most 10 characters of text) -----------------------------------

using put_chunk_atom = caf::atom_constant<caf::atom("putchunk")>;
using get_chunk_atom = caf::atom_constant<caf::atom("getchunk")>;
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

// -- the replica interface: what one node's storage answers ------------------

/// The store actor interface. Replies come after the data is durable (written, fsynced,
/// renamed). Errors: errc::not_found, errc::corrupt, errc::io_error, errc::no_space,
/// errc::bad_request (a chunk whose bytes do not hash to its id).
using store_actor = caf::typed_actor<
  // Stores a chunk; its SHA-256 must equal the id.
  caf::replies_to<put_chunk_atom, chunk_id, byte_buffer>::with<caf::ok_atom>,
  // Reads a chunk and verifies its hash before answering.
  caf::replies_to<get_chunk_atom, chunk_id>::with<byte_buffer>,
  // For each id, whether this store holds it.
  caf::replies_to<has_chunks_atom, std::vector<chunk_id>>::with<std::vector<bool>>,
  // Keeps the manifest if it is newer than the one held (newest wins); answers ok either way.
  caf::replies_to<put_manifest_atom, manifest>::with<caf::ok_atom>,
  // The newest manifest held for a key, tombstones included; errc::not_found if none.
  caf::replies_to<get_manifest_atom, std::string>::with<manifest>,
  // Every manifest whose key starts with the prefix, tombstones included, sorted by key.
  caf::replies_to<list_manifests_atom, std::string>::with<std::vector<manifest>>,
  // Everything held: chunk ids and manifest keys (for counting copies).
  caf::replies_to<inventory_atom>::with<std::vector<chunk_id>, std::vector<std::string>>>;

} // namespace dfs
