// The commands of the dfs CLI: each turns its arguments into one client operation and its result
// into output. Local files are opened before connecting, so that a typo in a path is reported
// as such and costs no connection.
#include "cli/cli.hpp"

#include "common/log.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dfs::cli {

std::string human_size(uint64_t bytes) {
  static const char* const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  if (bytes < 1024)
    return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  while (value >= 1024 && unit + 1 < std::size(units))
    value /= 1024, ++unit;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", value, units[unit]);
  return buf;
}

namespace {

/// Messages name keys, which may hold control characters: escaped like ls's keys.
void say(const std::string& message) {
  std::fprintf(stderr, "dfs: %s\n", log::printable(message).c_str());
}

int failed(const error& e) {
  say(e.message);
  return exit_failed;
}

/// A key the node would refuse is the user's typo: a usage error, found before connecting.
bool key_ok(const std::string& key) {
  if (auto why = dfs::check_key(key)) {
    say("invalid key '" + key + "': " + *why);
    return false;
  }
  return true;
}

/// Connects; on failure prints why and returns the exit code.
std::optional<int> connect(client& c, const settings& s) {
  if (auto done = c.connect(s.node, s.secret, s.timeout); !done)
    return failed(done.error());
  return std::nullopt;
}

void print_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
}

/// A progress line on stderr, redrawn in place with \r. Only on a terminal (a log file or a
/// pipe would collect hundreds of lines) and only for transfers big enough to take a while.
class progress_line {
public:
  progress_line(const char* verb, const std::string& key)
    : enabled_(::isatty(STDERR_FILENO) == 1), verb_(verb) {
    // A long key would wrap the line and defeat \r; its tail is the informative part.
    auto shown = log::printable(key);
    label_ = shown.size() <= 40 ? shown : "..." + shown.substr(shown.size() - 37);
  }
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;

  void update(uint64_t done, uint64_t total) {
    if (!enabled_)
      return;
    bool known = total != client::unknown_size;
    if ((known ? total : done) <= threshold)
      return;
    auto now = std::chrono::steady_clock::now();
    if (shown_ && now - last_draw_ < std::chrono::milliseconds{200} && done != total)
      return;
    last_draw_ = now;
    std::string line = verb_ + " " + label_ + "  " + human_size(done);
    if (known) {
      line += " / " + human_size(total) + "  ";
      line += std::to_string(total == 0 ? 100 : done * 100 / total) + "%";
    }
    draw(line);
  }

  /// Erases the line, so the summary or error that follows stands alone.
  void finish() {
    if (shown_)
      std::fprintf(stderr, "\r%s\r", std::string(width_, ' ').c_str());
    shown_ = false;
    width_ = 0;
  }

  ~progress_line() { finish(); }

  progress_fn callback() {
    return [this](uint64_t done, uint64_t total) { update(done, total); };
  }

private:
  static constexpr uint64_t threshold = 8u << 20;

  void draw(const std::string& line) {
    std::string padding(width_ > line.size() ? width_ - line.size() : 0, ' ');
    std::fprintf(stderr, "\r%s%s", line.c_str(), padding.c_str());
    std::fflush(stderr);
    width_ = std::max(width_, line.size());
    shown_ = true;
  }

  bool enabled_;
  std::string verb_;
  std::string label_;
  bool shown_ = false;
  size_t width_ = 0;
  std::chrono::steady_clock::time_point last_draw_{};
};

} // namespace

int run_put(const settings& s, const std::vector<std::string>& args) {
  const auto& path = args.at(0);
  const auto& key = args.at(1);
  if (!key_ok(key))
    return exit_usage;
  auto source = local_source::open(path);
  if (!source)
    return failed(source.error());
  client c;
  if (auto code = connect(c, s))
    return *code;
  progress_line progress{"put", key};
  auto stored = c.put(key, *source, progress.callback());
  progress.finish();
  if (!stored)
    return failed(stored.error());
  if (s.json) {
    print_line(to_json(key, *stored));
    return exit_ok;
  }
  print_line("stored " + log::printable(key) + " (" + std::to_string(stored->size) + " bytes, "
             + std::to_string(stored->copies) + " copies)");
  return exit_ok;
}

