#include "actors/users.hpp"

#include "common/log.hpp"
#include "common/credential.hpp"

#include <algorithm>

namespace dfs {

namespace {

using self_ptr = caf::stateful_actor<users_state>*;

void publish(self_ptr self) {
  self->state.ctx->users_directory->publish(
    std::make_shared<const user_registry>(self->state.registry));
}

void push(self_ptr self, const std::vector<user_record>& records) {
  for (auto& link : self->state.links)
    self->send(link, users_atom::value, records);
}

/// An administrator's change: written to disk before it is taken, so that an acknowledged
/// add or rm survives a restart; then published and pushed to every peer.
caf::error apply_local(self_ptr self, const user_record& r) {
  auto next = self->state.registry;
  if (!next.merge(r))
    return make_error(errc::bad_request, "the user registry is full or the record is unfit");
  if (auto err = save_user_registry(self->state.ctx->config.data_dir, next))
    return err;
  self->state.registry = std::move(next);
  publish(self);
  push(self, {r});
  return caf::none;
}

} // namespace

caf::behavior users(caf::stateful_actor<users_state>* self, node_context_ptr ctx,
                    user_registry initial) {
  self->state.ctx = std::move(ctx);
  self->state.registry = std::move(initial);
  publish(self);
  self->set_down_handler([=](caf::down_msg& msg) {
    auto& links = self->state.links;
    links.erase(std::remove_if(links.begin(), links.end(),
                               [&](const caf::actor& a) { return a.address() == msg.source; }),
                links.end());
  });
  return {
    [=](user_add_atom, const user_add_msg& req) -> caf::result<user_record> {
      if (auto why = check_user_name(req.name))
        return make_error(errc::bad_request, "bad user name '" + req.name + "': " + *why);
      if (auto old = self->state.registry.by_name(req.name); old && !old->deleted)
        return make_error(errc::bad_request, "user " + req.name + " exists");
      user_record r;
      r.name = req.name;
      r.access_key = generate_access_key();
      r.read_only = req.read_only;
      r.prefix = req.prefix;
      r.version = self->state.ctx->clock->now();
      if (auto old = self->state.registry.by_name(req.name))
        r.version = std::max(r.version, old->version + 1); // above the tombstone it replaces
      if (auto err = apply_local(self, r))
        return err;
      DFS_INFO("users", "added user " << r.name << (r.read_only ? " (read-only)" : "")
                                      << (r.prefix.empty() ? "" : ", prefix " + r.prefix));
      return r;
    },
    [=](user_rm_atom, const std::string& name) -> caf::result<caf::ok_atom> {
      auto old = self->state.registry.by_name(name);
      if (!old || old->deleted)
        return make_error(errc::not_found, "no user " + name);
      auto r = *old;
      r.deleted = true;
      r.version = std::max(self->state.ctx->clock->now(), old->version + 1);
      if (auto err = apply_local(self, r))
        return err;
      DFS_INFO("users", "removed user " << name);
      return caf::ok_atom::value;
    },
    [=](user_ls_atom) {
      user_list_msg out;
      for (auto& r : self->state.registry.all())
        if (!r.deleted)
          out.records.push_back(r);
      return out;
    },
    // What a peer sent: the records newer than ours are taken, kept and passed on.
    [=](users_atom, const std::vector<user_record>& records) {
      std::vector<user_record> changed;
      for (auto& r : records) {
        if (auto why = check_user_record(r)) {
          DFS_WARN("users", "ignoring a user record from a peer: " << *why);
          continue;
        }
        if (self->state.registry.merge(r))
          changed.push_back(r);
      }
      if (changed.empty())
        return;
      if (auto err = save_user_registry(self->state.ctx->config.data_dir, self->state.registry))
        DFS_WARN("users", "cannot write the user registry (kept in memory, and the peers will "
                          "send it again after a restart): " << describe(err));
      publish(self);
      push(self, changed);
    },
    [=](users_link_atom, const caf::actor& link) {
      self->monitor(link);
      self->state.links.push_back(link);
      self->send(link, users_atom::value, self->state.registry.all());
    },
  };
}

} // namespace dfs
