#define CAF_SUITE chunk_store
#include "tests/unit/test_helpers.hpp"

#include "common/error.hpp"
#include "storage/chunk_store.hpp"
#include "storage/manifest_store.hpp"
#include "storage/node_identity.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace fs = std::filesystem;
using namespace dfs;
using test::files_in;
using test::flip_byte;

namespace {

using test::bytes_of;

chunk_id id_of(const byte_buffer& b) { return chunk_id::of(b.data(), b.size()); }

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out{p, std::ios::binary | std::ios::trunc};
  out << text;
}

/// A manifest of one chunk holding `text`.
manifest make_manifest(const std::string& key, uint64_t hlc, const std::string& text = "x",
                       const std::string& node = "node-a") {
  manifest m;
  m.key = key;
  auto b = bytes_of(text);
  m.size = b.size();
  m.content_hash = sha256(b.data(), b.size());
  m.chunks.push_back(chunk_ref{id_of(b), static_cast<uint32_t>(b.size())});
  m.version = version{hlc, node};
  return m;
}

manifest make_tombstone(const std::string& key, uint64_t hlc) {
  manifest m;
  m.key = key;
  m.version = version{hlc, "node-a"};
  m.deleted = true;
  return m;
}

/// CAF 0.17's test framework has no CHECK_THROWS.
bool node_id_throws(const std::string& data_dir) {
  try {
    load_or_create_node_id(data_dir);
  } catch (const std::runtime_error& e) {
    CAF_MESSAGE("thrown: " << e.what());
    return true;
  }
  return false;
}

struct fixture {
  test::temp_dir dir;
  std::string data_dir = dir.path.string();

  chunk_store open_chunks() {
    auto st = chunk_store::open(data_dir);
    if (!st)
      CAF_FAIL("cannot open chunk store: " << describe(st.error()));
    return std::move(*st);
  }

