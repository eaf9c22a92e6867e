#pragma once
// Sends one request to several members at once and gathers the answers: the pattern behind
// every replicated write and every cluster-wide read.
#include "actors/interfaces.hpp"

#include <caf/detail/type_traits.hpp>
#include <caf/message.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <vector>

namespace dfs {

namespace detail {

/// Runs on_done once after `remaining` answers.
struct countdown {
  size_t remaining;
  std::function<void()> on_done;
  void tick() {
    if (--remaining == 0)
      on_done();
  }
};

// CAF picks the expected reply type from the handler's signature, so the handler we give it
// must have a concrete one: this binds the member to a reply handler (const member_view&, Ts...).
template <class F, class Args>
struct bound_reply;

template <class F, class... Ts>
struct bound_reply<F, caf::detail::type_list<const member_view&, Ts...>> {
  F f;
  member_view member;
  std::shared_ptr<countdown> done;
  void operator()(Ts... xs) {
    f(member, std::forward<Ts>(xs)...);
    done->tick();
  }
};

} // namespace detail

/// For each target, on_reply(member, reply...) or on_error(member, error); then, once all have
/// answered (or timed out), on_done(). With no targets, on_done() runs at once. on_reply's
/// parameters after the member say which reply is expected, e.g. (const member_view&, manifest&).
template <class Self, class OnReply>
void fan_out(Self* self, const std::vector<member_view>& targets, const caf::message& request,
             std::chrono::seconds timeout, OnReply on_reply,
             std::function<void(const member_view&, const caf::error&)> on_error,
             std::function<void()> on_done) {
  if (targets.empty()) {
    on_done();
    return;
  }
  auto done = std::make_shared<detail::countdown>(detail::countdown{targets.size(), std::move(on_done)});
  using args = typename caf::detail::get_callable_trait<OnReply>::arg_types;
  for (auto& target : targets) {
    auto member = target;
    self->request(target.replica, timeout, request)
      .then(detail::bound_reply<OnReply, args>{on_reply, member, done},
            [=](caf::error& err) {
              on_error(member, err);
              done->tick();
            });
  }
}

} // namespace dfs
