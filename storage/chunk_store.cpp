#include "storage/chunk_store.hpp"

#include "common/buffer_pool.hpp"
#include "common/error.hpp"
#include "common/log.hpp"
#include "storage/uncached_io.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace dfs {

namespace disk {

namespace {

std::string parent_of(const std::string& path) {
  auto parent = fs::path{path}.parent_path().string();
  return parent.empty() ? "." : parent;
}

/// Closes a descriptor on every path out of a function.
struct fd_guard {
  int fd;
  ~fd_guard() {
    if (fd >= 0)
      ::close(fd);
  }
};

caf::error fsync_dir(const std::string& dir) {
  fd_guard d{::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)};
  if (d.fd < 0)
    return from_errno(errno, "cannot open directory", dir);
  if (::fsync(d.fd) != 0)
    return from_errno(errno, "cannot sync directory", dir);
  return caf::none;
}

} // namespace

caf::error from_errno(int code, const std::string& what, const std::string& path) {
  if (code == ENOSPC || code == EDQUOT)
    return make_error(errc::no_space, "no space left on device writing " + path);
  return make_error(errc::io_error,
                    what + " " + path + ": " + std::generic_category().message(code));
}

caf::expected<std::string> write_temporary(const std::string& tmp_dir,
                                           const std::string& tmp_prefix,
                                           const std::string& target, const char* data,
                                           size_t size, page_cache cache) {
  std::string tmp = tmp_dir + "/" + tmp_prefix + ".XXXXXX";
  fd_guard f{cache == page_cache::bypass ? uncached::make_temporary(tmp)
                                         : ::mkostemp(tmp.data(), O_CLOEXEC)};
  if (f.fd < 0)
    return from_errno(errno, "cannot create a temporary file in", tmp_dir);
  // Every failure leaves only the temporary file to clean up.
  auto fail = [&](int code, const std::string& what) {
    ::unlink(tmp.c_str());
    return from_errno(code, what, target);
  };
  if (auto code = uncached::write_all(f.fd, data, size))
    return fail(code, "cannot write");
  // close() can report a deferred write error (NFS, quotas): check it rather than let the guard
  // swallow it.
  auto rc = ::close(f.fd);
  f.fd = -1;
  if (rc != 0)
    return fail(errno, "cannot write");
  return tmp;
}

caf::error write_durably(const std::string& tmp_dir, const std::string& tmp_prefix,
                         const std::string& target, const char* data, size_t size) {
  auto tmp = write_temporary(tmp_dir, tmp_prefix, target, data, size, page_cache::use);
  if (!tmp)
    return tmp.error();
  auto fail = [&](int code, const std::string& what) {
    ::unlink(tmp->c_str());
    return from_errno(code, what, target);
  };
  // Reopened for the flush: fsync applies to the file, whichever descriptor asks.
  fd_guard f{::open(tmp->c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0 || ::fsync(f.fd) != 0)
    return fail(errno, "cannot sync");
  if (::rename(tmp->c_str(), target.c_str()) != 0)
    return fail(errno, "cannot rename a temporary file to");
  // The rename is durable only once the directory holding the new name is.
  return fsync_dir(parent_of(target));
}

caf::expected<byte_buffer> read_whole(const std::string& path, page_cache cache) {
  fd_guard f{cache == page_cache::bypass ? uncached::open_for_reading(path)
                                         : ::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    if (errno == ENOENT)
      return make_error(errc::not_found, path + " does not exist");
    return from_errno(errno, "cannot open", path);
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0)
    return from_errno(errno, "cannot stat", path);
  // A chunk-sized buffer comes from the pool (common/buffer_pool.hpp), already faulted in.
  auto size = static_cast<size_t>(st.st_size);
  // As it was given back: read_all overwrites it, so its old bytes need no zero-fill.
  // Room for a direct read's last whole block.
  byte_buffer buf = take_scratch_buffer(size + uncached::block_size);
  auto got = uncached::read_all(f.fd, buf, size); // fewer bytes if the file shrank under us
  if (got < 0)
    return from_errno(static_cast<int>(-got), "cannot read", path);
  return buf;
}

caf::error make_dirs(const std::string& path) {
  if (::mkdir(path.c_str(), 0755) == 0)
    return fsync_dir(parent_of(path));
  if (errno == EEXIST) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
      return caf::none;
    return make_error(errc::io_error, "cannot create directory " + path
                                        + ": a file that is not a directory is in the way");
  }
  if (errno != ENOENT)
    return from_errno(errno, "cannot create directory", path);
  if (auto err = make_dirs(parent_of(path)))
    return err;
  if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
    return from_errno(errno, "cannot create directory", path);
  return fsync_dir(parent_of(path));
}

