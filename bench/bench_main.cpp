// dfs-bench: measures a dfs cluster through the client library (include/dfs/client.hpp) and a
// few limits of the machine it runs on. Prints one JSON document on stdout; progress on stderr.
// Not a test: nothing here passes or fails on a timing. scripts/bench.sh runs it.
//
//   dfs-bench [options] [large] [small]        against a running cluster (default: both)
//   dfs-bench loopback [--loopback-size B]     TCP over 127.0.0.1 between two threads
//   dfs-bench spawn [--repeat N] -- CMD ARGS   process start to exit of CMD, N times
//   dfs-bench bytes SIZE                       SIZE in bytes (common/byte_size.hpp), for scripts
//
// Every byte put is generated from a seed (no two chunks alike, so content addressing cannot
// deduplicate them) and every byte got back is checked against it, unless --no-verify.
#include <dfs/client.hpp>

#include "common/byte_size.hpp"
#include "common/json_text.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cctype>
#include <condition_variable>
#include <iostream>
#include <iterator>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

using clock_type = std::chrono::steady_clock;

double seconds_since(clock_type::time_point start) {
  return std::chrono::duration<double>(clock_type::now() - start).count();
}

void note(const std::string& text) { std::fprintf(stderr, "dfs-bench: %s\n", text.c_str()); }

[[noreturn]] void usage_error(const std::string& text) {
  std::fprintf(stderr, "dfs-bench: %s (try --help)\n", text.c_str());
  std::exit(2);
}

const char* const help_text = R"(usage: dfs-bench [options] [large] [small]
       dfs-bench loopback [--loopback-size BYTES] [--count N]
       dfs-bench spawn [--repeat N] -- COMMAND [ARGS...]
       dfs-bench flatten < FILE.json    (prints "path value" lines, for scripts)
       dfs-bench bytes SIZE             (prints SIZE in bytes, for scripts)

modes (default: large small):
  large     put one large file, then get it back: MB/s of each
  small     at each concurrency: --count puts of --small-size bytes, then gets of them:
            ops/s, p50/p99/max latency
  loopback  no cluster: TCP throughput and 4 KiB round trip between two threads over 127.0.0.1
  spawn     no cluster: median wall time from process start to exit of COMMAND

options:
  --node HOST:PORT      a node to talk to; repeat or separate by commas for several (threads
                        take them in turn). Default: $DFS_NODE, then 127.0.0.1:7001
  --secret-file FILE    the cluster secret (default: $DFS_SECRET_FILE)
  --get-node HOST:PORT  large: get from this node (default: the first --node)
  --size BYTES          large: file size (default 1GiB; BYTES as in the node's config: plain,
                        or K k KiB M MiB G GiB T TiB (powers of 1024), KB kB MB GB TB (of 1000))
  --large-phases P      large: put,get (default), put (with --keep: leaves the file), or get
                        (of a file an earlier run put with the same --prefix, --size and --seed)
  --seed N              the content's seed (default: random)
  --small-size BYTES    small: file size (default 4KiB)
  --count N             small: operations of each kind per concurrency level (default 1000);
                        loopback: round trips (default 2000)
  --concurrency LIST    small: comma-separated thread counts, one connection each (default 1,16)
  --max-seconds S       small: stop a phase after S seconds even if --count is not reached
                        (default 60)
  --warmup N            small: untimed put+get per thread before each level (default 2)
  --prefix KEY          keys go under KEY/ (default bench/<random>)
  --keep                do not remove the keys afterwards
  --no-verify           do not check the bytes that come back
  --timeout SECONDS     how long to wait for a node at each step (default 120)
  --loopback-size BYTES loopback: bytes to pump (default 2GiB)
  --repeat N            spawn: runs (default 20)
)";

// --- sizes and numbers -----------------------------------------------------------------------

const char* const size_expected = "expected a size such as 4096, 4KiB, 256MiB or 1GiB";

std::string fmt(double v, int decimals = 2) {
  if (!std::isfinite(v))
    return "null";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

uint64_t peak_rss_kib() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<uint64_t>(ru.ru_maxrss);
}

// --- generated content -----------------------------------------------------------------------

