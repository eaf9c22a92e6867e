#pragma once
// Content-addressed chunks on disk: data_dir/chunks/ab/cd/<64 hex of the SHA-256>. A chunk is
// written once (its id says what it contains, so a second put is a no-op) and checked on every
// read; a file whose bytes no longer match its name is moved to data_dir/quarantine/ so that it
// is never served again and replication sees the chunk as missing and repairs it.
//
// The store keeps an index of the ids it holds and the bytes they take, rebuilt by walking the
// tree when it opens (every file there got its name by an atomic rename, so whatever is there is
// whole). has(), list() and the used-bytes count never touch the disk. A capacity (0 = none)
// bounds the bytes of chunks: a put that would go past it is refused with errc::no_space.
//
// Collection's safety net: the store remembers when each chunk was last touched (stored,
// stored again as a no-op, or named in touch()), in memory and on the steady clock, and
// collect() removes only a chunk untouched for gc_grace before the moment the caller planned
// its removal. Chunks found on disk at open count as touched at open, so a restart only delays
// collection. Touch times older than gc_grace are folded into one bound (see untouched_since_),
// so the memory this takes is bounded by the chunks touched within the last gc_grace.
#include "common/codec.hpp"
#include "storage/chunk_index.hpp"
#include "common/manifest.hpp"
#include "storage/uncached_io.hpp"
#include "storage/write_batch.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace dfs {

/// Whether put() hashes a chunk's bytes to check them against its id.
enum class id_check {
  verify,         // bytes from anywhere else: a peer, a repair, a test
  computed_here,  // this process hashed exactly these bytes into the id a moment ago
};

/// Not thread-safe: one owner (the store actor) calls it from one thread.
class chunk_store {
public:
  using clock = std::chrono::steady_clock;

  /// Creates data_dir/{chunks,tmp,quarantine} as needed, removes temporary files a crash left
  /// behind and indexes the chunks held. Errors: errc::io_error naming the path.
  static caf::expected<chunk_store> open(const std::string& data_dir);

  /// Stores `bytes` under `id` once it is durable. errc::bad_request if SHA-256(bytes) != id;
  /// errc::no_space if the chunk would take the store past its capacity or the disk is full
  /// (nothing is left behind); errc::io_error if the disk refuses. An id already held is not
  /// rewritten (and needs no room). Either way the chunk counts as touched now.
  caf::error put(const chunk_id& id, const byte_buffer& bytes);

  /// The same checks as put(), but the chunk is only staged in `batch`: it is held (has(),
  /// list(), used()) once the batch commits, and forgotten if it fails. Its bytes count against
  /// the capacity from now on, and a second put of the same id before the commit stages
  /// nothing. Callers answer "stored" only after batch.commit() succeeds. With
  /// id_check::computed_here the SHA-256 of the bytes is not computed again (see
  /// sealed_here_atom in actors/interfaces.hpp).
  caf::error put(const chunk_id& id, const byte_buffer& bytes, write_batch& batch,
                 id_check check = id_check::verify);

  /// The chunk's bytes, verified against `id`. errc::not_found, errc::corrupt (the file was
  /// quarantined), errc::io_error.
  caf::expected<byte_buffer> get(const chunk_id& id);

  /// The bytes of the chunk file at `path`, verified against `id`, without touching any
  /// store's state (so any thread may call it): errc::not_found, errc::corrupt (the file is
  /// left where it is; get() quarantines it), errc::io_error.
  static caf::expected<byte_buffer> read_verified(const std::string& path, const chunk_id& id);

  bool has(const chunk_id& id) const { return index_.contains(id); }

  /// Removes the chunk (a surplus copy, which other nodes hold); removing one not held is no
  /// error.
  caf::error remove(const chunk_id& id);

  /// For each id, whether the store holds it; each one held or staged counts as touched now.
  /// (A put session renews its lease on the chunks it wrote this way.)
  std::vector<bool> touch(const std::vector<chunk_id>& ids);

  /// Removes garbage: the chunk, unless it was touched less than gc_grace() before
  /// `planned_at`, the moment the caller began to plan this removal (a put whose manifest
  /// landed after that moment touched its chunks within gc_grace before it did). True when the
  /// chunk is gone (or was not held), false when it was kept. Errors as remove().
  caf::expected<bool> collect(const chunk_id& id, clock::time_point planned_at);

  /// How long a touch protects a chunk from collect() ([cluster] gc_grace).
  clock::duration gc_grace() const { return gc_grace_; }
  void set_gc_grace(clock::duration grace) { gc_grace_ = grace; }

  /// Bytes the chunk takes on disk, 0 if not held.
  uint64_t size_of(const chunk_id& id) const;

  /// Every chunk held, sorted (from the index).
  caf::expected<std::vector<chunk_id>> list() const;

  /// How many chunks, and how many bytes of chunks, the store holds.
  size_t count() const { return index_.size(); }
  uint64_t used() const { return used_; }

  /// The most bytes of chunks the store accepts; 0 means no limit but the disk's.
  uint64_t capacity() const { return capacity_; }
  void set_capacity(uint64_t bytes) { capacity_ = bytes; }