caf::error remove_leftovers(const std::string& dir, const std::string& prefix) {
  std::error_code ec;
  auto marker = prefix + ".";
  for (fs::directory_iterator it{dir, ec}, end; !ec && it != end; it.increment(ec)) {
    auto name = it->path().filename().string();
    if (name.compare(0, marker.size(), marker) != 0)
      continue;
    DFS_INFO("store", "removing " << it->path().string() << ", left by an interrupted write");
    std::error_code rm_ec;
    fs::remove(it->path(), rm_ec);
    if (rm_ec)
      return from_errno(rm_ec.value(), "cannot remove", it->path().string());
  }
  if (ec)
    return from_errno(ec.value(), "cannot list directory", dir);
  return caf::none;
}

caf::expected<std::string> quarantine(const std::string& path,
                                      const std::string& quarantine_dir) {
  // A timestamp keeps every bad copy when the same chunk goes bad more than once.
  auto stamp = std::chrono::system_clock::now().time_since_epoch().count();
  auto dest = quarantine_dir + "/" + fs::path{path}.filename().string() + "."
              + std::to_string(stamp);
  if (::rename(path.c_str(), dest.c_str()) != 0)
    return from_errno(errno, "cannot move a damaged file to quarantine:", path);
  // No directory fsync: if a crash undoes the move, the next read finds the damage again.
  return dest;
}

} // namespace disk

namespace {

// Temporary chunk files are named "chunk.XXXXXX" in data_dir/tmp/.
constexpr const char* tmp_prefix = "chunk";

} // namespace

caf::expected<chunk_store> chunk_store::open(const std::string& data_dir) {
  if (data_dir.empty())
    return make_error(errc::bad_request, "no data directory given for the chunk store");
  for (auto sub : {"/chunks", "/tmp", "/quarantine"})
    if (auto err = disk::make_dirs(data_dir + sub))
      return err;
  if (auto err = disk::remove_leftovers(data_dir + "/tmp", tmp_prefix))
    return err;
  chunk_store st{data_dir};
  if (auto err = st.build_index())
    return err;
  DFS_INFO("store", "indexed " << st.count() << " chunks (" << st.used() << " bytes) in "
                               << st.index_time().count() << " ms ("
                               << st.index_cpu_time().count() << " ms of CPU)");
  return st;
}

namespace {

/// Two lowercase hex digits: the name of a fan-out directory.
bool is_fanout_name(const char* name) {
  auto hex = [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); };
  return hex(name[0]) && hex(name[1]) && name[2] == '\0';
}

/// CPU time of the calling thread: on a busy machine it says what the work costs, where the
/// wall clock says how long others kept the CPU.
std::chrono::nanoseconds thread_cpu_time() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return std::chrono::seconds{ts.tv_sec} + std::chrono::nanoseconds{ts.tv_nsec};
}

/// Exactly 64 lowercase hex digits: the name of a chunk file.
bool is_id_name(const char* name) {
  for (int i = 0; i < 64; ++i) {
    char c = name[i];
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  }
  return name[64] == '\0';
}

struct dir_guard {
  DIR* d;
  ~dir_guard() {
    if (d != nullptr)
      ::closedir(d);
  }
};

} // namespace