int run_get(const settings& s, const std::vector<std::string>& args) {
  const auto& key = args.at(0);
  auto path = args.size() > 1 ? args[1] : std::string{};
  if (!key_ok(key))
    return exit_usage;
  if (s.json && path == "-") {
    say("get --json needs a file: stdout carries the content");
    return exit_usage;
  }
  auto sink = local_sink::open(path, key);
  if (!sink) {
    say(sink.error().message);
    return sink.error().code == error_code::bad_request ? exit_usage : exit_failed;
  }
  client c;
  if (auto code = connect(c, s))
    return *code;
  progress_line progress{"get", key};
  // On failure the sink removes its temp file: no partial file is left behind.
  auto got = c.get(key, *sink, progress.callback());
  progress.finish();
  if (!got)
    return failed(got.error());
  if (s.json)
    print_line(to_json(key, *got));
  return exit_ok;
}

int run_rm(const settings& s, const std::vector<std::string>& args) {
  const auto& key = args.at(0);
  if (!key_ok(key))
    return exit_usage;
  client c;
  if (auto code = connect(c, s))
    return *code;
  auto removed = c.remove(key);
  if (!removed)
    return failed(removed.error());
  if (s.json)
    print_line(to_json(key, *removed));
  return exit_ok;
}

int run_decommission(const settings& s, const std::vector<std::string>& args) {
  client c;
  if (auto code = connect(c, s))
    return *code;
  if (auto done = c.decommission(args.at(0)); !done)
    return failed(done.error());
  print_line("decommissioning " + args.at(0) + ": it hands its data over, then shows as left");
  return exit_ok;
}

int run_ls(const settings& s, const std::vector<std::string>& args) {
  auto prefix = args.empty() ? std::string{} : args[0];
  client c;
  if (auto code = connect(c, s))
    return *code;
  auto found = c.list(prefix);
  if (!found)
    return failed(found.error());
  if (s.json) {
    print_line(to_json(*found));
    return exit_ok;
  }
  // One line per key: a key's control characters and backslashes are escaped (README, "dfs
  // ls"), so that a key cannot break a line or forge one. --json has JSON's own escapes.
  for (auto& e : *found)
    print_line(std::to_string(e.size) + "\t" + log::printable(e.key));
  return exit_ok;
}

int run_stat(const settings& s, const std::vector<std::string>& args) {
  const auto& key = args.at(0);
  if (!key_ok(key))
    return exit_usage;
  client c;
  if (auto code = connect(c, s))
    return *code;
  auto st = c.stat(key);
  if (!st)
    return failed(st.error());
  if (s.json) {
    print_line(to_json(*st));
    return exit_ok;
  }
  print_line("key: " + log::printable(st->key));
  print_line("size: " + std::to_string(st->size));
  // A small file lives in its manifest (common/manifest.hpp): it has no chunks.
  print_line("chunks: " + std::to_string(st->chunks)
             + (st->chunks == 0 && st->size > 0 ? " (stored inline)" : ""));
  print_line("version: " + st->version);
  print_line("copies: " + std::to_string(st->copies));
  print_line("sha256: " + st->sha256);
  return exit_ok;
}

int run_status(const settings& s, const std::vector<std::string>&) {
  client c;
  if (auto code = connect(c, s))
    return *code;
  auto st = c.status();
  if (!st)
    return failed(st.error());
  if (s.json) {
    print_line(to_json(*st));
    return exit_ok;
  }
  size_t name_width = 4, address_width = 7, state_width = 5; // the header words
  for (auto& m : st->members) {
    name_width = std::max(name_width, m.name.size());
    address_width = std::max(address_width, m.address.size());
    state_width = std::max(state_width, m.state.size());
  }
  auto padded = [](const std::string& text, size_t width) {
    return text + std::string(width - text.size() + 2, ' ');
  };
  auto row = [&](const std::string& name, const std::string& address, const std::string& state,
                 const std::string& used, const std::string& capacity) {
    print_line(padded(name, name_width) + padded(address, address_width)
               + padded(state, state_width) + padded(used, 10) + capacity);
  };
  print_line("node: " + st->node);
  row("NAME", "ADDRESS", "STATE", "USED", "CAPACITY");
  for (auto& m : st->members)
    row(m.name, m.address, m.state, human_size(m.used),
        m.capacity == 0 ? std::string{"unlimited"} : human_size(m.capacity));
  print_line("under_replicated: " + std::to_string(st->under_replicated));
  print_line("over_replicated: " + std::to_string(st->over_replicated));
  for (auto& why : st->collection_waits)
    print_line("collection waits: " + why);
  return exit_ok;
}

