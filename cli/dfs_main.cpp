// dfs: the command-line client, a thin shell over the client library (include/dfs/client.hpp).
// This file only parses options, resolves the settings every command shares, and dispatches;
// the commands live in commands.cpp.
#include "cli/cli.hpp"

#include <boost/program_options.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <sstream>

#ifndef DFS_VERSION
#define DFS_VERSION "unknown"
#endif

namespace po = boost::program_options;
using namespace dfs::cli;

namespace {

constexpr const char* default_node = "127.0.0.1:7001";

struct command {
  const char* name;
  size_t min_args;
  size_t max_args;
  const char* usage;
  bool takes_json;
  int (*run)(const settings&, const std::vector<std::string>&);
};

const command commands[] = {
  {"put", 2, 2, "put <local-file | -> <key> [--json]", true, run_put},
  {"get", 1, 2, "get <key> [<local-file> | -] [--json]", true, run_get},
  {"rm", 1, 1, "rm <key> [--json]", true, run_rm},
  {"ls", 0, 1, "ls [<prefix>] [--json]", true, run_ls},
  {"stat", 1, 1, "stat <key> [--json]", true, run_stat},
  {"status", 0, 0, "status [--json]", true, run_status},
  {"decommission", 1, 1, "decommission <node-name>", false, run_decommission},
  {"user", 1, 2, "user add <name> [--read-only] [--prefix P] [--json] [--out FILE] | user ls "
                 "[--json] | user rm <name>", true, run_user},
  {"keygen", 1, 1, "keygen <file>", false, nullptr},
};

int usage_error(const std::string& message) {
  std::fprintf(stderr, "dfs: %s\n", message.c_str());
  return exit_usage;
}

void print_help(const po::options_description& visible) {
  std::cout << "usage: dfs [options] <command> [args]\n\ncommands:\n"
               "  put <local-file | -> <key> [--json]\n"
               "                                store a file (- reads stdin) under key\n"
               "  get <key> [<local-file> | -] [--json]\n"
               "                                fetch key (default: its last path component in\n"
               "                                the current directory; - writes stdout, without\n"
               "                                --json)\n"
               "  rm <key> [--json]             remove key\n"
               "  ls [<prefix>] [--json]        list keys, as <size><TAB><key> lines\n"
               "  stat <key> [--json]           size, chunks, version, copies, sha256 of key\n"
               "  status [--json]               cluster members and under-replicated count\n"
               "  decommission <node-name>      move a node's data to the others, then retire it\n"
               "  user add <name> [--read-only] [--prefix P] [--json] [--out FILE]\n"
               "                                make a user and write its credential file (mode\n"
               "                                0600, default <name>.credential); needs the\n"
               "                                cluster secret\n"
               "  user ls [--json]              list the users\n"
               "  user rm <name>                remove a user: its credential stops working\n"
               "  keygen <file>                 write a new random cluster secret (mode 0600)\n\n"
            << visible
            << "\nexit codes: 0 success, 1 the operation failed, 2 usage or configuration error\n";
}

/// The option if given, else the environment variable if set and non-empty. `source` says which,
/// for error messages.
std::optional<std::string> option_or_env(const po::variables_map& vm, const char* option,
                                         const char* env, std::string& source) {
  if (vm.count(option)) {
    source = std::string{"--"} + option;
    return vm[option].as<std::string>();
  }
  if (const char* value = std::getenv(env); value != nullptr && *value != '\0') {
    source = env;
    return std::string{value};
  }
  return std::nullopt;
}

/// Seconds as a positive decimal number, to milliseconds (at least one: 0 would mean "forever"
/// to SO_RCVTIMEO).
std::optional<std::chrono::milliseconds> parse_timeout(const std::string& text) {
  std::istringstream in{text};
  double seconds = 0;
  if (!(in >> seconds) || !in.eof() || !std::isfinite(seconds) || seconds <= 0
      || seconds > 365.0 * 24 * 3600)
    return std::nullopt;
  return std::chrono::milliseconds{static_cast<int64_t>(std::ceil(seconds * 1000))};
}

int run(int argc, char** argv) {
  po::options_description visible{"options"};
  visible.add_options()
    ("node", po::value<std::string>()->value_name("HOST:PORT"),
     "the node to talk to (default: $DFS_NODE, then 127.0.0.1:7001)")
    ("secret-file", po::value<std::string>()->value_name("FILE"),
     "the cluster secret, or a user's credential file (default: $DFS_SECRET_FILE)")
    ("timeout", po::value<std::string>()->value_name("SECONDS")->default_value("60"),
     "how long to wait for the node to answer")
    ("json", po::bool_switch(),
     "put, get, rm, ls, stat, status, user add, user ls: one line of JSON (with the version for "
     "put, get and rm)")
    ("read-only", po::bool_switch(), "user add: the user may only read")
    ("prefix", po::value<std::string>()->value_name("P"),
     "user add: the user may only touch keys that start with P")
    ("out", po::value<std::string>()->value_name("FILE"),
     "user add: where to write the credential (default: <name>.credential)")
    ("help,h", "print this help")
    ("version", "print the version");
  po::options_description hidden;
  hidden.add_options()
    ("command", po::value<std::string>())
    ("args", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(visible).add(hidden);
  po::positional_options_description positional;
  positional.add("command", 1).add("args", -1);

  po::variables_map vm;
  try {
    // No guessing: "--no" should not silently mean --node.
    auto style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
    po::store(po::command_line_parser(argc, argv)
                .options(all)
                .positional(positional)
                .style(style)
                .run(),
              vm);
    po::notify(vm);
  } catch (const po::error& e) {
    return usage_error(std::string{e.what()} + " (try --help)");
  }

  if (vm.count("help")) {
    print_help(visible);
    return exit_ok;
  }
  if (vm.count("version")) {
    std::cout << "dfs " << DFS_VERSION << "\n";
    return exit_ok;
  }
  if (!vm.count("command"))
    return usage_error("no command given (try --help)");
  auto name = vm["command"].as<std::string>();
  auto args = vm.count("args") ? vm["args"].as<std::vector<std::string>>()
                               : std::vector<std::string>{};
  const command* cmd = nullptr;
  for (auto& c : commands)
    if (name == c.name)
      cmd = &c;
  if (cmd == nullptr)
    return usage_error("unknown command '" + name + "' (try --help)");
  if (args.size() < cmd->min_args || args.size() > cmd->max_args)
    return usage_error(std::string{"usage: dfs "} + cmd->usage);
  settings s;
  s.json = vm["json"].as<bool>();
  if (s.json && !cmd->takes_json)
    return usage_error("--json applies only to put, get, rm, ls, stat, status and user");
  s.read_only = vm["read-only"].as<bool>();
  if (vm.count("prefix"))
    s.prefix = vm["prefix"].as<std::string>();
  if (vm.count("out"))
    s.out = vm["out"].as<std::string>();
  bool user_add = cmd->run == run_user && args[0] == "add";
  if ((s.read_only || vm.count("prefix") || vm.count("out")) && !user_add)
    return usage_error("--read-only, --prefix and --out apply only to user add");
  if (!s.prefix.empty()) {
    if (auto why = dfs::check_key(s.prefix))
      return usage_error("--prefix '" + s.prefix + "': " + *why);
  }
  // keygen makes the secret the other commands need; it must not depend on one.
  if (cmd->run == nullptr)
    return run_keygen(args);

  std::string source;
  s.node = option_or_env(vm, "node", "DFS_NODE", source).value_or(default_node);
  if (!dfs::parse_node_address(s.node))
    return usage_error(source + " '" + s.node + "': expected HOST:PORT");
  auto timeout = parse_timeout(vm["timeout"].as<std::string>());
  if (!timeout)
    return usage_error("--timeout '" + vm["timeout"].as<std::string>()
                       + "': expected a number of seconds greater than 0");
  s.timeout = *timeout;
  auto secret_file = option_or_env(vm, "secret-file", "DFS_SECRET_FILE", source);
  if (!secret_file)
    return usage_error("no secret file: give --secret-file FILE or set DFS_SECRET_FILE");
  auto secret = dfs::load_secret_file(*secret_file);
  if (!secret)
    return usage_error(secret.error().message);
  if (auto warning = dfs::secret_file_warning(*secret_file))
    std::fprintf(stderr, "dfs: warning: %s\n", warning->c_str());
  s.secret = std::move(*secret);
  return cmd->run(s, args);
}

} // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception& e) {
    // Only the unexpected gets here (an allocation failure, no randomness for keygen).
    std::fprintf(stderr, "dfs: %s\n", e.what());
    return exit_failed;
  }
}
