// dfs::client: the protocol of the client operations (docs/PROTOCOL.md) over
// one blocking client_connection.
#include "dfs/client.hpp"

#include "net/client_connection.hpp"
#include "net/messages.hpp"
#include "common/credential.hpp"

#include <algorithm>
#include <cstring>
#include <exception>
#include <istream>
#include <ostream>

namespace dfs {

static_assert(client::unknown_size == dfs::unknown_size, "the public and the wire value differ");

namespace {

error protocol_error(std::string message) { return {error_code::protocol, std::move(message)}; }

error not_connected() { return {error_code::unavailable, "not connected to a node"}; }

error unexpected(const received_frame& frame) {
  return protocol_error(std::string{"the node answered with an unexpected "}
                        + to_string(frame.header.type) + " frame");
}

/// Where a put's bytes come from. `data` points either into `scratch` (filled by the source) or
/// at the source's own memory, which then travels to the socket without a copy.
class byte_source {
public:
  virtual ~byte_source() = default;
  virtual std::optional<error> read(char* scratch, size_t want, const char*& data,
                                    size_t& got) = 0;
};

class memory_source final : public byte_source {
public:
  memory_source(const char* data, size_t size) : data_(data), size_(size) {}
  std::optional<error> read(char*, size_t want, const char*& data, size_t& got) override {
    got = std::min(want, size_ - offset_);
    data = data_ + offset_;
    offset_ += got;
    return std::nullopt;
  }

private:
  const char* data_;
  size_t size_;
  size_t offset_ = 0;
};

class callback_source final : public byte_source {
public:
  explicit callback_source(const read_fn& read) : read_(read) {}
  std::optional<error> read(char* scratch, size_t want, const char*& data, size_t& got) override {
    got = 0;
    data = scratch;
    auto e = read_(scratch, want, got);
    if (!e && got > want)
      return error{error_code::bad_request, "the put's source returned more bytes than asked for"};
    return e;
  }

private:
  const read_fn& read_;
};

error to_public(const client_error& e) {
  return {static_cast<error_code>(static_cast<uint8_t>(e.code)), e.message};
}

} // namespace

const char* to_string(error_code code) {
  switch (code) {
    case error_code::none: return "none";
    case error_code::not_found: return "not_found";
    case error_code::corrupt: return "corrupt";
    case error_code::unavailable: return "unavailable";
    case error_code::protocol: return "protocol";
    case error_code::auth_failed: return "auth_failed";
    case error_code::bad_request: return "bad_request";
    case error_code::too_few_replicas: return "too_few_replicas";
    case error_code::io_error: return "io_error";
    case error_code::no_space: return "no_space";
    case error_code::wrong_cluster: return "wrong_cluster";
    case error_code::wrong_version: return "wrong_version";
    case error_code::timeout: return "timeout";
    case error_code::forbidden: return "forbidden";
    case error_code::superseded: return "superseded";
    case error_code::clock_skew: return "clock_skew";
  }
  return "unknown";
}

// --- the connection and its request plumbing -------------------------------------------------

struct client::impl {
  std::unique_ptr<client_connection> conn;
  /// The secret connect() was given: add_user derives the new user's secret key from it.
  std::string secret;
  /// The last frame received; its payload buffer is reused from frame to frame.
  received_frame frame;
  /// A put's chunk buffer, kept between puts so that small puts do not allocate it each time.
  byte_buffer chunk;

  /// Fails with `e` and drops the connection.
  error drop(error e) {
    conn.reset();
    return e;
  }

  /// Fails with the connection's own sentence and drops the connection.
  error lost() {
    if (!conn)
      return not_connected();
    return drop(to_public(conn->error()));
  }

  /// After a failed send: the node often said why before closing, so look for its error frame.
  error lost_sending(uint64_t id) {
    if (!conn)
      return not_connected();
    auto send_error = to_public(conn->error());
    // The node answers a refused request with an error frame and may close right after; the
    // frame can still sit in our receive buffer, and its sentence beats "broken pipe".
    for (int i = 0; i < 16; ++i) {
      if (!conn->receive(frame))
        break;
      auto& f = frame;
      if (f.header.type != frame_type::error
          || (f.header.request_id != id && f.header.request_id != 0))
        continue;
      if (auto err = from_payload<error_msg>(f.payload); err && !err->message.empty())
        return drop({err->code == 0 ? error_code::protocol : static_cast<error_code>(err->code),
                     err->message});
      break;
    }
    return drop(send_error);
  }

