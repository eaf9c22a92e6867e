#define CAF_SUITE store
#include "tests/unit/test_helpers.hpp"

#include "actors/store.hpp"
#include "common/buffer_pool.hpp"
#include "common/error.hpp"
#include "common/wall_clock.hpp"
#include "storage/node_usage.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

using namespace dfs;

namespace {

using test::bytes_of;

chunk_id id_of(const byte_buffer& b) { return chunk_id::of(b.data(), b.size()); }

manifest make_manifest(const std::string& key, uint64_t hlc, bool deleted = false) {
  manifest m;
  m.key = key;
  m.version = version{hlc, "node-a"};
  m.deleted = deleted; // no chunks: size 0 adds up either way
  return m;
}

// The store is detached: it runs on a thread of its own, so a real actor system and blocking
// receives are all a test needs.
struct fixture {
  test::temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  store_actor st = sys.spawn<caf::detached>(store, dir.path.string());

  ~fixture() { self->send_exit(st, caf::exit_reason::user_shutdown); }

  /// One request and its answer: the value, or the error the store replied with.
  template <class T, class... Ts>
  caf::expected<T> ask(Ts... xs) {
    caf::expected<T> out{caf::sec::unexpected_response};
    self->request(st, std::chrono::seconds(10), xs...)
      .receive([&](T& x) { out = std::move(x); }, [&](caf::error& err) { out = std::move(err); });
    return out;
  }

