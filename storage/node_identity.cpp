#include "storage/node_identity.hpp"

#include "common/error.hpp"
#include "storage/chunk_store.hpp" // disk:: helpers
#include "common/crypto.hpp"

#include <stdexcept>

namespace dfs {

namespace {

constexpr size_t id_bytes = 16;
// The temporary file sits next to node.id (data_dir/tmp/ may not exist yet) under this prefix.
constexpr const char* tmp_prefix = "node.id.tmp";

} // namespace

bool is_node_id(const std::string& text) {
  if (text.size() != 2 * id_bytes)
    return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
      return false;
  return true;
}

std::string load_or_create_node_id(const std::string& data_dir) {
  if (data_dir.empty())
    throw std::runtime_error("no data directory given for the node id");
  auto path = data_dir + "/node.id";
  auto fail = [](const caf::error& err) { throw std::runtime_error(describe(err)); };
  if (auto err = disk::make_dirs(data_dir))
    fail(err);
  if (auto err = disk::remove_leftovers(data_dir, tmp_prefix))
    fail(err);
  auto bytes = disk::read_whole(path);
  if (bytes) {
    std::string text(bytes->begin(), bytes->end());
    if (!text.empty() && text.back() == '\n') // written with one, and editors add one
      text.pop_back();
    if (!is_node_id(text))
      throw std::runtime_error(path + " does not hold a node id (32 lowercase hex digits); "
                               "restore it, or remove it to start as a new node");
    return text;
  }
  if (code_of(bytes.error()) != errc::not_found)
    fail(bytes.error());
  uint8_t raw[id_bytes];
  random_bytes(raw, sizeof(raw));
  auto id = to_hex(raw, sizeof(raw));
  auto line = id + "\n";
  if (auto err = disk::write_durably(data_dir, tmp_prefix, path, line.data(), line.size()))
    fail(err);
  return id;
}

} // namespace dfs
