#!/usr/bin/python3
"""The soak's history checker: reads RUN_DIR/history.jsonl and reports every violation of the
guarantees the README states (issue 16).

    /usr/bin/python3 scripts/soak/checker.py RUN_DIR/history.jsonl [--json]

Prints a summary, then one line per violation. Exit 0: no violation; 1: violations; 2: the
history could not be read (missing file, a line that is not a JSON object).
In-process: `check(load_history(path))` or `check(events)` returns a Report.

The history is one JSON object per line: "config", "op" (put/get/rm/ls/stat with start, end,
outcome), "nemesis", "calm" windows, and after convergence "final" reads through every node,
"converged" and "disk" (what each node's data_dir holds). Rules, each one function below:
  phantom_read, damaged_read              a read returned something no put wrote (or a stat or
                                          ls showed a tombstone's version), or damaged bytes
  version_mismatch                        a read labelled its bytes with another write's version
  divergent_final, lost_write,
  resurrected                             the converged state against the acknowledged writes
                                          and against the newest version on the disks
  stale_read, non_monotonic_read          gets, stats and lists inside calm windows
  write_order                             acked writes inside one stable window, in time order
  orphan_chunk, under_replicated,
  over_replicated, divergent_manifest,
  damaged_copy                            what the disks hold after convergence
  no_convergence, malformed               the run itself
Versions are "HLC@NODEID", ordered as (int(HLC), NODEID). An op "refused" had no effect; a put
or rm that "fail"ed or is "unknown" may or may not have taken effect; "acked" means outcome "ok".
"""

import argparse
import bisect
import json
import math
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field

RULES = (
    "phantom_read", "damaged_read",
    "divergent_final", "version_mismatch", "lost_write", "resurrected",
    "stale_read", "non_monotonic_read", "write_order",
    "orphan_chunk", "under_replicated", "over_replicated", "divergent_manifest", "damaged_copy",
    "no_convergence", "malformed",
)
OP_KINDS = ("put", "get", "rm", "ls", "stat")
OUTCOMES = ("ok", "not_found", "fail", "unknown", "refused")
FAULTS = ("kill", "pause", "flap", "partition", "fill", "flip", "clock")  # scripts/soak/nemesis.py
# An rm the client was not told the version of may have been written with a version above any
# put's, but only a put's from about the same time: its node's clock was at most VERSION_SLACK
# seconds from real time (max_clock_skew ahead, or a clock step back), and so was the put's.
# So it explains the absence of a put only if it ended after that put started, less the slack.
UNKNOWN_VERSION = (math.inf, "")
DEFAULT_VERSION_SLACK = 150.0
# rm outcomes after which the key may be gone: "refused" never reached a node, and "not_found"
# means there was nothing to remove.
RM_MAY_HAVE_EFFECT = ("ok", "fail", "unknown")


class HistoryError(Exception):
    """The history cannot be read at all (exit 2)."""


def parse_version(text):
    """'HLC@NODEID' -> (HLC, NODEID): the order in which dfs resolves concurrent writes."""
    if not isinstance(text, str):
        raise ValueError(f"version {text!r} is not a string")
    hlc, sep, node = text.partition("@")
    if not sep or not node or not hlc.isdigit():
        raise ValueError(f"version {text!r} is not HLC@NODEID")
    return (int(hlc), node)


def format_version(version):
    return "?" if version is None else f"{version[0]}@{version[1]}"


# ---------------------------------------------------------------------------------------------
# Records

@dataclass(eq=False)
class Op:
    """A client operation. Versions are parsed tuples (None when absent)."""
    record: int
    client: int
    seq: int
    kind: str
    node: str
    start: float
    end: float
    outcome: str
    key: str = None
    prefix: str = None
    value: str = None
    version: tuple = None
    intact: bool = None
    entries: dict = None  # ls: key -> version tuple or None

    def ref(self):
        return (f"c{self.client}#{self.seq} {self.kind}@{self.node} "
                f"[{self.start:.3f}-{self.end:.3f}] {self.outcome}"
                + _read_suffix(self.value, self.version))


@dataclass(eq=False)
class Final:
    """A key read through one node after convergence. It ends after every op (end = inf)."""
    record: int
    key: str
    node: str
    outcome: str
    value: str = None
    version: tuple = None
    intact: bool = None
    end: float = math.inf

    def state(self):
        return (self.outcome, self.value, self.version)

    def ref(self):
        return f"final@{self.node} {self.outcome}" + _read_suffix(self.value, self.version)


def _read_suffix(value, version):
    return ((f" value={value}" if value is not None else "")
            + (f" v={format_version(version)}" if version is not None else ""))


@dataclass
class Manifest:
    key: str
    version: tuple
    deleted: bool
    chunks: list


