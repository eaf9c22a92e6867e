#include "storage/chunk_store.hpp"

#include "common/error.hpp"
#include "common/log.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
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

caf::error write_durably(const std::string& tmp_dir, const std::string& tmp_prefix,
                         const std::string& target, const char* data, size_t size) {
  std::string tmp = tmp_dir + "/" + tmp_prefix + ".XXXXXX";
  fd_guard f{::mkostemp(tmp.data(), O_CLOEXEC)};
  if (f.fd < 0)
    return from_errno(errno, "cannot create a temporary file in", tmp_dir);
  // Until the rename succeeds, every failure leaves only the temporary file to clean up.
  auto fail = [&](int code, const std::string& what) {
    ::unlink(tmp.c_str());
    return from_errno(code, what, target);
  };
  for (size_t done = 0; done < size;) {
    auto n = ::write(f.fd, data + done, size - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return fail(errno, "cannot write");
    done += static_cast<size_t>(n);
  }
  if (::fsync(f.fd) != 0)
    return fail(errno, "cannot sync");
  // close() can report a deferred write error (NFS, quotas): check it rather than let the guard
  // swallow it.
  auto rc = ::close(f.fd);
  f.fd = -1;
  if (rc != 0)
    return fail(errno, "cannot write");
  if (::rename(tmp.c_str(), target.c_str()) != 0)
    return fail(errno, "cannot rename a temporary file to");
  // The rename is durable only once the directory holding the new name is.
  return fsync_dir(parent_of(target));
}

caf::expected<byte_buffer> read_whole(const std::string& path) {
  fd_guard f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) {
    if (errno == ENOENT)
      return make_error(errc::not_found, path + " does not exist");
    return from_errno(errno, "cannot open", path);
  }
  struct stat st {};
  if (::fstat(f.fd, &st) != 0)
    return from_errno(errno, "cannot stat", path);
  byte_buffer buf(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < buf.size()) {
    auto n = ::read(f.fd, buf.data() + done, buf.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return from_errno(errno, "cannot read", path);
    if (n == 0)
      break; // the file shrank under us: what we got is what it holds
    done += static_cast<size_t>(n);
  }
  buf.resize(done);
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
  return chunk_store{data_dir};
}

std::string chunk_store::path_of(const chunk_id& id) const {
  auto hex = id.hex();
  return data_dir_ + "/chunks/" + hex.substr(0, 2) + "/" + hex.substr(2, 2) + "/" + hex;
}

caf::error chunk_store::put(const chunk_id& id, const byte_buffer& bytes) {
  if (chunk_id::of(bytes.data(), bytes.size()) != id)
    return make_error(errc::bad_request,
                      "the chunk's bytes do not hash to its id " + id.hex());
  if (has(id))
    return caf::none; // same id, same bytes: already stored
  auto path = path_of(id);
  if (auto err = disk::make_dirs(fs::path{path}.parent_path().string()))
    return err;
  return disk::write_durably(data_dir_ + "/tmp", tmp_prefix, path, bytes.data(), bytes.size());
}

caf::expected<byte_buffer> chunk_store::get(const chunk_id& id) {
  auto path = path_of(id);
  auto bytes = disk::read_whole(path);
  if (!bytes) {
    if (code_of(bytes.error()) == errc::not_found)
      return make_error(errc::not_found, "chunk " + id.hex() + " is not stored here");
    return bytes.error();
  }
  if (chunk_id::of(bytes->data(), bytes->size()) == id)
    return bytes;
  auto moved = disk::quarantine(path, data_dir_ + "/quarantine");
  auto where = moved ? "moved to " + *moved : "could not be moved aside: " + describe(moved.error());
  DFS_WARN("store", "chunk file " << path << " does not match its hash; " << where);
  return make_error(errc::corrupt, "chunk " + id.hex() + " is damaged on disk at " + path
                                     + "; " + where);
}

bool chunk_store::has(const chunk_id& id) const {
  struct stat st {};
  return ::stat(path_of(id).c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

caf::error chunk_store::remove(const chunk_id& id) {
  auto path = path_of(id);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return disk::from_errno(errno, "cannot remove", path);
  return caf::none;
}

uint64_t chunk_store::size_of(const chunk_id& id) const {
  struct stat st {};
  if (::stat(path_of(id).c_str(), &st) != 0)
    return 0;
  return static_cast<uint64_t>(st.st_size);
}

caf::expected<std::vector<chunk_id>> chunk_store::list() const {
  std::vector<chunk_id> ids;
  auto root = data_dir_ + "/chunks";
  std::error_code ec;
  for (fs::recursive_directory_iterator it{root, ec}, end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec; // a file that vanished mid-walk is simply not listed
    if (it.depth() != 2 || !it->is_regular_file(type_ec))
      continue;
    // Only names that are exactly the path of an id count: anything else is not a chunk.
    auto name = it->path().filename().string();
    auto cd = it->path().parent_path();
    chunk_id id;
    if (from_hex(name, id.bytes.data(), id.bytes.size()) && id.hex() == name
        && cd.filename() == name.substr(2, 2) && cd.parent_path().filename() == name.substr(0, 2))
      ids.push_back(id);
  }
  if (ec)
    return disk::from_errno(ec.value(), "cannot list directory", root);
  std::sort(ids.begin(), ids.end());
  return ids;
}

} // namespace dfs
