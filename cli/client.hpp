#pragma once
// The dfs client library: one authenticated connection to one node and the user-level
// operations on it (put, get, rm, ls, stat, status). Errors are values — every operation returns
// a result carrying either its value or a client_error whose message is the sentence the CLI
// prints after "dfs: " (the node's own words from its error frame, or the connection's).
// No exception crosses this API.
//
// The second half declares what the `dfs` program is made of (JSON output, the commands), so
// that dfs_main.cpp only parses options and dispatches.
#include "net/client_connection.hpp"
#include "net/messages.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dfs {

/// Either a value or the reason there is none.
template <class T>
class result {
public:
  result(T value) : value_(std::move(value)) {}
  result(client_error error) : error_(std::move(error)) {}

  explicit operator bool() const { return value_.has_value(); }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  const client_error& error() const { return error_; }

private:
  std::optional<T> value_;
  client_error error_;
};

/// Success without a value, or the reason for failure.
template <>
class result<void> {
public:
  result() = default;
  result(client_error error) : failed_(true), error_(std::move(error)) {}

  explicit operator bool() const { return !failed_; }
  const client_error& error() const { return error_; }

private:
  bool failed_ = false;
  client_error error_;
};

struct node_address {
  std::string host;
  uint16_t port = 0;
};

/// Parses "host:port" or "[v6-address]:port"; nullopt for anything else.
std::optional<node_address> parse_node_address(const std::string& text);

/// Reads a cluster secret the way a node does: the whole file, trailing newlines stripped, at
/// least 32 bytes. The error names the file.
result<std::string> load_secret_file(const std::string& path);

/// Called after every chunk: bytes done so far and the total (unknown_size when a put reads a
/// pipe and learns its size only at the end).
using progress_fn = std::function<void(uint64_t done, uint64_t total)>;

/// A local file (or stdin for "-") to put, opened before any network traffic so that a wrong
/// path is reported as such rather than after a connection. Closes its descriptor when dropped.
class local_source {
public:
  static result<local_source> open(const std::string& path);
  local_source(local_source&& other) noexcept;
  local_source& operator=(local_source&& other) noexcept;
  ~local_source();

  /// The file's size, or unknown_size for stdin, a pipe or anything else that is not a regular
  /// file.
  uint64_t size() const { return size_; }
  /// How messages name it: the path, or "stdin".
  const std::string& name() const { return name_; }
  /// Fills up to `want` bytes; got < want only at the end of the input.
  std::optional<client_error> read(char* buf, size_t want, size_t& got);

private:
  local_source(int fd, bool owned, uint64_t size, std::string name);
  int fd_ = -1;
  bool owned_ = false;
  uint64_t size_ = unknown_size;
  std::string name_;
};

/// Where a get writes: stdout for "-", otherwise a temp file next to the destination that
/// commit() renames into place, so a failed get never leaves a partial file. An uncommitted temp
/// file is removed when the sink is dropped.
class local_sink {
public:
  /// `path` empty: the key's last path component in the current directory; `path` an existing
  /// directory: that name inside it. Fails with errc::bad_request when no name can be derived.
  static result<local_sink> open(const std::string& path, const std::string& key);
  local_sink(local_sink&& other) noexcept;
  local_sink& operator=(local_sink&& other) noexcept;
  ~local_sink();

  /// The destination as messages name it: the final path, or "stdout".
  const std::string& name() const { return name_; }
  std::optional<client_error> write(const char* data, size_t size);
  /// Makes the bytes durable and moves them into place.
  std::optional<client_error> commit();

private:
  local_sink() = default;
  void discard();
  int fd_ = -1;
  bool is_stdout_ = false;
  std::string name_;
  std::string temp_path_;
};

struct put_result {
  uint64_t size = 0;   // bytes sent (the only way to learn a pipe's size)
  uint32_t copies = 0; // the fewest copies any chunk or the manifest reached
  std::string version;
};

struct get_result {
  uint64_t size = 0;
  uint32_t chunks = 0;
};

/// One connection to one node. Requests run one at a time; a failure in the middle of a
/// streamed put or get drops the connection (the node abandons the request with it), after
/// which every operation fails until connect() is called again.
class client {
public:
  client();
  ~client();
  client(client&&) noexcept;
  client& operator=(client&&) noexcept;

