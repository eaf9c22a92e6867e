// The node's configuration (config/node_config.hpp): the INI file and the command line that
// parse_node_config reads, and the value parsers behind them.
//
// Input: [mode] rest...
//   mode % 3 == 0  rest is one value for parse_byte_size and parse_host_port
//   mode % 3 == 1  rest is "INI text \0 token \0 token ...": the text is written to a file and
//                  the node is started as
//                    dfs-node --config FILE --node.data_dir SANDBOX/data
//                             --cluster.secret_file SANDBOX/secret token...
//                  (the overrides keep every file the parse touches inside the sandbox; a
//                  token that sets them again is an error, as it must be)
//   mode % 3 == 2  rest is the INI text alone, without overrides: paths in it resolve against
//                  the file's directory, the sandbox (inputs with '/' or ".." are skipped)
//
// Invariants: parse_node_config never throws; an error is one line starting with "config: ";
// a configuration it accepts satisfies every documented range and rule (names, host:port,
// replicas and quorum, timeouts, sizes, an existing data directory, a secret of 32 bytes or
// more); help lists every section. A parsed size or address prints back to itself, and
// surrounding blanks change nothing.
#include "config/node_config.hpp"
#include "fuzz/fuzz_common.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using namespace dfs;

namespace {

const std::string secret_text = "0123456789abcdef0123456789abcdef0123456789\n";

const fs::path& sandbox() {
  static const fs::path dir = [] {
    auto d = dfs::fuzz::scratch_dir() / "config";
    dfs::fuzz::reset_dir(d);
    std::ofstream{d / "secret", std::ios::binary} << secret_text;
    return d;
  }();
  return dir;
}

/// Removes what an earlier input made in the sandbox (data directories), keeping the secret.
void tidy_sandbox() {
  std::error_code ec;
  for (auto& e : fs::directory_iterator{sandbox(), ec}) {
    auto name = e.path().filename().string();
    if (name != "secret" && name != "data")
      fs::remove_all(e.path(), ec);
  }
}

bool valid_name(const std::string& s) {
  if (s.empty() || s.size() > 64)
    return false;
  for (char c : s)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.'
          || c == '_' || c == '-'))
      return false;
  return true;
}

bool valid_host_port(const host_port& hp) {
  if (hp.host.empty() || hp.port == 0)
    return false;
  for (char c : hp.host)
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f || c == '[' || c == ']' || c == ',')
      return false;
  return true;
}

void check_values(const std::string& text) {
  if (auto v = parse_byte_size(text)) {
    FUZZ_CHECK(parse_byte_size(std::to_string(*v)) == v);
    FUZZ_CHECK(parse_byte_size(" " + text + "\t") == v);
    bool digits_only = !text.empty();
    for (char c : text)
      digits_only = digits_only && c >= '0' && c <= '9';
    if (digits_only)
      FUZZ_CHECK(std::to_string(*v) == text.substr(std::min(text.find_first_not_of('0'),
                                                            text.size() - 1)));
  }
  if (auto hp = parse_host_port(text)) {
    FUZZ_CHECK(valid_host_port(*hp));
    auto again = parse_host_port(hp->to_string());
    FUZZ_CHECK(again && *again == *hp);
  }
}

void check_outcome(const config_outcome& out) {
  switch (out.kind) {
    case config_outcome::error:
      FUZZ_CHECK(out.text.rfind("config: ", 0) == 0);
      for (char c : out.text)
        FUZZ_CHECK(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f);
      break;
    case config_outcome::help:
      for (auto section : {"[node]", "[cluster]", "[storage]", "[log]"})
        FUZZ_CHECK(out.text.find(section) != std::string::npos);
      break;
    case config_outcome::version:
      FUZZ_CHECK(out.text.rfind("dfs-node ", 0) == 0);
      break;
    case config_outcome::run: {
      auto& c = out.config;
      FUZZ_CHECK(valid_name(c.name));
      FUZZ_CHECK(valid_name(c.cluster_name));
      FUZZ_CHECK(valid_host_port(c.listen));
      for (auto& b : c.bootstrap)
        FUZZ_CHECK(valid_host_port(b));
      FUZZ_CHECK(!c.data_dir.empty() && fs::is_directory(c.data_dir));
      FUZZ_CHECK(c.secret.size() >= 32);
      FUZZ_CHECK(c.secret.back() != '\n' && c.secret.back() != '\r');
      FUZZ_CHECK(c.replicas >= 1 && c.replicas <= 16);
      FUZZ_CHECK(c.write_quorum >= 1 && c.write_quorum <= c.replicas);
      FUZZ_CHECK(c.suspect_after.count() >= 1 && c.suspect_after.count() <= 3600);
      FUZZ_CHECK(c.down_after >= c.suspect_after && c.down_after.count() <= 86400);
      FUZZ_CHECK(c.anti_entropy_interval.count() >= 1
                 && c.anti_entropy_interval.count() <= 86400);
      FUZZ_CHECK(c.gc_grace >= min_gc_grace && c.gc_grace.count() <= 30 * 86400);
      FUZZ_CHECK(c.chunk_size >= 4096 && c.chunk_size <= 64u * 1024 * 1024);
      FUZZ_CHECK(c.scrub_interval.count() >= 0 && c.scrub_interval.count() <= 365 * 86400);
      break;
    }
  }
}

config_outcome run(const std::string& ini, const std::vector<std::string>& extra) {
  auto file = sandbox() / "node.ini";
  {
    std::ofstream out{file, std::ios::binary | std::ios::trunc};
    out.write(ini.data(), static_cast<std::streamsize>(ini.size()));
  }
  std::vector<std::string> args{"dfs-node", "--config", file.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  std::vector<const char*> argv;
  for (auto& a : args)
    argv.push_back(a.c_str());
  argv.push_back(nullptr);
  return parse_node_config(static_cast<int>(args.size()), argv.data());
}

} // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  dfs::fuzz::quiet_log();
  sandbox();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1)
    return 0;
  std::string rest(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0:
      check_values(rest);
      return 0;
    case 1: {
      auto nul = rest.find('\0');
      std::string ini = rest.substr(0, nul);
      std::vector<std::string> extra{"--node.data_dir", (sandbox() / "data").string(),
                                     "--cluster.secret_file", (sandbox() / "secret").string()};
      while (nul != std::string::npos) {
        auto next = rest.find('\0', nul + 1);
        extra.push_back(rest.substr(nul + 1, next == std::string::npos ? next : next - nul - 1));
        nul = next;
      }
      check_outcome(run(ini, extra));
      break;
    }
    default:
      if (rest.find('/') != std::string::npos || rest.find("..") != std::string::npos
          || rest.find('\0') != std::string::npos)
        return 0;
      check_outcome(run(rest, {}));
      break;
  }
  tidy_sandbox();
  return 0;
}
