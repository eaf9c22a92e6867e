#include "storage/write_batch.hpp"

#include "storage/chunk_store.hpp" // disk::from_errno

#include <cerrno>
#include <filesystem>

#include <fcntl.h>
#include <unistd.h>

namespace dfs {

namespace {

/// Flushes the whole file system that holds `path` (data and metadata) and reports a writeback
/// error of any file on it since the last call (Linux >= 5.8).
caf::error sync_file_system(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return disk::from_errno(errno, "cannot open directory", path);
  int rc = ::syncfs(fd);
  int code = errno;
  ::close(fd);
  if (rc != 0)
    return disk::from_errno(code, "cannot sync the file system of", path);
  return caf::none;
}

/// After a rename failed: if the target's directory is gone (removed behind the store's back
/// after the store made it, see chunk_store::put), makes it again and renames once more.
bool renamed_into_new_directory(const std::string& tmp, const std::string& target) {
  if (errno != ENOENT)
    return false;
  int code = errno;
  if (disk::make_dirs(std::filesystem::path{target}.parent_path().string())) {
    errno = code; // the rename's error is the one to report
    return false;
  }
  return ::rename(tmp.c_str(), target.c_str()) == 0;
}

} // namespace

caf::error write_batch::stage(const std::string& tmp_dir, const std::string& tmp_prefix,
                              const std::string& target, const char* data, size_t size,
                              page_cache cache, std::function<void()> on_durable,
                              std::function<void()> on_failed) {
  auto tmp = disk::write_temporary(tmp_dir, tmp_prefix, target, data, size, cache);
  if (!tmp)
    return tmp.error();
  staged_.push_back({std::move(*tmp), target, std::move(on_durable), std::move(on_failed)});
  return caf::none;
}

caf::error write_batch::commit() {
  if (staged_.empty())
    return caf::none;
  if (auto err = sync_file_system(fs_path_)) {
    fail_all(0);
    return err;
  }
  for (size_t i = 0; i < staged_.size(); ++i) {
    auto& f = staged_[i];
    if (::rename(f.tmp.c_str(), f.target.c_str()) != 0
        && !renamed_into_new_directory(f.tmp, f.target)) {
      auto err = disk::from_errno(errno, "cannot rename a temporary file to", f.target);
      fail_all(i);
      return err;
    }
  }
  // The renames are durable only once their directories are: one more flush covers them all.
  if (auto err = sync_file_system(fs_path_)) {
    fail_all(staged_.size());
    return err;
  }
  auto done = std::move(staged_);
  staged_.clear();
  for (auto& f : done)
    if (f.on_durable)
      f.on_durable();
  return caf::none;
}

void write_batch::abort() { fail_all(0); }

void write_batch::fail_all(size_t renamed) {
  // Files renamed before a failure are whole (their bytes were flushed first) but not known to
  // be durable under their names: they are not acknowledged, and the stores adopt or replace
  // them later like any file found on disk.
  for (size_t i = renamed; i < staged_.size(); ++i)
    ::unlink(staged_[i].tmp.c_str());
  auto failed = std::move(staged_);
  staged_.clear();
  for (auto& f : failed)
    if (f.on_failed)
      f.on_failed();
}

} // namespace dfs
