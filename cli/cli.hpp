#pragma once
// What the `dfs` program is made of besides the client library (include/dfs/client.hpp): the
// settings every command shares, the JSON output and the commands, so that dfs_main.cpp only
// parses options and dispatches.
#include "dfs/client.hpp"

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace dfs::cli {

constexpr int exit_ok = 0;
constexpr int exit_failed = 1; // the operation failed
constexpr int exit_usage = 2;  // usage or configuration error

/// Everything a command needs besides its own arguments, resolved and validated by main.
struct settings {
  std::string node = "127.0.0.1:7001";
  std::string secret; // the secret itself, already read from the secret file
  std::chrono::milliseconds timeout{60'000};
  bool json = false;
  // user add
  bool read_only = false;
  std::string prefix;
  std::string out; // the credential file; empty: NAME.credential in the current directory
};

/// What the bytes of a progress line or a summary look like: "1.5 MiB".
std::string human_size(uint64_t bytes);

// JSON, one line each, strings escaped by json_string (common/json_text.hpp).
std::string to_json(const std::vector<list_entry>& entries);
std::string to_json(const file_info& stat);
std::string to_json(const cluster_status& status);
std::string to_json(const std::vector<user_info>& users);
/// user add --json: {"name":…,"credential_file":…,"access_key":…,"secret_key":…}
std::string to_json(const user_info& added, const std::string& credential_file);
/// put --json: {"key":…,"size":…,"copies":…,"version":…}
std::string to_json(const std::string& key, const put_info& stored);
/// get --json: {"key":…,"size":…,"chunks":…,"version":…}
std::string to_json(const std::string& key, const get_info& got);
/// rm --json: {"key":…,"version":…}
std::string to_json(const std::string& key, const remove_info& removed);

// The commands. `args` are the positional arguments after the command name, count already
// checked. Each prints its own "dfs: ..." line on failure and returns the exit code.
int run_put(const settings& s, const std::vector<std::string>& args);
int run_get(const settings& s, const std::vector<std::string>& args);
int run_rm(const settings& s, const std::vector<std::string>& args);
int run_ls(const settings& s, const std::vector<std::string>& args);
int run_stat(const settings& s, const std::vector<std::string>& args);
int run_status(const settings& s, const std::vector<std::string>& args);
int run_decommission(const settings& s, const std::vector<std::string>& args);
/// user add NAME | user ls | user rm NAME
int run_user(const settings& s, const std::vector<std::string>& args);
/// Needs neither node nor secret.
int run_keygen(const std::vector<std::string>& args);

} // namespace dfs::cli
