#define CAF_SUITE messages
#include "tests/unit/test_helpers.hpp"

#include "common/codec.hpp"
#include "net/messages.hpp"
#include "common/manifest.hpp"

#include <sys/resource.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

using namespace dfs;

namespace {

std::array<uint8_t, 32> pattern(uint8_t seed) {
  std::array<uint8_t, 32> a{};
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = static_cast<uint8_t>(seed + i * 7);
  return a;
}

chunk_id cid(uint8_t seed) { return chunk_id{pattern(seed)}; }

const std::string node_a = "0123456789abcdef0123456789abcdef";

hello_msg sample_hello() {
  hello_msg h;
  h.version = 0x0102;
  h.cluster = "alpha";
  h.node_id = node_a;
  h.node_name = "node-a";
  h.role = peer_role::client;
  h.listen_address = "127.0.0.1:7001";
  h.nonce = pattern(3);
  return h;
}

manifest sample_manifest(const std::string& key, uint8_t seed) {
  manifest m;
  m.key = key;
  m.chunks = {{cid(seed), 4096}, {cid(seed + 1), 4096}, {cid(seed + 2), 17}};
  m.size = 4096 + 4096 + 17;
  m.content_hash = pattern(seed + 100);
  m.version = version{0x0000018000000001ull + seed, node_a};
  m.deleted = false;
  return m;
}

manifest tombstone(const std::string& key) {
  manifest m;
  m.key = key;
  m.version = version{77, "ffffffffffffffffffffffffffffffff"};
  m.deleted = true;
  return m;
}

manifest inline_manifest(const std::string& key, size_t size) {
  auto m = test::inline_file_manifest(key, size, 5, node_a);
  m.content_hash = pattern(9);
  return m;
}

roster_msg sample_roster() {
  roster_msg r;
  r.entries.push_back({node_a, "node-a", "127.0.0.1:7001", 1700000000123ull, admin_state::active, 0});
  r.entries.push_back({"ffffffffffffffffffffffffffffffff", "node-b", "127.0.0.1:7002", 17,
                       admin_state::leaving, 1700000000999ull});
  return r;
}

bool same(const manifest& a, const manifest& b) {
  if (a.key != b.key || a.size != b.size || a.content_hash != b.content_hash
      || !(a.version == b.version) || a.deleted != b.deleted || a.chunks.size() != b.chunks.size()
      || a.inline_data != b.inline_data)
    return false;
  for (size_t i = 0; i < a.chunks.size(); ++i)
    if (a.chunks[i].id != b.chunks[i].id || a.chunks[i].length != b.chunks[i].length)
      return false;
  return true;
}

/// Encodes, decodes, and checks that encoding the result again gives the same bytes.
template <class T>
T round_trip(const T& msg) {
  auto payload = to_payload(msg);
  auto back = from_payload<T>(payload);
  if (!back)
    CAF_FAIL("a valid payload did not decode");
  CAF_CHECK(to_payload(*back) == payload);
  return *back;
}

/// One valid payload of every message type, by name.
std::vector<std::pair<std::string, std::function<byte_buffer()>>> samples();

/// Whether a payload decodes as the type named.
bool decodes_as(const std::string& name, const byte_buffer& payload);

template <class T>
bool decodes(const byte_buffer& p) {
  return from_payload<T>(p).has_value();
}

bool decodes_as(const std::string& name, const byte_buffer& p) {
  if (name == "hello") return decodes<hello_msg>(p);
  if (name == "proof") return decodes<proof_msg>(p);
  if (name == "error") return decodes<error_msg>(p);
  if (name == "key") return decodes<key_msg>(p);
  if (name == "prefix") return decodes<prefix_msg>(p);
  if (name == "put_begin") return decodes<put_begin_msg>(p);
  if (name == "put_ready") return decodes<put_ready_msg>(p);
  if (name == "credit") return decodes<credit_msg>(p);
  if (name == "put_done") return decodes<put_done_msg>(p);
  if (name == "get_meta") return decodes<get_meta_msg>(p);
  if (name == "rm_result") return decodes<rm_result_msg>(p);
  if (name == "ls_result") return decodes<ls_result_msg>(p);
  if (name == "stat_result") return decodes<stat_result_msg>(p);
  if (name == "status_result") return decodes<status_result_msg>(p);
  if (name == "has_chunks") return decodes<has_chunks_msg>(p);
  if (name == "has_chunks_result") return decodes<has_chunks_result_msg>(p);
  if (name == "manifest") return decodes<manifest_msg>(p);
  if (name == "manifest_inline") return decodes<manifest_msg>(p);
  if (name == "manifest_list") return decodes<manifest_list_msg>(p);
  if (name == "inventory_result") return decodes<inventory_result_msg>(p);
  if (name == "roster") return decodes<roster_msg>(p);
  if (name == "peers") return decodes<peers_msg>(p);
  if (name == "empty") return decodes<empty_msg>(p);
  CAF_FAIL("no such sample: " << name);
  return false;
}

std::vector<std::pair<std::string, std::function<byte_buffer()>>> samples() {
  return {
    {"hello", [] { return to_payload(sample_hello()); }},
    {"proof", [] { return to_payload(proof_msg{pattern(9)}); }},
    {"error", [] { return to_payload(error_msg{5, "authentication failed"}); }},
    {"key", [] { return to_payload(key_msg{"dir/file.txt"}); }},
    {"prefix", [] { return to_payload(prefix_msg{"dir/"}); }},
    {"put_begin", [] { return to_payload(put_begin_msg{"k", unknown_size}); }},
    {"put_ready", [] { return to_payload(put_ready_msg{4194304, 8}); }},
    {"credit", [] { return to_payload(credit_msg{3}); }},
    {"put_done", [] { return to_payload(put_done_msg{2, "12@abc"}); }},
    {"get_meta", [] { return to_payload(get_meta_msg{1ull << 40, 3, 4, "7@" + node_a}); }},
    {"rm_result", [] { return to_payload(rm_result_msg{"8@" + node_a}); }},
    {"ls_result",
     [] { return to_payload(ls_result_msg{{{"a", 1, "1@x"}, {"b", 2, "2@y"}}}); }},
    {"stat_result",
     [] { return to_payload(stat_result_msg{"k", 10, 1, "5@n", 3, std::string(64, 'e')}); }},
    {"status_result",
     [] {
       return to_payload(status_result_msg{"node-a",
                                           {{"node-a", node_a, "127.0.0.1:7001", "up", 12, 4096},
                                            {"b", "", "h:1", "down", 0, 0}},
                                           9, 2, {"b is down", "a waits for " + node_a}});
     }},
    {"has_chunks", [] { return to_payload(has_chunks_msg{{cid(1), cid(2)}}); }},
    {"has_chunks_result", [] { return to_payload(has_chunks_result_msg{{true, false, true}}); }},
    {"manifest", [] { return to_payload(manifest_msg{sample_manifest("k", 1)}); }},
    {"manifest_inline", [] { return to_payload(manifest_msg{inline_manifest("small", 300)}); }},
    {"manifest_list",
     [] {
       return to_payload(manifest_list_msg{{sample_manifest("a", 1), tombstone("b")}});
     }},
    {"inventory_result",
     [] {
       return to_payload(
         inventory_result_msg{{cid(1), cid(2)}, {sample_manifest("a", 1), tombstone("b")}, 8209});
     }},
    {"roster", [] { return to_payload(sample_roster()); }},
    {"peers", [] { return to_payload(peers_msg{sample_roster(), {node_a, std::string(32, 'c')}}); }},
    {"empty", [] { return to_payload(empty_msg{}); }},
  };
}

byte_buffer u32_le(uint32_t x) {
  byte_buffer out;
  writer w{out};
  w.u32(x);
  return out;
}

byte_buffer concat(byte_buffer a, const byte_buffer& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

long max_rss_kib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss;
}

} // namespace

