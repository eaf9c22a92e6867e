#define CAF_SUITE users
#include "tests/unit/test_helpers.hpp"

#include "actors/node_context.hpp"
#include "actors/permissions.hpp"
#include "actors/users.hpp"
#include "common/credential.hpp"
#include "storage/user_registry.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <chrono>
#include <fstream>
#include <string>

// User credentials, the user registry, the permission rules and the users actor.

using namespace dfs;
using dfs::test::temp_dir;
using namespace std::chrono_literals;

namespace {

const std::string node_secret = "the cluster secret, at least thirty-two bytes";

user_record rec(const std::string& name, const std::string& key, uint64_t version,
                bool deleted = false, bool read_only = false, const std::string& prefix = "") {
  return {name, key, read_only, prefix, version, deleted};
}

const std::string key_a = "AAAAAAAAAAAAAAAAAAAA";
const std::string key_b = "BBBBBBBBBBBBBBBBBBBB";

} // namespace

CAF_TEST(secret keys derive from the node secret and the access key alone) {
  auto k = derive_user_secret_key(node_secret, key_a);
  CAF_CHECK_EQUAL(k.size(), 64u);
  CAF_CHECK_EQUAL(k, derive_user_secret_key(node_secret, key_a));
  CAF_CHECK_NOT_EQUAL(k, derive_user_secret_key(node_secret, key_b));
  CAF_CHECK_NOT_EQUAL(k, derive_user_secret_key(node_secret + "x", key_a));
  CAF_CHECK_EQUAL(k, user_secret_key(user_key_root(node_secret), key_a));
  auto fresh = generate_access_key();
  CAF_CHECK(is_valid_access_key(fresh));
  CAF_CHECK_NOT_EQUAL(fresh, generate_access_key());
  CAF_CHECK(!is_valid_access_key("aaaaaaaaaaaaaaaaaaaa"));
  CAF_CHECK(!is_valid_access_key("AAAAAAAAAAAAAAAAAAA1"));
}

CAF_TEST(a credential file round trips and is told apart from a secret) {
  user_credential c{"alice", key_a, derive_user_secret_key(node_secret, key_a)};
  auto text = format_credential(c);
  CAF_CHECK(looks_like_credential(text));
  CAF_CHECK(!looks_like_credential(node_secret));
  CAF_CHECK(!looks_like_credential("dfs-user-credential v10\n"));
  std::string why;
  auto back = parse_credential(text, why);
  CAF_REQUIRE(back);
  CAF_CHECK_EQUAL(back->name, "alice");
  CAF_CHECK_EQUAL(back->access_key, key_a);
  CAF_CHECK_EQUAL(back->secret_key, c.secret_key);
  CAF_CHECK(!parse_credential(text + "extra line\n", why));
  CAF_CHECK(!parse_credential(std::string{credential_format_line} + "\nname alice\n", why));
  CAF_CHECK(!check_user_name("alice.b_c-1"));
  CAF_CHECK(check_user_name(""));
  CAF_CHECK(check_user_name("-x"));
  CAF_CHECK(check_user_name("a/b"));
  CAF_CHECK(check_user_name(std::string(65, 'a')));
}

CAF_TEST(the newest record of a name wins and a tombstone hides the user) {
  user_registry reg;
  CAF_CHECK(reg.merge(rec("alice", key_a, 10)));
  CAF_REQUIRE(reg.by_access_key(key_a));
  CAF_CHECK(!reg.merge(rec("alice", key_a, 10)));          // the same: no change
  CAF_CHECK(!reg.merge(rec("alice", key_a, 9, true)));     // older: ignored
  CAF_CHECK(reg.by_access_key(key_a));
  CAF_CHECK(reg.merge(rec("alice", key_a, 10, true)));     // a tombstone wins a tie
  CAF_CHECK(!reg.by_access_key(key_a));
  CAF_REQUIRE(reg.by_name("alice"));
  CAF_CHECK(reg.by_name("alice")->deleted);
  CAF_CHECK(!reg.merge(rec("alice", key_a, 10)));          // cannot come back at that version
  CAF_CHECK(reg.merge(rec("alice", key_b, 11)));           // re-added with a new key
  CAF_CHECK(!reg.by_access_key(key_a));
  CAF_CHECK(reg.by_access_key(key_b));
  CAF_CHECK(!reg.merge(rec("bad/name", key_a, 1)));
  CAF_CHECK(!reg.merge(rec("carol", "short", 1)));
  CAF_CHECK_EQUAL(reg.size(), 1u);
}