  /// Sends a request frame under a fresh request id.
  std::optional<error> send_request(frame_type type, const byte_buffer& payload, uint64_t& id) {
    if (!conn)
      return not_connected();
    id = conn->next_request_id();
    if (!conn->send(type, id, payload))
      return lost_sending(id);
    return std::nullopt;
  }

  /// Waits for the next frame of request `id` (into `frame`); an error frame for it becomes the
  /// error.
  std::optional<error> next_frame(uint64_t id) {
    if (!conn)
      return not_connected();
    for (;;) {
      if (!conn->receive(frame))
        return lost();
      auto& f = frame;
      bool for_us = f.header.request_id == id;
      bool for_connection = f.header.request_id == 0;
      if (f.header.type == frame_type::error && (for_us || for_connection)) {
        auto err = from_payload<error_msg>(f.payload);
        if (!err)
          return drop(protocol_error("the node sent a malformed error frame"));
        auto code = err->code == 0 ? error_code::protocol : static_cast<error_code>(err->code);
        error e{code, err->message};
        if (e.message.empty())
          e.message = "the node reported error " + std::to_string(err->code) + " without a reason";
        // Request id 0 is about the connection itself: the node is closing it.
        if (for_connection)
          return drop(e);
        return e;
      }
      if (for_us)
        return std::nullopt;
      // Anything else belongs to no request of ours (we run one at a time); skip it.
    }
  }

  /// next_frame, but any type other than `expected` is a protocol error.
  std::optional<error> expect(uint64_t id, frame_type expected) {
    if (auto e = next_frame(id))
      return e;
    if (frame.header.type != expected)
      return drop(unexpected(frame));
    return std::nullopt;
  }

  /// Decodes `frame` as T.
  template <class T>
  std::optional<error> decode(T& out) {
    auto msg = from_payload<T>(frame.payload);
    if (!msg)
      return drop(protocol_error(std::string{"the node sent a malformed "}
                                 + to_string(frame.header.type) + " frame"));
    out = std::move(*msg);
    return std::nullopt;
  }

  /// A request whose whole answer is one frame of type `expected`, decoded as T.
  template <class T>
  std::optional<error> call(frame_type type, const byte_buffer& payload, frame_type expected,
                            T& out) {
    uint64_t id = 0;
    if (auto e = send_request(type, payload, id))
      return e;
    if (auto e = expect(id, expected))
      return e;
    return decode(out);
  }

  /// put_ready for request `id`: the node's chunk size and the first credit.
  std::optional<error> expect_put_ready(uint64_t id, size_t& chunk_size, uint64_t& credit);
  result<put_info> put(byte_source& source, const std::string& name, const std::string& key,
                       uint64_t size, const progress_fn& progress);
  result<get_info> get(const std::string& key, const write_fn& write,
                       const std::function<void(uint64_t size)>& on_size,
                       const progress_fn& progress);
};

namespace {

/// Runs one public operation so that no exception (an allocation failure, RAND_bytes, a throwing
/// callback) crosses the API; the connection may be mid-request then, so it is dropped.
template <class F>
auto guarded(client& self, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    self.close();
    return error{error_code::io_error, std::string{"internal error: "} + e.what()};
  }
}

} // namespace

client::client() : impl_(std::make_unique<impl>()) {}
client::~client() = default;
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;

client::impl& client::self() {
  if (!impl_)
    impl_ = std::make_unique<impl>(); // a moved-from client becomes usable again
  return *impl_;
}

bool client::connected() const { return impl_ && impl_->conn != nullptr; }

void client::close() {
  if (impl_)
    impl_->conn.reset();
}

result<void> client::connect(const std::string& node, const std::string& secret,
                             std::chrono::milliseconds timeout) {
  return guarded(*this, [&]() -> result<void> {
    close();
    auto address = parse_node_address(node);
    if (!address)
      return error{error_code::bad_request, "bad node address '" + node + "': expected HOST:PORT"};
    auto conn = std::make_unique<client_connection>();
    // The cluster name stays empty: a client holds only the secret, and nodes accept an empty
    // name from the client role (the HMAC proof over the secret is what admits it).
    if (!conn->open(address->host, address->port, "", secret, timeout))
      return to_public(conn->error());
    self().conn = std::move(conn);
    self().secret = secret;
    return result<void>{};
  });
}

// --- put -------------------------------------------------------------------------------------