// -- round trips -----------------------------------------------------------------

CAF_TEST(hello round trips) {
  auto h = sample_hello();
  auto back = round_trip(h);
  CAF_CHECK_EQUAL(back.version, 0x0102u);
  CAF_CHECK_EQUAL(back.cluster, "alpha");
  CAF_CHECK_EQUAL(back.node_id, node_a);
  CAF_CHECK_EQUAL(back.node_name, "node-a");
  CAF_CHECK(back.role == peer_role::client);
  CAF_CHECK_EQUAL(back.listen_address, "127.0.0.1:7001");
  CAF_CHECK(back.nonce == pattern(3));
  h.role = peer_role::peer;
  h.cluster.clear();
  h.listen_address.clear();
  auto back2 = round_trip(h);
  CAF_CHECK(back2.role == peer_role::peer);
  CAF_CHECK_EQUAL(back2.cluster, "");
  CAF_CHECK_EQUAL(back2.listen_address, "");
}

CAF_TEST(a hello names the access key of a user only when it has one) {
  auto h = sample_hello();
  auto without = to_payload(h);
  h.access_key = "ALICEALICEALICEALICE";
  auto with = to_payload(h);
  CAF_CHECK_EQUAL(with.size(), without.size() + 4 + 20);
  CAF_CHECK_EQUAL(round_trip(h).access_key, "ALICEALICEALICEALICE");
  CAF_CHECK_EQUAL(from_payload<hello_msg>(without)->access_key, "");
  // An empty access key written out is not the canonical encoding of "none".
  byte_buffer empty_key = without;
  writer w{empty_key};
  w.str("");
  CAF_CHECK(!from_payload<hello_msg>(empty_key));
}

