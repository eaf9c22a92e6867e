// JSON output of the dfs CLI, written by hand: a few small shapes do not justify a library.
#include "cli/cli.hpp"

#include "common/json_text.hpp"

namespace dfs::cli {

namespace {

std::string field(const char* name, const std::string& value) {
  return json_string(name) + ":" + json_string(value);
}

std::string field(const char* name, uint64_t value) {
  return json_string(name) + ":" + std::to_string(value);
}

} // namespace

std::string to_json(const std::vector<list_entry>& entries) {
  std::string out = "[";
  for (size_t i = 0; i < entries.size(); ++i) {
    auto& e = entries[i];
    out += i == 0 ? "{" : ",{";
    out += field("key", e.key) + "," + field("size", e.size) + "," + field("version", e.version);
    out += "}";
  }
  return out + "]";
}

std::string to_json(const file_info& s) {
  return "{" + field("key", s.key) + "," + field("size", s.size) + ","
         + field("chunks", uint64_t{s.chunks}) + "," + field("version", s.version) + ","
         + field("copies", uint64_t{s.copies}) + "," + field("sha256", s.sha256) + "}";
}

std::string to_json(const cluster_status& s) {
  std::string out = "{" + field("node", s.node) + ",\"members\":[";
  for (size_t i = 0; i < s.members.size(); ++i) {
    auto& m = s.members[i];
    out += i == 0 ? "{" : ",{";
    out += field("name", m.name) + "," + field("node_id", m.node_id) + ","
           + field("address", m.address) + "," + field("state", m.state) + ","
           + field("chunks", m.chunks) + "," + field("bytes", m.bytes) + ","
           + field("used", m.used) + "," + field("capacity", m.capacity);
    out += "}";
  }
  out += "]," + field("under_replicated", s.under_replicated) + ","
         + field("over_replicated", s.over_replicated) + ",\"collection_waits\":[";
  for (size_t i = 0; i < s.collection_waits.size(); ++i)
    out += (i == 0 ? "" : ",") + json_string(s.collection_waits[i]);
  return out + "]}";
}

std::string to_json(const std::vector<user_info>& users) {
  std::string out = "[";
  for (size_t i = 0; i < users.size(); ++i) {
    auto& u = users[i];
    out += i == 0 ? "{" : ",{";
    out += field("name", u.name) + "," + field("access_key", u.access_key) + ","
           + "\"read_only\":" + (u.read_only ? "true" : "false") + "," + field("prefix", u.prefix);
    out += "}";
  }
  return out + "]";
}

std::string to_json(const user_info& added, const std::string& credential_file) {
  return "{" + field("name", added.name) + "," + field("credential_file", credential_file) + ","
         + field("access_key", added.access_key) + "," + field("secret_key", added.secret_key)
         + "}";
}

std::string to_json(const std::string& key, const put_info& stored) {
  return "{" + field("key", key) + "," + field("size", stored.size) + ","
         + field("copies", uint64_t{stored.copies}) + "," + field("version", stored.version) + "}";
}

std::string to_json(const std::string& key, const get_info& got) {
  return "{" + field("key", key) + "," + field("size", got.size) + ","
         + field("chunks", uint64_t{got.chunks}) + "," + field("version", got.version) + "}";
}

std::string to_json(const std::string& key, const remove_info& removed) {
  return "{" + field("key", key) + "," + field("version", removed.version) + "}";
}

} // namespace dfs::cli
