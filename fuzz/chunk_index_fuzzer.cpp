// The chunk store's index (storage/chunk_index.hpp, storage/chunk_store.hpp): what the store
// rebuilds from the directory tree data_dir/chunks/ab/cd/<64 hex> when it opens, and the
// compact set it keeps in memory afterwards.
//
// Input: [mode] rest...
//   mode % 2 == 0  rest is a sequence of operations on a chunk_index (insert, erase, contains,
//                  runs of inserts and erasures that force compactions, assign with duplicates),
//                  checked against a std::set after every step
//   mode % 2 == 1  rest describes entries of a chunks/ tree (files with right and wrong names,
//                  directories, symlinks, stray files where fan-out directories belong); the
//                  store opens it, and a walk with std::filesystem says what it must have found
//
// Invariants: the index answers like a std::set and lists its ids sorted and unique; open()
// succeeds on any tree (but one with a stray file where a fan-out directory belongs, which it
// refuses with an I/O error), indexes exactly the regular files whose path is the path of their id,
// counts their bytes, and afterwards get() quarantines a file whose bytes do not match its
// name (forgetting it and its bytes), put() adds a chunk, and a second open() agrees.
#include "common/error.hpp"
#include "fuzz/fuzz_common.hpp"
#include "storage/chunk_index.hpp"
#include "storage/chunk_store.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace dfs;
using dfs::fuzz::byte_source;

