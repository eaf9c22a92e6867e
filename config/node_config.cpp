#include "config/node_config.hpp"

#include "common/credential.hpp"
#include "common/secret_file.hpp"

#include "net/frame.hpp"

#include <boost/program_options.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <map>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <unistd.h>

#ifndef DFS_VERSION
#error "DFS_VERSION must be defined (CMake sets it from the project version)"
#endif

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace dfs {

namespace {

// -- small helpers ---------------------------------------------------------------------------

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string trim(const std::string& text) {
  size_t begin = 0;
  size_t end = text.size();
  while (begin < end && is_space(text[begin]))
    ++begin;
  while (end > begin && is_space(text[end - 1]))
    --end;
  return text.substr(begin, end - begin);
}

/// Digits only, no sign, no spaces; nullopt when empty, malformed or above uint64_t.
std::optional<uint64_t> parse_unsigned(const std::string& text) {
  if (text.empty())
    return std::nullopt;
  uint64_t result = 0;
  for (char c : text) {
    if (c < '0' || c > '9')
      return std::nullopt;
    auto digit = static_cast<uint64_t>(c - '0');
    if (result > (UINT64_MAX - digit) / 10)
      return std::nullopt;
    result = result * 10 + digit;
  }
  return result;
}

std::string errno_text(int err) { return std::error_code(err, std::generic_category()).message(); }

/// The error text must stay on one line, whatever the user typed into a value.
std::string one_line(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\n')
      out += "\\n";
    else if (c == '\r')
      out += "\\r";
    else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += '?';
    else
      out += c;
  }
  return out;
}

/// Thrown inside this file only, caught in parse_node_config.
struct config_error {
  std::string message;
};

[[noreturn]] void fail(std::string message) { throw config_error{std::move(message)}; }

// -- the keys --------------------------------------------------------------------------------

struct key_spec {
  const char* section;
  const char* key;
  const char* shown;    // the default, or a placeholder for a required key
  const char* comment;  // one line in the help
};

// The help text is generated from this table, so it always lists every key.
const key_spec key_specs[] = {
  {"node", "name", "NAME", "required; unique in the cluster, 1 to 64 of A-Z a-z 0-9 . _ -"},
  {"node", "listen", "HOST:PORT", "required; where peers and clients connect"},
  {"node", "data_dir", "DIR", "required; chunks, manifests and node.id; created if missing"},
  {"node", "max_connections", "1024", "authenticated inbound connections; past it clients are refused"},
  {"node", "max_pending_handshakes", "256", "connections still in the handshake; past it the oldest is closed"},
  {"node", "handshake_timeout", "10", "seconds from accept to authenticated, 1 to 3600"},
  {"node", "idle_timeout", "300", "seconds without a frame before a connection is closed; 0 = off"},
  {"node", "max_buffered_bytes", "256MiB", "bytes one connection may hold buffered, at least 65MiB"},
  {"node", "max_pending_per_source", "64", "handshakes pending from one address; past it its oldest is closed"},
  {"node", "max_sessions_per_connection", "32", "puts and gets open at once on one connection"},
  {"node", "session_memory", "512MiB", "chunk bytes all puts and gets of this node may hold at once"},
  {"cluster", "name", "dfs", "the cluster's name, the same on every node"},
  {"cluster", "secret_file", "FILE", "required; the shared secret, at least 32 bytes"},
  {"cluster", "bootstrap", "", "HOST:PORT,... of nodes to join; empty on the first node"},
  {"cluster", "replicas", "3", "R: copies of every chunk, 1 to 16"},
  {"cluster", "write_quorum", "2", "W: copies stored before a write succeeds, 1 to R"},
  {"cluster", "suspect_after", "3", "seconds without word from a member before it is suspect"},
  {"cluster", "down_after", "10", "seconds without word before it is down and its data repaired"},
  {"cluster", "repair_rate", "64MiB", "bytes per second a node may copy for repair; 0 = no limit"},
  {"cluster", "anti_entropy_interval", "10", "seconds between comparisons of holdings and placement"},
  {"cluster", "tls", "required", "required: TLS 1.3 keyed by the secret on every link; off: debugging only"},
  {"cluster", "gc_grace", "3600", "seconds before an unreferenced chunk or a tombstone is collected, at least 2"},
  {"cluster", "max_clock_skew", "60", "seconds a version may be ahead of this node's clock, 1 to 86400"},
  {"storage", "chunk_size", "4MiB", "4KiB to 64MiB; bytes, K/KiB/M/MiB/G/GiB or KB/MB/GB"},
  {"storage", "capacity", "0", "bytes of chunks this node may hold; 0 = no limit but the disk"},
  {"storage", "reserve", "64MiB", "disk bytes data leaves free for deletes; 0 = none"},
  {"storage", "scrub_interval", "86400", "seconds between passes re-verifying every chunk; 0 = off"},
  {"storage", "scrub_rate", "32MiB", "bytes per second the scrubber may read; 0 = no limit"},
  {"log", "level", "info", "trace, debug, info, warn or error"},
};

/// The smallest [node] max_buffered_bytes: the largest frame with its header and TLS overhead
/// (a 22-byte record overhead per 16 KiB, about 90 KiB) must always fit.
constexpr uint64_t min_max_buffered_bytes = 65ull << 20;
static_assert(min_max_buffered_bytes > max_frame_payload + frame_header_size + (256u << 10));

// Positional arguments are not allowed; collecting them under this name lets the error name them.
constexpr const char* positional_name = "dfs-unexpected-argument";

std::string build_help() {
  std::string text =
    "Usage: dfs-node --config FILE [--SECTION.KEY VALUE ...]\n"
    "       dfs-node --help | --version\n"
    "\n"
    "Runs one node of a dfs cluster. The settings are read from the INI file given with\n"
    "--config; every key can also be given on the command line as --SECTION.KEY VALUE, which\n"
    "overrides the file. Relative paths in the file are relative to the file's directory, those\n"
    "on the command line to the current directory.\n"
    "\n"
    "Options:\n"
    "  --config FILE   the node's INI file (required)\n"
    "  -h, --help      print this help and exit\n"
    "  --version       print the version and exit\n"
    "\n"
    "Keys, with their defaults (each one also works as --SECTION.KEY VALUE):\n";
  std::string section;
  for (const auto& spec : key_specs) {
    if (section != spec.section) {
      section = spec.section;
      text += "  [" + section + "]\n";
    }
    // Columns at 15 and 33; a longer key or default pushes the rest right rather than being cut.
    auto pad_to = [](std::string& text, size_t column) {
      text.resize(std::max(column, text.size() + 1), ' ');
    };
    std::string line = "  ";
    line += spec.key;
    pad_to(line, 15);
    line += "= ";
    line += spec.shown;
    pad_to(line, 33);
    line += spec.comment;
    text += line + "\n";
  }
  text += "\n"
          "Sizes take plain bytes or the suffixes K, k, KiB, M, MiB, G, GiB, T, TiB (powers of 1024)\n"
          "and KB, kB, MB, GB, TB (powers of 1000). Trailing newlines in the secret file are ignored.";
  return text;
}

po::options_description key_options() {
  po::options_description desc;
  for (const auto& spec : key_specs) {
    std::string name = std::string(spec.section) + "." + spec.key;
    desc.add_options()(name.c_str(), po::value<std::string>(), spec.comment);
  }
  return desc;
}

/// "[section] key" for a "section.key" option name.
std::string label(const std::string& name) {
  auto dot = name.find('.');
  if (dot == std::string::npos)
    return name;
  return "[" + name.substr(0, dot) + "] " + name.substr(dot + 1);
}

/// Where each key's value came from; the command line wins over the file.
struct sources {
  std::map<std::string, std::string> cli;
  std::map<std::string, std::string> file;
  std::string file_name;  // as given with --config, for messages
  fs::path file_dir;      // relative paths in the file are resolved against this

  struct value {
    std::string text;
    bool from_cli;
  };

  std::optional<value> get(const std::string& name) const {
    if (auto i = cli.find(name); i != cli.end())
      return value{trim(i->second), true};
    if (auto i = file.find(name); i != file.end())
      return value{trim(i->second), false};
    return std::nullopt;
  }

  std::string required(const std::string& name) const {
    auto v = get(name);
    if (!v)
      fail(label(name) + " is missing: set it in " + file_name + " or with --" + name);
    if (v->text.empty())
      fail(label(name) + " is empty");
    return v->text;
  }

  std::string path(const std::string& name) const {
    std::string text = required(name);
    fs::path p(text);
    if (get(name)->from_cli || p.is_absolute())
      return text;
    return (file_dir / p).lexically_normal().string();
  }
};

/// Collects option values of a parse, refusing a key given twice.
void collect(const po::parsed_options& parsed, std::map<std::string, std::string>& out,
             const std::string& where) {
  for (const auto& opt : parsed.options) {
    if (opt.string_key == positional_name)
      fail("unexpected argument '" + (opt.value.empty() ? std::string() : opt.value.front()) +
           "'" + where);
    std::string value = opt.value.empty() ? std::string() : opt.value.front();
    if (!out.emplace(opt.string_key, value).second) {
      if (opt.string_key.find('.') != std::string::npos)
        fail(label(opt.string_key) + " is given more than once" + where);
      fail("option '--" + opt.string_key + "' is given more than once" + where);
    }
  }
}

uint64_t number(const sources& src, const std::string& name, uint64_t fallback) {
  auto v = src.get(name);
  if (!v)
    return fallback;
  auto n = parse_unsigned(v->text);
  if (!n)
    fail(label(name) + " = " + v->text + ": expected a whole number");
  return *n;
}

std::string load_secret(const std::string& path) {
  const std::string what = "[cluster] secret_file '" + path + "': ";
  auto contents = read_secret_file(path);
  if (!contents.secret)
    fail(what + contents.problem);
  // A node holds the node secret; a user's credential must never make one.
  if (looks_like_credential(*contents.secret))
    fail(what + "this is a user credential (made by dfs user add), not the cluster secret; a "
                "node needs the cluster secret itself");
  return std::move(*contents.secret);
}

void prepare_data_dir(const std::string& path) {
  const std::string what = "[node] data_dir '" + path + "': ";
  std::error_code ec;
  auto st = fs::status(path, ec);
  if (!fs::exists(st)) {
    fs::create_directories(path, ec);
    if (ec)
      fail(what + "cannot create: " + ec.message());
    st = fs::status(path, ec);
  }
  if (!fs::is_directory(st))
    fail(what + "not a directory");
  std::string probe = (fs::path(path) / (".dfs-write-probe." + std::to_string(::getpid()))).string();
  int fd = ::open(probe.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0)
    fail(what + "not writable: " + errno_text(errno));
  ::close(fd);
  ::unlink(probe.c_str());
}

config_outcome parse(int argc, const char* const* argv) {
  config_outcome out;

  // -- command line
  po::options_description general;
  general.add_options()
    ("help,h", po::bool_switch(), "print this help and exit")
    ("version", po::bool_switch(), "print the version and exit")
    ("config", po::value<std::string>(), "the node's INI file");
  po::options_description hidden;
  hidden.add_options()(positional_name, po::value<std::string>());
  po::options_description cli_desc;
  cli_desc.add(general).add(key_options()).add(hidden);
  po::positional_options_description positional;
  positional.add(positional_name, -1);

  // No guessing: "--conf" must not quietly mean "--config".
  auto style = po::command_line_style::default_style & ~po::command_line_style::allow_guessing;
  sources src;
  po::parsed_options cli_parsed(nullptr);
  try {
    cli_parsed = po::command_line_parser(argc, argv)
                   .options(cli_desc)
                   .positional(positional)
                   .style(style)
                   .run();
  } catch (const po::unknown_option& e) {
    fail("unknown option '" + e.get_option_name() + "' (see --help)");
  } catch (const po::error& e) {
    fail(std::string(e.what()));
  }
  collect(cli_parsed, src.cli, " on the command line");

  if (src.cli.count("help")) {
    out.kind = config_outcome::help;
    out.text = build_help();
    return out;
  }
  if (src.cli.count("version")) {
    out.kind = config_outcome::version;
    out.text = "dfs-node " DFS_VERSION;
    return out;
  }

  // -- the INI file
  auto config_arg = src.cli.find("config");
  if (config_arg == src.cli.end() || config_arg->second.empty())
    fail("--config FILE is required (see --help)");
  src.file_name = config_arg->second;
  src.file_dir = fs::path(src.file_name).parent_path();
  {
    const std::string what = "cannot read config file '" + src.file_name + "': ";
    std::error_code ec;
    if (fs::is_directory(src.file_name, ec))
      fail(what + errno_text(EISDIR));
    std::ifstream in(src.file_name, std::ios::binary);
    if (!in)
      fail(what + errno_text(errno));
    po::parsed_options file_parsed(nullptr);
    try {
      file_parsed = po::parse_config_file(in, key_options(), false);
    } catch (const po::unknown_option& e) {
      fail("unknown option '" + e.get_option_name() + "' in " + src.file_name);
    } catch (const po::invalid_config_file_syntax& e) {
      fail("invalid line '" + e.tokens() + "' in " + src.file_name);
    } catch (const po::error& e) {
      fail(std::string(e.what()) + " in " + src.file_name);
    }
    if (in.bad())
      fail(what + errno_text(errno));
    collect(file_parsed, src.file, " in " + src.file_name);
  }

  // -- values that need nothing but their text
  node_config& cfg = out.config;

  cfg.name = src.required("node.name");
  if (!valid_node_name(cfg.name))
    fail("[node] name '" + cfg.name + "': expected 1 to 64 characters of A-Z a-z 0-9 . _ -");

  std::string listen = src.required("node.listen");
  if (auto why = host_port_problem(listen))
    fail("[node] listen '" + listen + "': " + *why);
  cfg.listen = *parse_host_port(listen);

  std::string data_dir = src.path("node.data_dir");

  auto count = [&](const std::string& name, uint64_t fallback, uint64_t min, uint64_t max) {
    uint64_t n = number(src, name, fallback);
    if (n < min || n > max)
      fail(label(name) + " = " + std::to_string(n) + ": must be between " + std::to_string(min) +
           " and " + std::to_string(max));
    return n;
  };
  cfg.max_connections =
    static_cast<uint32_t>(count("node.max_connections", cfg.max_connections, 1, 1000000));
  cfg.max_pending_handshakes = static_cast<uint32_t>(
    count("node.max_pending_handshakes", cfg.max_pending_handshakes, 1, 1000000));
  if (auto v = src.get("node.max_buffered_bytes")) {
    auto size = parse_byte_size(v->text);
    if (!size)
      fail("[node] max_buffered_bytes = " + v->text +
           ": expected a byte size such as 268435456, 256MiB or 1GiB");
    if (*size < min_max_buffered_bytes)
      fail("[node] max_buffered_bytes = " + v->text +
           ": must be at least 65MiB, so that the largest frame (64 MiB + 64 KiB) fits");
    cfg.max_buffered_bytes = *size;
  }
  cfg.max_pending_per_source = static_cast<uint32_t>(
    count("node.max_pending_per_source", cfg.max_pending_per_source, 1, 1000000));
  cfg.max_sessions_per_connection = static_cast<uint32_t>(
    count("node.max_sessions_per_connection", cfg.max_sessions_per_connection, 1, 100000));

  if (auto v = src.get("cluster.name")) {
    if (!valid_node_name(v->text))
      fail("[cluster] name '" + v->text + "': expected 1 to 64 characters of A-Z a-z 0-9 . _ -");
    cfg.cluster_name = v->text;
  }

  cfg.secret_file = src.path("cluster.secret_file");

  if (auto v = src.get("cluster.bootstrap")) {
    if (!v->text.empty()) {
      size_t pos = 0;
      for (;;) {
        size_t comma = v->text.find(',', pos);
        std::string item = trim(v->text.substr(pos, comma == std::string::npos ? comma : comma - pos));
        if (auto why = host_port_problem(item))
          fail("[cluster] bootstrap '" + v->text + "': entry '" + item + "': " + *why);
        cfg.bootstrap.push_back(*parse_host_port(item));
        if (comma == std::string::npos)
          break;
        pos = comma + 1;
      }
    }
  }

  uint64_t replicas = number(src, "cluster.replicas", cfg.replicas);
  if (replicas < 1 || replicas > 16)
    fail("[cluster] replicas = " + std::to_string(replicas) + ": must be between 1 and 16");
  cfg.replicas = static_cast<uint32_t>(replicas);

  uint64_t quorum = number(src, "cluster.write_quorum", cfg.write_quorum);
  if (quorum < 1 || quorum > replicas)
    fail("[cluster] write_quorum = " + std::to_string(quorum) + ": must be between 1 and replicas (" +
         std::to_string(replicas) + ")");
  cfg.write_quorum = static_cast<uint32_t>(quorum);

  auto seconds = [&](const std::string& name, uint64_t fallback, uint64_t min, uint64_t max) {
    uint64_t n = number(src, name, fallback);
    if (n < min || n > max)
      fail(label(name) + " = " + std::to_string(n) + ": must be between " + std::to_string(min) +
           " and " + std::to_string(max) + " seconds");
    return n;
  };
  // A byte size (plain, or with the suffixes of parse_byte_size); `expected` ends the error.
  auto bytes = [&](const std::string& name, uint64_t fallback, const std::string& expected) {
    auto v = src.get(name);
    if (!v)
      return fallback;
    auto size = parse_byte_size(v->text);
    if (!size)
      fail(label(name) + " = " + v->text + ": expected " + expected);
    return *size;
  };
  cfg.suspect_after = std::chrono::seconds{seconds("cluster.suspect_after", 3, 1, 3600)};
  cfg.down_after = std::chrono::seconds{seconds("cluster.down_after", 10, 1, 86400)};
  if (cfg.down_after < cfg.suspect_after)
    fail("[cluster] down_after = " + std::to_string(cfg.down_after.count()) +
         ": must not be less than suspect_after (" + std::to_string(cfg.suspect_after.count()) + ")");
  cfg.handshake_timeout = std::chrono::seconds{seconds("node.handshake_timeout", 10, 1, 3600)};
  cfg.idle_timeout = std::chrono::seconds{seconds("node.idle_timeout", 300, 0, 7 * 86400)};
  // Peers send heartbeats every suspect_after/3: an idle timeout longer than suspect_after never
  // closes a live peer link.
  if (cfg.idle_timeout.count() != 0 && cfg.idle_timeout <= cfg.suspect_after)
    fail("[node] idle_timeout = " + std::to_string(cfg.idle_timeout.count()) +
         ": must be 0 (off) or more than [cluster] suspect_after (" +
         std::to_string(cfg.suspect_after.count()) +
         "), or peer links would be closed between two heartbeats");
  cfg.anti_entropy_interval =
    std::chrono::seconds{seconds("cluster.anti_entropy_interval", 10, 1, 86400)};
  // At least min_gc_grace: a put session renews the lease on its chunks every gc_grace/3 and
  // must reach its manifest's quorum within gc_grace of its last touch (actors/put_session.hpp).
  cfg.gc_grace = std::chrono::seconds{
    seconds("cluster.gc_grace", 3600, min_gc_grace.count(), 30 * 86400)};
  cfg.max_clock_skew = std::chrono::seconds{seconds("cluster.max_clock_skew", 60, 1, 86400)};
  if (auto v = src.get("cluster.tls")) {
    if (v->text != "required" && v->text != "off")
      fail("[cluster] tls '" + v->text + "': expected required or off");
    cfg.tls_required = v->text == "required";
  }
  cfg.repair_rate = bytes("cluster.repair_rate", cfg.repair_rate,
                          "bytes per second such as 67108864, 64MiB or 0 for no limit");

  cfg.chunk_size = bytes("storage.chunk_size", cfg.chunk_size,
                         "a byte size such as 4194304, 4096KiB or 4MiB");
  if (cfg.chunk_size < 4 * 1024 || cfg.chunk_size > 64 * 1024 * 1024)
    fail("[storage] chunk_size = " + src.get("storage.chunk_size")->text
         + ": must be between 4KiB and 64MiB");

  // A put holds its window of chunks (actors/session_memory.hpp): one must always fit.
  cfg.session_memory = bytes("node.session_memory", cfg.session_memory,
                             "a byte size such as 536870912, 512MiB or 1GiB");
  if (cfg.session_memory < transfer_window * cfg.chunk_size)
    fail("[node] session_memory = " + std::to_string(cfg.session_memory) + ": must be at least "
         + std::to_string(transfer_window) + " times [storage] chunk_size ("
         + std::to_string(transfer_window * cfg.chunk_size) + " bytes)");

  cfg.capacity = bytes("storage.capacity", cfg.capacity,
                       "a byte size such as 10GiB, 500MB or 0 for no limit");
  cfg.disk_reserve = bytes("storage.reserve", cfg.disk_reserve,
                           "a byte size such as 64MiB, 1GB or 0 for none");
  cfg.scrub_interval =
    std::chrono::seconds{seconds("storage.scrub_interval", 86400, 0, 365 * 86400)};
  cfg.scrub_rate = bytes("storage.scrub_rate", cfg.scrub_rate,
                         "bytes per second such as 33554432, 32MiB or 0 for no limit");

  if (auto v = src.get("log.level")) {
    if (!log::parse_level(v->text, cfg.log_level))
      fail("[log] level '" + v->text + "': expected trace, debug, info, warn or error");
  }

  // -- values that touch the file system, last, so that a typo elsewhere creates nothing
  cfg.secret = load_secret(cfg.secret_file);
  prepare_data_dir(data_dir);
  cfg.data_dir = data_dir;

  out.kind = config_outcome::run;
  return out;
}

config_outcome error_outcome(const std::string& message) {
  config_outcome out;
  out.kind = config_outcome::error;
  out.text = "config: " + one_line(message);
  return out;
}

} // namespace

bool valid_node_name(const std::string& name) {
  if (name.empty() || name.size() > 64)
    return false;
  for (char c : name) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok)
      return false;
  }
  return true;
}

config_outcome parse_node_config(int argc, const char* const* argv) {
  try {
    return parse(argc, argv);
  } catch (const config_error& e) {
    return error_outcome(e.message);
  } catch (const std::exception& e) {
    return error_outcome(e.what());
  } catch (...) {
    return error_outcome("unexpected error while reading the configuration");
  }
}

} // namespace dfs
