#include "storage/manifest_store.hpp"

#include <cerrno>
#include <unistd.h>

#include "common/error.hpp"
#include "common/log.hpp"
#include "storage/chunk_store.hpp" // disk:: helpers

#include <algorithm>
#include <array>
#include <filesystem>
#include <system_error>

namespace fs = std::filesystem;

namespace dfs {

namespace {

constexpr std::array<uint8_t, 4> file_magic{{'D', 'F', 'S', 'M'}};
// 2 added inline files (manifest::inline_data); files of format 1 are still read.
constexpr uint16_t file_format_version = 2;
constexpr size_t header_size = 4 + 2 + 32; // magic, version, SHA-256 of the payload
constexpr const char* tmp_prefix = "manifest";

std::string key_hash_hex(const std::string& key) { return to_hex(sha256(key.data(), key.size())); }

} // namespace

byte_buffer manifest_file_bytes(const manifest& m) {
  byte_buffer payload;
  writer pw{payload};
  encode(pw, m);
  byte_buffer out;
  out.reserve(header_size + payload.size());
  writer w{out};
  w.fixed(file_magic);
  w.u16(file_format_version);
  w.fixed(sha256(payload.data(), payload.size()));
  w.raw(payload.data(), payload.size());
  return out;
}

caf::expected<manifest> parse_manifest_file(const byte_buffer& bytes) {
  auto damaged = [](const std::string& why) { return make_error(errc::corrupt, why); };
  if (bytes.size() < header_size)
    return damaged("the file is shorter than its header");
  reader r{bytes};
  std::array<uint8_t, 4> magic{};
  r.fixed(magic);
  if (magic != file_magic)
    return damaged("the file does not start with DFSM");
  auto format = r.u16();
  if (format != file_format_version && format != 1)
    return damaged("unknown format version " + std::to_string(format));
  sha256_digest sum{};
  r.fixed(sum);
  const char* payload = bytes.data() + header_size;
  size_t payload_size = bytes.size() - header_size;
  if (sha256(payload, payload_size) != sum)
    return damaged("the contents do not match their checksum");
  reader pr{payload, payload_size};
  manifest m;
  if (format == 1)
    decode_without_inline_data(pr, m); // written before inline files existed
  else
    decode(pr, m);
  if (!pr.done())
    return damaged("the manifest does not decode");
  // A listing's form of an inline file's manifest, without the bytes, is never written.
  if (m.is_inline() && m.inline_data.empty())
    return damaged("the manifest of an inline file lacks its bytes");
  // put() never writes an invalid key (empty, or with a NUL): a file holding one is not ours.
  if (auto why = invalid_key_reason(m.key))
    return damaged("the manifest's key is invalid: " + *why);
  return m;
}

caf::expected<manifest_store> manifest_store::open(const std::string& data_dir) {
  if (data_dir.empty())
    return make_error(errc::bad_request, "no data directory given for the manifest store");
  manifest_store st{data_dir};
  auto root = data_dir + "/manifests";
  for (auto& dir : {root, data_dir + "/tmp"})
    if (auto err = disk::make_dirs(dir))
      return err;
  if (auto err = disk::remove_leftovers(data_dir + "/tmp", tmp_prefix))
    return err;
  std::error_code ec;
  for (fs::recursive_directory_iterator it{root, ec}, end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it.depth() != 1 || !it->is_regular_file(type_ec))
      continue;
    auto path = it->path().string();
    auto bytes = disk::read_whole(path);
    auto m = bytes ? parse_manifest_file(*bytes) : caf::expected<manifest>{bytes.error()};
    // A file whose name is not its key's hash, or that sits in another fan-out directory than
    // the one put() writes to (and remove() unlinks from), is in the wrong place: trust neither.
    if (m && (key_hash_hex(m->key) != it->path().filename().string()
              || it->path().parent_path().filename().string() != key_hash_hex(m->key).substr(0, 2)))
      m = make_error(errc::corrupt, "the file is not where the hash of its key puts it");
    if (!m) {
      // Skipped, not deleted: a later put for the key overwrites it, and until then it stays
      // for someone to inspect.
      DFS_WARN("store", "skipping manifest file " << path << ": " << describe(m.error()));
      continue;
    }
    auto held = st.index_.find(m->key);
    if (held == st.index_.end() || m->newer_than(held->second))
      st.hold(*m);
  }
  if (ec)
    return disk::from_errno(ec.value(), "cannot list directory", root);
  DFS_INFO("store", "loaded " << st.index_.size() << " manifests from " << root);
  return st;
}