/// Byte i of stream `seed` is byte i % 8 of mix(seed, i / 8): any range can be made, or checked,
/// without the bytes before it. splitmix64's finaliser: a few GB/s on one core.
inline uint64_t mix(uint64_t seed, uint64_t word) {
  uint64_t z = seed + (word + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void generate(uint64_t seed, uint64_t offset, char* out, size_t size) {
  // Unaligned head, whole words, tail.
  while (size > 0 && offset % 8 != 0) {
    uint64_t w = mix(seed, offset / 8);
    *out++ = static_cast<char>(w >> (8 * (offset % 8)));
    ++offset, --size;
  }
  uint64_t word = offset / 8;
  size_t words = size / 8;
  for (size_t i = 0; i < words; ++i) {
    uint64_t w = mix(seed, word + i);
    std::memcpy(out + 8 * i, &w, 8); // little-endian: byte k of the word is byte k of the stream
  }
  out += 8 * words, offset += 8 * words, size -= 8 * words;
  while (size > 0) {
    uint64_t w = mix(seed, offset / 8);
    *out++ = static_cast<char>(w >> (8 * (offset % 8)));
    ++offset, --size;
  }
}

/// True when data equals bytes [offset, offset + size) of stream `seed`.
bool matches(uint64_t seed, uint64_t offset, const char* data, size_t size) {
  char buf[64 * 1024];
  while (size > 0) {
    size_t n = std::min(size, sizeof buf);
    generate(seed, offset, buf, n);
    if (std::memcmp(buf, data, n) != 0)
      return false;
    data += n, offset += n, size -= n;
  }
  return true;
}

// --- options ---------------------------------------------------------------------------------

struct options {
  std::vector<std::string> modes;
  std::vector<std::string> nodes;
  std::string get_node;
  std::string secret_file;
  uint64_t large_size = 1ull << 30;
  std::string large_phases = "put,get"; // or just one of them
  std::optional<uint64_t> seed;
  uint64_t small_size = 4096;
  uint64_t count = 0; // 0: the mode's default
  std::vector<unsigned> concurrency{1, 16};
  double max_seconds = 60;
  unsigned warmup = 2;
  std::string prefix;
  bool keep = false;
  bool verify = true;
  std::chrono::milliseconds timeout{120'000};
  uint64_t loopback_size = 2ull << 30;
  unsigned repeat = 20;
  std::vector<std::string> command;
};

std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in{text};
  while (std::getline(in, item, sep))
    if (!item.empty())
      out.push_back(item);
  return out;
}

options parse_options(int argc, char** argv) {
  options o;
  auto need = [&](int& i) -> std::string {
    if (i + 1 >= argc)
      usage_error(std::string{argv[i]} + " needs a value");
    return argv[++i];
  };
  auto size_of = [&](const std::string& name, const std::string& v) {
    auto s = dfs::parse_byte_size(v);
    if (!s)
      usage_error(name + " '" + v + "': " + size_expected);
    return *s;
  };
  auto number_of = [&](const std::string& name, const std::string& v) {
    char* end = nullptr;
    errno = 0;
    auto n = std::strtoull(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0)
      usage_error(name + " '" + v + "': expected a number");
    return static_cast<uint64_t>(n);
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--") {
      for (++i; i < argc; ++i)
        o.command.push_back(argv[i]);
      break;
    }
    if (a == "-h" || a == "--help") {
      std::fputs(help_text, stdout);
      std::exit(0);
    } else if (a == "--node") {
      for (auto& n : split(need(i), ','))
        o.nodes.push_back(n);
    } else if (a == "--get-node") {
      o.get_node = need(i);
    } else if (a == "--secret-file") {
      o.secret_file = need(i);
    } else if (a == "--size") {
      o.large_size = size_of(a, need(i));
    } else if (a == "--large-phases") {
      o.large_phases = need(i);
      if (o.large_phases != "put,get" && o.large_phases != "put" && o.large_phases != "get")
        usage_error("--large-phases: expected put,get or put or get");
    } else if (a == "--seed") {
      o.seed = number_of(a, need(i));
    } else if (a == "--small-size") {
      o.small_size = size_of(a, need(i));
    } else if (a == "--count") {
      o.count = number_of(a, need(i));
    } else if (a == "--concurrency") {
      o.concurrency.clear();
      for (auto& c : split(need(i), ',')) {
        auto n = number_of(a, c);
        if (n == 0 || n > 1024)
          usage_error("--concurrency: each level must be 1..1024");
        o.concurrency.push_back(static_cast<unsigned>(n));
      }
      if (o.concurrency.empty())
        usage_error("--concurrency needs at least one level");
    } else if (a == "--max-seconds") {
      o.max_seconds = static_cast<double>(number_of(a, need(i)));
    } else if (a == "--warmup") {
      o.warmup = static_cast<unsigned>(number_of(a, need(i)));
    } else if (a == "--prefix") {
      o.prefix = need(i);
    } else if (a == "--keep") {
      o.keep = true;
    } else if (a == "--no-verify") {
      o.verify = false;
    } else if (a == "--timeout") {
      o.timeout = std::chrono::milliseconds{number_of(a, need(i)) * 1000};
    } else if (a == "--loopback-size") {
      o.loopback_size = size_of(a, need(i));
    } else if (a == "--repeat") {
      o.repeat = static_cast<unsigned>(std::max<uint64_t>(1, number_of(a, need(i))));
    } else if (!a.empty() && a[0] == '-') {
      usage_error("unknown option " + a);
    } else if (a == "large" || a == "small" || a == "loopback" || a == "spawn") {
      o.modes.push_back(a);
    } else {
      usage_error("unknown mode '" + a + "'");
    }
  }
  if (o.modes.empty())
    o.modes = {"large", "small"};
  if (o.nodes.empty()) {
    const char* env = std::getenv("DFS_NODE");
    o.nodes.push_back(env != nullptr && *env != '\0' ? env : "127.0.0.1:7001");
  }
  for (auto& n : o.nodes)
    if (!dfs::parse_node_address(n))
      usage_error("--node '" + n + "': expected HOST:PORT");
  if (o.get_node.empty())
    o.get_node = o.nodes.front();
  if (o.secret_file.empty())
    if (const char* env = std::getenv("DFS_SECRET_FILE"); env != nullptr)
      o.secret_file = env;
  if (o.prefix.empty()) {
    std::random_device rd;
    char buf[32];
    std::snprintf(buf, sizeof buf, "bench/%08x", rd());
    o.prefix = buf;
  }
  return o;
}

bool has_mode(const options& o, const char* m) {
  return std::find(o.modes.begin(), o.modes.end(), m) != o.modes.end();
}

// --- latency statistics ----------------------------------------------------------------------

struct op_stats {
  uint64_t ops = 0;
  uint64_t errors = 0;
  double seconds = 0;
  std::vector<double> latencies_ms;
  std::string first_error;

  std::string json() const {
    auto sorted = latencies_ms;
    std::sort(sorted.begin(), sorted.end());
    auto pct = [&](double p) {
      if (sorted.empty())
        return std::nan("");
      auto idx = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size()))) ;
      return sorted[std::min(sorted.size() - 1, idx == 0 ? 0 : idx - 1)];
    };
    double mean = 0;
    for (double v : sorted)
      mean += v;
    mean = sorted.empty() ? std::nan("") : mean / static_cast<double>(sorted.size());
    std::string out = "{\"ops\":" + std::to_string(ops) + ",\"errors\":" + std::to_string(errors)
                      + ",\"seconds\":" + fmt(seconds, 3)
                      + ",\"ops_per_s\":" + fmt(seconds > 0 ? static_cast<double>(ops) / seconds : 0, 1)
                      + ",\"p50_ms\":" + fmt(pct(50), 3) + ",\"p99_ms\":" + fmt(pct(99), 3)
                      + ",\"max_ms\":" + fmt(sorted.empty() ? std::nan("") : sorted.back(), 3)
                      + ",\"mean_ms\":" + fmt(mean, 3);
    if (!first_error.empty())
      out += ",\"first_error\":" + dfs::json_string(first_error);
    return out + "}";
  }
};

