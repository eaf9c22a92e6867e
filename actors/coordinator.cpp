#include "actors/coordinator.hpp"

#include "actors/collection_gate.hpp"
#include "actors/fan_out.hpp"
#include "common/unexpected_messages.hpp"
#include "actors/put_session.hpp"
#include "actors/quorum_write.hpp"
#include "actors/read_path.hpp"
#include "actors/scrubber.hpp"
#include "common/log.hpp"
#include "common/chunk_cipher.hpp"
#include "storage/node_usage.hpp"

#include <map>

namespace dfs {

namespace {

using self_ptr = coordinator_actor::stateful_pointer<coordinator_state>;

/// Runs f(live members) once membership answers; errors go to the promise.
template <class Promise, class F>
void with_members(self_ptr self, Promise rp, F f) {
  self->request(self->state.ctx->membership, self->state.ctx->request_timeout, members_atom::value)
    .then([=](std::vector<member_view>& members) mutable { f(std::move(members)); },
          [=](caf::error& err) mutable { rp.deliver(std::move(err)); });
}

void ls(self_ptr self, const std::string& prefix, caf::typed_response_promise<ls_result_msg> rp) {
  with_members(self, rp, [=](std::vector<member_view> members) mutable {
    auto live = readable_members(members);
    auto newest = std::make_shared<std::map<std::string, manifest>>();
    fan_out(
      self, live, caf::make_message(list_manifests_atom::value, prefix),
      self->state.ctx->request_timeout,
      [newest](const member_view&, std::vector<manifest>& ms) {
        for (auto& m : ms) {
          auto i = newest->find(m.key);
          if (i == newest->end())
            newest->emplace(m.key, std::move(m));
          else if (m.newer_than(i->second))
            i->second = std::move(m);
        }
      },
      [](const member_view& m, const caf::error& err) {
        DFS_WARN("coordinator", "ls on " << m.name << ": " << describe(err));
      },
      [newest, rp]() mutable {
        ls_result_msg result;
        for (auto& [key, m] : *newest)
          if (!m.deleted)
            result.entries.push_back({key, m.size, m.version.to_string()});
        rp.deliver(std::move(result));
      });
  });
}

void stat(self_ptr self, const std::string& key, caf::typed_response_promise<stat_result_msg> rp) {
  with_members(self, rp, [=](std::vector<member_view> members) mutable {
    auto live = std::make_shared<std::vector<member_view>>(readable_members(members));
    find_newest_manifest(
      self, *self->state.ctx, *live, key,
      [=](std::optional<manifest> newest, size_t manifest_copies) mutable {
        if (!newest || newest->deleted) {
          rp.deliver(make_error(errc::not_found, "not found: " + key));
          return;
        }
        auto file = std::make_shared<manifest>(std::move(*newest));
        std::vector<chunk_id> ids;
        for (auto& c : file->chunks)
          ids.push_back(c.id);
        auto holders = std::make_shared<std::vector<uint32_t>>(ids.size(), 0);
        fan_out(
          self, *live, caf::make_message(has_chunks_atom::value, ids),
          self->state.ctx->request_timeout,
          [holders](const member_view&, std::vector<bool>& present) {
            for (size_t i = 0; i < present.size() && i < holders->size(); ++i)
              (*holders)[i] += present[i] ? 1 : 0;
          },
          [](const member_view&, const caf::error&) {},
          [=]() mutable {
            auto copies = static_cast<uint32_t>(manifest_copies);
            for (auto h : *holders)
              copies = std::min(copies, h);
            // The manifest holds the content hash masked under the data keys (see put_session).
            chunk_cipher cipher{self->state.ctx->config.secret};
            auto content_hash = cipher.mask_content_hash(file->key, file->version, file->content_hash);
            rp.deliver(stat_result_msg{file->key, file->size,
                                       static_cast<uint32_t>(file->chunks.size()),
                                       file->version.to_string(), copies, to_hex(content_hash)});
          });
      });
  });
}

/// Writes the tombstone of `key` at version `hlc` to its replicas as a put writes its manifest
/// (actors/quorum_write.hpp: a full replica's place goes to the next member in rendezvous
/// order); writes it again above a newer version a replica reports (next_version_above), so
/// that an rm is acknowledged only once its tombstone is the newest version on the replicas
/// that took it. Answers that version.
void write_tombstone(self_ptr self, const std::string& key, quorum_writer writer,
                     std::vector<member_view> ranking, uint64_t hlc, int retries,
                     caf::typed_response_promise<version> rp) {
  auto& ctx = *self->state.ctx;
  manifest tombstone;
  tombstone.key = key;
  tombstone.deleted = true;
  tombstone.version = {hlc, ctx.node_id};
  quorum_item item;
  item.replicas = std::min<size_t>(ctx.config.replicas, ranking.size());
  item.needed = std::min<size_t>(ctx.config.write_quorum, item.replicas);
  item.ranking = ranking;
  item.request = caf::make_message(put_manifest_atom::value, tombstone);
  item.on_settled = [key, rp, removed = tombstone.version](size_t, caf::message&) mutable {
    DFS_INFO("coordinator", "removed '" << key << "'");
    rp.deliver(removed);
  };
  // A disk full past its reserve ([storage] reserve) on too many replicas is named in the
  // error, as a put names it: it is what the user must fix.
  item.on_failed = [rp](const caf::error& err) mutable { rp.deliver(err); };
  item.on_superseded = [=](const version& newer) mutable {
    auto next = next_version_above(*self->state.ctx->clock, key, newer, retries);
    if (!next)
      rp.deliver(next.error());
    else
      write_tombstone(self, key, writer, std::move(ranking), *next, retries + 1, rp);
  };
  writer.write(std::move(item));
}

void rm(self_ptr self, const std::string& key, caf::typed_response_promise<version> rp) {
  with_members(self, rp, [=](std::vector<member_view> members) mutable {
    auto live = std::make_shared<std::vector<member_view>>(readable_members(members));
    auto pool = placement_targets(members);
    find_newest_manifest(
      self, *self->state.ctx, *live, key,
      [=](std::optional<manifest> newest, size_t) mutable {
        if (!newest || newest->deleted) {
          rp.deliver(make_error(errc::not_found, "not found: " + key));
          return;
        }
        auto& ctx = *self->state.ctx;
        auto hlc = ctx.clock->next();
        if (!hlc) {
          rp.deliver(hlc.error());
          return;
        }
        quorum_writer writer{"rm of '" + key + "'", ctx.node_id,
                             requests_from(self, ctx.request_timeout)};
        auto ranking = replicas_for(manifest_placement_id(key), pool, pool.size());
        write_tombstone(self, key, std::move(writer), std::move(ranking), *hlc, 0, rp);
      });
  });
}

/// Fills in each live member's used bytes and capacity (storage/node_usage.hpp), then answers.
void add_usage(self_ptr self, const std::vector<member_view>& live,
               std::shared_ptr<status_result_msg> result,
               caf::typed_response_promise<status_result_msg> rp) {
  fan_out(
    self, live, caf::make_message(get_manifest_atom::value, node_usage_key()),
    self->state.ctx->request_timeout,
    [result](const member_view& m, manifest& answer) {
      auto usage = parse_node_usage(answer);
      if (!usage)
        return;
      for (auto& row : result->members)
        if (row.node_id == m.node_id) {
          row.used = usage->used;
          row.capacity = usage->capacity;
        }
    },
    [](const member_view& m, const caf::error& err) {
      DFS_DEBUG("coordinator", "usage of " << m.name << ": " << describe(err));
    },
    [result, rp]() mutable { rp.deliver(std::move(*result)); });
}

void status(self_ptr self, caf::typed_response_promise<status_result_msg> rp) {
  with_members(self, rp, [=](std::vector<member_view> members) mutable {
    auto& ctx = *self->state.ctx;
    auto result = std::make_shared<status_result_msg>();
    result->node = ctx.config.name;
    for (auto& m : members) {
      member_status row;
      row.name = m.name;
      row.node_id = m.node_id;
      row.address = m.address;
      row.state = to_string(m.state);
      result->members.push_back(std::move(row));
    }
    result->collection_waits = collection_waits(members, ctx.node_id);
    auto live = readable_members(members);
    // Copies of every item on live members, by item: chunks by id, manifests by key.
    auto chunk_copies = std::make_shared<std::map<chunk_id, size_t>>();
    auto manifest_copies = std::make_shared<std::map<std::string, size_t>>();
    size_t expected = std::min<size_t>(ctx.config.replicas, placement_targets(members).size());
    size_t replicas = ctx.config.replicas;
    fan_out(
      self, live, caf::make_message(inventory_atom::value), ctx.request_timeout,
      [=](const member_view& m, std::vector<chunk_id>& chunks, std::vector<manifest>& manifests,
          uint64_t bytes) {
        for (auto& c : chunks)
          ++(*chunk_copies)[c];
        for (auto& mf : manifests)
          ++(*manifest_copies)[mf.key];
        for (auto& row : result->members)
          if (row.node_id == m.node_id) {
            row.chunks = chunks.size();
            row.bytes = bytes;
          }
      },
      [](const member_view& m, const caf::error& err) {
        DFS_WARN("coordinator", "inventory of " << m.name << ": " << describe(err));
      },
      [=]() mutable {
        auto count = [&](size_t n) {
          result->under_replicated += n < expected ? 1 : 0;
          result->over_replicated += n > replicas ? 1 : 0;
        };
        for (auto& [id, n] : *chunk_copies)
          count(n);
        for (auto& [key, n] : *manifest_copies)
          count(n);
        add_usage(self, live, result, rp);
      });
  });
}

} // namespace

coordinator_actor::behavior_type
coordinator(coordinator_actor::stateful_pointer<coordinator_state> self, node_context_ptr ctx) {
  drop_unexpected_messages(self);
  self->state.ctx = ctx;
  // The scrubber starts with the coordinator (the store's settings were given by the node before
  // it spawned anything that talks to the store: actors/node.cpp).
  if (ctx->config.scrub_interval.count() > 0)
    self->spawn(scrubber, ctx, caf::actor_cast<caf::actor>(self), caf::actor{});
  return {
    [=](ls_atom, const std::string& prefix) {
      auto rp = self->make_response_promise<ls_result_msg>();
      ls(self, prefix, rp);
      return rp;
    },
    [=](stat_atom, const std::string& key) {
      auto rp = self->make_response_promise<stat_result_msg>();
      stat(self, key, rp);
      return rp;
    },
    [=](rm_atom, const std::string& key) {
      auto rp = self->make_response_promise<version>();
      rm(self, key, rp);
      return rp;
    },
    [=](status_atom) {
      auto rp = self->make_response_promise<status_result_msg>();
      status(self, rp);
      return rp;
    },
    [=](leave_atom, const std::string& name) {
      // Decommissioning is a membership decision; it spreads from here by gossip.
      return self->delegate(self->state.ctx->membership, leave_atom::value, name);
    },
  };
}

} // namespace dfs
