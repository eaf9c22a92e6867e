// The local side of the client library: node addresses, keys, the secret file, and the files a
// put reads and a get writes.
#include "dfs/client.hpp"

#include "common/credential.hpp"
#include "common/crypto.hpp"
#include "common/host_port.hpp"
#include "common/manifest.hpp"
#include "common/secret_file.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dfs {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

error io_failure(std::string message) { return {error_code::io_error, std::move(message)}; }

/// The last path component of a key, if it makes a usable file name.
std::optional<std::string> file_name_of_key(const std::string& key) {
  auto slash = key.find_last_of('/');
  auto name = slash == std::string::npos ? key : key.substr(slash + 1);
  if (name.empty() || name == "." || name == "..")
    return std::nullopt;
  return name;
}

bool is_directory(const std::string& path) {
  struct stat st{};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

} // namespace

std::optional<node_address> parse_node_address(const std::string& text) {
  auto address = parse_host_port(text);
  if (!address)
    return std::nullopt;
  return node_address{address->host, address->port};
}

std::optional<std::string> check_key(const std::string& key) { return invalid_key_reason(key); }

result<std::string> generate_secret() {
  uint8_t secret[32];
  try {
    random_bytes(secret, sizeof secret);
  } catch (const std::exception& e) {
    return io_failure(e.what());
  }
  return to_hex(secret, sizeof secret);
}

result<std::string> load_secret_file(const std::string& path) {
  auto contents = read_secret_file(path);
  if (!contents.secret)
    return error{error_code::bad_request, "secret file '" + path + "': " + contents.problem};
  return std::move(*contents.secret);
}

std::optional<std::string> check_user_name(const std::string& name) {
  return check_user_name(std::string_view{name});
}

std::optional<std::string> secret_file_warning(const std::string& path) {
  return readable_by_others_warning(path, "secret file");
}

// --- local_source ----------------------------------------------------------------------------

local_source::local_source(int fd, bool owned, uint64_t size, std::string name)
  : fd_(fd), owned_(owned), size_(size), name_(std::move(name)) {}

local_source::local_source(local_source&& other) noexcept
  : fd_(std::exchange(other.fd_, -1)), owned_(std::exchange(other.owned_, false)),
    size_(other.size_), name_(std::move(other.name_)) {}

local_source& local_source::operator=(local_source&& other) noexcept {
  if (this != &other) {
    if (owned_)
      ::close(fd_);
    fd_ = std::exchange(other.fd_, -1);
    owned_ = std::exchange(other.owned_, false);
    size_ = other.size_;
    name_ = std::move(other.name_);
  }
  return *this;
}

local_source::~local_source() {
  if (owned_)
    ::close(fd_);
}

result<local_source> local_source::open(const std::string& path) {
  if (path == "-")
    return local_source{STDIN_FILENO, false, client::unknown_size, "stdin"};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return io_failure("cannot read " + path + ": " + errno_text(errno));
  struct stat st{};
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return io_failure("cannot read " + path + ": " + errno_text(err));
  }
  if (S_ISDIR(st.st_mode)) {
    ::close(fd);
    return io_failure("cannot read " + path + ": " + errno_text(EISDIR));
  }
  // A pipe or device (say, `<(command)`) has no size up front; it is streamed like stdin.
  auto size = S_ISREG(st.st_mode) ? static_cast<uint64_t>(st.st_size) : client::unknown_size;
  return local_source{fd, true, size, path};
}

