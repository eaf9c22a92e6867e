#pragma once
// Reading from the cluster: the newest manifest of a key, and a chunk from whichever replica
// has a good copy. Shared by get sessions and the coordinator (templates, because one is an
// event-based actor and the other a typed one).
#include "actors/fan_out.hpp"
#include "actors/node_context.hpp"
#include "actors/placement.hpp"
#include "common/log.hpp"

#include <functional>
#include <optional>
#include <set>

namespace dfs {

/// The members to read from: up or leaving, and connected (this node always).
std::vector<member_view> readable_members(const std::vector<member_view>& members);

/// The members new data goes to: up and not leaving.
std::vector<member_view> placement_targets(const std::vector<member_view>& members);

/// The live members in the order to try them for a chunk: a local copy first (it costs no
/// network), then the rendezvous order, so the chunk's replicas come before everyone else.
std::vector<member_view> read_order(const node_context& ctx, const std::vector<member_view>& live,
                                    const chunk_id& id);

/// The members an item goes to: the first min(R, pool) of the pool in rendezvous order.
std::vector<member_view> replicas_for(const sha256_digest& item, const std::vector<member_view>& pool,
                                      size_t replicas);

/// The node ids that should hold a chunk: its first R placement targets among `live`.
std::set<std::string> chunk_target_ids(const node_context& ctx, const std::vector<member_view>& live,
                                       const chunk_id& id);

/// Asks every live member for the key's manifest and hands on the newest (tombstones included),
/// with how many members hold that newest version; nullopt when nobody has one.
template <class Self>
void find_newest_manifest(Self* self, const node_context& ctx, const std::vector<member_view>& live,
                          const std::string& key,
                          std::function<void(std::optional<manifest>, size_t copies)> then) {
  struct gathered {
    std::optional<manifest> newest;
    size_t copies = 0;
  };
  auto g = std::make_shared<gathered>();
  fan_out(
    self, live, caf::make_message(get_manifest_atom::value, key), ctx.request_timeout,
    [g](const member_view&, manifest& m) {
      if (!g->newest || m.newer_than(*g->newest)) {
        g->newest = std::move(m);
        g->copies = 1;
      } else if (m.version == g->newest->version) {
        ++g->copies;
      }
    },
    [key](const member_view& m, const caf::error& err) {
      if (code_of(err) != errc::not_found)
        DFS_WARN("read_path", "manifest of '" << key << "' from " << m.name << ": " << describe(err));
    },
    [g, then] { then(std::move(g->newest), g->copies); });
}

namespace detail {

/// Read repair: a replica that should hold the chunk but answered "not found" or "corrupt" gets
/// the good copy that another replica gave. Fire and forget: a failure here changes nothing for
/// the reader, and anti-entropy catches what this misses.
template <class Self>
void repair_replicas(Self* self, const std::vector<member_view>& bad, const chunk_id& id,
                     const byte_buffer& bytes, std::chrono::seconds timeout) {
  if (bad.empty())
    return;
  auto request = caf::make_message(put_chunk_atom::value, id, bytes);
  for (auto& m : bad) {
    DFS_INFO("read_path", "repairing chunk " << id.hex() << " on " << m.name);
    self->request(m.replica, timeout, request).then([](caf::ok_atom) {}, [](caf::error&) {});
  }
}

/// Turns a chunk's verified stored bytes into what the reader wants (the get session decrypts);
/// an error counts like a corrupt copy: the next replica is tried.
/// It may use the stored bytes up (decrypt in place): it gets them only when nothing else needs
/// them afterwards, a copy otherwise.
using chunk_opener = std::function<caf::expected<byte_buffer>(byte_buffer&& stored)>;

template <class Self>
void try_replica(Self* self, std::shared_ptr<std::vector<member_view>> order, size_t index,
                 chunk_id id, std::chrono::seconds timeout, std::set<std::string> targets,
                 std::shared_ptr<std::vector<member_view>> bad, chunk_opener open,
                 std::function<void(caf::expected<byte_buffer>)> then, std::string local_node) {
  if (index >= order->size())
    return then(make_error(errc::unavailable,
                           "no live replica has a good copy of chunk " + id.hex()));
  auto member = (*order)[index];
  self->request(member.replica, timeout, get_chunk_atom::value, id)
    .then(
      [=](byte_buffer& bytes) {
        // A remote copy is checked here too: it crossed the network after its node checked it.
        // The local store's copy was checked by its chunk reader a moment ago; hashing it again
        // would be a large share of a get's CPU (docs/PERFORMANCE.md, "Large get").
        if (member.node_id != local_node && chunk_id::of(bytes.data(), bytes.size()) != id) {
          DFS_WARN("read_path", "chunk " << id.hex() << " from " << member.name << " is corrupt");
          return try_replica(self, order, index + 1, id, timeout, targets, bad, open, then, local_node);
        }
        if (open) {
          // The stored bytes are needed again only to repair bad replicas.
          auto opened = bad->empty() ? open(std::move(bytes)) : open(byte_buffer{bytes});
          if (!opened) {
            DFS_WARN("read_path", "chunk " << id.hex() << " from " << member.name << ": "
                                            << describe(opened.error()));
            return try_replica(self, order, index + 1, id, timeout, targets, bad, open, then, local_node);
          }
          repair_replicas(self, *bad, id, bytes, timeout);
          return then(std::move(*opened));
        }
        repair_replicas(self, *bad, id, bytes, timeout);
        then(std::move(bytes));
      },
      [=](caf::error& err) {
        DFS_DEBUG("read_path", "chunk " << id.hex() << " from " << member.name << ": " << describe(err));
        auto code = code_of(err);
        // Only the chunk's targets are repaired: a non-target without it is as it should be.
        if ((code == errc::not_found || code == errc::corrupt) && targets.count(member.node_id))
          bad->push_back(member);
        try_replica(self, order, index + 1, id, timeout, targets, bad, open, then, local_node);
      });
}

} // namespace detail

/// Fetches a chunk from the first member in read_order that has a good copy, checking that the
/// bytes hash to the id and, when `open` is given, that it accepts them (it decrypts: a tag that
/// does not verify counts as a bad copy); a missing or bad copy is skipped, and replaced from the
/// good one when that member is one of the chunk's targets. `then` gets what `open` made of
/// the good copy, or the stored bytes without an `open`.
template <class Self>
void fetch_chunk(Self* self, const node_context& ctx, const std::vector<member_view>& live,
                 const chunk_id& id, std::function<void(caf::expected<byte_buffer>)> then,
                 detail::chunk_opener open = {}) {
  auto order = std::make_shared<std::vector<member_view>>(read_order(ctx, live, id));
  auto bad = std::make_shared<std::vector<member_view>>();
  detail::try_replica(self, order, 0, id, ctx.read_attempt_timeout, chunk_target_ids(ctx, live, id),
                      bad, std::move(open), std::move(then), ctx.node_id);
}

} // namespace dfs