CAF_TEST(user messages round trip) {
  user_record alice{"alice", "ALICEALICEALICEALICE", true, "photos/", 17, false};
  user_record bob{"bob", "BOBBOBBOBBOBBOBBOBBO", false, "", 18, true};
  auto add = round_trip(user_add_msg{"alice", true, "photos/"});
  CAF_CHECK_EQUAL(add.name, "alice");
  CAF_CHECK(add.read_only);
  CAF_CHECK_EQUAL(add.prefix, "photos/");
  CAF_CHECK_EQUAL(round_trip(user_name_msg{"bob"}).name, "bob");
  auto rec = round_trip(user_record_msg{alice}).value;
  CAF_CHECK_EQUAL(rec.access_key, alice.access_key);
  CAF_CHECK_EQUAL(rec.version, 17u);
  CAF_CHECK(rec.read_only && !rec.deleted);
  auto list = round_trip(user_list_msg{{alice, bob}});
  CAF_REQUIRE_EQUAL(list.records.size(), 2u);
  CAF_CHECK(list.records[1].deleted);
  CAF_CHECK_EQUAL(list.records[1].name, "bob");
  // A hostile count is refused without allocating for it.
  byte_buffer hostile;
  writer hw{hostile};
  hw.u32(0xFFFFFFFFu);
  CAF_CHECK(!from_payload<user_list_msg>(hostile));
}

