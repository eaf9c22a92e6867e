"""Reads what a node's data_dir holds, straight from the files, for the checks after
convergence: the chunk files, and every manifest file (docs/STORAGE.md, "Manifest files":
"DFSM", u16 format, SHA-256 of the payload, then the manifest encoding, with little-endian
integers and u32-length-prefixed strings).
"""

import hashlib
import os
import struct


class Reader:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, n):
        if self.pos + n > len(self.data):
            raise ValueError("truncated")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self):
        return self.take(1)[0]

    def u16(self):
        return struct.unpack("<H", self.take(2))[0]

    def u32(self):
        return struct.unpack("<I", self.take(4))[0]

    def u64(self):
        return struct.unpack("<Q", self.take(8))[0]

    def str(self):
        return self.take(self.u32())


def parse_manifest(data):
    r = Reader(data)
    if r.take(4) != b"DFSM":
        raise ValueError("not a manifest file")
    r.u16()  # format 1 and 2 share everything read here
    r.take(32)
    key = r.str().decode(errors="replace")
    r.u64()  # size
    r.take(32)  # content hash
    hlc = r.u64()
    node_id = r.str().decode(errors="replace")
    deleted = r.u8() != 0
    chunks = []
    for _ in range(r.u32()):
        chunks.append(r.take(32).hex())
        r.u32()  # the chunk's length
    return {"key": key, "version": f"{hlc}@{node_id}", "deleted": deleted, "chunks": chunks}


def read_node(data_dir, verify=False):
    """{"chunks": [ids], "manifests": [{"key", "version", "deleted", "chunks"}],
    "damaged": [manifest files that do not parse], "corrupt": [ids]}; "corrupt" (chunk files
    whose bytes do not hash to their id, the name) only with verify, which reads every chunk."""
    chunks, manifests, damaged, corrupt = [], [], [], []
    for dirpath, _, files in os.walk(os.path.join(data_dir, "chunks")):
        for f in files:
            if len(f) != 64:
                continue
            chunks.append(f)
            if verify:
                with open(os.path.join(dirpath, f), "rb") as fh:
                    if hashlib.sha256(fh.read()).hexdigest() != f:
                        corrupt.append(f)
    for dirpath, _, files in os.walk(os.path.join(data_dir, "manifests")):
        for f in files:
            path = os.path.join(dirpath, f)
            try:
                with open(path, "rb") as fh:
                    manifests.append(parse_manifest(fh.read()))
            except (OSError, ValueError):
                damaged.append(path)
    return {"chunks": sorted(chunks), "manifests": manifests, "damaged": damaged,
            "corrupt": sorted(corrupt)}