@dataclass
class Disk:
    record: int
    node: str
    chunks: list
    manifests: list
    corrupt: list  # chunk files whose bytes do not hash to their id
    damaged: list  # manifest files that do not parse


@dataclass
class Violation:
    rule: str
    key: str  # None when the violation is not about one key
    ops: list  # refs of the ops/records involved
    why: str

    def line(self):
        return f"{self.rule} key={self.key or '-'} ops=[{'; '.join(self.ops)}] why: {self.why}"

    def to_dict(self):
        return {"rule": self.rule, "key": self.key, "ops": self.ops, "why": self.why}


@dataclass
class Report:
    summary: dict
    violations: list = field(default_factory=list)

    @property
    def ok(self):
        return not self.violations

    def to_dict(self):
        return {"ok": self.ok, "summary": self.summary,
                "violations": [v.to_dict() for v in self.violations]}

    def text(self):
        s = self.summary
        lines = [f"ops: {s['ops_total']}"]
        for kind, outcomes in s["ops"].items():
            counts = " ".join(f"{o}={n}" for o, n in outcomes.items())
            lines.append(f"  {kind:5} {counts}")
        faults = " ".join(f"{k}={n}" for k, n in s["faults"].items()) or "none"
        lines.append(f"faults: {faults}")
        lines.append(f"calm windows: {s['calm_windows']} ({s['calm_seconds']:.1f} s), "
                     f"reads inside them: {s['calm_reads']}")
        conv = s["convergence"]
        if conv is None:
            lines.append("convergence: no record")
        else:
            when = "?" if conv["time"] is None else f"{conv['time']:.1f} s"
            lines.append(f"convergence: {'ok' if conv['ok'] else 'FAILED'} after {when}")
        lines.append(f"finals: {s['finals']} on {s['final_keys']} keys; disk records: {s['disks']}")
        by_rule = " ".join(f"{r}={n}" for r, n in s["violations"].items())
        lines.append(f"violations: {len(self.violations)}" + (f" ({by_rule})" if by_rule else ""))
        lines.extend(v.line() for v in self.violations)
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# Reading and validating records. A record that breaks the format becomes a `malformed`
# violation and is left out of every other rule (judging it would guess).

