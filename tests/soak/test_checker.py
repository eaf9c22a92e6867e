#!/usr/bin/python3
"""Tests of the soak's history checker (scripts/soak/checker.py): a clean history with concurrent
writes, faults and calm windows passes; for every rule, a history made to break it fires exactly
that rule, and near-misses (what the guarantees allow) fire nothing.

    /usr/bin/python3 -m unittest tests/soak/test_checker.py     (or run this file)
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest
from collections import Counter

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "soak",
                       "checker.py")
sys.path.insert(0, os.path.dirname(CHECKER))
sys.dont_write_bytecode = True  # no __pycache__ in scripts/soak
import checker  # noqa: E402

NODES = ["n1", "n2", "n3"]
KEYS = ["k1", "k2", "k3", "k4"]


def chunk_of(value):
    return f"h-{value}"


class History:
    """Builds a history as the soak writes it. Ops get per-client seqs in the order added."""

    def __init__(self, replicas=3, nodes=NODES, keys=KEYS):
        self.nodes, self.keys = list(nodes), list(keys)
        self.events = [{"type": "config", "replicas": replicas, "write_quorum": 2,
                        "nodes": self.nodes, "keys": self.keys}]
        self._seq = Counter()

    def op(self, client, kind, start, end, outcome, node="n1", **fields):
        self._seq[client] += 1
        event = {"type": "op", "client": client, "seq": self._seq[client], "op": kind,
                 "node": node, "start": start, "end": end, "outcome": outcome,
                 "error": None if outcome in ("ok", "not_found") else "boom"}
        event.update(fields)
        self.events.append(event)
        return event

    def put(self, client, key, value, start, end, outcome="ok", version=None):
        return self.op(client, "put", start, end, outcome, key=key, value=value, size=10,
                       version=version)

    def rm(self, client, key, start, end, outcome="ok", version=None):
        return self.op(client, "rm", start, end, outcome, key=key, version=version)

    def get(self, client, key, start, end, value=None, version=None, outcome="ok", intact=True):
        if outcome != "ok":
            return self.op(client, "get", start, end, outcome, key=key)
        return self.op(client, "get", start, end, outcome, key=key, value=value, intact=intact,
                       version=version, size=10)

    def stat(self, client, key, start, end, version=None, outcome="ok"):
        if outcome != "ok":
            return self.op(client, "stat", start, end, outcome, key=key)
        return self.op(client, "stat", start, end, outcome, key=key, version=version, size=10)

    def ls(self, client, prefix, start, end, entries):
        return self.op(client, "ls", start, end, "ok", prefix=prefix, entries=entries)

    def fault(self, fault, start, end, nodes):
        self.events.append({"type": "nemesis", "fault": fault, "start": start, "end": end,
                            "nodes": nodes, "detail": None})

    def calm(self, start, end):
        self.events.append({"type": "calm", "start": start, "end": end})

    def finish(self, state, converged=True):
        """state: key -> ("put", value, version) | ("rm", version); keys not named were never
        written. Writes the finals through every node, the converged record and the disks,
        each node holding every manifest and every live chunk (R = number of nodes)."""
        for key in self.keys:
            s = state.get(key)
            for node in self.nodes:
                if s and s[0] == "put":
                    self.events.append({"type": "final", "key": key, "node": node, "outcome": "ok",
                                        "value": s[1], "version": s[2], "intact": True})
                else:
                    self.events.append({"type": "final", "key": key, "node": node,
                                        "outcome": "not_found", "value": None, "version": None,
                                        "intact": None})
        self.events.append({"type": "converged", "time": 5.0, "ok": converged, "detail": None})
        manifests = [{"key": k, "version": s[-1], "deleted": s[0] == "rm",
                      "chunks": [chunk_of(s[1])] if s[0] == "put" else []}
                     for k, s in sorted(state.items())]
        chunks = sorted(chunk_of(s[1]) for s in state.values() if s[0] == "put")
        for node in self.nodes:
            self.events.append({"type": "disk", "node": node, "chunks": list(chunks),
                                "manifests": json.loads(json.dumps(manifests))})
        return self

    # Edits after the fact.
    def finals(self, key, node=None):
        return [e for e in self.events if e["type"] == "final" and e["key"] == key
                and (node is None or e["node"] == node)]

    def disk(self, node):
        return next(e for e in self.events if e["type"] == "disk" and e["node"] == node)

    def disk_state(self, key, value, version, deleted=False):
        """Makes every disk hold this newest manifest of key (and its chunk, for a live one),
        for tests that change what the finals read."""
        for disk in (e for e in self.events if e["type"] == "disk"):
            old = [m for m in disk["manifests"] if m["key"] == key]
            for m in old:
                disk["manifests"].remove(m)
                for c in m["chunks"]:
                    disk["chunks"].remove(c)
            chunks = [] if deleted else [chunk_of(value)]
            disk["manifests"].append({"key": key, "version": version, "deleted": deleted,
                                      "chunks": chunks})
            disk["chunks"] += chunks

    def remove(self, event):
        self.events.remove(event)


def clean_history():
    """Four clients on four keys: concurrent puts to one key (both acknowledged), a get that
    overlaps the put it returns, rms with every outcome, a fault period with stale-looking reads
    and writes of unknown outcome, and two calm windows."""
    h = History()
    h.calm(0.0, 10.0)
    h.ops = {}
    h.ops["put_k1"] = h.put(1, "k1", "c1.1", 0.5, 1.0, version="100@n1")
    h.get(2, "k1", 0.2, 0.8, "c1.1", "100@n1")  # overlaps the put: may see it
    h.ops["get_k1"] = h.get(2, "k1", 1.2, 1.4, "c1.1", "100@n1")
    h.put(3, "k2", "c3.1", 1.0, 1.5, version="110@n2")
    h.ops["put_k2"] = h.put(1, "k2", "c1.2", 1.1, 1.6, version="120@n3")  # concurrent, wins
    h.ops["get_k2"] = h.get(2, "k2", 1.7, 1.9, "c1.2", "120@n3")
    h.ops["stat_k2"] = h.stat(3, "k2", 2.0, 2.1, "120@n3")
    h.put(3, "k3", "c3.2", 2.2, 2.5, version="130@n1")
    h.rm(1, "k3", 2.6, 2.9, version="140@n2")
    h.get(2, "k3", 3.0, 3.1, outcome="not_found")
    h.ops["ls"] = h.ls(4, "k", 3.2, 3.3, {"k1": "100@n1", "k2": "120@n3"})
    h.rm(1, "k4", 3.4, 3.5, outcome="not_found")  # k4 is absent: nothing removed
    h.get(3, "k4", 3.6, 3.7, outcome="not_found")

    h.fault("kill", 10.0, 14.5, ["n2"])
    h.put(1, "k1", "c1.3", 11.0, 12.0, outcome="unknown")  # takes effect, as 160@n1
    h.ops["put_k4"] = h.put(3, "k4", "c3.3", 11.0, 11.5, version="150@n1")
    h.get(2, "k1", 12.5, 13.0, "c1.1", "100@n1")
    h.fault("partition", 15.0, 20.1, ["n1", "n2"])
    h.get(2, "k4", 16.0, 17.0, outcome="not_found")  # stale-looking, but no calm window
    h.put(1, "k4", "c1.4", 17.0, 17.1, outcome="refused")

    h.calm(21.0, 30.0)
    h.ops["get_k1_new"] = h.get(2, "k1", 22.0, 22.2, "c1.3", "160@n1")
    h.get(3, "k4", 22.3, 22.5, "c3.3", "150@n1")
    h.ops["rm_k2"] = h.rm(3, "k2", 23.0, 24.0, outcome="fail")  # takes effect, as 170@n2
    h.get(1, "k2", 24.5, 24.6, outcome="not_found")  # explained by the failed rm
    h.ls(4, "k", 25.0, 25.1, {"k1": "160@n1", "k4": "150@n1"})
    h.finish({"k1": ("put", "c1.3", "160@n1"), "k2": ("rm", "170@n2"),
              "k3": ("rm", "140@n2"), "k4": ("put", "c3.3", "150@n1")})
    return h


def rules(h):
    return [v.rule for v in checker.check(h.events).violations]


class CleanHistory(unittest.TestCase):
    def test_clean_history_passes(self):
        report = checker.check(clean_history().events)
        self.assertEqual([v.line() for v in report.violations], [])
        s = report.summary
        self.assertEqual(s["ops"]["put"], {"ok": 5, "refused": 1, "unknown": 1})
        self.assertEqual(s["faults"], {"kill": 1, "partition": 1})
        self.assertEqual(s["calm_windows"], 2)
        self.assertEqual(s["convergence"], {"time": 5.0, "ok": True})

    def test_history_order_does_not_matter(self):
        h = clean_history()
        h.events.reverse()
        self.assertEqual(rules(h), [])


class PhantomRead(unittest.TestCase):
    def test_value_never_written(self):
        h = clean_history()
        h.ops["get_k1"]["value"] = "c9.9"
        self.assertEqual(rules(h), ["phantom_read"])

    def test_value_written_to_another_key(self):
        h = clean_history()
        h.ops["get_k1"]["value"] = "c1.2"
        self.assertEqual(rules(h), ["phantom_read"])

    def test_value_of_a_refused_put(self):
        h = clean_history()
        for final in h.finals("k4"):
            final["value"] = "c1.4"
        self.assertEqual(rules(h), ["phantom_read"] * 3)  # one per node's final read

    def test_read_ending_before_the_put_started(self):
        h = clean_history()
        h.get(3, "k1", 0.1, 0.45, "c1.1", "100@n1")
        self.assertEqual(rules(h), ["phantom_read"])

    def test_near_miss_read_overlapping_the_put(self):
        h = clean_history()
        h.get(3, "k1", 0.1, 0.55, "c1.1", "100@n1")
        self.assertEqual(rules(h), [])


class ListedTombstone(unittest.TestCase):
    # During the partition (no calm window): only this rule can fire.
    def test_stat_shows_the_version_of_an_acked_rm(self):
        h = clean_history()
        h.stat(2, "k3", 16.0, 16.5, "140@n2")
        self.assertEqual(rules(h), ["phantom_read"])

    def test_ls_lists_a_key_at_the_version_of_an_acked_rm(self):
        h = clean_history()
        h.ls(2, "k3", 16.0, 16.5, {"k3": "140@n2"})
        self.assertEqual(rules(h), ["phantom_read"])

    def test_near_miss_the_version_of_a_put(self):
        h = clean_history()
        h.stat(2, "k3", 16.0, 16.5, "130@n1")
        h.ls(2, "k3", 16.0, 16.5, {"k3": "130@n1"})
        self.assertEqual(rules(h), [])


class DamagedRead(unittest.TestCase):
    def test_get_not_intact(self):
        h = clean_history()
        h.ops["get_k1"]["intact"] = False
        self.assertEqual(rules(h), ["damaged_read"])

    def test_final_not_intact(self):
        h = clean_history()
        h.finals("k4", "n2")[0]["intact"] = False
        self.assertEqual(rules(h), ["damaged_read"])


class Finals(unittest.TestCase):
    def test_divergent_final(self):
        h = clean_history()
        h.finals("k1", "n2")[0].update(value="c1.1", version="100@n1")
        # The nodes disagree, and n2's read is not the newest version on the disks.
        self.assertEqual(rules(h), ["divergent_final", "divergent_final"])

    def test_final_older_than_the_disks(self):
        h = clean_history()
        h.disk_state("k1", "c9.9", "900@n2")  # a version newer than anything read
        self.assertEqual(sorted(set(rules(h))), ["divergent_final"])

    def test_final_not_found_while_the_disks_hold_it(self):
        h = clean_history()
        for final in h.finals("k3"):
            final.update(outcome="not_found", value=None, version=None, intact=None)
        h.disk_state("k3", "c1.2", "130@n1")
        self.assertEqual(sorted(set(rules(h))), ["divergent_final"])

    def test_version_mismatch(self):
        h = clean_history()
        for final in h.finals("k4"):
            final["version"] = "151@n1"
        h.disk_state("k4", "c3.3", "151@n1")
        self.assertEqual(rules(h), ["version_mismatch"] * len(NODES))  # one per node's read

    def test_get_labelled_with_another_version(self):
        h = clean_history()
        h.get(3, "k4", 35.0, 35.1, "c3.3", "149@n1")  # c3.3 was acknowledged as 150@n1
        self.assertEqual(rules(h), ["version_mismatch"])

    def test_unknown_rm_long_before_explains_nothing(self):
        h = clean_history()
        # An rm of unknown outcome that ended far longer ago than the clocks can be apart
        # cannot have a version above the put's.
        for e in h.events:
            if e is h.ops["rm_k2"]:
                e.update(outcome="unknown", version=None)
        h.ops["put_k2_late"] = h.put(2, "k2", "c2.9", 500.0, 501.0, version="900@n3")
        h.calm(499.0, 510.0)
        h.get(2, "k2", 502.0, 503.0, outcome="not_found")
        self.assertIn("stale_read", rules(h))

    def test_lost_write_older_final(self):
        h = clean_history()
        h.put(2, "k1", "c2.5", 26.0, 27.0, version="170@n3")
        self.assertEqual(rules(h), ["lost_write"])

    def test_lost_write_not_found(self):
        h = clean_history()
        for final in h.finals("k4"):
            final.update(outcome="not_found", value=None, version=None, intact=None)
        h.disk_state("k4", None, "152@n1", deleted=True)
        # The rm of k4 answered not_found (before the put): it explains nothing.
        self.assertEqual(rules(h), ["lost_write"])

    def test_resurrected(self):
        h = clean_history()
        h.rm(2, "k1", 26.0, 27.0, version="170@n2")
        self.assertEqual(rules(h), ["resurrected"])

    def test_near_miss_not_found_explained_by_unknown_rm(self):
        h = clean_history()
        h.ops["rm_k2"]["outcome"] = "unknown"
        self.assertEqual(rules(h), [])

    def test_not_found_not_explained_by_refused_rm(self):
        h = clean_history()
        h.ops["rm_k2"]["outcome"] = "refused"
        # The final read, and the get and ls in the calm window after the rm, lose the put.
        self.assertEqual(sorted(rules(h)), ["lost_write", "stale_read", "stale_read"])

    def test_not_found_not_explained_by_older_rm(self):
        h = clean_history()
        h.ops["rm_k2"].update(outcome="ok", version="115@n2")  # older than the acked 120@n3
        self.assertEqual(sorted(rules(h)), ["lost_write", "stale_read", "stale_read"])

    def test_near_miss_final_newer_than_acked_rm(self):
        h = clean_history()
        for final in h.finals("k3"):  # an unacknowledged put after the rm may win
            final.update(outcome="ok", value="c2.6", version="200@n1", intact=True)
        h.disk_state("k3", "c2.6", "200@n1")
        h.put(2, "k3", "c2.6", 26.0, 27.0, outcome="fail")
        self.assertEqual(rules(h), [])


class StaleRead(unittest.TestCase):
    def test_get_older_version(self):
        h = clean_history()
        h.ops["get_k2"].update(value="c3.1", version="110@n2")
        self.assertEqual(rules(h), ["stale_read"])

    def test_stat_older_version(self):
        h = clean_history()
        h.ops["stat_k2"]["version"] = "110@n2"
        self.assertEqual(rules(h), ["stale_read"])

    def test_get_not_found_after_acked_put(self):
        h = clean_history()
        h.get(1, "k4", 25.2, 25.3, outcome="not_found")
        self.assertEqual(rules(h), ["stale_read"])

    def test_get_sees_value_removed_by_acked_rm(self):
        h = clean_history()
        h.get(2, "k3", 4.0, 4.1, "c3.2", "130@n1")
        self.assertEqual(rules(h), ["stale_read"])

    def test_ls_misses_acked_put(self):
        h = clean_history()
        del h.ops["ls"]["entries"]["k2"]
        self.assertEqual(rules(h), ["stale_read"])

    def test_ls_lists_removed_key(self):
        h = clean_history()
        h.ops["ls"]["entries"]["k3"] = "130@n1"
        self.assertEqual(rules(h), ["stale_read"])

    def test_ls_lists_removed_key_at_the_rm_version(self):
        h = clean_history()
        h.ops["ls"]["entries"]["k3"] = "140@n2"
        # Also a tombstone's version shown as a file's.
        self.assertEqual(rules(h), ["phantom_read", "stale_read"])

    def test_ls_older_version(self):
        h = clean_history()
        h.ops["ls"]["entries"]["k2"] = "110@n2"
        self.assertEqual(rules(h), ["stale_read"])

    def test_near_miss_ls_prefix_excludes_key(self):
        h = clean_history()
        h.ops["ls"].update(prefix="k1", entries={"k1": "100@n1"})
        self.assertEqual(rules(h), [])

    def test_near_miss_read_overlapping_the_write(self):
        h = clean_history()
        h.get(3, "k2", 1.55, 1.9, "c3.1", "110@n2")  # starts before the 120@n3 put ended
        self.assertEqual(rules(h), [])

    def test_near_miss_read_outside_calm_window(self):
        h = clean_history()
        h.get(1, "k4", 25.2, 30.5, outcome="not_found")  # ends after the window
        self.assertEqual(rules(h), [])

    def test_near_miss_not_found_explained_by_unknown_rm(self):
        h = clean_history()
        h.rm(2, "k4", 25.0, 26.0, outcome="unknown")
        h.get(1, "k4", 25.2, 25.3, outcome="not_found")  # the rm started before it ended
        self.assertEqual(rules(h), [])

    def test_not_found_not_explained_by_rm_started_after(self):
        h = clean_history()
        h.get(1, "k4", 25.2, 25.3, outcome="not_found")
        h.rm(2, "k4", 25.4, 26.0, outcome="unknown")
        self.assertEqual(rules(h), ["stale_read"])


class NonMonotonicRead(unittest.TestCase):
    def test_older_version_after_newer(self):
        h = clean_history()
        # Saw the unacknowledged 160@n1, then the acknowledged 100@n1: not stale, not monotonic.
        h.get(2, "k1", 23.0, 23.2, "c1.1", "100@n1")
        self.assertEqual(rules(h), ["non_monotonic_read"])

    def test_not_found_after_seen(self):
        h = clean_history()
        # An rm of 150@n2 started before: it explains the absence of the acknowledged 100@n1
        # (not stale) but not that of the 160@n1 this client saw.
        h.rm(3, "k1", 22.9, 23.5, outcome="ok", version="150@n2")
        h.get(2, "k1", 23.0, 23.2, outcome="not_found")
        self.assertEqual(rules(h), ["non_monotonic_read"])

    def test_ls_lists_an_older_version_after_a_get(self):
        h = clean_history()
        h.ls(2, "k1", 23.0, 23.2, {"k1": "100@n1"})
        self.assertEqual(rules(h), ["non_monotonic_read"])

    def test_get_older_than_an_earlier_ls(self):
        h = clean_history()
        # Client 4's ls at 25.0 listed k1 at 160@n1.
        h.get(4, "k1", 25.5, 25.7, "c1.1", "100@n1")
        self.assertEqual(rules(h), ["non_monotonic_read"])

    def test_ls_misses_a_key_an_earlier_read_saw(self):
        h = clean_history()
        # Client 4's ls at 25.0 listed k4 at 150@n1; a later ls leaves it out, and no rm of k4
        # explains it: stale (the put was acknowledged) and not monotonic.
        h.ls(4, "k4", 26.0, 26.1, {})
        self.assertEqual(rules(h), ["stale_read", "non_monotonic_read"])

    def test_near_miss_other_client(self):
        h = clean_history()
        h.get(3, "k1", 23.0, 23.2, "c1.1", "100@n1")
        self.assertEqual(rules(h), [])

    def test_near_miss_other_calm_window(self):
        h = clean_history()
        h.calm(30.0, 40.0)
        h.get(2, "k1", 31.0, 31.2, "c1.1", "100@n1")
        self.assertEqual(rules(h), [])

    def test_near_miss_overlapping_reads(self):
        h = clean_history()
        h.get(2, "k1", 22.1, 22.3, "c1.1", "100@n1")  # starts before the 160@n1 read ended
        self.assertEqual(rules(h), [])

    def test_near_miss_not_found_explained_by_unknown_rm(self):
        h = clean_history()
        h.rm(1, "k1", 22.5, 22.6, outcome="unknown")
        h.get(2, "k1", 23.0, 23.2, outcome="not_found")
        self.assertEqual(rules(h), [])


class WriteOrder(unittest.TestCase):
    """Two acked puts of k1 in time order, the later one with the older version."""

    def history(self, between=None):
        h = History()
        h.calm(0.0, 10.0)
        h.put(1, "k1", "c1.1", 1.0, 2.0, version="200@n1")
        if between is not None:
            h.fault(between, 10.5, 11.0, ["n2"])
            h.calm(12.0, 20.0)
        h.put(2, "k1", "c2.1", 13.0 if between else 3.0, 14.0 if between else 4.0,
              version="150@n2")
        return h.finish({"k1": ("put", "c1.1", "200@n1")})

    def test_in_one_calm_window(self):
        self.assertEqual(rules(self.history()), ["write_order"])

    def test_across_a_clock_step(self):
        # A clock step keeps every member up and placed: the windows join.
        self.assertEqual(rules(self.history(between="clock")), ["write_order"])

    def test_across_a_kill_is_allowed(self):
        # A kill may move new writes to other members, which never saw the first write.
        self.assertEqual(rules(self.history(between="kill")), [])

    def test_overlapping_writes_are_allowed(self):
        h = History()
        h.calm(0.0, 10.0)
        h.put(1, "k1", "c1.1", 1.0, 3.0, version="200@n1")
        h.put(2, "k1", "c2.1", 2.0, 4.0, version="150@n2")
        self.assertEqual(rules(h.finish({"k1": ("put", "c1.1", "200@n1")})), [])


class Disks(unittest.TestCase):
    def test_orphan_chunk(self):
        h = clean_history()
        h.disk("n1")["chunks"].append("h-zzz")
        self.assertEqual(rules(h), ["orphan_chunk"])

    def test_chunk_of_removed_key_is_orphan(self):
        h = clean_history()
        h.disk("n2")["chunks"].append(chunk_of("c3.2"))
        self.assertEqual(rules(h), ["orphan_chunk"])

    def test_under_replicated(self):
        h = clean_history()
        h.disk("n3")["chunks"].remove(chunk_of("c1.3"))
        self.assertEqual(rules(h), ["under_replicated"])

    def test_over_replicated(self):
        h = clean_history()
        h.events[0]["replicas"] = 2  # every chunk and every newest manifest is on 3 nodes
        self.assertEqual(set(rules(h)), {"over_replicated"})

    def test_manifest_under_replicated(self):
        # Small files live in their manifests only: their copies are counted there.
        h = clean_history()
        manifests = h.disk("n3")["manifests"]
        manifests.remove(next(m for m in manifests if m["key"] == "k3"))
        self.assertEqual(rules(h), ["under_replicated"])

    def test_near_miss_fewer_nodes_than_replicas(self):
        h = clean_history()
        h.events[0]["replicas"] = 5  # 3 nodes hold all they can
        self.assertEqual(rules(h), [])

    def test_divergent_manifest(self):
        h = clean_history()
        manifest = next(m for m in h.disk("n2")["manifests"] if m["key"] == "k1")
        manifest.update(version="100@n1", chunks=[chunk_of("c1.1")])
        # n2 holds an older manifest, so the newest is on one node too few.
        self.assertEqual(rules(h), ["under_replicated", "divergent_manifest"])

    def test_damaged_copy(self):
        h = clean_history()
        h.disk("n2")["corrupt"] = [chunk_of("c1.3")]
        self.assertEqual(rules(h), ["damaged_copy"])

    def test_damaged_manifest_file(self):
        h = clean_history()
        h.disk("n2")["damaged"] = ["/data/manifests/ab/abcd"]
        self.assertEqual(rules(h), ["damaged_copy"])


class Convergence(unittest.TestCase):
    def test_no_convergence(self):
        h = clean_history()
        next(e for e in h.events if e["type"] == "converged")["ok"] = False
        self.assertEqual(rules(h), ["no_convergence"])

    def test_not_settled_after_a_heal(self):
        h = clean_history()
        h.events.append({"type": "note", "time": 20.5, "what": "not settled after healing",
                         "reason": "n1 sees n2 not up"})
        self.assertEqual(rules(h), ["no_convergence"])

    def test_collection_time_is_no_violation(self):
        h = clean_history()
        h.events.append({"type": "collected", "ok": True, "time": 3.5})
        self.assertEqual(rules(h), [])


class Malformed(unittest.TestCase):
    def assert_malformed(self, h, *words):
        report = checker.check(h.events)
        self.assertEqual([v.rule for v in report.violations], ["malformed"])
        for word in words:
            self.assertIn(word, report.violations[0].why)

    def test_acked_put_without_version(self):
        h = clean_history()
        h.ops["put_k4"]["version"] = None
        self.assert_malformed(h, "acknowledged put without a version")

    def test_acked_rm_without_version(self):
        h = clean_history()
        h.rm(2, "k4", 3.8, 3.9, outcome="ok", version=None)
        self.assert_malformed(h, "acknowledged rm without a version")

    def test_unknown_op_kind(self):
        h = clean_history()
        h.op(2, "mv", 4.0, 4.1, "ok", key="k1")
        self.assert_malformed(h, "'op'")

    def test_missing_field(self):
        h = clean_history()
        del h.ops["get_k1"]["end"]
        self.assert_malformed(h, "missing 'end'")

    def test_bad_version(self):
        h = clean_history()
        h.ops["get_k1"]["version"] = "n1@100"
        self.assert_malformed(h, "HLC@NODEID")

    def test_unknown_record_type(self):
        h = clean_history()
        h.events.append({"type": "mystery"})
        self.assert_malformed(h, "unknown record type")

    def test_missing_final(self):
        h = clean_history()
        h.remove(h.finals("k2", "n3")[0])
        self.assert_malformed(h, "k2@n3")


class CommandLine(unittest.TestCase):
    def run_checker(self, lines, *args):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "history.jsonl")
            with open(path, "w") as f:
                f.write("".join(line + "\n" for line in lines))
            return subprocess.run([sys.executable, CHECKER, path, *args], capture_output=True,
                                  text=True, timeout=60)

    def test_clean_exits_0(self):
        result = self.run_checker([json.dumps(e) for e in clean_history().events])
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("violations: 0", result.stdout)
        self.assertIn("put   ok=5 refused=1 unknown=1", result.stdout)

    def test_violation_exits_1_and_names_rule_key_and_ops(self):
        h = clean_history()
        h.get(1, "k4", 25.2, 25.3, outcome="not_found")
        result = self.run_checker([json.dumps(e) for e in h.events])
        self.assertEqual(result.returncode, 1, result.stdout + result.stderr)
        line = result.stdout.splitlines()[-1]
        self.assertTrue(line.startswith("stale_read key=k4 ops=[c1#"), line)
        self.assertIn("put@n1 [11.000-11.500] ok value=c3.3 v=150@n1", line)

    def test_json(self):
        h = clean_history()
        h.ops["get_k1"]["intact"] = False
        result = self.run_checker([json.dumps(e) for e in h.events], "--json")
        self.assertEqual(result.returncode, 1)
        report = json.loads(result.stdout)
        self.assertEqual([v["rule"] for v in report["violations"]], ["damaged_read"])
        self.assertEqual(report["summary"]["ops_total"], 23)

    def test_unparseable_line_exits_2(self):
        lines = [json.dumps(e) for e in clean_history().events]
        lines[3] = lines[3][:20]
        result = self.run_checker(lines)
        self.assertEqual(result.returncode, 2)
        self.assertIn("line 4: not JSON", result.stderr)

    def test_missing_file_exits_2(self):
        result = subprocess.run([sys.executable, CHECKER, "/nonexistent/history.jsonl"],
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 2)
        self.assertIn("cannot read", result.stderr)


if __name__ == "__main__":
    unittest.main()
