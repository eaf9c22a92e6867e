#include "actors/replication.hpp"

#include <algorithm>
#include "common/unexpected_messages.hpp"

#include "actors/collection_gate.hpp"
#include "actors/fan_out.hpp"
#include "actors/read_path.hpp"
#include "common/log.hpp"

#include <set>

namespace dfs {

namespace {

using self_ptr = replication_actor::stateful_pointer<replication_state>;
using clock = replication_state::clock;

/// What the readable members hold, and whether every one of them answered.
struct gathered : holdings {
  bool complete = true;
};

void run_next_task(self_ptr self);

void finish_pass(self_ptr self) {
  auto& st = self->state;
  st.pass_running = false;
  if (st.pass_wanted) {
    st.pass_wanted = false;
    // Soon, not at once: a burst of membership changes then costs one pass, not one each.
    self->delayed_send(self, std::chrono::milliseconds{200}, changed_atom::value);
  }
}

void run_next_task(self_ptr self) {
  auto& st = self->state;
  if (st.tasks.empty())
    return finish_pass(self);
  auto task = std::move(st.tasks.front());
  st.tasks.pop_front();
  task([self] { run_next_task(self); });
}

/// False when a copy now would go over repair_rate: `task` then goes back to the head of the
/// queue, and the queue resumes once the rate allows.
bool within_repair_rate(self_ptr self, std::function<void(std::function<void()>)> task) {
  auto& st = self->state;
  auto wait = st.copy_pacer.wait(clock::now());
  if (wait == clock::duration::zero())
    return true;
  st.tasks.push_front(std::move(task));
  // Rounded up: a resume a little early would only find the wait not over.
  self->delayed_send(self, std::chrono::duration_cast<std::chrono::milliseconds>(wait)
                             + std::chrono::milliseconds{1}, resume_atom::value);
  return false;
}

/// Counts `bytes` copied against repair_rate.
void charge_repair_rate(self_ptr self, uint64_t bytes) {
  self->state.copy_pacer.charge(clock::now(), bytes);
}

/// `next`, callable once, and called early if a membership change leaves `target` no longer a
/// placement target while the copy to it waits: a member that fell suspect (a paused one
/// answers only once it resumes) must not hold the queue. Its late answer then does nothing.
std::function<void()> awaiting(self_ptr self, const std::string& target, std::function<void()> next) {
  auto pending = std::make_shared<std::function<void()>>(std::move(next));
  std::function<void()> once = [self, pending] {
    if (!*pending)
      return;
    auto continue_queue = std::move(*pending);
    *pending = nullptr;
    self->state.copy_in_flight.reset(); // the queue runs one task at a time: this one
    continue_queue();
  };
  self->state.copy_in_flight = copy_wait{target, once};
  return once;
}

/// Copies one chunk from the local store to a target, paced by repair_rate.
void copy_chunk(self_ptr self, chunk_id id, member_view target, std::function<void()> next) {
  auto& st = self->state;
  if (!within_repair_rate(self, [self, id, target](std::function<void()> next) {
        copy_chunk(self, id, target, std::move(next));
      }))
    return;
  auto timeout = st.ctx->request_timeout;
  self->request(st.ctx->store, timeout, get_chunk_atom::value, id)
    .then(
      [=](byte_buffer& bytes) {
        charge_repair_rate(self, bytes.size());
        auto size = bytes.size();
        auto done = awaiting(self, target.node_id, next);
        self->request(target.replica, timeout, put_chunk_atom::value, id, std::move(bytes))
          .then(
            [=](caf::ok_atom) {
              auto& st = self->state;
              ++st.copies_done;
              st.bytes_copied += size;
              DFS_DEBUG("replication", "copied chunk " << id.hex() << " to " << target.name);
              done();
            },
            [=](caf::error& err) {
              DFS_WARN("replication", "copy of chunk " << id.hex() << " to " << target.name
                                                       << " failed: " << describe(err));
              done();
            });
      },
      [=](caf::error& err) {
        DFS_WARN("replication", "cannot read chunk " << id.hex() << " for repair: " << describe(err));
        next();
      });
}

void send_manifest(self_ptr self, const manifest& m, const member_view& dest,
                   std::function<void()> next) {
  auto done = awaiting(self, dest.node_id, std::move(next));
  self->request(dest.replica, self->state.ctx->request_timeout, put_manifest_atom::value, m)
    .then([done](caf::ok_atom) { done(); },
          [done, dest, key = m.key](caf::error& err) {
            // The destination holds a newer version (written since the inventory), or this
            // version is too far ahead of its clock: nothing to copy there, and no fault.
            auto code = code_of(err);
            if (code == errc::superseded || code == errc::clock_skew)
              DFS_DEBUG("replication", "copy of manifest '" << key << "' to " << dest.name
                                                            << " skipped: " << describe(err));
            else
              DFS_WARN("replication", "copy of manifest '" << key << "' to " << dest.name
                                                           << " failed: " << describe(err));
            done();
          });
}

/// Inventories carry an inline file's manifest without its bytes: the copy is read back from
/// this node's store, which holds that version (only holders copy). Paced by repair_rate like
/// a chunk: a joining node may be owed many small files.
void copy_inline_manifest(self_ptr self, const manifest& listed, const member_view& dest,
                          std::function<void()> next) {
  if (!within_repair_rate(self, [self, listed, dest](std::function<void()> next) {
        copy_inline_manifest(self, listed, dest, std::move(next));
      }))
    return;
  self->request(self->state.ctx->store, self->state.ctx->request_timeout, get_manifest_atom::value,
                listed.key)
    .then(
      [=](manifest& m) {
        if (!(m.version == listed.version))
          return next(); // replaced since the inventory: the next pass copies the new one
        charge_repair_rate(self, m.inline_data.size());
        send_manifest(self, m, dest, next);
      },
      [=](caf::error& err) {
        DFS_WARN("replication", "cannot read manifest '" << listed.key
                                                         << "' for repair: " << describe(err));
        next();
      });
}

/// True when garbage may be collected (actors/collection_gate.hpp); otherwise says why in the
/// log, so an operator can tell which node holds it back: once a minute while the reasons stay
/// the same, at once when they change (the first ones, right after a start, are often
/// transient), but never more than once every 10 s.
bool may_collect(self_ptr self, const std::vector<member_view>& members) {
  auto& st = self->state;
  auto waits = collection_waits(members, st.ctx->node_id);
  if (waits.empty()) {
    st.last_waits_logged.clear();
    return true;
  }
  std::string why;
  for (auto& w : waits)
    why += (why.empty() ? "" : "; ") + w;
  auto now = clock::now();
  auto since = now - st.last_wait_logged;
  if (since >= std::chrono::minutes{1}
      || (why != st.last_waits_logged && since >= std::chrono::seconds{10})) {
    st.last_wait_logged = now;
    st.last_waits_logged = why;
    DFS_INFO("replication", "collection waits: " << why);
  }
  return false;
}

/// Removes a local chunk: a surplus copy at once; garbage through the store's re-check
/// (chunk_store::collect), which keeps a chunk touched within gc_grace before `planned_at`.
void remove_chunk(self_ptr self, chunk_id id, bool garbage, clock::time_point planned_at,
                  std::function<void()> next) {
  auto& st = self->state;
  auto removed = [self, id, garbage, next] {
    self->state.unreferenced_since.erase(id);
    ++self->state.drops_done;
    DFS_DEBUG("replication", (garbage ? "collected chunk " : "dropped surplus chunk ") << id.hex());
    next();
  };
  auto failed = [next](caf::error&) { next(); };
  if (!garbage) {
    self->request(st.ctx->store, st.ctx->request_timeout, delete_chunk_atom::value, id)
      .then([removed](caf::ok_atom) { removed(); }, failed);
    return;
  }
  self->request(st.ctx->store, st.ctx->request_timeout, delete_chunk_atom::value, id, planned_at)
    .then(
      [self, id, removed, next](bool gone) {
        if (gone)
          return removed();
        // A put touched it since this pass began: its manifest may be on its way. Garbage
        // again only once passes see it unreferenced for another gc_grace.
        self->state.unreferenced_since[id] = clock::now();
        DFS_DEBUG("replication", "kept chunk " << id.hex() << ": a put touched it lately");
        next();
      },
      failed);
}

/// What queued tasks must know of `members`.
members_now members_now_of(const std::vector<member_view>& members) {
  members_now now;
  for (auto& m : placement_targets(members))
    now.placement_targets.insert(m.node_id);
  for (auto& m : readable_members(members))
    now.readable.insert(m.node_id);
  now.anyone_suspect = std::any_of(members.begin(), members.end(),
                                   [](auto& m) { return m.state == member_state::suspect; });
  return now;
}

/// Runs `task` with what membership says now, or skips to `next` if it does not answer. A plan
/// is as old as its pass, so each copy and removal checks again that the rules of
/// repair_planner.cpp still allow it: no copy to a member that fell suspect since (a paused
/// one would also hold the queue until it resumed), no removal while any member is suspect.
/// Membership is asked again only after a change it announced.
void with_members_now(self_ptr self, std::function<void(const members_now&)> task,
                      std::function<void()> next) {
  auto& st = self->state;
  if (st.now)
    return task(*st.now);
  self->request(st.ctx->membership, st.ctx->request_timeout, members_atom::value)
    .then(
      [self, task](std::vector<member_view>& members) {
        self->state.now = members_now_of(members);
        task(*self->state.now);
      },
      [next](caf::error&) { next(); });
}

/// Runs `copy` if `target` is still a placement target, else skips to `next`.
void copy_if_still_target(self_ptr self, const std::string& target, std::function<void()> copy,
                          std::function<void()> next) {
  with_members_now(self, [target, copy, next](const members_now& now) {
    if (now.placement_targets.count(target))
      return copy();
    DFS_DEBUG("replication", "copy to " << target << " skipped: no longer up");
    next();
  }, next);
}

/// Runs `remove` if no member is suspect now, else skips to `next`.
void remove_if_none_suspect(self_ptr self, std::function<void()> remove, std::function<void()> next) {
  with_members_now(self, [remove, next](const members_now& now) {
    if (!now.anyone_suspect)
      return remove();
    DFS_DEBUG("replication", "removal skipped: a member is suspect");
    next();
  }, next);
}

/// Plans a pass (repair_planner's plan_pass) and queues its copies and removals.
void plan_pass(self_ptr self, const std::vector<member_view>& members, const holdings& h,
               clock::time_point planned_at) {
  auto& st = self->state;
  auto& ctx = *st.ctx;
  std::map<std::string, member_view> by_id;
  for (auto& m : members)
    by_id[m.node_id] = m;
  pass_input in{ctx.node_id,         ctx.config.replicas, members, may_collect(self, members),
                ctx.clock->now(),    clock::now(),        ctx.config.gc_grace,
                ctx.config.max_clock_skew};
  auto plan = dfs::plan_pass(in, h, st.unreferenced_since);
  for (auto& work : plan.manifests) {
    for (auto& target : work.copy_to)
      st.tasks.push_back([self, m = work.newest, dest = by_id[target]](std::function<void()> next) {
        copy_if_still_target(self, dest.node_id, [=] {
          if (m.is_inline())
            copy_inline_manifest(self, m, dest, next);
          else
            send_manifest(self, m, dest, next);
        }, next);
      });
    if (!work.remove)
      continue;
    st.tasks.push_back([self, key = work.newest.key, held = work.held,
                        collect = work.collect](std::function<void()> next) {
      remove_if_none_suspect(self, [=] {
        self->request(self->state.ctx->store, self->state.ctx->request_timeout,
                      delete_manifest_atom::value, key, held)
          .then(
            [=](caf::ok_atom) {
              ++self->state.drops_done;
              DFS_DEBUG("replication", (collect ? "collected tombstone of '" : "dropped surplus manifest '")
                                         << key << "'");
              next();
            },
            [=](caf::error&) { next(); });
      }, next);
    });
  }
  for (auto& work : plan.chunks) {
    for (auto& target : work.copy_to)
      st.tasks.push_back([self, id = work.id, dest = by_id[target]](std::function<void()> next) {
        copy_if_still_target(self, dest.node_id, [=] { copy_chunk(self, id, dest, next); }, next);
      });
    if (work.remove)
      st.tasks.push_back([self, id = work.id, garbage = work.garbage,
                          planned_at](std::function<void()> next) {
        remove_if_none_suspect(self, [=] { remove_chunk(self, id, garbage, planned_at, next); }, next);
      });
  }
  if (plan.handed_over)
    self->send(ctx.membership, left_atom::value);
  if (plan.copies() + plan.removals() > 0)
    DFS_INFO("replication", "pass: " << plan.copies() << " copies and " << plan.removals()
                                     << " removals to do");
}

/// Ends the pass that waits for inventories if a member it waits for is no longer readable:
/// it fell suspect (a paused member answers only once it resumes), and the next pass, which
/// the change that said so has asked for, plans without it.
void give_up_inventories(self_ptr self) {
  with_members_now(self, [self](const members_now& now) {
    auto& st = self->state;
    for (auto& id : st.inventories_awaited)
      if (!now.readable.count(id)) {
        DFS_DEBUG("replication", "pass given up: " << id << " is no longer readable");
        ++st.pass_id;
        st.inventories_awaited.clear();
        return finish_pass(self);
      }
  }, [] {});
}

void start_pass(self_ptr self) {
  auto& st = self->state;
  if (st.pass_running) {
    st.pass_wanted = true;
    return;
  }
  st.pass_running = true;
  self->request(st.ctx->membership, st.ctx->request_timeout, members_atom::value)
    .then(
      [=](std::vector<member_view>& members) {
        // A suspect member does not hold the pass back: plan_pass copies around it and
        // removes nothing meanwhile (actors/repair_planner.cpp).
        auto& ctx = *self->state.ctx;
        auto live = readable_members(members);
        auto& st = self->state;
        st.now = members_now_of(members);
        auto pass = ++st.pass_id;
        st.inventories_awaited.clear();
        for (auto& m : live)
          st.inventories_awaited.insert(m.node_id);
        auto h = std::make_shared<gathered>();
        // Before any inventory is made: a manifest missing from them landed after this.
        auto planned_at = clock::now();
        fan_out(
          self, live, caf::make_message(inventory_atom::value), ctx.request_timeout,
          [h, self, pass](const member_view& m, std::vector<chunk_id>& chunks,
                    std::vector<manifest>& manifests, uint64_t) {
            if (self->state.pass_id == pass)
              self->state.inventories_awaited.erase(m.node_id);
            bool is_self = m.node_id == self->state.ctx->node_id;
            for (auto& c : chunks) {
              h->chunk_holders[c].insert(m.node_id);
              if (is_self)
                h->my_chunks.insert(c);
            }
            for (auto& mf : manifests)
              h->manifests[mf.key][m.node_id] = std::move(mf);
          },
          [h, self, pass](const member_view& m, const caf::error& err) {
            if (self->state.pass_id == pass)
              self->state.inventories_awaited.erase(m.node_id);
            h->complete = false;
            DFS_WARN("replication", "no inventory from " << m.name << ": " << describe(err));
          },
          [=] {
            if (self->state.pass_id != pass)
              return; // given up (see give_up_inventories)
            self->state.inventories_awaited.clear();
            if (!h->complete)
              return finish_pass(self);
            plan_pass(self, members, *h, planned_at);
            run_next_task(self);
          });
      },
      [=](caf::error&) { finish_pass(self); });
}

} // namespace

replication_actor::behavior_type
replication(replication_actor::stateful_pointer<replication_state> self, node_context_ptr ctx) {
  drop_unexpected_messages(self);
  self->state.ctx = ctx;
  self->state.copy_pacer = pacer{ctx->config.repair_rate};
  self->delayed_send(self, ctx->config.anti_entropy_interval, tick_atom::value);
  return {
    [=](changed_atom) {
      self->state.now.reset();
      if (self->state.copy_in_flight)
        with_members_now(self, [self](const members_now& now) {
          auto& waiting = self->state.copy_in_flight;
          if (!waiting || now.placement_targets.count(waiting->target))
            return;
          DFS_DEBUG("replication", "copy to " << waiting->target << " left behind: no longer up");
          auto finish = waiting->finish; // it clears copy_in_flight
          finish();
        }, [] {});
      if (!self->state.inventories_awaited.empty())
        give_up_inventories(self);
      start_pass(self);
    },
    [=](tick_atom) {
      start_pass(self);
      self->delayed_send(self, self->state.ctx->config.anti_entropy_interval, tick_atom::value);
    },
    [=](resume_atom) { run_next_task(self); },
  };
}

} // namespace dfs