// --- large -----------------------------------------------------------------------------------

struct cluster_access {
  const options& o;
  std::string secret;

  std::optional<dfs::client> connect(const std::string& node, std::string& why) const {
    dfs::client c;
    if (auto ok = c.connect(node, secret, o.timeout); !ok) {
      why = node + ": " + ok.error().message;
      return std::nullopt;
    }
    return c;
  }
};

std::string run_large(const cluster_access& cluster, bool& failed) {
  const auto& o = cluster.o;
  const uint64_t size = o.large_size;
  const uint64_t seed = o.seed ? *o.seed : std::random_device{}() * 0x100000001ull + 17;
  const bool do_put = o.large_phases != "get";
  const bool do_get = o.large_phases != "put";
  const std::string key = o.prefix + "/large";
  auto mbps = [](uint64_t bytes, double s) { return s > 0 ? static_cast<double>(bytes) / s / 1e6 : 0; };
  std::string out = "{\"size\":" + std::to_string(size) + ",\"key\":" + dfs::json_string(key);
  std::string why;
  std::optional<dfs::client> c;

  if (do_put) {
    c = cluster.connect(o.nodes.front(), why);
    if (!c) {
      failed = true;
      note("large: cannot connect to " + why);
      return out + ",\"error\":" + dfs::json_string(why) + "}";
    }
    note("large: put " + std::to_string(size) + " bytes to " + o.nodes.front());
    uint64_t offset = 0;
    dfs::read_fn source = [&](char* buf, size_t want, size_t& got) -> std::optional<dfs::error> {
      got = static_cast<size_t>(std::min<uint64_t>(want, size - offset));
      generate(seed, offset, buf, got);
      offset += got;
      return std::nullopt;
    };
    auto t0 = clock_type::now();
    auto stored = c->put_from(key, source, size);
    double put_s = seconds_since(t0);
    if (!stored) {
      failed = true;
      note("large: put failed: " + stored.error().message);
      return out + ",\"put\":{\"error\":" + dfs::json_string(stored.error().message) + "}}";
    }
    note("large: put " + fmt(mbps(size, put_s), 1) + " MB/s (" + fmt(put_s, 2) + " s, "
         + std::to_string(stored->copies) + " copies)");
    out += ",\"put\":{\"seconds\":" + fmt(put_s, 3) + ",\"mb_per_s\":" + fmt(mbps(size, put_s), 1)
           + ",\"copies\":" + std::to_string(stored->copies) + "}";
  }

  if (do_get) {
    if (!c || o.get_node != o.nodes.front()) {
      c = cluster.connect(o.get_node, why);
      if (!c) {
        failed = true;
        note("large: cannot connect to " + why);
        return out + ",\"get\":{\"error\":" + dfs::json_string(why) + "}}";
      }
    }
    note("large: get from " + o.get_node);
    uint64_t received = 0;
    bool intact = true;
    dfs::write_fn sink = [&](const char* data, size_t n) -> std::optional<dfs::error> {
      if (o.verify && intact && !matches(seed, received, data, n))
        intact = false;
      received += n;
      return std::nullopt;
    };
    auto t0 = clock_type::now();
    auto got = c->get_to(key, sink);
    double get_s = seconds_since(t0);
    if (!got) {
      failed = true;
      note("large: get failed: " + got.error().message);
      out += ",\"get\":{\"error\":" + dfs::json_string(got.error().message) + "}";
    } else {
      if (!intact || received != size) {
        failed = true;
        note("large: the bytes that came back differ from those put");
      }
      note("large: get " + fmt(mbps(size, get_s), 1) + " MB/s (" + fmt(get_s, 2) + " s)");
      out += ",\"get\":{\"seconds\":" + fmt(get_s, 3) + ",\"mb_per_s\":" + fmt(mbps(size, get_s), 1)
             + ",\"chunks\":" + std::to_string(got->chunks) + "}";
    }
    out += std::string{",\"verified\":"} + (o.verify ? (intact ? "true" : "false") : "null");
  }
  if (!o.keep && c)
    if (auto removed = c->remove(key); !removed)
      note("large: cannot remove " + key + ": " + removed.error().message);
  return out + "}";
}