CAF_TEST(small control messages round trip) {
  CAF_CHECK(round_trip(proof_msg{pattern(9)}).mac == pattern(9));
  auto err = round_trip(error_msg{11, "unsupported protocol version"});
  CAF_CHECK_EQUAL(err.code, 11u);
  CAF_CHECK_EQUAL(err.message, "unsupported protocol version");
  // A superseded error carries the version held, which the writer must go past; other codes
  // carry none.
  auto superseded = round_trip(error_msg{static_cast<uint8_t>(errc::superseded), "newer held",
                                         version{1234567, "0123456789abcdef0123456789abcdef"}});
  CAF_CHECK(superseded.newer == (version{1234567, "0123456789abcdef0123456789abcdef"}));
  CAF_CHECK_EQUAL(to_payload(error_msg{11, "x", version{5, "node"}}), to_payload(error_msg{11, "x"}));
  // And back into an error the put session reads the version from, as from a local store.
  auto err_back = from_error_msg(superseded);
  CAF_CHECK(code_of(err_back) == errc::superseded);
  CAF_CHECK_EQUAL(describe(err_back), "newer held");
  CAF_CHECK(superseding_version(err_back) == (version{1234567, "0123456789abcdef0123456789abcdef"}));
  auto local = superseded_error("k", version{99, "n"});
  auto frame = to_error_msg(local);
  CAF_CHECK_EQUAL(frame.code, static_cast<uint8_t>(errc::superseded));
  CAF_CHECK(frame.newer == (version{99, "n"}));
  CAF_CHECK(superseding_version(from_error_msg(round_trip(frame))) == (version{99, "n"}));
  // A superseded error frame cut before its version is malformed.
  auto cut = to_payload(error_msg{static_cast<uint8_t>(errc::superseded), "x"});
  cut.resize(cut.size() - 3);
  CAF_CHECK(!from_payload<error_msg>(cut));
  CAF_CHECK_EQUAL(round_trip(key_msg{"a/b/c"}).key, "a/b/c");
  CAF_CHECK_EQUAL(round_trip(prefix_msg{""}).prefix, "");
  CAF_CHECK_EQUAL(round_trip(prefix_msg{"dir/"}).prefix, "dir/");
  auto pb = round_trip(put_begin_msg{"key", unknown_size});
  CAF_CHECK_EQUAL(pb.key, "key");
  CAF_CHECK_EQUAL(pb.size, unknown_size);
  CAF_CHECK_EQUAL(round_trip(put_begin_msg{"key", 12345}).size, 12345u);
  auto pr = round_trip(put_ready_msg{4194304, 8});
  CAF_CHECK_EQUAL(pr.chunk_size, 4194304u);
  CAF_CHECK_EQUAL(pr.credit, 8u);
  CAF_CHECK_EQUAL(round_trip(credit_msg{0xFFFFFFFFu}).frames, 0xFFFFFFFFu);
  auto pd = round_trip(put_done_msg{3, "1700000000000@" + node_a});
  CAF_CHECK_EQUAL(pd.copies, 3u);
  CAF_CHECK_EQUAL(pd.version, "1700000000000@" + node_a);
  auto gm = round_trip(get_meta_msg{(1ull << 40) + 1, 262145, 16, "1700000000001@" + node_a});
  CAF_CHECK_EQUAL(gm.size, (1ull << 40) + 1);
  CAF_CHECK_EQUAL(gm.chunks, 262145u);
  CAF_CHECK_EQUAL(gm.window, 16u);
  CAF_CHECK_EQUAL(gm.version, "1700000000001@" + node_a);
  // The version is the last field: a get_meta of protocol version 3, without it, is refused.
  byte_buffer old_meta;
  writer ow{old_meta};
  ow.u64(10), ow.u32(0), ow.u32(4);
  CAF_CHECK(!from_payload<get_meta_msg>(old_meta));
  CAF_CHECK_EQUAL(round_trip(rm_result_msg{"1700000000002@" + node_a}).version,
                  "1700000000002@" + node_a);
  // A version longer than any HLC@NODE_ID is refused, as put_done's.
  CAF_CHECK(!from_payload<rm_result_msg>(to_payload(rm_result_msg{std::string(257, '9')})));
  CAF_CHECK(!from_payload<get_meta_msg>(to_payload(get_meta_msg{1, 0, 4, std::string(257, '9')})));
  CAF_CHECK(to_payload(empty_msg{}).empty());
  CAF_CHECK(from_payload<empty_msg>(byte_buffer{}));
}

CAF_TEST(result messages round trip) {
  auto ls = round_trip(ls_result_msg{{{"a", 1, "1@x"}, {"b", 1ull << 50, "2@y"}}});
  CAF_REQUIRE_EQUAL(ls.entries.size(), 2u);
  CAF_CHECK_EQUAL(ls.entries[0].key, "a");
  CAF_CHECK_EQUAL(ls.entries[0].size, 1u);
  CAF_CHECK_EQUAL(ls.entries[0].version, "1@x");
  CAF_CHECK_EQUAL(ls.entries[1].key, "b");
  CAF_CHECK_EQUAL(ls.entries[1].size, 1ull << 50);
  CAF_CHECK_EQUAL(ls.entries[1].version, "2@y");
  CAF_CHECK(round_trip(ls_result_msg{}).entries.empty());

  auto st = round_trip(stat_result_msg{"k", 10, 1, "5@n", 3, std::string(64, 'e')});
  CAF_CHECK_EQUAL(st.key, "k");
  CAF_CHECK_EQUAL(st.size, 10u);
  CAF_CHECK_EQUAL(st.chunks, 1u);
  CAF_CHECK_EQUAL(st.version, "5@n");
  CAF_CHECK_EQUAL(st.copies, 3u);
  CAF_CHECK_EQUAL(st.content_sha256, std::string(64, 'e'));

  auto ss = round_trip(status_result_msg{"node-a",
                                         {{"node-a", node_a, "127.0.0.1:7001", "up", 12, 4096},
                                          {"b", "", "h:1", "down", 0, 0}},
                                         9, 2, {"b is down", "a waits for " + node_a}});
  CAF_CHECK_EQUAL(ss.node, "node-a");
  CAF_REQUIRE_EQUAL(ss.members.size(), 2u);
  CAF_CHECK_EQUAL(ss.members[0].name, "node-a");
  CAF_CHECK_EQUAL(ss.members[0].node_id, node_a);
  CAF_CHECK_EQUAL(ss.members[0].address, "127.0.0.1:7001");
  CAF_CHECK_EQUAL(ss.members[0].state, "up");
  CAF_CHECK_EQUAL(ss.members[0].chunks, 12u);
  CAF_CHECK_EQUAL(ss.members[0].bytes, 4096u);
  CAF_CHECK_EQUAL(ss.members[1].name, "b");
  CAF_CHECK_EQUAL(ss.members[1].node_id, "");
  CAF_CHECK_EQUAL(ss.members[1].address, "h:1");
  CAF_CHECK_EQUAL(ss.members[1].state, "down");
  CAF_CHECK_EQUAL(ss.members[1].chunks, 0u);
  CAF_CHECK_EQUAL(ss.under_replicated, 9u);
  CAF_CHECK_EQUAL(ss.over_replicated, 2u);
  CAF_CHECK_EQUAL(ss.collection_waits,
                  (std::vector<std::string>{"b is down", "a waits for " + node_a}));
  CAF_CHECK(round_trip(status_result_msg{}).collection_waits.empty());
}

