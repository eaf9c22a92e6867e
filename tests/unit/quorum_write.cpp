#define CAF_SUITE quorum_write
#include "tests/unit/test_helpers.hpp"

#include "actors/quorum_write.hpp"
#include "common/error.hpp"
#include "common/manifest.hpp"

#include <optional>
#include <string>
#include <vector>

using namespace dfs;

namespace {

/// A quorum write with no actor: the requests it sends wait in `sent` until the test answers.
struct fixture {
  struct request {
    std::string to;
    caf::message what;
    std::function<void()> ok;
    std::function<void(caf::error&)> error;
  };
  std::vector<request> sent;
  quorum_writer writer{"test write", "local",
                       [this](const member_view& m, const caf::message& what,
                              std::function<void()> ok, std::function<void(caf::error&)> error) {
                         sent.push_back({m.node_id, what, std::move(ok), std::move(error)});
                       }};

  // What the item's callbacks saw.
  std::vector<std::string> stored;
  size_t quorums = 0;
  std::optional<size_t> settled; // copies
  std::optional<caf::error> failed;
  std::optional<version> superseded;

  static std::vector<member_view> ranking(std::initializer_list<const char*> ids) {
    std::vector<member_view> out;
    for (auto id : ids)
      out.push_back({id, std::string{"name-"} + id, "", member_state::up, caf::actor{}});
    return out;
  }

  quorum_item item(std::vector<member_view> members, size_t replicas, size_t needed) {
    quorum_item it;
    it.ranking = std::move(members);
    it.replicas = replicas;
    it.needed = needed;
    it.request = caf::make_message(std::string{"remote"});
    it.on_stored = [this](const member_view& m) { stored.push_back(m.node_id); };
    it.on_quorum = [this] { ++quorums; };
    it.on_settled = [this](size_t copies, caf::message&) { settled = copies; };
    it.on_failed = [this](const caf::error& err) { failed = err; };
    return it;
  }

  void answer_ok(size_t i) { sent.at(i).ok(); }
  void answer(size_t i, caf::error err) { sent.at(i).error(err); }

  /// Who the requests from the `first`th on went to.
  std::vector<std::string> sent_to(size_t first = 0) const {
    std::vector<std::string> out;
    for (size_t i = first; i < sent.size(); ++i)
      out.push_back(sent[i].to);
    return out;
  }
};

using ids = std::vector<std::string>;

} // namespace

CAF_TEST_FIXTURE_SCOPE(quorum_write_tests, fixture)

CAF_TEST(an item goes to the first R of its ranking and settles once all have answered) {
  writer.write(item(ranking({"a", "b", "c", "d"}), 3, 2));
  CAF_CHECK(sent_to() == ids({"a", "b", "c"}));
  answer_ok(0);
  CAF_CHECK_EQUAL(quorums, 0u);
  answer_ok(2);
  CAF_CHECK_EQUAL(quorums, 1u); // at W
  CAF_CHECK(!settled);           // not before every replica has answered
  answer_ok(1);
  CAF_CHECK_EQUAL(quorums, 1u);
  CAF_REQUIRE(settled);
  CAF_CHECK_EQUAL(*settled, 3u);
  CAF_CHECK(stored == ids({"a", "c", "b"}));
  CAF_CHECK(!failed);
}

CAF_TEST(a full member is replaced by the next and skipped for later items) {
  writer.write(item(ranking({"a", "b", "c"}), 2, 2));
  answer(0, make_error(errc::no_space, "disk nearly full"));
  CAF_CHECK(sent_to() == ids({"a", "b", "c"})); // c took a's place
  answer_ok(1);
  answer_ok(2);
  CAF_REQUIRE(settled);
  CAF_CHECK_EQUAL(*settled, 2u);
  // The next item of the same operation does not ask a again.
  settled.reset();
  writer.write(item(ranking({"a", "b", "c"}), 2, 2));
  CAF_CHECK(sent_to(3) == ids({"b", "c"}));
}

CAF_TEST(too few members with room fail the item naming the full ones) {
  writer.write(item(ranking({"a", "b"}), 2, 2));
  answer(0, make_error(errc::no_space, "disk nearly full"));
  answer_ok(1);
  CAF_CHECK(!settled);
  CAF_REQUIRE(failed);
  CAF_CHECK(code_of(*failed) == errc::no_space);
  CAF_CHECK_EQUAL(describe(*failed), "no space on node name-a: disk nearly full (only 1 of 2 "
                                     "required replicas reachable)");
}

CAF_TEST(a failed member gives up its other requests and is not asked again) {
  writer.write(item(ranking({"a", "b", "c"}), 2, 1)); // request 0 to a, 1 to b
  writer.write(item(ranking({"a", "b", "c"}), 2, 1)); // request 2 to a, 3 to b
  answer(1, make_error(errc::unavailable, "connection lost"));
  CAF_CHECK(writer.failed_nodes().count("b") == 1);
  // Request 3 (b, second item) counts as failed at once; the items settle on a's answers.
  answer_ok(0);
  answer_ok(2);
  CAF_REQUIRE(settled);
  CAF_CHECK_EQUAL(*settled, 1u);
  answer_ok(3); // b's late answer changes nothing
  CAF_CHECK_EQUAL(*settled, 1u);
  writer.write(item(ranking({"a", "b", "c"}), 2, 1));
  CAF_CHECK(sent_to(4) == ids({"a", "c"}));
  CAF_CHECK(sent.size() == 6u);
  CAF_CHECK(!failed);
}

CAF_TEST(a newer version on a replica hands the write back once all have answered) {
  auto it = item(ranking({"a", "b"}), 2, 2);
  it.on_superseded = [this](const version& v) { superseded = v; };
  writer.write(std::move(it));
  version v{42, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"};
  answer(0, superseded_error("k", v));
  CAF_CHECK(!superseded);
  answer_ok(1);
  CAF_REQUIRE(superseded);
  CAF_CHECK(*superseded == v);
  CAF_CHECK(!settled);
  CAF_CHECK(!failed);
  CAF_CHECK(writer.failed_nodes().empty()); // not a failure of the member
}

CAF_TEST(the local member gets the local request) {
  auto it = item(ranking({"a", "local"}), 2, 2);
  it.local_request = caf::make_message(std::string{"local"});
  writer.write(std::move(it));
  CAF_CHECK_EQUAL(sent.at(0).what.get_as<std::string>(0), "remote");
  CAF_CHECK_EQUAL(sent.at(1).what.get_as<std::string>(0), "local");
}

CAF_TEST(an item with no member to go to settles at once with no copies) {
  writer.write(item({}, 0, 0));
  CAF_CHECK(settled && *settled == 0u);
  CAF_CHECK(!failed);
}

CAF_TEST_FIXTURE_SCOPE_END()