std::string manifest_store::path_of(const std::string& key) const {
  auto hex = key_hash_hex(key);
  return data_dir_ + "/manifests/" + hex.substr(0, 2) + "/" + hex;
}

caf::error manifest_store::put(const manifest& m, const room_check& room) {
  write_batch batch{data_dir_};
  if (auto err = put(m, batch, room))
    return err;
  return batch.commit();
}

void manifest_store::hold(const manifest& m) {
  auto i = index_.find(m.key);
  if (i != index_.end())
    inline_bytes_ -= sealed_inline_size(i->second);
  index_[m.key] = without_inline_data(m);
  inline_bytes_ += sealed_inline_size(m);
}

caf::error manifest_store::put(const manifest& m, write_batch& batch, const room_check& room) {
  if (auto why = invalid_key_reason(m.key))
    return make_error(errc::bad_request, "invalid manifest key: " + *why);
  if (m.is_inline() && m.inline_data.empty())
    return make_error(errc::bad_request, "the manifest for key " + m.key
                                           + " lacks the bytes of its inline file");
  if (auto err = check_clock_bound(m))
    return err;
  // Against what is held, then what is about to be held (staged in a batch not committed yet).
  auto held = index_.find(m.key);
  if (held != index_.end() && !m.newer_than(held->second))
    return same_write(m, held->second) ? caf::none : superseded_error(m.key, held->second.version);
  auto staged = staged_.find(m.key);
  if (staged != staged_.end() && !m.newer_than(staged->second))
    return same_write(m, staged->second) ? caf::none
                                         : superseded_error(m.key, staged->second.version);
  // Only what the write adds needs room: a new version replaces the bytes of the one held.
  // (Until the rename the two files coexist: 64 KiB at most per inline file replaced, for the
  // few of one group-commit batch, which the disk reserve covers: see chunk_store::disk_reserve.)
  uint64_t replaced = held != index_.end() ? sealed_inline_size(held->second) : 0;
  if (room && m.inline_data.size() > replaced)
    if (auto err = room(m.inline_data.size() - replaced))
      return err;
  auto bytes = manifest_file_bytes(m);
  // Never write what open() could not read back (an over-long node id, chunk lengths that do
  // not add up to the size): check with the very parser that will read it.
  if (!parse_manifest_file(bytes))
    return make_error(errc::bad_request, "the manifest for key " + m.key
                                           + " is inconsistent (chunk lengths, size or node id)");
  auto path = path_of(m.key);
  if (auto err = disk::make_dirs(fs::path{path}.parent_path().string()))
    return err;
  // Files of one batch are renamed in the order they were staged, and these callbacks run in
  // that order too, so the newest staged manifest of a key is the one left on disk and held.
  // Runs once for every staged write, from on_durable or when the batch fails.
  auto unstage = [this, key = m.key, v = m.version, size = m.inline_data.size()] {
    staged_inline_bytes_ -= size;
    auto i = staged_.find(key);
    if (i != staged_.end() && i->second.version == v)
      staged_.erase(i);
  };
  auto on_durable = [this, m, unstage] {
    unstage();
    auto i = index_.find(m.key);
    if (i == index_.end() || m.newer_than(i->second))
      hold(m);
  };
  if (auto err = batch.stage(data_dir_ + "/tmp", tmp_prefix, path, bytes.data(), bytes.size(),
                             page_cache::use, std::move(on_durable), std::move(unstage)))
    return err;
  staged_[m.key] = without_inline_data(m);
  staged_inline_bytes_ += m.inline_data.size();
  return caf::none;
}

