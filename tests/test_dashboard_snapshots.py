"""`dashboard/snapshots.py`: slow aggregates are computed once per change of their data, served
a moment old while the next one is computed, never old after a withdrawal, and kept on disk for
the next dashboard process."""

from __future__ import annotations

import threading

from jamii.dashboard.snapshots import Snapshots


class Slow:
    """A computation whose result says which call it was; `gate` holds it until released."""

    def __init__(self):
        self.calls = 0
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self):
        self.gate.wait(10)
        self.calls += 1
        return f"value {self.calls}"


def test_one_computation_per_stamp_and_the_next_process_reads_it_from_disk(tmp_path):
    compute = Slow()
    snaps = Snapshots(tmp_path, quick=0.0)
    first = snaps.get("board", ("db", 1), (10,), compute)
    again = snaps.get("board", ("db", 1), (10,), compute)
    assert (first.value, again.value, compute.calls) == ("value 1", "value 1", 1)
    assert first.fresh and again.fresh

    restarted = Snapshots(tmp_path, quick=0.0)  # a new dashboard process on the same data folder
    assert restarted.get("board", ("db", 1), (10,), compute).value == "value 1"
    assert compute.calls == 1
    # another campaign (another key) is its own snapshot
    assert restarted.get("board", ("db", 2), (10,), compute).value == "value 2"


def test_a_slow_aggregate_is_served_old_while_the_new_one_is_computed(tmp_path):
    compute = Slow()
    snaps = Snapshots(tmp_path, quick=0.0)
    snaps.get("board", "k", (10,), compute)
    compute.gate.clear()  # the next computation takes a while
    stale = snaps.get("board", "k", (11,), compute)
    assert stale.value == "value 1" and not stale.fresh and stale.stamp == (10,)
    # a second view meanwhile starts no second computation
    assert snaps.get("board", "k", (11,), compute).value == "value 1"
    compute.gate.set()
    assert snaps.wait_idle(10)
    fresh = snaps.get("board", "k", (11,), compute)
    assert fresh.value == "value 2" and fresh.fresh and compute.calls == 2


def test_a_quick_aggregate_and_a_withdrawal_are_never_served_old(tmp_path):
    compute = Slow()
    quick = Snapshots(tmp_path / "quick")  # the default: fast computations are redone at once
    quick.get("board", "k", (10,), compute)
    assert quick.get("board", "k", (11,), compute).value == "value 2"

    slow = Snapshots(tmp_path / "slow", quick=0.0)
    slow.get("board", "k", (10, 0), compute)
    withdrew = slow.get("board", "k", (10, 1), compute, wait=lambda old: old[1] != 1)
    assert withdrew.fresh and withdrew.value == "value 4"


def test_a_damaged_file_is_recomputed_not_fatal(tmp_path):
    compute = Slow()
    snaps = Snapshots(tmp_path, quick=0.0)
    snaps.get("board", "k", (1,), compute)
    for f in tmp_path.glob("board-*.pickle"):
        f.write_bytes(b"not a pickle")
    assert Snapshots(tmp_path, quick=0.0).get("board", "k", (1,), compute).value == "value 2"


def test_known_says_whether_a_view_answers_at_once(tmp_path):
    """The leaderboard shows its automatic scores first only when no board was ever computed."""
    compute = Slow()
    snaps = Snapshots(tmp_path, quick=0.0)
    assert not snaps.known("board", "k")
    snaps.get("board", "k", (1,), compute)
    assert snaps.known("board", "k")
    assert Snapshots(tmp_path).known("board", "k")  # a restarted dashboard, from the file
    assert not snaps.known("board", "other")
