#define CAF_SUITE chunk_layout
#include "tests/unit/test_helpers.hpp"

#include "common/error.hpp"
#include "storage/chunk_index.hpp"
#include "storage/chunk_store.hpp"
#include "storage/node_usage.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <set>

namespace fs = std::filesystem;
using namespace dfs;

namespace {

using test::bytes_of;

chunk_id id_of(const byte_buffer& b) { return chunk_id::of(b.data(), b.size()); }

chunk_id id_n(uint32_t n) {
  auto text = std::to_string(n);
  return chunk_id::of(text.data(), text.size());
}

size_t files_in(const fs::path& dir) {
  return static_cast<size_t>(std::distance(fs::directory_iterator{dir}, fs::directory_iterator{}));
}

void write_file(const fs::path& p, const std::string& text) {
  std::ofstream out{p, std::ios::binary | std::ios::trunc};
  out << text;
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
};

} // namespace

// -- the index ------------------------------------------------------------------------------------

CAF_TEST(the index agrees with a plain set through inserts removals and compactions) {
  chunk_index index;
  std::set<chunk_id> model;
  std::vector<chunk_id> initial;
  for (uint32_t i = 0; i < 3000; i += 2)
    initial.push_back(id_n(i));
  initial.push_back(id_n(0)); // a duplicate
  index.assign(initial);
  model.insert(initial.begin(), initial.end());
  CAF_CHECK_EQUAL(index.size(), model.size());
  std::mt19937 rng{42};
  for (int step = 0; step < 20000; ++step) {
    auto id = id_n(rng() % 4000);
    if (rng() % 3 == 0) {
      CAF_CHECK_EQUAL(index.erase(id), model.erase(id) == 1);
    } else {
      CAF_CHECK_EQUAL(index.insert(id), model.insert(id).second);
    }
    if (step % 997 == 0) {
      CAF_CHECK_EQUAL(index.size(), model.size());
      CAF_CHECK(index.sorted() == std::vector<chunk_id>(model.begin(), model.end()));
    }
  }
  for (uint32_t i = 0; i < 4000; ++i)
    CAF_CHECK_EQUAL(index.contains(id_n(i)), model.count(id_n(i)) == 1);
  CAF_CHECK(index.sorted() == std::vector<chunk_id>(model.begin(), model.end()));
}

// -- the layout on disk and its recovery ----------------------------------------------------------

CAF_TEST_FIXTURE_SCOPE(chunk_layout_tests, fixture)

CAF_TEST(a chunk lives at chunks ab cd and nothing else is left behind) {
  auto cs = open_chunks();
  auto b = bytes_of("laid out");
  auto id = id_of(b);
  CAF_REQUIRE(!cs.put(id, b));
  auto hex = id.hex();
  auto path = dir.path / "chunks" / hex.substr(0, 2) / hex.substr(2, 2) / hex;
  CAF_CHECK_EQUAL(cs.path_of(id), path.string());
  CAF_CHECK(fs::is_regular_file(path));
  CAF_CHECK_EQUAL(fs::file_size(path), b.size());
  CAF_CHECK_EQUAL(files_in(dir.path / "tmp"), 0u);
  CAF_CHECK_EQUAL(files_in(dir.path / "quarantine"), 0u);
  CAF_CHECK_EQUAL(cs.count(), 1u);
  CAF_CHECK_EQUAL(cs.used(), b.size());
}

CAF_TEST(reopening rebuilds the index and the used bytes from the tree) {
  std::vector<chunk_id> ids;
  uint64_t used = 0;
  {
    auto cs = open_chunks();
    for (auto text : {"alpha", "beta", "gamma", "delta", ""}) {
      auto b = bytes_of(text);
      ids.push_back(id_of(b));
      used += b.size();
      CAF_REQUIRE(!cs.put(ids.back(), b));
    }
    CAF_REQUIRE(!cs.remove(ids[0]));
    used -= 5;
    ids.erase(ids.begin());
    CAF_CHECK_EQUAL(cs.used(), used);
  }
  // What a crash leaves, and what does not belong: none of it counts as a chunk.
  write_file(dir.path / "tmp" / "chunk.Xy12Ab", "half a chunk");
  auto some = ids[0].hex();
  write_file(dir.path / "chunks" / some.substr(0, 2) / some.substr(2, 2) / "not-a-chunk", "??");
  write_file(dir.path / "chunks" / some.substr(0, 2) / some.substr(2, 2)
               / (std::string(64, 'a')), // a valid name in the wrong directory
             "misplaced");
  fs::create_directories(dir.path / "chunks" / "zz" / "yy");
  write_file(dir.path / "chunks" / "zz" / "yy" / std::string(64, 'b'), "bad fan-out name");
  write_file(dir.path / "chunks" / some.substr(0, 2) / some.substr(2, 2) / some.substr(0, 63) ,
             "short name");
  auto cs = open_chunks();
  CAF_CHECK(!fs::exists(dir.path / "tmp" / "chunk.Xy12Ab"));
  std::sort(ids.begin(), ids.end());
  auto listed = cs.list();
  CAF_REQUIRE(listed);
  CAF_CHECK(*listed == ids);
  CAF_CHECK_EQUAL(cs.count(), ids.size());
  CAF_CHECK_EQUAL(cs.used(), used);
  for (auto& id : ids)
    CAF_CHECK(cs.has(id));
  CAF_MESSAGE("indexed in " << cs.index_time().count() << " ms");
}

