#define CAF_SUITE coordinator
#include "tests/unit/test_helpers.hpp"
#include "tests/unit/one_node.hpp"

#include "actors/coordinator.hpp"
#include "common/error.hpp"
#include "common/wall_clock.hpp"

#include <chrono>

using namespace dfs;
using namespace std::chrono_literals;

namespace {

// The coordinator of a node alone in its cluster, with a real store.
struct fixture : test::one_node {
  caf::scoped_actor self{sys};
  coordinator_actor coord = sys.spawn(coordinator, node_context_ptr{ctx});

  ~fixture() { self->send_exit(coord, caf::exit_reason::user_shutdown); }

  version removed; // what the last successful rm answered

  caf::error rm(const std::string& key) {
    caf::error out;
    self->send(coord, rm_atom::value, key); // the answer arrives as an ordinary message
    answer_membership();
    self->receive([&](version& v) { removed = std::move(v); },
                  [&](caf::error& e) { out = std::move(e); },
                  caf::after(10s) >> [&] { out = make_error(errc::timeout, "no answer to rm"); });
    return out;
  }

  manifest stored(const std::string& key) {
    manifest out;
    self->request(st, 10s, get_manifest_atom::value, key)
      .receive([&](manifest& m) { out = std::move(m); }, [](caf::error& e) { CAF_FAIL(describe(e)); });
    return out;
  }
};

manifest empty_file_manifest(const std::string& key, version v) {
  manifest m;
  m.key = key;
  m.version = std::move(v);
  return m; // an empty file: no chunks, nothing inline
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(coordinator_tests, fixture)

CAF_TEST(rm writes its tombstone again above a newer version it had not seen) {
  // Another node wrote k with its clock 30 s ahead of this one (within max_clock_skew), and
  // this node's clock has not seen that version. Before, the store answered ok while it kept
  // the file: rm was acknowledged and the file stayed.
  version ahead{wall_clock_ms() + 30'000, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"};
  hold(empty_file_manifest("k", ahead));
  auto err = rm("k");
  CAF_REQUIRE_EQUAL(describe(err), "no error");
  auto m = stored("k");
  CAF_CHECK(m.deleted);
  CAF_CHECK(ahead < m.version);
  CAF_CHECK_EQUAL(m.version.node_id, node_id);
  // rm answers the version it wrote last, the one the store acknowledged, not its first try.
  CAF_CHECK_EQUAL(removed.to_string(), m.version.to_string());
}

CAF_TEST(rm fails and says why when the newest version is far ahead of its clock) {
  store_accepts_versions_ahead(2h);
  version far{wall_clock_ms() + 3'600'000, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"};
  hold(empty_file_manifest("k", far));
  auto err = rm("k");
  CAF_CHECK(code_of(err) == errc::clock_skew);
  CAF_MESSAGE(describe(err));
  auto m = stored("k");
  CAF_CHECK(!m.deleted);
  CAF_CHECK(m.version == far);
}

CAF_TEST_FIXTURE_SCOPE_END()
