#pragma once
// The dfs client library: the public C++ API that applications link (CMake target dfs_client).
//
//   dfs::client c;
//   auto secret = dfs::load_secret_file("alice.credential"); // or the cluster secret's file
//   if (auto ok = c.connect("127.0.0.1:7001", *secret); !ok)
//     std::cerr << "dfs: " << ok.error().message << "\n";
//   auto stored = c.put("notes/a.txt", std::string_view{"hello"});
//   std::string text;
//   auto got = c.get("notes/a.txt", text);
//
// One dfs::client is one authenticated TCP connection to one node; any node serves any request.
// Requests on one client run one at a time, so a program that wants concurrency uses one client
// per thread (a client may move between threads, but must not be used by two at once).
//
// Errors are values: every operation returns a dfs::result holding either its value or a
// dfs::error, whose message is the sentence the `dfs` CLI prints after "dfs: " (the node's own
// words, or the connection's). No exception crosses this API. A failure in the middle of a put
// or get drops the connection (the node abandons the request with it); after that every
// operation fails with error_code::unavailable until connect() is called again.
//
// This header needs only the standard library.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace dfs {

/// Why an operation failed. The numbers are those of the wire protocol's error frames.
enum class error_code : uint8_t {
  none = 0,
  not_found = 1,        // no such key
  corrupt = 2,          // stored bytes do not match their hash
  unavailable = 3,      // cannot connect, connection lost, a node went away
  protocol = 4,         // the node sent something this client does not understand
  auth_failed = 5,      // wrong secret
  bad_request = 6,      // invalid key, address, size or argument
  too_few_replicas = 7, // a put or rm could not reach its write quorum
  io_error = 8,         // a local or remote disk refused
  no_space = 9,         // a disk or the configured capacity is full
  wrong_cluster = 10,
  wrong_version = 11,
  timeout = 12, // the node did not answer in time
  forbidden = 13, // the credential does not allow it (a read-only user, a key outside its prefix)
  superseded = 14, // a put or rm kept meeting newer versions of its key written at the same time
  clock_skew = 15, // a version too far ahead of a node's clock: check the nodes' clocks
};

/// "not_found", "timeout", ...
const char* to_string(error_code code);

struct error {
  error_code code = error_code::none;
  std::string message; // one sentence, as the dfs CLI prints it after "dfs: "
};

/// Either a value or the error that prevented it.
template <class T>
class result {
public:
  result(T value) : value_(std::move(value)) {}
  result(dfs::error e) : error_(std::move(e)) {}

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  T& operator*() { return *value_; }
  const T& operator*() const { return *value_; }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  /// Only meaningful when !ok().
  const dfs::error& error() const { return error_; }

private:
  std::optional<T> value_;
  dfs::error error_;
};

/// Success without a value, or the error.
template <>
class result<void> {
public:
  result() = default;
  result(dfs::error e) : failed_(true), error_(std::move(e)) {}

  bool ok() const { return !failed_; }
  explicit operator bool() const { return ok(); }
  const dfs::error& error() const { return error_; }

private:
  bool failed_ = false;
  dfs::error error_;
};

// --- what operations return ------------------------------------------------------------------

struct put_info {
  uint64_t size = 0;   // bytes stored (the only way to learn how long a stream was)
  uint32_t copies = 0; // the fewest durable copies any chunk or the manifest reached
  std::string version; // "HLC@NODE_ID"
};

struct get_info {
  uint64_t size = 0;
  uint32_t chunks = 0;
  std::string version; // of the manifest served: "HLC@NODE_ID"
};

struct remove_info {
  std::string version; // of the tombstone the remove wrote: "HLC@NODE_ID"
};

struct list_entry {
  std::string key;
  uint64_t size = 0;
  std::string version;
};

struct file_info {
  std::string key;
  uint64_t size = 0;
  uint32_t chunks = 0;
  std::string version;
  uint32_t copies = 0; // the fewest live nodes holding any one chunk or the newest manifest
  std::string sha256;  // hex SHA-256 of the whole content
};

struct member_info {
  std::string name;
  std::string node_id;
  std::string address;
  std::string state;   // "up", "suspect", "down", "leaving" or "left"
  uint64_t chunks = 0; // chunks it holds
  uint64_t bytes = 0;  // bytes they take on its disk
  uint64_t used = 0;     // bytes of chunks counted against its capacity
  uint64_t capacity = 0; // its [storage] capacity; 0 = no limit (or an older node)
};