CAF_TEST(the registry survives a restart and a damaged file is refused) {
  temp_dir dir;
  user_registry reg;
  reg.merge(rec("alice", key_a, 10, false, true, "photos/"));
  reg.merge(rec("bob", key_b, 11, true));
  CAF_REQUIRE(!save_user_registry(dir.path.string(), reg));
  auto back = load_user_registry(dir.path.string());
  CAF_REQUIRE(back);
  CAF_CHECK_EQUAL(back->size(), 2u);
  auto alice = back->by_access_key(key_a);
  CAF_REQUIRE(alice);
  CAF_CHECK(alice->read_only);
  CAF_CHECK_EQUAL(alice->prefix, "photos/");
  CAF_CHECK(back->by_name("bob")->deleted);
  // A temporary left by a save that a crash interrupted is removed when the registry loads.
  auto leftover = dir.path / "users.tmp.abc123";
  std::ofstream{leftover} << "half a registry";
  CAF_CHECK(load_user_registry(dir.path.string()));
  CAF_CHECK(!std::filesystem::exists(leftover));
  // Nothing there yet: an empty registry.
  temp_dir empty;
  CAF_CHECK_EQUAL(load_user_registry(empty.path.string())->size(), 0u);
  // A cut file is refused, not half read.
  auto path = user_registry_path(dir.path.string());
  std::filesystem::resize_file(path, std::filesystem::file_size(path) - 3);
  auto cut = load_user_registry(dir.path.string());
  CAF_REQUIRE(!cut);
  CAF_CHECK(code_of(cut.error()) == errc::corrupt);
}

CAF_TEST(permissions follow the record) {
  auto ro = rec("alice", key_a, 1, false, true, "photos/");
  auto rw = rec("bob", key_b, 1, false, false, "team/");
  // The node secret: everything.
  for (auto t : {frame_type::put_begin, frame_type::rm, frame_type::decommission,
                 frame_type::user_add, frame_type::user_rm, frame_type::user_ls})
    CAF_CHECK(!refusal(nullptr, t, "any"));
  CAF_CHECK(refusal(&ro, frame_type::put_begin, "photos/a"));
  CAF_CHECK(!refusal(&ro, frame_type::get, "photos/a"));
  CAF_CHECK(refusal(&ro, frame_type::get, "team/a"));
  CAF_CHECK(!refusal(&ro, frame_type::status, ""));
  CAF_CHECK(!refusal(&rw, frame_type::put_begin, "team/a"));
  CAF_CHECK(!refusal(&rw, frame_type::rm, "team/a"));
  CAF_CHECK_EQUAL(refusal(&rw, frame_type::put_begin, "photos/a").value_or(""),
                  "permission denied: key photos/a is outside user bob's prefix team/");
  CAF_CHECK_EQUAL(refusal(&rw, frame_type::user_add, "").value_or(""),
                  "permission denied: managing users needs the node secret, and user bob holds "
                  "a user credential");
  CAF_CHECK(refusal(&rw, frame_type::decommission, "n1"));
  CAF_CHECK_EQUAL(narrowed_ls_prefix(&rw, "").value_or("?"), "team/");
  CAF_CHECK_EQUAL(narrowed_ls_prefix(&rw, "team/x").value_or("?"), "team/x");
  CAF_CHECK(!narrowed_ls_prefix(&rw, "photos/"));
  CAF_CHECK_EQUAL(narrowed_ls_prefix(nullptr, "photos/").value_or("?"), "photos/");
}

namespace {

/// A real actor system with a users actor on a fresh data_dir.
struct users_fixture {
  temp_dir dir;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor test{sys};
  std::shared_ptr<node_context> ctx = std::make_shared<node_context>();
  caf::actor actor;

