"""The soak's cluster: nodes in network namespaces, each on its own small disk, and the faults
the nemesis injects into them.

Layout: a hub namespace holds a bridge (10.77.0.254) and the clients; node i lives in its own
namespace as 10.77.0.i, joined to the bridge by a veth pair. Partitions are nftables drop rules
inside the node namespaces, so they cut node-to-node traffic only: clients still reach every
node, as clients of a real cluster usually do. Each node's data_dir is on a tmpfs of its own,
so filling one node's disk does not touch the others. Each node runs under libfaketime with a
per-node offset file (the wall clock only; CAF's timers use the monotonic clock, which stays
real), so the nemesis can step one node's clock while it runs.
"""

import errno
import json
import os
import shutil
import signal
import subprocess
import time

SUBNET = "10.77.0"
HUB_ADDR = SUBNET + ".254"
PORT = 7000
FAKETIME_LIBS = [
    "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1",
    "/usr/lib/faketime/libfaketime.so.1",
]


def run(*args, check=True, input=None):
    """Runs a setup command; a failure names the command and what it printed."""
    done = subprocess.run(list(args), input=input, capture_output=True, text=True)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {done.returncode}: {done.stderr.strip()}")
    return done


def faketime_lib():
    for path in FAKETIME_LIBS:
        if os.path.exists(path):
            return path
    raise RuntimeError("libfaketime not found (Debian package faketime)")


class Network:
    """The namespaces, the bridge and the per-node firewall tables."""

    def __init__(self, tag, count):
        self.hub = f"{tag}h"
        self.spaces = [f"{tag}n{i}" for i in range(1, count + 1)]

    def create(self):
        run("ip", "netns", "add", self.hub)
        run("ip", "-n", self.hub, "link", "set", "lo", "up")
        run("ip", "-n", self.hub, "link", "add", "br0", "type", "bridge")
        run("ip", "-n", self.hub, "addr", "add", HUB_ADDR + "/24", "dev", "br0")
        run("ip", "-n", self.hub, "link", "set", "br0", "up")
        for i, ns in enumerate(self.spaces, start=1):
            run("ip", "netns", "add", ns)
            run("ip", "-n", ns, "link", "set", "lo", "up")
            run("ip", "-n", self.hub, "link", "add", f"v{i}", "type", "veth", "peer", "name",
                "eth0", "netns", ns)
            run("ip", "-n", self.hub, "link", "set", f"v{i}", "master", "br0", "up")
            run("ip", "-n", ns, "addr", "add", f"{SUBNET}.{i}/24", "dev", "eth0")
            run("ip", "-n", ns, "link", "set", "eth0", "up")
            run("ip", "netns", "exec", ns, "nft", "-f", "-", input=(
                "table inet soak {\n"
                "  chain input { type filter hook input priority 0; policy accept; }\n"
                "  chain output { type filter hook output priority 0; policy accept; }\n"
                "}\n"))

    def destroy(self):
        for ns in self.spaces + [self.hub]:
            run("ip", "netns", "del", ns, check=False)

    def cut(self, i, others):
        """Node i drops every packet from and to the nodes `others` (1-based indexes)."""
        if not others:
            return
        addrs = ", ".join(f"{SUBNET}.{j}" for j in sorted(others))
        ns = self.spaces[i - 1]
        run("ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "soak", "input",
            "ip", "saddr", "{ " + addrs + " }", "drop")
        run("ip", "netns", "exec", ns, "nft", "add", "rule", "inet", "soak", "output",
            "ip", "daddr", "{ " + addrs + " }", "drop")

    def heal(self, i):
        ns = self.spaces[i - 1]
        run("ip", "netns", "exec", ns, "nft", "flush", "chain", "inet", "soak", "input")
        run("ip", "netns", "exec", ns, "nft", "flush", "chain", "inet", "soak", "output")

    def in_hub(self, argv):
        return ["ip", "netns", "exec", self.hub] + argv