def load_history(path):
    """The events of a history file, in file order. Raises HistoryError if it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.readlines()
    except (OSError, UnicodeDecodeError) as e:
        raise HistoryError(f"{path}: cannot read: {e}") from None
    events = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as e:
            raise HistoryError(f"{path} line {number}: not JSON ({e.msg}): {line.strip()[:80]}")
        if not isinstance(event, dict):
            raise HistoryError(f"{path} line {number}: not a JSON object: {line.strip()[:80]}")
        events.append(event)
    if not events:
        raise HistoryError(f"{path}: empty history")
    return events


class _Fields:
    """Reads typed fields of one event, collecting what is wrong instead of stopping at it."""

    def __init__(self, event):
        self.event = event
        self.problems = []

    def get(self, name, check, what, nullable=False):
        if name not in self.event:
            self.problems.append(f"missing {name!r}")
            return None
        value = self.event[name]
        if value is None and nullable:
            return None
        if not check(value):
            self.problems.append(f"{name!r} is {value!r}, not {what}")
            return None
        return value

    def int(self, name):
        return self.get(name, lambda v: isinstance(v, int) and not isinstance(v, bool), "an int")

    def time(self, name, nullable=False):
        return self.get(name, lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)
                        and math.isfinite(v), "a time", nullable)

    def str(self, name, nullable=False):
        return self.get(name, lambda v: isinstance(v, str), "a string", nullable)

    def bool(self, name, nullable=False):
        return self.get(name, lambda v: isinstance(v, bool), "a bool", nullable)

    def choice(self, name, options):
        return self.get(name, lambda v: v in options, "one of " + "|".join(options))

    def list(self, name, item_check=lambda v: True, optional=False):
        if optional and name not in self.event:
            return None
        return self.get(name, lambda v: isinstance(v, list) and all(map(item_check, v)), "a list")

    def version(self, name, nullable=True):
        text = self.str(name, nullable)
        return None if text is None else self.parse_version(name, text)

    def parse_version(self, where, text):
        try:
            return parse_version(text)
        except ValueError as e:
            self.problems.append(f"{where}: {e}")
            return None


def _parse_op(record, event):
    f = _Fields(event)
    op = Op(record, f.int("client"), f.int("seq"), f.choice("op", OP_KINDS), f.str("node"),
            f.time("start"), f.time("end"), f.choice("outcome", OUTCOMES))
    if op.start is not None and op.end is not None and op.end < op.start:
        f.problems.append("end before start")
    if op.kind in ("put", "get", "rm", "stat"):
        op.key = f.str("key")
    ok = op.outcome == "ok"
    unversioned_ack = []  # a problem, but the op is kept: its value may still be read
    if op.kind in ("put", "rm"):
        if op.kind == "put":
            op.value = f.str("value")
        op.version = f.version("version")
        if ok and "version" in event and event["version"] is None:
            unversioned_ack.append(f"acknowledged {op.kind} without a version")
    elif op.kind in ("get", "stat") and ok:
        op.version = f.version("version", nullable=False)
        if op.kind == "get":
            op.value = f.str("value")
            op.intact = f.bool("intact")
    elif op.kind == "ls":
        op.prefix = f.str("prefix")
        if ok:
            entries = f.get("entries", lambda v: isinstance(v, dict), "an object")
            if entries is not None:
                op.entries = {k: f.parse_version(f"entries[{k!r}]", v) if isinstance(v, str)
                              else f.problems.append(f"entries[{k!r}] has no version")
                              for k, v in entries.items()}
    return op, f.problems, unversioned_ack


def _parse_final(record, event):
    f = _Fields(event)
    final = Final(record, f.str("key"), f.str("node"), f.choice("outcome", ("ok", "not_found")))
    if final.outcome == "ok":
        final.value = f.str("value")
        final.version = f.version("version", nullable=False)
        final.intact = f.bool("intact", nullable=True)
    return final, f.problems


def _parse_disk(record, event):
    f = _Fields(event)
    disk = Disk(record, f.str("node"), f.list("chunks", lambda c: isinstance(c, str)) or [], [],
                f.list("corrupt", lambda c: isinstance(c, str), optional=True) or [],
                f.list("damaged", lambda c: isinstance(c, str), optional=True) or [])
    for i, m in enumerate(f.list("manifests", lambda m: isinstance(m, dict)) or []):
        mf = _Fields(m)
        manifest = Manifest(mf.str("key"), mf.version("version", nullable=False),
                            mf.bool("deleted"), mf.list("chunks", lambda c: isinstance(c, str)))
        f.problems.extend(f"manifests[{i}]: {p}" for p in mf.problems)
        if not mf.problems:
            disk.manifests.append(manifest)
    return disk, f.problems


@dataclass
class History:
    """The validated records, indexed for the rules."""
    config: dict = None
    ops: list = field(default_factory=list)
    faults: list = field(default_factory=list)  # fault kinds, in order
    fault_spans: list = field(default_factory=list)  # (kind, start, end)
    calm: list = field(default_factory=list)  # (start, end), sorted
    finals: list = field(default_factory=list)
    converged: dict = None
    unsettled: list = field(default_factory=list)  # (time, what, reason) from "note" records
    disks: list = field(default_factory=list)
    malformed: list = field(default_factory=list)  # Violations


def _malformed(why, ops=("history",), key=None):
    """ops: "record N" is the Nth record of the history (its line, blank lines aside)."""
    return Violation("malformed", key, list(ops), why)


def parse_events(events):
    """Validates every event; what breaks the format becomes a malformed violation."""
    h = History()
    for record, event in enumerate(events, 1):
        if not isinstance(event, dict):
            h.malformed.append(_malformed("not a JSON object", [f"record {record}"]))
            continue
        kind = event.get("type")
        problems = []
        if kind == "op":
            op, problems, unversioned_ack = _parse_op(record, event)
            if not problems:
                h.ops.append(op)
            problems += unversioned_ack
        elif kind == "final":
            final, problems = _parse_final(record, event)
            if not problems:
                h.finals.append(final)
        elif kind == "disk":
            disk, problems = _parse_disk(record, event)
            if not problems:
                h.disks.append(disk)
        elif kind == "nemesis":
            f = _Fields(event)
            fault = f.choice("fault", FAULTS)
            span = (f.time("start"), f.time("end"))
            f.list("nodes")
            problems = f.problems
            if not problems:
                h.faults.append(fault)
                h.fault_spans.append((fault, span[0], span[1]))
        elif kind == "calm":
            f = _Fields(event)
            window = (f.time("start"), f.time("end"))
            problems = f.problems
            if not problems and window[1] < window[0]:
                problems = ["end before start"]
            if not problems:
                h.calm.append(window)
        elif kind == "converged":
            f = _Fields(event)
            converged = {"time": f.time("time", nullable=True), "ok": f.bool("ok")}
            problems = f.problems
            if not problems:
                h.converged = converged
        elif kind == "note":
            # The nemesis healed everything and the cluster did not settle within its deadline.
            f = _Fields(event)
            note = (f.time("time"), f.str("what"), event.get("reason"))
            problems = f.problems
            if not problems:
                h.unsettled.append(note)
        elif kind == "collected":
            pass  # how long collection took; the disk rules judge what it left
        elif kind == "config":
            f = _Fields(event)
            config = {"replicas": f.int("replicas"), "write_quorum": f.int("write_quorum"),
                      "nodes": f.list("nodes", lambda n: isinstance(n, str)),
                      "keys": f.list("keys", lambda k: isinstance(k, str))}
            problems = f.problems
            if not problems and config["replicas"] < 1:
                problems = ["replicas < 1"]
            if not problems:
                h.config = config
        else:
            problems = [f"unknown record type {kind!r}"]
        if problems:
            key = event.get("key")
            h.malformed.append(_malformed(f"{kind or 'record'}: " + "; ".join(problems),
                                          [f"record {record}"],
                                          key if isinstance(key, str) else None))
    h.calm.sort()
    h.malformed.extend(_check_consistency(h))
    return h


def _check_consistency(h):
    """Format promises the rules rely on: without them a violation could go unseen."""
    out = []
    if h.config is None:
        out.append(_malformed("no valid config record (replicas, nodes, keys)"))
    if h.converged is None:
        out.append(_malformed("no converged record: the run did not finish"))
    for (s1, e1), (s2, e2) in zip(h.calm, h.calm[1:]):
        if s2 < e1:
            out.append(_malformed(f"calm windows [{s1}, {e1}] and [{s2}, {e2}] overlap"))
    seen_seq, seen_value = {}, {}
    for op in h.ops:
        other = seen_seq.setdefault((op.client, op.seq), op)
        if other is not op:
            out.append(_malformed("two ops with the same client and seq",
                                  [other.ref(), op.ref()], op.key))
        if op.kind == "put":
            other = seen_value.setdefault(op.value, op)
            if other is not op:
                out.append(_malformed("two puts write the same value id",
                                      [other.ref(), op.ref()], op.key))
    if h.config is not None:
        nodes, keys = set(h.config["nodes"]), set(h.config["keys"])
        have = {(f.key, f.node) for f in h.finals}
        missing = sorted((k, n) for k in keys for n in nodes if (k, n) not in have)
        if missing:
            shown = ", ".join(f"{k}@{n}" for k, n in missing[:5])
            out.append(_malformed(f"{len(missing)} (key, node) pairs have no final read, "
                                  f"e.g. {shown}"))
        missing_disks = sorted(nodes - {d.node for d in h.disks})
        if missing_disks:
            out.append(_malformed(f"no disk record for {', '.join(missing_disks)}"))
        stray = sorted({op.key for op in h.ops if op.key is not None} - keys)
        if stray:
            out.append(_malformed(f"ops on keys missing from config keys: {', '.join(stray[:5])}"))
    return out


# ---------------------------------------------------------------------------------------------
# Index

class LatestBefore:
    """Of some ops, each with a time and a version: the one with the largest version among those
    whose time is < t. Sorted once; each question is a bisection."""

    def __init__(self, entries):  # iterable of (time, version, op)
        entries = sorted(entries, key=lambda e: e[0])
        self._times = [t for t, _, _ in entries]
        self._best = []
        best = None
        for _, version, op in entries:
            if best is None or version > best[0]:
                best = (version, op)
            self._best.append(best)

    def before(self, t):
        """(version, op) or None."""
        i = bisect.bisect_left(self._times, t)
        return self._best[i - 1] if i else None

    def overall(self):
        return self._best[-1] if self._best else None


class KeyIndex:
    """What the rules ask about one key."""

    def __init__(self, ops):
        # An acked write without a version is reported as malformed and cannot be ordered.
        acked = [op for op in ops if op.kind in ("put", "rm") and op.outcome == "ok"
                 and op.version is not None]
        # The acked writes by end time: "the newest write acknowledged before t".
        self.acked = LatestBefore((op.end, op.version, op) for op in acked)
        self.acked_puts = LatestBefore((op.end, op.version, op) for op in acked if op.kind == "put")
        self.acked_rms = LatestBefore((op.end, op.version, op) for op in acked if op.kind == "rm")
        self.rms_by_version = defaultdict(list)  # the tombstones acknowledged rms wrote
        for op in acked:
            if op.kind == "rm":
                self.rms_by_version[op.version].append(op)
        # The rms that may have removed the key, by start time (an rm takes effect no earlier
        # than it starts), with an unknown version counting as above every version.
        may_remove = [op for op in ops if op.kind == "rm" and op.outcome in RM_MAY_HAVE_EFFECT]
        self.removers = LatestBefore((op.start, op.version, op) for op in may_remove
                                     if op.version is not None)
        self.unversioned_removers = sorted((op for op in may_remove if op.version is None),
                                           key=lambda op: op.start)

    def explained_absence(self, version, started_before=math.inf, write=None,
                          slack=DEFAULT_VERSION_SLACK):
        """The rm that may have removed `write` (of `version`), started before the given time:
        one with a larger version, or one of unknown version that ended after the write
        started, less the slack (see UNKNOWN_VERSION)."""
        remover = self.removers.before(started_before)
        if remover is not None and remover[0] > version:
            return remover[1]
        not_before = write.start - slack if write is not None else -math.inf
        for op in self.unversioned_removers:
            if op.start >= started_before:
                break
            if op.end > not_before:
                return op
        return None


class CalmWindows:
    def __init__(self, windows):
        self._windows = windows
        self._starts = [s for s, _ in windows]

    def of(self, op):
        """The index of the calm window [op.start, op.end] lies entirely in, or None."""
        i = bisect.bisect_right(self._starts, op.start) - 1
        return i if i >= 0 and op.end <= self._windows[i][1] else None


# Faults that leave every member up, connected and with room: the placement of every key stays
# what it is in a calm window, so writes keep reaching the nodes that took earlier writes.
PLACEMENT_KEEPING_FAULTS = ("clock", "flip")


def stable_windows(calm, fault_spans, unsettled):
    """Calm windows, each joined with the next when everything injected between them kept the
    placement (only clock steps and flipped bytes) and the cluster settled in between."""
    out = []
    for start, end in calm:
        if out:
            gap = (out[-1][1], start)
            kinds = {k for k, s, e in fault_spans if s < gap[1] and e > gap[0]}
            settled = not any(gap[0] <= t <= gap[1] for t, _, _ in unsettled)
            if kinds <= set(PLACEMENT_KEEPING_FAULTS) and settled:
                out[-1] = (out[-1][0], end)
                continue
        out.append((start, end))
    return out


# ---------------------------------------------------------------------------------------------
# Rules: each returns a list of Violations.

def check_phantom_reads(h, puts_by_value):
    """Rule 1: a read returns only a value some put on that key wrote, begun before the read
    ended. A refused put never reached a node, so it explains nothing."""
    out = []
    for read in _value_reads(h):
        put = puts_by_value.get(read.value)
        if put is not None and put.key == read.key and put.outcome != "refused" \
                and put.start < read.end:
            continue
        if put is None:
            why = f"no put wrote value {read.value}"
        elif put.key != read.key:
            why = f"value {read.value} was written to key {put.key}"
        elif put.outcome == "refused":
            why = f"the put of {read.value} was refused (never reached a node)"
        else:
            why = f"the put of {read.value} started after the read ended"
        out.append(Violation("phantom_read", read.key, [read.ref()] + ([put.ref()] if put else []),
                             why))
    return out


def check_listed_tombstones(h, index):
    """Rule 1, for stat and ls: they show a key only with the version of a put. The version an
    acknowledged rm wrote is a tombstone's, never a file's."""
    out = []
    for op in h.ops:
        if op.outcome != "ok" or op.kind not in ("stat", "ls"):
            continue
        shown = op.entries.items() if op.kind == "ls" else [(op.key, op.version)]
        for key, version in shown:
            keyed = index.get(key)
            if version is None or keyed is None:
                continue
            for rm in keyed.rms_by_version.get(version, ()):
                out.append(Violation("phantom_read", key, [op.ref(), rm.ref()],
                                     f"{op.kind} showed {key} at {format_version(version)}, "
                                     "the version of an acknowledged rm"))
    return out


def check_damaged_reads(h):
    """Rule 2: a get never returns damaged bytes (chunks are hash- and tag-checked)."""
    return [Violation("damaged_read", read.key, [read.ref()],
                      f"the body is not the bytes of {read.value}")
            for read in _value_reads(h) if read.intact is False]


def _value_reads(h):
    for op in h.ops:
        if op.kind == "get" and op.outcome == "ok":
            yield op
    for final in h.finals:
        if final.outcome == "ok":
            yield final


def check_finals(h, index, puts_by_value):
    """Rule 3: after convergence every node serves the same state, and it is at least the newest
    acknowledged write."""
    out = []
    by_key = defaultdict(list)
    for final in h.finals:
        by_key[final.key].append(final)
    for key, finals in sorted(by_key.items()):
        distinct = {}
        for final in finals:
            distinct.setdefault(final.state(), final)
        if len(distinct) > 1:
            out.append(Violation("divergent_final", key, [f.ref() for f in finals],
                                 "the nodes' final reads disagree"))
        keyed = index.get(key)
        newest = keyed.acked.overall() if keyed else None
        for final in distinct.values():
            out.extend(_check_final(key, final, keyed, newest, puts_by_value))
    return out


def _newest_manifests(disks):
    """Key -> the manifest with the largest version on any disk."""
    newest = {}
    for disk in disks:
        for m in disk.manifests:
            if m.key not in newest or m.version > newest[m.key].version:
                newest[m.key] = m
    return newest


def check_finals_against_disks(h):
    """Every node serves the newest version any node holds: the final reads of a key show the
    newest manifest on the disks (not found when that is a tombstone or there is none)."""
    if not h.disks:
        return []
    newest = _newest_manifests(h.disks)
    out = []
    for final in h.finals:
        m = newest.get(final.key)
        live = m is not None and not m.deleted
        if final.outcome == "ok" and (not live or final.version != m.version):
            why = ("the disks hold " + ("no live version" if not live
                                        else f"newest version {format_version(m.version)}"))
        elif final.outcome == "not_found" and live:
            why = f"the disks hold live version {format_version(m.version)}"
        else:
            continue
        out.append(Violation("divergent_final", final.key, [final.ref()], why))
    return out


def check_read_versions(h, puts_by_value):
    """A get (or final read) labels the bytes it returns with their version: the version its
    put was acknowledged with, or a read mixed two versions or lies about which it served."""
    out = []
    for read in _value_reads(h):
        put = puts_by_value.get(read.value)
        if put is not None and put.key == read.key and put.outcome == "ok" \
                and put.version is not None and read.version is not None \
                and put.version != read.version:
            out.append(Violation("version_mismatch", read.key, [read.ref(), put.ref()],
                                 f"{read.value} was acknowledged as "
                                 f"{format_version(put.version)}"))
    return out


def _check_final(key, final, keyed, newest, puts_by_value):
    if final.outcome == "ok":
        if final.version is None:
            return []
        out = []
        if newest is not None and final.version < newest[0]:
            a = newest[1]
            rule = "lost_write" if a.kind == "put" else "resurrected"
            out.append(Violation(rule, key, [final.ref(), a.ref()],
                                 f"final version is older than the newest acknowledged {a.kind}"))
        return out
    # not_found: only an acknowledged put as the newest write needs explaining.
    if newest is None or newest[1].kind != "put":
        return []
    a = newest[1]
    if keyed.explained_absence(a.version, write=a) is not None:
        return []
    return [Violation("lost_write", key, [final.ref(), a.ref()],
                      "not found, and no rm newer than the acknowledged put may have taken effect")]


def check_stale_reads(h, index, calm):
    """Rule 4: a read inside a calm window sees every write acknowledged before it started
    (every node is readable from every node then, so the newest version is found)."""
    out = []
    for op in h.ops:
        if op.kind not in ("get", "stat", "ls") or op.outcome not in ("ok", "not_found") \
                or calm.of(op) is None:
            continue
        if op.kind == "ls":
            if op.outcome == "ok":
                out.extend(_check_stale_ls(op, index))
        elif op.key in index:
            out.extend(_check_stale_key_read(op, index[op.key]))
    return out


def _check_stale_key_read(read, keyed):
    if read.outcome == "ok":
        newest = keyed.acked.before(read.start)
        if read.version is not None and newest is not None and read.version < newest[0]:
            return [_stale(read, newest[1], "saw an older version than a write acknowledged "
                                            "before it started")]
        return []
    put = keyed.acked_puts.before(read.start)
    if put is not None and keyed.explained_absence(put[0], read.end, put[1]) is None:
        return [_stale(read, put[1], "not found after the put was acknowledged, and no rm "
                                     "newer than it started before the read ended")]
    return []


def _check_stale_ls(ls, index):
    out = []
    for key in _keys_with_prefix(index, ls.prefix):
        keyed = index[key]
        newest = keyed.acked.before(ls.start)
        if newest is None:
            continue
        if key not in ls.entries:
            put = keyed.acked_puts.before(ls.start)
            if put is not None and keyed.explained_absence(put[0], ls.end, put[1]) is None:
                out.append(_stale(ls, put[1], f"{key} missing from ls after its put was "
                                              "acknowledged", key))
            continue
        version = ls.entries[key]
        if version is None:
            continue
        if version < newest[0]:
            out.append(_stale(ls, newest[1], f"ls listed {key} at {format_version(version)}, "
                                             "older than a write acknowledged before it", key))
            continue
        rm = keyed.acked_rms.before(ls.start)
        if rm is not None and version <= rm[0]:
            out.append(_stale(ls, rm[1], f"ls listed {key} at {format_version(version)}, not "
                                         "newer than an rm acknowledged before it", key))
    return out


def _stale(read, write, why, key=None):
    return Violation("stale_read", key or read.key, [read.ref(), write.ref()], why)


def _keys_with_prefix(index, prefix):
    keys = index.sorted_keys
    i = bisect.bisect_left(keys, prefix)
    while i < len(keys) and keys[i].startswith(prefix):
        yield keys[i]
        i += 1


@dataclass(eq=False)
class _ListedKey:
    """What an ls said of one key under its prefix: listed at a version, or not listed."""
    ls: Op
    key: str
    outcome: str
    version: tuple = None

    def __getattr__(self, name):  # client, start, end: the ls's
        return getattr(self.ls, name)

    def ref(self):
        return f"{self.ls.ref()} {self.key}" + _read_suffix(None, self.version)


def _key_reads(h, index):
    """Every get and stat, and every ls as one read of each key under its prefix."""
    for op in h.ops:
        if op.outcome not in ("ok", "not_found"):
            continue
        if op.kind in ("get", "stat"):
            yield op
        elif op.kind == "ls" and op.outcome == "ok":
            for key in _keys_with_prefix(index, op.prefix):
                if key in op.entries:
                    yield _ListedKey(op, key, "ok", op.entries[key])
                else:
                    yield _ListedKey(op, key, "not_found")


def check_monotonic_reads(h, index, calm):
    """Rule 5: within one calm window, a client's later get, stat or ls of a key sees at least
    the version its earlier one saw (or an rm that may have removed it)."""
    groups = defaultdict(list)
    for op in _key_reads(h, index):
        window = calm.of(op)
        if window is not None:
            groups[(op.client, op.key, window)].append(op)
    out = []
    for (_, key, _), reads in groups.items():
        seen = LatestBefore((r.end, r.version, r) for r in reads
                            if r.outcome == "ok" and r.version is not None)
        for r2 in reads:
            earlier = seen.before(r2.start)
            if earlier is None:
                continue
            v1, r1 = earlier
            if r2.outcome == "ok":
                if r2.version is not None and r2.version < v1:
                    out.append(Violation("non_monotonic_read", key, [r1.ref(), r2.ref()],
                                         "the later read saw an older version"))
            elif index[key].explained_absence(v1, r2.end, r1) is None:
                out.append(Violation("non_monotonic_read", key, [r1.ref(), r2.ref()],
                                     "not found after an earlier read saw the key, and no rm "
                                     "newer than that started before"))
    return out


def check_write_order(h, stable):
    if h.config is None or h.config["replicas"] >= 2 * h.config["write_quorum"]:
        return []  # without R < 2W two quorums need not share a node: no order is promised
    """A write that starts after another write of the key was acknowledged, both inside one
    stable window, is acknowledged only with the larger version: the placement did not change,
    so it reached a node that took the first write, which refuses an older version (a replica
    that holds a newer one answers superseded, and the writer writes again above it)."""
    out = []
    by_window = defaultdict(list)
    for op in h.ops:
        if op.kind in ("put", "rm") and op.outcome == "ok" and op.version is not None:
            w = stable.of(op)
            if w is not None:
                by_window[(w, op.key)].append(op)
    for (_, key), writes in sorted(by_window.items(), key=lambda kv: (kv[0][0], kv[0][1])):
        earlier = LatestBefore((op.end, op.version, op) for op in writes)
        for op in writes:
            first = earlier.before(op.start)
            if first is not None and first[0] > op.version:
                out.append(Violation("write_order", key, [op.ref(), first[1].ref()],
                                     "acknowledged with an older version than a write "
                                     "acknowledged before it started, with the placement "
                                     "unchanged"))
    return out


def check_disks(h):
    """Rule 6: after convergence and collection every node holds the newest manifest of each key
    it holds, and exactly the chunks the newest live manifests reference, R times each."""
    newest = _newest_manifests(h.disks)
    out = []
    for disk in h.disks:
        for m in disk.manifests:
            if m.version < newest[m.key].version:
                out.append(Violation("divergent_manifest", m.key, [f"disk@{disk.node}"],
                                     f"holds {format_version(m.version)}, newest is "
                                     f"{format_version(newest[m.key].version)}"))
    referenced = {c for m in newest.values() if not m.deleted for c in m.chunks}
    for disk in h.disks:
        for chunk in disk.corrupt:
            out.append(Violation("damaged_copy", None, [f"disk@{disk.node}"],
                                 f"chunk file {chunk} does not hash to its id"))
        for path in disk.damaged:
            out.append(Violation("damaged_copy", None, [f"disk@{disk.node}"],
                                 f"manifest file {path} does not parse"))
    holders = defaultdict(list)
    for disk in h.disks:
        for chunk in set(disk.chunks):
            holders[chunk].append(disk.node)
    for chunk, nodes in sorted(holders.items()):
        if chunk not in referenced:
            out.append(Violation("orphan_chunk", None, [f"disk@{n}" for n in sorted(nodes)],
                                 f"chunk {chunk} is referenced by no newest live manifest"))
    if h.config is None:
        return out  # without R, replication cannot be judged (reported as malformed)
    replicas = h.config["replicas"]
    wanted = min(replicas, len(h.config["nodes"]))
    users = defaultdict(list)
    for m in newest.values():
        if not m.deleted:
            for c in m.chunks:
                users[c].append(m.key)
    manifest_holders = Counter()
    for disk in h.disks:
        for m in disk.manifests:
            if m.version == newest[m.key].version:
                manifest_holders[m.key] += 1
    for key, m in sorted(newest.items()):
        count = manifest_holders[key]
        what = "tombstone" if m.deleted else "manifest"
        if count < wanted:
            out.append(Violation("under_replicated", key, ["disks"],
                                 f"newest {what} {format_version(m.version)} on {count} nodes, "
                                 f"wanted {wanted}"))
        elif count > replicas:
            out.append(Violation("over_replicated", key, ["disks"],
                                 f"newest {what} {format_version(m.version)} on {count} nodes, "
                                 f"R is {replicas}"))
    for chunk, keys in sorted(users.items()):
        count = len(holders.get(chunk, []))
        refs = [f"disk@{n}" for n in sorted(holders.get(chunk, []))]
        if count < wanted:
            out.append(Violation("under_replicated", keys[0], refs,
                                 f"chunk {chunk} on {count} nodes, wanted {wanted}"))
        elif count > replicas:
            out.append(Violation("over_replicated", keys[0], refs,
                                 f"chunk {chunk} on {count} nodes, R is {replicas}"))
    return out


def disk_violations(config, disks):
    """Rule 6 alone, for the harness's wait for collection: config is the run's config record,
    disks maps a node's name to what scripts/soak/disk.py read from its data_dir."""
    h = parse_events([config] + [dict(type="disk", node=name, **held)
                                 for name, held in disks.items()])
    return check_disks(h)