caf::error chunk_store::build_index() {
  // readdir and fstatat rather than std::filesystem: a million files must take seconds, not
  // minutes, and every name is checked once anyway.
  auto started = std::chrono::steady_clock::now();
  auto cpu_started = thread_cpu_time();
  std::vector<chunk_id> ids;
  uint64_t used = 0;
  auto root = data_dir_ + "/chunks";
  auto list_dir = [](const std::string& path, auto&& each) -> caf::error {
    dir_guard d{::opendir(path.c_str())};
    if (d.d == nullptr)
      return disk::from_errno(errno, "cannot list directory", path);
    errno = 0;
    while (auto* e = ::readdir(d.d)) {
      if (e->d_name[0] != '.')
        if (auto err = each(::dirfd(d.d), e->d_name))
          return err;
      errno = 0;
    }
    if (errno != 0)
      return disk::from_errno(errno, "cannot list directory", path);
    return caf::none;
  };
  auto err = list_dir(root, [&](int, const char* ab) -> caf::error {
    if (!is_fanout_name(ab))
      return caf::none;
    auto ab_path = root + "/" + ab;
    return list_dir(ab_path, [&](int, const char* cd) -> caf::error {
      if (!is_fanout_name(cd))
        return caf::none;
      auto cd_path = ab_path + "/" + cd;
      return list_dir(cd_path, [&](int fd, const char* name) -> caf::error {
        // Only names that are exactly the path of an id count: anything else is not a chunk.
        chunk_id id;
        if (!is_id_name(name) || std::memcmp(name, ab, 2) != 0 || std::memcmp(name + 2, cd, 2) != 0
            || !from_hex(name, id.bytes.data(), id.bytes.size()))
          return caf::none;
        struct stat st {};
        if (::fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode))
          return caf::none; // vanished, or not a file: not a chunk
        ids.push_back(id);
        used += static_cast<uint64_t>(st.st_size);
        return caf::none;
      });
    });
  });
  if (err)
    return err;
  index_.assign(std::move(ids));
  used_ = used;
  index_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(
    std::chrono::steady_clock::now() - started);
  index_cpu_time_ = std::chrono::duration_cast<std::chrono::milliseconds>(thread_cpu_time()
                                                                          - cpu_started);
  return caf::none;
}

std::string chunk_store::path_of(const chunk_id& id) const {
  auto hex = id.hex();
  return data_dir_ + "/chunks/" + hex.substr(0, 2) + "/" + hex.substr(2, 2) + "/" + hex;
}

caf::error chunk_store::put(const chunk_id& id, const byte_buffer& bytes) {
  write_batch batch{data_dir_};
  if (auto err = put(id, bytes, batch))
    return err;
  return batch.commit();
}

caf::error chunk_store::check_room(uint64_t bytes, const std::string& what) const {
  auto in_use = used_ + (bytes_elsewhere_ ? bytes_elsewhere_() : 0) + staged_bytes_;
  if (capacity_ > 0 && in_use + bytes > capacity_)
    return make_error(errc::no_space, "capacity reached: " + std::to_string(in_use) + " of "
                                        + std::to_string(capacity_) + " bytes used, " + what
                                        + " " + std::to_string(bytes) + " bytes does not fit");
  if (disk_reserve_ == 0)
    return caf::none;
  // Asked of the file system each time: other programs, and this node's other files, share it.
  // If it cannot say, the write goes ahead and the disk answers for itself.
  struct statvfs fs {};
  if (::statvfs(data_dir_.c_str(), &fs) != 0)
    return caf::none;
  auto free_bytes = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  if (free_bytes < disk_reserve_ || free_bytes - disk_reserve_ < bytes) // no overflow
    return make_error(errc::no_space,
                      "disk nearly full: " + std::to_string(free_bytes) + " bytes free under "
                        + data_dir_ + ", " + what + " " + std::to_string(bytes)
                        + " bytes does not fit beside the " + std::to_string(disk_reserve_)
                        + " bytes kept for deletes ([storage] reserve)");
  return caf::none;
}

caf::error chunk_store::put(const chunk_id& id, const byte_buffer& bytes, write_batch& batch,
                            id_check check) {
  if (check == id_check::verify && chunk_id::of(bytes.data(), bytes.size()) != id)
    return make_error(errc::bad_request,
                      "the chunk's bytes do not hash to its id " + id.hex());
  // Also when the chunk is held already: a put that finds its content stored restarts the
  // chunk's collection clock, or a pass planned before its manifest landed could take it.
  touch_now(id, clock::now());
  if (has(id) || staged_.count(id) != 0)
    return caf::none; // same id, same bytes: already stored, or about to be
  auto path = path_of(id);
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
    // On disk but not indexed (put there behind our back): adopt it rather than count it twice.
    index_.insert(id);
    used_ += static_cast<uint64_t>(st.st_size);
    return caf::none;
  }
  if (auto err = check_room(bytes.size(), "a chunk of"))
    return err;
  size_t fanout = size_t{id.bytes[0]} << 8 | id.bytes[1];
  if (!fanout_made_[fanout]) {
    if (auto err = disk::make_dirs(fs::path{path}.parent_path().string()))
      return err;
    fanout_made_[fanout] = true;
  }
  uint64_t size = bytes.size();
  auto unstage = [this, id, size] {
    if (staged_.erase(id) != 0)
      staged_bytes_ -= size;
  };
  auto on_durable = [this, id, size, unstage] {
    unstage();
    if (index_.insert(id))
      used_ += size;
  };
  if (auto err = batch.stage(data_dir_ + "/tmp", tmp_prefix, path, bytes.data(), bytes.size(),
                             page_cache::bypass, on_durable, unstage))
    return err;
  staged_.emplace(id, size);
  staged_bytes_ += size;
  return caf::none;
}