std::optional<error> client::impl::expect_put_ready(uint64_t id, size_t& chunk_size,
                                                    uint64_t& credit) {
  if (auto e = expect(id, frame_type::put_ready))
    return e;
  put_ready_msg ready;
  if (auto e = decode(ready))
    return e;
  if (ready.chunk_size == 0 || ready.chunk_size > client_max_payload)
    return drop(protocol_error("the node asked for chunks of " + std::to_string(ready.chunk_size)
                               + " bytes"));
  chunk_size = static_cast<size_t>(ready.chunk_size);
  credit = ready.credit;
  return std::nullopt;
}

result<put_info> client::impl::put(byte_source& source, const std::string& name,
                                   const std::string& key, uint64_t size,
                                   const progress_fn& progress) {
  uint64_t id = 0;
  if (auto e = send_request(frame_type::put_begin, to_payload(put_begin_msg{key, size}), id))
    return *e;
  // A small file goes out at once as one frame, without waiting for put_ready (net/frame.hpp,
  // max_early_put_size): the put then costs one round trip fewer.
  const bool early = size != unknown_size && size > 0 && size <= max_early_put_size;
  size_t chunk_size = static_cast<size_t>(size);
  uint64_t credit = 1;
  if (!early) {
    if (auto e = expect_put_ready(id, chunk_size, credit))
      return *e;
  }

  // From here on a failure abandons a half-sent put: dropping the connection tells the node.
  // One chunk buffer, whatever the size of the input; no more of it than the input needs.
  size_t buffer_size = chunk_size;
  if (size != unknown_size)
    buffer_size = static_cast<size_t>(std::min<uint64_t>(chunk_size, std::max<uint64_t>(size, 1)));
  if (chunk.size() < buffer_size)
    chunk.resize(buffer_size);
  uint64_t sent = 0;
  for (bool last = false; !last;) {
    size_t want = chunk_size;
    if (size != unknown_size)
      want = static_cast<size_t>(std::min<uint64_t>(chunk_size, size - sent));
    if (chunk.size() < want)
      chunk.resize(want);
    size_t got = 0;
    const char* data = nullptr;
    if (auto e = source.read(chunk.data(), want, data, got))
      return drop(*e);
    if (size == unknown_size) {
      // A pipe that ends exactly on a chunk boundary is only known to have ended on the next
      // read; that read sends an empty final frame.
      last = got < want;
    } else {
      if (got < want)
        return drop({error_code::io_error, name + " shrank while being read: it ended after "
                                             + std::to_string(sent + got) + " of "
                                             + std::to_string(size) + " bytes"});
      last = sent + got == size;
      if (last) {
        char extra = 0;
        const char* extra_data = nullptr;
        size_t more = 0;
        if (auto e = source.read(&extra, 1, extra_data, more))
          return drop(*e);
        if (more > 0)
          return drop({error_code::io_error, name + " grew while being read: it has more than "
                                               + std::to_string(size) + " bytes"});
      }
    }
    while (credit == 0) {
      if (auto e = expect(id, frame_type::put_credit))
        return drop(*e);
      credit_msg more;
      if (auto e = decode(more))
        return *e;
      credit += more.frames;
    }
    if (!conn->send(frame_type::put_data, id, data, got, last ? flag_final : 0))
      return lost_sending(id);
    --credit;
    sent += got;
    if (progress)
      progress(sent, size);
  }
  if (early) {
    // The node answers put_begin (put_ready, or an error that ends the put and drops the data
    // already sent) before it takes the data.
    if (auto e = expect_put_ready(id, chunk_size, credit))
      return *e;
  }
  for (;;) {
    if (auto e = next_frame(id))
      return drop(*e);
    if (frame.header.type == frame_type::put_credit)
      continue; // credit that arrived after the last frame went out
    if (frame.header.type != frame_type::put_done)
      return drop(unexpected(frame));
    put_done_msg done;
    if (auto e = decode(done))
      return *e;
    return put_info{sent, done.copies, std::move(done.version)};
  }
}

result<put_info> client::put(const std::string& key, const void* data, size_t size,
                             const progress_fn& progress) {
  return guarded(*this, [&]() -> result<put_info> {
    memory_source source{static_cast<const char*>(data), data == nullptr ? 0 : size};
    return self().put(source, "the buffer", key, data == nullptr ? 0 : size, progress);
  });
}

result<put_info> client::put(const std::string& key, std::string_view bytes,
                             const progress_fn& progress) {
  return put(key, bytes.data(), bytes.size(), progress);
}