class Node:
    def __init__(self, cluster, index):
        self.cluster = cluster
        self.index = index
        self.name = f"n{index}"
        self.addr = f"{SUBNET}.{index}:{PORT}"
        self.dir = os.path.join(cluster.dir, self.name)
        self.disk = os.path.join(self.dir, "disk")
        self.data_dir = os.path.join(self.disk, "data")
        self.filler = os.path.join(self.disk, "filler")
        self.ini = os.path.join(self.dir, "node.ini")
        self.log = os.path.join(self.dir, "node.log")
        self.clock_file = os.path.join(self.dir, "clock-offset")
        self.proc = None
        self.paused = False

    def prepare(self, settings):
        os.makedirs(self.disk, exist_ok=True)
        run("mount", "-t", "tmpfs", "-o", f"size={self.cluster.disk_size}", "tmpfs", self.disk)
        os.makedirs(self.data_dir)
        self.set_clock_offset(0)
        peers = ",".join(n.addr for n in self.cluster.nodes)
        lines = [
            "# written by scripts/soak/cluster.py",
            "[node]", f"name = {self.name}", f"listen = {self.addr}",
            f"data_dir = {self.data_dir}",
            "[cluster]", "name = soak", f"secret_file = {self.cluster.secret}",
            f"bootstrap = {peers}",
        ]
        lines += [f"{k} = {v}" for k, v in settings.get("cluster", {}).items()]
        for section, values in settings.items():
            if section != "cluster":
                lines.append(f"[{section}]")
                lines += [f"{k} = {v}" for k, v in values.items()]
        with open(self.ini, "w") as f:
            f.write("\n".join(lines) + "\n")

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self):
        assert not self.running()
        env = ["env", f"LD_PRELOAD={faketime_lib()}",
               f"FAKETIME_TIMESTAMP_FILE={self.clock_file}",
               # Re-read the offset every second, and leave the monotonic clock alone.
               "FAKETIME_CACHE_DURATION=1", "FAKETIME_DONT_FAKE_MONOTONIC=1"]
        argv = ["ip", "netns", "exec", self.cluster.net.spaces[self.index - 1]] + env + [
            os.path.join(self.cluster.bin_dir, "dfs-node"), "--config", self.ini]
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        self.paused = False

    def kill(self):
        if self.running():
            self.proc.send_signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()
        self.paused = False

    def terminate(self, timeout=20):
        if not self.running():
            return
        if self.paused:
            self.resume()
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def pause(self):
        self.proc.send_signal(signal.SIGSTOP)
        self.paused = True

    def resume(self):
        if self.running():
            self.proc.send_signal(signal.SIGCONT)
        self.paused = False

    def set_clock_offset(self, seconds):
        tmp = self.clock_file + ".tmp"
        with open(tmp, "w") as f:
            f.write(f"{seconds:+d}\n")
        os.replace(tmp, self.clock_file)

    def fill_disk(self, leave_free):
        """Fills this node's tmpfs until about `leave_free` bytes are left; returns the bytes
        taken. The node writes meanwhile, so a size that no longer fits is tried smaller."""
        with open(self.filler, "ab") as f:
            for _ in range(8):
                st = os.statvfs(self.disk)
                size = st.f_bavail * st.f_frsize - leave_free
                if size <= 0:
                    break
                try:
                    os.posix_fallocate(f.fileno(), os.fstat(f.fileno()).st_size, size)
                    break
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
            return os.fstat(f.fileno()).st_size

    def free_disk(self):
        if os.path.exists(self.filler):
            os.unlink(self.filler)

    def chunk_files(self):
        root = os.path.join(self.data_dir, "chunks")
        out = []
        for dirpath, _, files in os.walk(root):
            out += [os.path.join(dirpath, f) for f in files if len(f) == 64]
        return out

    def unmount(self):
        run("umount", "-l", self.disk, check=False)


class Cluster:
    def __init__(self, run_dir, bin_dir, count, tag, disk_size):
        self.dir = run_dir
        self.bin_dir = bin_dir
        self.disk_size = disk_size
        self.secret = os.path.join(run_dir, "secret")
        self.net = Network(tag, count)
        self.nodes = [Node(self, i) for i in range(1, count + 1)]

    def create(self, settings):
        os.makedirs(self.dir, exist_ok=True)
        if not os.path.exists(self.secret):
            run(os.path.join(self.bin_dir, "dfs"), "keygen", self.secret)
        self.net.create()
        for node in self.nodes:
            node.prepare(settings)
            node.start()

    def destroy(self):
        for node in self.nodes:
            if node.paused:
                node.resume()
            node.kill()
        for node in self.nodes:
            node.unmount()
        self.net.destroy()

    def dfs(self, node, args, timeout):
        """Runs the dfs CLI from the hub against `node`; returns (rc, stdout bytes, stderr)."""
        argv = self.net.in_hub([os.path.join(self.bin_dir, "dfs"), "--node", node.addr,
                                "--secret-file", self.secret, "--timeout", "10"] + args)
        try:
            done = subprocess.run(argv, capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return None, b"", "the client was stopped after %d s" % timeout
        return done.returncode, done.stdout, done.stderr.decode(errors="replace").strip()

    def status(self, node):
        rc, out, _ = self.dfs(node, ["status", "--json"], timeout=20)
        if rc != 0:
            return None
        try:
            return json.loads(out)
        except ValueError:
            return None

    def settled(self, need_replication=True):
        """(True, "") once every node runs, answers, and sees every member up (and, with
        need_replication, nothing under- or over-replicated); else (False, the first reason)."""
        names = {n.name for n in self.nodes}
        for node in self.nodes:
            if not node.running() or node.paused:
                return False, f"{node.name} is not running"
            st = self.status(node)
            if st is None:
                return False, f"{node.name} does not answer status"
            states = {m["name"]: m["state"] for m in st["members"]}
            not_up = sorted(n for n in names if states.get(n) != "up")
            if not_up:
                return False, f"{node.name} sees {', '.join(not_up)} not up"
            if need_replication and (st["under_replicated"] or st["over_replicated"]):
                return False, (f"{node.name}: {st['under_replicated']} under-, "
                               f"{st['over_replicated']} over-replicated")
        return True, ""

    def wait_settled(self, deadline_s, need_replication=True):
        """Waits for settled(); returns (seconds it took or None, last reason)."""
        began = time.monotonic()
        reason = ""
        while time.monotonic() - began < deadline_s:
            ok, reason = self.settled(need_replication)
            if ok:
                return time.monotonic() - began, ""
            time.sleep(0.5)
        return None, reason


def remove_tree(path):
    shutil.rmtree(path, ignore_errors=True)