// --- small -----------------------------------------------------------------------------------

/// Starts `threads` workers together and waits for them.
class barrier {
public:
  explicit barrier(unsigned n) : left_(n) {}
  void arrive_and_wait() {
    std::unique_lock<std::mutex> lock{m_};
    if (--left_ == 0)
      cv_.notify_all();
    else
      cv_.wait(lock, [&] { return left_ == 0; });
  }

private:
  std::mutex m_;
  std::condition_variable cv_;
  unsigned left_;
};

std::string run_small_level(const cluster_access& cluster, unsigned threads, bool& failed) {
  const auto& o = cluster.o;
  const uint64_t count = o.count == 0 ? 1000 : o.count;
  const size_t size = static_cast<size_t>(o.small_size);
  const std::string base = o.prefix + "/small-c" + std::to_string(threads) + "/";
  const uint64_t seed = std::random_device{}() * 0x100000001ull + threads;
  auto key_of = [&](uint64_t i) { return base + std::to_string(i); };
  auto seed_of = [&](uint64_t i) { return mix(seed, i); };

  // Every thread its own connection, made before the clock starts.
  std::vector<dfs::client> clients(threads);
  for (unsigned t = 0; t < threads; ++t) {
    std::string why;
    auto c = cluster.connect(o.nodes[t % o.nodes.size()], why);
    if (!c) {
      failed = true;
      note("small: cannot connect to " + why);
      return "{\"concurrency\":" + std::to_string(threads) + ",\"error\":" + dfs::json_string(why) + "}";
    }
    clients[t] = std::move(*c);
  }
  // Warm-up: each connection's first requests are not timed.
  for (unsigned t = 0; t < threads; ++t)
    for (unsigned w = 0; w < o.warmup; ++w) {
      auto k = base + "warmup-" + std::to_string(t) + "-" + std::to_string(w);
      std::string bytes(size, 'w'), back;
      if (auto ok = clients[t].put(k, bytes); ok)
        clients[t].get(k, back);
      if (!o.keep)
        clients[t].remove(k);
    }

  std::vector<char> stored(count, 0);
  auto phase = [&](bool is_put) {
    op_stats total;
    std::vector<op_stats> per(threads);
    std::atomic<uint64_t> next{0};
    barrier start{threads + 1};
    std::atomic<bool> stop{false};
    std::vector<std::thread> pool;
    clock_type::time_point t0;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        auto& st = per[t];
        auto& c = clients[t];
        std::string buf(size, '\0');
        std::string back;
        st.latencies_ms.reserve(static_cast<size_t>(count / threads + 16));
        start.arrive_and_wait();
        for (;;) {
          if (stop.load(std::memory_order_relaxed))
            break;
          auto i = next.fetch_add(1);
          if (i >= count)
            break;
          if (!is_put && !stored[i])
            continue;
          std::optional<dfs::error> err;
          clock_type::time_point op0;
          if (is_put) {
            generate(seed_of(i), 0, buf.data(), size); // outside the timed part
            op0 = clock_type::now();
            auto r = c.put(key_of(i), buf);
            if (!r)
              err = r.error();
          } else {
            op0 = clock_type::now();
            auto r = c.get(key_of(i), back);
            if (!r)
              err = r.error();
          }
          double ms = std::chrono::duration<double, std::milli>(clock_type::now() - op0).count();
          if (!err && !is_put && o.verify
              && (back.size() != size || !matches(seed_of(i), 0, back.data(), size)))
            err = dfs::error{dfs::error_code::corrupt, "bytes of " + key_of(i) + " differ"};
          if (err) {
            ++st.errors;
            if (st.first_error.empty())
              st.first_error = err->message;
            if (!c.connected()) { // a dropped connection: make a new one and go on
              c.connect(o.nodes[t % o.nodes.size()], cluster.secret, o.timeout);
            }
            continue;
          }
          if (is_put)
            stored[i] = 1;
          ++st.ops;
          st.latencies_ms.push_back(ms);
        }
      });
    t0 = clock_type::now();
    start.arrive_and_wait();
    // A watchdog: past max_seconds no new operation starts.
    std::thread watchdog{[&] {
      while (!stop.load()) {
        if (seconds_since(t0) >= o.max_seconds) {
          stop = true;
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds{20});
      }
    }};
    for (auto& th : pool)
      th.join();
    total.seconds = seconds_since(t0);
    bool hit_limit = stop.exchange(true);
    watchdog.join();
    for (auto& st : per) {
      total.ops += st.ops;
      total.errors += st.errors;
      if (total.first_error.empty())
        total.first_error = st.first_error;
      total.latencies_ms.insert(total.latencies_ms.end(), st.latencies_ms.begin(),
                                st.latencies_ms.end());
    }
    if (hit_limit)
      note(std::string{"small: "} + (is_put ? "put" : "get") + " phase stopped after "
           + fmt(o.max_seconds, 0) + " s (--max-seconds)");
    return total;
  };

  note("small: c=" + std::to_string(threads) + ": " + std::to_string(count) + " puts of "
       + std::to_string(size) + " bytes");
  auto puts = phase(true);
  note("small: c=" + std::to_string(threads) + ": put " + fmt(puts.ops / std::max(puts.seconds, 1e-9), 1)
       + " ops/s; now the gets");
  auto gets = phase(false);
  note("small: c=" + std::to_string(threads) + ": get " + fmt(gets.ops / std::max(gets.seconds, 1e-9), 1)
       + " ops/s");
  if (puts.errors > 0 || gets.errors > 0) {
    failed = true;
    note("small: errors: " + (puts.first_error.empty() ? gets.first_error : puts.first_error));
  }
  if (!o.keep) {
    note("small: removing the keys");
    // Removal is not measured; spread it over the connections.
    std::atomic<uint64_t> next{0};
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t)
      pool.emplace_back([&, t] {
        for (uint64_t i; (i = next.fetch_add(1)) < count;)
          if (stored[i])
            clients[t].remove(key_of(i));
      });
    for (auto& th : pool)
      th.join();
  }
  return "{\"concurrency\":" + std::to_string(threads) + ",\"size\":" + std::to_string(size)
         + ",\"put\":" + puts.json() + ",\"get\":" + gets.json() + "}";
}