CAF_TEST(node to node messages round trip) {
  auto hc = round_trip(has_chunks_msg{{cid(1), cid(2), cid(3)}});
  CAF_REQUIRE_EQUAL(hc.ids.size(), 3u);
  CAF_CHECK(hc.ids[0] == cid(1));
  CAF_CHECK(hc.ids[2] == cid(3));
  auto hr = round_trip(has_chunks_result_msg{{true, false, true, true}});
  CAF_CHECK_EQUAL(hr.present, (std::vector<bool>{true, false, true, true}));
  CAF_CHECK(round_trip(has_chunks_result_msg{}).present.empty());

  auto m = sample_manifest("dir/file", 5);
  CAF_CHECK(same(round_trip(manifest_msg{m}).value, m));
  auto t = tombstone("gone");
  CAF_CHECK(same(round_trip(manifest_msg{t}).value, t));
  manifest empty_file;
  empty_file.key = "empty";
  empty_file.version = version{1, node_a};
  CAF_CHECK(same(round_trip(manifest_msg{empty_file}).value, empty_file));

  auto ml = round_trip(manifest_list_msg{{m, t, empty_file}});
  CAF_REQUIRE_EQUAL(ml.values.size(), 3u);
  CAF_CHECK(same(ml.values[0], m));
  CAF_CHECK(same(ml.values[1], t));
  CAF_CHECK(same(ml.values[2], empty_file));

  auto inv = round_trip(inventory_result_msg{{cid(7), cid(8)}, {m, t}, (1ull << 33) + 5});
  CAF_REQUIRE_EQUAL(inv.chunks.size(), 2u);
  CAF_CHECK(inv.chunks[0] == cid(7));
  CAF_CHECK(inv.chunks[1] == cid(8));
  CAF_REQUIRE_EQUAL(inv.manifests.size(), 2u);
  CAF_CHECK(same(inv.manifests[0], m));
  CAF_CHECK(same(inv.manifests[1], t));
  CAF_CHECK_EQUAL(inv.bytes, (1ull << 33) + 5);
  auto inv_empty = round_trip(inventory_result_msg{});
  CAF_CHECK(inv_empty.chunks.empty());
  CAF_CHECK(inv_empty.manifests.empty());
  CAF_CHECK_EQUAL(inv_empty.bytes, 0u);

  auto roster = round_trip(sample_roster());
  CAF_REQUIRE_EQUAL(roster.entries.size(), 2u);
  CAF_CHECK_EQUAL(roster.entries[0].node_id, node_a);
  CAF_CHECK_EQUAL(roster.entries[0].name, "node-a");
  CAF_CHECK_EQUAL(roster.entries[0].address, "127.0.0.1:7001");
  CAF_CHECK_EQUAL(roster.entries[0].incarnation, 1700000000123u);
  CAF_CHECK(roster.entries[0].admin == admin_state::active);
  CAF_CHECK_EQUAL(roster.entries[0].admin_version, 0u);
  CAF_CHECK_EQUAL(roster.entries[1].name, "node-b");
  CAF_CHECK(roster.entries[1].admin == admin_state::leaving);
  CAF_CHECK_EQUAL(roster.entries[1].admin_version, 1700000000999u);
  CAF_CHECK(round_trip(roster_msg{}).entries.empty());

  // The peers frame: the roster, then the ids its sender waits for.
  auto peers = round_trip(peers_msg{sample_roster(), {node_a, std::string(32, 'c')}});
  CAF_CHECK_EQUAL(peers.roster.entries.size(), 2u);
  CAF_CHECK_EQUAL(peers.waiting_for, (std::vector<std::string>{node_a, std::string(32, 'c')}));
  auto quiet = round_trip(peers_msg{sample_roster(), {}});
  CAF_CHECK(quiet.waiting_for.empty());
  // A roster alone (the roster file's body) is no peers frame: the list must be there.
  CAF_CHECK(!from_payload<peers_msg>(to_payload(sample_roster())));
}

