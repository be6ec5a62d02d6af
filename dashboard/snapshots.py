"""Aggregates computed once per change of the data and kept on disk, refreshed in the background.

    snap = snapshots.get("board", key, stamp, compute, wait=False)
    snap.value        # what `compute()` returned for `stamp`, or for an older stamp
    snap.fresh        # False while a newer one is being computed

Why: on a campaign with a million items and 200,000 ratings, a leaderboard's community fit
(1,000 bootstrap rounds per board) and the review agreement over two million verdicts take
seconds each. Recomputing them on every page view (or every 30 s, as an in-memory cache
would) makes every visitor wait. Here a page view reads what was computed for the data's
current stamp; when the data has moved on and the last computation was slow (over `QUICK`),
it gets the last computed value at once, marked not fresh, while one background thread per
aggregate computes the new one. A restarted dashboard
reads the last values from disk, so its first page needs no computation either.

`wait=True` is for changes that must show at once: the dashboards pass it when a person has
withdrawn since the snapshot (their ratings must stop counting now, not after a refresh).

Files are pickles under `<data>/cache/dashboard/`, the operator's own folder (as trusted as the
store beside it), written to a temporary name and renamed, so a reader never sees half a file.
"""

from __future__ import annotations

import hashlib
import logging
import os
import pickle
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Hashable

log = logging.getLogger(__name__)

QUICK = 0.5
"""Seconds: an aggregate that took less than this to compute is computed again at once when
its data changes (a small campaign always sees its newest numbers); only slower ones are
served a moment old while the background catches up."""

FORMAT = 1
"""Bump when what is pickled changes shape: older files are then ignored, not loaded."""


@dataclass(frozen=True)
class Snapshot:
    value: Any
    stamp: Hashable
    computed_at: float
    """time.time() when the value was computed."""
    seconds: float
    """How long computing it took."""
    fresh: bool
    """True when `stamp` is the data's current stamp."""


class Snapshots:
    """One folder of snapshots, shared by every page and session of a process (and, through
    the files, by the next process)."""

    def __init__(self, folder: Path, *, quick: float = QUICK):
        self.folder = Path(folder)
        self.quick = quick
        self._lock = threading.Lock()
        self._memory: dict[str, Snapshot] = {}
        self._running: set[str] = set()

    def _path(self, name: str, key: Hashable) -> tuple[str, Path]:
        digest = hashlib.sha256(repr((FORMAT, name, key)).encode()).hexdigest()[:24]
        return digest, self.folder / f"{name}-{digest}.pickle"

    def _load(self, path: Path) -> Snapshot | None:
        try:
            with path.open("rb") as f:
                found = pickle.load(f)
        except FileNotFoundError:
            return None
        except Exception as exc:  # a damaged or older file is recomputed, never fatal
            log.warning("ignoring the dashboard snapshot %s: %s", path, exc)
            return None
        return found if isinstance(found, Snapshot) else None

    def _save(self, path: Path, snap: Snapshot) -> None:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                pickle.dump(snap, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, path)
        except OSError as exc:  # a read-only data folder: the page still works, from memory
            log.warning("could not keep the dashboard snapshot %s: %s", path, exc)

    def _compute(self, ident: str, path: Path, stamp: Hashable, compute: Callable[[], Any]) -> Snapshot:
        t0 = time.perf_counter()
        value = compute()
        snap = Snapshot(value, stamp, time.time(), time.perf_counter() - t0, True)
        with self._lock:
            self._memory[ident] = snap
        self._save(path, snap)
        return snap

    def _background(self, ident: str, path: Path, stamp: Hashable, compute: Callable[[], Any]) -> None:
        def run() -> None:
            try:
                self._compute(ident, path, stamp, compute)
            except Exception:  # the page keeps the older value; the next view tries again
                log.exception("refreshing the dashboard snapshot %s failed", path.name)
            finally:
                with self._lock:
                    self._running.discard(ident)

        with self._lock:
            if ident in self._running:
                return
            self._running.add(ident)
        threading.Thread(target=run, name=f"snapshot-{path.name}", daemon=True).start()

    def known(self, name: str, key: Hashable) -> bool:
        """Whether a value was ever computed for (name, key), here or by an earlier process:
        then `get` answers at once (possibly a moment old)."""
        ident, path = self._path(name, key)
        with self._lock:
            if ident in self._memory:
                return True
        return path.is_file()

    def get(self, name: str, key: Hashable, stamp: Hashable, compute: Callable[[], Any], *,
            wait: bool | Callable[[Hashable], bool] = False) -> Snapshot:
        """The value of `compute()` for `stamp`; or, unless `wait`, the last one computed for an
        earlier stamp while the new one is computed in the background. With nothing computed
        before, computes now. `wait` may be a test of the older stamp (wait when it says so)."""
        ident, path = self._path(name, key)
        with self._lock:
            known = self._memory.get(ident)
        if known is None:
            known = self._load(path)
            if known is not None:
                with self._lock:
                    self._memory.setdefault(ident, known)
        if known is not None and known.stamp == stamp:
            return known if known.fresh else Snapshot(known.value, stamp, known.computed_at, known.seconds, True)
        if known is None or known.seconds < self.quick or (wait(known.stamp) if callable(wait) else wait):
            return self._compute(ident, path, stamp, compute)
        self._background(ident, path, stamp, compute)
        return Snapshot(known.value, known.stamp, known.computed_at, known.seconds, False)

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Wait for background refreshes to finish (tests and benchmarks)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._running:
                    return True
            time.sleep(0.02)
        return False


__all__ = ["Snapshot", "Snapshots", "FORMAT"]