caf::error manifest_store::check_clock_bound(const manifest& m) const {
  auto wall = wall_();
  if (m.version.hlc <= saturating_add(wall, max_ahead_ms_))
    return caf::none;
  auto ahead_s = (m.version.hlc - wall) / 1000;
  return make_error(errc::clock_skew,
                    "refused the manifest of '" + m.key + "': its version " + m.version.to_string()
                      + " is " + std::to_string(ahead_s) + " s ahead of this node's clock, more "
                      + "than [cluster] max_clock_skew (" + std::to_string(max_ahead_ms_ / 1000)
                      + " s); the writing node's clock, or this one's, is wrong");
}

void manifest_store::set_clock_bound(std::chrono::milliseconds max_ahead,
                                     std::function<uint64_t()> wall) {
  max_ahead_ms_ = static_cast<uint64_t>(max_ahead.count());
  wall_ = std::move(wall);
}

uint64_t manifest_store::newest_hlc() const {
  uint64_t newest = 0;
  for (auto& kv : index_)
    newest = std::max(newest, kv.second.version.hlc);
  return newest;
}

caf::error manifest_store::remove(const std::string& key, const version& held_version) {
  auto i = index_.find(key);
  if (i == index_.end() || !(i->second.version == held_version))
    return caf::none;
  auto path = path_of(key);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return disk::from_errno(errno, "cannot remove", path);
  forget(i);
  return caf::none;
}

void manifest_store::forget(std::map<std::string, manifest>::iterator i) {
  inline_bytes_ -= sealed_inline_size(i->second);
  index_.erase(i);
}

caf::expected<manifest> manifest_store::get(const std::string& key) {
  auto i = index_.find(key);
  if (i == index_.end())
    return make_error(errc::not_found, "no manifest for key " + key);
  if (!i->second.is_inline())
    return i->second;
  // An inline file's bytes stay on disk, not in memory: read them back from its file.
  auto path = path_of(key);
  auto bytes = disk::read_whole(path);
  if (!bytes && code_of(bytes.error()) != errc::not_found)
    return bytes.error(); // the disk refused (EIO, EMFILE...): the file may well be fine
  auto m = bytes ? parse_manifest_file(*bytes) : caf::expected<manifest>{bytes.error()};
  if (m && m->key != key)
    m = make_error(errc::corrupt, "the file holds the manifest of another key");
  if (!m) {
    // Damaged or gone. Forgotten, so that this node counts as lacking the key: anti-entropy
    // (or the scrubber) copies it back from a replica, and that put overwrites the bad file.
    DFS_WARN("store", "manifest file " << path << " is damaged: " << describe(m.error())
                                       << "; forgetting it until a replica restores it");
    forget(i);
    return make_error(errc::corrupt, "the manifest of " + key + " is damaged on this node");
  }
  // Another version than the one held only if a failed batch renamed it into place: the file
  // is the truth, as it would be after a restart.
  if (!(m->version == i->second.version))
    hold(*m);
  return m;
}

std::vector<manifest> manifest_store::list(const std::string& prefix) const {
  std::vector<manifest> out;
  // std::map orders keys byte by byte, so all keys with the prefix form one run.
  for (auto i = index_.lower_bound(prefix);
       i != index_.end() && i->first.compare(0, prefix.size(), prefix) == 0; ++i)
    out.push_back(i->second);
  return out;
}

std::vector<std::string> manifest_store::keys() const {
  std::vector<std::string> out;
  out.reserve(index_.size());
  for (auto& kv : index_)
    out.push_back(kv.first);
  return out;
}

} // namespace dfs