// --- loopback --------------------------------------------------------------------------------

/// TCP between two threads over 127.0.0.1: one pumps `bytes`, the other drains them; then 4 KiB
/// request/response round trips. The ceiling for anything a local cluster sends itself.
std::string run_loopback(const options& o, bool& failed) {
  auto fail = [&](const std::string& what) {
    failed = true;
    note("loopback: " + what + ": " + std::strerror(errno));
    return "{\"error\":" + dfs::json_string(what) + "}";
  };
  int listener = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener < 0 || ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0
      || ::listen(listener, 1) != 0
      || ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return fail("cannot listen on 127.0.0.1");
  int client = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (client < 0 || ::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return fail("cannot connect over loopback");
  int server = ::accept(listener, nullptr, nullptr);
  if (server < 0)
    return fail("cannot accept over loopback");
  ::close(listener);
  int one = 1;
  setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

  const uint64_t total = o.loopback_size;
  const size_t block = 1 << 20;
  note("loopback: pumping " + std::to_string(total) + " bytes");
  auto t0 = clock_type::now();
  std::thread reader{[&] {
    std::vector<char> buf(block);
    uint64_t got = 0;
    while (got < total) {
      auto n = ::recv(server, buf.data(), buf.size(), 0);
      if (n <= 0)
        break;
      got += static_cast<uint64_t>(n);
    }
  }};
  {
    std::vector<char> buf(block, 'x');
    uint64_t sent = 0;
    while (sent < total) {
      auto n = ::send(client, buf.data(), static_cast<size_t>(std::min<uint64_t>(block, total - sent)),
                      MSG_NOSIGNAL);
      if (n <= 0)
        break;
      sent += static_cast<uint64_t>(n);
    }
  }
  reader.join();
  double s = seconds_since(t0);
  double mbps = static_cast<double>(total) / s / 1e6;
  note("loopback: " + fmt(mbps, 0) + " MB/s");

  // Round trips: 4 KiB there, 4 KiB back, as a small get would.
  const uint64_t trips = o.count == 0 ? 2000 : o.count;
  std::vector<double> rtt;
  rtt.reserve(trips);
  std::thread echo{[&] {
    std::vector<char> buf(4096);
    for (uint64_t i = 0; i < trips; ++i) {
      size_t got = 0;
      while (got < buf.size()) {
        auto n = ::recv(server, buf.data() + got, buf.size() - got, 0);
        if (n <= 0)
          return;
        got += static_cast<size_t>(n);
      }
      if (::send(server, buf.data(), buf.size(), MSG_NOSIGNAL) <= 0)
        return;
    }
  }};
  std::vector<char> msg(4096, 'y');
  for (uint64_t i = 0; i < trips; ++i) {
    auto r0 = clock_type::now();
    if (::send(client, msg.data(), msg.size(), MSG_NOSIGNAL) <= 0)
      break;
    size_t got = 0;
    while (got < msg.size()) {
      auto n = ::recv(client, msg.data() + got, msg.size() - got, 0);
      if (n <= 0)
        break;
      got += static_cast<size_t>(n);
    }
    rtt.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - r0).count());
  }
  echo.join();
  ::close(client);
  ::close(server);
  std::sort(rtt.begin(), rtt.end());
  double p50 = rtt.empty() ? std::nan("") : rtt[rtt.size() / 2];
  double p99 = rtt.empty() ? std::nan("") : rtt[std::min(rtt.size() - 1, rtt.size() * 99 / 100)];
  note("loopback: 4 KiB round trip p50 " + fmt(p50, 1) + " us");
  return "{\"bytes\":" + std::to_string(total) + ",\"seconds\":" + fmt(s, 3)
         + ",\"mb_per_s\":" + fmt(mbps, 1) + ",\"rtt_4k_p50_us\":" + fmt(p50, 1)
         + ",\"rtt_4k_p99_us\":" + fmt(p99, 1) + "}";
}