def check_convergence(h):
    """Rule 7: the cluster converges on its own once the nemesis stops, and settles (every
    member up on every node) after each heal during the run."""
    out = [Violation("no_convergence", None, ["note"], f"at {t:.1f} s: {what}: {reason}")
           for t, what, reason in h.unsettled]
    if h.converged is not None and not h.converged["ok"]:
        out.append(Violation("no_convergence", None, ["converged"],
                             "the cluster did not converge after the nemesis stopped"))
    return out


# ---------------------------------------------------------------------------------------------

def check(events):
    """The Report for a history given as a list of event dicts (file order)."""
    h = parse_events(events)
    index = {}
    ops_by_key = defaultdict(list)
    for op in h.ops:
        if op.key is not None:
            ops_by_key[op.key].append(op)
    for key, ops in ops_by_key.items():
        index[key] = KeyIndex(ops)
    index = _Index(index)
    puts_by_value = {op.value: op for op in h.ops if op.kind == "put"}
    calm = CalmWindows(h.calm)

    violations = list(h.malformed)
    violations += check_phantom_reads(h, puts_by_value)
    violations += check_listed_tombstones(h, index)
    violations += check_damaged_reads(h)
    violations += check_read_versions(h, puts_by_value)
    violations += check_finals(h, index, puts_by_value)
    violations += check_finals_against_disks(h)
    violations += check_stale_reads(h, index, calm)
    violations += check_monotonic_reads(h, index, calm)
    violations += check_write_order(h, CalmWindows(stable_windows(h.calm, h.fault_spans,
                                                                  h.unsettled)))
    violations += check_disks(h)
    violations += check_convergence(h)
    violations.sort(key=lambda v: RULES.index(v.rule))  # stable: the order found within a rule
    return Report(_summary(h, calm, violations), violations)