std::optional<error> local_source::read(char* buf, size_t want, size_t& got) {
  got = 0;
  while (got < want) {
    auto n = ::read(fd_, buf + got, want - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return io_failure("cannot read " + name_ + ": " + errno_text(errno));
    if (n == 0)
      break;
    got += static_cast<size_t>(n);
  }
  return std::nullopt;
}

// --- local_sink ------------------------------------------------------------------------------

local_sink::local_sink(local_sink&& other) noexcept
  : fd_(std::exchange(other.fd_, -1)), mode_(other.mode_),
    name_(std::move(other.name_)), temp_path_(std::move(other.temp_path_)) {
  other.temp_path_.clear();
}

local_sink& local_sink::operator=(local_sink&& other) noexcept {
  if (this != &other) {
    discard();
    fd_ = std::exchange(other.fd_, -1);
    mode_ = other.mode_;
    name_ = std::move(other.name_);
    temp_path_ = std::move(other.temp_path_);
    other.temp_path_.clear();
  }
  return *this;
}

local_sink::~local_sink() { discard(); }

void local_sink::discard() {
  if (mode_ == mode::standard_output)
    return;
  if (fd_ >= 0)
    ::close(fd_);
  fd_ = -1;
  if (!temp_path_.empty())
    ::unlink(temp_path_.c_str());
  temp_path_.clear();
}

result<local_sink> local_sink::open(const std::string& path, const std::string& key) {
  local_sink sink;
  if (path == "-") {
    sink.fd_ = STDOUT_FILENO;
    sink.mode_ = mode::standard_output;
    sink.name_ = "stdout";
    return sink;
  }
  std::string target = path;
  if (target.empty() || is_directory(target)) {
    auto name = file_name_of_key(key);
    if (!name)
      return error{error_code::bad_request, "cannot name a local file after the key '" + key
                                               + "'; give one: dfs get <key> <local-file>"};
    target = target.empty() ? *name : target + (target.back() == '/' ? "" : "/") + *name;
  }
  // Only a regular file is replaced. A symbolic link is followed, so the link stays and what
  // it points at gets the bytes. Anything else that exists (a FIFO, a device such as
  // /dev/null) is written in place, as cp does: renaming a regular file over it would replace
  // the device itself.
  struct stat st{};
  if (::lstat(target.c_str(), &st) == 0 && S_ISLNK(st.st_mode)) {
    char* resolved = ::realpath(target.c_str(), nullptr);
    if (resolved == nullptr)
      return io_failure("cannot write " + target + ": it is a symbolic link to a missing file");
    target = resolved;
    std::free(resolved);
  }
  if (::stat(target.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
    sink.fd_ = ::open(target.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY);
    if (sink.fd_ < 0)
      return io_failure("cannot write " + target + ": " + errno_text(errno));
    sink.mode_ = mode::in_place;
    sink.name_ = target;
    return sink;
  }
  // The temp file lives in the destination's directory, so the final rename stays on one file
  // system and is atomic; the dot keeps it out of casual listings.
  auto slash = target.find_last_of('/');
  auto dir = slash == std::string::npos ? std::string{} : target.substr(0, slash + 1);
  auto base = slash == std::string::npos ? target : target.substr(slash + 1);
  uint8_t tag[6];
  try {
    random_bytes(tag, sizeof tag);
  } catch (const std::exception& e) {
    return io_failure(e.what());
  }
  sink.temp_path_ = dir + "." + base + "." + to_hex(tag, sizeof tag) + ".dfs-part";
  sink.fd_ = ::open(sink.temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (sink.fd_ < 0) {
    int err = errno;
    sink.temp_path_.clear();
    return io_failure("cannot write " + target + ": " + errno_text(err));
  }
  sink.name_ = target;
  return sink;
}

std::optional<error> local_sink::write(const char* data, size_t size) {
  while (size > 0) {
    auto n = ::write(fd_, data, size);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return io_failure("cannot write " + name_ + ": " + errno_text(errno));
    data += n;
    size -= static_cast<size_t>(n);
  }
  return std::nullopt;
}

std::optional<error> local_sink::commit() {
  if (mode_ == mode::standard_output)
    return std::nullopt;
  if (mode_ == mode::in_place) {
    // A pipe or a device: nothing to fsync or rename.
    if (::close(std::exchange(fd_, -1)) != 0)
      return io_failure("cannot write " + name_ + ": " + errno_text(errno));
    return std::nullopt;
  }
  // fsync before rename: after a crash the name must not point at bytes that never hit the disk.
  if (::fsync(fd_) != 0 || ::close(std::exchange(fd_, -1)) != 0)
    return io_failure("cannot write " + name_ + ": " + errno_text(errno));
  if (::rename(temp_path_.c_str(), name_.c_str()) != 0)
    return io_failure("cannot write " + name_ + ": " + errno_text(errno));
  temp_path_.clear();
  return std::nullopt;
}

} // namespace dfs