  /// Bytes of the file system under data_dir that chunks and inline files must leave free
  /// ([storage] reserve; 0 = none). Manifests without data and tombstones may use them, so that
  /// a node whose disk filled up can still take the deletes that free it.
  uint64_t disk_reserve() const { return disk_reserve_; }
  void set_disk_reserve(uint64_t bytes) { disk_reserve_ = bytes; }

  /// Where to learn the bytes of this node's files held outside chunks (small files inline in
  /// their manifests, staged ones included): they count against the capacity too.
  void count_bytes_elsewhere(std::function<uint64_t()> bytes) { bytes_elsewhere_ = std::move(bytes); }

  /// errc::no_space when `bytes` more would take the store past its capacity, or into the disk
  /// reserve (see disk_reserve()); `what` names them in the message ("a chunk of", "an inline
  /// file of").
  caf::error check_room(uint64_t bytes, const std::string& what) const;

  /// How long open() took to walk the tree and build the index, in wall-clock and CPU time.
  std::chrono::milliseconds index_time() const { return index_time_; }
  std::chrono::milliseconds index_cpu_time() const { return index_cpu_time_; }

  /// Where the chunk lives (or would live) on disk.
  std::string path_of(const chunk_id& id) const;

  const std::string& data_dir() const { return data_dir_; }

private:
  explicit chunk_store(std::string data_dir) : data_dir_(std::move(data_dir)) {}

  caf::error build_index();
  /// Forgets a chunk whose file is gone (removed, quarantined, or lost behind our back).
  void forget(const chunk_id& id, uint64_t size);
  void touch_now(const chunk_id& id, clock::time_point now);
  /// The last touch of a chunk, or a time no earlier than it (untouched_since_).
  clock::time_point last_touch(const chunk_id& id) const;
  /// Folds the touches older than gc_grace into untouched_since_.
  void forget_old_touches(clock::time_point now);

  struct id_hash {
    size_t operator()(const chunk_id& id) const;
  };

  std::string data_dir_;
  /// Which fan-out directories (chunks/xx/yy, by the id's first two bytes) this store has made
  /// or found: a put into one of them needs no mkdir. Should one vanish behind the store's
  /// back, the batch's rename makes it again (write_batch::commit).
  std::vector<bool> fanout_made_ = std::vector<bool>(1u << 16);
  chunk_index index_;
  uint64_t used_ = 0;
  /// Staged in a write batch, not yet durable: id -> bytes reserved against the capacity.
  std::map<chunk_id, uint64_t> staged_;
  uint64_t staged_bytes_ = 0;
  uint64_t capacity_ = 0;
  uint64_t disk_reserve_ = 0;
  std::function<uint64_t()> bytes_elsewhere_;
  std::chrono::milliseconds index_time_{0};
  std::chrono::milliseconds index_cpu_time_{0};
  // The node sets the configured value before anything is collected; until then, the default.
  clock::duration gc_grace_ = std::chrono::hours{1};
  /// Chunks touched since open, and when; those touched before gc_grace ago are dropped from
  /// time to time (forget_old_touches). Every chunk not in here was last touched at or before
  /// untouched_since_: the time the store opened, or the newest touch forgotten since.
  std::unordered_map<chunk_id, clock::time_point, id_hash> touched_;
  clock::time_point untouched_since_ = clock::now();
  size_t forget_touches_at_ = 1024; // the size of touched_ that triggers the next forgetting
};

// -- durable files, shared by the chunk store, the manifest store and the node identity ------
// (They belong in a file of their own, storage/durable_file.hpp, once someone may create it.)

namespace disk {

/// Writes a whole file so that a crash leaves either the old file or the complete new one:
/// a temporary file `tmp_dir/tmp_prefix.XXXXXX`, write, fsync, rename over `target`, fsync of
/// target's directory. `tmp_dir` must be on the same file system as `target`.
/// Errors: errc::no_space ("no space left on device writing <target>"), errc::io_error.
caf::error write_durably(const std::string& tmp_dir, const std::string& tmp_prefix,
                         const std::string& target, const char* data, size_t size);

/// Writes a whole new file `tmp_dir/tmp_prefix.XXXXXX` (not flushed) and returns its path; on
/// error nothing is left behind. Errors name `target`, the file it is meant to become.
caf::expected<std::string> write_temporary(const std::string& tmp_dir,
                                           const std::string& tmp_prefix,
                                           const std::string& target, const char* data,
                                           size_t size, page_cache cache);

/// A whole file. errc::not_found if it does not exist, errc::io_error otherwise.
caf::expected<byte_buffer> read_whole(const std::string& path, page_cache cache = page_cache::use);

/// mkdir -p, and fsync of each parent that gained an entry, so the new directories (and the
/// files later renamed into them) survive a crash.
caf::error make_dirs(const std::string& path);

/// Removes files named `prefix.*` in `dir`: temporaries of writes a crash interrupted.
caf::error remove_leftovers(const std::string& dir, const std::string& prefix);

/// Moves a damaged file into `quarantine_dir` (keeping it for inspection); returns the new path.
caf::expected<std::string> quarantine(const std::string& path, const std::string& quarantine_dir);

/// The sentence for a failed system call on `path`: "<what> <path>: <strerror>", with
/// errc::no_space for ENOSPC/EDQUOT and errc::io_error otherwise.
caf::error from_errno(int code, const std::string& what, const std::string& path);

} // namespace disk

} // namespace dfs