class _Index(dict):
    """Key -> KeyIndex, with the keys sorted once for ls prefix lookups."""

    def __init__(self, by_key):
        super().__init__(by_key)
        self.sorted_keys = sorted(by_key)


def _summary(h, calm, violations):
    ops = defaultdict(Counter)
    for op in h.ops:
        ops[op.kind][op.outcome] += 1
    return {
        "ops_total": len(h.ops),
        "ops": {k: dict(sorted(ops[k].items())) for k in OP_KINDS if k in ops},
        "faults": dict(sorted(Counter(h.faults).items())),
        "calm_windows": len(h.calm),
        "calm_seconds": sum(e - s for s, e in h.calm),
        "calm_reads": sum(1 for op in h.ops
                          if op.kind in ("get", "stat", "ls") and calm.of(op) is not None),
        "convergence": h.converged,
        "finals": len(h.finals),
        "final_keys": len({f.key for f in h.finals}),
        "disks": len(h.disks),
        "violations": dict(Counter(v.rule for v in violations)),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description="Check a dfs soak history against the guarantees.")
    parser.add_argument("history", help="RUN_DIR/history.jsonl")
    parser.add_argument("--json", action="store_true", help="print the report as one JSON object")
    args = parser.parse_args(argv)
    try:
        report = check(load_history(args.history))
    except HistoryError as e:
        print(f"checker: {e}", file=sys.stderr)
        return 2
    print(json.dumps(report.to_dict(), indent=1) if args.json else report.text())
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
