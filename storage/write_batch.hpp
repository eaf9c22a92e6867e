#pragma once
// Group commit: many whole-file writes made durable together, with two flushes of the file
// system per batch instead of two per file.
//
// Writing one file durably costs a flush of its data (fsync) and one of its directory (the
// rename), whatever the file's size; a node answering many small puts at once would pay two
// flushes per file in a row on its single store thread.
// A batch instead writes every file to a temporary, then
//   1. syncfs(): every temporary's bytes are on disk;
//   2. renames each temporary over its target (each renamed file is whole, because its bytes
//      were already durable: a crash never leaves a torn file under a chunk's name);
//   3. syncfs() again: the renames are on disk;
// and only then reports success, so nothing is acknowledged before it would survive a crash.
// syncfs also flushes whatever else is dirty on the same file system; on a node with its own
// data disk that is the node's own work, and it is why a batch costs two flushes however many
// files it holds.
//
// Callers register what to do once a file is durable (update an index) and what to do if the
// batch fails (forget a reservation). Not thread-safe: the store actor owns one.
#include "storage/uncached_io.hpp"

#include <caf/error.hpp>

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace dfs {

class write_batch {
public:
  /// `fs_path`: any directory on the file system the batch writes to (the node's data_dir).
  explicit write_batch(std::string fs_path) : fs_path_(std::move(fs_path)) {}
  write_batch(write_batch&&) = default;
  write_batch& operator=(write_batch&&) = default;
  ~write_batch() { abort(); }

  /// Writes `data` to a new temporary file `tmp_dir/tmp_prefix.XXXXXX` (same file system as
  /// `target`), through the page cache or past it (`cache`), to be renamed over `target` at
  /// commit. `on_durable` runs after a successful
  /// commit, `on_failed` if the batch fails or is aborted. A write error is returned at once
  /// (errc::no_space, errc::io_error naming `target`) and nothing of this file stays behind.
  caf::error stage(const std::string& tmp_dir, const std::string& tmp_prefix,
                   const std::string& target, const char* data, size_t size,
                   page_cache cache, std::function<void()> on_durable, std::function<void()> on_failed);

  /// Makes every staged file durable under its target name (see above), runs the callbacks,
  /// and empties the batch. On error (errc::io_error, errc::no_space) no file of the batch
  /// counts as written: temporaries are removed and `on_failed` runs for each.
  caf::error commit();

  /// Drops every staged file (temporaries removed, `on_failed` run).
  void abort();

  bool empty() const { return staged_.empty(); }
  size_t size() const { return staged_.size(); }

private:
  struct staged_file {
    std::string tmp;
    std::string target;
    std::function<void()> on_durable;
    std::function<void()> on_failed;
  };

  /// Removes the temporaries from `from` on and runs every file's on_failed.
  void fail_all(size_t renamed);

  std::string fs_path_;
  std::vector<staged_file> staged_;
};

} // namespace dfs
