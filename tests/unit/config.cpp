#define CAF_SUITE config
#include "tests/unit/test_helpers.hpp"

#include "config/node_config.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

using namespace dfs;
namespace fs = std::filesystem;

namespace {

// 64 characters, as a key generator writing 32 random bytes in hex would produce.
const std::string hex_secret = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::string kind_name(config_outcome::kind_t kind) {
  switch (kind) {
    case config_outcome::run: return "run";
    case config_outcome::help: return "help";
    case config_outcome::version: return "version";
    case config_outcome::error: return "error";
  }
  return "?";
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Changes the working directory for one test and restores it afterwards.
struct cwd_guard {
  fs::path saved = fs::current_path();
  explicit cwd_guard(const fs::path& dir) { fs::current_path(dir); }
  ~cwd_guard() {
    std::error_code ec;
    fs::current_path(saved, ec);
  }
};

struct fixture {
  test::temp_dir tmp;

  std::string path(const std::string& name) const { return (tmp.path / name).string(); }

  void write(const std::string& name, const std::string& text) const {
    fs::create_directories(fs::path(path(name)).parent_path());
    std::ofstream out(path(name), std::ios::binary);
    out << text;
  }

  /// The smallest valid file: relative paths, so they resolve against tmp.
  std::string base_ini() const {
    return "[node]\n"
           "name = node-1\n"
           "listen = 127.0.0.1:7001\n"
           "data_dir = data\n"
           "[cluster]\n"
           "secret_file = secret\n";
  }

  fixture() { write("secret", hex_secret + "\n"); }

  config_outcome run(const std::vector<std::string>& args) const {
    std::vector<const char*> argv{"dfs-node"};
    for (const auto& arg : args)
      argv.push_back(arg.c_str());
    argv.push_back(nullptr);
    return parse_node_config(static_cast<int>(argv.size() - 1), argv.data());
  }

  /// Writes `ini` as node.ini and runs with --config node.ini followed by `extra`.
  config_outcome run_ini(const std::string& ini, std::vector<std::string> extra = {}) const {
    write("node.ini", ini);
    std::vector<std::string> args{"--config", path("node.ini")};
    args.insert(args.end(), extra.begin(), extra.end());
    return run(args);
  }
};

/// An error outcome with a one-line text that starts with "config: " and names `key`.
#define CHECK_ERROR_NAMES(outcome, key)                                        \
  do {                                                                         \
    const auto& out_ = (outcome);                                              \
    CAF_CHECK_EQUAL(kind_name(out_.kind), "error");                            \
    CAF_CHECK_EQUAL(out_.text.rfind("config: ", 0), 0u);                       \
    CAF_CHECK(!contains(out_.text, "\n"));                                     \
    if (!contains(out_.text, key))                                             \
      CAF_FAIL("error text does not name " << (key) << ": " << out_.text);     \
  } while (false)

} // namespace

CAF_TEST_FIXTURE_SCOPE(config_tests, fixture)

// -- valid configurations ------------------------------------------------------------------------

CAF_TEST(a valid file gives its values and the defaults) {
  auto out = run_ini(base_ini());
  CAF_REQUIRE_EQUAL(out.text, "");
  CAF_REQUIRE_EQUAL(kind_name(out.kind), "run");
  const auto& cfg = out.config;
  CAF_CHECK_EQUAL(cfg.name, "node-1");
  CAF_CHECK_EQUAL(cfg.listen.host, "127.0.0.1");
  CAF_CHECK_EQUAL(cfg.listen.port, 7001u);
  // Relative paths in the file are relative to the file's directory.
  CAF_CHECK_EQUAL(cfg.data_dir, path("data"));
  CAF_CHECK_EQUAL(cfg.secret_file, path("secret"));
  // The missing data_dir was created, and the write probe did not stay behind.
  CAF_CHECK(fs::is_directory(path("data")));
  CAF_CHECK(fs::is_empty(path("data")));
  // The trailing newline of the key file is not part of the secret.
  CAF_CHECK_EQUAL(cfg.secret, hex_secret);
  CAF_CHECK_EQUAL(cfg.cluster_name, "dfs");
  CAF_CHECK(cfg.bootstrap.empty());
  CAF_CHECK_EQUAL(cfg.replicas, 3u);
  CAF_CHECK_EQUAL(cfg.write_quorum, 2u);
  CAF_CHECK_EQUAL(cfg.chunk_size, 4u * 1024 * 1024);
  CAF_CHECK_EQUAL(cfg.disk_reserve, 64u * 1024 * 1024);
  CAF_CHECK(cfg.log_level == log::level::info);
  CAF_CHECK_EQUAL(cfg.max_connections, 1024u);
  CAF_CHECK_EQUAL(cfg.max_pending_handshakes, 256u);
  CAF_CHECK_EQUAL(cfg.handshake_timeout.count(), 10);
  CAF_CHECK_EQUAL(cfg.idle_timeout.count(), 300);
  CAF_CHECK_EQUAL(cfg.max_buffered_bytes, 256u * 1024 * 1024);
  CAF_CHECK_EQUAL(cfg.max_clock_skew.count(), 60);
}

CAF_TEST(a file that sets every key) {
  write("keys/cluster.key", hex_secret + "\r\n\n");
  auto out = run_ini("# a comment\n"
                     "[node]\n"
                     "name = n_2.b\n"
                     "listen = [::1]:65535\n"
                     "data_dir = " + path("a/b/c") + "\n"
                     "max_connections = 5000\n"
                     "max_pending_handshakes = 64\n"
                     "handshake_timeout = 5\n"
                     "idle_timeout = 0\n"
                     "max_buffered_bytes = 1GiB\n"
                     "[cluster]\n"
                     "name = prod\n"
                     "secret_file = keys/cluster.key\n"
                     "bootstrap = 10.0.0.1:7001 , node-b:7002,[::1]:7003\n"
                     "replicas = 5\n"
                     "write_quorum = 5\n"
                     "max_clock_skew = 300\n"
                     "[storage]\n"
                     "chunk_size = 1MiB\n"
                     "reserve = 1GiB\n"
                     "[log]\n"
                     "level = debug\n");
  CAF_REQUIRE_EQUAL(out.text, "");
  CAF_REQUIRE_EQUAL(kind_name(out.kind), "run");
  const auto& cfg = out.config;
  CAF_CHECK_EQUAL(cfg.name, "n_2.b");
  CAF_CHECK_EQUAL(cfg.listen.host, "::1");
  CAF_CHECK_EQUAL(cfg.listen.port, 65535u);
  CAF_CHECK_EQUAL(cfg.data_dir, path("a/b/c"));
  CAF_CHECK(fs::is_directory(path("a/b/c")));
  CAF_CHECK_EQUAL(cfg.cluster_name, "prod");
  CAF_CHECK_EQUAL(cfg.secret_file, path("keys/cluster.key"));
  CAF_CHECK_EQUAL(cfg.secret, hex_secret);
  CAF_REQUIRE_EQUAL(cfg.bootstrap.size(), 3u);
  CAF_CHECK_EQUAL(cfg.bootstrap[0].to_string(), "10.0.0.1:7001");
  CAF_CHECK_EQUAL(cfg.bootstrap[1].to_string(), "node-b:7002");
  CAF_CHECK_EQUAL(cfg.bootstrap[2].host, "::1");
  CAF_CHECK_EQUAL(cfg.bootstrap[2].port, 7003u);
  CAF_CHECK_EQUAL(cfg.replicas, 5u);
  CAF_CHECK_EQUAL(cfg.write_quorum, 5u);
  CAF_CHECK_EQUAL(cfg.chunk_size, 1024u * 1024);
  CAF_CHECK_EQUAL(cfg.disk_reserve, 1024u * 1024 * 1024);
  CAF_CHECK(cfg.log_level == log::level::debug);
  CAF_CHECK_EQUAL(cfg.max_connections, 5000u);
  CAF_CHECK_EQUAL(cfg.max_pending_handshakes, 64u);
  CAF_CHECK_EQUAL(cfg.handshake_timeout.count(), 5);
  CAF_CHECK_EQUAL(cfg.idle_timeout.count(), 0);
  CAF_CHECK_EQUAL(cfg.max_buffered_bytes, 1024u * 1024 * 1024);
  CAF_CHECK_EQUAL(cfg.max_clock_skew.count(), 300);
}

CAF_TEST(a binary secret is kept byte for byte) {
  std::string secret;
  for (int i = 0; i < 40; ++i)
    secret += static_cast<char>(i * 7);  // includes '\0' and '\n' in the middle
  write("secret", secret);
  auto out = run_ini(base_ini());
  CAF_REQUIRE_EQUAL(out.text, "");
  CAF_CHECK_EQUAL(out.config.secret.size(), 40u);
  CAF_CHECK(out.config.secret == secret);
}

CAF_TEST(the command line overrides the file) {
  write("other.key", std::string(32, 'k'));
  auto out = run_ini(base_ini() + "replicas = 2\n"
                                  "[log]\n"
                                  "level = error\n",
                     {"--cluster.replicas", "5", "--cluster.write_quorum=4", "--log.level",
                      "warn", "--node.name", "other", "--node.listen", "example.org:9000",
                      "--cluster.bootstrap", "a:1,b:2", "--storage.chunk_size", "64MiB",
                      "--cluster.secret_file", path("other.key"), "--node.data_dir",
                      path("cli-data")});
  CAF_REQUIRE_EQUAL(out.text, "");
  CAF_REQUIRE_EQUAL(kind_name(out.kind), "run");
  const auto& cfg = out.config;
  CAF_CHECK_EQUAL(cfg.name, "other");
  CAF_CHECK_EQUAL(cfg.listen.to_string(), "example.org:9000");
  CAF_CHECK_EQUAL(cfg.replicas, 5u);
  CAF_CHECK_EQUAL(cfg.write_quorum, 4u);
  CAF_CHECK_EQUAL(cfg.bootstrap.size(), 2u);
  CAF_CHECK_EQUAL(cfg.chunk_size, 64u * 1024 * 1024);
  CAF_CHECK(cfg.log_level == log::level::warn);
  CAF_CHECK_EQUAL(cfg.secret, std::string(32, 'k'));
  CAF_CHECK_EQUAL(cfg.data_dir, path("cli-data"));
  CAF_CHECK(fs::is_directory(path("cli-data")));
  CAF_CHECK(!fs::exists(path("data")));
}

CAF_TEST(relative paths on the command line are relative to the current directory) {
  write("conf/node.ini", base_ini());
  write("cwd/my.key", std::string(48, 's'));
  cwd_guard cwd(path("cwd"));
  auto out = run({"--config", path("conf/node.ini"), "--cluster.secret_file", "my.key",
                  "--node.data_dir", "store"});
  CAF_REQUIRE_EQUAL(out.text, "");
  CAF_CHECK_EQUAL(out.config.secret, std::string(48, 's'));
  CAF_CHECK(fs::is_directory(path("cwd/store")));
  CAF_CHECK(!fs::exists(path("conf/store")));
  CAF_CHECK(!fs::exists(path("conf/data")));
}

CAF_TEST(a relative config path resolves paths in the file against its directory) {
  write("conf/secret", hex_secret);
  write("conf/node.ini", base_ini());
  cwd_guard cwd(tmp.path);
  auto out = run({"--config", "conf/node.ini"});
  CAF_REQUIRE_EQUAL(out.text, "");
  CAF_CHECK_EQUAL(out.config.data_dir, "conf/data");
  CAF_CHECK(fs::is_directory(path("conf/data")));
}

// -- help and version ----------------------------------------------------------------------------

CAF_TEST(help lists every key with its default) {
  for (auto flag : {"--help", "-h"}) {
    auto out = run({flag});
    CAF_CHECK_EQUAL(kind_name(out.kind), "help");
    for (auto part : {"--config FILE", "[node]", "name ", "listen ", "data_dir ", "[cluster]",
                      "= dfs", "secret_file ", "bootstrap ", "replicas     = 3",
                      "write_quorum = 2", "[storage]", "chunk_size   = 4MiB", "[log]",
                      "level        = info", "--SECTION.KEY", "max_connections = 1024",
                      "max_pending_handshakes = 256", "handshake_timeout = 10",
                      "idle_timeout = 300", "max_buffered_bytes = 256MiB"})
      if (!contains(out.text, part))
        CAF_FAIL("help text lacks '" << part << "'");
  }
  // Help needs no config file, and wins over the other options.
  auto out = run({"--config", path("missing.ini"), "--help"});
  CAF_CHECK_EQUAL(kind_name(out.kind), "help");
}

CAF_TEST(version) {
  auto out = run({"--version"});
  CAF_CHECK_EQUAL(kind_name(out.kind), "version");
  CAF_CHECK_EQUAL(out.text, std::string("dfs-node ") + DFS_VERSION);
}

// -- errors ----------------------------------------------------------------------------------------

CAF_TEST(config is required) {
  auto out = run({});
  CHECK_ERROR_NAMES(out, "--config");
  out = run({"--config"});
  CHECK_ERROR_NAMES(out, "--config");
}

CAF_TEST(an unreadable config file) {
  auto out = run({"--config", path("missing.ini")});
  CHECK_ERROR_NAMES(out, "cannot read config file '" + path("missing.ini") + "'");
  CAF_CHECK(contains(out.text, "No such file or directory"));
  out = run({"--config", tmp.path.string()});
  CHECK_ERROR_NAMES(out, "cannot read config file");
}

CAF_TEST(an unknown key in the file) {
  auto out = run_ini(base_ini() + "[node]\nfoo = 1\n");
  CAF_CHECK_EQUAL(out.text, "config: unknown option 'node.foo' in " + path("node.ini"));
  out = run_ini(base_ini() + "[nodes]\nname = x\n");
  CHECK_ERROR_NAMES(out, "'nodes.name'");
  // --config is a command-line option only.
  out = run_ini("config = x\n" + base_ini());
  CHECK_ERROR_NAMES(out, "'config'");
}

CAF_TEST(an unknown option on the command line) {
  auto out = run_ini(base_ini(), {"--node.foo", "1"});
  CHECK_ERROR_NAMES(out, "'--node.foo'");
  // No abbreviations: --conf is not --config.
  out = run({"--conf", path("node.ini")});
  CHECK_ERROR_NAMES(out, "'--conf'");
  out = run_ini(base_ini(), {"stray"});
  CHECK_ERROR_NAMES(out, "'stray'");
}

CAF_TEST(syntax errors and repeated keys) {
  auto out = run_ini(base_ini() + "just some words\n");
  CHECK_ERROR_NAMES(out, "'just some words'");
  out = run_ini(base_ini() + "[node]\nname = again\n");
  CHECK_ERROR_NAMES(out, "[node] name");
  CAF_CHECK(contains(out.text, "more than once"));
  out = run_ini(base_ini(), {"--cluster.replicas", "2", "--cluster.replicas", "3"});
  CHECK_ERROR_NAMES(out, "[cluster] replicas");
}

CAF_TEST(missing and empty required keys) {
  auto out = run_ini("[node]\nlisten = h:1\ndata_dir = d\n[cluster]\nsecret_file = secret\n");
  CHECK_ERROR_NAMES(out, "[node] name");
  CAF_CHECK(contains(out.text, "--node.name"));
  out = run_ini("[node]\nname = a\ndata_dir = d\n[cluster]\nsecret_file = secret\n");
  CHECK_ERROR_NAMES(out, "[node] listen");
  out = run_ini("[node]\nname = a\nlisten = h:1\n[cluster]\nsecret_file = secret\n");
  CHECK_ERROR_NAMES(out, "[node] data_dir");
  out = run_ini("[node]\nname = a\nlisten = h:1\ndata_dir = d\n");
  CHECK_ERROR_NAMES(out, "[cluster] secret_file");
  out = run_ini(base_ini() + "[node]\n", {"--node.name", ""});
  CHECK_ERROR_NAMES(out, "[node] name");
  // The data directory is created only once everything else is valid.
  CAF_CHECK(!fs::exists(path("data")));
}

CAF_TEST(malformed values) {
  auto out = run_ini(base_ini() + "replicas = abc\n");
  CAF_CHECK_EQUAL(out.text, "config: [cluster] replicas = abc: expected a whole number");
  out = run_ini(base_ini() + "replicas = -1\n");
  CHECK_ERROR_NAMES(out, "[cluster] replicas");
  out = run_ini(base_ini() + "write_quorum = 2.5\n");
  CHECK_ERROR_NAMES(out, "[cluster] write_quorum");
  out = run_ini(base_ini() + "[storage]\nchunk_size = 4XB\n");
  CHECK_ERROR_NAMES(out, "[storage] chunk_size = 4XB");
  out = run_ini(base_ini() + "[storage]\nreserve = lots\n");
  CHECK_ERROR_NAMES(out, "[storage] reserve = lots");
  out = run_ini(base_ini(), {"--node.listen", "127.0.0.1"});
  CAF_CHECK_EQUAL(out.text, "config: [node] listen '127.0.0.1': expected host:port with a port "
                            "from 1 to 65535");
  out = run_ini(base_ini(), {"--node.listen", "127.0.0.1:0"});
  CHECK_ERROR_NAMES(out, "[node] listen '127.0.0.1:0'");
  out = run_ini(base_ini(), {"--node.listen", "127.0.0.1:65536"});
  CHECK_ERROR_NAMES(out, "[node] listen");
  out = run_ini(base_ini(), {"--node.name", "bad name"});
  CHECK_ERROR_NAMES(out, "[node] name 'bad name'");
  out = run_ini(base_ini(), {"--node.name", std::string(65, 'a')});
  CHECK_ERROR_NAMES(out, "[node] name");
  out = run_ini(base_ini(), {"--cluster.name", "a/b"});
  CHECK_ERROR_NAMES(out, "[cluster] name 'a/b'");
  out = run_ini(base_ini(), {"--cluster.bootstrap", "a:1,,b:2"});
  CHECK_ERROR_NAMES(out, "[cluster] bootstrap");
  out = run_ini(base_ini(), {"--cluster.bootstrap", "a:1, b"});
  CHECK_ERROR_NAMES(out, "[cluster] bootstrap");
  CAF_CHECK(contains(out.text, "entry 'b'"));
  out = run_ini(base_ini() + "[log]\nlevel = verbose\n");
  CHECK_ERROR_NAMES(out, "[log] level 'verbose'");
  // A newline typed into a value does not break the one-line rule.
  out = run_ini(base_ini(), {"--node.name", "a\nb"});
  CHECK_ERROR_NAMES(out, "[node] name");
}

CAF_TEST(values out of range) {
  auto out = run_ini(base_ini() + "write_quorum = 5\n");
  CAF_CHECK_EQUAL(out.text, "config: [cluster] write_quorum = 5: must be between 1 and replicas (3)");
  out = run_ini(base_ini(), {"--cluster.replicas", "2", "--cluster.write_quorum", "3"});
  CAF_CHECK_EQUAL(out.text, "config: [cluster] write_quorum = 3: must be between 1 and replicas (2)");
  out = run_ini(base_ini() + "write_quorum = 0\n");
  CHECK_ERROR_NAMES(out, "[cluster] write_quorum = 0");
  out = run_ini(base_ini() + "replicas = 17\nwrite_quorum = 1\n");
  CHECK_ERROR_NAMES(out, "[cluster] replicas = 17");
  out = run_ini(base_ini() + "replicas = 0\n");
  CHECK_ERROR_NAMES(out, "[cluster] replicas = 0");
  out = run_ini(base_ini() + "replicas = 99999999999999999999999\n");
  CHECK_ERROR_NAMES(out, "[cluster] replicas");
  out = run_ini(base_ini() + "[storage]\nchunk_size = 4095\n");
  CHECK_ERROR_NAMES(out, "[storage] chunk_size = 4095");
  out = run_ini(base_ini() + "[storage]\nchunk_size = 65MiB\n");
  CHECK_ERROR_NAMES(out, "[storage] chunk_size = 65MiB");
  // The limits themselves are fine.
  out = run_ini(base_ini() + "replicas = 16\nwrite_quorum = 16\n[storage]\nchunk_size = 4KiB\n");
  CAF_CHECK_EQUAL(out.text, "");
  out = run_ini(base_ini() + "replicas = 1\nwrite_quorum = 1\n[storage]\nchunk_size = 67108864\n");
  CAF_CHECK_EQUAL(out.text, "");
  // max_clock_skew: 0 would refuse every version a moment ahead; over a day bounds nothing.
  out = run_ini(base_ini() + "max_clock_skew = 0\n");
  CAF_CHECK_EQUAL(out.text, "config: [cluster] max_clock_skew = 0: must be between 1 and 86400 seconds");
  out = run_ini(base_ini(), {"--cluster.max_clock_skew", "86401"});
  CHECK_ERROR_NAMES(out, "[cluster] max_clock_skew = 86401");
  out = run_ini(base_ini(), {"--cluster.max_clock_skew", "soon"});
  CHECK_ERROR_NAMES(out, "[cluster] max_clock_skew");
  out = run_ini(base_ini() + "max_clock_skew = 1\n");
  CAF_CHECK_EQUAL(out.text, "");
  out = run_ini(base_ini() + "max_clock_skew = 86400\n");
  CAF_CHECK_EQUAL(out.text, "");
}

CAF_TEST(gc_grace is at least two seconds) {
  // 0 used to be accepted and made every put lose its chunks to collection.
  auto out = run_ini(base_ini(), {"--cluster.gc_grace", "0"});
  CAF_CHECK_EQUAL(out.text,
                  "config: [cluster] gc_grace = 0: must be between 2 and 2592000 seconds");
  out = run_ini(base_ini(), {"--cluster.gc_grace", "1"});
  CHECK_ERROR_NAMES(out, "[cluster] gc_grace = 1");
  out = run_ini(base_ini(), {"--cluster.gc_grace", "2"});
  CAF_REQUIRE_EQUAL(out.text, "");
  CAF_CHECK_EQUAL(out.config.gc_grace.count(), 2);
}

CAF_TEST(secret file errors) {
  auto out = run_ini(base_ini(), {"--cluster.secret_file", path("nope.key")});
  CAF_CHECK_EQUAL(out.text, "config: [cluster] secret_file '" + path("nope.key") +
                              "': cannot read: No such file or directory");
  write("short.key", "0123456789ab\n\n");
  out = run_ini(base_ini(), {"--cluster.secret_file", path("short.key")});
  CAF_CHECK_EQUAL(out.text, "config: [cluster] secret_file '" + path("short.key") +
                              "': secret is 12 bytes, at least 32 are needed");
  // 31 bytes plus a newline is still too short: the newline does not count.
  write("short.key", std::string(31, 'x') + "\n");
  out = run_ini(base_ini(), {"--cluster.secret_file", path("short.key")});
  CHECK_ERROR_NAMES(out, "[cluster] secret_file");
  CAF_CHECK(contains(out.text, "secret is 31 bytes"));
  // A user's credential file is never a node's secret.
  write("alice.credential", "dfs-user-credential v1\nname alice\naccess_key "
                            "ALICEALICEALICEALICE\nsecret_key " + std::string(64, 'a') + "\n");
  out = run_ini(base_ini(), {"--cluster.secret_file", path("alice.credential")});
  CHECK_ERROR_NAMES(out, "[cluster] secret_file");
  CAF_CHECK(contains(out.text, "this is a user credential"));
  out = run_ini(base_ini(), {"--cluster.secret_file", tmp.path.string()});
  CHECK_ERROR_NAMES(out, "[cluster] secret_file");
  CAF_CHECK(contains(out.text, "cannot read"));
}

CAF_TEST(data_dir errors) {
  write("a-file", "x");
  auto out = run_ini(base_ini(), {"--node.data_dir", path("a-file")});
  CHECK_ERROR_NAMES(out, "[node] data_dir '" + path("a-file") + "'");
  out = run_ini(base_ini(), {"--node.data_dir", path("a-file/sub")});
  CHECK_ERROR_NAMES(out, "[node] data_dir '" + path("a-file/sub") + "': cannot create");
  if (::geteuid() != 0) {  // root may write anywhere
    fs::create_directories(path("ro"));
    fs::permissions(path("ro"), fs::perms::owner_read | fs::perms::owner_exec);
    out = run_ini(base_ini(), {"--node.data_dir", path("ro")});
    CHECK_ERROR_NAMES(out, "[node] data_dir '" + path("ro") + "': not writable");
    fs::permissions(path("ro"), fs::perms::owner_all);
  }
}

CAF_TEST(connection limits) {
  // Good values, from the file and the command line.
  auto out = run_ini(base_ini(), {"--node.max_connections", "1", "--node.max_pending_handshakes",
                                  "1000000", "--node.handshake_timeout", "3600",
                                  "--node.idle_timeout", "4", "--node.max_buffered_bytes",
                                  "65MiB"});
  CAF_REQUIRE_EQUAL(out.text, "");
  CAF_CHECK_EQUAL(out.config.max_connections, 1u);
  CAF_CHECK_EQUAL(out.config.max_pending_handshakes, 1000000u);
  CAF_CHECK_EQUAL(out.config.handshake_timeout.count(), 3600);
  CAF_CHECK_EQUAL(out.config.idle_timeout.count(), 4);
  CAF_CHECK_EQUAL(out.config.max_buffered_bytes, 65u << 20);
  fs::remove_all(path("data"));
  // Malformed and out of range, each with the key, the value and what is expected.
  out = run_ini(base_ini(), {"--node.max_connections", "0"});
  CAF_CHECK_EQUAL(out.text, "config: [node] max_connections = 0: must be between 1 and 1000000");
  out = run_ini(base_ini(), {"--node.max_connections", "many"});
  CAF_CHECK_EQUAL(out.text, "config: [node] max_connections = many: expected a whole number");
  out = run_ini(base_ini(), {"--node.max_pending_handshakes", "1000001"});
  CAF_CHECK_EQUAL(out.text,
                  "config: [node] max_pending_handshakes = 1000001: must be between 1 and 1000000");
  out = run_ini(base_ini(), {"--node.handshake_timeout", "0"});
  CAF_CHECK_EQUAL(out.text,
                  "config: [node] handshake_timeout = 0: must be between 1 and 3600 seconds");
  out = run_ini(base_ini(), {"--node.handshake_timeout", "10s"});
  CHECK_ERROR_NAMES(out, "[node] handshake_timeout = 10s: expected a whole number");
  out = run_ini(base_ini(), {"--node.idle_timeout", "700000"});
  CHECK_ERROR_NAMES(out, "[node] idle_timeout = 700000: must be between 0 and 604800 seconds");
  // An idle timeout must leave room for heartbeats.
  out = run_ini(base_ini(), {"--node.idle_timeout", "3"});
  CAF_CHECK_EQUAL(out.text, "config: [node] idle_timeout = 3: must be 0 (off) or more than "
                            "[cluster] suspect_after (3), or peer links would be closed between "
                            "two heartbeats");
  out = run_ini(base_ini(), {"--node.idle_timeout", "30", "--cluster.suspect_after", "30",
                             "--cluster.down_after", "60"});
  CHECK_ERROR_NAMES(out, "[node] idle_timeout = 30");
  out = run_ini(base_ini(), {"--node.idle_timeout", "31", "--cluster.suspect_after", "30",
                             "--cluster.down_after", "60"});
  CAF_CHECK_EQUAL(out.text, "");
  fs::remove_all(path("data"));
  out = run_ini(base_ini(), {"--node.max_buffered_bytes", "64MiB"});
  CAF_CHECK_EQUAL(out.text, "config: [node] max_buffered_bytes = 64MiB: must be at least 65MiB, "
                            "so that the largest frame (64 MiB + 64 KiB) fits");
  out = run_ini(base_ini(), {"--node.max_buffered_bytes", "lots"});
  CHECK_ERROR_NAMES(out, "[node] max_buffered_bytes = lots: expected a byte size");
  // Nothing was created for a refused configuration.
  CAF_CHECK(!fs::exists(path("data")));
}

CAF_TEST(session limits) {
  auto out = run_ini(base_ini(), {});
  CAF_REQUIRE_EQUAL(out.text, "");
  CAF_CHECK_EQUAL(out.config.max_pending_per_source, 64u);
  CAF_CHECK_EQUAL(out.config.max_sessions_per_connection, 32u);
  CAF_CHECK_EQUAL(out.config.session_memory, 512u << 20);
  fs::remove_all(path("data"));
  out = run_ini(base_ini(), {"--node.max_pending_per_source", "1", "--node.max_sessions_per_connection",
                             "100000", "--node.session_memory", "16MiB"});
  CAF_REQUIRE_EQUAL(out.text, "");
  CAF_CHECK_EQUAL(out.config.max_pending_per_source, 1u);
  CAF_CHECK_EQUAL(out.config.max_sessions_per_connection, 100000u);
  CAF_CHECK_EQUAL(out.config.session_memory, 16u << 20);
  fs::remove_all(path("data"));
  out = run_ini(base_ini(), {"--node.max_pending_per_source", "0"});
  CAF_CHECK_EQUAL(out.text, "config: [node] max_pending_per_source = 0: must be between 1 and 1000000");
  out = run_ini(base_ini(), {"--node.max_sessions_per_connection", "100001"});
  CAF_CHECK_EQUAL(out.text,
                  "config: [node] max_sessions_per_connection = 100001: must be between 1 and 100000");
  out = run_ini(base_ini(), {"--node.session_memory", "plenty"});
  CHECK_ERROR_NAMES(out, "[node] session_memory = plenty: expected a byte size");
  // A put's window of the largest chunks must fit.
  out = run_ini(base_ini(), {"--node.session_memory", "16MiB", "--storage.chunk_size", "8MiB"});
  CAF_CHECK_EQUAL(out.text, "config: [node] session_memory = 16777216: must be at least 4 times "
                            "[storage] chunk_size (33554432 bytes)");
  CAF_CHECK(!fs::exists(path("data")));
}

// -- the value parsers -----------------------------------------------------------------------------

CAF_TEST(parse_byte_size) {
  auto size = [](const std::string& text) { return parse_byte_size(text).value_or(12345); };
  CAF_CHECK_EQUAL(size("0"), 0u);
  CAF_CHECK_EQUAL(size("4194304"), 4194304u);
  CAF_CHECK_EQUAL(size("4096B"), 4096u);
  CAF_CHECK_EQUAL(size("4K"), 4096u);
  CAF_CHECK_EQUAL(size("4KiB"), 4096u);
  CAF_CHECK_EQUAL(size("4KB"), 4000u);
  CAF_CHECK_EQUAL(size("4M"), 4194304u);
  CAF_CHECK_EQUAL(size("4MiB"), 4194304u);
  CAF_CHECK_EQUAL(size("4 MiB"), 4194304u);
  CAF_CHECK_EQUAL(size("4MB"), 4000000u);
  CAF_CHECK_EQUAL(size("1G"), 1073741824u);
  CAF_CHECK_EQUAL(size("1GiB"), 1073741824u);
  CAF_CHECK_EQUAL(size("3GB"), 3000000000u);
  CAF_CHECK_EQUAL(size("18446744073709551615"), UINT64_MAX);
  CAF_CHECK_EQUAL(size("17179869183GiB"), 17179869183ull << 30);
  for (auto bad : {"", " ", "MiB", "-1", "+1", "1.5MiB", "4XB", "4 M B", "4MiBs", "4mib", "0x10",
                   "18446744073709551616", "17179869184GiB", "18446744073709552KB",
                   "99999999999999999999999999"})
    if (parse_byte_size(bad))
      CAF_FAIL("parse_byte_size accepted '" << bad << "'");
}

CAF_TEST(a bare IPv6 address is refused with the bracketed form to use) {
  auto out = run_ini(base_ini(), {"--node.listen", "::1:7000"});
  CAF_CHECK_EQUAL(out.text, "config: [node] listen '::1:7000': an IPv6 address needs brackets: "
                            "[host]:port, as in [::1]:7000");
  out = run_ini(base_ini(), {"--cluster.bootstrap", "127.0.0.1:7001,::1:7002"});
  CAF_CHECK_EQUAL(out.text, "config: [cluster] bootstrap '127.0.0.1:7001,::1:7002': entry "
                            "'::1:7002': an IPv6 address needs brackets: [host]:port, as in "
                            "[::1]:7000");
  out = run_ini(base_ini(), {"--node.listen", "[::1]:7000"});
  CAF_REQUIRE_EQUAL(out.text, "");
  CAF_CHECK_EQUAL(out.config.listen.to_string(), "[::1]:7000");
}

CAF_TEST_FIXTURE_SCOPE_END()
