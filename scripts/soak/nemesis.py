"""The nemesis: on a schedule drawn from the run's seed, it alternates calm windows (every node
up and seeing every member up, nothing injected) with faults, often two at once on different
nodes: kill -9 and restart (now and then after longer than gc_grace); SIGSTOP for longer than
down_after, then SIGCONT; a node that flaps (stopped and continued again and again, suspect but
never down); partitions (one node isolated, a majority/minority split, or two sides joined only
by a bridge node), now and then for longer than gc_grace; a disk filled past the reserve, then
freed; a byte flipped in a chunk file; a clock stepped
forward or back, within and beyond max_clock_skew, then reset.

The schedule depends only on the seed; when each step happens depends on how long the cluster
takes to settle, which the history records.
"""

import os
import random
import threading
import time

KINDS = {"kill": 20, "pause": 15, "flap": 10, "partition": 20, "fill": 10, "flip": 15,
         "clock": 15}
SETTLE_DEADLINE = 120


class Nemesis(threading.Thread):
    def __init__(self, cluster, history, seed, duration, down_after, gc_grace, reserve,
                 kinds=None):
        super().__init__(name="nemesis", daemon=True)
        self.cluster = cluster
        self.history = history
        self.rng = random.Random(f"{seed}/nemesis")
        self.duration = duration
        self.down_after = down_after
        self.gc_grace = gc_grace
        self.reserve = reserve
        self.kinds = {k: w for k, w in KINDS.items() if kinds is None or k in kinds}
        self.injected = {}
        self.unsettled = []
        self.settle_times = []  # seconds from each heal until every node saw every member up
        self.broken_calm = []  # why a calm window was not whole any more at its end
        self.pending = []  # (heal at, heal function, record) of the faults now injected
        self.stopping = threading.Event()
        self.error = None

    def run(self):
        try:
            self.schedule()
        except Exception as e:  # the harness reports it and still cleans up
            self.error = f"{type(e).__name__}: {e}"
            self.heal_everything()

    def schedule(self):
        began = time.monotonic()
        while time.monotonic() - began < self.duration:
            took, reason = self.cluster.wait_settled(SETTLE_DEADLINE, need_replication=False)
            if took is None:
                # Not settled: a liveness problem worth reporting; heal again and go on.
                self.unsettled.append(reason)
                self.history.write({"type": "note", "time": self.history.now(),
                                    "what": "not settled after healing", "reason": reason})
                self.heal_everything()
                continue
            self.settle_times.append(took)
            calm_start = self.history.now()
            if self.stopping.wait(self.rng.uniform(2, 8)):  # the calm window's length
                return
            calm_end = self.history.now()
            # Whole at its start is not whole throughout: a member that turned suspect meanwhile
            # (a starved machine) may still show. Such a window is not recorded as calm.
            whole, reason = self.cluster.settled(need_replication=False)
            if whole:
                self.history.write({"type": "calm", "start": calm_start, "end": calm_end,
                                    "settled_after": round(took, 2)})
            else:
                self.broken_calm.append(reason)
            self.inject_round()

    def inject_round(self):
        first = self.rng.choices(list(self.kinds), list(self.kinds.values()))[0]
        faults = [first]
        if self.rng.random() < 0.4:
            others = [k for k in self.kinds if k != "partition" or first != "partition"]
            faults.append(self.rng.choice(others))
        free = list(self.cluster.nodes)
        self.rng.shuffle(free)
        pending = self.pending
        for kind in faults:
            node = free.pop()
            hold, heal, detail, nodes = getattr(self, "inject_" + kind)(node)
            start = self.history.now()
            self.injected[kind] = self.injected.get(kind, 0) + 1
            record = {"type": "nemesis", "fault": kind, "start": start, "nodes": nodes,
                      "detail": detail}
            pending.append((time.monotonic() + hold, heal, record))
        pending.sort(key=lambda p: p[0])
        while pending:
            heal_at, heal, record = pending[0]
            self.stopping.wait(max(0.0, heal_at - time.monotonic()))  # the fault's length
            pending.pop(0)
            heal()
            record["end"] = self.history.now()
            self.history.write(record)

    # Each inject_* applies one fault and returns (seconds to hold it, the function that heals
    # it, what was done, the nodes it touched).

    def outage(self, shortest):
        """How long a node stays away: mostly briefly, sometimes past gc_grace (what it holds
        may then be garbage elsewhere, or the only copy of a version the others removed)."""
        if self.rng.random() < 0.3:
            return self.gc_grace + self.rng.uniform(5, 25)
        return self.rng.uniform(shortest, 15)

    def inject_kill(self, node):
        node.kill()
        return self.outage(1), node.start, "SIGKILL, then start", [node.name]

    def inject_pause(self, node):
        node.pause()
        hold = self.down_after + self.rng.uniform(1, 8)
        return hold, node.resume, f"SIGSTOP for {hold:.1f} s", [node.name]

    def inject_flap(self, node):
        """Stops and continues the node again and again, each stop longer than suspect_after
        and shorter than down_after: a member that keeps turning suspect, never down."""
        stop = threading.Event()
        stopped_for = self.down_after * 0.6

        def flap():
            while not stop.is_set():
                node.pause()
                stop.wait(stopped_for)
                node.resume()
                stop.wait(1.0)

        flapper = threading.Thread(target=flap, daemon=True)
        flapper.start()

        def heal():
            stop.set()
            flapper.join()
            node.resume()

        hold = self.rng.uniform(15, 30)
        return hold, heal, f"SIGSTOP {stopped_for:.1f} s / SIGCONT 1 s for {hold:.1f} s", [
            node.name]

    def inject_partition(self, node):
        names = [n.index for n in self.cluster.nodes]
        self.rng.shuffle(names)
        shape = self.rng.choice(["isolate", "split", "bridge"])
        if shape == "isolate":
            sides = [[node.index], [i for i in names if i != node.index]]
            cut = {(node.index, i) for i in sides[1]}
        elif shape == "split":
            k = len(names) // 2
            sides = [names[:k], names[k:]]
            cut = {(a, b) for a in sides[0] for b in sides[1]}
        else:
            bridge, rest = names[0], names[1:]
            k = len(rest) // 2
            sides = [rest[:k] + [bridge], rest[k:] + [bridge]]
            cut = {(a, b) for a in rest[:k] for b in rest[k:]}
        for i in names:
            self.cluster.net.cut(i, {b for a, b in cut if a == i} | {a for a, b in cut if b == i})

        def heal():
            for i in names:
                self.cluster.net.heal(i)

        detail = {"shape": shape, "sides": [[f"n{i}" for i in s] for s in sides]}
        return self.outage(5), heal, detail, [f"n{i}" for i in names]

    def inject_fill(self, node):
        filled = node.fill_disk(leave_free=self.reserve // 2)
        return self.rng.uniform(5, 20), node.free_disk, f"{filled} bytes, free < reserve", [
            node.name]

    def inject_flip(self, node):
        files = node.chunk_files()
        if not files:
            return 0, lambda: None, "no chunk file to flip", [node.name]
        path = self.rng.choice(sorted(files))
        try:
            with open(path, "r+b") as f:
                size = os.fstat(f.fileno()).st_size
                at = self.rng.randrange(size) if size else 0
                f.seek(at)
                byte = f.read(1)
                f.seek(at)
                f.write(bytes([(byte[0] if byte else 0) ^ 0x5A]))
            detail = f"{os.path.basename(path)} byte {at}"
        except OSError as e:  # repair or GC may have moved it meanwhile
            detail = f"{os.path.basename(path)}: {e.strerror}"
        return 0, lambda: None, detail, [node.name]

    def inject_clock(self, node):
        offset = self.rng.choice([20, -20, 45, -45, 90, -90])
        node.set_clock_offset(offset)
        return self.rng.uniform(10, 30), lambda: node.set_clock_offset(0), f"{offset:+d} s", [
            node.name]

    def stop(self):
        """Ends the schedule at once (the faults in place are healed) and waits for it."""
        self.stopping.set()
        if self.is_alive():
            self.join()

    def heal_everything(self):
        while self.pending:  # a round cut short: its own heals first (a flapper's thread)
            _, heal, record = self.pending.pop(0)
            heal()
            record["end"] = self.history.now()
            self.history.write(record)
        for i in range(1, len(self.cluster.nodes) + 1):
            self.cluster.net.heal(i)
        for node in self.cluster.nodes:
            node.set_clock_offset(0)
            node.free_disk()
            if node.paused:
                node.resume()
            if not node.running():
                node.start()
