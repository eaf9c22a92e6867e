#include "actors/scrubber.hpp"

#include "actors/read_path.hpp"
#include "common/unexpected_messages.hpp"
#include "common/log.hpp"

#include <algorithm>
#include <functional>

namespace dfs {

scrub_counters& scrub_counters::operator+=(const scrub_counters& other) {
  passes += other.passes;
  verified += other.verified;
  inline_verified += other.inline_verified;
  bytes += other.bytes;
  quarantined += other.quarantined;
  replaced += other.replaced;
  vanished += other.vanished;
  errors += other.errors;
  return *this;
}

scrub_verdict judge_scrub_read(const caf::error& err) {
  if (!err)
    return scrub_verdict::good;
  switch (code_of(err)) {
    case errc::corrupt:
      return scrub_verdict::quarantined;
    case errc::not_found:
      return scrub_verdict::vanished;
    default:
      return scrub_verdict::failed;
  }
}

namespace {

using self_ptr = caf::stateful_actor<scrubber_state>*;

void scrub_next(self_ptr self);

void schedule_next(self_ptr self, pacer::clock::duration wait) {
  if (wait <= pacer::clock::duration::zero())
    self->send(self, resume_atom::value);
  else
    self->delayed_send(self, wait, resume_atom::value);
}

void arm_timer(self_ptr self) {
  auto interval = self->state.ctx->config.scrub_interval;
  if (interval.count() > 0)
    self->delayed_send(self, interval, scrub_tick_atom::value);
}

void end_pass(self_ptr self) {
  auto& st = self->state;
  st.running = false;
  st.pass.passes = 1;
  st.total += st.pass;
  std::vector<chunk_id>{}.swap(st.queue);
  std::vector<std::string>{}.swap(st.inline_keys);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(scrubber_state::clock::now()
                                                                  - st.pass_started)
              .count();
  auto& p = st.pass;
  auto line = "scrub pass: " + std::to_string(p.verified) + " chunks and "
              + std::to_string(p.inline_verified) + " inline files (" + std::to_string(p.bytes)
              + " bytes) verified, " + std::to_string(p.quarantined) + " quarantined, "
              + std::to_string(p.replaced) + " replaced, " + std::to_string(p.vanished)
              + " vanished, " + std::to_string(p.errors) + " errors in " + std::to_string(ms)
              + " ms; since start: " + std::to_string(st.total.passes) + " passes, "
              + std::to_string(st.total.verified) + " verified, "
              + std::to_string(st.total.quarantined) + " quarantined, "
              + std::to_string(st.total.replaced) + " replaced";
  if (p.quarantined > 0 || p.errors > 0)
    DFS_INFO("scrubber", line);
  else
    DFS_DEBUG("scrubber", line);
  if (st.observer)
    self->send(st.observer, scrub_done_atom::value, st.total);
  arm_timer(self);
}

void start_pass(self_ptr self) {
  auto& st = self->state;
  if (st.running)
    return;
  st.running = true;
  st.pass = {};
  st.pass_started = scrubber_state::clock::now();
  self->request(st.ctx->store, st.ctx->request_timeout, inventory_atom::value)
    .then(
      [self](std::vector<chunk_id>& ids, std::vector<manifest>& manifests, uint64_t) {
        self->state.queue = std::move(ids);
        self->state.inline_keys.clear();
        for (auto& m : manifests)
          if (m.is_inline())
            self->state.inline_keys.push_back(std::move(m.key));
        self->state.next = 0;
        scrub_next(self);
      },
      [self](caf::error& err) {
        DFS_WARN("scrubber", "cannot list this node's chunks: " << describe(err));
        ++self->state.pass.errors;
        end_pass(self);
      });
}

/// A chunk failed its check here and is in quarantine now: fetch a good copy from a replica and
/// store it again.
void restore(self_ptr self, const chunk_id& id) {
  auto ctx = self->state.ctx;
  auto store = ctx->store;
  self->request(ctx->membership, ctx->request_timeout, members_atom::value)
    .then(
      [self, ctx, store, id](std::vector<member_view>& members) {
        auto live = readable_members(members);
        fetch_chunk(self, *ctx, live, id, [self, ctx, store, id](caf::expected<byte_buffer> bytes) {
          if (!bytes) {
            DFS_WARN("scrubber", "no good copy of chunk " << id.hex() << " to replace the bad one: "
                                                          << describe(bytes.error())
                                                          << "; anti-entropy will try again");
            return;
          }
          self->request(store, ctx->request_timeout, put_chunk_atom::value, id, std::move(*bytes))
            .then(
              [self, id](caf::ok_atom) {
                auto& st = self->state;
                ++(st.running ? st.pass : st.total).replaced;
                DFS_INFO("scrubber", "replaced chunk " << id.hex() << " with a good copy from a replica");
              },
              [id](caf::error& err) {
                DFS_WARN("scrubber", "cannot store the good copy of chunk " << id.hex() << ": "
                                                                            << describe(err));
              });
        });
      },
      [id](caf::error& err) {
        DFS_WARN("scrubber", "cannot restore chunk " << id.hex() << ": " << describe(err));
      });
}

/// Counts a read the store refused, starts the repair of a copy that failed its check (`what`
/// names the item in the log, `fate` says what the store did with the bad copy), and moves on.
void count_failed_read(self_ptr self, const caf::error& err, const std::string& what,
                       const char* fate, const std::function<void()>& restore_it) {
  auto& st = self->state;
  switch (judge_scrub_read(err)) {
    case scrub_verdict::quarantined:
      ++st.pass.quarantined;
      DFS_WARN("scrubber", what << " failed its check and " << fate << ": " << describe(err));
      restore_it();
      break;
    case scrub_verdict::vanished:
      ++st.pass.vanished;
      break;
    default:
      ++st.pass.errors;
      DFS_WARN("scrubber", "cannot read " << what << ": " << describe(err));
      break;
  }
  schedule_next(self, st.read_pacer.after(scrubber_state::clock::now(), 0));
}

/// An inline file failed its check here and the store forgot it: put the newest manifest of the
/// key, from the replicas, back into this node's store.
void restore_inline(self_ptr self, const std::string& key) {
  auto ctx = self->state.ctx;
  self->request(ctx->membership, ctx->request_timeout, members_atom::value)
    .then(
      [self, ctx, key](std::vector<member_view>& members) {
        find_newest_manifest(
          self, *ctx, readable_members(members), key,
          [self, ctx, key](std::optional<manifest> newest, size_t) {
            if (!newest) {
              DFS_WARN("scrubber", "no good copy of the inline file '"
                                     << key << "' to replace the bad one; anti-entropy will try again");
              return;
            }
            self->request(ctx->store, ctx->request_timeout, put_manifest_atom::value, *newest)
              .then(
                [self, key](caf::ok_atom) {
                  auto& st = self->state;
                  ++(st.running ? st.pass : st.total).replaced;
                  DFS_INFO("scrubber", "replaced the inline file '" << key
                                                                    << "' with a good copy from a replica");
                },
                [key](caf::error& err) {
                  DFS_WARN("scrubber", "cannot store the good copy of the inline file '"
                                         << key << "': " << describe(err));
                });
          });
      },
      [key](caf::error& err) {
        DFS_WARN("scrubber", "cannot restore the inline file '" << key << "': " << describe(err));
      });
}

void scrub_inline(self_ptr self, const std::string& key) {
  auto& st = self->state;
  self->request(st.ctx->store, st.ctx->request_timeout, get_manifest_atom::value, key)
    .then(
      [self](manifest& m) {
        auto& st = self->state;
        if (m.is_inline()) // else replaced by a chunked version or a tombstone since the listing
          ++st.pass.inline_verified;
        st.pass.bytes += m.inline_data.size();
        schedule_next(self, st.read_pacer.after(scrubber_state::clock::now(), m.inline_data.size()));
      },
      [self, key](caf::error& err) {
        count_failed_read(self, err, "the inline file '" + key + "'",
                          "is forgotten until a good copy replaces it",
                          [self, key] { restore_inline(self, key); });
      });
}

void scrub_next(self_ptr self) {
  auto& st = self->state;
  if (st.next >= st.queue.size() + st.inline_keys.size())
    return end_pass(self);
  if (st.next >= st.queue.size())
    return scrub_inline(self, st.inline_keys[st.next++ - st.queue.size()]);
  auto id = st.queue[st.next++];
  self->request(st.ctx->store, st.ctx->request_timeout, get_chunk_atom::value, id)
    .then(
      [self](byte_buffer& bytes) {
        auto& st = self->state;
        ++st.pass.verified;
        st.pass.bytes += bytes.size();
        schedule_next(self, st.read_pacer.after(scrubber_state::clock::now(), bytes.size()));
      },
      [self, id](caf::error& err) {
        count_failed_read(self, err, "chunk " + id.hex(), "was quarantined",
                          [self, id] { restore(self, id); });
      });
}

} // namespace

caf::behavior scrubber(caf::stateful_actor<scrubber_state>* self, node_context_ptr ctx,
                       caf::actor owner, caf::actor observer) {
  drop_unexpected_messages(self);
  auto& st = self->state;
  st.ctx = ctx;
  st.observer = std::move(observer);
  st.read_pacer = pacer{ctx->config.scrub_rate};
  if (owner) {
    self->monitor(owner);
    self->set_down_handler([self](caf::down_msg&) { self->quit(); });
  }
  arm_timer(self);
  return {
    [self](scrub_tick_atom) { start_pass(self); },
    [self](tick_atom) { start_pass(self); },
    [self](resume_atom) { scrub_next(self); },
  };
}

} // namespace dfs