// --- spawn -----------------------------------------------------------------------------------

/// Wall time from posix_spawn to waitpid of `command`, run `repeat` times (its output goes to
/// /dev/null). Measures what a user waits for a one-shot command, start-up included.
std::string run_spawn(const options& o, bool& failed) {
  if (o.command.empty())
    usage_error("spawn needs a command after --");
  std::vector<char*> argv;
  for (auto& a : o.command)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<double> ms;
  unsigned failures = 0;
  int last_status = 0;
  for (unsigned i = 0; i < o.repeat; ++i) {
    pid_t pid = 0;
    auto t0 = clock_type::now();
    if (posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) {
      failed = true;
      note("spawn: cannot start " + o.command[0] + ": " + std::strerror(errno));
      return "{\"error\":\"cannot start the command\"}";
    }
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    ms.push_back(std::chrono::duration<double, std::milli>(clock_type::now() - t0).count());
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      ++failures, last_status = status;
  }
  posix_spawn_file_actions_destroy(&actions);
  if (failures > 0) {
    failed = true;
    note("spawn: " + std::to_string(failures) + " of " + std::to_string(o.repeat)
         + " runs failed (last status " + std::to_string(last_status) + ")");
  }
  std::sort(ms.begin(), ms.end());
  std::string cmd;
  for (auto& a : o.command)
    cmd += (cmd.empty() ? "" : " ") + a;
  return "{\"command\":" + dfs::json_string(cmd) + ",\"repeat\":" + std::to_string(o.repeat)
         + ",\"failures\":" + std::to_string(failures) + ",\"median_ms\":"
         + fmt(ms[ms.size() / 2], 3) + ",\"min_ms\":" + fmt(ms.front(), 3)
         + ",\"max_ms\":" + fmt(ms.back(), 3) + "}";
}

