#include "actors/collection_gate.hpp"

#include <map>
#include <set>

namespace dfs {

namespace {

bool away(member_state s) {
  return s == member_state::suspect || s == member_state::down;
}

} // namespace

std::vector<std::string> ids_waited_for(const std::vector<member_view>& members) {
  std::vector<std::string> out;
  for (auto& m : members)
    if (away(m.state))
      out.push_back(m.node_id);
  return out;
}

std::vector<std::string> collection_waits(const std::vector<member_view>& members,
                                          const std::string& self_id) {
  std::vector<std::string> out;
  std::set<std::string> known_left;
  std::map<std::string, std::string> names;
  for (auto& m : members) {
    names[m.node_id] = m.name;
    if (m.state == member_state::left)
      known_left.insert(m.node_id);
    if (away(m.state))
      out.push_back(m.name + " is " + to_string(m.state));
  }
  for (auto& m : members) {
    if (m.node_id == self_id || !m.readable())
      continue;
    if (!m.waits_for) {
      out.push_back(m.name + " has not said yet whom it waits for");
      continue;
    }
    for (auto& id : *m.waits_for) {
      if (known_left.count(id))
        continue;
      auto name = names.find(id);
      out.push_back(m.name + " waits for "
                    + (name != names.end() ? name->second + " (" + id + ")" : id));
    }
  }
  return out;
}

} // namespace dfs
