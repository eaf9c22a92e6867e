// dfs::client: the protocol of the client operations over one blocking client_connection.
#include "cli/client.hpp"

#include <algorithm>
#include <exception>
#include <istream>
#include <ostream>

namespace dfs {

namespace {

client_error protocol_error(std::string message) { return {errc::protocol, std::move(message)}; }

client_error not_connected() { return {errc::unavailable, "not connected to a node"}; }

client_error unexpected(const received_frame& frame) {
  return protocol_error(std::string{"the node answered with an unexpected "}
                        + to_string(frame.header.type) + " frame");
}

/// Runs one public operation so that no exception (an allocation failure, RAND_bytes) crosses
/// the API; the connection may be mid-request then, so it is dropped.
template <class F>
auto guarded(client& self, F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::exception& e) {
    self.close();
    return client_error{errc::io_error, std::string{"internal error: "} + e.what()};
  }
}

} // namespace

client::client() = default;
client::~client() = default;
client::client(client&&) noexcept = default;
client& client::operator=(client&&) noexcept = default;

void client::close() { conn_.reset(); }

client_error client::drop(client_error error) {
  conn_.reset();
  return error;
}

client_error client::lost() {
  if (!conn_)
    return not_connected();
  return drop(conn_->error());
}

client_error client::lost_sending(uint64_t id) {
  if (!conn_)
    return not_connected();
  auto send_error = conn_->error();
  // The node answers a refused request with an error frame and may close right after; the
  // frame can still sit in our receive buffer, and its sentence beats "broken pipe".
  for (int i = 0; i < 16; ++i) {
    received_frame f;
    if (!conn_->receive(f))
      break;
    if (f.header.type != frame_type::error
        || (f.header.request_id != id && f.header.request_id != 0))
      continue;
    if (auto err = from_payload<error_msg>(f.payload); err && !err->message.empty())
      return drop({err->code == 0 ? errc::protocol : static_cast<errc>(err->code), err->message});
    break;
  }
  return drop(send_error);
}

result<void> client::connect(const std::string& node, const std::string& secret,
                             std::chrono::milliseconds timeout) {
  return guarded(*this, [&]() -> result<void> {
    close();
    auto address = parse_node_address(node);
    if (!address)
      return client_error{errc::bad_request, "bad node address '" + node + "': expected HOST:PORT"};
    auto conn = std::make_unique<client_connection>();
    // The cluster name stays empty: a client holds only the secret, and nodes accept an empty
    // name from the client role (the HMAC proof over the secret is what admits it).
    if (!conn->open(address->host, address->port, "", secret, timeout))
      return conn->error();
    conn_ = std::move(conn);
    return result<void>{};
  });
}

// --- request plumbing ------------------------------------------------------------------------

result<uint64_t> client::send_request(frame_type type, const byte_buffer& payload) {
  if (!conn_)
    return not_connected();
  auto id = conn_->next_request_id();
  if (!conn_->send(type, id, payload))
    return lost_sending(id);
  return id;
}

result<received_frame> client::next_frame(uint64_t id) {
  if (!conn_)
    return not_connected();
  for (;;) {
    received_frame f;
    if (!conn_->receive(f))
      return lost();
    bool for_us = f.header.request_id == id;
    bool for_connection = f.header.request_id == 0;
    if (f.header.type == frame_type::error && (for_us || for_connection)) {
      auto err = from_payload<error_msg>(f.payload);
      if (!err)
        return drop(protocol_error("the node sent a malformed error frame"));
      auto code = err->code == 0 ? errc::protocol : static_cast<errc>(err->code);
      client_error e{code, err->message};
      if (e.message.empty())
        e.message = "the node reported error " + std::to_string(err->code) + " without a reason";
      // Request id 0 is about the connection itself: the node is closing it.
      return for_connection ? drop(e) : e;
    }
    if (for_us)
      return f;
    // Anything else belongs to no request of ours (we run one at a time); skip it.
  }
}

result<received_frame> client::expect(uint64_t id, frame_type expected) {
  auto f = next_frame(id);
  if (f && f->header.type != expected)
    return drop(unexpected(*f));
  return f;
}

