#pragma once
// Manifests on disk, one file per key: data_dir/manifests/<aa>/<hex of SHA-256(key)>, where aa
// is the first byte of that hash. A file is "DFSM", a u16 format version, the SHA-256 of the
// payload, then the payload (encode(manifest)), so that a damaged or foreign file is recognised
// and skipped rather than believed. All manifests are also held in memory, sorted by key, but
// without the bytes of inline files: list by prefix never touches the disk, and get only to read
// an inline file back (memory does not grow with the bytes of small files).
#include "common/wall_clock.hpp"
#include "common/manifest.hpp"
#include "storage/write_batch.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace dfs {

/// Not thread-safe: one owner (the store actor) calls it from one thread.
class manifest_store {
public:
  /// Creates data_dir/{manifests,tmp} as needed, removes temporary files a crash left behind
  /// and loads every manifest. A damaged file is logged and skipped. Errors: errc::io_error.
  static caf::expected<manifest_store> open(const std::string& data_dir);

  /// Asked, before a write that adds the bytes of an inline file, whether `bytes` more fit
  /// (errc::no_space if not). Not asked for a write that does not happen (not newer), nor for
  /// the bytes of the version it replaces.
  using room_check = std::function<caf::error(uint64_t bytes)>;

  /// Keeps `m` if it is newer than the manifest held for its key (newest wins), once it is
  /// durable. Success means this store now holds `m` or already held that very write.
  /// errc::superseded (superseding_version() gives it) when the store holds a newer version,
  /// or the same version with other contents: the writer did not make the newest version and
  /// must not be told it did. errc::clock_skew when `m`'s version is more than the clock bound
  /// (set_clock_bound) ahead of this node's wall clock: one far-future manifest would otherwise
  /// win over every later write. errc::bad_request for an invalid key, a manifest that does not
  /// encode consistently, or an inline file's manifest without its bytes; whatever `room`
  /// answers; errc::no_space, errc::io_error if the disk refuses.
  caf::error put(const manifest& m, const room_check& room = {});

  /// The same, but `m` is only staged in `batch`: get() and list() see it once the batch
  /// commits. Newest wins across staged manifests too. Callers answer "stored" only after
  /// batch.commit() succeeds.
  caf::error put(const manifest& m, write_batch& batch, const room_check& room = {});

  /// The manifest held for `key`, tombstones included, with the bytes of an inline file;
  /// errc::not_found if none. errc::corrupt when an inline file's manifest file is damaged or
  /// gone: the key is then forgotten, so that anti-entropy restores it from a replica.
  /// errc::io_error when the disk refuses the read: the key stays.
  caf::expected<manifest> get(const std::string& key);

  /// Every manifest whose key starts with `prefix` (all of them for ""), sorted by key, without
  /// the bytes of inline files.
  std::vector<manifest> list(const std::string& prefix) const;

  /// Sealed bytes of the inline files held: they count against the node's capacity.
  uint64_t inline_bytes() const { return inline_bytes_; }
  /// Sealed bytes of inline files staged in a batch that has not committed yet: they count
  /// against the capacity too, or one batch could overshoot it.
  uint64_t staged_inline_bytes() const { return staged_inline_bytes_; }

  /// Removes the key's manifest if the version held is `held_version` (a newer write that
  /// arrived in between stays); removing what is not held is no error.
  caf::error remove(const std::string& key, const version& held_version);

  /// Every key held, sorted.
  std::vector<std::string> keys() const;

  /// The largest hlc of any version held (0 when none): a restarted node's clock starts past it.
  uint64_t newest_hlc() const;

  /// put() refuses versions more than `max_ahead` ahead of `wall` ([cluster] max_clock_skew
  /// and the node's wall clock; default_max_clock_skew and wall_clock_ms until set).
  void set_clock_bound(std::chrono::milliseconds max_ahead,
                       std::function<uint64_t()> wall = wall_clock_ms);

  /// Where the manifest for `key` lives (or would live) on disk.
  std::string path_of(const std::string& key) const;

private:
  explicit manifest_store(std::string data_dir) : data_dir_(std::move(data_dir)) {}

  /// Makes `m` the manifest held for its key (the caller checked it is newer).
  void hold(const manifest& m);
  void forget(std::map<std::string, manifest>::iterator i);

  /// errc::clock_skew if `m` is further ahead of the wall clock than the bound allows.
  caf::error check_clock_bound(const manifest& m) const;

  std::string data_dir_;
  uint64_t max_ahead_ms_ = std::chrono::milliseconds{default_max_clock_skew}.count();
  std::function<uint64_t()> wall_ = wall_clock_ms;
  std::map<std::string, manifest> index_;  // key -> newest manifest, without inline bytes
  std::map<std::string, manifest> staged_; // key -> newest manifest staged in a write batch
  uint64_t inline_bytes_ = 0;
  uint64_t staged_inline_bytes_ = 0;
};

/// The bytes of a manifest file, and back. parse_manifest_file answers errc::corrupt with the
/// reason when the bytes are not a whole, intact manifest file of a format version we read.
byte_buffer manifest_file_bytes(const manifest& m);
caf::expected<manifest> parse_manifest_file(const byte_buffer& bytes);

} // namespace dfs