  users_fixture() {
    ctx->config.data_dir = dir.path.string();
    actor = sys.spawn(users, node_context_ptr{ctx}, user_registry{});
  }
  ~users_fixture() { test->send_exit(actor, caf::exit_reason::user_shutdown); }

  /// The answer of type T to a request, or its error.
  template <class T, class... Ts>
  caf::expected<T> ask(Ts&&... xs) {
    caf::expected<T> result{caf::error{}};
    test->request(actor, 10s, std::forward<Ts>(xs)...)
      .receive([&](T& answer) { result = std::move(answer); },
               [&](caf::error& err) { result = std::move(err); });
    return result;
  }
};

} // namespace

CAF_TEST_FIXTURE_SCOPE(users_actor_tests, users_fixture)

CAF_TEST(add and rm change the directory and the file and reach every peer link) {
  test->send(actor, users_link_atom::value, caf::actor{test});
  std::vector<user_record> pushed;
  test->receive([&](users_atom, std::vector<user_record>& r) { pushed = std::move(r); });
  CAF_CHECK(pushed.empty()); // the whole (empty) registry for a new link
  auto added = ask<user_record>(user_add_atom::value, user_add_msg{"alice", true, "photos/"});
  CAF_REQUIRE(added);
  auto made = *added;
  CAF_CHECK(is_valid_access_key(made.access_key));
  CAF_CHECK(ctx->users_directory->lookup(made.access_key));
  test->receive([&](users_atom, std::vector<user_record>& r) { pushed = std::move(r); });
  CAF_REQUIRE_EQUAL(pushed.size(), 1u);
  CAF_CHECK_EQUAL(pushed[0].name, "alice");
  CAF_CHECK(!ask<user_record>(user_add_atom::value, user_add_msg{"alice", false, ""}));
  CAF_CHECK(load_user_registry(dir.path.string())->by_access_key(made.access_key));
  CAF_REQUIRE(ask<caf::ok_atom>(user_rm_atom::value, std::string{"alice"}));
  CAF_CHECK(!ctx->users_directory->lookup(made.access_key));
  test->receive([&](users_atom, std::vector<user_record>& r) { pushed = std::move(r); });
  CAF_REQUIRE_EQUAL(pushed.size(), 1u);
  CAF_CHECK(pushed[0].deleted);
  CAF_CHECK(!load_user_registry(dir.path.string())->by_access_key(made.access_key));
  auto missing = ask<caf::ok_atom>(user_rm_atom::value, std::string{"alice"});
  CAF_REQUIRE(!missing);
  CAF_CHECK(code_of(missing.error()) == errc::not_found);
}

CAF_TEST(records from a peer are merged kept and passed on) {
  test->send(actor, users_link_atom::value, caf::actor{test});
  test->receive([&](users_atom, std::vector<user_record>&) {});
  test->send(actor, users_atom::value,
             std::vector<user_record>{rec("bob", key_b, 5), rec("bad/name", key_a, 5)});
  std::vector<user_record> pushed;
  test->receive([&](users_atom, std::vector<user_record>& r) { pushed = std::move(r); });
  CAF_REQUIRE_EQUAL(pushed.size(), 1u); // the unfit record is dropped
  CAF_CHECK(ctx->users_directory->lookup(key_b));
  CAF_CHECK(load_user_registry(dir.path.string())->by_access_key(key_b));
  // Old news changes nothing and goes nowhere.
  test->send(actor, users_atom::value, std::vector<user_record>{rec("bob", key_b, 4, true)});
  bool quiet = false;
  test->receive([&](users_atom, std::vector<user_record>&) {}, caf::after(200ms) >> [&] { quiet = true; });
  CAF_CHECK(quiet);
  CAF_CHECK(ctx->users_directory->lookup(key_b));
  auto listed = ask<user_list_msg>(user_ls_atom::value);
  CAF_REQUIRE(listed);
  CAF_CHECK_EQUAL(listed->records.size(), 1u);
}

CAF_TEST_FIXTURE_SCOPE_END()