template <class T>
result<T> client::decode(const received_frame& frame) {
  auto msg = from_payload<T>(frame.payload);
  if (!msg)
    return drop(protocol_error(std::string{"the node sent a malformed "}
                               + to_string(frame.header.type) + " frame"));
  return std::move(*msg);
}

template <class T>
result<T> client::call(frame_type type, const byte_buffer& payload, frame_type expected) {
  auto id = send_request(type, payload);
  if (!id)
    return id.error();
  auto f = expect(*id, expected);
  if (!f)
    return f.error();
  return decode<T>(*f);
}

// --- put -------------------------------------------------------------------------------------

result<put_result> client::put_from(const read_fn& read, const std::string& name,
                                    const std::string& key, uint64_t size,
                                    const progress_fn& progress) {
  auto id = send_request(frame_type::put_begin, to_payload(put_begin_msg{key, size}));
  if (!id)
    return id.error();
  auto ready_frame = expect(*id, frame_type::put_ready);
  if (!ready_frame)
    return ready_frame.error();
  auto ready = decode<put_ready_msg>(*ready_frame);
  if (!ready)
    return ready.error();
  if (ready->chunk_size == 0 || ready->chunk_size > client_max_payload)
    return drop(protocol_error("the node asked for chunks of " + std::to_string(ready->chunk_size)
                               + " bytes"));
  const size_t chunk_size = static_cast<size_t>(ready->chunk_size);
  uint64_t credit = ready->credit;

  // From here on a failure abandons a half-sent put: dropping the connection tells the node.
  // One chunk buffer, whatever the size of the input.
  byte_buffer chunk(chunk_size);
  uint64_t sent = 0;
  for (bool last = false; !last;) {
    size_t want = chunk_size;
    if (size != unknown_size)
      want = static_cast<size_t>(std::min<uint64_t>(chunk_size, size - sent));
    size_t got = 0;
    if (auto e = read(chunk.data(), want, got))
      return drop(*e);
    if (size == unknown_size) {
      // A pipe that ends exactly on a chunk boundary is only known to have ended on the next
      // read; that read sends an empty final frame.
      last = got < want;
    } else {
      if (got < want)
        return drop({errc::io_error, name + " shrank while being read: it ended after "
                                       + std::to_string(sent + got) + " of "
                                       + std::to_string(size) + " bytes"});
      last = sent + got == size;
      if (last) {
        char extra = 0;
        size_t more = 0;
        if (auto e = read(&extra, 1, more))
          return drop(*e);
        if (more > 0)
          return drop({errc::io_error, name + " grew while being read: it has more than "
                                         + std::to_string(size) + " bytes"});
      }
    }
    while (credit == 0) {
      auto f = expect(*id, frame_type::put_credit);
      if (!f)
        return drop(f.error());
      auto more = decode<credit_msg>(*f);
      if (!more)
        return more.error();
      credit += more->frames;
    }
    if (!conn_->send(frame_type::put_data, *id, chunk.data(), got, last ? flag_final : 0))
      return lost_sending(*id);
    --credit;
    sent += got;
    if (progress)
      progress(sent, size);
  }
  for (;;) {
    auto f = next_frame(*id);
    if (!f)
      return drop(f.error());
    if (f->header.type == frame_type::put_credit)
      continue; // credit that arrived after the last frame went out
    if (f->header.type != frame_type::put_done)
      return drop(unexpected(*f));
    auto done = decode<put_done_msg>(*f);
    if (!done)
      return done.error();
    return put_result{sent, done->copies, done->version};
  }
}

result<put_result> client::put(std::istream& in, const std::string& key, uint64_t size,
                               const progress_fn& progress) {
  return guarded(*this, [&]() -> result<put_result> {
    auto read = [&](char* buf, size_t want, size_t& got) -> std::optional<client_error> {
      in.read(buf, static_cast<std::streamsize>(want));
      got = static_cast<size_t>(in.gcount());
      if (in.bad())
        return client_error{errc::io_error, "cannot read the input stream"};
      return std::nullopt;
    };
    return put_from(read, "the input stream", key, size, progress);
  });
}