struct cluster_status {
  std::string node; // the name of the node that answered
  std::vector<member_info> members;
  uint64_t under_replicated = 0; // chunks and manifests with fewer than min(R, live) copies
  uint64_t over_replicated = 0;  // ... with more than R copies (surplus not yet dropped)
  // Why the answering node does not collect garbage (tombstones, unreferenced chunks) now:
  // "n3 is down", "n2 waits for <id>"; empty when it may.
  std::vector<std::string> collection_waits = {};
};

/// A user of the cluster (see client::add_user). secret_key is known only to add_user's caller:
/// the node keeps no secret keys.
struct user_info {
  std::string name;
  std::string access_key; // 20 characters of A-Z and 2-7
  bool read_only = false;
  std::string prefix;     // the keys it may touch start with this; empty: every key
  std::string secret_key; // 64 hex digits (add_user only)
};

/// The contents of a user's credential file (what load_secret_file reads back).
std::string credential_file_text(const user_info& user);

// --- callbacks -------------------------------------------------------------------------------

/// Called after every chunk: bytes done so far and the total (client::unknown_size while a put
/// reads a stream whose length it learns only at its end).
using progress_fn = std::function<void(uint64_t done, uint64_t total)>;
/// A put's source: fill `buf` with up to `want` bytes and set `got`; got < want means the end.
/// Returning an error aborts the put with it.
using read_fn = std::function<std::optional<error>(char* buf, size_t want, size_t& got)>;
/// A get's destination: take `size` bytes. Returning an error aborts the get with it.
using write_fn = std::function<std::optional<error>(const char* data, size_t size)>;

// --- helpers ---------------------------------------------------------------------------------

struct node_address {
  std::string host;
  uint16_t port = 0;
};

/// Parses "host:port" or "[v6-address]:port" (one grammar with the node's config, see
/// common/host_port.hpp in the sources); nullopt for anything else.
std::optional<node_address> parse_node_address(const std::string& text);

/// Why a key is invalid (a key is 1..1024 bytes without NUL), or nullopt if it is valid.
std::optional<std::string> check_key(const std::string& key);

/// Why a user name is invalid (1..64 characters of A-Z a-z 0-9 . _ -, not starting with . or
/// -), or nullopt if it is valid.
std::optional<std::string> check_user_name(const std::string& name);

/// Reads what connect() authenticates with: the cluster secret (the whole file, trailing
/// newlines stripped, at least 32 bytes, as a node reads it) or a user credential file (made
/// by `dfs user add`; its first line is "dfs-user-credential v1"). The error (bad_request)
/// names the file.
result<std::string> load_secret_file(const std::string& path);

/// A warning to show when the secret or credential file at `path` is readable by its group or
/// by others (anyone who reads it can use it); nullopt when it is not.
std::optional<std::string> secret_file_warning(const std::string& path);

/// True when `secret` (as load_secret_file returned it) is a user credential, not the cluster
/// secret.
bool is_user_credential(const std::string& secret);

/// A new random secret: 64 hex digits (32 random bytes), without a newline.
result<std::string> generate_secret();

// --- local files -----------------------------------------------------------------------------

/// A local file (or stdin for "-") to put. Open it before connecting and a wrong path is
/// reported as such rather than after a connection. Closes its descriptor when dropped.
class local_source {
public:
  static result<local_source> open(const std::string& path);
  local_source(local_source&& other) noexcept;
  local_source& operator=(local_source&& other) noexcept;
  ~local_source();

  /// The file's size, or client::unknown_size for stdin, a pipe or anything else that is not a
  /// regular file.
  uint64_t size() const { return size_; }
  /// How messages name it: the path, or "stdin".
  const std::string& name() const { return name_; }
  /// Fills up to `want` bytes; got < want only at the end of the input.
  std::optional<error> read(char* buf, size_t want, size_t& got);

private:
  local_source(int fd, bool owned, uint64_t size, std::string name);
  int fd_ = -1;
  bool owned_ = false;
  uint64_t size_ = 0;
  std::string name_;
};

/// Where a get writes: stdout for "-", otherwise a temporary file next to the destination that
/// commit() fsyncs and renames into place, so a failed get never leaves a partial file. An
/// uncommitted temporary file is removed when the sink is dropped.
class local_sink {
public:
  /// `path` empty: the key's last path component in the current directory; `path` an existing
  /// directory: that name inside it. Fails with bad_request when no name can be derived.
  /// A regular file or a new name gets a temporary file that commit() renames into place; any
  /// other existing file (a FIFO, a device) is written in place, never replaced; a symbolic
  /// link is written through to what it points at, and refused when that does not exist.
  static result<local_sink> open(const std::string& path, const std::string& key);
  local_sink(local_sink&& other) noexcept;
  local_sink& operator=(local_sink&& other) noexcept;
  ~local_sink();