result<put_info> client::put(const std::string& key, std::istream& in, uint64_t size,
                             const progress_fn& progress) {
  return guarded(*this, [&]() -> result<put_info> {
    read_fn read = [&](char* buf, size_t want, size_t& got) -> std::optional<error> {
      in.read(buf, static_cast<std::streamsize>(want));
      got = static_cast<size_t>(in.gcount());
      if (in.bad())
        return error{error_code::io_error, "cannot read the input stream"};
      return std::nullopt;
    };
    callback_source source{read};
    return self().put(source, "the input stream", key, size, progress);
  });
}

result<put_info> client::put(const std::string& key, local_source& file,
                             const progress_fn& progress) {
  return guarded(*this, [&]() -> result<put_info> {
    read_fn read = [&](char* buf, size_t want, size_t& got) { return file.read(buf, want, got); };
    callback_source source{read};
    return self().put(source, file.name(), key, file.size(), progress);
  });
}

result<put_info> client::put_file(const std::string& key, const std::string& path,
                                  const progress_fn& progress) {
  auto source = local_source::open(path);
  if (!source)
    return source.error();
  return put(key, *source, progress);
}

result<put_info> client::put_from(const std::string& key, const read_fn& read, uint64_t size,
                                  const progress_fn& progress) {
  return guarded(*this, [&]() -> result<put_info> {
    callback_source source{read};
    return self().put(source, "the put's source", key, size, progress);
  });
}

// --- get -------------------------------------------------------------------------------------

result<get_info> client::impl::get(const std::string& key, const write_fn& write,
                                   const std::function<void(uint64_t size)>& on_size,
                                   const progress_fn& progress) {
  uint64_t id = 0;
  if (auto e = send_request(frame_type::get, to_payload(key_msg{key}), id))
    return *e;
  if (auto e = expect(id, frame_type::get_meta))
    return *e;
  get_meta_msg meta;
  if (auto e = decode(meta))
    return *e;
  if (on_size)
    on_size(meta.size);
  const auto one_frame = to_payload(credit_msg{1});
  uint64_t received = 0;
  while (received < meta.size) {
    if (auto e = expect(id, frame_type::get_data))
      return drop(*e);
    auto n = frame.payload.size();
    if (n == 0)
      return drop(protocol_error("the node sent an empty data frame"));
    if (n > meta.size - received)
      return drop(protocol_error("the node sent more than the " + std::to_string(meta.size)
                                 + " bytes it announced"));
    received += n;
    // Each credit pays for one more frame; after the last byte there is nothing to pay for.
    // Paying before writing lets the node send the next chunk while this one is written.
    if (received < meta.size && !conn->send(frame_type::credit, id, one_frame))
      return lost_sending(id);
    if (auto e = write(frame.payload.data(), n))
      return drop(*e);
    if (progress)
      progress(received, meta.size);
  }
  return get_info{meta.size, meta.chunks, std::move(meta.version)};
}

result<get_info> client::get(const std::string& key, std::string& out,
                             const progress_fn& progress) {
  return guarded(*this, [&]() -> result<get_info> {
    out.clear();
    write_fn write = [&](const char* data, size_t size) -> std::optional<error> {
      out.append(data, size);
      return std::nullopt;
    };
    auto on_size = [&](uint64_t size) {
      if (size <= out.max_size())
        out.reserve(static_cast<size_t>(size));
    };
    return self().get(key, write, on_size, progress);
  });
}

result<get_info> client::get(const std::string& key, std::ostream& out,
                             const progress_fn& progress) {
  return guarded(*this, [&]() -> result<get_info> {
    write_fn write = [&](const char* data, size_t size) -> std::optional<error> {
      if (!out.write(data, static_cast<std::streamsize>(size)))
        return error{error_code::io_error, "cannot write the output stream"};
      return std::nullopt;
    };
    auto got = self().get(key, write, {}, progress);
    if (got && !out.flush())
      return error{error_code::io_error, "cannot write the output stream"};
    return got;
  });
}

result<get_info> client::get(const std::string& key, local_sink& sink,
                             const progress_fn& progress) {
  return guarded(*this, [&]() -> result<get_info> {
    write_fn write = [&](const char* data, size_t size) { return sink.write(data, size); };
    auto got = self().get(key, write, {}, progress);
    if (!got)
      return got;
    if (auto e = sink.commit())
      return *e;
    return got;
  });
}

result<get_info> client::get_file(const std::string& key, const std::string& path,
                                  const progress_fn& progress) {
  auto sink = local_sink::open(path, key);
  if (!sink)
    return sink.error();
  return get(key, *sink, progress);
}