namespace {

constexpr size_t pool_size = 4096;

const std::vector<chunk_id>& pool() {
  static const std::vector<chunk_id> ids = [] {
    std::vector<chunk_id> out;
    for (size_t i = 0; i < pool_size; ++i) {
      auto text = std::to_string(i);
      out.push_back(chunk_id::of(text.data(), text.size()));
    }
    return out;
  }();
  return ids;
}

const chunk_id& pick(byte_source& in) { return pool()[in.u16() % pool_size]; }

// -- mode 0: the in-memory index ------------------------------------------------------------

void check_same(const chunk_index& index, const std::set<chunk_id>& model) {
  FUZZ_CHECK(index.size() == model.size());
  FUZZ_CHECK(index.empty() == model.empty());
  auto sorted = index.sorted();
  FUZZ_CHECK(sorted.size() == model.size());
  FUZZ_CHECK(std::equal(sorted.begin(), sorted.end(), model.begin()));
}

void index_operations(byte_source& in) {
  chunk_index index;
  std::set<chunk_id> model;
  for (int step = 0; step < 4096 && !in.empty(); ++step) {
    switch (in.u8() % 7) {
      case 0: {
        auto& id = pick(in);
        FUZZ_CHECK(index.insert(id) == model.insert(id).second);
        break;
      }
      case 1: {
        auto& id = pick(in);
        FUZZ_CHECK(index.erase(id) == (model.erase(id) > 0));
        break;
      }
      case 2: {
        auto& id = pick(in);
        FUZZ_CHECK(index.contains(id) == (model.count(id) > 0));
        break;
      }
      case 3:
      case 4: {
        bool insert = in.u8() & 1;
        size_t start = in.u16() % pool_size;
        size_t len = in.u8() * 4u;
        for (size_t i = start; i < std::min(pool_size, start + len); ++i) {
          auto& id = pool()[i];
          if (insert)
            FUZZ_CHECK(index.insert(id) == model.insert(id).second);
          else
            FUZZ_CHECK(index.erase(id) == (model.erase(id) > 0));
        }
        break;
      }
      case 5: {
        size_t start = in.u16() % pool_size;
        size_t len = in.u8() * 8u;
        size_t step_by = 1 + in.u8() % 3;
        std::vector<chunk_id> ids;
        for (size_t i = start; i < std::min(pool_size, start + len); i += step_by) {
          ids.push_back(pool()[i]);
          if (i % 5 == 0)
            ids.push_back(pool()[i]); // duplicates are allowed
        }
        std::reverse(ids.begin(), ids.end());
        model = std::set<chunk_id>(ids.begin(), ids.end());
        index.assign(std::move(ids));
        break;
      }
      default:
        check_same(index, model);
    }
    FUZZ_CHECK(index.size() == model.size());
  }
  check_same(index, model);
}

// -- mode 1: the tree the store indexes at start ----------------------------------------------

std::string safe_name(std::string s) {
  // A single path component, never "." or "..", never hidden (the store skips dot files, and so
  // does the reference walk), never empty.
  for (auto& c : s)
    if (c == '/' || c == '\0' || c == '.')
      c = '_';
  return s.empty() ? "_" : s;
}

std::string fanout_variant(const std::string& right, uint8_t how, byte_source& in) {
  switch (how & 3) {
    case 0: return right;
    case 1: {
      auto up = right;
      for (auto& c : up)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
      return up == right ? right + "0" : up;
    }
    case 2: return safe_name(in.str(3));
    default: return right + "x";
  }
}

bool is_lower_hex(const std::string& s, size_t n) {
  if (s.size() != n)
    return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

struct found {
  std::vector<chunk_id> ids;
  uint64_t bytes = 0;
  bool stray_fanout = false; // a file named like a fan-out directory (chunks/ab or chunks/ab/cd)
};

/// What the store must index: regular files (not symlinks) at ab/cd/<abcd...64 hex>.
found reference_walk(const fs::path& root) {
  found out;
  std::error_code ec;
  for (auto& ab : fs::directory_iterator{root, ec}) {
    auto ab_name = ab.path().filename().string();
    if (is_lower_hex(ab_name, 2) && !ab.is_directory())
      out.stray_fanout = true;
    if (!is_lower_hex(ab_name, 2) || !ab.is_directory() || ab.is_symlink())
      continue;
    for (auto& cd : fs::directory_iterator{ab.path(), ec}) {
      auto cd_name = cd.path().filename().string();
      if (is_lower_hex(cd_name, 2) && !cd.is_directory())
        out.stray_fanout = true;
      if (!is_lower_hex(cd_name, 2) || !cd.is_directory() || cd.is_symlink())
        continue;
      for (auto& f : fs::directory_iterator{cd.path(), ec}) {
        auto name = f.path().filename().string();
        if (!is_lower_hex(name, 64) || name.compare(0, 2, ab_name) != 0
            || name.compare(2, 2, cd_name) != 0 || !f.is_regular_file() || f.is_symlink())
          continue;
        chunk_id id;
        FUZZ_CHECK(from_hex(name, id.bytes.data(), id.bytes.size()));
        out.ids.push_back(id);
        out.bytes += fs::file_size(f.path());
      }
    }
  }
  std::sort(out.ids.begin(), out.ids.end());
  return out;
}

void write_bytes(const fs::path& p, const std::string& bytes) {
  std::ofstream out{p, std::ios::binary | std::ios::trunc};
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void store_tree(byte_source& in) {
  auto dir = dfs::fuzz::scratch_dir() / "chunk-store";
  dfs::fuzz::reset_dir(dir);
  auto root = dir / "chunks";
  fs::create_directories(root);
  std::error_code ec;
  int entries = 1 + in.u8() % 12;
  for (int i = 0; i < entries && !in.empty(); ++i) {
    auto& id = pick(in);
    auto hex = id.hex();
    auto shape = in.u8();
    auto ab = fanout_variant(hex.substr(0, 2), shape, in);
    auto cd = fanout_variant(hex.substr(2, 2), shape >> 2, in);
    std::string leaf;
    switch ((shape >> 4) & 3) {
      case 0: leaf = hex; break;
      case 1: leaf = pool()[(in.u16() + 1) % pool_size].hex(); break; // another id's name
      case 2: leaf = hex.substr(0, 63 - in.u8() % 4); break;
      default: leaf = safe_name(in.str(70)); break;
    }
    auto content = in.str();
    switch (shape >> 6) {
      case 0: // a file
        fs::create_directories(root / ab / cd, ec);
        write_bytes(root / ab / cd / leaf, content);
        break;
      case 1: // a directory where a file may belong
        fs::create_directories(root / ab / cd / leaf, ec);
        break;
      case 2: { // a symlink to a file
        fs::create_directories(root / ab / cd, ec);
        auto target = dir / ("target-" + std::to_string(i));
        write_bytes(target, content);
        fs::create_symlink(target, root / ab / cd / leaf, ec);
        break;
      }
      default: // a stray file where a fan-out directory belongs
        if (in.u8() & 1) {
          write_bytes(root / ab, content);
        } else {
          fs::create_directories(root / ab, ec);
          write_bytes(root / ab / cd, content);
        }
        break;
    }
  }

  auto expected = reference_walk(root);
  auto st = chunk_store::open(dir.string());
  if (expected.stray_fanout && !st) {
    // Today the store refuses to open with an I/O error naming the stray file ("cannot list
    // directory ...: Not a directory") rather than skipping it; see fuzz/README.md.
    FUZZ_CHECK(code_of(st.error()) == errc::io_error);
    return;
  }
  FUZZ_CHECK(st);
  FUZZ_CHECK(st->count() == expected.ids.size());
  FUZZ_CHECK(st->used() == expected.bytes);
  auto listed = st->list();
  FUZZ_CHECK(listed && *listed == expected.ids);
  for (auto& id : expected.ids) {
    FUZZ_CHECK(st->has(id));
    FUZZ_CHECK(fs::is_regular_file(st->path_of(id)));
  }

  // A file whose bytes do not hash to its name is quarantined and forgotten, bytes and all.
  auto count = st->count();
  auto used = st->used();
  for (auto& id : expected.ids) {
    auto size = fs::file_size(st->path_of(id));
    auto got = st->get(id);
    if (got) {
      FUZZ_CHECK(chunk_id::of(got->data(), got->size()) == id);
      continue;
    }
    FUZZ_CHECK(code_of(got.error()) == errc::corrupt);
    FUZZ_CHECK(!st->has(id));
    FUZZ_CHECK(!fs::exists(st->path_of(id)));
    FUZZ_CHECK(st->count() == --count);
    FUZZ_CHECK(st->used() == (used -= size));
  }

  // A real chunk goes in, and a second open() sees what the first one holds.
  auto text = in.str();
  byte_buffer chunk(text.begin(), text.end());
  auto cid = chunk_id::of(chunk.data(), chunk.size());
  bool had = st->has(cid);
  // Junk squatting on the chunk's path (a directory, or a file where a fan-out directory
  // belongs) makes the put fail with an I/O error that names the path; anything else succeeds.
  bool blocked = false;
  auto target = fs::path{st->path_of(cid)};
  if (fs::is_symlink(fs::symlink_status(target, ec)))
    return; // put() follows it and adopts the file behind it; open() does not: left alone here
  if (fs::exists(fs::symlink_status(target, ec)) && !fs::is_regular_file(fs::symlink_status(target, ec)))
    blocked = true;
  for (auto p = target.parent_path(); p != root.parent_path(); p = p.parent_path())
    if (fs::exists(fs::symlink_status(p, ec)) && !fs::is_directory(fs::symlink_status(p, ec)))
      blocked = true;
  auto err = st->put(cid, chunk);
  if (blocked && !had) {
    FUZZ_CHECK(err && code_of(err) == errc::io_error);
    return;
  }
  FUZZ_CHECK(!err);
  FUZZ_CHECK(st->has(cid) && st->count() == count + (had ? 0 : 1));
  auto again = chunk_store::open(dir.string());
  FUZZ_CHECK(again);
  FUZZ_CHECK(again->count() == st->count() && again->used() == st->used());
  FUZZ_CHECK(*again->list() == *st->list());
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dfs::fuzz::quiet_log();
  pool();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  byte_source in{data + 1, size - 1};
  if (data[0] % 2 == 0)
    index_operations(in);
  else
    store_tree(in);
  return 0;
}