  /// The destination as messages name it: the final path, or "stdout".
  const std::string& name() const { return name_; }
  std::optional<error> write(const char* data, size_t size);
  /// Makes the bytes durable and moves them into place (a file written in place is closed).
  std::optional<error> commit();

private:
  local_sink() = default;
  void discard();
  enum class mode { replace, in_place, standard_output };
  int fd_ = -1;
  mode mode_ = mode::replace;
  std::string name_;
  std::string temp_path_; // mode::replace: the file commit() renames to name_
};

// --- the client ------------------------------------------------------------------------------

class client {
public:
  /// The size to give a put whose source's length is not known up front.
  static constexpr uint64_t unknown_size = ~uint64_t{0};

  client();
  ~client();
  client(client&&) noexcept;
  client& operator=(client&&) noexcept;
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  /// Connects to `node` ("host:port") and authenticates with the cluster secret or a user
  /// credential (the contents, see load_secret_file). The cluster secret may do everything; a
  /// user may do what its record allows (read-only, a key prefix), and gets
  /// error_code::forbidden otherwise; a removed user's credential is refused (auth_failed).
  /// `timeout` bounds every later wait for the node as well.
  result<void> connect(const std::string& node, const std::string& secret,
                       std::chrono::milliseconds timeout = std::chrono::seconds{60});
  bool connected() const;
  void close();

  // put: stores bytes under `key`, replacing what the key held. The bytes travel in chunks of
  // the node's chunk size; the client holds one chunk at a time, whatever the source.

  /// From memory.
  result<put_info> put(const std::string& key, const void* data, size_t size,
                       const progress_fn& progress = {});
  result<put_info> put(const std::string& key, std::string_view bytes,
                       const progress_fn& progress = {});
  /// `size` bytes from `in`, or everything up to its end with unknown_size.
  result<put_info> put(const std::string& key, std::istream& in, uint64_t size = unknown_size,
                       const progress_fn& progress = {});
  result<put_info> put(const std::string& key, local_source& source,
                       const progress_fn& progress = {});
  /// `path` "-" reads stdin.
  result<put_info> put_file(const std::string& key, const std::string& path,
                            const progress_fn& progress = {});
  /// From a callback: `size` bytes (unknown_size: until it reports the end).
  result<put_info> put_from(const std::string& key, const read_fn& read,
                            uint64_t size = unknown_size, const progress_fn& progress = {});

  // get: the stored bytes of `key`, checked against their hashes by the node.

  /// Into memory: `out` is replaced by the content.
  result<get_info> get(const std::string& key, std::string& out,
                       const progress_fn& progress = {});
  /// To a stream. On failure `out` may hold a prefix of the content.
  result<get_info> get(const std::string& key, std::ostream& out,
                       const progress_fn& progress = {});
  /// Commits the sink only when every byte arrived.
  result<get_info> get(const std::string& key, local_sink& sink,
                       const progress_fn& progress = {});
  /// `path` "-" writes stdout; empty: the key's last path component in the current directory.
  result<get_info> get_file(const std::string& key, const std::string& path,
                            const progress_fn& progress = {});
  /// To a callback, chunk by chunk, in order.
  result<get_info> get_to(const std::string& key, const write_fn& write,
                          const progress_fn& progress = {});

  /// Removes `key`: writes a tombstone newer than every version the replicas hold.
  result<remove_info> remove(const std::string& key);
  /// Keys that start with `prefix`, sorted.
  result<std::vector<list_entry>> list(const std::string& prefix = "");
  result<file_info> stat(const std::string& key);
  /// The members as the node sees them.
  result<cluster_status> status();
  /// Starts decommissioning the named node: it hands its data to the others, then leaves.
  /// Needs the cluster secret.
  result<void> decommission(const std::string& node_name);

  // Users: need the cluster secret. A change reaches every connected node within seconds.

  /// Creates a user: a fresh access key, and its secret key derived here from the cluster
  /// secret this client connected with. Fails (bad_request) when the name is taken.
  result<user_info> add_user(const std::string& name, bool read_only = false,
                             const std::string& prefix = "");
  /// The users, sorted by name (without secret keys).
  result<std::vector<user_info>> list_users();
  /// Removes a user: its credential is refused from then on, on open connections too.
  result<void> remove_user(const std::string& name);

private:
  struct impl;
  /// The state, made anew for a moved-from client.
  impl& self();
  std::unique_ptr<impl> impl_;
};

} // namespace dfs