CAF_TEST(a chunk file removed behind the back of the store is forgotten on the next read) {
  auto cs = open_chunks();
  auto b = bytes_of("here today");
  auto id = id_of(b);
  CAF_REQUIRE(!cs.put(id, b));
  fs::remove(cs.path_of(id));
  CAF_CHECK(cs.has(id)); // the index does not watch the disk...
  auto got = cs.get(id);
  CAF_REQUIRE(!got);
  CAF_CHECK(code_of(got.error()) == errc::not_found);
  CAF_CHECK(!cs.has(id)); // ...but a read that misses corrects it
  CAF_CHECK(!cs.put(id, b));
  CAF_CHECK(cs.get(id));
}

CAF_TEST(a chunk file put there behind the back of the store is adopted not counted twice) {
  auto b = bytes_of("already there");
  auto id = id_of(b);
  std::string path;
  {
    auto cs = open_chunks();
    path = cs.path_of(id);
  }
  auto cs = open_chunks();
  fs::create_directories(fs::path{path}.parent_path());
  write_file(path, "already there");
  CAF_CHECK(!cs.has(id));
  CAF_CHECK(!cs.put(id, b));
  CAF_CHECK(cs.has(id));
  CAF_CHECK_EQUAL(cs.used(), b.size());
}

CAF_TEST(quarantine forgets the chunk and its bytes) {
  auto cs = open_chunks();
  auto b = bytes_of("rots soon");
  auto id = id_of(b);
  CAF_REQUIRE(!cs.put(id, b));
  {
    std::fstream f{cs.path_of(id), std::ios::in | std::ios::out | std::ios::binary};
    f.seekp(0);
    f.put('R');
  }
  CAF_CHECK_EQUAL(cs.used(), b.size());
  auto got = cs.get(id);
  CAF_REQUIRE(!got);
  CAF_CHECK(code_of(got.error()) == errc::corrupt);
  CAF_CHECK_EQUAL(cs.used(), 0u);
  CAF_CHECK_EQUAL(cs.count(), 0u);
  CAF_CHECK_EQUAL(files_in(dir.path / "quarantine"), 1u);
  // Quarantined files are not chunks when the store opens again.
  auto again = open_chunks();
  CAF_CHECK_EQUAL(again.count(), 0u);
}

// -- capacity -------------------------------------------------------------------------------------

CAF_TEST(a put past the capacity is refused with no_space and leaves nothing) {
  auto cs = open_chunks();
  cs.set_capacity(10);
  auto small = bytes_of("123456");
  CAF_REQUIRE(!cs.put(id_of(small), small));
  auto big = bytes_of("12345");
  auto err = cs.put(id_of(big), big);
  CAF_CHECK(code_of(err) == errc::no_space);
  CAF_MESSAGE(describe(err));
  CAF_CHECK(!cs.has(id_of(big)));
  CAF_CHECK(!fs::exists(cs.path_of(id_of(big))));
  CAF_CHECK_EQUAL(files_in(dir.path / "tmp"), 0u);
  CAF_CHECK_EQUAL(cs.used(), 6u);
  // A chunk already held needs no room; one that fits exactly is taken.
  CAF_CHECK(!cs.put(id_of(small), small));
  auto exact = bytes_of("1234");
  CAF_CHECK(!cs.put(id_of(exact), exact));
  CAF_CHECK_EQUAL(cs.used(), 10u);
  // Reads keep working when full, and removing makes room again.
  CAF_CHECK(cs.get(id_of(small)));
  CAF_REQUIRE(!cs.remove(id_of(small)));
  CAF_CHECK(!cs.put(id_of(big), big));
  // No limit.
  cs.set_capacity(0);
  auto more = bytes_of("more than ten bytes of it");
  CAF_CHECK(!cs.put(id_of(more), more));
}

CAF_TEST(a put into the disk reserve is refused with no_space naming the reserve) {
  auto cs = open_chunks();
  // More than any disk holds: no chunk fits beside it.
  cs.set_disk_reserve(uint64_t{1} << 62);
  auto chunk = bytes_of("a chunk that would eat into the reserve");
  auto err = cs.put(id_of(chunk), chunk);
  CAF_CHECK(code_of(err) == errc::no_space);
  CAF_CHECK(describe(err).find("[storage] reserve") != std::string::npos);
  CAF_MESSAGE(describe(err));
  CAF_CHECK(!cs.has(id_of(chunk)));
  CAF_CHECK_EQUAL(files_in(dir.path / "tmp"), 0u);
  // A byte of reserve leaves the rest of the disk to chunks.
  cs.set_disk_reserve(1);
  CAF_CHECK(!cs.put(id_of(chunk), chunk));
  CAF_CHECK(cs.has(id_of(chunk)));
}

CAF_TEST_FIXTURE_SCOPE_END()

// -- the usage pseudo manifest ----------------------------------------------------------------------

CAF_TEST(node usage travels in a pseudo manifest that no real key can name) {
  node_usage u{123456789012ull, 1ull << 40, 42};
  auto m = node_usage_manifest(u);
  CAF_CHECK(invalid_key_reason(m.key)); // a real key can never be this one
  CAF_CHECK(m.deleted);
  CAF_CHECK(m.chunks.empty());
  // It survives the wire codec.
  byte_buffer buf;
  writer w{buf};
  encode(w, m);
  reader r{buf};
  manifest back;
  decode(r, back);
  CAF_REQUIRE(r.done());
  auto parsed = parse_node_usage(back);
  CAF_REQUIRE(parsed);
  CAF_CHECK_EQUAL(parsed->used, u.used);
  CAF_CHECK_EQUAL(parsed->capacity, u.capacity);
  CAF_CHECK_EQUAL(parsed->chunks, u.chunks);
  // An ordinary manifest is not usage.
  manifest plain;
  plain.key = "k";
  CAF_CHECK(!parse_node_usage(plain));
}
