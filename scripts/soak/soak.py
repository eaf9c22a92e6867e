"""The nemesis soak: a 5-node cluster in network namespaces, clients and a nemesis for
--duration seconds, then convergence, final reads, the disks, and the history checker.
Run it through scripts/soak.sh (which installs what it needs and builds); see its --help.

Exit 0 only when the checker found no violation and the cluster converged on its own.
"""

import argparse
import os
import shutil
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import checker  # noqa: E402
import disk  # noqa: E402
from cluster import Cluster, remove_tree  # noqa: E402
from history import History, read  # noqa: E402
from nemesis import KINDS, Nemesis  # noqa: E402
from workload import Client, read_final  # noqa: E402

CONVERGE_DEADLINE = 300


def parse_args():
    p = argparse.ArgumentParser(prog="soak.sh", description=__doc__.split("\n")[0])
    p.add_argument("--duration", type=int, required=True, help="seconds of faults and load")
    p.add_argument("--seed", type=int, required=True)
    p.add_argument("--replicas", type=int, default=3)
    p.add_argument("--write-quorum", type=int, default=2)
    p.add_argument("--nodes", type=int, default=5)
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--keys", type=int, default=200)
    p.add_argument("--hot-keys", type=int, default=12)
    p.add_argument("--faults", default=",".join(KINDS),
                   help="comma-separated subset of " + ",".join(KINDS))
    p.add_argument("--dir", help="run directory (default .soak/seed-N-PID)")
    p.add_argument("--bin-dir", required=True)
    p.add_argument("--keep", action="store_true", help="keep the run directory when it passed")
    args = p.parse_args()
    unknown = set(args.faults.split(",")) - set(KINDS)
    if unknown:
        p.error("unknown fault kinds: " + ", ".join(sorted(unknown)))
    if not 1 <= args.write_quorum <= args.replicas <= args.nodes:
        p.error("need 1 <= write quorum <= replicas <= nodes")
    return args


RESERVE = 32 << 20
DOWN_AFTER = 5
GC_GRACE = 10


def node_settings(args):
    # Short timers so that a run of minutes sees many failures, repairs and collections.
    return {
        "cluster": {"replicas": args.replicas, "write_quorum": args.write_quorum,
                    "suspect_after": 2, "down_after": DOWN_AFTER, "anti_entropy_interval": 3,
                    "gc_grace": GC_GRACE, "max_clock_skew": 60, "repair_rate": "256MiB"},
        "node": {"idle_timeout": 60},
        "storage": {"chunk_size": "1MiB", "reserve": RESERVE, "scrub_interval": 5,
                    "scrub_rate": "64MiB"},
        "log": {"level": "info"},
    }




def wait_collected(cluster, config, deadline_s):
    """Waits until the disks pass the checker's disk rules (no chunk that no newest manifest
    references, R copies of each referenced chunk, no stale manifest); returns (seconds or
    None, the per-node disk contents)."""
    began = time.monotonic()
    while True:
        disks = {n.name: disk.read_node(n.data_dir) for n in cluster.nodes}
        if not checker.disk_violations(config, disks):
            return time.monotonic() - began, disks
        if time.monotonic() - began > deadline_s:
            return None, disks
        time.sleep(1)