  /// Sends a ready-made put message (one shared with others, say) as it is; true once stored.
  bool put_message(const caf::message& msg) {
    bool stored = false;
    self->request(caf::actor_cast<caf::actor>(st), std::chrono::seconds(10), msg)
      .receive([&](caf::ok_atom) { stored = true; },
               [&](caf::error& err) { CAF_FAIL("put failed: " << describe(err)); });
    return stored;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(store_tests, fixture)

CAF_TEST(chunks round trip through the actor) {
  auto b = bytes_of("chunk through the actor");
  auto id = id_of(b);
  CAF_CHECK(ask<caf::ok_atom>(put_chunk_atom::value, id, b));
  auto got = ask<byte_buffer>(get_chunk_atom::value, id);
  CAF_REQUIRE(got);
  CAF_CHECK_EQUAL(*got, b);
}

CAF_TEST(puts that arrive together are all answered once durable) {
  // Sent without waiting, so they queue up and the store commits them in few batches.
  std::vector<byte_buffer> chunks;
  for (int i = 0; i < 50; ++i)
    chunks.push_back(bytes_of("chunk number " + std::to_string(i)));
  for (auto& b : chunks)
    self->send(st, put_chunk_atom::value, id_of(b), b);
  for (int i = 0; i < 50; ++i)
    self->send(st, put_manifest_atom::value, make_manifest("key" + std::to_string(i), 1));
  size_t answered = 0;
  size_t sent = 100;
  self->receive_for(answered, sent)([](caf::ok_atom) {});
  CAF_CHECK_EQUAL(answered, 100u);
  // Every acknowledged write is held and on disk under its name, none left as a temporary.
  for (auto& b : chunks) {
    auto got = ask<byte_buffer>(get_chunk_atom::value, id_of(b));
    CAF_REQUIRE(got);
    CAF_CHECK_EQUAL(*got, b);
  }
  auto listed = ask<std::vector<manifest>>(list_manifests_atom::value, std::string{"key"});
  CAF_REQUIRE(listed);
  CAF_CHECK_EQUAL(listed->size(), 50u);
  CAF_CHECK(std::filesystem::is_empty(dir.path / "tmp"));
}

CAF_TEST(errors reach the requester with their code) {
  auto missing = ask<byte_buffer>(get_chunk_atom::value, id_of(bytes_of("absent")));
  CAF_REQUIRE(!missing);
  CAF_CHECK(code_of(missing.error()) == errc::not_found);
  auto bad = ask<caf::ok_atom>(put_chunk_atom::value, id_of(bytes_of("a")), bytes_of("b"));
  CAF_REQUIRE(!bad);
  CAF_CHECK(code_of(bad.error()) == errc::bad_request);
  auto no_manifest = ask<manifest>(get_manifest_atom::value, std::string{"nope"});
  CAF_REQUIRE(!no_manifest);
  CAF_CHECK(code_of(no_manifest.error()) == errc::not_found);
  CAF_MESSAGE(describe(no_manifest.error()));
}

CAF_TEST(a chunk sealed here is stored and its bytes stay in the request it refers to) {
  // The put session's own store gets sealed_here in front of the one request for every
  // replica: a message of its own that refers to the shared one.
  byte_buffer big(2u << 20, 'h');
  auto id = id_of(big);
  auto shared = caf::make_message(put_chunk_atom::value, id, big);
  auto own = caf::message::concat(caf::make_message(sealed_here_atom::value), shared);
  CAF_CHECK(put_message(own));
  CAF_CHECK(shared.get_as<byte_buffer>(2) == big);
  auto got = ask<byte_buffer>(get_chunk_atom::value, id);
  CAF_REQUIRE(got);
  CAF_CHECK(*got == big);
}

CAF_TEST(a chunk buffer goes back to the pool only when nobody else holds its message) {
  // A put session sends one message to every replica: the store must not take its bytes.
  // The pool is the process's: empty it, so that the check below has room to see a gift.
  while (pooled_bytes() > 0)
    take_buffer(buffer_pool_min_capacity);
  byte_buffer big(2u << 20, 's');
  auto id = id_of(big);
  auto shared = caf::make_message(put_chunk_atom::value, id, big);
  auto pooled_before = pooled_bytes();
  for (int i = 0; i < 2; ++i)
    CAF_CHECK(put_message(shared));
  CAF_CHECK(shared.get_as<byte_buffer>(2) == big);
  CAF_CHECK_EQUAL(pooled_bytes(), pooled_before);
  // A chunk that arrives in a message of its own (from a peer connection) leaves its buffer.
  byte_buffer other(2u << 20, 'o');
  auto other_id = id_of(other);
  CAF_CHECK(ask<caf::ok_atom>(put_chunk_atom::value, other_id, std::move(other)));
  CAF_CHECK(pooled_bytes() > pooled_before);
  auto got = ask<byte_buffer>(get_chunk_atom::value, id);
  CAF_REQUIRE(got);
  CAF_CHECK(*got == big);
}

CAF_TEST(gets sent together are all answered by the chunk readers) {
  std::vector<byte_buffer> chunks;
  for (int i = 0; i < 20; ++i) {
    chunks.push_back(bytes_of("read concurrently " + std::to_string(i)));
    CAF_REQUIRE(ask<caf::ok_atom>(put_chunk_atom::value, id_of(chunks.back()), chunks.back()));
  }
  for (auto& b : chunks)
    self->send(st, get_chunk_atom::value, id_of(b));
  // Answers may come in any order (two readers): match each to the chunk it holds.
  std::set<chunk_id> answered;
  for (size_t i = 0; i < chunks.size(); ++i)
    self->receive([&](byte_buffer& got) { answered.insert(id_of(got)); },
                  [&](caf::error& err) { CAF_FAIL("a get failed: " << describe(err)); },
                  caf::after(std::chrono::seconds(10)) >> [] { CAF_FAIL("a get was not answered"); });
  for (auto& b : chunks)
    CAF_CHECK(answered.count(id_of(b)) == 1);
}

CAF_TEST(a chunk reader that stops is replaced and every get is still answered) {
  auto b = bytes_of("read after a reader died");
  CAF_REQUIRE(ask<caf::ok_atom>(put_chunk_atom::value, id_of(b), b));
  // The reader answers the requester itself (the store delegates): its address is the sender.
  caf::actor reader;
  self->request(st, std::chrono::seconds(10), get_chunk_atom::value, id_of(b))
    .receive([&](byte_buffer&) { reader = caf::actor_cast<caf::actor>(self->current_sender()); },
             [&](caf::error& err) { CAF_FAIL("get failed: " << describe(err)); });
  CAF_REQUIRE(reader);
  self->monitor(reader);
  self->send_exit(reader, caf::exit_reason::kill);
  bool down = false;
  self->receive([&](caf::down_msg&) { down = true; }, caf::after(std::chrono::seconds(10)) >> [] {});
  CAF_REQUIRE(down);
  // Readers take turns; a dead one left in the list would fail every other get.
  for (int i = 0; i < 4; ++i) {
    auto got = ask<byte_buffer>(get_chunk_atom::value, id_of(b));
    if (!got)
      CAF_FAIL("get " << i << " after the reader stopped: " << describe(got.error()));
    CAF_CHECK(*got == b);
  }
}

CAF_TEST(a chunk a reader finds damaged or missing is set aside so that a repair can store it) {
  auto b = bytes_of("read by a chunk reader, then damaged");
  auto id = id_of(b);
  auto hex = id.hex();
  auto file = dir.path / "chunks" / hex.substr(0, 2) / hex.substr(2, 2) / hex;
  CAF_REQUIRE(ask<caf::ok_atom>(put_chunk_atom::value, id, b));
  test::flip_byte(file, 5);
  auto damaged = ask<byte_buffer>(get_chunk_atom::value, id);
  CAF_REQUIRE(!damaged);
  CAF_CHECK(code_of(damaged.error()) == errc::corrupt);
  CAF_MESSAGE(describe(damaged.error()));
  CAF_CHECK_EQUAL(test::files_in(dir.path / "quarantine"), 1u);
  // The store no longer holds it, so the repair (a put of the good bytes) writes it again.
  CAF_CHECK(ask<caf::ok_atom>(put_chunk_atom::value, id, b));
  auto repaired = ask<byte_buffer>(get_chunk_atom::value, id);
  CAF_REQUIRE(repaired);
  CAF_CHECK_EQUAL(*repaired, b);
  // The same for a file that vanished.
  std::filesystem::remove(file);
  auto missing = ask<byte_buffer>(get_chunk_atom::value, id);
  CAF_REQUIRE(!missing);
  CAF_CHECK(code_of(missing.error()) == errc::not_found);
  CAF_CHECK(ask<caf::ok_atom>(put_chunk_atom::value, id, b));
  auto restored = ask<byte_buffer>(get_chunk_atom::value, id);
  CAF_REQUIRE(restored);
  CAF_CHECK_EQUAL(*restored, b);
}

CAF_TEST(has_chunks answers per id) {
  auto b = bytes_of("held");
  CAF_REQUIRE(ask<caf::ok_atom>(put_chunk_atom::value, id_of(b), b));
  std::vector<chunk_id> ids{id_of(bytes_of("not held")), id_of(b)};
  auto held = ask<std::vector<bool>>(has_chunks_atom::value, ids);
  CAF_REQUIRE(held);
  CAF_CHECK_EQUAL(*held, (std::vector<bool>{false, true}));
}

CAF_TEST(touch_chunks answers per id and keeps a held chunk from collection) {
  using steady = std::chrono::steady_clock;
  // gc_grace goes through the default handler, like the capacity: send it untyped.
  bool set = false;
  self->request(caf::actor_cast<caf::actor>(st), std::chrono::seconds(10), gc_grace_atom::value,
                caf::timespan{std::chrono::seconds{60}})
    .receive([&](caf::ok_atom) { set = true; }, [](caf::error&) {});
  CAF_REQUIRE(set);
  auto leased = bytes_of("leased");
  auto left = bytes_of("left alone");
  auto again = bytes_of("put again");
  for (auto& b : {leased, left, again})
    CAF_REQUIRE(ask<caf::ok_atom>(put_chunk_atom::value, id_of(b), b));
  // A collection pass that planned its removals gc_grace from now...
  auto now = steady::now();
  auto planned = now + std::chrono::seconds{60};
  while (steady::now() <= now) {
  }
  // ... meets chunks touched since: one by a lease, one by a put that found it held, one
  // through the sealed_here put of this node's own put session.
  std::vector<chunk_id> ids{id_of(bytes_of("not held")), id_of(leased)};
  auto held = ask<std::vector<bool>>(touch_chunks_atom::value, ids);
  CAF_REQUIRE(held);
  CAF_CHECK_EQUAL(*held, (std::vector<bool>{false, true}));
  CAF_REQUIRE(ask<caf::ok_atom>(put_chunk_atom::value, id_of(again), again));
  auto sealed = bytes_of("sealed here");
  CAF_REQUIRE(ask<caf::ok_atom>(put_chunk_atom::value, id_of(sealed), sealed));
  auto sealed_planned = steady::now() + std::chrono::seconds{60};
  CAF_REQUIRE(ask<caf::ok_atom>(sealed_here_atom::value, put_chunk_atom::value, id_of(sealed), sealed));
  // The store's answer to a collection: true when the chunk is gone.
  auto collected = [&](const byte_buffer& b, steady::time_point planned_at) {
    auto gone = ask<bool>(delete_chunk_atom::value, id_of(b), planned_at);
    CAF_REQUIRE(gone);
    return *gone;
  };
  CAF_CHECK(!collected(leased, planned));
  CAF_CHECK(!collected(again, planned));
  CAF_CHECK(!collected(sealed, sealed_planned));
  CAF_CHECK(collected(left, planned));
  auto still = ask<std::vector<bool>>(has_chunks_atom::value,
                                      std::vector<chunk_id>{id_of(leased), id_of(again),
                                                            id_of(sealed), id_of(left)});
  CAF_REQUIRE(still);
  CAF_CHECK_EQUAL(*still, (std::vector<bool>{true, true, true, false}));
}

CAF_TEST(manifests keep the newest version and list by prefix) {
  CAF_CHECK(ask<caf::ok_atom>(put_manifest_atom::value, make_manifest("dir/b", 2)));
  // An older version is not answered ok: the requester learns the version held instead.
  auto older = ask<caf::ok_atom>(put_manifest_atom::value, make_manifest("dir/b", 1, true));
  CAF_REQUIRE(!older);
  CAF_CHECK(code_of(older.error()) == errc::superseded);
  CAF_CHECK(superseding_version(older.error()) == version{2, "node-a"});
  // The same write again is answered ok: it is held.
  CAF_CHECK(ask<caf::ok_atom>(put_manifest_atom::value, make_manifest("dir/b", 2)));
  CAF_CHECK(ask<caf::ok_atom>(put_manifest_atom::value, make_manifest("dir/a", 1)));
  CAF_CHECK(ask<caf::ok_atom>(put_manifest_atom::value, make_manifest("dir/a", 5, true)));
  CAF_CHECK(ask<caf::ok_atom>(put_manifest_atom::value, make_manifest("other", 1)));
  auto b = ask<manifest>(get_manifest_atom::value, std::string{"dir/b"});
  CAF_REQUIRE(b);
  CAF_CHECK_EQUAL(b->version.hlc, 2u);
  CAF_CHECK(!b->deleted);
  auto listed = ask<std::vector<manifest>>(list_manifests_atom::value, std::string{"dir/"});
  CAF_REQUIRE(listed);
  CAF_REQUIRE_EQUAL(listed->size(), 2u);
  CAF_CHECK_EQUAL((*listed)[0].key, "dir/a");
  CAF_CHECK((*listed)[0].deleted);
  CAF_CHECK_EQUAL((*listed)[1].key, "dir/b");
}

CAF_TEST(a manifest further ahead of the clock than max_clock_skew is refused) {
  auto untyped = caf::actor_cast<caf::actor>(st);
  auto now_ms = wall_clock_ms();
  // The default bound (60 s) holds before the node sets one.
  auto far = ask<caf::ok_atom>(put_manifest_atom::value, make_manifest("k", now_ms + 3'600'000));
  CAF_REQUIRE(!far);
  CAF_CHECK(code_of(far.error()) == errc::clock_skew);
  CAF_MESSAGE(describe(far.error()));
  // [cluster] max_clock_skew = 7200 lets it in.
  bool set = false;
  self->request(untyped, std::chrono::seconds(10), clock_skew_atom::value, uint64_t{7'200'000})
    .receive([&](caf::ok_atom) { set = true; }, [&](caf::error& err) { CAF_FAIL(describe(err)); });
  CAF_REQUIRE(set);
  CAF_CHECK(ask<caf::ok_atom>(put_manifest_atom::value, make_manifest("k", now_ms + 3'600'000)));
  // And the store reports it as the newest version it holds, for the node's clock.
  CAF_CHECK(ask<caf::ok_atom>(put_manifest_atom::value, make_manifest("older", 5)));
  uint64_t newest = 0;
  self->request(untyped, std::chrono::seconds(10), newest_hlc_atom::value)
    .receive([&](uint64_t x) { newest = x; }, [&](caf::error& err) { CAF_FAIL(describe(err)); });
  CAF_CHECK_EQUAL(newest, now_ms + 3'600'000);
}

CAF_TEST(inventory lists chunks and manifests and the bytes held) {
  auto b1 = bytes_of("one");
  auto b2 = bytes_of("two");
  CAF_REQUIRE(ask<caf::ok_atom>(put_chunk_atom::value, id_of(b1), b1));
  CAF_REQUIRE(ask<caf::ok_atom>(put_chunk_atom::value, id_of(b2), b2));
  CAF_REQUIRE(ask<caf::ok_atom>(put_manifest_atom::value, make_manifest("k2", 1)));
  CAF_REQUIRE(ask<caf::ok_atom>(put_manifest_atom::value, make_manifest("k1", 1, true)));
  std::vector<chunk_id> ids;
  std::vector<std::string> keys;
  uint64_t bytes = 0;
  self->request(st, std::chrono::seconds(10), inventory_atom::value)
    .receive(
      [&](std::vector<chunk_id>& xs, std::vector<manifest>& ms, uint64_t n) {
        ids = std::move(xs);
        for (auto& m : ms)
          keys.push_back(m.key);
        bytes = n;
      },
      [&](caf::error& err) { CAF_FAIL("inventory failed: " << describe(err)); });
  auto expected_ids = std::vector<chunk_id>{id_of(b1), id_of(b2)};
  std::sort(expected_ids.begin(), expected_ids.end());
  CAF_CHECK(ids == expected_ids);
  CAF_CHECK_EQUAL(keys, (std::vector<std::string>{"k1", "k2"}));
  CAF_CHECK_EQUAL(bytes, 6u); // "one" and "two"
}

CAF_TEST(delete_chunk and delete_manifest remove only what they name) {
  auto b1 = bytes_of("one");
  CAF_REQUIRE(ask<caf::ok_atom>(put_chunk_atom::value, id_of(b1), b1));
  CAF_REQUIRE(ask<caf::ok_atom>(delete_chunk_atom::value, id_of(b1)));
  auto gone = ask<byte_buffer>(get_chunk_atom::value, id_of(b1));
  CAF_CHECK(!gone && code_of(gone.error()) == errc::not_found);
  auto m = make_manifest("k", 5);
  CAF_REQUIRE(ask<caf::ok_atom>(put_manifest_atom::value, m));
  // Another version than the one held: the manifest stays.
  auto other = m.version;
  other.hlc += 1;
  CAF_REQUIRE(ask<caf::ok_atom>(delete_manifest_atom::value, std::string{"k"}, other));
  CAF_CHECK(ask<manifest>(get_manifest_atom::value, std::string{"k"}));
  CAF_REQUIRE(ask<caf::ok_atom>(delete_manifest_atom::value, std::string{"k"}, m.version));
  auto removed = ask<manifest>(get_manifest_atom::value, std::string{"k"});
  CAF_CHECK(!removed && code_of(removed.error()) == errc::not_found);
}

CAF_TEST(a store that cannot open its directory quits with the error) {
  auto blocker = dir.path / "a-file";
  std::ofstream{blocker} << "in the way";
  auto bad = self->spawn<caf::detached + caf::monitored>(store, blocker.string());
  bool down = false;
  self->receive(
    [&](caf::down_msg& msg) {
      down = true;
      CAF_CHECK(msg.source == bad);
      CAF_CHECK(code_of(msg.reason) == errc::io_error);
      CAF_MESSAGE(describe(msg.reason));
    },
    caf::after(std::chrono::seconds(10)) >> [] {});
  CAF_CHECK(down);
}

CAF_TEST(inline files count against the capacity and are read back whole) {
  // The store's capacity message goes through its default handler: send it untyped.
  caf::actor untyped = caf::actor_cast<caf::actor>(st);
  bool set = false;
  self->request(untyped, std::chrono::seconds(10), capacity_atom::value, uint64_t{1000})
    .receive([&](caf::ok_atom) { set = true; }, [](caf::error&) {});
  CAF_REQUIRE(set);
  auto first = test::inline_file_manifest("a", 900);
  CAF_REQUIRE(ask<caf::ok_atom>(put_manifest_atom::value, first));
  auto got = ask<manifest>(get_manifest_atom::value, std::string{"a"});
  CAF_REQUIRE(got);
  CAF_CHECK(got->inline_data == first.inline_data);
  // 928 of 1000 bytes are used: neither another inline file nor a chunk of 100 bytes fits.
  auto second = ask<caf::ok_atom>(put_manifest_atom::value, test::inline_file_manifest("b", 100));
  CAF_REQUIRE(!second);
  CAF_CHECK(code_of(second.error()) == errc::no_space);
  auto b = byte_buffer(100, 'c');
  auto chunk = ask<caf::ok_atom>(put_chunk_atom::value, id_of(b), b);
  CAF_REQUIRE(!chunk);
  CAF_CHECK(code_of(chunk.error()) == errc::no_space);
  auto usage = ask<manifest>(get_manifest_atom::value, node_usage_key());
  CAF_REQUIRE(usage);
  auto parsed = parse_node_usage(*usage);
  CAF_REQUIRE(parsed);
  CAF_CHECK_EQUAL(parsed->used, 900u + chunk_cipher::overhead);
  // A newer version of the same size replaces the bytes and needs no more room.
  auto newer = first;
  newer.version = version{2, "node-a"};
  CAF_CHECK(ask<caf::ok_atom>(put_manifest_atom::value, newer));
}

CAF_TEST(the disk reserve holds back chunks and inline files but not tombstones or chunk lists) {
  caf::actor untyped = caf::actor_cast<caf::actor>(st);
  // More than any disk holds: the disk is "full" for data from the start.
  self->request(untyped, std::chrono::seconds(10), disk_reserve_atom::value, uint64_t{1} << 62)
    .receive([](caf::ok_atom) {}, [](caf::error& err) { CAF_FAIL(describe(err)); });
  auto small = ask<caf::ok_atom>(put_manifest_atom::value, test::inline_file_manifest("a", 100));
  CAF_REQUIRE(!small);
  CAF_CHECK(code_of(small.error()) == errc::no_space);
  CAF_CHECK(describe(small.error()).find("[storage] reserve") != std::string::npos);
  auto b = bytes_of("a chunk held back by the reserve");
  auto chunk = ask<caf::ok_atom>(put_chunk_atom::value, id_of(b), b);
  CAF_REQUIRE(!chunk);
  CAF_CHECK(code_of(chunk.error()) == errc::no_space);
  // What frees the disk, and what names chunks already stored, still goes in.
  manifest listed;
  listed.key = "big";
  listed.size = b.size();
  listed.version = version{1, "node-a"};
  listed.chunks.push_back(chunk_ref{id_of(b), static_cast<uint32_t>(b.size())});
  CAF_CHECK(ask<caf::ok_atom>(put_manifest_atom::value, listed));
  manifest tombstone;
  tombstone.key = "big";
  tombstone.deleted = true;
  tombstone.version = version{2, "node-a"};
  CAF_CHECK(ask<caf::ok_atom>(put_manifest_atom::value, tombstone));
  auto held = ask<manifest>(get_manifest_atom::value, std::string{"big"});
  CAF_REQUIRE(held);
  CAF_CHECK(held->deleted);
}

CAF_TEST(inline files of one batch count against the capacity together) {
  // Found in review: staged inline files were not counted, so two puts that arrived together
  // both fit a capacity that holds one.
  caf::actor untyped = caf::actor_cast<caf::actor>(st);
  self->request(untyped, std::chrono::seconds(10), capacity_atom::value, uint64_t{1000})
    .receive([](caf::ok_atom) {}, [](caf::error& err) { CAF_FAIL(describe(err)); });
  for (auto key : {"a", "b"}) // both before either is answered
    self->send(st, put_manifest_atom::value, test::inline_file_manifest(key, 900));
  int ok = 0, full = 0;
  for (int i = 0; i < 2; ++i)
    self->receive([&](caf::ok_atom) { ++ok; },
                  [&](caf::error& err) { full += code_of(err) == errc::no_space ? 1 : 0; },
                  caf::after(std::chrono::seconds(10)) >> [] { CAF_FAIL("no answer"); });
  CAF_CHECK_EQUAL(ok, 1);
  CAF_CHECK_EQUAL(full, 1);
}

CAF_TEST_FIXTURE_SCOPE_END()