result<put_result> client::put(local_source& source, const std::string& key,
                               const progress_fn& progress) {
  return guarded(*this, [&]() -> result<put_result> {
    auto read = [&](char* buf, size_t want, size_t& got) { return source.read(buf, want, got); };
    return put_from(read, source.name(), key, source.size(), progress);
  });
}

result<put_result> client::put_file(const std::string& path, const std::string& key,
                                    const progress_fn& progress) {
  auto source = local_source::open(path);
  if (!source)
    return source.error();
  return put(*source, key, progress);
}

// --- get -------------------------------------------------------------------------------------

result<get_result> client::get_into(const std::string& key, const write_fn& write,
                                    const progress_fn& progress) {
  auto id = send_request(frame_type::get, to_payload(key_msg{key}));
  if (!id)
    return id.error();
  auto meta_frame = expect(*id, frame_type::get_meta);
  if (!meta_frame)
    return meta_frame.error();
  auto meta = decode<get_meta_msg>(*meta_frame);
  if (!meta)
    return meta.error();
  const auto one_frame = to_payload(credit_msg{1});
  uint64_t received = 0;
  while (received < meta->size) {
    auto f = expect(*id, frame_type::get_data);
    if (!f)
      return drop(f.error());
    auto n = f->payload.size();
    if (n == 0)
      return drop(protocol_error("the node sent an empty data frame"));
    if (n > meta->size - received)
      return drop(protocol_error("the node sent more than the " + std::to_string(meta->size)
                                 + " bytes it announced"));
    if (auto e = write(f->payload.data(), n))
      return drop(*e);
    received += n;
    if (progress)
      progress(received, meta->size);
    // Each credit pays for one more frame; after the last byte there is nothing to pay for.
    if (received < meta->size && !conn_->send(frame_type::credit, *id, one_frame))
      return lost_sending(*id);
  }
  return get_result{meta->size, meta->chunks};
}

result<get_result> client::get(const std::string& key, std::ostream& out,
                               const progress_fn& progress) {
  return guarded(*this, [&]() -> result<get_result> {
    auto write = [&](const char* data, size_t size) -> std::optional<client_error> {
      if (!out.write(data, static_cast<std::streamsize>(size)))
        return client_error{errc::io_error, "cannot write the output stream"};
      return std::nullopt;
    };
    auto got = get_into(key, write, progress);
    if (got && !out.flush())
      return client_error{errc::io_error, "cannot write the output stream"};
    return got;
  });
}

result<get_result> client::get(const std::string& key, local_sink& sink,
                               const progress_fn& progress) {
  return guarded(*this, [&]() -> result<get_result> {
    auto write = [&](const char* data, size_t size) { return sink.write(data, size); };
    auto got = get_into(key, write, progress);
    if (!got)
      return got;
    if (auto e = sink.commit())
      return *e;
    return got;
  });
}

result<get_result> client::get_file(const std::string& key, const std::string& path,
                                    const progress_fn& progress) {
  auto sink = local_sink::open(path, key);
  if (!sink)
    return sink.error();
  return get(key, *sink, progress);
}

// --- one-frame requests ----------------------------------------------------------------------

result<void> client::rm(const std::string& key) {
  return guarded(*this, [&]() -> result<void> {
    auto done = call<empty_msg>(frame_type::rm, to_payload(key_msg{key}), frame_type::ok);
    if (!done)
      return done.error();
    return result<void>{};
  });
}

result<std::vector<ls_entry>> client::ls(const std::string& prefix) {
  return guarded(*this, [&]() -> result<std::vector<ls_entry>> {
    auto found = call<ls_result_msg>(frame_type::ls, to_payload(prefix_msg{prefix}),
                                     frame_type::ls_result);
    if (!found)
      return found.error();
    return std::move(found->entries);
  });
}

result<stat_result_msg> client::stat(const std::string& key) {
  return guarded(*this, [&] {
    return call<stat_result_msg>(frame_type::stat, to_payload(key_msg{key}),
                                 frame_type::stat_result);
  });
}

result<status_result_msg> client::status() {
  return guarded(*this, [&] {
    return call<status_result_msg>(frame_type::status, byte_buffer{}, frame_type::status_result);
  });
}

} // namespace dfs