namespace {

/// Creates `path` for a secret: mode 0600, never replacing a file (O_EXCL: a secret or
/// credential in use must never be lost by accident). -1 after saying why.
int create_private_file(const std::string& path, const char* command) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      say(path + " already exists; " + command + " does not overwrite it");
    else
      say("cannot write " + path + ": " + std::strerror(errno));
  }
  return fd;
}

/// Writes `text` into a file create_private_file made, durably, and closes it; on failure
/// removes the file and says why.
bool finish_private_file(int fd, const std::string& path, const std::string& text) {
  bool ok = ::fchmod(fd, 0600) == 0 // the umask may only narrow it; be explicit anyway
            && ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size())
            && ::fsync(fd) == 0;
  int err = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    err = errno;
  }
  if (!ok) {
    ::unlink(path.c_str());
    say("cannot write " + path + ": " + std::strerror(err));
  }
  return ok;
}

/// Drops a file create_private_file made when nothing will be written to it.
void abandon_private_file(int fd, const std::string& path) {
  ::close(fd);
  ::unlink(path.c_str());
}

int run_user_add(const settings& s, const std::string& name) {
  // Checked here as well as on the node: the name makes the default file name.
  if (auto why = check_user_name(name)) {
    say("bad user name '" + name + "': " + *why);
    return exit_usage;
  }
  auto path = s.out.empty() ? name + ".credential" : s.out;
  // The file first: a user whose credential could not be written would be of no use.
  int fd = create_private_file(path, "user add");
  if (fd < 0)
    return exit_failed;
  client c;
  auto added = [&]() -> result<user_info> {
    if (auto done = c.connect(s.node, s.secret, s.timeout); !done)
      return done.error();
    return c.add_user(name, s.read_only, s.prefix);
  }();
  if (!added) {
    abandon_private_file(fd, path);
    return failed(added.error());
  }
  if (!finish_private_file(fd, path, credential_file_text(*added))) {
    say("user " + name + " was added but its credential is lost; remove it with dfs user rm "
        + name);
    return exit_failed;
  }
  if (s.json)
    print_line(to_json(*added, path));
  else
    print_line("added user " + name + (s.read_only ? " (read-only)" : "")
               + (s.prefix.empty() ? "" : ", prefix " + s.prefix) + "; credential in " + path);
  return exit_ok;
}

int run_user_ls(const settings& s) {
  client c;
  if (auto code = connect(c, s))
    return *code;
  auto users = c.list_users();
  if (!users)
    return failed(users.error());
  if (s.json) {
    print_line(to_json(*users));
    return exit_ok;
  }
  for (auto& u : *users)
    print_line(u.name + "\t" + u.access_key + "\t" + (u.read_only ? "read-only" : "read-write")
               + "\t" + (u.prefix.empty() ? "*" : u.prefix + "*"));
  return exit_ok;
}

int run_user_rm(const settings& s, const std::string& name) {
  client c;
  if (auto code = connect(c, s))
    return *code;
  if (auto done = c.remove_user(name); !done)
    return failed(done.error());
  return exit_ok;
}

} // namespace

int run_user(const settings& s, const std::vector<std::string>& args) {
  const auto& what = args.at(0);
  if (what == "add" && args.size() == 2)
    return run_user_add(s, args[1]);
  if (what == "ls" && args.size() == 1)
    return run_user_ls(s);
  if (what == "rm" && args.size() == 2)
    return run_user_rm(s, args[1]);
  say("usage: dfs user add NAME [--read-only] [--prefix P] [--json] [--out FILE] | dfs user ls "
      "[--json] | dfs user rm NAME");
  return exit_usage;
}

int run_keygen(const std::vector<std::string>& args) {
  const auto& path = args.at(0);
  int fd = create_private_file(path, "keygen");
  if (fd < 0)
    return exit_failed;
  auto secret = generate_secret();
  if (!secret) {
    abandon_private_file(fd, path);
    say(secret.error().message);
    return exit_failed;
  }
  return finish_private_file(fd, path, *secret + "\n") ? exit_ok : exit_failed;
}

} // namespace dfs::cli