void chunk_store::forget(const chunk_id& id, uint64_t size) {
  if (index_.erase(id))
    used_ -= std::min(used_, size);
  touched_.erase(id);
}

size_t chunk_store::id_hash::operator()(const chunk_id& id) const {
  // The id is a SHA-256: any eight of its bytes are as good a hash as any.
  size_t h = 0;
  std::memcpy(&h, id.bytes.data(), sizeof h);
  return h;
}

void chunk_store::touch_now(const chunk_id& id, clock::time_point now) {
  touched_[id] = now;
  if (touched_.size() >= forget_touches_at_)
    forget_old_touches(now);
}

void chunk_store::forget_old_touches(clock::time_point now) {
  for (auto i = touched_.begin(); i != touched_.end();) {
    if (i->second + gc_grace_ <= now) {
      untouched_since_ = std::max(untouched_since_, i->second);
      i = touched_.erase(i);
    } else {
      ++i;
    }
  }
  // Amortised: the next sweep only once the map has doubled again.
  forget_touches_at_ = std::max<size_t>(1024, 2 * touched_.size());
}

chunk_store::clock::time_point chunk_store::last_touch(const chunk_id& id) const {
  auto i = touched_.find(id);
  return i != touched_.end() ? i->second : untouched_since_;
}

std::vector<bool> chunk_store::touch(const std::vector<chunk_id>& ids) {
  auto now = clock::now();
  std::vector<bool> present;
  present.reserve(ids.size());
  for (auto& id : ids) {
    bool held = has(id);
    if (held || staged_.count(id) != 0)
      touch_now(id, now);
    present.push_back(held);
  }
  return present;
}

caf::expected<bool> chunk_store::collect(const chunk_id& id, clock::time_point planned_at) {
  if (last_touch(id) + gc_grace_ > planned_at)
    return false;
  if (auto err = remove(id))
    return err;
  return true;
}

caf::expected<byte_buffer> chunk_store::read_verified(const std::string& path,
                                                      const chunk_id& id) {
  auto bytes = disk::read_whole(path, page_cache::bypass);
  if (!bytes)
    return bytes.error();
  if (chunk_id::of(bytes->data(), bytes->size()) != id)
    return make_error(errc::corrupt, "chunk " + id.hex() + " is damaged on disk at " + path);
  return bytes;
}

caf::expected<byte_buffer> chunk_store::get(const chunk_id& id) {
  auto path = path_of(id);
  auto bytes = read_verified(path, id);
  if (bytes)
    return bytes;
  if (code_of(bytes.error()) == errc::not_found) {
    // Gone behind our back: its size is unknown now, so the used count keeps it until the
    // next start rebuilds the index.
    index_.erase(id);
    return make_error(errc::not_found, "chunk " + id.hex() + " is not stored here");
  }
  if (code_of(bytes.error()) != errc::corrupt)
    return bytes.error();
  auto size = size_of(id);
  auto moved = disk::quarantine(path, data_dir_ + "/quarantine");
  auto where = moved ? "moved to " + *moved : "could not be moved aside: " + describe(moved.error());
  if (moved)
    forget(id, size);
  DFS_WARN("store", "chunk file " << path << " does not match its hash; " << where);
  return make_error(errc::corrupt, "chunk " + id.hex() + " is damaged on disk at " + path
                                     + "; " + where);
}

caf::error chunk_store::remove(const chunk_id& id) {
  auto path = path_of(id);
  struct stat st {};
  uint64_t size = ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return disk::from_errno(errno, "cannot remove", path);
  forget(id, size);
  return caf::none;
}

uint64_t chunk_store::size_of(const chunk_id& id) const {
  struct stat st {};
  if (::stat(path_of(id).c_str(), &st) != 0)
    return 0;
  return static_cast<uint64_t>(st.st_size);
}

caf::expected<std::vector<chunk_id>> chunk_store::list() const {
  return index_.sorted();
}

} // namespace dfs