// -- malformed input ---------------------------------------------------------------

CAF_TEST(every proper prefix of a valid payload is refused) {
  for (auto& [name, make] : samples()) {
    auto payload = make();
    CAF_CHECK(decodes_as(name, payload));
    size_t accepted_prefixes = 0;
    for (size_t n = 0; n < payload.size(); ++n)
      if (decodes_as(name, byte_buffer(payload.begin(), payload.begin() + n)))
        ++accepted_prefixes;
    if (accepted_prefixes != 0)
      CAF_MESSAGE(name << ": " << accepted_prefixes << " prefixes accepted");
    CAF_CHECK_EQUAL(accepted_prefixes, 0u);
  }
}

CAF_TEST(trailing bytes are refused) {
  for (auto& [name, make] : samples()) {
    auto payload = make();
    for (auto extra : {byte_buffer{0}, byte_buffer{'x', 'y', 'z'}, u32_le(0)}) {
      auto longer = concat(payload, extra);
      if (decodes_as(name, longer))
        CAF_MESSAGE(name << " accepted " << extra.size() << " trailing bytes");
      CAF_CHECK(!decodes_as(name, longer));
    }
  }
}

CAF_TEST(hostile list counts are refused without allocating) {
  auto rss_before = max_rss_kib();
  const byte_buffer tail(40, 'z'); // a little input, far too little for the count announced
  // Counts so large that trusting one either throws bad_alloc (and fails the test) or, for the
  // one-bit flags of has_chunks_result, takes 256 MiB or more.
  for (uint32_t count : {0xFFFFFFFFu, 0x80000000u}) {
    auto p = concat(u32_le(count), tail);
    CAF_CHECK(!from_payload<manifest_list_msg>(p));
    CAF_CHECK(!from_payload<has_chunks_msg>(p));
    CAF_CHECK(!from_payload<has_chunks_result_msg>(p));
    CAF_CHECK(!from_payload<ls_result_msg>(p));
    CAF_CHECK(!from_payload<roster_msg>(p));
    CAF_CHECK(!from_payload<inventory_result_msg>(p));
    // inventory's second list, after an empty first one
    CAF_CHECK(!from_payload<inventory_result_msg>(concat(u32_le(0), p)));
    // status_result's member list comes after the node name
    auto status = to_payload(key_msg{"node-a"}); // the same bytes as a string
    CAF_CHECK(!from_payload<status_result_msg>(concat(status, p)));
  }
  // A manifest announcing more chunks than fit (or than allowed) is refused too.
  manifest m = sample_manifest("k", 1);
  auto good = to_payload(manifest_msg{m});
  auto count_at = good.size() - 4 - 3 * 36 - 4; // the count, three chunks, the inline length
  for (uint32_t count : {0xFFFFFFFFu, static_cast<uint32_t>(max_chunks_per_manifest + 1), 4u}) {
    auto bad = good;
    auto c = u32_le(count);
    std::copy(c.begin(), c.end(), bad.begin() + static_cast<long>(count_at));
    CAF_CHECK(!from_payload<manifest_msg>(bad));
  }
  auto rss_after = max_rss_kib();
  // Had any decoder trusted a count, it would have reserved hundreds of MiB (or thrown).
  CAF_CHECK_LESS(rss_after - rss_before, 32 * 1024);
}

