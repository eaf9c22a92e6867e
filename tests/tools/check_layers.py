#!/usr/bin/python3
"""Fails when a source file includes a layer above its own (CTest `layers`).

All layers share one include root (the repository), so a compiler would accept any include; this
check keeps the arrows pointing down. The layers, bottom to top (docs/ARCHITECTURE.md, "Layers"):

  layer     may include
  common    common                                   codec, crypto, keys, chunk ids, manifests,
                                                     addresses, errors, logging
  net       common, net                              the protocol library client and node share
  storage   common, storage                          the node's disk: chunk and manifest stores
  config    common, net, config                      the node's configuration (net: frame limits)
  actors    common, net, storage, config, actors     the node: its actors and main()
  client    common, net, client, dfs                 the client library (dfs/ = include/dfs/)
  cli       common, cli, dfs                         the dfs command, on the client library
  include/dfs  dfs                                   the client's public API: standard headers

Usage: check_layers.py [SOURCE_DIR]  (default: the repository this script lives in)
"""
import os
import re
import sys

ALLOWED = {
    "common": {"common"},
    "net": {"common", "net"},
    "storage": {"common", "storage"},
    "config": {"common", "net", "config"},
    "actors": {"common", "net", "storage", "config", "actors"},
    "client": {"common", "net", "client", "dfs"},
    "cli": {"common", "cli", "dfs"},
    "include/dfs": {"dfs"},
}
# Every project include names its folder: "folder/file.hpp". These folders are not layers of
# the node or client but still must not be included from one.
OTHER_FOLDERS = {"tests", "fuzz", "bench", "examples", "scripts"}
KNOWN_FOLDERS = set(ALLOWED) | OTHER_FOLDERS | {"dfs"}
INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"')


def check_file(root, layer, name):
    problems = []
    path = os.path.join(root, layer, name)
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            target = m.group(1)
            folder = target.split("/", 1)[0] if "/" in target else None
            if folder is None:
                problems.append(f"{layer}/{name}:{number}: includes \"{target}\" without its "
                                f"folder; write \"folder/file.hpp\"")
            elif folder in KNOWN_FOLDERS:
                if folder not in ALLOWED[layer]:
                    problems.append(f"{layer}/{name}:{number}: {layer}/ may not include "
                                    f"\"{target}\" ({layer}/ may include only "
                                    f"{', '.join(sorted(ALLOWED[layer]))})")
            else:
                problems.append(f"{layer}/{name}:{number}: includes \"{target}\" from "
                                f"unknown folder {folder}/; add it to the table in "
                                f"tests/tools/check_layers.py")
    return problems


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    problems = []
    checked = 0
    for layer in sorted(ALLOWED):
        folder = os.path.join(root, layer)
        if not os.path.isdir(folder):
            problems.append(f"{layer}/: missing (is {root} the source directory?)")
            continue
        for name in sorted(os.listdir(folder)):
            if name.endswith((".cpp", ".hpp", ".h")):
                checked += 1
                problems += check_file(root, layer, name)
    for p in problems:
        print(p)
    if problems:
        print(f"layers: {len(problems)} include(s) point up or sideways; the table is at the "
              f"top of tests/tools/check_layers.py")
        return 1
    print(f"layers: {checked} files, every include points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