// --- flatten ---------------------------------------------------------------------------------

/// Reads one JSON document and prints each scalar as "path value", one per line (paths joined
/// with dots, array items by index; strings unquoted, newlines as spaces), so that a shell script
/// can read dfs-bench's own output without a JSON tool.
class flattener {
public:
  explicit flattener(std::string text) : s_(std::move(text)) {}

  bool run() {
    skip();
    if (!value(""))
      return false;
    skip();
    return i_ == s_.size();
  }

private:
  void skip() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_])))
      ++i_;
  }
  void emit(const std::string& path, const std::string& v) {
    std::printf("%s %s\n", path.empty() ? "." : path.c_str(), v.c_str());
  }
  static std::string join(const std::string& a, const std::string& b) {
    return a.empty() ? b : a + "." + b;
  }
  bool string(std::string& out) {
    if (i_ >= s_.size() || s_[i_] != '"')
      return false;
    for (++i_; i_ < s_.size(); ++i_) {
      char c = s_[i_];
      if (c == '"') {
        ++i_;
        return true;
      }
      if (c == '\\' && i_ + 1 < s_.size()) {
        char e = s_[++i_];
        if (e == 'u' && i_ + 4 < s_.size()) {
          out += '?';
          i_ += 4;
        } else
          out += e == 'n' || e == 't' || e == 'r' ? ' ' : e;
      } else
        out += c == '\n' ? ' ' : c;
    }
    return false;
  }
  bool value(const std::string& path) {
    skip();
    if (i_ >= s_.size())
      return false;
    char c = s_[i_];
    if (c == '{' || c == '[') {
      bool object = c == '{';
      char close = object ? '}' : ']';
      ++i_;
      skip();
      if (i_ < s_.size() && s_[i_] == close) {
        ++i_;
        return true;
      }
      for (size_t n = 0;; ++n) {
        skip();
        std::string name = std::to_string(n);
        if (object) {
          name.clear();
          if (!string(name))
            return false;
          skip();
          if (i_ >= s_.size() || s_[i_++] != ':')
            return false;
        }
        if (!value(join(path, name)))
          return false;
        skip();
        if (i_ < s_.size() && s_[i_] == ',') {
          ++i_;
          continue;
        }
        if (i_ < s_.size() && s_[i_] == close) {
          ++i_;
          return true;
        }
        return false;
      }
    }
    if (c == '"') {
      std::string v;
      if (!string(v))
        return false;
      emit(path, v);
      return true;
    }
    size_t start = i_;
    while (i_ < s_.size() && s_[i_] != ',' && s_[i_] != '}' && s_[i_] != ']'
           && !std::isspace(static_cast<unsigned char>(s_[i_])))
      ++i_;
    if (i_ == start)
      return false;
    emit(path, s_.substr(start, i_ - start));
    return true;
  }

  std::string s_;
  size_t i_ = 0;
};

} // namespace