result<get_info> client::get_to(const std::string& key, const write_fn& write,
                                const progress_fn& progress) {
  return guarded(*this, [&]() -> result<get_info> {
    return self().get(key, write, {}, progress);
  });
}

// --- one-frame requests ----------------------------------------------------------------------

result<remove_info> client::remove(const std::string& key) {
  return guarded(*this, [&]() -> result<remove_info> {
    rm_result_msg done;
    if (auto e = self().call(frame_type::rm, to_payload(key_msg{key}), frame_type::rm_result,
                             done))
      return *e;
    return remove_info{std::move(done.version)};
  });
}

result<std::vector<list_entry>> client::list(const std::string& prefix) {
  return guarded(*this, [&]() -> result<std::vector<list_entry>> {
    ls_result_msg found;
    if (auto e = self().call(frame_type::ls, to_payload(prefix_msg{prefix}), frame_type::ls_result,
                             found))
      return *e;
    std::vector<list_entry> out;
    out.reserve(found.entries.size());
    for (auto& e : found.entries)
      out.push_back({std::move(e.key), e.size, std::move(e.version)});
    return out;
  });
}

result<file_info> client::stat(const std::string& key) {
  return guarded(*this, [&]() -> result<file_info> {
    stat_result_msg st;
    if (auto e = self().call(frame_type::stat, to_payload(key_msg{key}), frame_type::stat_result,
                             st))
      return *e;
    return file_info{std::move(st.key), st.size,   st.chunks,
                     std::move(st.version), st.copies, std::move(st.content_sha256)};
  });
}

result<cluster_status> client::status() {
  return guarded(*this, [&]() -> result<cluster_status> {
    status_result_msg st;
    if (auto e = self().call(frame_type::status, byte_buffer{}, frame_type::status_result, st))
      return *e;
    cluster_status out;
    out.node = std::move(st.node);
    out.under_replicated = st.under_replicated;
    out.over_replicated = st.over_replicated;
    out.collection_waits = std::move(st.collection_waits);
    out.members.reserve(st.members.size());
    for (auto& m : st.members)
      out.members.push_back({std::move(m.name), std::move(m.node_id), std::move(m.address),
                             std::move(m.state), m.chunks, m.bytes, m.used, m.capacity});
    return out;
  });
}

result<void> client::decommission(const std::string& node_name) {
  return guarded(*this, [&]() -> result<void> {
    empty_msg done;
    if (auto e = self().call(frame_type::decommission, to_payload(key_msg{node_name}),
                             frame_type::ok, done))
      return *e;
    return result<void>{};
  });
}

namespace {

user_info to_user_info(user_record r) {
  return {std::move(r.name), std::move(r.access_key), r.read_only, std::move(r.prefix), {}};
}

} // namespace

std::string credential_file_text(const user_info& user) {
  return format_credential({user.name, user.access_key, user.secret_key});
}

bool is_user_credential(const std::string& secret) { return looks_like_credential(secret); }

result<user_info> client::add_user(const std::string& name, bool read_only,
                                   const std::string& prefix) {
  return guarded(*this, [&]() -> result<user_info> {
    user_record_msg made;
    if (auto e = self().call(frame_type::user_add, to_payload(user_add_msg{name, read_only, prefix}),
                             frame_type::user_result, made))
      return *e;
    if (!is_valid_access_key(made.value.access_key))
      return self().drop(protocol_error("the node answered with a malformed access key"));
    // Only a holder of the cluster secret gets here (the node refuses users), and it derives
    // the key itself: a secret key never travels.
    auto secret_key = derive_user_secret_key(self().secret, made.value.access_key);
    auto info = to_user_info(std::move(made.value));
    info.secret_key = std::move(secret_key);
    return info;
  });
}

result<std::vector<user_info>> client::list_users() {
  return guarded(*this, [&]() -> result<std::vector<user_info>> {
    user_list_msg found;
    if (auto e = self().call(frame_type::user_ls, {}, frame_type::user_list, found))
      return *e;
    std::vector<user_info> out;
    for (auto& r : found.records)
      out.push_back(to_user_info(std::move(r)));
    return out;
  });
}

result<void> client::remove_user(const std::string& name) {
  return guarded(*this, [&]() -> result<void> {
    empty_msg done;
    if (auto e = self().call(frame_type::user_rm, to_payload(user_name_msg{name}), frame_type::ok,
                             done))
      return *e;
    return result<void>{};
  });
}

} // namespace dfs
