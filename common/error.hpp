#pragma once
// Errors are values: a code a program can branch on and a sentence a person can act on. The same
// sentence travels in error frames and reaches the CLI unchanged.
#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/atom.hpp>

#include <cstdint>
#include <string>

namespace dfs {

enum class errc : uint8_t {
  none = 0,
  not_found = 1,        // no such key or chunk
  corrupt = 2,          // stored bytes do not match their hash
  unavailable = 3,      // a peer went away or did not answer
  protocol = 4,         // a malformed or unexpected frame
  auth_failed = 5,      // handshake: wrong secret
  bad_request = 6,      // invalid key, size or argument
  too_few_replicas = 7, // a put could not reach its write quorum
  io_error = 8,         // the disk refused
  no_space = 9,         // the disk or the configured capacity is full
  wrong_cluster = 10,   // handshake: another cluster's node
  wrong_version = 11,   // handshake: a protocol version we do not speak
  timeout = 12,         // a peer was silent for too long
  forbidden = 13,       // the credential does not allow this (read-only user, outside its prefix)
  superseded = 14,      // a replica holds a newer version of the key (superseding_version)
  clock_skew = 15,      // a version too far ahead of this node's clock, or a clock at its end
};

constexpr caf::atom_value error_category = caf::atom("dfs");

inline caf::error make_error(errc code, std::string message) {
  return caf::error{static_cast<uint8_t>(code), error_category,
                    caf::make_message(std::move(message))};
}

/// The code of a dfs error; errc::unavailable for CAF's own errors (a dead actor, a timeout);
/// errc::none for no error.
errc code_of(const caf::error& err);

/// The sentence for a person: the message of a dfs error, CAF's rendering of any other.
std::string describe(const caf::error& err);

} // namespace dfs
