// Writes the seed corpora of fuzz/corpus/ from the real encoders, in each harness's input
// layout (see the comment at the top of each fuzz/<name>_fuzzer.cpp). Deterministic but for
// the TLS seeds (a handshake has fresh randomness); the committed seeds came from one run:
//
//   build-fuzz/fuzz/dfs-fuzz-seeds fuzz/corpus
//
// Run it again after changing a harness's input layout or a wire format, and commit the result.
#include "net/frame.hpp"
#include "net/messages.hpp"
#include "net/tls_endpoint.hpp"
#include "common/chunk_cipher.hpp"
#include "storage/manifest_store.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace dfs;

namespace {

fs::path out_dir;

const std::string id_a = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const std::string id_b = "0123456789abcdef0123456789abcdef";
const std::string other_id = "fedcba9876543210fedcba9876543210";
const std::string fuzz_secret = "fuzzing secret, at least thirty-two bytes long";

void write_seed(const std::string& harness, const std::string& name, const byte_buffer& bytes) {
  auto dir = out_dir / harness;
  fs::create_directories(dir);
  std::ofstream out{dir / name, std::ios::binary | std::ios::trunc};
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

byte_buffer cat(std::initializer_list<byte_buffer> parts) {
  byte_buffer out;
  for (auto& p : parts)
    out.insert(out.end(), p.begin(), p.end());
  return out;
}

byte_buffer text(const std::string& s) { return byte_buffer(s.begin(), s.end()); }
byte_buffer bytes(std::initializer_list<int> xs) {
  byte_buffer out;
  for (int x : xs)
    out.push_back(static_cast<char>(x));
  return out;
}
/// A length-prefixed string as fuzz::byte_source::str() reads it.
byte_buffer short_str(const std::string& s) { return cat({bytes({int(s.size())}), text(s)}); }

hello_msg sample_hello(const std::string& id, const std::string& cluster = "alpha",
                       peer_role role = peer_role::peer) {
  hello_msg h;
  h.version = protocol_version;
  h.cluster = cluster;
  h.node_id = id;
  h.node_name = "n2";
  h.role = role;
  h.listen_address = role == peer_role::peer ? "10.0.0.2:7000" : "";
  for (size_t i = 0; i < h.nonce.size(); ++i)
    h.nonce[i] = static_cast<uint8_t>(i * 7 + 3);
  return h;
}

chunk_id sample_id(int n) {
  auto s = std::to_string(n);
  return chunk_id::of(s.data(), s.size());
}

manifest sample_manifest(const std::string& key, int chunks, bool deleted = false) {
  manifest m;
  m.key = key;
  for (int i = 0; i < chunks; ++i)
    m.chunks.push_back({sample_id(i), static_cast<uint32_t>(4096 + i)});
  for (auto& c : m.chunks)
    m.size += c.length;
  m.content_hash = sha256(key.data(), key.size());
  m.version = {1700000000000ull + static_cast<uint64_t>(chunks), other_id};
  m.deleted = deleted;
  if (deleted)
    m.chunks.clear(), m.size = 0;
  return m;
}

manifest sample_inline_manifest(const std::string& key, size_t size) {
  manifest m;
  m.key = key;
  m.size = size;
  m.content_hash = sha256(key.data(), key.size());
  m.version = {1700000000000ull, other_id};
  m.inline_data = byte_buffer(size + chunk_cipher::overhead, 'i');
  return m;
}

// -- frame ---------------------------------------------------------------------------------

void frame_seeds() {
  // limits: the handshake's first, then 64 KiB (see limits[] in frame_fuzzer.cpp)
  auto prefix = [](int split, int stop) { return bytes({4 | (5 << 3), split, stop}); };
  byte_buffer stream;
  append_frame(stream, frame_type::hello, 0, to_payload(sample_hello(id_b)));
  append_frame(stream, frame_type::proof, 0, to_payload(proof_msg{}));
  write_seed("frame", "handshake", cat({prefix(0, 0), stream}));
  write_seed("frame", "handshake-split", cat({prefix(7, 1), stream}));

  byte_buffer put;
  append_frame(put, frame_type::put_begin, 5, to_payload(put_begin_msg{"a/key", 10}));
  append_frame(put, frame_type::put_data, 5, "0123456789", 10, flag_final);
  append_frame(put, frame_type::ok, 6, nullptr, 0);
  append_frame(put, frame_type::heartbeat, 0, to_payload(heartbeat_msg{1}));
  write_seed("frame", "put", cat({prefix(3, 0), put}));

  byte_buffer unknown;
  append_frame_header(unknown, static_cast<frame_type>(999), 1, 0);
  write_seed("frame", "unknown-type", cat({prefix(0, 0), unknown}));
  byte_buffer oversized;
  append_frame_header(oversized, frame_type::put_data, 1, 70000);
  write_seed("frame", "oversized", cat({prefix(1, 0), oversized}));
}

// -- messages (selector order of messages_fuzzer.cpp) ----------------------------------------

template <class T>
void message_seed(int selector, const std::string& name, const T& msg) {
  char num[8];
  std::snprintf(num, sizeof num, "%02d-", selector);
  write_seed("messages", num + name, cat({bytes({selector}), to_payload(msg)}));
}

void message_seeds() {
  message_seed(0, "hello", sample_hello(id_b));
  message_seed(0, "hello-client", sample_hello(id_a, "", peer_role::client));
  message_seed(1, "proof", proof_msg{});
  message_seed(2, "error", error_msg{4, "malformed frame"});
  message_seed(2, "error-superseded", error_msg{static_cast<uint8_t>(errc::superseded), "a newer version is held", version{42, id_b}});
  message_seed(3, "key", key_msg{"photos/cat.jpg"});
  message_seed(4, "prefix", prefix_msg{"photos/"});
  message_seed(5, "put_begin", put_begin_msg{"photos/cat.jpg", 123456});
  message_seed(5, "put_begin-unknown-size", put_begin_msg{"pipe", unknown_size});
  message_seed(6, "put_ready", put_ready_msg{4 << 20, 8});
  message_seed(7, "credit", credit_msg{4});
  message_seed(8, "put_done", put_done_msg{3, "1700000000000@" + other_id});
  message_seed(9, "get_meta", get_meta_msg{123456, 1, 8, "1700000000000@" + other_id});
  message_seed(10, "ls_result",
               ls_result_msg{{{"a", 1, "1@" + id_a}, {"b/c", 1 << 20, "2@" + id_b}}});
  message_seed(11, "stat_result",
               stat_result_msg{"a", 10, 1, "1@" + id_a, 3, std::string(64, 'e')});
  message_seed(12, "status_result",
               status_result_msg{"n1",
                                 {{"n1", id_a, "127.0.0.1:7001", "up", 10, 1000, 1000, 0},
                                  {"n2", id_b, "127.0.0.1:7002", "suspect", 0, 0, 0, 1 << 30}},
                                 1,
                                 0});
  message_seed(13, "has_chunks", has_chunks_msg{{sample_id(1), sample_id(2)}});
  message_seed(14, "has_chunks_result", has_chunks_result_msg{{true, false, true}});
  message_seed(15, "manifest", manifest_msg{sample_manifest("photos/cat.jpg", 2)});
  message_seed(15, "manifest-tombstone", manifest_msg{sample_manifest("gone", 0, true)});
  message_seed(15, "manifest-inline", manifest_msg{sample_inline_manifest("small.txt", 40)});
  message_seed(16, "manifest_list",
               manifest_list_msg{{sample_manifest("a", 1), sample_manifest("b", 0, true)}});
  message_seed(17, "inventory_result",
               inventory_result_msg{{sample_id(1)}, {sample_manifest("a", 1)}, 4096});
  message_seed(18, "roster",
               roster_msg{{{id_a, "n1", "127.0.0.1:7001", 17, admin_state::active, 0},
                           {id_b, "n2", "127.0.0.1:7002", 18, admin_state::leaving, 19}}});
  message_seed(19, "empty", empty_msg{});
  message_seed(20, "user_add", user_add_msg{"alice", true, "photos/"});
  message_seed(21, "user_name", user_name_msg{"alice"});
  user_record alice{"alice", "ALICEALICEALICEALICE", true, "photos/", 1700000000000, false};
  user_record gone{"bob", "BOBBOBBOBBOBBOBBOBBO", false, "", 1700000000001, true};
  message_seed(22, "user_record", user_record_msg{alice});
  message_seed(23, "user_list", user_list_msg{{alice, gone}});
  auto user_hello = sample_hello(id_a, "", peer_role::client);
  user_hello.access_key = "ALICEALICEALICEALICE";
  message_seed(0, "hello-user", user_hello);
  message_seed(24, "peers",
               peers_msg{roster_msg{{{id_a, "n1", "127.0.0.1:7001", 17, admin_state::active, 0}}},
                         {id_b}});
  message_seed(25, "rm_result", rm_result_msg{"1700000000001@" + other_id});
}

// -- handshake -------------------------------------------------------------------------------

void handshake_seeds() {
  byte_buffer stream;
  append_frame(stream, frame_type::hello, 0, to_payload(sample_hello(other_id)));
  append_frame(stream, frame_type::proof, 0, to_payload(proof_msg{}));
  write_seed("handshake", "stream-responder", cat({bytes({0}), stream}));
  write_seed("handshake", "stream-initiator", cat({bytes({4}), stream}));
  byte_buffer client_stream;
  append_frame(client_stream, frame_type::hello, 0,
               to_payload(sample_hello(other_id, "", peer_role::client)));
  write_seed("handshake", "stream-client", cat({bytes({0}), client_stream}));
  // A client with a user credential, and one that claims the peer role with it.
  for (auto role : {peer_role::client, peer_role::peer}) {
    auto user_hello = sample_hello(other_id, "", role);
    user_hello.access_key = "ALICEALICEALICEALICE";
    byte_buffer user_stream;
    append_frame(user_stream, frame_type::hello, 0, to_payload(user_hello));
    append_frame(user_stream, frame_type::proof, 0, to_payload(proof_msg{}));
    write_seed("handshake", role == peer_role::client ? "stream-user" : "stream-user-as-peer",
               cat({bytes({0}), user_stream}));
  }
  byte_buffer error_stream;
  append_frame(error_stream, frame_type::error, 0, to_payload(error_msg{5, "wrong secret"}));
  write_seed("handshake", "stream-error", cat({bytes({8 | 16}), error_stream}));
  // mode 1: shape, cluster choice, id choice, name, role, listen, nonce
  auto nonce = text(std::string(32, '\x5a'));
  write_seed("handshake", "built-hello",
             cat({bytes({1, 0, 0, 0}), short_str("n2"), bytes({0}), short_str("10.0.0.2:7000"),
                  nonce}));
  write_seed("handshake", "built-hello-bad-proof",
             cat({bytes({5, 8, 0, 0}), short_str("n2"), bytes({0}), short_str(""), nonce,
                  bytes({3, 1})}));
  // mode 2: two identities (flags, cluster choice) and who goes first
  write_seed("handshake", "two-sides", bytes({2, 0, 0, 0, 0, 0}));
  write_seed("handshake", "two-sides-client", bytes({2, 2, 1, 0, 0, 1}));
}

// -- tls ---------------------------------------------------------------------------------------

void tls_seeds() {
  tls_context ctx{fuzz_secret};
  for (bool named : {false, true}) {
    tls_endpoint client{ctx, tls_side::client, id_a, named ? id_b : ""};
    tls_endpoint server{ctx, tls_side::server, id_b};
    client.start();
    byte_buffer client_hello;
    client.take_ciphertext(client_hello);
    write_seed("tls", named ? "client-hello-named" : "client-hello",
               cat({bytes({named ? 2 : 0, 0}), client_hello}));
    server.feed(client_hello);
    byte_buffer server_flight;
    server.take_ciphertext(server_flight);
    write_seed("tls", named ? "server-flight-named" : "server-flight",
               cat({bytes({named ? 3 : 1, 0}), server_flight}));
  }
  write_seed("tls", "identity", cat({bytes({0, 0}), text(id_a + ">*")}));
  write_seed("tls", "plaintext-peer", cat({bytes({4, 0}), bytes({0x10, 0, 0, 0, 1, 0})}));
}

// -- manifest_file ------------------------------------------------------------------------------

void manifest_seeds() {
  for (auto& [name, m] : std::vector<std::pair<std::string, manifest>>{
         {"two-chunks", sample_manifest("photos/cat.jpg", 2)},
         {"empty-file", sample_manifest("empty", 0)},
         {"tombstone", sample_manifest("gone", 0, true)},
         {"inline", sample_inline_manifest("small.txt", 40)}}) {
    write_seed("manifest_file", "file-" + name, cat({bytes({0}), manifest_file_bytes(m)}));
    byte_buffer payload;
    writer w{payload};
    encode(w, m);
    write_seed("manifest_file", "payload-" + name, cat({bytes({1}), payload}));
    // mode 2: one file, with a header, named by its key's hash
    auto size = static_cast<int>(payload.size());
    write_seed("manifest_file", "store-" + name,
               cat({bytes({2, 0, 0, size & 0xff, size >> 8}), payload}));
  }
  // mode 1 with bit 3: a payload of format 1, from before inline files (no inline bytes' length)
  {
    byte_buffer payload;
    writer w{payload};
    encode(w, sample_manifest("photos/cat.jpg", 2));
    payload.resize(payload.size() - 4);
    write_seed("manifest_file", "payload-format-1", cat({bytes({1 | 8}), payload}));
  }
  // mode 2: two versions of one key, and a file in the wrong fan-out directory
  byte_buffer p1, p2;
  writer w1{p1}, w2{p2};
  auto older = sample_manifest("k", 1);
  auto newer = older;
  newer.version.hlc += 5;
  encode(w1, older);
  encode(w2, newer);
  int n1 = static_cast<int>(p1.size()), n2 = static_cast<int>(p2.size());
  write_seed("manifest_file", "store-two-versions",
             cat({bytes({2, 1, 0, n1 & 0xff, n1 >> 8}), p1, bytes({8, n2 & 0xff, n2 >> 8}), p2,
                  short_str("zz")}));
}

// -- chunk_file ---------------------------------------------------------------------------------

void chunk_file_seeds() {
  chunk_cipher cipher{fuzz_secret};
  for (auto& [name, plain] : std::vector<std::pair<std::string, std::string>>{
         {"hello", "hello, chunk"}, {"empty", ""}, {"block", std::string(300, 'x')}}) {
    write_seed("chunk_file", "stored-" + name,
               cat({bytes({0}), cipher.seal(plain.data(), plain.size())}));
    write_seed("chunk_file", "plain-" + name, cat({bytes({1, 17, 3}), text(plain)}));
  }
}

// -- chunk_index --------------------------------------------------------------------------------

void chunk_index_seeds() {
  // mode 0: inserts, a run that forces a compaction, erasures, assign, checks
  write_seed("chunk_index", "ops",
             cat({bytes({0}), bytes({0, 1, 0, 0, 2, 0, 1, 2, 0, 6}),
                  bytes({3, 1, 0, 0, 255, 4, 0, 0, 1, 128, 6, 5, 0, 2, 60, 2, 6, 1, 3, 0, 6})}));
  // mode 1: entries; each: id index (u16), shape, [leaf extra], content
  write_seed("chunk_index", "tree-valid",
             cat({bytes({1, 1}), bytes({1, 0, 0}), short_str("abc"), bytes({2, 0, 0}),
                  short_str("7"), short_str("7")}));
  write_seed("chunk_index", "tree-junk",
             cat({bytes({1, 4}), bytes({3, 0, 1}), short_str("x"),        // uppercase fan-out
                  bytes({4, 0, 0x40}), short_str(""),                     // a directory
                  bytes({5, 0, 0x80}), short_str("s"),                    // a symlink
                  bytes({6, 0, 0xc0}), short_str("stray"), bytes({1}),    // a stray file
                  bytes({7, 0, 0x30}), short_str("name"), short_str("y"), // a wrong name
                  short_str("new chunk")}));
}

// -- node_id -------------------------------------------------------------------------------------

void node_id_seeds() {
  write_seed("node_id", "valid", cat({bytes({0}), text(id_b + "\n")}));
  write_seed("node_id", "valid-no-newline", cat({bytes({0}), text(id_b)}));
  write_seed("node_id", "uppercase", cat({bytes({4}), text("0123456789ABCDEF0123456789abcdef\n")}));
  write_seed("node_id", "crlf", cat({bytes({0}), text(id_b + "\r\n")}));
  write_seed("node_id", "absent", bytes({3}));
}

// -- config ---------------------------------------------------------------------------------------

void config_seeds() {
  std::string ini = "[node]\n"
                    "name = node-1\n"
                    "listen = 127.0.0.1:7001\n"
                    "data_dir = data\n"
                    "[cluster]\n"
                    "name = alpha\n"
                    "secret_file = secret\n"
                    "bootstrap = 127.0.0.1:7002, [::1]:7003\n"
                    "replicas = 3\n"
                    "write_quorum = 2\n"
                    "suspect_after = 3\n"
                    "down_after = 10\n"
                    "repair_rate = 64MiB\n"
                    "anti_entropy_interval = 10\n"
                    "tls = required\n"
                    "gc_grace = 3600\n"
                    "[storage]\n"
                    "chunk_size = 4MiB\n"
                    "capacity = 10GB\n"
                    "scrub_interval = 86400\n"
                    "scrub_rate = 32MiB\n"
                    "[log]\n"
                    "level = warn\n";
  write_seed("config", "full-with-overrides",
             cat({bytes({1}), text(ini), bytes({0}), text("--cluster.replicas"), bytes({0}),
                  text("5")}));
  write_seed("config", "full-relative", cat({bytes({2}), text(ini)}));
  write_seed("config", "help", cat({bytes({1}), bytes({0}), text("--help")}));
  write_seed("config", "bad-line", cat({bytes({2}), text("[node]\nname\n")}));
  int n = 0;
  for (auto v : {"4MiB", "4096", "1GB", " 7 K ", "127.0.0.1:7000", "[::1]:65535", "host:0"})
    write_seed("config", "value-" + std::to_string(n++), cat({bytes({0}), text(v)}));
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR (e.g. fuzz/corpus)\n", argv[0]);
    return 2;
  }
  out_dir = argv[1];
  frame_seeds();
  message_seeds();
  handshake_seeds();
  tls_seeds();
  manifest_seeds();
  chunk_file_seeds();
  chunk_index_seeds();
  node_id_seeds();
  config_seeds();
  std::printf("wrote seeds under %s\n", out_dir.string().c_str());
  return 0;
}