int main(int argc, char** argv) {
  if (argc == 2 && std::string{argv[1]} == "flatten") {
    std::string text{std::istreambuf_iterator<char>{std::cin}, std::istreambuf_iterator<char>{}};
    if (!flattener{std::move(text)}.run()) {
      note("flatten: the input is not one JSON document");
      return 1;
    }
    return 0;
  }
  // The scripts ask here what a size means, so that they read sizes exactly as dfs-bench does.
  if (argc == 3 && std::string{argv[1]} == "bytes") {
    auto size = dfs::parse_byte_size(argv[2]);
    if (!size)
      usage_error("bytes '" + std::string{argv[2]} + "': " + size_expected);
    std::printf("%llu\n", static_cast<unsigned long long>(*size));
    return 0;
  }
  auto o = parse_options(argc, argv);
  bool failed = false;
  std::string out = "{\"tool\":\"dfs-bench\"";

  bool needs_cluster = has_mode(o, "large") || has_mode(o, "small");
  if (needs_cluster) {
    if (o.secret_file.empty())
      usage_error("no secret file: give --secret-file FILE or set DFS_SECRET_FILE");
    auto secret = dfs::load_secret_file(o.secret_file);
    if (!secret)
      usage_error(secret.error().message);
    cluster_access cluster{o, *secret};
    out += ",\"nodes\":[";
    for (size_t i = 0; i < o.nodes.size(); ++i)
      out += (i ? "," : "") + dfs::json_string(o.nodes[i]);
    out += "],\"prefix\":" + dfs::json_string(o.prefix) + ",\"verify\":" + (o.verify ? "true" : "false");
    if (has_mode(o, "large"))
      out += ",\"large\":" + run_large(cluster, failed);
    if (has_mode(o, "small")) {
      out += ",\"small\":[";
      for (size_t i = 0; i < o.concurrency.size(); ++i)
        out += (i ? "," : "") + run_small_level(cluster, o.concurrency[i], failed);
      out += "]";
    }
  }
  if (has_mode(o, "loopback"))
    out += ",\"loopback\":" + run_loopback(o, failed);
  if (has_mode(o, "spawn"))
    out += ",\"spawn\":" + run_spawn(o, failed);
  out += ",\"client_peak_rss_kib\":" + std::to_string(peak_rss_kib()) + "}";
  std::puts(out.c_str());
  return failed ? 1 : 0;
}
