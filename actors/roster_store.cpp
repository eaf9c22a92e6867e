#include "actors/roster_store.hpp"

#include "actors/roster.hpp"
#include "common/error.hpp"
#include "common/host_port.hpp"
#include "storage/chunk_store.hpp" // disk:: helpers
#include "common/crypto.hpp"

#include <limits>
#include <stdexcept>

namespace dfs {

namespace {

// The temporary file sits next to the roster under this prefix (see disk::write_durably).
constexpr const char* tmp_prefix = "roster.tmp";
// "dfsR": the file's kind, then its format, so that a later format is told apart.
constexpr uint32_t magic = 0x52736664;
constexpr uint16_t format = 1;

std::runtime_error damaged(const std::string& path, const std::string& why) {
  return std::runtime_error(
    path + " is damaged (" + why
    + "); restore it from a backup. Removing it makes the node forget every member that is "
      "away now: do that only when every member is up, or it may collect a removed file's "
      "tombstone while a member that still holds the file is away");
}

} // namespace

std::string roster_path(const std::string& data_dir) {
  return data_dir + "/roster";
}

std::vector<roster_entry> load_roster(const std::string& data_dir) {
  auto path = roster_path(data_dir);
  if (auto err = disk::remove_leftovers(data_dir, tmp_prefix))
    throw std::runtime_error(describe(err));
  auto bytes = disk::read_whole(path);
  if (!bytes) {
    if (code_of(bytes.error()) == errc::not_found)
      return {};
    throw std::runtime_error(describe(bytes.error()));
  }
  constexpr size_t digest_size = std::tuple_size<sha256_digest>::value;
  if (bytes->size() < digest_size)
    throw damaged(path, "too short");
  auto body_size = bytes->size() - digest_size;
  sha256_digest stored;
  std::copy(bytes->begin() + body_size, bytes->end(), stored.begin());
  if (!constant_time_equal(sha256(bytes->data(), body_size), stored))
    throw damaged(path, "its checksum does not match");
  reader r{bytes->data(), body_size};
  if (r.u32() != magic || r.u16() != format)
    throw damaged(path, "not a roster file of a format this version reads");
  roster_msg msg;
  msg.read(r);
  if (!r.done())
    throw damaged(path, "malformed");
  if (msg.entries.size() > max_roster_entries)
    throw damaged(path, "more than " + std::to_string(max_roster_entries) + " entries");
  // The clock may have gone back since a version was saved: only the shape is checked here.
  auto no_bound = std::numeric_limits<uint64_t>::max() - max_clock_ahead_ms;
  for (auto& e : msg.entries) {
    // Files written before the one address grammar hold IPv6 addresses without brackets.
    if (auto address = parse_saved_host_port(e.address))
      e.address = address->to_string();
    if (auto problem = roster_entry_problem(e, no_bound))
      throw damaged(path, *problem);
  }
  return std::move(msg.entries);
}

caf::error save_roster(const std::string& data_dir, const std::vector<roster_entry>& entries) {
  byte_buffer out;
  writer w{out};
  w.u32(magic);
  w.u16(format);
  roster_msg{entries}.write(w);
  auto digest = sha256(out.data(), out.size());
  w.fixed(digest);
  return disk::write_durably(data_dir, tmp_prefix, roster_path(data_dir), out.data(), out.size());
}

} // namespace dfs