def main():
    args = parse_args()
    if os.geteuid() != 0:
        sys.exit("soak.sh: needs root (network namespaces, nftables, tmpfs mounts)")
    run_dir = os.path.abspath(args.dir or f".soak/seed-{args.seed}-{os.getpid()}")
    if os.path.exists(os.path.join(run_dir, "history.jsonl")):
        sys.exit(f"soak.sh: {run_dir} holds an earlier run; pick another --dir")
    os.makedirs(run_dir, exist_ok=True)
    tag = f"dsk{os.getpid() % 100000}"
    # The run's own copy of the binaries: a rebuild during a long run must not change the
    # nodes it restarts, nor the clients.
    bin_dir = os.path.join(run_dir, "bin")
    os.makedirs(bin_dir, exist_ok=True)
    for name in ("dfs-node", "dfs"):
        shutil.copy2(os.path.join(args.bin_dir, name), bin_dir)
    cluster = Cluster(run_dir, bin_dir, args.nodes, tag, "768m")
    history = History(os.path.join(run_dir, "history.jsonl"))
    keys = [f"k{i:03d}" for i in range(args.keys)]
    config = {"type": "config", "replicas": args.replicas, "write_quorum": args.write_quorum,
              "nodes": [n.name for n in cluster.nodes], "keys": keys, "seed": args.seed,
              "duration": args.duration}
    history.write(config)
    stop = threading.Event()
    nemesis = None
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(130))
    passed = False
    try:
        print(f"soak: run directory {run_dir}", flush=True)
        cluster.create(node_settings(args))
        took, reason = cluster.wait_settled(60)
        if took is None:
            sys.exit(f"soak: the cluster did not come up: {reason}")
        print(f"soak: {args.nodes} nodes up (R={args.replicas}, W={args.write_quorum}); "
              f"{args.clients} clients and the nemesis for {args.duration} s, seed {args.seed}",
              flush=True)
        scratch = os.path.join(run_dir, "scratch")
        clients = [Client(i, cluster, history, keys, args.hot_keys, args.seed, stop, scratch)
                   for i in range(1, args.clients + 1)]
        nemesis = Nemesis(cluster, history, args.seed, args.duration, DOWN_AFTER, GC_GRACE,
                          RESERVE, set(args.faults.split(",")))
        for c in clients:
            c.start()
        nemesis.start()
        nemesis.join()
        stop.set()
        for c in clients:
            c.join()
        nemesis.heal_everything()
        healed_at = history.now()
        print(f"soak: nemesis stopped at {healed_at:.0f} s; waiting for convergence", flush=True)
        took, reason = cluster.wait_settled(CONVERGE_DEADLINE)
        history.write({"type": "converged", "ok": took is not None, "time": took,
                       "detail": reason or None})
        if took is None:
            print(f"soak: NOT converged within {CONVERGE_DEADLINE} s: {reason}", flush=True)
        else:
            print(f"soak: converged {took:.1f} s after the nemesis stopped", flush=True)
            read_final(cluster, history, keys, scratch)
            gc_took, disks = wait_collected(cluster, config, GC_GRACE * 4 + 60)
            for node in cluster.nodes:  # once more, now also hashing every chunk file
                held = disk.read_node(node.data_dir, verify=True)
                history.write(dict(type="disk", node=node.name, **held))
            history.write({"type": "collected", "ok": gc_took is not None, "time": gc_took})
            print("soak: disks " + ("settled %.1f s after the final reads" % gc_took
                                    if gc_took is not None else "did NOT settle"), flush=True)
        history.close()
        crashed = [f"client {c.number}: {c.error}" for c in clients if c.error]
        for line in crashed:
            print(f"soak: a client failed: {line}", flush=True)
        report = checker.check(read(os.path.join(run_dir, "history.jsonl")))
        print(report.text(), flush=True)
        if nemesis.settle_times:
            t = sorted(nemesis.settle_times)
            print(f"settled after each heal: median {t[len(t) // 2]:.1f} s, max {t[-1]:.1f} s "
                  f"({len(t)} heals)", flush=True)
        if nemesis.broken_calm:
            print(f"calm windows not whole at their end, so not counted as calm: "
                  f"{len(nemesis.broken_calm)} (e.g. {nemesis.broken_calm[0]})", flush=True)
        if nemesis.error:
            print(f"soak: the nemesis failed: {nemesis.error}", flush=True)
        passed = (not report.violations and took is not None and nemesis.error is None
                  and not crashed)
    finally:
        stop.set()
        if nemesis is not None:
            nemesis.stop()
        cluster.destroy()
    print(f"soak: {'PASSED' if passed else 'FAILED'}; history in {run_dir}/history.jsonl",
          flush=True)
    if passed and not args.keep:
        remove_tree(os.path.join(run_dir, "scratch"))
    sys.exit(0 if passed else 1)


if __name__ == "__main__":
    main()