  manifest_store open_manifests() {
    auto st = manifest_store::open(data_dir);
    if (!st)
      CAF_FAIL("cannot open manifest store: " << describe(st.error()));
    return std::move(*st);
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(chunk_store_tests, fixture)

// -- chunk_store ---------------------------------------------------------------

CAF_TEST(put and get round trip) {
  auto cs = open_chunks();
  auto b = bytes_of("hello chunk");
  auto id = id_of(b);
  CAF_CHECK(!cs.has(id));
  CAF_CHECK(!cs.put(id, b));
  CAF_CHECK(cs.has(id));
  auto hex = id.hex();
  CAF_CHECK(fs::is_regular_file(dir.path / "chunks" / hex.substr(0, 2) / hex.substr(2, 2) / hex));
  auto got = cs.get(id);
  CAF_REQUIRE(got);
  CAF_CHECK_EQUAL(*got, b);
  auto empty = byte_buffer{};
  CAF_CHECK(!cs.put(id_of(empty), empty));
  auto got_empty = cs.get(id_of(empty));
  CAF_REQUIRE(got_empty);
  CAF_CHECK(got_empty->empty());
}

CAF_TEST(a fan-out directory removed behind the store is made again by the next put) {
  // The store remembers which directories it made; one removed since is made at the rename.
  auto cs = open_chunks();
  auto b = bytes_of("first");
  CAF_REQUIRE(!cs.put(id_of(b), b));
  CAF_REQUIRE(!cs.remove(id_of(b)));
  auto hex = id_of(b).hex();
  auto fanout = dir.path / "chunks" / hex.substr(0, 2);
  fs::remove_all(fanout);
  auto err = cs.put(id_of(b), b);
  if (err)
    CAF_FAIL("the put failed: " << describe(err));
  CAF_CHECK(fs::is_regular_file(fanout / hex.substr(2, 2) / hex));
  auto got = cs.get(id_of(b));
  CAF_REQUIRE(got);
  CAF_CHECK_EQUAL(*got, b);
}

// -- write batches (group commit) --------------------------------------------

CAF_TEST(staged chunks are held only once their batch commits) {
  auto cs = open_chunks();
  write_batch batch{data_dir};
  auto a = bytes_of("first of a batch");
  auto b = bytes_of("second of a batch");
  CAF_CHECK(!cs.put(id_of(a), a, batch));
  CAF_CHECK(!cs.put(id_of(b), b, batch));
  CAF_CHECK(!cs.put(id_of(a), a, batch)); // the same id again stages nothing more
  CAF_CHECK_EQUAL(batch.size(), 2u);
  // Before the commit: not held, not served, not under its name, but its room is reserved.
  CAF_CHECK(!cs.has(id_of(a)));
  CAF_CHECK(!fs::exists(cs.path_of(id_of(a))));
  auto early = cs.get(id_of(a));
  CAF_CHECK(!early && code_of(early.error()) == errc::not_found);
  CAF_CHECK_EQUAL(cs.used(), 0u);
  CAF_CHECK(!batch.commit());
  CAF_CHECK(batch.empty());
  CAF_CHECK(cs.has(id_of(a)) && cs.has(id_of(b)));
  CAF_CHECK_EQUAL(cs.used(), a.size() + b.size());
  auto got = cs.get(id_of(b));
  CAF_REQUIRE(got);
  CAF_CHECK_EQUAL(*got, b);
  CAF_CHECK_EQUAL(files_in(dir.path / "tmp"), 0u);
}

CAF_TEST(an aborted batch leaves nothing behind and frees its reservation) {
  auto cs = open_chunks();
  cs.set_capacity(20);
  auto a = bytes_of("fifteen bytes!!");
  {
    write_batch batch{data_dir};
    CAF_CHECK(!cs.put(id_of(a), a, batch));
    // Staged bytes count against the capacity: a second chunk does not fit beside them.
    auto b = bytes_of("ten bytes!");
    auto err = cs.put(id_of(b), b, batch);
    CAF_CHECK(code_of(err) == errc::no_space);
    batch.abort();
  }
  CAF_CHECK(!cs.has(id_of(a)));
  CAF_CHECK(!fs::exists(cs.path_of(id_of(a))));
  CAF_CHECK_EQUAL(files_in(dir.path / "tmp"), 0u);
  // The reservation is gone: the same chunk fits again and is stored.
  CAF_CHECK(!cs.put(id_of(a), a));
  CAF_CHECK(cs.has(id_of(a)));
}

CAF_TEST(the newest of several manifests staged for a key wins) {
  auto ms = open_manifests();
  write_batch batch{data_dir};
  CAF_CHECK(!ms.put(make_manifest("k", 20, "new"), batch));
  // Older than staged: nothing staged, and the writer learns of the newer version.
  CAF_CHECK(superseding_version(ms.put(make_manifest("k", 10, "old"), batch)) == version{20, "node-a"});
  CAF_CHECK(!ms.put(make_manifest("k", 30, "newest"), batch));
  CAF_CHECK_EQUAL(batch.size(), 2u);
  auto early = ms.get("k");
  CAF_CHECK(!early && code_of(early.error()) == errc::not_found);
  CAF_CHECK(!batch.commit());
  auto held = ms.get("k");
  CAF_REQUIRE(held);
  CAF_CHECK_EQUAL(held->version.hlc, 30u);
  // And on disk: a reopened store reads the newest.
  auto reread = open_manifests().get("k");
  CAF_REQUIRE(reread);
  CAF_CHECK_EQUAL(reread->version.hlc, 30u);
}

CAF_TEST(a missing chunk is not found) {
  auto cs = open_chunks();
  auto got = cs.get(id_of(bytes_of("never stored")));
  CAF_REQUIRE(!got);
  CAF_CHECK(code_of(got.error()) == errc::not_found);
}

CAF_TEST(putting the same chunk twice stores it once) {
  auto cs = open_chunks();
  auto b = bytes_of("twice");
  CAF_CHECK(!cs.put(id_of(b), b));
  CAF_CHECK(!cs.put(id_of(b), b));
  auto ids = cs.list();
  CAF_REQUIRE(ids);
  CAF_CHECK_EQUAL(ids->size(), 1u);
  CAF_CHECK_EQUAL(files_in(dir.path / "tmp"), 0u);
}

// -- touches: collection's re-check at delete time ---------------------------------------

namespace {

using steady = chunk_store::clock;

/// Returns once the steady clock has moved past `t`: what happens next happens after it.
void after(steady::time_point t) {
  while (steady::now() <= t) {
  }
}

} // namespace

CAF_TEST(a put of a chunk already held restarts its collection clock) {
  auto cs = open_chunks();
  cs.set_gc_grace(std::chrono::seconds{60});
  auto again = bytes_of("put again, a no-op on disk");
  auto once = bytes_of("put once");
  CAF_REQUIRE(!cs.put(id_of(again), again));
  CAF_REQUIRE(!cs.put(id_of(once), once));
  // A pass that plans its removals gc_grace from now may take both chunks...
  auto now = steady::now();
  auto planned = now + cs.gc_grace();
  after(now);
  // ... but not one that a put found already held in the meantime (dedup), whether the put
  // is committed at once or staged in a batch.
  CAF_REQUIRE(!cs.put(id_of(again), again));
  auto staged = bytes_of("put again in a batch");
  CAF_REQUIRE(!cs.put(id_of(staged), staged));
  after(steady::now());
  write_batch batch{data_dir};
  CAF_REQUIRE(!cs.put(id_of(staged), staged, batch, id_check::computed_here));
  CAF_REQUIRE(!batch.commit());
  for (auto& kept : {again, staged}) {
    auto gone = cs.collect(id_of(kept), planned);
    CAF_REQUIRE(gone);
    CAF_CHECK(!*gone);
    CAF_CHECK(cs.has(id_of(kept)));
  }
  auto gone = cs.collect(id_of(once), planned);
  CAF_REQUIRE(gone);
  CAF_CHECK(*gone);
  CAF_CHECK(!cs.has(id_of(once)));
  CAF_CHECK(!fs::exists(cs.path_of(id_of(once))));
}

CAF_TEST(a collection planned less than gc_grace after the last touch keeps the chunk) {
  auto cs = open_chunks();
  cs.set_gc_grace(std::chrono::seconds{60});
  auto b = bytes_of("recent");
  auto before = steady::now();
  CAF_REQUIRE(!cs.put(id_of(b), b));
  auto put_done = steady::now();
  // Planned before the touch, or less than gc_grace after it: kept.
  for (auto planned : {before, put_done, before + cs.gc_grace() - std::chrono::nanoseconds{1}}) {
    auto gone = cs.collect(id_of(b), planned);
    CAF_REQUIRE(gone);
    CAF_CHECK(!*gone);
    CAF_CHECK(cs.has(id_of(b)));
  }
  auto gone = cs.collect(id_of(b), put_done + cs.gc_grace());
  CAF_REQUIRE(gone);
  CAF_CHECK(*gone);
  CAF_CHECK(!cs.has(id_of(b)));
  // A chunk not held is gone already.
  gone = cs.collect(id_of(bytes_of("never held")), put_done + cs.gc_grace());
  CAF_REQUIRE(gone);
  CAF_CHECK(*gone);
}

CAF_TEST(chunks found on disk count as touched when the store opens) {
  auto b = bytes_of("from before the restart");
  {
    auto cs = open_chunks();
    CAF_REQUIRE(!cs.put(id_of(b), b));
  }
  auto before_open = steady::now();
  after(before_open);
  auto cs = open_chunks();
  auto opened = steady::now();
  cs.set_gc_grace(std::chrono::seconds{60});
  auto gone = cs.collect(id_of(b), before_open + cs.gc_grace());
  CAF_REQUIRE(gone);
  CAF_CHECK(!*gone);
  gone = cs.collect(id_of(b), opened + cs.gc_grace());
  CAF_REQUIRE(gone);
  CAF_CHECK(*gone);
}

CAF_TEST(touch reports which chunks are held and restarts their clock) {
  auto cs = open_chunks();
  cs.set_gc_grace(std::chrono::seconds{60});
  auto b = bytes_of("leased");
  CAF_REQUIRE(!cs.put(id_of(b), b));
  auto now = steady::now();
  auto planned = now + cs.gc_grace();
  after(now);
  auto missing = id_of(bytes_of("never stored"));
  CAF_CHECK_EQUAL(cs.touch({missing, id_of(b)}), (std::vector<bool>{false, true}));
  auto gone = cs.collect(id_of(b), planned);
  CAF_REQUIRE(gone);
  CAF_CHECK(!*gone);
  CAF_CHECK(cs.has(id_of(b)));
  CAF_CHECK(!cs.has(missing)); // a touch does not make a chunk
}

CAF_TEST(touches older than gc_grace are forgotten without making a chunk collectible early) {
  auto cs = open_chunks();
  cs.set_gc_grace(std::chrono::milliseconds{20});
  auto early = bytes_of("touched first");
  auto before = steady::now();
  CAF_REQUIRE(!cs.put(id_of(early), early));
  after(steady::now() + cs.gc_grace());
  // Enough later touches to make the store forget the ones older than gc_grace (staged only:
  // a put touches a chunk whether or not its batch commits).
  write_batch batch{data_dir};
  for (int i = 0; i < 1500; ++i) {
    auto b = bytes_of("filler " + std::to_string(i));
    CAF_REQUIRE(!cs.put(id_of(b), b, batch));
  }
  batch.abort();
  auto gone = cs.collect(id_of(early), before + cs.gc_grace() - std::chrono::nanoseconds{1});
  CAF_REQUIRE(gone);
  CAF_CHECK(!*gone);
  // (A forgotten touch counts as the newest touch forgotten with it: collectible later, never
  // earlier.)
  gone = cs.collect(id_of(early), steady::now() + cs.gc_grace());
  CAF_REQUIRE(gone);
  CAF_CHECK(*gone);
}

CAF_TEST(bytes that do not hash to the id are rejected) {
  auto cs = open_chunks();
  auto id = id_of(bytes_of("the real bytes"));
  auto err = cs.put(id, bytes_of("other bytes"));
  CAF_CHECK(code_of(err) == errc::bad_request);
  CAF_CHECK(!cs.has(id));
}

CAF_TEST(an id computed here is taken without hashing the bytes again) {
  // The contract of id_check::computed_here: the caller hashed these very bytes a moment ago,
  // so the store does not; with verify, the same mismatch is refused (the test above).
  auto cs = open_chunks();
  write_batch batch{data_dir};
  auto claimed = id_of(bytes_of("what the id was computed from"));
  auto given = bytes_of("other bytes");
  CAF_CHECK(cs.put(claimed, given, batch, id_check::verify));
  CAF_CHECK(!cs.put(claimed, given, batch, id_check::computed_here));
  CAF_REQUIRE(!batch.commit());
  CAF_CHECK(cs.has(claimed));
}

CAF_TEST(a flipped byte on disk is reported corrupt and quarantined) {
  auto cs = open_chunks();
  auto b = bytes_of("soon to rot");
  auto id = id_of(b);
  CAF_REQUIRE(!cs.put(id, b));
  flip_byte(cs.path_of(id), 3);
  auto got = cs.get(id);
  CAF_REQUIRE(!got);
  CAF_CHECK(code_of(got.error()) == errc::corrupt);
  CAF_MESSAGE(describe(got.error()));
  // Moved aside: never served again, and seen as missing so that replication repairs it.
  CAF_CHECK(!cs.has(id));
  CAF_CHECK_EQUAL(files_in(dir.path / "quarantine"), 1u);
  auto again = cs.get(id);
  CAF_REQUIRE(!again);
  CAF_CHECK(code_of(again.error()) == errc::not_found);
  // A good copy can be stored again.
  CAF_CHECK(!cs.put(id, b));
  CAF_CHECK(cs.get(id));
}

CAF_TEST(open removes leftover temporary files) {
  { auto cs = open_chunks(); }
  write_file(dir.path / "tmp" / "chunk.abc123", "half a chunk");
  write_file(dir.path / "tmp" / "unrelated", "not ours");
  auto cs = open_chunks();
  CAF_CHECK(!fs::exists(dir.path / "tmp" / "chunk.abc123"));
  CAF_CHECK(fs::exists(dir.path / "tmp" / "unrelated"));
}

CAF_TEST(a reopened store sees its chunks and lists them sorted) {
  std::vector<chunk_id> ids;
  {
    auto cs = open_chunks();
    for (auto text : {"one", "two", "three", "four"}) {
      auto b = bytes_of(text);
      ids.push_back(id_of(b));
      CAF_REQUIRE(!cs.put(ids.back(), b));
    }
  }
  std::sort(ids.begin(), ids.end());
  auto cs = open_chunks();
  // Stray files in the tree are not chunks.
  write_file(dir.path / "chunks" / "stray", "?");
  auto listed = cs.list();
  CAF_REQUIRE(listed);
  CAF_CHECK(*listed == ids);
  auto got = cs.get(id_of(bytes_of("three")));
  CAF_REQUIRE(got);
  CAF_CHECK_EQUAL(*got, bytes_of("three"));
}

CAF_TEST(open fails with a sentence when the data dir is unusable) {
  write_file(dir.path / "file", "in the way");
  auto cs = chunk_store::open((dir.path / "file").string());
  CAF_REQUIRE(!cs);
  CAF_CHECK(code_of(cs.error()) == errc::io_error);
  CAF_MESSAGE(describe(cs.error()));
}

// -- manifest_store ------------------------------------------------------------

CAF_TEST(the newest manifest wins) {
  auto ms = open_manifests();
  CAF_CHECK(!ms.put(make_manifest("k", 2, "second")));
  // Older: not kept, and not answered as if it were (superseded, with the version held).
  auto older = ms.put(make_manifest("k", 1, "first"));
  CAF_CHECK(code_of(older) == errc::superseded);
  CAF_CHECK(superseding_version(older) == version{2, "node-a"});
  auto got = ms.get("k");
  CAF_REQUIRE(got);
  CAF_CHECK_EQUAL(got->version.hlc, 2u);
  CAF_CHECK_EQUAL(got->size, 6u);
  // An equal version keeps what is held: the very same write is answered ok, other contents
  // under the same version (a node whose clock went back) are superseded. (CAF_CHECK_EQUAL
  // keeps references to its arguments: compare copies, not members of a temporary.)
  CAF_CHECK(!ms.put(make_manifest("k", 2, "second")));
  CAF_CHECK(superseding_version(ms.put(make_manifest("k", 2, "impostor"))) == version{2, "node-a"});
  got = ms.get("k");
  CAF_CHECK_EQUAL(got->size, 6u);
  // The node id breaks ties in the hybrid clock.
  CAF_CHECK(!ms.put(make_manifest("k", 2, "tie", "node-b")));
  got = ms.get("k");
  CAF_CHECK_EQUAL(got->version.node_id, "node-b");
  CAF_CHECK(!ms.put(make_manifest("k", 3, "third")));
  got = ms.get("k");
  CAF_CHECK_EQUAL(got->version.hlc, 3u);
  auto missing = ms.get("nope");
  CAF_REQUIRE(!missing);
  CAF_CHECK(code_of(missing.error()) == errc::not_found);
}

CAF_TEST(a tombstone is kept and beats older writes) {
  auto ms = open_manifests();
  CAF_CHECK(!ms.put(make_manifest("gone", 1)));
  CAF_CHECK(!ms.put(make_tombstone("gone", 2)));
  CAF_CHECK(code_of(ms.put(make_manifest("gone", 1, "resurrected?"))) == errc::superseded);
  auto got = ms.get("gone");
  CAF_REQUIRE(got);
  CAF_CHECK(got->deleted);
  CAF_CHECK_EQUAL(ms.list("").size(), 1u);
}

CAF_TEST(a version far ahead of the wall clock is refused) {
  auto ms = open_manifests();
  uint64_t wall = 5'000'000;
  ms.set_clock_bound(std::chrono::seconds{60}, [&wall] { return wall; });
  // Up to max_clock_skew ahead is fine.
  CAF_CHECK(!ms.put(make_manifest("k", wall + 60'000, "near")));
  // An hour ahead (a node with its clock wrong, or a forged manifest) would win over every
  // later write for an hour: refused, with a sentence that says why.
  auto far = ms.put(make_manifest("k", wall + 3'600'000, "far"));
  CAF_CHECK(code_of(far) == errc::clock_skew);
  CAF_MESSAGE(describe(far));
  CAF_CHECK(describe(far).find("max_clock_skew") != std::string::npos);
  CAF_CHECK(code_of(ms.put(make_tombstone("other", UINT64_MAX))) == errc::clock_skew);
  uint64_t held = ms.get("k")->version.hlc;
  CAF_CHECK_EQUAL(held, wall + 60'000);
  CAF_CHECK_EQUAL(ms.keys(), (std::vector<std::string>{"k"}));
  // Once the wall clock has caught up, the same version is taken.
  wall += 3'600'000;
  CAF_CHECK(!ms.put(make_manifest("k", wall, "far")));
  held = ms.get("k")->version.hlc;
  CAF_CHECK_EQUAL(held, wall);
}

CAF_TEST(newest_hlc is the largest version held across keys and a reopen) {
  {
    auto ms = open_manifests();
    CAF_CHECK_EQUAL(ms.newest_hlc(), 0u);
    CAF_REQUIRE(!ms.put(make_manifest("a", 70)));
    CAF_REQUIRE(!ms.put(make_tombstone("b", 90)));
    CAF_REQUIRE(!ms.put(make_manifest("c", 80)));
    CAF_CHECK_EQUAL(ms.newest_hlc(), 90u);
  }
  CAF_CHECK_EQUAL(open_manifests().newest_hlc(), 90u);
}

CAF_TEST(list by prefix is sorted by key) {
  auto ms = open_manifests();
  for (auto key : {"b/2", "a/1", "b/1", "c", "b"})
    CAF_CHECK(!ms.put(make_manifest(key, 1)));
  std::vector<std::string> keys;
  for (auto& m : ms.list("b/"))
    keys.push_back(m.key);
  CAF_CHECK_EQUAL(keys, (std::vector<std::string>{"b/1", "b/2"}));
  CAF_CHECK_EQUAL(ms.list("").size(), 5u);
  CAF_CHECK(ms.list("zzz").empty());
  CAF_CHECK_EQUAL(ms.keys(), (std::vector<std::string>{"a/1", "b", "b/1", "b/2", "c"}));
}

CAF_TEST(invalid manifests are refused before they reach the disk) {
  auto ms = open_manifests();
  CAF_CHECK(code_of(ms.put(make_manifest("", 1))) == errc::bad_request);
  auto m = make_manifest("k", 1);
  m.size = 99; // the chunk lengths no longer add up
  CAF_CHECK(code_of(ms.put(m)) == errc::bad_request);
  CAF_CHECK(ms.keys().empty());
}

CAF_TEST(manifests survive a reopen) {
  auto m = make_manifest("photos/cat.jpg", 7, "meow");
  {
    auto ms = open_manifests();
    CAF_REQUIRE(!ms.put(m));
    CAF_REQUIRE(!ms.put(make_tombstone("old", 3)));
  }
  write_file(dir.path / "tmp" / "manifest.XyZ123", "interrupted");
  auto ms = open_manifests();
  CAF_CHECK(!fs::exists(dir.path / "tmp" / "manifest.XyZ123"));
  auto got = ms.get("photos/cat.jpg");
  CAF_REQUIRE(got);
  CAF_CHECK_EQUAL(got->size, m.size);
  CAF_CHECK(got->content_hash == m.content_hash);
  CAF_CHECK(got->version == m.version);
  CAF_REQUIRE_EQUAL(got->chunks.size(), 1u);
  CAF_CHECK(got->chunks[0].id == m.chunks[0].id);
  CAF_CHECK_EQUAL(got->chunks[0].length, m.chunks[0].length);
  CAF_CHECK(ms.get("old")->deleted);
}

CAF_TEST(a damaged manifest file is skipped) {
  {
    auto ms = open_manifests();
    CAF_REQUIRE(!ms.put(make_manifest("good", 1)));
    CAF_REQUIRE(!ms.put(make_manifest("flipped", 1)));
    CAF_REQUIRE(!ms.put(make_manifest("truncated", 1)));
    flip_byte(ms.path_of("flipped"), 50);
    fs::resize_file(ms.path_of("truncated"), 10);
    fs::create_directories(dir.path / "manifests" / "zz");
    write_file(dir.path / "manifests" / "zz" / "garbage", "not a manifest at all");
  }
  auto ms = open_manifests();
  CAF_CHECK_EQUAL(ms.keys(), (std::vector<std::string>{"good"}));
  // A later write for a damaged key replaces the bad file.
  CAF_CHECK(!ms.put(make_manifest("flipped", 1)));
  auto again = open_manifests();
  CAF_CHECK_EQUAL(again.keys(), (std::vector<std::string>{"flipped", "good"}));
}

CAF_TEST(a manifest file in another fan-out directory is skipped and cannot undo a removal) {
  // Found by fuzz/manifest_file_fuzzer: open() checked a file's name but not its directory, so
  // a copy under manifests/<other>/ was loaded, outlived remove() (which unlinks only the file
  // at path_of) and brought the key back at the next start.
  auto m = make_manifest("k", 1);
  {
    auto ms = open_manifests();
    CAF_REQUIRE(!ms.put(m));
    auto path = fs::path{ms.path_of("k")};
    fs::create_directories(dir.path / "manifests" / "zz");
    fs::copy_file(path, dir.path / "manifests" / "zz" / path.filename());
  }
  {
    auto ms = open_manifests();
    CAF_CHECK_EQUAL(ms.keys(), (std::vector<std::string>{"k"}));
    CAF_REQUIRE(!ms.remove("k", m.version));
  }
  auto ms = open_manifests();
  CAF_CHECK(ms.keys().empty());
}

CAF_TEST(a manifest file with an invalid key is skipped) {
  // Found by fuzz/manifest_file_fuzzer: a well-formed file (right checksum, right place) with an
  // empty key or one with a NUL was loaded, although put() refuses such keys, so the store held
  // a manifest it could neither take again nor be asked for.
  for (std::string key : {std::string{}, std::string{"a\0b", 3}}) {
    auto m = make_manifest("k", 1);
    m.key = key;
    auto bytes = manifest_file_bytes(m);
    auto parsed = parse_manifest_file(bytes);
    CAF_CHECK(!parsed && code_of(parsed.error()) == errc::corrupt);
    auto hex = to_hex(sha256(key.data(), key.size()));
    fs::create_directories(dir.path / "manifests" / hex.substr(0, 2));
    std::ofstream{dir.path / "manifests" / hex.substr(0, 2) / hex, std::ios::binary}.write(
      bytes.data(), static_cast<std::streamsize>(bytes.size()));
  }
  auto ms = open_manifests();
  CAF_CHECK(ms.keys().empty());
}

CAF_TEST(the file format round trips and detects damage) {
  auto bytes = manifest_file_bytes(make_manifest("k", 1));
  CAF_CHECK(parse_manifest_file(bytes));
  for (size_t i = 0; i < bytes.size(); ++i) {
    auto bad = bytes;
    bad[i] = static_cast<char>(bad[i] ^ 0x40);
    auto parsed = parse_manifest_file(bad);
    CAF_CHECK(!parsed && code_of(parsed.error()) == errc::corrupt);
  }
  bytes.pop_back();
  CAF_CHECK(!parse_manifest_file(bytes));
}

CAF_TEST(the bytes of an inline file stay on disk and get reads them back) {
  auto m = test::inline_file_manifest("small", 4096, 1);
  {
    auto ms = open_manifests();
    CAF_REQUIRE(!ms.put(m));
    CAF_CHECK_EQUAL(ms.inline_bytes(), 4096u + chunk_cipher::overhead);
    // Listings (and the memory behind them) hold the metadata only.
    auto listed = ms.list("");
    CAF_REQUIRE_EQUAL(listed.size(), 1u);
    CAF_CHECK(listed[0].is_inline() && listed[0].inline_data.empty());
    auto got = ms.get("small");
    CAF_REQUIRE(got);
    CAF_CHECK(got->inline_data == m.inline_data);
  }
  auto ms = open_manifests();
  CAF_CHECK_EQUAL(ms.inline_bytes(), 4096u + chunk_cipher::overhead);
  auto got = ms.get("small");
  CAF_REQUIRE(got);
  CAF_CHECK(got->inline_data == m.inline_data);
  // A newer, chunked version and then a removal give the bytes back.
  CAF_REQUIRE(!ms.put(make_manifest("small", 2, "now in a chunk")));
  CAF_CHECK_EQUAL(ms.inline_bytes(), 0u);
  CAF_REQUIRE(!ms.put(test::inline_file_manifest("small", 10, 3)));
  CAF_CHECK_EQUAL(ms.inline_bytes(), 10u + chunk_cipher::overhead);
  CAF_REQUIRE(!ms.remove("small", version{3, "node-a"}));
  CAF_CHECK_EQUAL(ms.inline_bytes(), 0u);
}

CAF_TEST(the manifest of an inline file without its bytes is refused) {
  auto ms = open_manifests();
  auto err = ms.put(without_inline_data(test::inline_file_manifest("k", 100, 1)));
  CAF_CHECK(code_of(err) == errc::bad_request);
  CAF_CHECK(ms.keys().empty());
}

CAF_TEST(a damaged inline file is forgotten until a replica restores it) {
  auto m = test::inline_file_manifest("k", 100, 1);
  auto ms = open_manifests();
  CAF_REQUIRE(!ms.put(m));
  flip_byte(ms.path_of("k"), 100);
  auto got = ms.get("k");
  CAF_REQUIRE(!got);
  CAF_CHECK(code_of(got.error()) == errc::corrupt);
  // Forgotten: the node now counts as lacking the key, so anti-entropy copies it back, and
  // that copy (the same version) is taken and overwrites the damaged file.
  CAF_CHECK(ms.keys().empty());
  CAF_CHECK_EQUAL(ms.inline_bytes(), 0u);
  CAF_REQUIRE(!ms.put(m));
  got = ms.get("k");
  CAF_REQUIRE(got);
  CAF_CHECK(got->inline_data == m.inline_data);
}

CAF_TEST(a read the disk refuses keeps the inline file) {
  // Found in review: any read error made get() forget the key, and anti-entropy could then
  // copy an older version from another replica over the good file.
  auto m = test::inline_file_manifest("k", 100, 1);
  auto ms = open_manifests();
  CAF_REQUIRE(!ms.put(m));
  auto path = fs::path{ms.path_of("k")};
  fs::rename(path, path.string() + ".aside");
  fs::create_directory(path); // read() of a directory fails with EISDIR
  auto got = ms.get("k");
  CAF_REQUIRE(!got);
  CAF_CHECK(code_of(got.error()) == errc::io_error);
  CAF_CHECK_EQUAL(ms.keys(), (std::vector<std::string>{"k"}));
  CAF_CHECK_EQUAL(ms.inline_bytes(), 100u + chunk_cipher::overhead);
  fs::remove(path);
  fs::rename(path.string() + ".aside", path);
  got = ms.get("k");
  CAF_REQUIRE(got);
  CAF_CHECK(got->inline_data == m.inline_data);
  // A file that is gone is forgotten, like a damaged one.
  fs::remove(path);
  got = ms.get("k");
  CAF_REQUIRE(!got);
  CAF_CHECK(code_of(got.error()) == errc::corrupt);
  CAF_CHECK(ms.keys().empty());
}

CAF_TEST(only the bytes an inline file adds need room) {
  auto ms = open_manifests();
  std::vector<uint64_t> asked;
  auto room = [&](uint64_t bytes) -> caf::error {
    asked.push_back(bytes);
    return bytes > 500 ? make_error(errc::no_space, "full") : caf::error{};
  };
  CAF_REQUIRE(!ms.put(test::inline_file_manifest("k", 400, 1), room));
  // A newer version of the same size adds nothing; one 50 bytes larger adds 50.
  CAF_REQUIRE(!ms.put(test::inline_file_manifest("k", 400, 2), room));
  CAF_REQUIRE(!ms.put(test::inline_file_manifest("k", 450, 3), room));
  // An older version is not written and not asked about; a too large one is refused.
  CAF_CHECK(code_of(ms.put(test::inline_file_manifest("k", 10000, 1), room)) == errc::superseded);
  CAF_CHECK(code_of(ms.put(test::inline_file_manifest("other", 600, 1), room)) == errc::no_space);
  CAF_CHECK_EQUAL(asked, (std::vector<uint64_t>{428, 50, 628}));
  CAF_CHECK_EQUAL(ms.keys(), (std::vector<std::string>{"k"}));
}

CAF_TEST(manifest files of format 1 are still read) {
  // Format 1, from before inline files: the same payload without the inline bytes' length.
  auto m = make_manifest("old/file", 4, "from format 1");
  byte_buffer payload;
  writer pw{payload};
  encode(pw, m);
  payload.resize(payload.size() - 4); // the empty inline bytes' u32 length
  byte_buffer bytes;
  writer w{bytes};
  w.raw("DFSM", 4);
  w.u16(1);
  w.fixed(sha256(payload.data(), payload.size()));
  w.raw(payload.data(), payload.size());
  auto parsed = parse_manifest_file(bytes);
  CAF_REQUIRE(parsed);
  CAF_CHECK(parsed->version == m.version);
  CAF_CHECK_EQUAL(parsed->chunks.size(), 1u);
  // New files are format 2.
  auto current = manifest_file_bytes(m);
  CAF_CHECK_EQUAL(static_cast<uint8_t>(current[4]), 2u);
}

// -- node identity -------------------------------------------------------------

CAF_TEST(the node id is stable across calls) {
  auto sub = (dir.path / "fresh").string(); // created on demand
  auto id = load_or_create_node_id(sub);
  CAF_CHECK_EQUAL(id.size(), 32u);
  CAF_CHECK_EQUAL(id.find_first_not_of("0123456789abcdef"), std::string::npos);
  CAF_CHECK_EQUAL(load_or_create_node_id(sub), id);
  CAF_CHECK_NOT_EQUAL(load_or_create_node_id((dir.path / "other").string()), id);
  CAF_CHECK_EQUAL(files_in(sub), 1u); // node.id only, no temporary left
}

CAF_TEST(a malformed node id file is an error) {
  write_file(dir.path / "node.id", "not-an-id\n");
  CAF_CHECK(node_id_throws(data_dir));
  write_file(dir.path / "node.id", "0123456789ABCDEF0123456789ABCDEF");
  CAF_CHECK(node_id_throws(data_dir));
  write_file(dir.path / "node.id", "0123456789abcdef0123456789abcdef");
  CAF_CHECK_EQUAL(load_or_create_node_id(data_dir), "0123456789abcdef0123456789abcdef");
}

CAF_TEST_FIXTURE_SCOPE_END()