  /// Connects to `node` ("host:port") and authenticates with the cluster secret.
  result<void> connect(const std::string& node, const std::string& secret,
                       std::chrono::milliseconds timeout = std::chrono::seconds{60});
  bool connected() const { return conn_ != nullptr; }
  void close();

  /// Stores `size` bytes from `in` (unknown_size: until its end) under `key`.
  result<put_result> put(std::istream& in, const std::string& key,
                         uint64_t size = unknown_size, const progress_fn& progress = {});
  result<put_result> put(local_source& source, const std::string& key,
                         const progress_fn& progress = {});
  /// `path` "-" reads stdin.
  result<put_result> put_file(const std::string& path, const std::string& key,
                              const progress_fn& progress = {});

  /// Writes the stored bytes of `key` to `out`. On failure `out` may hold a prefix of them.
  result<get_result> get(const std::string& key, std::ostream& out,
                         const progress_fn& progress = {});
  /// Commits the sink only when every byte arrived.
  result<get_result> get(const std::string& key, local_sink& sink,
                         const progress_fn& progress = {});
  /// `path` "-" writes stdout; empty: the key's last path component in the current directory.
  result<get_result> get_file(const std::string& key, const std::string& path,
                              const progress_fn& progress = {});

  result<void> rm(const std::string& key);
  result<std::vector<ls_entry>> ls(const std::string& prefix = "");
  result<stat_result_msg> stat(const std::string& key);
  result<status_result_msg> status();

private:
  using read_fn = std::function<std::optional<client_error>(char* buf, size_t want, size_t& got)>;
  using write_fn = std::function<std::optional<client_error>(const char* data, size_t size)>;

  result<put_result> put_from(const read_fn& read, const std::string& name,
                              const std::string& key, uint64_t size, const progress_fn& progress);
  result<get_result> get_into(const std::string& key, const write_fn& write,
                              const progress_fn& progress);
  /// Sends a request frame under a fresh request id and returns the id.
  result<uint64_t> send_request(frame_type type, const byte_buffer& payload);
  /// Waits for the next frame of request `id`; an error frame for it becomes the error.
  result<received_frame> next_frame(uint64_t id);
  /// next_frame, but any type other than `expected` is a protocol error.
  result<received_frame> expect(uint64_t id, frame_type expected);
  /// A request whose whole answer is one frame of type `expected`, decoded as T.
  template <class T>
  result<T> call(frame_type type, const byte_buffer& payload, frame_type expected);
  template <class T>
  result<T> decode(const received_frame& frame);
  /// Fails with the connection's own sentence and drops the connection.
  client_error lost();
  /// After a failed send: the node often said why before closing, so look for its error frame.
  client_error lost_sending(uint64_t id);
  /// Fails with `error` and drops the connection.
  client_error drop(client_error error);

  std::unique_ptr<client_connection> conn_;
};

/// What the bytes of a progress line or a summary look like: "1.5 MiB".
std::string human_size(uint64_t bytes);

} // namespace dfs

namespace dfs::cli {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1; // the operation failed
constexpr int exit_usage = 2;  // usage or configuration error

/// Everything a command needs besides its own arguments, resolved and validated by main.
struct settings {
  std::string node = "127.0.0.1:7001";
  std::string secret; // the secret itself, already read from the secret file
  std::chrono::milliseconds timeout{60'000};
  bool json = false;
};

// JSON, one line each, strings escaped (bytes that are not UTF-8 become U+FFFD).
std::string json_string(const std::string& text);
std::string to_json(const std::vector<ls_entry>& entries);
std::string to_json(const stat_result_msg& stat);
std::string to_json(const status_result_msg& status);

// The commands. `args` are the positional arguments after the command name, count already
// checked. Each prints its own "dfs: ..." line on failure and returns the exit code.
int run_put(const settings& s, const std::vector<std::string>& args);
int run_get(const settings& s, const std::vector<std::string>& args);
int run_rm(const settings& s, const std::vector<std::string>& args);
int run_ls(const settings& s, const std::vector<std::string>& args);
int run_stat(const settings& s, const std::vector<std::string>& args);
int run_status(const settings& s, const std::vector<std::string>& args);
/// Needs neither node nor secret.
int run_keygen(const std::vector<std::string>& args);

} // namespace dfs::cli
