#define CAF_SUITE storage_config
#include "tests/unit/test_helpers.hpp"

#include "config/node_config.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace dfs;
namespace fs = std::filesystem;

namespace {

// The [storage] keys of this suite: capacity, scrub_interval, scrub_rate.
struct fixture {
  test::temp_dir tmp;

  std::string path(const std::string& name) const { return (tmp.path / name).string(); }

  void write(const std::string& name, const std::string& text) const {
    std::ofstream out(path(name), std::ios::binary);
    out << text;
  }

  fixture() {
    write("secret", std::string(64, 'a') + "\n");
  }

  config_outcome run_ini(const std::string& storage, std::vector<std::string> extra = {}) const {
    write("node.ini", "[node]\nname = n1\nlisten = 127.0.0.1:7001\ndata_dir = data\n"
                      "[cluster]\nsecret_file = secret\n"
                        + (storage.empty() ? std::string{} : "[storage]\n" + storage));
    std::vector<std::string> args{"dfs-node", "--config", path("node.ini")};
    args.insert(args.end(), extra.begin(), extra.end());
    std::vector<const char*> argv;
    for (auto& a : args)
      argv.push_back(a.c_str());
    argv.push_back(nullptr);
    return parse_node_config(static_cast<int>(args.size()), argv.data());
  }
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

} // namespace

CAF_TEST_FIXTURE_SCOPE(storage_config_tests, fixture)

CAF_TEST(the defaults are no capacity limit and a daily scrub at 32 MiB per second) {
  auto out = run_ini("");
  CAF_REQUIRE(out.kind == config_outcome::run);
  CAF_CHECK_EQUAL(out.config.capacity, 0u);
  CAF_CHECK_EQUAL(out.config.scrub_interval.count(), 86400);
  CAF_CHECK_EQUAL(out.config.scrub_rate, 32u * 1024 * 1024);
}

CAF_TEST(capacity and scrub settings take sizes and seconds) {
  auto out = run_ini("capacity = 10GiB\nscrub_interval = 0\nscrub_rate = 500KB\n");
  CAF_REQUIRE(out.kind == config_outcome::run);
  CAF_CHECK_EQUAL(out.config.capacity, 10ull << 30);
  CAF_CHECK_EQUAL(out.config.scrub_interval.count(), 0);
  CAF_CHECK_EQUAL(out.config.scrub_rate, 500000u);
  // The command line wins.
  out = run_ini("capacity = 1GiB\n", {"--storage.capacity", "0", "--storage.scrub_interval", "60"});
  CAF_REQUIRE(out.kind == config_outcome::run);
  CAF_CHECK_EQUAL(out.config.capacity, 0u);
  CAF_CHECK_EQUAL(out.config.scrub_interval.count(), 60);
}

CAF_TEST(bad storage values name their key) {
  struct {
    const char* ini;
    const char* named;
  } cases[] = {
    {"capacity = lots\n", "[storage] capacity = lots"},
    {"capacity = -1\n", "[storage] capacity = -1"},
    {"scrub_interval = 1h\n", "[storage] scrub_interval = 1h"},
    {"scrub_interval = 99999999999\n", "[storage] scrub_interval"},
    {"scrub_rate = fast\n", "[storage] scrub_rate = fast"},
  };
  for (auto& c : cases) {
    auto out = run_ini(c.ini);
    CAF_CHECK(out.kind == config_outcome::error);
    if (!contains(out.text, c.named))
      CAF_FAIL("error for '" << c.ini << "' does not name '" << c.named << "': " << out.text);
  }
}

CAF_TEST(help lists the storage keys with their defaults) {
  std::vector<const char*> argv{"dfs-node", "--help", nullptr};
  auto out = parse_node_config(2, argv.data());
  CAF_REQUIRE(out.kind == config_outcome::help);
  for (auto part : {"capacity     = 0", "scrub_interval = 86400", "scrub_rate   = 32MiB",
                    "anti_entropy_interval = 10"})
    if (!contains(out.text, part))
      CAF_FAIL("help text lacks '" << part << "'");
}

CAF_TEST_FIXTURE_SCOPE_END()
