#pragma once
// What connection brokers consult on every request from a user: the current user registry,
// published by the users actor (actors/users.hpp) after each change. A broker reads it
// synchronously (it runs on the I/O thread and must not wait for an answer per request), so a
// removed user's open connections are refused at their next request, not only new ones.
#include "storage/user_registry.hpp"

#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace dfs {

class user_directory {
public:
  /// The live user holding this access key; nullopt when unknown or removed.
  std::optional<user_record> lookup(const std::string& access_key) const {
    std::lock_guard<std::mutex> guard{mtx_};
    if (!current_)
      return std::nullopt;
    auto r = current_->by_access_key(access_key);
    return r ? std::optional<user_record>{*r} : std::nullopt;
  }

  void publish(std::shared_ptr<const user_registry> registry) {
    std::lock_guard<std::mutex> guard{mtx_};
    current_ = std::move(registry);
  }

private:
  mutable std::mutex mtx_;
  std::shared_ptr<const user_registry> current_;
};

} // namespace dfs
