"""The soak's clients: each runs puts, overwrites, gets, rms, stats and lists through random
nodes, on a few hundred keys of which a few are hot (so clients hit the same key at once), with
small (inline), single-chunk and multi-chunk files. Every operation goes into the history with
its start and end time, its arguments and its outcome.

Each value is unique in the run and says what it is: its first line is
"dfs-soak <value id> <size>", the rest is SHAKE-128 of the id. So a get can tell which write it
read, and whether it read that write's bytes exactly.
"""

import hashlib
import json
import os
import random
import threading

SMALL, MEDIUM, LARGE = (40, 16 << 10), (80 << 10, 900 << 10), (1 << 20, 6 << 20)


def content(value_id, size):
    header = f"dfs-soak {value_id} {size}\n".encode()
    if size <= len(header):
        raise ValueError("a value is at least its header long")
    return header + hashlib.shake_128(value_id.encode()).digest(size - len(header))


def identify(data):
    """(value id, intact) of bytes a get returned; (None, False) if they are no soak value."""
    line, _, _ = data[:200].partition(b"\n")
    parts = line.split(b" ")
    if len(parts) != 3 or parts[0] != b"dfs-soak" or not parts[2].isdigit():
        return None, False
    value_id, size = parts[1].decode(errors="replace"), int(parts[2])
    try:
        return value_id, len(data) == size and data == content(value_id, size)
    except ValueError:
        return value_id, False


def outcome_of(rc, err, node_addr):
    """What a CLI exit says about the operation's effect (see the history format)."""
    if rc == 0:
        return "ok"
    if rc is None:
        return "unknown"
    if err.startswith("dfs: not found: "):
        return "not_found"
    # Only the client's own connection failing proves nothing reached a node (a node relays
    # errors of its own links, which may say "cannot connect" too).
    if err.startswith(f"dfs: cannot connect to {node_addr}:") or \
            err.startswith("dfs: authentication failed"):
        return "refused"
    if "did not answer" in err or "connection" in err or "timed out" in err:
        return "unknown"
    return "fail"


def get_value(cluster, node, key, path):
    """`dfs get KEY PATH --json` through `node`: (rc, stderr, fields), where fields has the
    value id, whether its bytes are intact, the version and the size served (empty unless
    rc is 0)."""
    rc, out, err = cluster.dfs(node, ["get", key, path, "--json"], timeout=120)
    if rc != 0:
        return rc, err, {}
    meta = json.loads(out)
    with open(path, "rb") as f:
        value_id, intact = identify(f.read())
    os.unlink(path)
    return rc, err, {"value": value_id, "intact": intact, "version": meta["version"],
                     "size": meta["size"]}


class Client(threading.Thread):
    def __init__(self, number, cluster, history, keys, hot_keys, seed, stop, scratch):
        super().__init__(name=f"client{number}", daemon=True)
        self.number = number
        self.cluster = cluster
        self.history = history
        self.keys = keys
        self.hot = keys[:hot_keys]
        self.rng = random.Random(f"{seed}/client/{number}")
        self.stop = stop
        self.scratch = os.path.join(scratch, f"client{number}")
        os.makedirs(self.scratch, exist_ok=True)
        self.seq = 0
        self.counts = {}
        self.error = None

    def run(self):
        ops = [(self.put, 30), (self.get, 35), (self.rm, 9), (self.stat, 16), (self.ls, 4)]
        actions, weights = zip(*ops)
        try:
            while not self.stop.is_set():
                self.seq += 1
                node = self.rng.choice(self.cluster.nodes)
                action = self.rng.choices(actions, weights)[0]
                action(node)
        except Exception as e:  # the run fails, naming it; the other clients go on
            self.error = f"{type(e).__name__}: {e}"

    def pick_key(self):
        return self.rng.choice(self.hot if self.rng.random() < 0.5 else self.keys)

    def record(self, op, node, start, rc, err, **fields):
        outcome = outcome_of(rc, err, node.addr)
        rec = {"type": "op", "client": self.number, "seq": self.seq, "op": op,
               "node": node.name, "start": start, "end": self.history.now(),
               "outcome": outcome, "error": err if outcome != "ok" else None}
        rec.update(fields)
        self.history.write(rec)
        self.counts[(op, outcome)] = self.counts.get((op, outcome), 0) + 1
        return outcome

    def call(self, node, args):
        return self.cluster.dfs(node, args, timeout=120)

    def put(self, node):
        key = self.pick_key()
        lo, hi = self.rng.choices([SMALL, MEDIUM, LARGE], [70, 22, 8])[0]
        size = self.rng.randint(lo, hi)
        value_id = f"c{self.number}.{self.seq}"
        path = os.path.join(self.scratch, "put")
        with open(path, "wb") as f:
            f.write(content(value_id, size))
        start = self.history.now()
        rc, out, err = self.call(node, ["put", path, key, "--json"])
        version = json.loads(out)["version"] if rc == 0 else None
        self.record("put", node, start, rc, err, key=key, value=value_id, size=size,
                    version=version)

    def get(self, node):
        key = self.pick_key()
        path = os.path.join(self.scratch, "got")
        start = self.history.now()
        rc, err, fields = get_value(self.cluster, node, key, path)
        self.record("get", node, start, rc, err, key=key, **fields)

    def rm(self, node):
        key = self.pick_key()
        start = self.history.now()
        rc, out, err = self.call(node, ["rm", key, "--json"])
        version = json.loads(out)["version"] if rc == 0 else None
        self.record("rm", node, start, rc, err, key=key, version=version)

    def stat(self, node):
        key = self.pick_key()
        start = self.history.now()
        rc, out, err = self.call(node, ["stat", key, "--json"])
        fields = {"key": key}
        if rc == 0:
            st = json.loads(out)
            fields.update(version=st["version"], size=st["size"])
        self.record("stat", node, start, rc, err, **fields)

    def ls(self, node):
        prefix = self.rng.choice(["", "k0", "k1", "k00", "k1" + str(self.rng.randint(0, 9))])
        start = self.history.now()
        rc, out, err = self.call(node, ["ls", prefix, "--json"])
        fields = {"prefix": prefix}
        if rc == 0:
            fields["entries"] = {e["key"]: e["version"] for e in json.loads(out)}
        self.record("ls", node, start, rc, err, **fields)


def read_final(cluster, history, keys, scratch):
    """After convergence: every key read through every node, for the checker's final state.
    A read that gets neither the file nor "not found" is tried twice more (the CLI's own
    timeout on a loaded machine is not the cluster's state)."""
    path = os.path.join(scratch, "final")
    for key in keys:
        for node in cluster.nodes:
            for _ in range(3):
                rc, err, fields = get_value(cluster, node, key, path)
                outcome = outcome_of(rc, err, node.addr)
                if outcome in ("ok", "not_found"):
                    break
            rec = {"type": "final", "key": key, "node": node.name, "outcome": outcome,
                   "value": None, "version": None, "intact": None,
                   "error": err if rc else None}
            fields.pop("size", None)
            rec.update(fields)
            history.write(rec)