CAF_TEST(a status member list is bounded by the 48 bytes a member takes at least) {
  // Found by fuzz/messages_fuzzer (its allocation bound): the member count was checked against
  // 16 bytes a member, so 16 MiB of input announcing 1 Mi members made the decoder build
  // 160 MiB of members before finding the input short.
  const byte_buffer node = u32_le(0); // an empty node name
  byte_buffer zeros(16 << 20, 0);
  auto count = static_cast<uint32_t>(zeros.size() / 16);
  auto hostile = concat(concat(node, u32_le(count)), zeros);
  zeros = byte_buffer{};
  auto rss_before = max_rss_kib();
  CAF_CHECK(!from_payload<status_result_msg>(hostile));
  CAF_CHECK_LESS(max_rss_kib() - rss_before, 32 * 1024);
  // Members of four empty strings and four numbers: three fit in 3 * 48 bytes, four do not.
  const byte_buffer totals(20, 0); // under_replicated, over_replicated, no collection_waits
  byte_buffer members(3 * 48, 0);
  auto three = from_payload<status_result_msg>(concat(concat(node, u32_le(3)), concat(members, totals)));
  CAF_REQUIRE(three);
  CAF_CHECK_EQUAL(three->members.size(), 3u);
  CAF_CHECK(!from_payload<status_result_msg>(concat(concat(node, u32_le(4)), concat(members, totals))));
}

CAF_TEST(a list count one larger than the input holds is refused) {
  // has_chunks: 32 bytes an id; two ids of input announcing three.
  byte_buffer ids(64, 'i');
  CAF_CHECK(from_payload<has_chunks_msg>(concat(u32_le(2), ids)));
  CAF_CHECK(!from_payload<has_chunks_msg>(concat(u32_le(3), ids)));
  // has_chunks_result: one byte a flag.
  byte_buffer flags{1, 0, 1};
  CAF_CHECK(from_payload<has_chunks_result_msg>(concat(u32_le(3), flags)));
  CAF_CHECK(!from_payload<has_chunks_result_msg>(concat(u32_le(4), flags)));
  // roster: an entry of empty strings takes 29 bytes; three of them, but four announced.
  byte_buffer empties(3 * 29, 0);
  auto three = from_payload<roster_msg>(concat(u32_le(3), empties));
  CAF_REQUIRE(three);
  CAF_CHECK_EQUAL(three->entries.size(), 3u);
  CAF_CHECK(!from_payload<roster_msg>(concat(u32_le(4), empties)));
}

CAF_TEST(a manifest whose chunk lengths do not add up to its size is refused) {
  auto m = sample_manifest("k", 1);
  CAF_CHECK(from_payload<manifest_msg>(to_payload(manifest_msg{m})));
  auto bigger = m;
  bigger.size += 1;
  CAF_CHECK(!from_payload<manifest_msg>(to_payload(manifest_msg{bigger})));
  auto smaller = m;
  smaller.size -= 1;
  CAF_CHECK(!from_payload<manifest_msg>(to_payload(manifest_msg{smaller})));
  // Without chunks, a manifest of a non-empty file is an inline file's, in a listing.
  auto no_chunks = m;
  no_chunks.chunks.clear();
  CAF_CHECK(from_payload<manifest_msg>(to_payload(manifest_msg{no_chunks})));
  // Lengths whose u32 sum would wrap around are still summed exactly.
  manifest wrap;
  wrap.key = "wrap";
  wrap.version = version{1, node_a};
  wrap.chunks = {{cid(1), 0xFFFFFFFFu}, {cid(2), 1}};
  wrap.size = 0; // what a 32-bit sum would give
  CAF_CHECK(!from_payload<manifest_msg>(to_payload(manifest_msg{wrap})));
  wrap.size = 0x100000000ull;
  CAF_CHECK(from_payload<manifest_msg>(to_payload(manifest_msg{wrap})));
  // In a list, one bad manifest spoils the whole list.
  CAF_CHECK(!from_payload<manifest_list_msg>(to_payload(manifest_list_msg{{m, bigger}})));
  CAF_CHECK(from_payload<manifest_list_msg>(to_payload(manifest_list_msg{{m, m}})));
}

