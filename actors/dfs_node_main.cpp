// dfs-node: one node of a dfs cluster. See README.md for the configuration keys.
#include "actors/node.hpp"
#include "config/node_config.hpp"

#include <cstdio>

int main(int argc, char** argv) {
  auto outcome = dfs::parse_node_config(argc, argv);
  switch (outcome.kind) {
    case dfs::config_outcome::help:
    case dfs::config_outcome::version:
      std::printf("%s\n", outcome.text.c_str());
      return 0;
    case dfs::config_outcome::error:
      std::fprintf(stderr, "%s\n", outcome.text.c_str());
      return 2;
    case dfs::config_outcome::run:
      break;
  }
  return dfs::run_node(outcome.config);
}
