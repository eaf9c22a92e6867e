#define CAF_SUITE write_batch
#include "tests/unit/test_helpers.hpp"

#include "common/error.hpp"
#include "storage/write_batch.hpp"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

using namespace dfs;
namespace fs = std::filesystem;

namespace {

struct fixture {
  test::temp_dir dir;
  std::string tmp = (dir.path / "tmp").string();
  std::vector<std::string> events; // "durable NAME" / "failed NAME", in the order they ran

  fixture() { fs::create_directories(tmp); }

  std::string target(const std::string& name) const { return (dir.path / "files" / name).string(); }

  caf::error stage(write_batch& batch, const std::string& name, const std::string& text,
                   page_cache cache = page_cache::use) {
    return batch.stage(tmp, "t", target(name), text.data(), text.size(), cache,
                       [this, name] { events.push_back("durable " + name); },
                       [this, name] { events.push_back("failed " + name); });
  }

  std::string read(const std::string& name) const {
    std::ifstream in{target(name), std::ios::binary};
    return {std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{}};
  }

  size_t temporaries() const { return test::files_in(tmp); }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(write_batch_tests, fixture)

CAF_TEST(staged files appear under their names only at commit then run on_durable in order) {
  write_batch batch{dir.path.string()};
  CAF_CHECK(!stage(batch, "a", "first"));
  CAF_CHECK(!stage(batch, "b", "second", page_cache::bypass));
  CAF_CHECK_EQUAL(batch.size(), 2u);
  CAF_CHECK_EQUAL(temporaries(), 2u);
  CAF_CHECK(!fs::exists(target("a"))); // its directory does not even exist yet
  CAF_CHECK(events.empty());
  CAF_CHECK(!batch.commit());
  CAF_CHECK(batch.empty());
  CAF_CHECK_EQUAL(read("a"), "first");
  CAF_CHECK_EQUAL(read("b"), "second");
  CAF_CHECK_EQUAL(temporaries(), 0u);
  CAF_CHECK_EQUAL(events, (std::vector<std::string>{"durable a", "durable b"}));
  // An empty batch commits as a no-op.
  CAF_CHECK(!batch.commit());
  CAF_CHECK_EQUAL(events.size(), 2u);
}

CAF_TEST(a later staging of the same name wins) {
  write_batch batch{dir.path.string()};
  CAF_CHECK(!stage(batch, "a", "old"));
  CAF_CHECK(!stage(batch, "a", "new"));
  CAF_CHECK(!batch.commit());
  CAF_CHECK_EQUAL(read("a"), "new");
  CAF_CHECK_EQUAL(events, (std::vector<std::string>{"durable a", "durable a"}));
}

CAF_TEST(an aborted batch leaves nothing and runs on_failed for each file) {
  {
    write_batch batch{dir.path.string()};
    CAF_CHECK(!stage(batch, "a", "first"));
    CAF_CHECK(!stage(batch, "b", "second"));
    batch.abort();
    CAF_CHECK(batch.empty());
    CAF_CHECK_EQUAL(events, (std::vector<std::string>{"failed a", "failed b"}));
    CAF_CHECK(!stage(batch, "c", "dropped with the batch"));
  } // the destructor aborts what is still staged
  CAF_CHECK_EQUAL(events.back(), "failed c");
  CAF_CHECK_EQUAL(temporaries(), 0u);
  CAF_CHECK(!fs::exists(target("a")) && !fs::exists(target("c")));
}

CAF_TEST(a rename that fails fails the whole batch and names the target) {
  write_batch batch{dir.path.string()};
  // A directory where the second file should go: its rename fails (EISDIR).
  fs::create_directories(fs::path{target("b")} / "in the way");
  CAF_CHECK(!stage(batch, "a", "first"));
  CAF_CHECK(!stage(batch, "b", "second"));
  CAF_CHECK(!stage(batch, "c", "third"));
  auto err = batch.commit();
  CAF_REQUIRE(err);
  CAF_CHECK(code_of(err) == errc::io_error);
  CAF_CHECK_NOT_EQUAL(describe(err).find(target("b")), std::string::npos);
  // No file of the batch counts as written, and no temporary stays behind.
  CAF_CHECK_EQUAL(events, (std::vector<std::string>{"failed a", "failed b", "failed c"}));
  CAF_CHECK(batch.empty());
  CAF_CHECK_EQUAL(temporaries(), 0u);
  CAF_CHECK(!fs::exists(target("c")));
}

CAF_TEST(a temporary that cannot be created is an error at once) {
  write_batch batch{dir.path.string()};
  auto err = batch.stage((dir.path / "no such dir").string(), "t", target("a"), "x", 1,
                         page_cache::use, nullptr, nullptr);
  CAF_CHECK(err);
  CAF_CHECK(batch.empty());
}

CAF_TEST_FIXTURE_SCOPE_END()