CAF_TEST(an inline file round trips and its bytes must seal exactly its size) {
  for (size_t size : {size_t{1}, size_t{4096}, max_inline_size}) {
    auto m = inline_manifest("small", size);
    CAF_CHECK(same(round_trip(manifest_msg{m}).value, m));
    // A listing carries it without the bytes.
    auto listed = without_inline_data(m);
    CAF_CHECK(listed.is_inline() && listed.inline_data.empty());
    CAF_CHECK(same(round_trip(manifest_msg{listed}).value, listed));
  }
  auto too_short = inline_manifest("k", 100);
  too_short.inline_data.pop_back();
  CAF_CHECK(!from_payload<manifest_msg>(to_payload(manifest_msg{too_short})));
  auto too_long = inline_manifest("k", 100);
  too_long.inline_data.push_back('x');
  CAF_CHECK(!from_payload<manifest_msg>(to_payload(manifest_msg{too_long})));
  // Larger than an inline file may be, even without its bytes.
  auto too_big = inline_manifest("k", max_inline_size + 1);
  CAF_CHECK(!from_payload<manifest_msg>(to_payload(manifest_msg{too_big})));
  CAF_CHECK(!from_payload<manifest_msg>(to_payload(manifest_msg{without_inline_data(too_big)})));
  // Inline bytes beside chunks, or in a tombstone, are refused.
  auto both = sample_manifest("k", 1);
  both.inline_data = byte_buffer(both.size + chunk_cipher::overhead, 'x');
  CAF_CHECK(!from_payload<manifest_msg>(to_payload(manifest_msg{both})));
  auto dead = tombstone("k");
  dead.inline_data = byte_buffer(chunk_cipher::overhead, 'x');
  CAF_CHECK(!from_payload<manifest_msg>(to_payload(manifest_msg{dead})));
  // An empty file is neither chunked nor inline.
  auto empty = inline_manifest("k", 0);
  CAF_CHECK(!empty.is_inline());
  CAF_CHECK(!from_payload<manifest_msg>(to_payload(manifest_msg{empty})));
  empty.inline_data.clear();
  CAF_CHECK(from_payload<manifest_msg>(to_payload(manifest_msg{empty})));
}

CAF_TEST(a hello with an invalid role byte is refused) {
  auto h = sample_hello();
  auto payload = to_payload(h);
  // version, then three length-prefixed strings, then the role byte
  auto role_at = 2 + (4 + h.cluster.size()) + (4 + h.node_id.size()) + (4 + h.node_name.size());
  CAF_REQUIRE_EQUAL(static_cast<uint8_t>(payload[role_at]), static_cast<uint8_t>(peer_role::client));
  for (int role = 0; role < 256; ++role) {
    auto bad = payload;
    bad[role_at] = static_cast<char>(role);
    bool ok = from_payload<hello_msg>(bad).has_value();
    CAF_CHECK_EQUAL(ok, role == 1 || role == 2);
  }
}

CAF_TEST(other out of range values are refused) {
  // a boolean is 0 or 1
  CAF_CHECK(!from_payload<has_chunks_result_msg>(concat(u32_le(1), byte_buffer{2})));
  auto t = tombstone("k");
  auto payload = to_payload(manifest_msg{t});
  auto deleted_at = payload.size() - 4 - 4 - 1; // the flag, the (empty) chunk count and inline bytes
  CAF_REQUIRE_EQUAL(payload[deleted_at], 1);
  payload[deleted_at] = 2;
  CAF_CHECK(!from_payload<manifest_msg>(payload));
  // strings longer than their field allows
  CAF_CHECK(from_payload<key_msg>(to_payload(key_msg{std::string(max_key_length, 'k')})));
  CAF_CHECK(!from_payload<key_msg>(to_payload(key_msg{std::string(max_key_length + 1, 'k')})));
  auto h = sample_hello();
  h.node_id = std::string(65, 'a');
  CAF_CHECK(!from_payload<hello_msg>(to_payload(h)));
  CAF_CHECK(!from_payload<error_msg>(to_payload(error_msg{4, std::string(4097, 'e')})));
  // a string length beyond the input
  CAF_CHECK(!from_payload<key_msg>(concat(u32_le(0xFFFFFFFFu), byte_buffer{'a'})));
  // an admin state the roster does not know
  auto roster = to_payload(roster_msg{{sample_roster().entries[0]}});
  auto admin_at = roster.size() - 8 - 1;
  CAF_REQUIRE_EQUAL(roster[admin_at], static_cast<char>(admin_state::active));
  for (int admin : {0, 1, 2}) {
    roster[admin_at] = static_cast<char>(admin);
    CAF_CHECK(from_payload<roster_msg>(roster));
  }
  for (int admin : {3, 4, 255}) {
    roster[admin_at] = static_cast<char>(admin);
    CAF_CHECK(!from_payload<roster_msg>(roster));
  }
  // a proof is exactly 32 bytes
  CAF_CHECK(!from_payload<proof_msg>(byte_buffer(31, 'p')));
  CAF_CHECK(!from_payload<proof_msg>(byte_buffer(33, 'p')));
  CAF_CHECK(from_payload<proof_msg>(byte_buffer(32, 'p')));
}
